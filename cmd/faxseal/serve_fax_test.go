package main

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/faxseal/faxseal/sip"
	"github.com/faxseal/faxseal/store"
	"github.com/faxseal/faxseal/store/storetest"
)

func TestSIPConfig(t *testing.T) {
	// No file: listeners on FAXSEAL_SIP_ADDR, no trunks; --dev adds the loopback trunk on our port.
	cfg, err := sipConfig(&config{SIPAddr: "127.0.0.1:5999"})
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Trunks) != 0 || len(cfg.Listen) != 2 || cfg.Listen[0].Address != "127.0.0.1:5999" || cfg.Listen[1].Transport != "tcp" {
		t.Fatalf("plain config %+v", cfg)
	}
	cfg, err = sipConfig(&config{SIPAddr: "0.0.0.0:5998", Dev: true})
	if err != nil {
		t.Fatal(err)
	}
	lb, ok := trunkNamed(cfg, devTrunk)
	if !ok || lb.Address != "127.0.0.1:5998" || !lb.AnyNumber || devTrunk != "loopback" {
		t.Fatalf("dev trunks %+v", cfg.Trunks)
	}
	if _, err := sipConfig(&config{SIPAddr: "127.0.0.1:0", Dev: true}); err == nil {
		t.Fatal("--dev accepted a SIP port chosen by the kernel: the loopback trunk could not point at it")
	}

	// A file with its own listen section keeps it; one without takes FAXSEAL_SIP_ADDR. A file's own
	// loopback trunk wins over the --dev one.
	dir := t.TempDir()
	withListen := filepath.Join(dir, "listen.yaml")
	os.WriteFile(withListen, []byte("listen:\n  - transport: udp\n    address: 127.0.0.1:5070\ntrunks:\n  - name: carrier\n    address: 198.51.100.7:5060\n    inbound_cidrs: [198.51.100.0/28]\n"), 0o600)
	cfg, err = sipConfig(&config{SIPAddr: "127.0.0.1:5999", SIPConfig: withListen})
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Listen) != 1 || cfg.Listen[0].Address != "127.0.0.1:5070" || len(cfg.Trunks) != 1 {
		t.Fatalf("file with listen: %+v", cfg)
	}
	noListen := filepath.Join(dir, "trunks.yaml")
	os.WriteFile(noListen, []byte("trunks:\n  - name: loopback\n    address: 127.0.0.1:6000\n    inbound_cidrs: [127.0.0.1/32]\n"), 0o600)
	cfg, err = sipConfig(&config{SIPAddr: "127.0.0.1:5999", SIPConfig: noListen, Dev: true})
	if err != nil {
		t.Fatal(err)
	}
	if lb, _ := trunkNamed(cfg, devTrunk); len(cfg.Trunks) != 1 || lb.Address != "127.0.0.1:6000" || cfg.Listen[0].Address != "127.0.0.1:5999" {
		t.Fatalf("file without listen: %+v", cfg)
	}
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("trunks:\n  - name: x\n    passwrd: typo\n"), 0o600)
	if _, err := sipConfig(&config{SIPAddr: "127.0.0.1:5999", SIPConfig: bad}); err == nil {
		t.Fatal("a misspelt trunk field was accepted")
	}
}

// Inbound routing through the real store: unknown numbers and other trunks' DIDs are SIP 404, a
// suspended partner's number 480, and a trunk with any_number takes every provisioned number.
func TestRouteInbound(t *testing.T) {
	ctx := context.Background()
	st := storetest.New(t)
	n := &node{store: st, logger: slog.New(slog.DiscardHandler)}
	p, _, err := st.CreatePartner(ctx, store.NewPartner{Name: "Clinic"})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := st.ImportDIDs(ctx, []store.DID{{Number: "+14155550123", Trunk: "carrier"}}); err != nil {
		t.Fatal(err)
	}
	num, err := st.Provision(ctx, p.ID, "user_42", "415", store.TierPersonal)
	if err != nil {
		t.Fatal(err)
	}
	route := routeInbound(n)
	carrier, other, loop := &sip.Trunk{Name: "carrier"}, &sip.Trunk{Name: "other"}, &sip.Trunk{Name: "loopback", AnyNumber: true}
	for _, tc := range []struct {
		trunk  *sip.Trunk
		number string
		want   error
	}{
		{carrier, "+14155550123", nil},
		{loop, "+14155550123", nil},
		{other, "+14155550123", sip.ErrUnknownNumber},
		{carrier, "+14155550999", sip.ErrUnknownNumber},
	} {
		r, err := route(ctx, tc.trunk, tc.number)
		if !errors.Is(err, tc.want) || (err == nil && r.(store.Route).NumberID != num.ID) {
			t.Errorf("%s on %s: %v %v, want %v", tc.number, tc.trunk.Name, r, err, tc.want)
		}
	}
	if err := st.SetSuspended(ctx, p.ID, true); err != nil {
		t.Fatal(err)
	}
	if _, err := route(ctx, carrier, "+14155550123"); !errors.Is(err, sip.ErrSuspended) {
		t.Errorf("suspended partner: %v", err)
	}
}

func TestLoadConfigInbound(t *testing.T) {
	for _, tc := range []struct{ addr, public, want string }{
		{"127.0.0.1:9000", "", "http://127.0.0.1:9000"},
		{":8080", "", "http://127.0.0.1:8080"},
		{"0.0.0.0:8080", "", "http://127.0.0.1:8080"},
		{"127.0.0.1:8080", "https://fax.example.com/", "https://fax.example.com"},
	} {
		t.Setenv("FAXSEAL_HTTP_ADDR", tc.addr)
		t.Setenv("FAXSEAL_PUBLIC_URL", tc.public)
		c, err := loadConfig(newFlagSet("serve"), nil, true)
		if err != nil || c.PublicURL != tc.want {
			t.Errorf("%s %q: %v %v, want %s", tc.addr, tc.public, c, err, tc.want)
		}
	}
	t.Setenv("FAXSEAL_PUBLIC_URL", "")
	t.Setenv("FAXSEAL_RETENTION", "48h")
	t.Setenv("FAXSEAL_CONFIG", "trunks.yaml")
	c, err := loadConfig(newFlagSet("serve"), []string{"--dev", "--config", "other.yaml"}, true)
	if err != nil || c.Retention.Hours() != 48 || !c.AllowLoopback || c.SIPConfig != "other.yaml" {
		t.Fatalf("config %+v %v", c, err)
	}
	for name, bad := range map[string]string{
		"FAXSEAL_PUBLIC_URL": "https://fax.example.com/api", "FAXSEAL_RETENTION": "10m",
		"FAXSEAL_WEBHOOK_ALLOW_LOOPBACK": "maybe",
	} {
		t.Run(name, func(t *testing.T) {
			t.Setenv(name, bad)
			if _, err := loadConfig(newFlagSet("serve"), nil, true); err == nil || !strings.Contains(err.Error(), name) {
				t.Fatalf("%s=%s: %v", name, bad, err)
			}
		})
	}
	t.Setenv("FAXSEAL_PUBLIC_URL", "ftp://fax.example.com")
	if _, err := loadConfig(newFlagSet("serve"), nil, true); err == nil {
		t.Fatal("an ftp public URL was accepted")
	}
}
