//go:build spandsp

package main

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/faxseal/faxseal/g3"
	"github.com/faxseal/faxseal/internal/spandsp"
	"github.com/faxseal/faxseal/modem/audio"
	"github.com/faxseal/faxseal/modem/g711"
	"github.com/faxseal/faxseal/t30"
)

// spandspEnd is spandsp's audio fax terminal (fax_state_t) on G.711.
type spandspEnd struct {
	f   *spandsp.FaxTerminal
	law g711.Law
	pcm []int16
}

func (e *spandspEnd) tx(dst []byte) {
	e.f.Tx(e.pcm)
	e.law.Encode(dst, e.pcm)
}
func (e *spandspEnd) rx(p []byte) {
	if p == nil {
		e.f.RxFillin(audio.Block)
		return
	}
	e.f.Rx(e.law.Decode(e.pcm[:len(p)], p))
}
func (e *spandspEnd) advance(time.Duration) {}
func (e *spandspEnd) done() bool {
	d, _, _ := e.f.Done()
	return d
}

// A whole fax sent by spandsp 0.0.6 (its own V.17/V.29 modulators and T.30) to ours, recorded and
// analyzed: the monitor must demodulate another implementation's signal, and the pages written must
// be the pages spandsp sent.
func TestAnalyzeG711FromSpandsp(t *testing.T) {
	t.Parallel()
	pages := []*g3.Page{testPage(t, 7, 400), testPage(t, 8, 360)}
	var bms []spandsp.Bitmap
	for _, p := range pages {
		bms = append(bms, spandsp.Bitmap{Width: p.Width, Height: p.Height, XRes: p.XRes, YRes: p.YRes, Rows: p.Pix})
	}
	for _, c := range []struct {
		name   string
		call   g711Call
		modems int
		expect []string
	}{
		{"ecm_v17", g711Call{law: g711.ALaw, pt: 8, ecm: true, loss: 0.01, seed: 11}, 0,
			[]string{"PCMA (PT 8)", `TSI "spandsp"`, "DCS V.17 14400 fine", "ECM", "PPS-EOP", "page 2 confirmed",
				"Negotiated: V.17 14400 bit/s, fine"}},
		{"noecm_v29", g711Call{law: g711.MuLaw, pt: 0, seed: 12}, spandsp.ModemV29 | spandsp.ModemV27ter,
			[]string{"PCMU (PT 0)", `TSI "spandsp"`, "DCS V.29 9600 fine", "V.29 9600 trained", "TCF ", "MPS", "EOP",
				"page 2 confirmed", "DCN", "ECM false (sender A)"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			in := filepath.Join(t.TempDir(), "tx.tif")
			if err := spandsp.WriteTIFF(in, bms, spandsp.TIFFG4); err != nil {
				t.Fatal(err)
			}
			f, err := spandsp.NewFaxTerminal(spandsp.FaxConfig{Calling: true, ECM: c.call.ecm, Modems: c.modems, TxFile: in, Ident: "spandsp"})
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			caller := &spandspEnd{f: f, law: c.call.law, pcm: make([]int16, audio.Block)}
			sink := &pageSink{}
			called := newOurEnd(t, c.call.law, t30.Config{Role: t30.Receive, Ident: "+1 555 0199", Sink: sink,
				DisableECM: !c.call.ecm, DisableV17: c.modems != 0})
			r := newRecorder(t)
			recordCall(t, r, c.call, caller, called, 0)
			_, code, text := f.Done()
			if code != 0 || sink.kept != len(pages) {
				t.Fatalf("the recorded fax itself failed: spandsp %d %s, ours %v, %d pages", code, text, called.s.Result(), sink.kept)
			}
			dir := t.TempDir()
			out := analyzeFile(t, writeCapture(t, r, c.name), analyzeOptions{outDir: dir, version: -1})
			for _, e := range c.expect {
				if !strings.Contains(out, e) {
					t.Errorf("output lacks %q:\n%s", e, out)
				}
			}
			// spandsp's CNG, our CED and DIS, spandsp's TSI and DCS, its training.
			expectTrace(t, out, []traced{{0.5, "A", "tone CNG"}, {0.7, "B", "tone CED"}, {5.3, "B", "DIS"},
				{7.1, "A", `TSI "spandsp"`}, {7.4, "A", "DCS"}, {8.3, "A", "V."}})
			checkPages(t, dir, pages, out)
		})
	}
}
