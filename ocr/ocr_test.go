package ocr

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/faxseal/faxseal/g3"
)

// TestMain restarts the test binary with OMP_THREAD_LIMIT=1 when `go test` was run without it (the
// Makefile exports it): OpenMP reads it only at library load, see the package comment.
func TestMain(m *testing.M) {
	if err := ReexecSingleThreaded(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(m.Run())
}

func TestSingleThreaded(t *testing.T) {
	if !SingleThreaded() {
		t.Fatalf("%s=%q after TestMain", ThreadLimitEnv, os.Getenv(ThreadLimitEnv))
	}
}

// textPDF writes a one-page PDF (US Letter) showing lines in Courier at size pt, by hand: the
// test then depends on nothing but poppler to rasterise it, as the send path does. Courier, because
// poppler substitutes a system font for the standard 14 and only a monospaced substitute keeps the
// PDF's glyph spacing (Helvetica set in DejaVu Sans leaves gaps that split words).
func textPDF(t testing.TB, dir string, pt int, lines []string) string {
	t.Helper()
	var content bytes.Buffer
	fmt.Fprintf(&content, "BT /F1 %d Tf 72 740 Td %d TL\n", pt, pt*3/2)
	for _, l := range lines {
		fmt.Fprintf(&content, "(%s) '\n", strings.NewReplacer(`\`, `\\`, "(", `\(`, ")", `\)`).Replace(l))
	}
	content.WriteString("ET\n")
	objs := []string{
		"<< /Type /Catalog /Pages 2 0 R >>",
		"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
		fmt.Sprintf("<< /Length %d >>\nstream\n%sendstream", content.Len(), content.Bytes()),
		"<< /Type /Font /Subtype /Type1 /BaseFont /Courier /Encoding /WinAnsiEncoding >>",
	}
	var pdf bytes.Buffer
	pdf.WriteString("%PDF-1.4\n")
	offsets := make([]int, len(objs))
	for i, o := range objs {
		offsets[i] = pdf.Len()
		fmt.Fprintf(&pdf, "%d 0 obj\n%s\nendobj\n", i+1, o)
	}
	xref := pdf.Len()
	fmt.Fprintf(&pdf, "xref\n0 %d\n0000000000 65535 f \n", len(objs)+1)
	for _, off := range offsets {
		fmt.Fprintf(&pdf, "%010d 00000 n \n", off)
	}
	fmt.Fprintf(&pdf, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(objs)+1, xref)
	path := filepath.Join(dir, "page.pdf")
	if err := os.WriteFile(path, pdf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// rasterise renders the PDF's first page to 1 bit at xres x yres through RasterizePDF, as a fax page.
func rasterise(t *testing.T, pdf string, xres, yres int) Page {
	t.Helper()
	if _, err := exec.LookPath("pdftoppm"); err != nil {
		t.Skip("pdftoppm (poppler-utils) not installed")
	}
	raw, err := os.ReadFile(pdf)
	if err != nil {
		t.Fatal(err)
	}
	pages, err := RasterizePDF(context.Background(), raw, xres, yres, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(pages) != 1 || pages[0].XRes != xres || pages[0].YRes != yres {
		t.Fatalf("%d pages, first %+v", len(pages), pages[0])
	}
	return pages[0]
}

var wordRE = regexp.MustCompile(`[A-Za-z0-9-]+`)

// found returns the fraction of the words of lines that appear in text, and the missing ones.
func found(lines []string, text string) (float64, []string) {
	have := map[string]bool{}
	for _, w := range wordRE.FindAllString(strings.ToLower(text), -1) {
		have[w] = true
	}
	var total int
	var missing []string
	for _, l := range lines {
		for _, w := range wordRE.FindAllString(strings.ToLower(l), -1) {
			total++
			if !have[w] {
				missing = append(missing, w)
			}
		}
	}
	return 1 - float64(len(missing))/float64(total), missing
}

var referralLines = []string{
	"FAXSEAL REFERRAL",
	"Patient name: Jane Smith",
	"Date of birth: 1980-03-15",
	"Diagnosis: Type 2 Diabetes",
	"Medications: Metformin 500mg, Lisinopril 10mg",
	"Please call the clinic before Thursday afternoon.",
}

// TestStandardResolutionPage takes known text the way a fax carries it: rendered and thresholded to
// 1 bit at standard resolution (204x98 dpi), coded T.4 MH by g3, decoded again, then OCRed through
// the pool; the words come back.
func TestStandardResolutionPage(t *testing.T) {
	rendered := rasterise(t, textPDF(t, t.TempDir(), 10, referralLines), 204, 98)
	if rendered.Width < 1700 || rendered.Height < 1000 || rendered.Height > 1100 {
		t.Fatalf("standard-resolution Letter page is %dx%d", rendered.Width, rendered.Height)
	}
	src := g3.Page(rendered)
	opts := g3.Options{Compression: g3.MH, Order: g3.MSBFirst, Width: src.Width}
	coded, err := g3.Encode(&src, opts)
	if err != nil {
		t.Fatal(err)
	}
	decoded, _, err := g3.Decode(coded, opts)
	if err != nil {
		t.Fatal(err)
	}
	decoded.XRes, decoded.YRes = g3.ResX, g3.ResStandard
	pg := FromG3(decoded)
	if pg.Height != rendered.Height || !bytes.Equal(pg.Pix, rendered.Pix) {
		t.Fatalf("g3 round trip changed the page: %d rows, want %d", pg.Height, rendered.Height)
	}
	pool, err := NewPool(Options{Size: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	text, err := pool.Page(context.Background(), pg)
	if err != nil {
		t.Fatal(err)
	}
	frac, missing := found(referralLines, text)
	t.Logf("%.0f%% of the words found; missing %q\n%s", 100*frac, missing, text)
	if frac < 0.9 {
		t.Fatalf("only %.0f%% of the words found; missing %q", 100*frac, missing)
	}
	for _, w := range []string{"jane", "smith", "1980-03-15", "metformin", "diabetes"} {
		if !strings.Contains(strings.ToLower(text), w) {
			t.Errorf("%q not found", w)
		}
	}
}

func TestPagesInParallel(t *testing.T) {
	dir := t.TempDir()
	a := rasterise(t, textPDF(t, dir, 14, []string{"First page: invoice 48213"}), 204, 196)
	b := rasterise(t, textPDF(t, dir, 14, []string{"Second page: signature required"}), 204, 196)
	pool, err := NewPool(Options{Size: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	texts, err := pool.Pages(context.Background(), []Page{a, b, {Width: 10, Height: 10, XRes: 204, YRes: 98}})
	if !errors.Is(err, ErrPage) || !strings.Contains(err.Error(), "page 3") {
		t.Fatalf("a bad third page: err = %v", err)
	}
	texts, err = pool.Pages(context.Background(), []Page{a, b})
	if err != nil {
		t.Fatal(err)
	}
	if len(texts) != 2 || !strings.Contains(texts[0], "48213") || !strings.Contains(texts[1], "signature") {
		t.Fatalf("texts %q", texts)
	}
	if j := Join(texts); !strings.Contains(j, "\f") || !strings.HasPrefix(j, texts[0]) {
		t.Fatalf("Join = %q", j)
	}
}

func TestPoolClosedAndCanceled(t *testing.T) {
	pool, err := NewPool(Options{Size: 1})
	if err != nil {
		t.Fatal(err)
	}
	pg := Page{Width: 8, Height: 8, Pix: make([]byte, 8), XRes: 204, YRes: 196}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	// Hold the only client so the canceled context decides.
	c := <-pool.idle
	if _, err := pool.Page(ctx, pg); !errors.Is(err, context.Canceled) {
		t.Fatalf("canceled: %v", err)
	}
	pool.idle <- c
	pool.Close()
	if _, err := pool.Page(context.Background(), pg); !errors.Is(err, ErrClosed) {
		t.Fatalf("closed: %v", err)
	}
	if pool.Close() != nil {
		t.Fatal("second Close")
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// BenchmarkStandardPage is one page of six text lines at standard resolution, OCRed by one
// single-threaded client (the figure to compare with the measurements brief's 2.6 s dense page).
func BenchmarkStandardPage(b *testing.B) {
	pdf := textPDF(b, b.TempDir(), 10, referralLines)
	raw, err := os.ReadFile(pdf)
	if err != nil {
		b.Fatal(err)
	}
	pages, err := RasterizePDF(context.Background(), raw, 204, 98, 1)
	if err != nil {
		b.Fatal(err)
	}
	pool, err := NewPool(Options{Size: 1})
	if err != nil {
		b.Fatal(err)
	}
	defer pool.Close()
	b.ReportAllocs()
	b.SetBytes(int64(len(pages[0].Pix)))
	for b.Loop() {
		if _, err := pool.Page(context.Background(), pages[0]); err != nil {
			b.Fatal(err)
		}
	}
}
