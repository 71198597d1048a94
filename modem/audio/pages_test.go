package audio

import (
	"fmt"
	"math/rand/v2"

	"github.com/faxseal/faxseal/g3"
	"github.com/faxseal/faxseal/t30"
)

// glyphPage draws rows of random black blocks, like lines of text, so the coded page has realistic
// run lengths.
func glyphPage(seed uint64, height, yres int) *g3.Page {
	r := rand.New(rand.NewPCG(seed, 11))
	p, _ := g3.NewPage(t30.WidthA4, height, g3.ResX, yres)
	line := yres / 8
	for top := line; top+line < height; top += 2 * line {
		for x := 90 + r.IntN(40); x < t30.WidthA4-120; x += 10 + r.IntN(22) {
			w, h := 5+r.IntN(10), line/2+r.IntN(line/2)
			for y := top + line - h; y < top+line; y++ {
				for i := x; i < x+w; i++ {
					p.Set(i, y, true)
				}
			}
		}
	}
	return p
}

func yres(r t30.Resolution) int {
	switch r {
	case t30.Standard:
		return g3.ResStandard
	case t30.Superfine:
		return g3.ResSuperfine
	}
	return g3.ResFine
}

func g3Comp(c t30.Compression) g3.Compression {
	switch c {
	case t30.MH:
		return g3.MH
	case t30.MR:
		return g3.MR
	}
	return g3.MMR
}

// g3Source is a t30.Source over g3 pages prepared at fine resolution.
type g3Source struct{ pages []*g3.Page }

func (s *g3Source) Pages() int                      { return len(s.pages) }
func (s *g3Source) Prepared() (int, t30.Resolution) { return t30.WidthA4, t30.Fine }
func (s *g3Source) Encode(n int, f t30.Format) ([]byte, error) {
	p := s.pages[n]
	var err error
	if y := yres(f.Resolution); y != p.YRes {
		if p, err = p.ResampleY(y); err != nil {
			return nil, err
		}
	}
	if f.Width != p.Width {
		if p, err = p.FitWidth(f.Width); err != nil {
			return nil, err
		}
	}
	return g3.Encode(p, g3.Options{Compression: g3Comp(f.Compression), K: g3.KForResolution(p.YRes),
		Width: p.Width, Order: g3.LSBFirst, MinRowBits: f.MinRowBits})
}

// g3Sink decodes received pages with g3 and keeps the confirmed ones.
type g3Sink struct {
	f    t30.Format
	buf  []byte
	cur  *g3.Page
	kept []*g3.Page
}

func (k *g3Sink) StartPage(f t30.Format) error { k.f, k.buf = f, k.buf[:0]; return nil }
func (k *g3Sink) Write(p []byte) error         { k.buf = append(k.buf, p...); return nil }
func (k *g3Sink) EndPage() (t30.Quality, error) {
	p, st, err := g3.Decode(k.buf, g3.Options{Compression: g3Comp(k.f.Compression), K: 1, Width: k.f.Width, Order: g3.LSBFirst})
	if err != nil && st.Rows == 0 {
		return t30.Quality{}, err
	}
	p.XRes, p.YRes = g3.ResX, yres(k.f.Resolution)
	k.cur = p
	return t30.Quality{Rows: st.Rows, BadRows: st.BadRows, LongestBadRun: st.LongestBadRun}, nil
}
func (k *g3Sink) Commit(keep bool) error {
	if keep && k.cur != nil {
		k.kept = append(k.kept, k.cur)
	}
	k.cur = nil
	return nil
}

// samePage compares pixels; white rows past the shorter page are tolerated (encoders pad).
func samePage(a, b *g3.Page) error {
	if a.Width != b.Width {
		return fmt.Errorf("width %d vs %d", a.Width, b.Width)
	}
	h := min(a.Height, b.Height)
	bad := 0
	for y := range h {
		ra, rb := a.Row(y), b.Row(y)
		for i := range ra {
			if ra[i] != rb[i] {
				bad++
				break
			}
		}
	}
	for _, p := range []*g3.Page{a, b} {
		for y := h; y < p.Height; y++ {
			for _, v := range p.Row(y) {
				if v != 0 {
					return fmt.Errorf("height %d vs %d with ink below", a.Height, b.Height)
				}
			}
		}
	}
	if bad > 0 {
		return fmt.Errorf("%d of %d rows differ", bad, h)
	}
	return nil
}
