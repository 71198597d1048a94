package t38

import (
	"fmt"
	"testing"
)

func attrs(kv ...string) []Attribute {
	var out []Attribute
	for _, s := range kv {
		a := Attribute{Name: s}
		for i := 0; i < len(s); i++ {
			if s[i] == ':' {
				a = Attribute{Name: s[:i], Value: s[i+1:], HasValue: true}
				break
			}
		}
		out = append(out, a)
	}
	return out
}

func TestParseAttributes(t *testing.T) {
	cases := []struct {
		in   []Attribute
		want Parameters
	}{
		// Missing attributes: version 0, no cap, transferredTCF, no EC (reference brief §6.3 SDP-1).
		{nil, Parameters{MaxBitRate: 14400, RateManagement: TransferredTCF, UDPEC: UDPECNone}},
		// Cisco CUBE re-INVITE (§1.8): booleans with :0.
		{attrs("T38FaxVersion:0", "T38MaxBitRate:9600", "T38FaxFillBitRemoval:0", "T38FaxTranscodingMMR:0",
			"T38FaxTranscodingJBIG:0", "T38FaxRateManagement:transferredTCF", "T38FaxMaxBuffer:200",
			"T38FaxMaxDatagram:180", "T38FaxUdpEC:t38UDPRedundancy"),
			Parameters{Version: 0, MaxBitRate: 9600, RateManagement: TransferredTCF, MaxBuffer: 200, MaxDatagram: 180, UDPEC: UDPECRedundancy}},
		// rtpengine #1100 carrier: two EC lines, version 1, valueless booleans, MaxDatagram 512.
		{attrs("T38FaxVersion:1", "T38maxBitRate:14400", "T38FaxTranscodingMMR", "T38FaxTranscodingJBIG",
			"T38FaxRateManagement:localTCF", "T38MaxDatagram:512", "T38FaxUdpEC:t38UDPFEC", "T38FaxUdpEC:t38UDPRedundancy", "ptime:20"),
			Parameters{Version: 1, MaxBitRate: 14400, RateManagement: LocalTCF, MaxDatagram: 512, UDPEC: UDPECRedundancy,
				TranscodingMMR: true, TranscodingJBIG: true}},
		{attrs("t38faxversion:3", "T38FaxMaxRate:7200", "T38FaxFillBitRemoval:1", "T38FaxUdpEC:t38UDPFEC"),
			Parameters{Version: 3, MaxBitRate: 7200, RateManagement: TransferredTCF, UDPEC: UDPECFEC, FillBitRemoval: true}},
	}
	for i, c := range cases {
		got, err := ParseAttributes(c.in)
		if err != nil || got != c.want {
			t.Errorf("case %d: %+v, %v; want %+v", i, got, err, c.want)
		}
	}
	for _, bad := range [][]Attribute{attrs("T38FaxVersion:x"), attrs("T38FaxRateManagement:sometimes"),
		attrs("T38FaxUdpEC:magic"), attrs("T38FaxMaxDatagram:-1")} {
		if _, err := ParseAttributes(bad); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
	if s := (Parameters{Version: 1}).Syntax(); s != Syntax1998 {
		t.Errorf("version 1 syntax %v", s)
	}
	if s := (Parameters{Version: 2}).Syntax(); s != Syntax2002 {
		t.Errorf("version 2 syntax %v", s)
	}
}

func TestAttributesRoundTrip(t *testing.T) {
	p := DefaultParameters()
	got, err := ParseAttributes(p.Attributes())
	if err != nil || got != p {
		t.Errorf("round trip %+v -> %v -> %+v %v", p, p.Attributes(), got, err)
	}
	want := "[{T38FaxVersion 0 true} {T38MaxBitRate 14400 true} {T38FaxRateManagement transferredTCF true} " +
		"{T38FaxMaxBuffer 2000 true} {T38FaxMaxDatagram 400 true} {T38FaxUdpEC t38UDPRedundancy true}]"
	if s := fmt.Sprint(p.Attributes()); s != want {
		t.Errorf("offer %s", s)
	}
}

func TestAnswer(t *testing.T) {
	offer, _ := ParseAttributes(attrs("T38FaxVersion:3", "T38MaxBitRate:9600", "T38FaxFillBitRemoval",
		"T38FaxRateManagement:localTCF", "T38FaxMaxDatagram:176", "T38FaxUdpEC:t38UDPFEC"))
	a := Answer(offer, DefaultParameters())
	want := Parameters{Version: 0, MaxBitRate: 9600, RateManagement: LocalTCF, MaxBuffer: 2000, MaxDatagram: 400, UDPEC: UDPECRedundancy}
	if a != want {
		t.Errorf("answer %+v, want %+v", a, want)
	}
	local := DefaultParameters()
	local.Version = 2
	if a := Answer(offer, local); a.Version != 2 || a.Syntax() != Syntax2002 {
		t.Errorf("min version: %+v", a)
	}
	offer.Version = 1
	if a := Answer(offer, local); a.Version != 0 || a.Syntax() != Syntax1998 {
		t.Errorf("version 1 offer answered %d", a.Version)
	}
	cfg := offer.SenderConfig(3)
	if cfg.MaxDatagram != 176 || cfg.Depth != 3 {
		t.Errorf("sender config %+v", cfg)
	}
	if cfg := (Parameters{UDPEC: UDPECNone, MaxDatagram: 5000}).SenderConfig(3); cfg.Depth != 0 || cfg.MaxDatagram != 400 {
		t.Errorf("no-EC sender config %+v", cfg)
	}
}
