// Copyright 2026 The FaxSeal Authors. SPDX-License-Identifier: Apache-2.0

package g3

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestTablesCurrent regenerates table.go into a temporary file and requires it unchanged.
func TestTablesCurrent(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the go tool")
	}
	out := filepath.Join(t.TempDir(), "table.go")
	cmd := exec.Command("go", "run", "gen.go", "-output", out)
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go run gen.go: %v: %s", err, msg)
	}
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile("table.go")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("table.go is stale: run go generate ./g3")
	}
}

// TestCodeTables checks the generated decode tables against the code lists they came from: every
// code decodes to its run, with its length.
func TestCodeTables(t *testing.T) {
	for _, c := range []struct {
		name          string
		term          *[64]code
		makeup        *[41]code
		table         []uint16
		primary, bits int
	}{
		{"white", &whiteTermCodes, &whiteMakeupCodes, whiteDecode[:], whitePrimaryBits, whiteCodeBits},
		{"black", &blackTermCodes, &blackMakeupCodes, blackDecode[:], blackPrimaryBits, blackCodeBits},
	} {
		check := func(run int, cd code) {
			v := uint(cd.bits) << (c.bits - int(cd.n)) // left-aligned in c.bits bits
			e := c.table[v>>(c.bits-c.primary)]
			if e&15 == 0 {
				e = c.table[int(e>>4)+int(v&(1<<(c.bits-c.primary)-1))]
			}
			if int(e>>4) != run || int(e&15) != int(cd.n) {
				t.Errorf("%s run %d: table gives run %d length %d, want length %d", c.name, run, e>>4, e&15, cd.n)
			}
		}
		for run, cd := range c.term {
			check(run, cd)
		}
		for i := 1; i <= 40; i++ {
			check(64*i, c.makeup[i])
		}
	}
}

// readGopher returns the x/image test picture as a page (black = dark).
func readGopher(t *testing.T) *Page {
	t.Helper()
	f, err := os.Open("../testdata/g3/ximage/bw-gopher.png")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	b := img.Bounds()
	p, _ := NewPage(b.Dx(), b.Dy(), 0, 0)
	for y := 0; y < b.Dy(); y++ {
		for x := 0; x < b.Dx(); x++ {
			if color.GrayModel.Convert(img.At(b.Min.X+x, b.Min.Y+y)).(color.Gray).Y < 128 {
				p.Set(x, y, true)
			}
		}
	}
	return p
}

// TestDecodeRawStreams decodes x/image's raw streams: MH and MMR, aligned rows, inverted pixels
// and streams cut before RTC/EOFB, with the height known and unknown.
func TestDecodeRawStreams(t *testing.T) {
	want := readGopher(t)
	files, _ := filepath.Glob("../testdata/g3/ximage/*.ccitt_group*")
	if len(files) != 12 {
		t.Fatalf("%d raw streams", len(files))
	}
	for _, name := range files {
		base := filepath.Base(name)
		data, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		o := Options{Compression: MH, Width: want.Width, Order: MSBFirst, AlignRows: strings.Contains(base, "aligned")}
		if strings.HasSuffix(base, "group4") {
			o.Compression = MMR
		}
		for _, h := range []int{0, want.Height} {
			o.Height = h
			p, st, err := Decode(data, o)
			if err != nil {
				t.Errorf("%s height %d: %v", base, h, err)
				continue
			}
			if strings.Contains(base, "inverted") {
				for y := 0; y < p.Height; y++ {
					invertRow(p.Row(y), p.Width)
				}
			}
			if base == "bw-gopher-truncated1.ccitt_group4" && h == 0 {
				// Its last byte is filled with ones, which read as rows of V0 codes (one bit per white
				// row): without EOFB and a known height they cannot be told from rows.
				continue
			}
			if !p.Equal(want) || st.BadRows != 0 {
				t.Errorf("%s height %d: %dx%d, stats %+v, differs from the PNG", base, h, p.Width, p.Height, st)
			}
			if truncated := strings.Contains(base, "truncated"); st.Trailer == truncated && h == 0 {
				t.Errorf("%s: trailer seen %v", base, st.Trailer)
			}
		}
	}
}

