package v17

import (
	"errors"
	"testing"
)

// TestBadInput: invalid rates are errors, never panics, and odd calls are harmless.
func TestBadInput(t *testing.T) {
	for _, r := range []Rate{0, 4800, 2400, -1, 14401} {
		if r.Valid() {
			t.Errorf("%v valid", r)
		}
		if _, err := NewTransmitter(r, ones{}); !errors.Is(err, ErrRate) {
			t.Errorf("NewTransmitter(%v): %v", r, err)
		}
		if _, err := NewReceiver(r, &nullSink{}); !errors.Is(err, ErrRate) {
			t.Errorf("NewReceiver(%v): %v", r, err)
		}
	}
	tx, _ := NewTransmitter(Rate9600, nil) // no source: sends ones
	if err := tx.Restart(7000, false, false); !errors.Is(err, ErrRate) {
		t.Errorf("Restart(7000): %v", err)
	}
	if n := tx.Transmit(nil); n != 0 {
		t.Errorf("Transmit(nil) = %d", n)
	}
	rx, _ := NewReceiver(Rate9600, nil) // no sink: bits are dropped
	rx.Receive(nil)
	rx.FillIn(-5)
	rx.FillIn(0)
	if err := rx.Restart(1, true); !errors.Is(err, ErrRate) {
		t.Errorf("Restart(1): %v", err)
	}
	// A short training requested without a long one before it falls back to expecting a long one.
	if err := rx.Restart(Rate9600, true); err != nil || rx.short {
		t.Errorf("short restart without saved state: err %v, short %v", err, rx.short)
	}
	sig := make([]int16, 4000)
	n := tx.Transmit(sig)
	rx.Receive(sig[:n])
}

func TestStrings(t *testing.T) {
	if Rate14400.String() != "14400 bit/s" || Rate(5).String() != "v17.Rate(5)" {
		t.Errorf("rate strings %q %q", Rate14400, Rate(5))
	}
	for s := StatusCarrierUp; s <= StatusCarrierDown; s++ {
		if s.String() == "" || s.String()[0] == 'v' {
			t.Errorf("status %d has no name", int(s))
		}
	}
	if Status(0).String() != "v17.Status(0)" {
		t.Errorf("zero status %q", Status(0))
	}
}
