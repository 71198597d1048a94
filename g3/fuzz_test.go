// Copyright 2026 The FaxSeal Authors. SPDX-License-Identifier: Apache-2.0

package g3

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// fuzzOptions maps a selector byte to decoding options, so one corpus covers every mode.
func fuzzOptions(sel byte, width uint16) Options {
	o := Options{Width: 1 + int(width)%1800, Order: MSBFirst}
	switch sel % 6 {
	case 0:
		o.Compression = MH
	case 1:
		o.Compression = MR
		o.K = 4
	case 2:
		o.Compression = MMR
	case 3:
		o.Compression, o.NoEOL, o.AlignRows = MH, true, true
	case 4:
		o.Compression, o.NoEOL = MR, true
		o.K = 2
	case 5:
		o.Compression, o.AlignRows = MMR, true
	}
	if sel&8 != 0 {
		o.Order = LSBFirst
	}
	if sel&16 != 0 {
		o.Height = 1 + int(width)%300
	}
	return o
}

// addRawSeeds seeds a raw-stream fuzzer with the x/image streams and coded fragments of a chart.
func addRawSeeds(f *testing.F) {
	files, _ := filepath.Glob("../testdata/g3/ximage/*.ccitt_group*")
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		sel := byte(0)
		if filepath.Ext(name) == ".ccitt_group4" {
			sel = 2
		}
		f.Add(b, sel, uint16(153))
	}
	if b, err := os.ReadFile("../testdata/g3/twelvemonkeys/645.ccitt"); err == nil {
		f.Add(b, byte(2), uint16(1728))
	}
	p := readPBMFile(f, "../testdata/g3/itu/itu1.pbm")
	q := &Page{Width: p.Width, Height: 40, Stride: p.Stride, Pix: p.Pix[600*p.Stride : 640*p.Stride]}
	for sel := byte(0); sel < 6; sel++ {
		o := fuzzOptions(sel, uint16(p.Width-1))
		o.Width = p.Width
		o.Height = 0
		b, err := Encode(q, o)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, sel, uint16(p.Width-1))
	}
}

// FuzzDecode decodes arbitrary data in every mode. Properties: no panic; the page has the width
// asked for and at most the rows asked for; a page that decoded cleanly re-encodes and decodes to
// the same pixels; and decoding the data pushed in pieces through Write gives the same page and
// statistics as decoding it whole.
func FuzzDecode(f *testing.F) {
	addRawSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte, sel byte, width uint16) {
		o := fuzzOptions(sel, width)
		var d Decoder
		var p Page
		st, err := d.DecodePage(&p, data, o)
		if p.Width != o.Width || p.Height != st.Rows || len(p.Pix) != p.Height*p.Stride {
			t.Fatalf("page %dx%d with %d bytes, stats %+v", p.Width, p.Height, len(p.Pix), st)
		}
		if o.Height > 0 && p.Height > o.Height {
			t.Fatalf("%d rows, asked for %d", p.Height, o.Height)
		}
		if st.BadRows > st.Rows || st.LongestBadRun > st.BadRows {
			t.Fatalf("stats %+v", st)
		}

		// The same bytes in pieces.
		var q Page
		q.Reset(o.Width, 0, 0)
		var sd Decoder
		if err := sd.Reset(o, &q); err != nil {
			t.Fatal(err)
		}
		for rest, n := data, 1; len(rest) > 0; n = n*2 + 1 {
			k := min(n, len(rest))
			if _, err := sd.Write(rest[:k]); err != nil {
				break
			}
			rest = rest[k:]
		}
		serr := sd.Close()
		sst := sd.Stats()
		if (err == nil) != (serr == nil) || !q.Equal(&p) || sst.BadRows != st.BadRows || sst.Rows != st.Rows {
			t.Fatalf("streamed: %d rows %+v err %v; whole: %d rows %+v err %v", q.Height, sst, serr, p.Height, st, err)
		}

		if err != nil || st.BadRows > 0 || p.Height == 0 {
			return
		}
		eo := o
		eo.Height = 0
		b, err := Encode(&p, eo)
		if err != nil {
			t.Fatal(err)
		}
		eo.Height = p.Height
		r, _, err := Decode(b, eo)
		if err != nil || !r.Equal(&p) {
			t.Fatalf("re-encoded page decodes differently: %v", err)
		}
	})
}

// FuzzTIFF reads arbitrary TIFF files. Properties: no panic; pages within the limits; pages that
// decode are written back as TIFF Class F and read again unchanged.
func FuzzTIFF(f *testing.F) {
	for _, name := range []string{
		"twelvemonkeys/group3_1d.tif", "twelvemonkeys/group3_2d_fill.tif", "twelvemonkeys/group3_2d_lsb2msb.tif",
		"twelvemonkeys/group4.tif", "twelvemonkeys/ccitt_tolessrows.tif", "twelvemonkeys/ccitt-too-many-changes.tif",
		"twelvemonkeys/incorrect-compression-rle-as-g3.tif", "libtiffnet/multipage.tif", "pillow/g4-fillorder-test.tif",
		"ximage/bw-gopher_ccittGroup3.tiff",
	} {
		b, err := os.ReadFile(filepath.Join("../testdata/g3", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		tps, err := ParseTIFF(data)
		if err != nil && len(tps) > 0 {
			// Pages found before a bad directory are kept.
			_ = tps
		}
		for i := range tps {
			tp := &tps[i]
			if tp.Width > 1<<12 || tp.Height > 1<<12 {
				continue // keep each run fast; the limits themselves are tested elsewhere
			}
			p, _, err := DecodeTIFFPage(tp)
			if p == nil {
				continue
			}
			if p.Width != tp.Width || p.Height > tp.Height {
				t.Fatalf("page %dx%d from a %dx%d directory", p.Width, p.Height, tp.Width, tp.Height)
			}
			if err != nil || p.Height == 0 {
				continue
			}
			cps, err := EncodePages([]*Page{p}, Options{Compression: MMR, Order: MSBFirst})
			if err != nil {
				t.Fatal(err)
			}
			var b bytes.Buffer
			if err := WriteTIFF(&b, cps); err != nil {
				t.Fatal(err)
			}
			back, err := ReadTIFF(b.Bytes())
			if err != nil || len(back) != 1 || !back[0].Equal(p) {
				t.Fatalf("written page reads back differently: %v", err)
			}
		}
	})
}

// FuzzPBM reads arbitrary PBM data: no panic, and what reads writes back byte for byte.
func FuzzPBM(f *testing.F) {
	f.Add([]byte("P4\n8 2\n\xff\x00"))
	f.Add([]byte("P4 # comment\n# more\n 9 1 \xff\x80"))
	f.Add([]byte("P4\n3 3\n\xe0"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := ReadPBM(bytes.NewReader(data))
		if err != nil {
			return
		}
		if p.Width*p.Height > 1<<20 {
			return
		}
		var b bytes.Buffer
		if err := WritePBM(&b, p); err != nil {
			t.Fatal(err)
		}
		q, err := ReadPBM(&b)
		if err != nil || !q.Equal(p) {
			t.Fatalf("PBM round trip: %v", err)
		}
	})
}