// TestDamagedRows cuts and corrupts coded rows of a chart and checks the copy-quality statistics:
// MH and MR resynchronise at the next EOL and count the bad rows and the longest run of them.
func TestDamagedRows(t *testing.T) {
	p := readPBMFile(t, "../testdata/g3/itu/itu1.pbm")
	for _, o := range []Options{
		{Compression: MH, Width: p.Width, Order: MSBFirst},
		{Compression: MR, K: 4, Width: p.Width, Order: LSBFirst},
	} {
		var e Encoder
		if err := e.Reset(o); err != nil {
			t.Fatal(err)
		}
		var rows [][]byte
		for y := 0; y < p.Height; y++ {
			e.WriteRow(p.Row(y))
			rows = append(rows, append([]byte(nil), e.Next()...))
		}
		e.Close()
		tail := e.Next()
		// Garble rows 300..302 (three in a row) and row 1000 in the middle, leaving their EOLs.
		var damaged []byte
		for y, r := range rows {
			if (y >= 300 && y <= 302) || y == 1000 {
				r = append([]byte(nil), r...)
				for i := 6; i < len(r)-1; i++ { // past the EOL, which may start up to 31 bits into the chunk
					r[i] ^= 0x5a
				}
			}
			damaged = append(damaged, r...)
		}
		damaged = append(damaged, tail...)
		q, st, err := Decode(damaged, o)
		if err != nil {
			t.Fatalf("%v: %v", o.Compression, err)
		}
		// A damaged row can hide an EOL or fake one, so a row may be lost or added.
		if q.Height < p.Height-4 || q.Height > p.Height+4 {
			t.Errorf("%v: %d rows, want about %d", o.Compression, q.Height, p.Height)
		}
		// In MR the 2D rows after a bad one refer to a damaged row and may decode wrongly, with or
		// without a coding error, until the next 1D row.
		if st.BadRows < 4 || st.BadRows > 16 || st.LongestBadRun < 3 || st.LongestBadRun > 8 {
			t.Errorf("%v: stats %+v", o.Compression, st)
		}
		// The rows before the damage and the rows after it (counted from the end) are intact.
		for y := 0; y < 299; y++ {
			if !bytes.Equal(q.Row(y), p.Row(y)) {
				t.Fatalf("%v: row %d differs", o.Compression, y)
			}
		}
		for i := 1; i <= p.Height-1010; i++ {
			if !bytes.Equal(q.Row(q.Height-i), p.Row(p.Height-i)) {
				t.Fatalf("%v: row %d from the end differs", o.Compression, i)
			}
		}
	}
	// MMR stops at damage, keeping the rows before it.
	o := Options{Compression: MMR, Width: p.Width, Order: MSBFirst}
	b, _ := Encode(p, o)
	b = append(append([]byte(nil), b[:len(b)/2]...), bytes.Repeat([]byte{0}, 8)...)
	q, _, err := Decode(b, o)
	var ce *CorruptInputError
	if !errors.As(err, &ce) || q.Height < 500 || q.Height >= p.Height {
		t.Errorf("MMR cut: %d rows, err %v", q.Height, err)
	}
}

// TestLimits checks the documented limits.
func TestLimits(t *testing.T) {
	if _, err := NewDecoder(Options{Compression: MH, Width: MaxWidth + 1, Order: MSBFirst}, nil); !errors.Is(err, ErrOptions) {
		t.Errorf("width over MaxWidth: %v", err)
	}
	for _, o := range []Options{{Width: 8, Order: MSBFirst}, {Compression: MH, Width: 8}, {Compression: MR, Width: 8, Order: MSBFirst}} {
		if _, err := NewEncoder(o); !errors.Is(err, ErrOptions) {
			t.Errorf("%+v: %v", o, err)
		}
	}
	// Two-bit rows of white in MR without EOLs: tag 0 (2D) and V0. The decoder stops at MaxRows.
	data := bytes.Repeat([]byte{0x55}, MaxRows/4+100)
	_, st, err := Decode(data, Options{Compression: MR, K: 2, NoEOL: true, Width: 64, Order: MSBFirst})
	if !errors.Is(err, ErrLimit) || st.Rows != MaxRows {
		t.Errorf("rows: %d, %v", st.Rows, err)
	}
	// A streaming decoder does not hold an endless row.
	var sink Page
	sink.Reset(MaxWidth, 0, 0)
	d, _ := NewDecoder(Options{Compression: MH, NoEOL: true, Width: MaxWidth, Order: MSBFirst}, &sink)
	var werr error
	for i := 0; i < 2*maxPending/4096 && werr == nil; i++ {
		_, werr = d.Write(bytes.Repeat([]byte{0x35 ^ 0xff}, 4096)) // no complete row ever
	}
	if werr == nil && d.Close() == nil && d.Stats().Rows > 0 {
		t.Errorf("endless data: no error, stats %+v", d.Stats())
	}
}

