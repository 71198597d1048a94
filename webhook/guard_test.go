package webhook

import (
	"context"
	"crypto/tls"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
)

func TestBlockReason(t *testing.T) {
	for _, tt := range []struct {
		addr          string
		allowLoopback bool
		blocked       bool
	}{
		{"8.8.8.8", false, false},
		{"1.1.1.1", true, false},
		{"2606:4700:4700::1111", false, false},
		{"127.0.0.1", false, true},
		{"127.0.0.1", true, false},
		{"127.8.9.10", false, true},
		{"::1", false, true},
		{"::1", true, false},
		{"::ffff:127.0.0.1", false, true}, // IPv4-mapped
		{"0.0.0.0", false, true},
		{"0.0.0.0", true, true},
		{"::", false, true},
		{"10.1.2.3", true, true},
		{"172.16.0.1", true, true},
		{"172.31.255.255", false, true},
		{"172.32.0.1", false, false},
		{"192.168.1.1", true, true},
		{"169.254.169.254", true, true}, // cloud metadata
		{"169.254.1.1", false, true},
		{"fd00:ec2::254", true, true}, // AWS IPv6 metadata
		{"fe80::1", true, true},
		{"fc00::1", false, true},
		{"100.100.100.200", false, true}, // shared address space (Alibaba metadata)
		{"224.0.0.1", false, true},
		{"ff02::1", false, true},
		{"255.255.255.255", false, true},
		{"198.18.0.1", false, true},
		{"64:ff9b::a00:1", false, true},    // NAT64 of 10.0.0.1
		{"64:ff9b::808:808", false, false}, // NAT64 of 8.8.8.8
		{"2002:7f00:1::", false, true},     // 6to4 of 127.0.0.1
		{"2001:0:4136:e378::1", false, true},
	} {
		r := blockReason(netip.MustParseAddr(tt.addr), tt.allowLoopback)
		if (r != "") != tt.blocked {
			t.Errorf("blockReason(%s, loopback=%v) = %q, want blocked=%v", tt.addr, tt.allowLoopback, r, tt.blocked)
		}
	}
}

// redirector answers every request with a redirect to target, counting hits.
func redirector(status int, target string, hits *atomic.Int32) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		http.Redirect(w, r, target, status)
	})
}

func deliverTo(c *http.Client, url string) Attempt {
	d := &Deliverer{Client: c}
	return d.Deliver(context.Background(), Delivery{URL: url, Secret: "k", EventID: "e", Event: EventFaxReceived, Body: []byte(`{}`), Attempt: 1})
}

func TestGuardedClient(t *testing.T) {
	var okHits atomic.Int32
	ok := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { okHits.Add(1) }))
	defer ok.Close()
	tlsOK := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { okHits.Add(1) }))
	defer tlsOK.Close()
	roots := tlsOK.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs

	prod := NewGuardedClient(GuardOptions{TLSConfig: &tls.Config{RootCAs: roots}})
	dev := NewGuardedClient(GuardOptions{AllowLoopback: true, TLSConfig: &tls.Config{RootCAs: roots}})

	var redirHits atomic.Int32
	mk := func(status int, target string) string {
		s := httptest.NewServer(redirector(status, target, &redirHits))
		t.Cleanup(s.Close)
		return s.URL
	}
	localhostURL := strings.Replace(tlsOK.URL, "127.0.0.1", "localhost", 1)

	for _, tt := range []struct {
		name      string
		client    *http.Client
		url       string
		delivered bool
		reason    string // part of the refusal
	}{
		{"dev: plain http to loopback", dev, ok.URL, true, ""},
		{"dev: https to loopback", dev, tlsOK.URL, true, ""},
		{"dev: redirect to loopback", dev, mk(http.StatusTemporaryRedirect, ok.URL), true, ""},
		{"prod: plain http refused", prod, ok.URL, false, "only https"},
		{"prod: plain http to a public address refused before dialling", prod, "http://8.8.8.8/", false, "only https"},
		{"prod: https to loopback refused", prod, tlsOK.URL, false, "loopback"},
		{"prod: name resolving to loopback refused at dial", prod, localhostURL, false, "loopback"},
		{"dev: plain http to private refused", dev, "http://10.0.0.1/hook", false, "loopback only"},
		{"dev: https to private refused", dev, "https://192.168.0.10/hook", false, "private"},
		{"dev: https to metadata refused", dev, "https://169.254.169.254/latest/meta-data/", false, "metadata"},
		{"dev: redirect to metadata refused", dev, mk(http.StatusFound, "http://169.254.169.254/latest/meta-data/"), false, "loopback only"},
		{"dev: https redirect to metadata refused", dev, mk(http.StatusTemporaryRedirect, "https://169.254.169.254/latest/meta-data/"), false, "metadata"},
		{"dev: redirect to private refused", dev, mk(http.StatusPermanentRedirect, "https://10.0.0.1:8443/"), false, "private"},
		{"dev: redirect to IPv6 mapped private refused", dev, mk(http.StatusFound, "https://[::ffff:10.0.0.1]/"), false, "private"},
		{"dev: redirect to non-http scheme refused", dev, mk(http.StatusFound, "ftp://example.com/x"), false, ""},
		{"dev: redirect loop stops", dev, "", false, "redirects"},
		{"bad url", dev, "://nope", false, "bad url"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			url := tt.url
			if url == "" { // a redirect loop on itself
				var s *httptest.Server
				s = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					http.Redirect(w, r, s.URL+"/again", http.StatusFound)
				}))
				defer s.Close()
				url = s.URL
			}
			a := deliverTo(tt.client, url)
			if a.Delivered != tt.delivered {
				t.Fatalf("delivered=%v, want %v: %+v", a.Delivered, tt.delivered, a)
			}
			if !tt.delivered && !strings.Contains(a.Error, tt.reason) {
				t.Fatalf("error %q does not say %q", a.Error, tt.reason)
			}
		})
	}
	if okHits.Load() != 3 {
		t.Errorf("allowed endpoints hit %d times, want 3", okHits.Load())
	}
}

func TestBlockedErrorIs(t *testing.T) {
	c := NewGuardedClient(GuardOptions{})
	_, err := c.Get("https://127.0.0.1:1/")
	if !errors.Is(err, ErrBlocked) {
		t.Fatalf("err = %v, want ErrBlocked", err)
	}
	var b *BlockedError
	if !errors.As(err, &b) || b.Reason != "loopback" {
		t.Fatalf("err = %#v", err)
	}
}
