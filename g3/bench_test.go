// Copyright 2026 The FaxSeal Authors. SPDX-License-Identifier: Apache-2.0

package g3

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// benchPages returns the eight CCITT charts.
func benchPages(b *testing.B) []*Page {
	b.Helper()
	var pages []*Page
	for i := 1; i <= 8; i++ {
		data, err := os.ReadFile(filepath.Join("../testdata/g3/ccitt8", fmt.Sprintf("CCITT_%d.TIF", i)))
		if err != nil {
			b.Fatal(err)
		}
		p, err := ReadTIFF(data)
		if err != nil {
			b.Fatal(err)
		}
		pages = append(pages, p[0])
	}
	return pages
}

var benchModes = []struct {
	name string
	opts Options
}{
	{"MH", Options{Compression: MH, Order: MSBFirst}},
	{"MR2", Options{Compression: MR, K: 2, Order: MSBFirst}},
	{"MR4", Options{Compression: MR, K: 4, Order: MSBFirst}},
	{"MMR", Options{Compression: MMR, Order: MSBFirst}},
}

// BenchmarkDecode decodes the CCITT set; one op is one page.
func BenchmarkDecode(b *testing.B) {
	pages := benchPages(b)
	for _, m := range benchModes {
		b.Run(m.name, func(b *testing.B) {
			var streams [][]byte
			for _, p := range pages {
				o := m.opts
				o.Width = p.Width
				s, _ := Encode(p, o)
				streams = append(streams, s)
			}
			var d Decoder
			var q Page
			o := m.opts
			o.Width = pages[0].Width
			o.Height = pages[0].Height
			b.SetBytes(int64(len(pages[0].Pix)))
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := d.DecodePage(&q, streams[i%len(streams)], o); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkEncode codes the CCITT set; one op is one page.
func BenchmarkEncode(b *testing.B) {
	pages := benchPages(b)
	for _, m := range benchModes {
		b.Run(m.name, func(b *testing.B) {
			var e Encoder
			buf := make([]byte, 0, 1<<18)
			o := m.opts
			o.Width = pages[0].Width
			b.SetBytes(int64(len(pages[0].Pix)))
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				var err error
				if buf, err = e.EncodePage(buf[:0], pages[i%len(pages)], o); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
