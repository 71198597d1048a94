// Copyright 2026 The FaxSeal Authors. SPDX-License-Identifier: Apache-2.0

//go:build libtiff

// Command libtiffbench times g3 against libtiff (Debian's libtiff-4 through cgo) and
// golang.org/x/image/ccitt on the same inputs and prints a table of ms per page and ratios (codec
// time / libtiff time, so < 1 is faster than libtiff). `make bench` runs it with GOMAXPROCS=1.
//
// Protocol (reference/g3-codec.md §5): every codec decodes the same coded bytes (g3's encoding,
// byte-identical to libtiff's) into a reused packed 1-bit page, or encodes the same bitmaps. libtiff
// is timed as TIFFReadEncodedStrip on a one-strip TIFF in memory, opened once, and as a whole TIFF
// write in memory for encoding (open, tags, one strip, close: about 1% of the time). Before timing,
// each decoder's output is compared with the bitmap and each encoder's bytes with libtiff's. Each
// round runs every codec once per page, interleaved; the ratio reported is the median of the
// per-round ratios, and the ms are medians too.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"time"

	"golang.org/x/image/ccitt"

	"github.com/faxseal/faxseal/g3"
)

var (
	rounds  = flag.Int("rounds", 7, "interleaved rounds")
	iters   = flag.Int("iters", 4, "iterations of each page per codec and round")
	dataDir = flag.String("data", "testdata/g3/ccitt8", "directory of the CCITT_N.TIF charts")
	only    = flag.String("modes", "", "comma-separated subset of modes (MH, MR2, MR4, MMR)")
	just    = flag.String("just", "", "instead of the table, run only codec/op (libtiff/decode, g3/encode, ...) -n times over the pages of the first mode, for instruction counts under callgrind")
	justN   = flag.Int("n", 8, "pages for -just")
)

type mode struct {
	name  string
	opts  g3.Options
	comp  int // TIFF Compression for libtiff
	t4    int
	yres  float32
	ximgG int // x/image SubFormat+1, 0 when x/image cannot decode the mode
}

var modes = []mode{
	{"MH", g3.Options{Compression: g3.MH, NoTrailer: true}, 3, 0, 98, 1 + int(ccitt.Group3)},
	{"MR K=2", g3.Options{Compression: g3.MR, K: 2, NoTrailer: true}, 3, 1, 98, 0},
	{"MR K=4", g3.Options{Compression: g3.MR, K: 4, NoTrailer: true}, 3, 1, 196, 0},
	{"MMR", g3.Options{Compression: g3.MMR}, 4, 0, 196, 1 + int(ccitt.Group4)},
}