// TestZeroAllocs checks that reused coders allocate nothing per page.
func TestZeroAllocs(t *testing.T) {
	p := readPBMFile(t, "../testdata/g3/itu/itu1.pbm")
	for _, o := range codingModes(p.Width)[:10] {
		var e Encoder
		buf, _ := e.EncodePage(nil, p, o)
		var d Decoder
		var q Page
		o.Height = p.Height
		d.DecodePage(&q, buf, o)
		if n := testing.AllocsPerRun(3, func() { buf, _ = e.EncodePage(buf[:0], p, o) }); n != 0 {
			t.Errorf("%v encode: %v allocations per page", o.Compression, n)
		}
		if n := testing.AllocsPerRun(3, func() { d.DecodePage(&q, buf, o) }); n != 0 {
			t.Errorf("%v decode: %v allocations per page", o.Compression, n)
		}
	}
}

// TestPageConversions checks standard/fine conversion and width fitting.
func TestPageConversions(t *testing.T) {
	p := readPBMFile(t, "../testdata/g3/itu/itu1.pbm")
	p.XRes, p.YRes = ResX, ResFine
	std, err := p.ResampleY(ResStandard)
	if err != nil || std.Height != p.Height/2 {
		t.Fatalf("standard: %v %d rows", err, std.Height)
	}
	for y := 0; y < std.Height; y++ {
		for i := range std.Row(y) {
			if std.Row(y)[i] != p.Row(2 * y)[i]|p.Row(2*y + 1)[i] {
				t.Fatalf("standard row %d is not the OR of fine rows %d and %d", y, 2*y, 2*y+1)
			}
		}
	}
	fine, err := std.ResampleY(ResFine)
	if err != nil || fine.Height != p.Height || !bytes.Equal(fine.Row(11), std.Row(5)) || !bytes.Equal(fine.Row(10), std.Row(5)) {
		t.Fatalf("fine: %v", err)
	}
	// A3 (2432) onto A4: two charts side by side, then fitted.
	wide, _ := NewPage(WidthA3, p.Height, ResX, ResFine)
	for y := 0; y < p.Height; y++ {
		for x := 0; x < WidthA3; x++ {
			if p.At(x%p.Width, y) {
				wide.Set(x, y, true)
			}
		}
	}
	fit, err := wide.FitWidth(WidthA4)
	if err != nil || fit.Width != WidthA4 || fit.Height != p.Height*WidthA4/WidthA3 {
		t.Fatalf("fit: %v %dx%d", err, fit.Width, fit.Height)
	}
	black := func(q *Page) (n int) {
		for _, b := range q.Pix {
			for ; b != 0; b &= b - 1 {
				n++
			}
		}
		return
	}
	// Scaling by 0.71 in both directions keeps roughly half of the black pixels (0.71^2), more as
	// strokes are ORed.
	if r := float64(black(fit)) / float64(black(wide)); r < 0.45 || r > 0.8 {
		t.Errorf("fitted page keeps %.2f of the black pixels", r)
	}
	// Every supported width codes and decodes.
	for _, w := range []int{WidthA4, WidthB4, WidthA3, WidthA4Fine16, 1, 7, 9, 2479} {
		q, _ := wide.FitWidth(w)
		for _, o := range codingModes(w) {
			b, err := Encode(q, o)
			if err != nil {
				t.Fatal(err)
			}
			r, _, err := Decode(b, o)
			if err != nil || !r.Equal(q) {
				t.Errorf("width %d %+v: round trip fails: %v", w, o, err)
			}
		}
	}
	_ = image.Rect
}
