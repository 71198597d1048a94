// Copyright 2026 The FaxSeal Authors. SPDX-License-Identifier: Apache-2.0

package render

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/faxseal/faxseal/ocr"
	"github.com/faxseal/faxseal/t30"
)

// TestMain restarts the test binary with OMP_THREAD_LIMIT=1 (see package ocr: Tesseract's OpenMP
// reads it only when the library loads).
func TestMain(m *testing.M) {
	if err := ocr.ReexecSingleThreaded(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(m.Run())
}

var ocrLines = []string{
	"FAXSEAL REFERRAL",
	"Patient name: Jane Smith",
	"Date of birth: 1980-03-15",
	"Diagnosis: Type 2 Diabetes",
	"Medications: Metformin 500mg, Lisinopril 10mg",
	"Please call the clinic before Thursday afternoon.",
}

var ocrWord = regexp.MustCompile(`[A-Za-z0-9-]+`)

// The acceptance test of the send path's rendering: a PDF with known text goes through Render,
// is coded as a call would send it, decoded as the receiver would, and read by Tesseract; every
// word must come back. Two formats: MMR at fine resolution (ECM) and MR at standard, the coarsest
// a receiver may ask for. Courier: poppler substitutes a system font for the standard 14 fonts,
// and only a monospaced substitute keeps the PDF's glyph spacing (see package ocr's tests).
func TestOCRRoundTrip(t *testing.T) {
	pool, err := ocr.NewPool(ocr.Options{Size: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	h := testHeader
	d := render(t, []testPage{{W: letterW, H: letterH, Font: "Courier", Size: 11, Lines: ocrLines}}, Options{Header: &h})
	formats := []t30.Format{
		{Compression: t30.MMR, Resolution: t30.Fine, Width: t30.WidthA4, ECM: true},
		{Compression: t30.MR, Resolution: t30.Standard, Width: t30.WidthA4, MinRowBits: 9600 * 20 / 1000},
	}
	pages := make([]ocr.Page, len(formats))
	for i, f := range formats {
		p := encodeDecode(t, d, 0, f)
		p.XRes, p.YRes = 204, map[t30.Resolution]int{t30.Fine: 196, t30.Standard: 98}[f.Resolution]
		pages[i] = ocr.FromG3(p)
	}
	texts, err := pool.Pages(context.Background(), pages)
	if err != nil {
		t.Fatal(err)
	}
	for i, text := range texts {
		have := map[string]bool{}
		for _, w := range ocrWord.FindAllString(strings.ToLower(text), -1) {
			have[w] = true
		}
		var missing []string
		for _, l := range ocrLines {
			for _, w := range ocrWord.FindAllString(strings.ToLower(l), -1) {
				if !have[w] {
					missing = append(missing, w)
				}
			}
		}
		if len(missing) > 0 {
			t.Errorf("%v: OCR missed %q in:\n%s", formats[i], missing, text)
		} else {
			t.Logf("%v: every word read back; OCR text:\n%s", formats[i], text)
		}
	}
}
