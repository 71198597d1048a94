package sip

import (
	"bytes"
	"errors"
	"github.com/faxseal/faxseal/t38"
	"os"
	"path/filepath"
	"testing"
)

// FuzzParseSDP checks that any accepted body re-marshals to a fixed point and that the T.38 and
// audio readers never fail on what the parser accepted.
func FuzzParseSDP(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "sdp", "*.sdp"))
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := ParseSDP(b)
		if err != nil {
			if !errors.Is(err, ErrSDP) {
				t.Fatalf("error %v does not wrap ErrSDP", err)
			}
			return
		}
		out := s.Marshal()
		s2, err := ParseSDP(out)
		if err != nil {
			t.Fatalf("marshalled SDP does not parse: %v\n%q", err, out)
		}
		if out2 := s2.Marshal(); !bytes.Equal(out, out2) {
			t.Fatalf("marshal not a fixed point:\n%q\n%q", out, out2)
		}
		for i := range s.Media {
			p := ParseT38(&s.Media[i])
			if p.UDPEC == 0 || (p.RateManagement != t38.TransferredTCF && p.RateManagement != t38.LocalTCF) {
				t.Fatalf("bad T.38 params %+v", p)
			}
			a := t38.Answer(p, t38.Parameters{Version: 0, MaxBitRate: 14400, MaxDatagram: 400, UDPEC: t38.UDPECRedundancy})
			if a.Version > p.Version || (p.MaxBitRate > 0 && a.MaxBitRate > p.MaxBitRate) || a.RateManagement != p.RateManagement {
				t.Fatalf("answer %+v exceeds offer %+v", a, p)
			}
		}
		pickAudio(s, []Codec{CodecPCMU, CodecPCMA})
		pickImage(s)
	})
}
