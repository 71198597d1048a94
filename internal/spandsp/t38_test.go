//go:build spandsp

package spandsp

import (
	"bytes"
	"math/rand"
	"path/filepath"
	"testing"

	"github.com/faxseal/faxseal/t38"
)

// textPage draws a deterministic page that codes like text: lines of glyph-sized blocks.
func textPage(seed int64, height, yres int) Bitmap {
	const w = 1728
	r := rand.New(rand.NewSource(seed))
	p := Bitmap{Width: w, Height: height, XRes: 204, YRes: yres, Rows: make([]byte, w/8*height)}
	line := yres / 8
	for top := line; top+line < height; top += 2 * line {
		for x := 100 + r.Intn(40); x < w-120; x += 12 + r.Intn(20) {
			gw, gh := 6+r.Intn(10), line/2+r.Intn(line/2)
			for y := top + line - gh; y < top+line; y++ {
				for i := x; i < x+gw; i++ {
					p.Rows[y*w/8+i/8] |= 0x80 >> (i % 8)
				}
			}
		}
	}
	return p
}

func TestTIFFRoundTrip(t *testing.T) {
	dir := t.TempDir()
	pages := []Bitmap{textPage(1, 400, 196), textPage(2, 300, 98)}
	for _, c := range []int{TIFFNone, TIFFG3, TIFFG4} {
		path := filepath.Join(dir, "p.tif")
		if err := WriteTIFF(path, pages, c); err != nil {
			t.Fatal(err)
		}
		got, err := ReadTIFF(path)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 || !bytes.Equal(got[0].Rows, pages[0].Rows) || !bytes.Equal(got[1].Rows, pages[1].Rows) ||
			got[1].YRes != 98 || got[0].XRes != 204 {
			t.Errorf("compression %d: round trip mismatch", c)
		}
	}
}

// TestT38SpandspToSpandsp runs two spandsp terminals against each other through FaxSeal's UDPTL
// codec: it checks the binding itself (virtual time, packet queue, TIFF in and out).
func TestT38SpandspToSpandsp(t *testing.T) {
	dir := t.TempDir()
	in, out := filepath.Join(dir, "in.tif"), filepath.Join(dir, "out.tif")
	pages := []Bitmap{textPage(3, 1100, 196)}
	if err := WriteTIFF(in, pages, TIFFG4); err != nil {
		t.Fatal(err)
	}
	tx, err := NewT38Terminal(T38Config{Calling: true, ECM: true, TxFile: in, Ident: "tx", Compressions: CompressMMR | CompressMH})
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Close()
	rx, err := NewT38Terminal(T38Config{ECM: true, RxFile: out, Ident: "rx"})
	if err != nil {
		t.Fatal(err)
	}
	defer rx.Close()
	type end struct {
		term *T38Terminal
		send *t38.Sender
		recv t38.Receiver
	}
	mk := func(term *T38Terminal) *end {
		s, _ := t38.NewSender(t38.SenderConfig{Depth: 3, MaxDatagram: 400})
		return &end{term: term, send: s}
	}
	a, b := mk(tx), mk(rx)
	move := func(from, to *end) {
		pkts, err := from.term.TakePackets()
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range pkts {
			d, err := from.send.Packet(p.IFP)
			if err != nil {
				t.Fatal(err)
			}
			for range p.Count {
				dl, err := to.recv.Receive(d)
				if err != nil {
					t.Fatal(err)
				}
				for _, x := range dl {
					if x.IFP != nil {
						_ = to.term.Input(x.IFP, x.Seq)
					}
				}
			}
		}
	}
	for tick := 0; tick < 3000*5; tick++ { // 20 ms ticks, 5 minutes of virtual time at most
		tx.Advance(160)
		rx.Advance(160)
		move(a, b)
		move(b, a)
		d1, _, _ := tx.Done()
		d2, _, _ := rx.Done()
		if d1 && d2 {
			break
		}
	}
	_, c1, s1 := tx.Done()
	_, c2, s2 := rx.Done()
	if c1 != 0 || c2 != 0 {
		t.Fatalf("completion tx %d %s, rx %d %s", c1, s1, c2, s2)
	}
	got, err := ReadTIFF(out)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || !bytes.Equal(got[0].Rows, pages[0].Rows) {
		t.Errorf("received page differs")
	}
	st := rx.Stats()
	t.Logf("rate %d ECM %v encoding %d remote %q", st.BitRate, st.ECM, st.Encoding, st.RemoteIdent)
}