func main() {
	flag.Parse()
	log.SetFlags(0)
	if *only != "" {
		var keep []mode
		for _, m := range modes {
			if strings.Contains(","+*only+",", ","+strings.ReplaceAll(strings.ReplaceAll(m.name, " K=", ""), " ", "")+",") {
				keep = append(keep, m)
			}
		}
		modes = keep
	}
	var pages []*g3.Page
	for i := 1; i <= 8; i++ {
		data, err := os.ReadFile(filepath.Join(*dataDir, fmt.Sprintf("CCITT_%d.TIF", i)))
		if err != nil {
			log.Fatal(err)
		}
		ps, err := g3.ReadTIFF(data)
		if err != nil {
			log.Fatal(err)
		}
		pages = append(pages, ps[0])
	}
	type sample struct{ lt, xi, g []float64 } // ns per page, per round
	dec := make([]sample, len(modes))
	enc := make([]sample, len(modes))

	// Inputs and correctness gates.
	streams := make([][][]byte, len(modes))
	tiffs := make([][][]byte, len(modes))
	for mi, m := range modes {
		for _, p := range pages {
			o := m.opts
			o.Width, o.Order = p.Width, g3.MSBFirst
			s, err := g3.Encode(p, o)
			if err != nil {
				log.Fatal(err)
			}
			var tb bytes.Buffer
			cp := []g3.CodedPage{{Width: p.Width, Height: p.Height, XRes: 204, YRes: int(m.yres), Opts: o, Data: s}}
			if err := g3.WriteTIFF(&tb, cp); err != nil {
				log.Fatal(err)
			}
			streams[mi] = append(streams[mi], s)
			tiffs[mi] = append(tiffs[mi], tb.Bytes())
			out := make([]byte, len(p.Pix))
			if libtiffDecode(tb.Bytes(), out, 1) < 0 || !bytes.Equal(out, p.Pix) {
				log.Fatalf("%s: libtiff decodes differently", m.name)
			}
			if m.ximgG != 0 && !bytes.Equal(ximageDecode(s, p, m, out), p.Pix) {
				log.Fatalf("%s: x/image decodes differently", m.name)
			}
			_, lt := libtiffEncode(p.Pix, p.Width, p.Height, m.comp, m.t4, m.yres, 1)
			tps, err := g3.ParseTIFF(lt)
			if err != nil || len(tps) != 1 || !bytes.Equal(tps[0].Strips[0], s) {
				log.Fatalf("%s: libtiff encodes differently", m.name)
			}
		}
	}

	var d g3.Decoder
	var e g3.Encoder
	var q g3.Page
	buf := make([]byte, 0, 1<<20)
	out := make([]byte, len(pages[0].Pix))
	if *just != "" {
		m := modes[0]
		for i := 0; i < *justN; i++ {
			pi := i % len(pages)
			p := pages[pi]
			o := m.opts
			o.Width, o.Height, o.Order = p.Width, p.Height, g3.MSBFirst
			switch *just {
			case "libtiff/decode":
				libtiffDecode(tiffs[0][pi], out, 1)
			case "libtiff/encode":
				libtiffEncode(p.Pix, p.Width, p.Height, m.comp, m.t4, m.yres, 1)
			case "g3/decode":
				d.DecodePage(&q, streams[0][pi], o)
			case "g3/encode":
				o.Height = 0
				buf, _ = e.EncodePage(buf[:0], p, o)
			case "ximage/decode":
				ximageDecode(streams[0][pi], p, m, out)
			default:
				log.Fatalf("unknown -just %q", *just)
			}
		}
		return
	}
	n := *iters
	for r := 0; r < *rounds; r++ {
		for mi, m := range modes {
			var lt, xi, gd, lte, ge float64
			for pi, p := range pages {
				lt += libtiffDecode(tiffs[mi][pi], out, 5*n)
				if m.ximgG != 0 {
					t0 := time.Now()
					for i := 0; i < n; i++ {
						ximageDecode(streams[mi][pi], p, m, out)
					}
					xi += float64(time.Since(t0).Nanoseconds()) / float64(n)
				}
				o := m.opts
				o.Width, o.Height, o.Order = p.Width, p.Height, g3.MSBFirst
				t0 := time.Now()
				for i := 0; i < 5*n; i++ {
					if _, err := d.DecodePage(&q, streams[mi][pi], o); err != nil {
						log.Fatal(err)
					}
				}
				gd += float64(time.Since(t0).Nanoseconds()) / float64(5*n)
				ns, _ := libtiffEncode(p.Pix, p.Width, p.Height, m.comp, m.t4, m.yres, 2*n)
				lte += ns
				o.Height = 0
				t0 = time.Now()
				for i := 0; i < 5*n; i++ {
					buf, _ = e.EncodePage(buf[:0], p, o)
				}
				ge += float64(time.Since(t0).Nanoseconds()) / float64(5*n)
			}
			k := float64(len(pages))
			dec[mi].lt = append(dec[mi].lt, lt/k)
			dec[mi].xi = append(dec[mi].xi, xi/k)
			dec[mi].g = append(dec[mi].g, gd/k)
			enc[mi].lt = append(enc[mi].lt, lte/k)
			enc[mi].g = append(enc[mi].g, ge/k)
		}
	}

	host, _ := os.Hostname()
	fmt.Printf("g3 vs libtiff vs x/image/ccitt: CCITT set (8 pages 1728x2376), %d rounds, GOMAXPROCS=%d, %s, %s %s/%s, %s\n\n",
		*rounds, runtime.GOMAXPROCS(0), time.Now().UTC().Format("2006-01-02 15:04 MST"), runtime.Version(), runtime.GOOS, runtime.GOARCH, host)
	fmt.Println("| op | mode | libtiff ms/page | x/image ms/page (ratio) | g3 ms/page | g3 ratio (range) | goal |")
	fmt.Println("|---|---|---|---|---|---|---|")
	for mi, m := range modes {
		s := dec[mi]
		xcol := "unsupported"
		if m.ximgG != 0 {
			xcol = fmt.Sprintf("%.2f (%.2fx)", median(s.xi)/1e6, medianRatio(s.xi, s.lt))
		}
		fmt.Printf("| decode | %s | %.2f | %s | %.2f | %s | <= 0.9x |\n", m.name, median(s.lt)/1e6, xcol, median(s.g)/1e6, ratioRange(s.g, s.lt))
	}
	for mi, m := range modes {
		s := enc[mi]
		fmt.Printf("| encode | %s | %.2f | no encoder | %.2f | %s | <= 0.4x |\n", m.name, median(s.lt)/1e6, median(s.g)/1e6, ratioRange(s.g, s.lt))
	}
}

func ximageDecode(s []byte, p *g3.Page, m mode, out []byte) []byte {
	r := ccitt.NewReader(bytes.NewReader(s), ccitt.MSB, ccitt.SubFormat(m.ximgG-1), p.Width, p.Height, &ccitt.Options{Invert: true})
	if _, err := io.ReadFull(r, out); err != nil {
		log.Fatalf("x/image %s: %v", m.name, err)
	}
	return out
}

func median(v []float64) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	return s[len(s)/2]
}

func ratios(a, b []float64) []float64 {
	r := make([]float64, len(a))
	for i := range a {
		r[i] = a[i] / b[i]
	}
	return r
}

func medianRatio(a, b []float64) float64 { return median(ratios(a, b)) }

func ratioRange(a, b []float64) string {
	r := ratios(a, b)
	sort.Float64s(r)
	return fmt.Sprintf("**%.2fx** (%.2f–%.2f)", r[len(r)/2], r[0], r[len(r)-1])
}
