package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/faxseal/faxseal/g3"
)

func runAnalyzeOn(t *testing.T, file string, o analyzeOptions) string {
	t.Helper()
	c, err := readCapture(filepath.Join("../../testdata/pcaps", file))
	if err != nil {
		t.Fatal(err)
	}
	if o.outDir == "" {
		o.outDir = t.TempDir()
	}
	var out bytes.Buffer
	if err := analyze(c, o, &out); err != nil {
		t.Fatalf("analyze: %v\n%s", err, out.String())
	}
	return out.String()
}

func readPages(t *testing.T, path string) []*g3.Page {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	pages, err := g3.ReadTIFF(b)
	if err != nil {
		t.Fatal(err)
	}
	return pages
}

// The captures were recorded by t38's TestWriteCaptures (FaxSeal against spandsp 0.0.6, see
// testdata/pcaps/README.md); the documents sent are beside them in testdata/t38.
func TestAnalyzeOwnCaptures(t *testing.T) {
	cases := []struct {
		file, version string
		expect        []string
	}{
		{"faxseal-to-spandsp_t38v0_ecm_mmr_loss5", "0", []string{"IFP 1998 syntax, T38FaxVersion 0", "DIS rx V.17", "DCS V.17 14400 fine MMR 1728 ECM",
			"TCF 2700 octets", "CFR", "PPS-MPS", "PPS-EOP", "page 2 confirmed", "DCN", "Negotiated: V.17 14400 bit/s, fine, MMR"}},
		{"spandsp-to-faxseal_t38v0_ecm_ppr", "0", []string{"PPS-MPS page 0 block 0 frames 19", "PPR", "page 1 confirmed",
			"page 2 confirmed", "lost"}},
		{"spandsp-to-faxseal_t38v2_mh_noecm", "2", []string{"IFP 2002 syntax, T38FaxVersion 2", "TSI \"spandsp\"", "DCS V.17 14400 fine MH 1728",
			"MPS", "EOP", "page 2 confirmed", "ECM false"}},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			dir := t.TempDir()
			out := runAnalyzeOn(t, c.file+".pcap", analyzeOptions{outDir: dir, version: -1})
			for _, e := range c.expect {
				if !strings.Contains(out, e) {
					t.Errorf("output lacks %q:\n%s", e, out)
				}
			}
			got := readPages(t, filepath.Join(dir, "received.tif"))
			want := readPages(t, filepath.Join("../../testdata/t38", c.file+".sent.tif"))
			if len(got) != len(want) {
				t.Fatalf("%d pages written, want %d", len(got), len(want))
			}
			for i := range want {
				if !got[i].Equal(want[i]) {
					t.Errorf("page %d differs from the page sent", i+1)
				}
			}
			// The PDF renders to the same pages (poppler, as the product's documents pipeline uses).
			pdf, err := os.ReadFile(filepath.Join(dir, "received.pdf"))
			if err != nil || !bytes.HasPrefix(pdf, []byte("%PDF-")) || bytes.Count(pdf, []byte("/CCITTFaxDecode")) != len(want) {
				t.Errorf("received.pdf: %v, %d bytes", err, len(pdf))
			}
			// The same capture decoded by port alone, as for a capture without SIP: the syntax is
			// then chosen by what decodes into a fax.
			noSIP := stripSIP(t, c.file+".pcap")
			var buf bytes.Buffer
			if err := analyze(noSIP, analyzeOptions{outDir: t.TempDir(), port: 40000, version: -1}, &buf); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(buf.String(), "page 2 confirmed") || !strings.Contains(buf.String(), "decoding as version "+c.version) {
				t.Errorf("--port without SDP:\n%s", buf.String())
			}
		})
	}
}

// stripSIP loads a capture without its SIP packets.
func stripSIP(t *testing.T, file string) *capture {
	c, err := readCapture(filepath.Join("../../testdata/pcaps", file))
	if err != nil {
		t.Fatal(err)
	}
	kept := c.udp[:0]
	for _, p := range c.udp {
		if !isSIP(p.payload) {
			kept = append(kept, p)
		}
	}
	c.udp = kept
	return c
}

func TestAnalyzeT38Refused(t *testing.T) {
	dir := t.TempDir()
	out := runAnalyzeOn(t, "sipp-loopback_t38-reinvite-488-fallback.pcap", analyzeOptions{outDir: dir, version: -1})
	for _, e := range []string{"m=image 7002 udptl", "version 0 (IFP 1998 syntax)", "INVITE (CSeq 2 INVITE) answered: 488 Not Acceptable Here",
		"never accepted", "540 RTP packets", "no T.38 UDPTL media"} {
		if !strings.Contains(out, e) {
			t.Errorf("output lacks %q:\n%s", e, out)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "received.tif")); err == nil {
		t.Error("pages written for a call without T.38 media")
	}
}

func TestAnalyzeMalformedStream(t *testing.T) {
	// AST-2016-003: garbage and hostile UDPTL on port 2, no SIP. Must report, not crash.
	out := runAnalyzeOn(t, "asterisk-testsuite_ast-2016-003_crash.pcap", analyzeOptions{port: 2, version: -1})
	if !strings.Contains(out, "UDPTL receive statistics") || !strings.Contains(out, "none received") {
		t.Errorf("unexpected output:\n%s", out)
	}
}

func TestAnalyzeUsage(t *testing.T) {
	if err := runAnalyze(t.Context(), []string{"x.pcap"}); err == nil {
		t.Error("missing --out accepted")
	}
	if err := runAnalyze(t.Context(), []string{"--out", t.TempDir(), "does-not-exist.pcap"}); err == nil {
		t.Error("missing file accepted")
	}
	if _, err := parseCapture("junk", []byte("not a capture at all")); err == nil {
		t.Error("junk parsed as a capture")
	}
}

func FuzzParseSDP(f *testing.F) {
	f.Add([]byte("v=0\r\nc=IN IP4 192.0.2.1\r\nm=image 4000 udptl t38\r\na=T38FaxVersion:0\r\na=T38FaxFillBitRemoval\r\n"))
	f.Add([]byte("m=audio 0 RTP/AVP 0\r\nm=image 1 udptl t38\r\nc=IN IP6 ::1\r\na=T38MaxBitRate:x\r\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, m := range parseSDP(b) {
			if m.kind == "" || m.proto == "" {
				t.Fatalf("media without kind/proto: %+v", m)
			}
		}
	})
}

func FuzzParseCapture(f *testing.F) {
	for _, name := range []string{"faxseal-to-spandsp_t38v0_ecm_mmr_loss5.pcap", "asterisk-testsuite_ast-2016-003_crash.pcap",
		"sipp-loopback_t38-reinvite-488-fallback.pcap", "CUSTOMER", "CARRIER"} {
		path := filepath.Join("../../testdata/pcaps", name)
		if !strings.HasSuffix(name, ".pcap") {
			path = asteriskPrefix + name + "_G711U.pcap" // G.711 RTP without SIP
		}
		b, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		if len(b) > 8192 {
			b = b[:8192]
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := parseCapture("fuzz", b)
		if err != nil {
			return
		}
		// By port (UDPTL or RTP), and with the media found by SDP or content.
		for _, port := range []int{40000, 0} {
			var out bytes.Buffer
			if err := analyze(c, analyzeOptions{outDir: t.TempDir(), port: port, version: -1}, &out); err != nil {
				t.Fatalf("analyze failed on a parsed capture: %v", err)
			}
		}
	})
}
