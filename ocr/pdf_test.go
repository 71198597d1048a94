package ocr

import (
	"bytes"
	"context"
	"errors"
	"os/exec"
	"testing"
)

func TestParsePBM(t *testing.T) {
	two := []byte("P4\n# made by hand\n9 2\n\xff\x80\x00\x00" + "P4 8 1 \x5a\n")
	pages, err := ParsePBM(two)
	if err != nil {
		t.Fatal(err)
	}
	if len(pages) != 2 || pages[0].Width != 9 || pages[0].Height != 2 || pages[0].Stride != 2 ||
		!bytes.Equal(pages[0].Pix, []byte{0xff, 0x80, 0, 0}) || pages[1].Width != 8 || pages[1].Pix[0] != 0x5a {
		t.Fatalf("%+v", pages)
	}
	if !pages[0].black(8, 0) || pages[0].black(8, 1) || !pages[1].black(1, 0) || pages[1].black(0, 0) {
		t.Fatal("pixel values")
	}
	for _, bad := range []string{"P5\n1 1\n\x00", "P4\n0 1\n", "P4\n1\n", "P4\n8 2\n\x00", "P4\n8 1", "P4 9999999 1 ", "P4\n1 1\n\x00junk"} {
		if _, err := ParsePBM([]byte(bad)); !errors.Is(err, ErrPBM) {
			t.Errorf("ParsePBM(%q) = %v, want ErrPBM", bad, err)
		}
	}
	if pages, err := ParsePBM(nil); err != nil || len(pages) != 0 {
		t.Fatalf("empty: %v %v", pages, err)
	}
}

func FuzzParsePBM(f *testing.F) {
	f.Add([]byte("P4\n# c\n9 2\n\xff\x80\x00\x00P4 8 1 \x5a"))
	f.Add([]byte("P4 1 1\n\x80"))
	f.Fuzz(func(t *testing.T, data []byte) {
		pages, err := ParsePBM(data)
		if err != nil {
			return
		}
		// Property: every page's pixels are inside data and exactly Height rows of Stride bytes.
		for _, pg := range pages {
			if len(pg.Pix) != pg.Stride*pg.Height || pg.Stride != (pg.Width+7)/8 {
				t.Fatalf("%dx%d stride %d with %d bytes", pg.Width, pg.Height, pg.Stride, len(pg.Pix))
			}
		}
	})
}

func TestRasterizePDFErrors(t *testing.T) {
	if _, err := exec.LookPath("pdftoppm"); err != nil {
		t.Skip("pdftoppm (poppler-utils) not installed")
	}
	if _, err := RasterizePDF(context.Background(), []byte("not a pdf"), 204, 196, 0); err == nil {
		t.Fatal("rendered a non-PDF")
	}
	pages, err := RasterizePDF(context.Background(), mustRead(t, textPDF(t, t.TempDir(), 12, []string{"x"})), 102, 49, 0)
	if err != nil || len(pages) != 1 || pages[0].Width != 867 || pages[0].Height != 539 {
		t.Fatalf("%v %+v", err, pages)
	}
}
