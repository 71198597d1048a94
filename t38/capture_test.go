//go:build spandsp

package t38

import (
	"bytes"
	"flag"
	"fmt"
	"math/rand"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"

	"github.com/faxseal/faxseal/g3"
	"github.com/faxseal/faxseal/internal/spandsp"
	"github.com/faxseal/faxseal/t30"
)

var updateCaptures = flag.Bool("update-captures", false, "rewrite testdata/pcaps/faxseal-*.pcap and testdata/t38/*.tif")

// pcapRecorder writes the datagrams one side of a call sees (what it sends, and what reaches it) as an
// Ethernet/IPv4/UDP capture, the way tcpdump on that host would record them.
type pcapRecorder struct {
	buf   bytes.Buffer
	w     *pcapgo.Writer
	start time.Time
}

type hostPort struct {
	ip   net.IP
	port int
}

var (
	ourHost  = hostPort{net.IPv4(192, 0, 2, 10), 40000}
	peerHost = hostPort{net.IPv4(198, 51, 100, 20), 40002}
	ourSIP   = hostPort{net.IPv4(192, 0, 2, 10), 5060}
	peerSIP  = hostPort{net.IPv4(198, 51, 100, 20), 5060}
)

func newRecorder(t *testing.T) *pcapRecorder {
	r := &pcapRecorder{start: time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)}
	r.w = pcapgo.NewWriter(&r.buf)
	if err := r.w.WriteFileHeader(65536, layers.LinkTypeEthernet); err != nil {
		t.Fatal(err)
	}
	return r
}

func (r *pcapRecorder) add(t *testing.T, at time.Duration, src, dst hostPort, payload []byte) {
	eth := &layers.Ethernet{SrcMAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}, DstMAC: net.HardwareAddr{2, 0, 0, 0, 0, 2}, EthernetType: layers.EthernetTypeIPv4}
	ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolUDP, SrcIP: src.ip.To4(), DstIP: dst.ip.To4()}
	udp := &layers.UDP{SrcPort: layers.UDPPort(src.port), DstPort: layers.UDPPort(dst.port)}
	_ = udp.SetNetworkLayerForChecksum(ip)
	sb := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(sb, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, eth, ip, udp, gopacket.Payload(payload)); err != nil {
		t.Fatal(err)
	}
	b := sb.Bytes()
	ci := gopacket.CaptureInfo{Timestamp: r.start.Add(at), CaptureLength: len(b), Length: len(b)}
	if err := r.w.WritePacket(ci, b); err != nil {
		t.Fatal(err)
	}
}

// sdp is the image/t38 SDP of one side (RFC 4612 attributes from Parameters.Attributes).
func sdp(host hostPort, p Parameters) string {
	s := fmt.Sprintf("v=0\r\no=- 1 1 IN IP4 %v\r\ns=-\r\nc=IN IP4 %v\r\nt=0 0\r\nm=image %d udptl t38\r\n", host.ip, host.ip, host.port)
	for _, a := range p.Attributes() {
		if a.HasValue {
			s += "a=" + a.Name + ":" + a.Value + "\r\n"
		} else {
			s += "a=" + a.Name + "\r\n"
		}
	}
	return s
}

func sipMessage(start string, cseq string, body string) []byte {
	return []byte(fmt.Sprintf("%s\r\nVia: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK-1\r\nCall-ID: capture-1\r\nCSeq: %s\r\n"+
		"Content-Type: application/sdp\r\nContent-Length: %d\r\n\r\n%s", start, cseq, len(body), body))
}

type captureCase struct {
	file    string
	weSend  bool
	version int
	ecm     bool
	comp    t30.Compression
	spComp  int
	pages   int
	imp     impairment
	seed    int64
	// imageDepth -1 leaves image data without redundancy, so ECM frames are lost and PPR'd.
	imageDepth int
}

