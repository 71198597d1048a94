package sip

import (
	"bytes"
	"errors"
	"github.com/faxseal/faxseal/t38"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func readSDP(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "sdp", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseSDPRoundTrip(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("testdata", "sdp", "*.sdp"))
	if len(files) == 0 {
		t.Fatal("no SDP fixtures")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			b, _ := os.ReadFile(f)
			s, err := ParseSDP(b)
			if err != nil {
				t.Fatal(err)
			}
			out := s.Marshal()
			s2, err := ParseSDP(out)
			if err != nil {
				t.Fatalf("reparse: %v\n%s", err, out)
			}
			if !reflect.DeepEqual(s, s2) {
				t.Fatalf("round trip differs:\n%+v\n%+v", s, s2)
			}
			if !bytes.Equal(out, s2.Marshal()) {
				t.Fatal("marshal not stable")
			}
		})
	}
}

func TestParseT38Forms(t *testing.T) {
	cases := []struct {
		file string
		want t38.Parameters
	}{
		{"t38-reinvite.sdp", t38.Parameters{Version: 0, MaxBitRate: 14400, RateManagement: t38.TransferredTCF, MaxBuffer: 2000, MaxDatagram: 400, UDPEC: t38.UDPECRedundancy}},
		// Cisco writes the booleans as :0 (fax-protocols §1.8); they must read false, not true.
		{"cisco-t38.sdp", t38.Parameters{Version: 0, MaxBitRate: 9600, RateManagement: t38.TransferredTCF, MaxBuffer: 200, MaxDatagram: 180, UDPEC: t38.UDPECRedundancy}},
		// A bare m=image gets the Annex D defaults (MaxDatagram 0: not stated; the sender assumes 400).
		{"bare-image.sdp", t38.Parameters{MaxBitRate: 14400, RateManagement: t38.TransferredTCF, UDPEC: t38.UDPECNone}},
		// Aliases T38FaxMaxRate/T38MaxDatagram, the bare boolean form, FEC, localTCF.
		{"audio0-image.sdp", t38.Parameters{Version: 3, MaxBitRate: 33600, RateManagement: t38.LocalTCF, MaxDatagram: 1440, UDPEC: t38.UDPECFEC, FillBitRemoval: true}},
	}
	for _, c := range cases {
		s, err := ParseSDP(readSDP(t, c.file))
		if err != nil {
			t.Fatal(err)
		}
		img, ok := pickImage(s)
		if !ok {
			t.Fatalf("%s: no image stream", c.file)
		}
		if img.params != c.want {
			t.Errorf("%s: got %+v want %+v", c.file, img.params, c.want)
		}
	}
}

func TestAnswerT38Negotiation(t *testing.T) {
	ours := t38.Parameters{Version: 0, MaxBitRate: 14400, MaxBuffer: 2000, MaxDatagram: 400, UDPEC: t38.UDPECRedundancy}
	offer := t38.Parameters{Version: 3, MaxBitRate: 33600, RateManagement: t38.LocalTCF, MaxDatagram: 1440, UDPEC: t38.UDPECFEC, FillBitRemoval: true}
	ans := t38.Answer(offer, ours)
	want := t38.Parameters{Version: 0, MaxBitRate: 14400, RateManagement: t38.LocalTCF, MaxBuffer: 2000, MaxDatagram: 400, UDPEC: t38.UDPECRedundancy}
	if ans != want {
		t.Fatalf("got %+v want %+v", ans, want)
	}
	// version min(offer, ours) in the other direction too; 1 is answered as 0 (t38.Answer)
	ours.Version = 3
	if got := t38.Answer(t38.Parameters{Version: 2, MaxBitRate: 9600, UDPEC: t38.UDPECNone}, ours); got.Version != 2 || got.MaxBitRate != 9600 || got.UDPEC != t38.UDPECNone || got.RateManagement != t38.TransferredTCF {
		t.Fatalf("got %+v", got)
	}
	// Our written booleans are bare and only when true.
	attrs := t38Attrs(t38.Parameters{FillBitRemoval: true})
	found := false
	for _, a := range attrs {
		if a.Key == "T38FaxFillBitRemoval" {
			found = !a.HasValue
		}
	}
	if !found {
		t.Fatal("bare boolean not written")
	}
}

