// Copyright 2026 The FaxSeal Authors. SPDX-License-Identifier: Apache-2.0

package render

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/pdfcpu/pdfcpu/pkg/api"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"
)

// testPage is one page of a PDF the tests write themselves (ISO 32000-1 §7.5 file structure):
// a MediaBox of W x H points, an optional /Rotate, text lines in Helvetica and extra content
// operators.
type testPage struct {
	W, H   float64
	Rotate int
	Size   float64  // font size of Lines in points; default 12
	Lines  []string // drawn from the top-left margin down
	Ops    string   // more content stream operators, drawn after the text
	Gray   bool     // draw a grey ramp image (a "photo") in the lower half
	Font   string   // a standard 14 font; default Helvetica
}

const (
	letterW, letterH = 612, 792
	a4W, a4H         = 595.28, 841.89
	legalW, legalH   = 612, 1008
)

// pdfEscape escapes a PDF literal string (ISO 32000-1 §7.3.4.2).
func pdfEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `(`, `\(`, `)`, `\)`).Replace(s)
}

// makePDF writes a PDF 1.4 file with a classic cross-reference table. Helvetica is one of the
// standard 14 fonts, which a reader substitutes (poppler via fontconfig), so nothing is embedded.
func makePDF(pages []testPage) []byte {
	var objs []string
	add := func(s string) int { objs = append(objs, s); return len(objs) }
	add("<< /Type /Catalog /Pages 2 0 R >>")
	add("") // page tree, filled in below
	fonts := map[string]int{}
	var kids []string
	for _, p := range pages {
		name := p.Font
		if name == "" {
			name = "Helvetica"
		}
		font, ok := fonts[name]
		if !ok {
			font = add("<< /Type /Font /Subtype /Type1 /BaseFont /" + name + " /Encoding /WinAnsiEncoding >>")
			fonts[name] = font
		}
		size := p.Size
		if size == 0 {
			size = 12
		}
		var c strings.Builder
		if len(p.Lines) > 0 {
			fmt.Fprintf(&c, "BT /F1 %g Tf %g TL 54 %g Td\n", size, size*1.3, p.H-54-size)
			for _, l := range p.Lines {
				fmt.Fprintf(&c, "(%s) Tj T*\n", pdfEscape(l))
			}
			c.WriteString("ET\n")
		}
		res := fmt.Sprintf("/Font << /F1 %d 0 R >>", font)
		if p.Gray {
			// A 256 x 1 DeviceGray ramp stretched over a 4 x 3 in box: the continuous tone a
			// photo has, which thresholding alone would turn into one black and one white half.
			var ramp bytes.Buffer
			for i := 0; i < 256; i++ {
				ramp.WriteByte(byte(i))
			}
			img := add(fmt.Sprintf("<< /Type /XObject /Subtype /Image /Width 256 /Height 1 /ColorSpace /DeviceGray /BitsPerComponent 8 /Length 256 >>\nstream\n%s\nendstream", ramp.String()))
			res += fmt.Sprintf(" /XObject << /Im1 %d 0 R >>", img)
			fmt.Fprintf(&c, "q 288 0 0 216 72 72 cm /Im1 Do Q\n")
		}
		c.WriteString(p.Ops)
		content := c.String()
		cs := add(fmt.Sprintf("<< /Length %d >>\nstream\n%s\nendstream", len(content), content))
		rot := ""
		if p.Rotate != 0 {
			rot = fmt.Sprintf(" /Rotate %d", p.Rotate)
		}
		pg := add(fmt.Sprintf("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %g %g]%s /Contents %d 0 R /Resources << %s >> >>", p.W, p.H, rot, cs, res))
		kids = append(kids, fmt.Sprintf("%d 0 R", pg))
	}
	objs[1] = fmt.Sprintf("<< /Type /Pages /Kids [%s] /Count %d >>", strings.Join(kids, " "), len(kids))
	var b bytes.Buffer
	b.WriteString("%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
	offs := make([]int, len(objs))
	for i, o := range objs {
		offs[i] = b.Len()
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", i+1, o)
	}
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(objs)+1)
	for _, o := range offs {
		fmt.Fprintf(&b, "%010d 00000 n \n", o)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(objs)+1, xref)
	return b.Bytes()
}

// encryptPDF encrypts pdf with AES-256 through pdfcpu; an empty user password makes a PDF that
// opens without one (owner-password "permissions" protection).
func encryptPDF(t testing.TB, pdf []byte, userPW, ownerPW string) []byte {
	t.Helper()
	pdfcpuOnce.Do(api.DisableConfigDir)
	var out bytes.Buffer
	if err := api.Encrypt(bytes.NewReader(pdf), &out, model.NewAESConfiguration(userPW, ownerPW, 256)); err != nil {
		t.Fatalf("encrypt: %v", err)
	}
	return out.Bytes()
}

func textPage(lines ...string) testPage {
	return testPage{W: letterW, H: letterH, Lines: lines}
}
