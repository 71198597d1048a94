package t30

import (
	"bufio"
	"bytes"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"
)

// seedFrames reads testdata/frames.txt (T.38 bit order) as LSB-first frames.
func seedFrames(t testing.TB) [][]byte {
	t.Helper()
	f, err := os.Open("testdata/frames.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out [][]byte
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		if strings.TrimSpace(line) == "" {
			continue
		}
		out = append(out, fromT38(t, line))
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// FuzzParseFrame: any octets either fail cleanly or re-encode to
// themselves; decoded DIS/DCS fields survive an encode/decode round trip.
func FuzzParseFrame(f *testing.F) {
	for _, s := range seedFrames(f) {
		f.Add(s)
	}
	// Every FCF, with and without the X bit and a small FIF.
	for fcf := range fcfNames {
		f.Add(AppendFrame(nil, fcf, false, true))
		f.Add(AppendFrame(nil, fcf, true, false, 0x00, 0x46, 0xB8))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		fr, err := ParseFrame(b)
		if err != nil {
			return
		}
		if got := AppendFrame(nil, fr.FCF, fr.X, fr.Final, fr.FIF...); !bytes.Equal(got, b) {
			t.Fatalf("re-encoded % x as % x", b, got)
		}
		_ = Describe(fr)
		switch fr.FCF {
		case FCFDIS, FCFDTC:
			c, err := ParseDIS(fr.FIF)
			if err != nil {
				return
			}
			c2, err := ParseDIS(c.Encode())
			if err != nil {
				t.Fatal(err)
			}
			c.Raw, c2.Raw = nil, nil
			if !reflect.DeepEqual(c, c2) {
				t.Fatalf("DIS round trip\n %+v\n %+v", c, c2)
			}
		case FCFDCS:
			d, err := ParseDCS(fr.FIF)
			if err != nil {
				return
			}
			d2, err := ParseDCS(d.Encode())
			if err != nil {
				t.Fatal(err)
			}
			d.Raw, d2.Raw = nil, nil
			if !reflect.DeepEqual(d, d2) {
				t.Fatalf("DCS round trip\n %+v\n %+v", d, d2)
			}
		case FCFPPS:
			if p, err := ParsePPS(fr.FIF); err == nil && (p.Frames < 1 || p.Frames > 256) {
				t.Fatalf("PPS frame count %d", p.Frames)
			}
		}
	})
}

// recorder is a FrontEnd that only records, for scripted tests.
type recorder struct {
	rx  []RxMode
	tx  []Tx
	out int // Tx not yet reported done
}

func (r *recorder) Receive(m RxMode) { r.rx = append(r.rx, m) }
func (r *recorder) Transmit(tx Tx)   { r.tx = append(r.tx, tx); r.out++ }

// FuzzSession feeds arbitrary event sequences to a sender and a receiver:
// no panic, no deadline in the past after Advance, and every queued
// transmission is well formed.
func FuzzSession(f *testing.F) {
	seeds := seedFrames(f)
	var script []byte
	for _, s := range seeds {
		script = append(script, 0, byte(len(s)))
		script = append(script, s...)
		script = append(script, 6, 0)
	}
	f.Add(script, true)
	f.Add(script, false)
	f.Fuzz(func(t *testing.T, b []byte, send bool) {
		rec := &recorder{}
		cfg := Config{FrontEnd: rec, Role: Receive, Sink: &testSink{}, Calling: len(b)%2 == 0}
		if send {
			cfg.Role, cfg.Sink, cfg.Source = Send, nil, newDoc(2, 20)
		}
		s, err := NewSession(cfg)
		if err != nil {
			t.Fatal(err)
		}
		now := time.Duration(0)
		s.Start(now)
		for len(b) >= 2 {
			kind, n := b[0]%8, int(b[1])
			b = b[2:]
			if n > len(b) {
				n = len(b)
			}
			p := b[:n]
			b = b[n:]
			now += 100 * time.Millisecond
			var ev Event
			switch kind {
			case 0:
				ev = Event{Kind: EventHDLC, Modulation: V21, Frame: p, FCSOK: true}
			case 1:
				ev = Event{Kind: EventHDLC, Modulation: V17, BitRate: 14400, Frame: p, FCSOK: n%3 != 0}
			case 2:
				ev = Event{Kind: EventData, Modulation: V17, BitRate: 14400, Data: p}
			case 3:
				ev = Event{Kind: EventTrained, Modulation: V17, BitRate: 14400}
			case 4:
				ev = Event{Kind: EventCarrierDown, Modulation: Modulation(n % 5)}
			case 5:
				ev = Event{Kind: EventTxDone}
			case 6:
				if d, ok := s.Deadline(); ok && d > now {
					now = d
				}
				s.Advance(now)
				continue
			case 7:
				ev = Event{Kind: EventKind(n % 10), Tone: Tone(n % 3)}
			}
			s.Handle(now, ev)
			if d, ok := s.Deadline(); ok && d < now {
				t.Fatalf("deadline %v before now %v in state %v", d, now, s.state)
			}
		}
		for _, tx := range rec.tx {
			switch tx.Kind {
			case TxHDLC:
				for _, fr := range tx.Frames {
					if _, err := ParseFrame(fr); err != nil {
						t.Fatalf("sent a malformed frame % x: %v", fr, err)
					}
				}
			case TxData:
				if !tx.Modulation.ValidRate(tx.BitRate) {
					t.Fatalf("data at %v %d", tx.Modulation, tx.BitRate)
				}
			case TxSilence, TxCNG, TxCED:
			default:
				t.Fatalf("invalid Tx kind %v", tx.Kind)
			}
		}
	})
}
