package sip

import (
	"github.com/faxseal/faxseal/t38"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestLoadExampleConfig(t *testing.T) {
	cfg, err := LoadConfig(filepath.Join("..", "testdata", "trunks", "example.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Listen) != 3 || cfg.Listen[2].Transport != "tls" || cfg.MaxCalls != 500 {
		t.Fatalf("listen/max_calls: %+v", cfg)
	}
	tel := &cfg.Trunks[0]
	if !tel.Register || tel.RegisterExpires != 300*time.Second || tel.CallerID != CallerIDBoth || tel.T38.Reinvite != ReinviteAnswer ||
		tel.T38.OutboundReinviteAfter != 4*time.Second || tel.t38.UDPEC != t38.UDPECRedundancy || !tel.T38Enabled() || !tel.ECMEnabled() {
		t.Fatalf("telnyx trunk: %+v", tel)
	}
	nat := &cfg.Trunks[1]
	if nat.NumberFormat != NumberFormatNational || nat.CallerID != CallerIDPAI || nat.t38.MaxBitRate != 9600 || nat.t38.MaxDatagram != 180 ||
		len(nat.codecs) != 1 || nat.codecs[0] != CodecPCMA || nat.route != "<sip:198.51.100.7:5060;lr>" || nat.ruri.Host != "sip.carrier.example" {
		t.Fatalf("national trunk: %+v", nat)
	}
}

func TestConfigErrors(t *testing.T) {
	cases := map[string]string{
		"unknown key":        "trunks:\n  - name: a\n    address: x:5060\n    passwrd: typo\n",
		"bad transport":      "trunks:\n  - name: a\n    address: x:5060\n    transport: sctp\n",
		"register no creds":  "trunks:\n  - name: a\n    address: x:5060\n    register: true\n",
		"bad cidr":           "trunks:\n  - name: a\n    address: x:5060\n    inbound_cidrs: [300.1.1.1/8]\n",
		"national no cc":     "trunks:\n  - name: a\n    address: x:5060\n    number_format: national\n",
		"bad rate":           "trunks:\n  - name: a\n    address: x:5060\n    t38: {max_bit_rate: 28800}\n",
		"bad ec":             "trunks:\n  - name: a\n    address: x:5060\n    t38: {udp_ec: parity}\n",
		"bad codec":          "trunks:\n  - name: a\n    address: x:5060\n    codecs: [G729]\n",
		"duplicate trunk":    "trunks:\n  - name: a\n    address: x:5060\n  - name: a\n    address: y:5060\n",
		"tls without cert":   "listen:\n  - transport: tls\n    address: 0.0.0.0:5061\n",
		"bad port range":     "media: {port_min: 3000, port_max: 2000}\n",
		"public not ip":      "public_address: gw.example.com\n",
		"short session time": "session_expires: 30s\n",
	}
	for name, y := range cases {
		if _, err := ParseConfig([]byte(y)); err == nil || !strings.HasPrefix(err.Error(), "sip: ") {
			t.Errorf("%s: err %v", name, err)
		}
	}
}

func TestNumberNormalize(t *testing.T) {
	e164 := &Trunk{Name: "e", Address: "x:5060"}
	nat := &Trunk{Name: "n", Address: "x:5060", NumberFormat: NumberFormatNational, CountryCode: "1", NationalPfx: "1", TechPrefix: "12345678*"}
	de := &Trunk{Name: "d", Address: "x:5060", NumberFormat: NumberFormatNational, CountryCode: "49", NationalPfx: "0"}
	for _, tr := range []*Trunk{e164, nat, de} {
		if err := tr.validate(); err != nil {
			t.Fatal(err)
		}
	}
	cases := []struct {
		t        *Trunk
		in, want string
	}{
		{e164, "+15551234567", "+15551234567"},
		{e164, "15551234567", "+15551234567"},
		{e164, "+1 (555) 123-4567", "+15551234567"},
		{e164, "0015551234567", "+15551234567"},
		{nat, "3129457420", "+13129457420"},
		{nat, "13129457420", "+13129457420"},
		{nat, "12345678*+13129457420", "+13129457420"},
		{de, "030123456", "+4930123456"},
		{de, "+4930123456", "+4930123456"},
	}
	for _, c := range cases {
		got, err := c.t.Normalize(c.in)
		if err != nil || got != c.want {
			t.Errorf("%s Normalize(%q) = %q, %v; want %q", c.t.Name, c.in, got, err, c.want)
		}
	}
	for _, bad := range []string{"", "fax", "+", "+1234567890123456", "12a4"} {
		if _, err := e164.Normalize(bad); err == nil {
			t.Errorf("Normalize(%q) accepted", bad)
		}
	}
	formats := []struct {
		t        *Trunk
		in, want string
	}{
		{e164, "+15551234567", "+15551234567"},
		{nat, "+13129457420", "13129457420"},
		{nat, "+4930123456", "+4930123456"},
		{de, "+4930123456", "030123456"},
	}
	for _, c := range formats {
		got, err := c.t.Format(c.in)
		if err != nil || got != c.want {
			t.Errorf("%s Format(%q) = %q, %v; want %q", c.t.Name, c.in, got, err, c.want)
		}
	}
	if _, err := e164.Format("5551234567"); err == nil {
		t.Error("Format accepted a non-E.164 number")
	}
}

func TestFailureReasonTable(t *testing.T) {
	want := map[int]FailureReason{486: ReasonBusy, 600: ReasonBusy, 408: ReasonNoAnswer, 480: ReasonNoAnswer, 487: ReasonNoAnswer,
		404: ReasonFailed, 484: ReasonFailed, 604: ReasonFailed, 403: ReasonFailed, 503: ReasonFailed}
	for code, r := range want {
		if got := Reason(code); got != r {
			t.Errorf("Reason(%d) = %v, want %v", code, got, r)
		}
	}
}