func TestPickAudio(t *testing.T) {
	s, _ := ParseSDP(readSDP(t, "audio-offer.sdp"))
	a, ok := pickAudio(s, []Codec{CodecPCMA, CodecPCMU})
	if !ok || a.codec != CodecPCMA || a.pt != 8 || a.remote != netip.MustParseAddrPort("198.51.100.10:40000") {
		t.Fatalf("got %+v %v", a, ok)
	}
	s, _ = ParseSDP(readSDP(t, "dynamic-pt.sdp"))
	a, ok = pickAudio(s, []Codec{CodecPCMU, CodecPCMA})
	if !ok || a.codec != CodecPCMA || a.pt != 96 {
		t.Fatalf("dynamic PT: got %+v %v", a, ok)
	}
	s, _ = ParseSDP(readSDP(t, "t38-reinvite.sdp"))
	if _, ok := pickAudio(s, []Codec{CodecPCMU}); ok {
		t.Fatal("audio picked from image-only offer")
	}
}

func TestAnswerMirrorsOfferShape(t *testing.T) {
	offer, _ := ParseSDP(readSDP(t, "audio0-image.sdp"))
	b := newSDPBuilder(7, netip.MustParseAddr("127.0.0.1"))
	img, _ := pickImage(offer)
	body := b.answerShape(offer, img.index, imageMedia(30000, t38.Answer(img.params, t38.Parameters{MaxBitRate: 14400, MaxDatagram: 400, UDPEC: t38.UDPECRedundancy})))
	ans, err := ParseSDP(body)
	if err != nil {
		t.Fatal(err)
	}
	if len(ans.Media) != 2 || ans.Media[0].Type != "audio" || ans.Media[0].Port != 0 || ans.Media[1].Port != 30000 || !isT38(&ans.Media[1]) {
		t.Fatalf("answer shape wrong:\n%s", body)
	}
	// Same content twice keeps the o= version; different content bumps it (RFC 3264 §8).
	v1 := ans.Origin.Version
	again, _ := ParseSDP(b.answerShape(offer, img.index, imageMedia(30000, t38.Answer(img.params, t38.Parameters{MaxBitRate: 14400, MaxDatagram: 400, UDPEC: t38.UDPECRedundancy}))))
	if again.Origin.Version != v1 {
		t.Fatalf("version bumped on identical SDP: %d -> %d", v1, again.Origin.Version)
	}
	changed, _ := ParseSDP(b.offer(audioMedia(30002, CodecPCMU, 0)))
	if changed.Origin.Version != v1+1 {
		t.Fatalf("version not bumped: %d -> %d", v1, changed.Origin.Version)
	}
}

func TestParseSDPErrors(t *testing.T) {
	bad := []string{
		"",
		"v=1\r\n",
		"v=0\r\nm=audio x RTP/AVP 0\r\n",
		"v=0\r\nm=audio 70000 RTP/AVP 0\r\n",
		"v=0\r\nc=IN IP4\r\n",
		"v=0\r\no=- a 1 IN IP4 1.2.3.4\r\n",
		"v=0\r\nnot an sdp line\r\n",
		"v=0\r\nm=audio 1/0 RTP/AVP 0\r\n",
	}
	for _, in := range bad {
		_, err := ParseSDP([]byte(in))
		if err == nil {
			t.Errorf("%q: no error", in)
			continue
		}
		if !errors.Is(err, ErrSDP) {
			t.Errorf("%q: error %v does not wrap ErrSDP", in, err)
		}
	}
}
