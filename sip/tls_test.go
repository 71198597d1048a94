package sip

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// writeSelfSigned writes a throwaway certificate for 127.0.0.1 and returns the file paths.
func writeSelfSigned(t *testing.T) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "faxseal test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalECPrivateKey(key)
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "c.pem"), filepath.Join(dir, "k.pem")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600)
	return certFile, keyFile
}

// TestTLSListenerAnswersOptions sends an OPTIONS over the TLS listener and expects 200 with Allow.
func TestTLSListenerAnswersOptions(t *testing.T) {
	t.Parallel()
	cert, key := writeSelfSigned(t)
	lo, hi := testMediaRange()
	cfg := &Config{Listen: []Listener{{Transport: "udp", Address: "127.0.0.1:0"}, {Transport: "tls", Address: "127.0.0.1:0", CertFile: cert, KeyFile: key}},
		PublicAddress: "127.0.0.1", Media: MediaConfig{PortMin: lo, PortMax: hi}}
	ep, err := NewEndpoint(cfg, Options{Router: testRouter, Handler: func(*Call, any) {}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := ep.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer ep.Close()
	conn, err := tls.Dial("tcp", ep.Addr("tls"), &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	local := conn.LocalAddr().String()
	msg := "OPTIONS sip:faxseal@" + ep.Addr("tls") + ";transport=tls SIP/2.0\r\n" +
		"Via: SIP/2.0/TLS " + local + ";branch=z9hG4bK-tls-1\r\n" +
		"From: <sip:probe@127.0.0.1>;tag=p1\r\nTo: <sip:faxseal@127.0.0.1>\r\nCall-ID: tls-options-1\r\nCSeq: 1 OPTIONS\r\n" +
		"Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
	if _, err := conn.Write([]byte(msg)); err != nil {
		t.Fatal(err)
	}
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	r := bufio.NewReader(conn)
	status, err := r.ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(status, "SIP/2.0 200") {
		t.Fatalf("status %q", status)
	}
	allow := false
	for {
		line, err := r.ReadString('\n')
		if err != nil || line == "\r\n" {
			break
		}
		allow = allow || strings.HasPrefix(line, "Allow: ") && strings.Contains(line, "INVITE")
	}
	if !allow {
		t.Fatal("no Allow header with INVITE")
	}
}

// TestMalformedRequestsKeepServing throws broken requests at the UDP listener (no CSeq, no tags,
// bad SDP, garbage) and checks it still answers OPTIONS and holds no call or port.
func TestMalformedRequestsKeepServing(t *testing.T) {
	t.Parallel()
	lo, hi := testMediaRange()
	cfg := &Config{Listen: []Listener{{Transport: "udp", Address: "127.0.0.1:0"}}, PublicAddress: "127.0.0.1",
		Media: MediaConfig{PortMin: lo, PortMax: hi}, Trunks: []Trunk{{Name: "t", Address: "127.0.0.1:9", InboundCIDRs: []string{"127.0.0.1/32"}}}}
	ep, err := NewEndpoint(cfg, Options{Router: testRouter, Handler: func(*Call, any) {}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := ep.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer ep.Close()
	conn, err := net.Dial("udp4", ep.Addr("udp"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	via := "Via: SIP/2.0/UDP " + conn.LocalAddr().String() + ";branch=z9hG4bK-"
	req := func(method, branch, extra, body string) string {
		return method + " sip:+15551230001@127.0.0.1 SIP/2.0\r\n" + via + branch + "\r\n" + extra +
			"Max-Forwards: 70\r\nContent-Type: application/sdp\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body
	}
	hdrs := "From: <sip:a@127.0.0.1>;tag=x\r\nTo: <sip:+15551230001@127.0.0.1>\r\nCall-ID: bad-1\r\n"
	for _, m := range []string{
		"\x00\x01garbage\r\n\r\n",
		req("INVITE", "1", hdrs, "v=0\r\n"),                      // no CSeq
		req("INVITE", "2", hdrs+"CSeq: 1 INVITE\r\n", "m=x\r\n"), // no Contact, broken SDP
		req("INVITE", "3", hdrs+"CSeq: 1 INVITE\r\nContact: <sip:a@127.0.0.1>\r\n", "v=0\r\nm=audio 99999 RTP/AVP 0\r\n"),
		req("BYE", "4", hdrs+"CSeq: 2 BYE\r\n", ""),
		req("ACK", "5", "From: <sip:a@127.0.0.1>\r\n", ""),
	} {
		conn.Write([]byte(m))
	}
	conn.Write([]byte(req("OPTIONS", "6", "From: <sip:a@127.0.0.1>;tag=y\r\nTo: <sip:f@127.0.0.1>\r\nCall-ID: ok-1\r\nCSeq: 1 OPTIONS\r\n", "")))
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 4096)
	for {
		n, err := conn.Read(buf)
		if err != nil {
			t.Fatalf("no answer to OPTIONS: %v", err)
		}
		if strings.Contains(string(buf[:n]), "CSeq: 1 OPTIONS") {
			if !strings.HasPrefix(string(buf[:n]), "SIP/2.0 200") {
				t.Fatalf("OPTIONS answered %q", string(buf[:n])[:30])
			}
			break
		}
	}
	if ep.ActiveCalls() != 0 || ep.Ports().InUse() != 0 {
		t.Fatalf("%d calls, %d ports after malformed input", ep.ActiveCalls(), ep.Ports().InUse())
	}
}
