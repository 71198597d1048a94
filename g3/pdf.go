// Copyright 2026 The FaxSeal Authors. SPDX-License-Identifier: Apache-2.0

package g3

import (
	"bytes"
	"fmt"
	"io"
	"math/bits"
	"strconv"
)

// WritePDF writes coded pages as a PDF file (PDF 1.4, ISO 32000-1 §7.4.6 CCITTFaxDecode), one page
// per coded page. Each page is an image XObject holding the coded bytes unchanged (LSB-first data is
// bit-reversed into a copy, PDF having no fill order), with DecodeParms K, Columns, Rows, EndOfLine,
// EncodedByteAlign and EndOfBlock set from the page's Options, so that a received fax becomes a PDF
// without re-encoding. The page size follows the resolution: Width/XRes by Height/YRes inches (an A4
// fax page at 204x196 dpi is 8.47 x 11.6 inches whatever its resolution).
func WritePDF(w io.Writer, pages []CodedPage) error {
	if len(pages) == 0 {
		return fmt.Errorf("%w: no pages", ErrOptions)
	}
	var b bytes.Buffer
	var offsets []int // byte offset of each object, by number-1
	obj := func() int {
		offsets = append(offsets, b.Len())
		n := len(offsets)
		fmt.Fprintf(&b, "%d 0 obj\n", n)
		return n
	}
	b.WriteString("%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
	// Object numbers: 1 catalog, 2 page tree, then page, contents, image for each page.
	obj()
	b.WriteString("<< /Type /Catalog /Pages 2 0 R >>\nendobj\n")
	obj()
	b.WriteString("<< /Type /Pages /Kids [")
	for i := range pages {
		fmt.Fprintf(&b, " %d 0 R", 3+3*i)
	}
	fmt.Fprintf(&b, " ] /Count %d >>\nendobj\n", len(pages))
	for i, cp := range pages {
		o := cp.Opts
		if cp.Width < 1 || cp.Height < 1 || o.Width != cp.Width {
			return fmt.Errorf("%w: page %d geometry %dx%d", ErrOptions, i+1, cp.Width, cp.Height)
		}
		xres, yres := cp.XRes, cp.YRes
		if xres <= 0 {
			xres = ResX
		}
		if yres <= 0 {
			yres = ResFine
		}
		wpt := float64(cp.Width) * 72 / float64(xres)
		hpt := float64(cp.Height) * 72 / float64(yres)
		contents, image := 4+3*i, 5+3*i // the page itself is 3+3*i
		obj()
		fmt.Fprintf(&b, "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %s %s] /Resources << /XObject << /Im0 %d 0 R >> >> /Contents %d 0 R >>\nendobj\n",
			num(wpt), num(hpt), image, contents)
		cs := fmt.Sprintf("q %s 0 0 %s 0 0 cm /Im0 Do Q\n", num(wpt), num(hpt))
		obj()
		fmt.Fprintf(&b, "<< /Length %d >>\nstream\n%sendstream\nendobj\n", len(cs), cs)

		k := 0
		switch o.Compression {
		case MMR:
			k = -1
		case MR:
			k = max(o.K, 1)
		}
		eol := o.Compression != MMR && !o.NoEOL
		obj()
		fmt.Fprintf(&b, "<< /Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace /DeviceGray /BitsPerComponent 1 /Filter /CCITTFaxDecode /DecodeParms << /K %d /Columns %d /Rows %d /EndOfLine %t /EncodedByteAlign %t /EndOfBlock %t /BlackIs1 %t >> /Length %d >>\nstream\n",
			cp.Width, cp.Height, k, cp.Width, cp.Height, eol, o.AlignRows, !o.NoTrailer, o.BlackIs0, len(cp.Data))
		if o.Order == LSBFirst {
			for _, c := range cp.Data {
				b.WriteByte(bits.Reverse8(c))
			}
		} else {
			b.Write(cp.Data)
		}
		b.WriteString("\nendstream\nendobj\n")
	}
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(offsets)+1)
	for _, off := range offsets {
		fmt.Fprintf(&b, "%010d 00000 n \n", off)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(offsets)+1, xref)
	_, err := w.Write(b.Bytes())
	return err
}

// num formats a PDF real with at most 4 decimals.
func num(f float64) string {
	return strconv.FormatFloat(f, 'f', 4, 64)
}
