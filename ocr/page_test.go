package ocr

import (
	"errors"
	"testing"
)

func TestValidate(t *testing.T) {
	for _, pg := range []Page{
		{},
		{Width: 8, Height: 1, Pix: []byte{0}, XRes: 0, YRes: 98},
		{Width: 9, Height: 1, Pix: []byte{0}, XRes: 204, YRes: 98},
		{Width: 8, Height: 2, Stride: 1, Pix: []byte{0}, XRes: 204, YRes: 98},
		{Width: 16, Height: 1, Stride: 1, Pix: []byte{0, 0}, XRes: 204, YRes: 98},
		{Width: -1, Height: 1, XRes: 204, YRes: 98},
		{Width: 1 << 20, Height: 1, XRes: 204, YRes: 98},
		{Width: 16384, Height: 16384, Pix: make([]byte, 2048*16384), XRes: 50, YRes: 50}, // 96k x 96k at 300 dpi
	} {
		if _, _, _, err := pg.Resample(); !errors.Is(err, ErrPage) {
			t.Errorf("Resample(%+v) = %v, want ErrPage", pg, err)
		}
	}
}

// TestResample checks geometry and values: a standard-resolution page becomes square-pixelled at
// ocrDPI, black stays black and white stays white away from edges, edges get intermediate grays.
func TestResample(t *testing.T) {
	// 204x98: left half black, right half white; stride padded to 30 bytes.
	const w, h = 204, 98
	pg := Page{Width: w, Height: h, Stride: 30, Pix: make([]byte, 30*h), XRes: 204, YRes: 98}
	for y := range h {
		for x := range w / 2 {
			pg.Pix[y*30+x/8] |= 0x80 >> (x % 8)
		}
	}
	gray, gw, gh, err := pg.Resample()
	if err != nil {
		t.Fatal(err)
	}
	if gw != ocrDPI || gh != ocrDPI || len(gray) != gw*gh {
		t.Fatalf("%dx%d (%d bytes), want a %d-pixel square", gw, gh, len(gray), ocrDPI)
	}
	var edge bool
	for y := 0; y < gh; y += 37 {
		row := gray[y*gw : (y+1)*gw]
		if row[0] != 0 || row[gw/2-5] != 0 || row[gw/2+5] != 255 || row[gw-1] != 255 {
			t.Fatalf("row %d: %d %d %d %d", y, row[0], row[gw/2-5], row[gw/2+5], row[gw-1])
		}
		for x := 1; x < gw; x++ {
			if row[x] < row[x-1] {
				t.Fatalf("row %d not monotonic at %d", y, x)
			}
			if row[x] > 0 && row[x] < 255 {
				edge = true
			}
		}
	}
	if !edge {
		t.Fatal("no interpolated edge")
	}
	img, err := pg.tesseractImage()
	if err != nil || string(img[:12]) != "P5\n300 300\n2" || len(img) != len("P5\n300 300\n255\n")+300*300 {
		t.Fatalf("PGM header %q, %d bytes, %v", img[:16], len(img), err)
	}
}

func FuzzResample(f *testing.F) {
	f.Add(8, 8, 0, 204, 98, []byte{0xff, 0, 0xaa, 0x55, 1, 2, 3, 4})
	f.Add(3, 2, 1, 204, 391, []byte{0xe0, 0x40})
	f.Fuzz(func(t *testing.T, w, h, stride, xres, yres int, bits []byte) {
		if w*h > 1<<16 || xres > 400 || yres > 400 { // keep each run small
			return
		}
		pg := Page{Width: w, Height: h, Stride: stride, Pix: bits, XRes: xres, YRes: yres}
		gray, gw, gh, err := pg.Resample()
		if err != nil {
			return
		}
		// Property: geometry follows the resolution, and an all-white page stays all white.
		if gw != w*ocrDPI/xres || gh != h*ocrDPI/yres || len(gray) != gw*gh {
			t.Fatalf("%dx%d -> %dx%d (%d)", w, h, gw, gh, len(gray))
		}
		var any bool
		for _, b := range bits[:pg.stride()*(h-1)+(w+7)/8] {
			any = any || b != 0
		}
		if !any {
			for _, g := range gray {
				if g != 255 {
					t.Fatal("white page resampled to non-white")
				}
			}
		}
	})
}

func BenchmarkResampleStandard(b *testing.B) {
	// An A4-width standard-resolution page (1728x1143) with a text-like pattern.
	pg := Page{Width: 1728, Height: 1143, Pix: make([]byte, 216*1143), XRes: 204, YRes: 98}
	for i := range pg.Pix {
		pg.Pix[i] = byte(i*7) & 0x3c
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(pg.Pix)))
	for b.Loop() {
		if _, _, _, err := pg.Resample(); err != nil {
			b.Fatal(err)
		}
	}
}
