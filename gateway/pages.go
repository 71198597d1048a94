package gateway

import (
	"fmt"

	"github.com/faxseal/faxseal/g3"
	"github.com/faxseal/faxseal/t30"
)

// R8 horizontal resolution and the vertical resolutions of T.4 §2.2 in dots per inch.
const (
	xresR8        = 204
	yresStandard  = 98
	yresFine      = 196
	yresSuperfine = 391
)

func yresOf(r t30.Resolution) int {
	switch r {
	case t30.Fine:
		return yresFine
	case t30.Superfine:
		return yresSuperfine
	}
	return yresStandard
}

func resolutionOf(yres int) t30.Resolution {
	switch {
	case yres >= 300:
		return t30.Superfine
	case yres >= 150:
		return t30.Fine
	}
	return t30.Standard
}

func compressionOf(c t30.Compression) g3.Compression {
	switch c {
	case t30.MR:
		return g3.MR
	case t30.MMR:
		return g3.MMR
	}
	return g3.MH
}

// lineOptions are the g3 options of page data as it crosses t30: LSB-first (the line order, t30
// package comment), with EOLs for T.4 and the trailer.
func lineOptions(f t30.Format) g3.Options {
	yres := yresOf(f.Resolution)
	return g3.Options{Compression: compressionOf(f.Compression), K: g3.KForResolution(yres), Width: f.Width,
		Order: g3.LSBFirst, MinRowBits: f.MinRowBits}
}

// pageSource feeds a sending session from bilevel pages, re-coding each for the format DCS chose.
type pageSource struct {
	pages []*g3.Page
	enc   g3.Encoder
}

func (s *pageSource) Pages() int { return len(s.pages) }

func (s *pageSource) Prepared() (int, t30.Resolution) {
	return s.pages[0].Width, resolutionOf(s.pages[0].YRes)
}

func (s *pageSource) Encode(n int, f t30.Format) ([]byte, error) {
	if n < 0 || n >= len(s.pages) {
		return nil, fmt.Errorf("gateway: page %d of %d", n, len(s.pages))
	}
	p := s.pages[n]
	var err error
	if p.Width != f.Width {
		if p, err = p.FitWidth(f.Width); err != nil {
			return nil, err
		}
	}
	if want := yresOf(f.Resolution); p.YRes != want {
		if p, err = p.ResampleY(want); err != nil {
			return nil, err
		}
	}
	return s.enc.EncodePage(nil, p, lineOptions(f))
}

// pageSink keeps the pages a receiving session confirms, decoded, for the PDF and TIFF.
type pageSink struct {
	f     t30.Format
	buf   []byte
	cur   *g3.Page
	pages []*g3.Page
	dec   g3.Decoder
}

func (s *pageSink) StartPage(f t30.Format) error {
	s.f, s.buf, s.cur = f, s.buf[:0], nil
	return nil
}

func (s *pageSink) Write(p []byte) error {
	s.buf = append(s.buf, p...)
	return nil
}

// EndPage decodes the page for the copy-quality check (T.30 §5.3.6.2.3): bad rows are counted
// and kept white, so RTN/RTP is the engine's decision on real numbers.
func (s *pageSink) EndPage() (t30.Quality, error) {
	p := &g3.Page{}
	opts := lineOptions(s.f)
	st, err := s.dec.DecodePage(p, s.buf, opts)
	if st.Rows == 0 {
		if err == nil {
			err = fmt.Errorf("gateway: page without rows")
		}
		return t30.Quality{}, err
	}
	p.XRes, p.YRes = xresR8, yresOf(s.f.Resolution)
	s.cur = p
	return t30.Quality{Rows: st.Rows, BadRows: st.BadRows, LongestBadRun: st.LongestBadRun}, nil
}

func (s *pageSink) Commit(keep bool) error {
	if keep && s.cur != nil {
		s.pages = append(s.pages, s.cur)
	}
	s.cur = nil
	return nil
}

// reset forgets a page in progress (a T.30 restart after the switch to T.38); confirmed pages stay.
func (s *pageSink) reset() { s.cur, s.buf = nil, s.buf[:0] }