// TestWriteCaptures records one call in each direction against spandsp as the FaxSeal host would
// capture it (SIP with T.38 SDP, then UDPTL), for the `faxseal analyze` tests. With -update-captures
// the files go to testdata; otherwise to a temporary directory, checking only that they can be made.
func TestWriteCaptures(t *testing.T) {
	cases := []captureCase{
		{file: "faxseal-to-spandsp_t38v0_ecm_mmr_loss5", weSend: true, version: 0, ecm: true, comp: t30.MMR, pages: 2,
			imp: impairment{loss: 0.05, delay: 20 * time.Millisecond}, seed: 7},
		{file: "spandsp-to-faxseal_t38v2_mh_noecm", version: 2, comp: t30.MH, spComp: spandsp.CompressMH, pages: 2,
			imp: impairment{delay: 20 * time.Millisecond}, seed: 8},
		{file: "spandsp-to-faxseal_t38v0_ecm_ppr", version: 0, ecm: true, comp: t30.MMR, pages: 2, imageDepth: -1,
			imp: impairment{loss: 0.04, delay: 20 * time.Millisecond}, seed: 9},
	}
	pcapDir, tifDir := t.TempDir(), t.TempDir()
	if *updateCaptures {
		pcapDir, tifDir = "../testdata/pcaps", "../testdata/t38"
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			ic := interopCase{pages: c.pages, rows: 500, ecm: c.ecm, comp: c.comp, spandspComp: c.spComp, version: c.version, depth: 3,
				imageDepth: c.imageDepth, seed: c.seed}
			doc := interopDoc(ic)
			var us *ourNode
			var peer *spandspNode
			cfg := ic.spandspCfg()
			if c.weSend {
				cfg.RxFile = filepath.Join(t.TempDir(), "rx.tif")
				peer = newSpandspNode(t, cfg, ic.peerSender())
				us = newOurNode(t, ic.ours(t30.Send, doc))
			} else {
				in := filepath.Join(t.TempDir(), "tx.tif")
				if err := spandsp.WriteTIFF(in, toBitmaps(doc.pages), spandsp.TIFFG4); err != nil {
					t.Fatal(err)
				}
				cfg.Calling, cfg.TxFile = true, in
				peer = newSpandspNode(t, cfg, ic.peerSender())
				us = newOurNode(t, ic.ours(t30.Receive, nil))
			}
			rec := newRecorder(t)
			// Signalling as the caller's INVITE and the callee's 200 OK would carry it (T.38 Annex D).
			local := DefaultParameters()
			local.Version = c.version
			caller, callee := ourSIP, peerSIP
			callerMedia, calleeMedia := ourHost, peerHost
			if !c.weSend {
				caller, callee, callerMedia, calleeMedia = peerSIP, ourSIP, peerHost, ourHost
			}
			rec.add(t, 0, caller, callee, sipMessage("INVITE sip:fax@"+callee.ip.String()+" SIP/2.0", "1 INVITE", sdp(callerMedia, local)))
			rec.add(t, time.Millisecond, callee, caller, sipMessage("SIP/2.0 200 OK", "1 INVITE", sdp(calleeMedia, Answer(local, local))))
			const offset = 10 * time.Millisecond
			ch := &channel{rng: rand.New(rand.NewSource(c.seed)), imp: [2]impairment{c.imp, c.imp}}
			var nodes [2]node
			ours := 0
			if c.weSend {
				nodes = [2]node{us, peer}
			} else {
				nodes = [2]node{peer, us}
				ours = 1
			}
			ch.capture = func(at time.Duration, from int, data []byte) {
				if from == ours {
					rec.add(t, offset+at, ourHost, peerHost, data)
				}
			}
			ch.delivered = func(at time.Duration, to int, data []byte) {
				if to == ours {
					rec.add(t, offset+at, peerHost, ourHost, data)
				}
			}
			ch.run(t, nodes, 10*time.Minute)
			if res := us.sess.Result(); res.Code != t30.OK {
				t.Fatalf("session %v %s", res.Code, res.Detail)
			}
			if err := os.WriteFile(filepath.Join(pcapDir, c.file+".pcap"), rec.buf.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			coded, err := g3.EncodePages(doc.pages, g3.Options{Compression: g3.MMR, Order: g3.MSBFirst})
			if err != nil {
				t.Fatal(err)
			}
			var tif bytes.Buffer
			if err := g3.WriteTIFF(&tif, coded); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(tifDir, c.file+".sent.tif"), tif.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			dgs := udpPayloads(t, filepath.Join(pcapDir, c.file+".pcap"))
			if len(dgs) < 100 {
				t.Errorf("capture has only %d datagrams", len(dgs))
			}
		})
	}
}
