package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"

	"github.com/faxseal/faxseal/g3"
	"github.com/faxseal/faxseal/t30"
	"github.com/faxseal/faxseal/t38"
)

func init() {
	commands["analyze"] = command{summary: "decode a captured fax call (T.38 UDPTL or G.711 RTP): T.30 trace, parameters, pages", run: runAnalyze}
}

func runAnalyze(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("analyze", flag.ContinueOnError)
	out := fs.String("out", "", "directory for the received pages (TIFF and PDF)")
	port := fs.Int("port", 0, "UDPTL or RTP port, when the capture has no SDP (RTP is told from UDPTL by content)")
	version := fs.Int("version", -1, "T38FaxVersion to decode with (default: from SDP, else 0)")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: faxseal analyze CAPTURE.pcap --out DIR [--port N] [--version V]")
		fs.PrintDefaults()
	}
	// Accept the capture before or after the flags.
	var files []string
	for len(args) > 0 {
		if err := fs.Parse(args); err != nil {
			return err
		}
		if fs.NArg() == 0 {
			break
		}
		files = append(files, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if len(files) != 1 || *out == "" {
		fs.Usage()
		return flag.ErrHelp
	}
	c, err := readCapture(files[0])
	if err != nil {
		return err
	}
	return analyze(c, analyzeOptions{outDir: *out, port: *port, version: *version}, os.Stdout)
}

type analyzeOptions struct {
	outDir  string
	port    int
	version int // -1: from SDP
}

// udpPacket is one UDP datagram of the capture.
type udpPacket struct {
	at       time.Duration // since the first packet
	src, dst netip.AddrPort
	payload  []byte
}

// capture is a pcap file reduced to its UDP datagrams.
type capture struct {
	name      string
	packets   int
	truncated bool
	udp       []udpPacket
}

func readCapture(path string) (*capture, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return parseCapture(filepath.Base(path), data)
}

type packetSource interface {
	ReadPacketData() ([]byte, gopacket.CaptureInfo, error)
}

func parseCapture(name string, data []byte) (*capture, error) {
	var src packetSource
	var lt layers.LinkType
	if len(data) >= 4 && bytes.Equal(data[:4], []byte{0x0A, 0x0D, 0x0D, 0x0A}) {
		r, err := pcapgo.NewNgReader(bytes.NewReader(data), pcapgo.DefaultNgReaderOptions)
		if err != nil {
			return nil, fmt.Errorf("analyze: %s: %w", name, err)
		}
		src, lt = r, r.LinkType()
	} else {
		r, err := pcapgo.NewReader(bytes.NewReader(data))
		if err != nil {
			return nil, fmt.Errorf("analyze: %s: %w", name, err)
		}
		// A hostile header may claim a 4 GB snap length, and pcapgo allocates what a record claims:
		// no record can be longer than the file.
		if int(r.Snaplen()) > len(data) {
			r.SetSnaplen(uint32(len(data)))
		}
		src, lt = r, r.LinkType()
	}
	c := &capture{name: name}
	var t0 time.Time
	for {
		b, ci, err := src.ReadPacketData()
		if errors.Is(err, io.EOF) {
			break
		}
		if errors.Is(err, io.ErrUnexpectedEOF) {
			c.truncated = true // a capture cut short (tcpdump killed): keep what was read
			break
		}
		if err != nil {
			return nil, fmt.Errorf("analyze: %s: packet %d: %w", name, c.packets+1, err)
		}
		c.packets++
		if t0.IsZero() {
			t0 = ci.Timestamp
		}
		pkt := gopacket.NewPacket(b, lt, gopacket.DecodeOptions{Lazy: true, NoCopy: true})
		var srcIP, dstIP netip.Addr
		if ip4, ok := pkt.Layer(layers.LayerTypeIPv4).(*layers.IPv4); ok {
			srcIP, _ = netip.AddrFromSlice(ip4.SrcIP.To4())
			dstIP, _ = netip.AddrFromSlice(ip4.DstIP.To4())
		} else if ip6, ok := pkt.Layer(layers.LayerTypeIPv6).(*layers.IPv6); ok {
			srcIP, _ = netip.AddrFromSlice(ip6.SrcIP)
			dstIP, _ = netip.AddrFromSlice(ip6.DstIP)
		} else {
			continue
		}
		udp, ok := pkt.Layer(layers.LayerTypeUDP).(*layers.UDP)
		if !ok {
			continue
		}
		c.udp = append(c.udp, udpPacket{at: ci.Timestamp.Sub(t0),
			src: netip.AddrPortFrom(srcIP, uint16(udp.SrcPort)), dst: netip.AddrPortFrom(dstIP, uint16(udp.DstPort)),
			payload: append([]byte(nil), udp.Payload...)})
	}
	return c, nil
}

// sipMessage is the part of a SIP message analyze reports.
type sipMessage struct {
	at        time.Duration
	src, dst  netip.AddrPort
	startLine string
	cseq      string
	media     []sdpMedia
}

// sdpMedia is one m= section of an SDP body.
type sdpMedia struct {
	kind, proto string // "image", "udptl"; "audio", "RTP/AVP"
	addr        netip.AddrPort
	attrs       []t38.Attribute
}

func isSIP(b []byte) bool {
	for _, m := range []string{"SIP/2.0 ", "INVITE ", "ACK ", "BYE ", "CANCEL ", "OPTIONS ", "UPDATE ", "PRACK ", "INFO "} {
		if bytes.HasPrefix(b, []byte(m)) {
			return true
		}
	}
	return false
}

func parseSIP(p udpPacket) sipMessage {
	m := sipMessage{at: p.at, src: p.src, dst: p.dst}
	head, body, _ := bytes.Cut(p.payload, []byte("\r\n\r\n"))
	lines := strings.Split(string(head), "\r\n")
	m.startLine = lines[0]
	for _, l := range lines[1:] {
		k, v, ok := strings.Cut(l, ":")
		if ok && strings.EqualFold(strings.TrimSpace(k), "CSeq") {
			m.cseq = strings.TrimSpace(v)
		}
	}
	m.media = parseSDP(body)
	return m
}

// parseSDP extracts the media sections (RFC 4566) with their connection address.
func parseSDP(body []byte) []sdpMedia {
	var media []sdpMedia
	var session netip.Addr
	sc := bufio.NewScanner(bytes.NewReader(body))
	for sc.Scan() {
		l := strings.TrimRight(sc.Text(), "\r")
		if len(l) < 2 || l[1] != '=' {
			continue
		}
		v := l[2:]
		switch l[0] {
		case 'c':
			f := strings.Fields(v)
			if len(f) == 3 {
				if a, err := netip.ParseAddr(f[2]); err == nil {
					if len(media) == 0 {
						session = a
					} else {
						media[len(media)-1].addr = netip.AddrPortFrom(a, media[len(media)-1].addr.Port())
					}
				}
			}
		case 'm':
			f := strings.Fields(v)
			if len(f) < 3 {
				continue
			}
			port, _ := strconv.Atoi(f[1])
			media = append(media, sdpMedia{kind: f[0], proto: f[2], addr: netip.AddrPortFrom(session, uint16(port))})
		case 'a':
			if len(media) == 0 {
				continue
			}
			name, val, has := strings.Cut(v, ":")
			media[len(media)-1].attrs = append(media[len(media)-1].attrs, t38.Attribute{Name: name, Value: val, HasValue: has})
		}
	}
	return media
}

// t38Offer is a T.38 image media line seen in SDP.
type t38Offer struct {
	msg    sipMessage
	media  sdpMedia
	params t38.Parameters
	err    error
}

func analyze(c *capture, o analyzeOptions, w io.Writer) error {
	fmt.Fprintf(w, "capture %s: %d packets, %d UDP\n", c.name, c.packets, len(c.udp))
	if c.truncated {
		fmt.Fprintln(w, "  (the last packet is truncated)")
	}
	var sips []sipMessage
	var offers []t38Offer
	audio := map[netip.AddrPort]bool{}
	laws := staticLaws()
	for _, p := range c.udp {
		if !isSIP(p.payload) {
			continue
		}
		m := parseSIP(p)
		sips = append(sips, m)
		for _, md := range m.media {
			switch {
			case md.kind == "image" && strings.EqualFold(md.proto, "udptl"):
				prm, err := t38.ParseAttributes(md.attrs)
				offers = append(offers, t38Offer{msg: m, media: md, params: prm, err: err})
			case md.kind == "audio" && md.addr.Port() != 0:
				audio[md.addr] = true
				for _, a := range md.attrs {
					if strings.EqualFold(a.Name, "rtpmap") {
						laws.addRTPMap(a.Value)
					}
				}
			}
		}
	}
	if len(sips) > 0 {
		fmt.Fprintln(w, "\nSIP:")
		for _, m := range sips {
			desc := m.startLine
			for _, md := range m.media {
				desc += fmt.Sprintf(" [m=%s %d %s]", md.kind, md.addr.Port(), md.proto)
			}
			fmt.Fprintf(w, "  %8.3fs %v -> %v  %s (CSeq %s)\n", m.at.Seconds(), m.src, m.dst, desc, m.cseq)
		}
	}
	// T.38 parameters: the last offer and answer with a non-zero image port.
	endpoints := map[netip.AddrPort]bool{}
	version, known := 0, false
	if len(offers) > 0 {
		fmt.Fprintln(w, "\nT.38 in SDP:")
		versions := []int{}
		for _, of := range offers {
			role := "offer"
			if strings.HasPrefix(of.msg.startLine, "SIP/2.0") {
				role = "answer (" + strings.TrimPrefix(of.msg.startLine, "SIP/2.0 ") + ")"
			}
			if of.err != nil {
				fmt.Fprintf(w, "  %s from %v: unparsable T38 attributes: %v\n", role, of.msg.src, of.err)
				continue
			}
			p := of.params
			fmt.Fprintf(w, "  %s from %v: image %v version %d (IFP %v syntax), max %d bit/s, %v, max buffer %d, max datagram %d, EC %v\n",
				role, of.msg.src, of.media.addr, p.Version, p.Syntax(), p.MaxBitRate, p.RateManagement, p.MaxBuffer, p.MaxDatagram, p.UDPEC)
			if of.media.addr.Port() != 0 {
				endpoints[of.media.addr] = true
				versions = append(versions, p.Version)
			}
		}
		if len(versions) > 0 {
			known = true
			version = versions[0]
			for _, v := range versions {
				version = min(version, v) // answer = min(offer, answerer's)
			}
		}
		for _, of := range offers {
			if strings.HasPrefix(of.msg.startLine, "SIP/2.0") {
				continue
			}
			if r := responseTo(sips, of.msg); r != "" {
				fmt.Fprintf(w, "  %s (CSeq %s) answered: %s\n", strings.Fields(of.msg.startLine)[0], of.msg.cseq, r)
			}
		}
		if !answered(offers) {
			fmt.Fprintln(w, "  T.38 was offered but never accepted with 2xx: no T.38 media expected")
		}
	}
	if o.version >= 0 {
		version, known = o.version, true
	}

	// Group the media datagrams by flow. A flow that carries G.711 RTP is audio even on the --port
	// (a capture without SDP may hold either).
	byFlow := map[flowKey][]udpPacket{}
	var flowOrder []flowKey
	for _, p := range c.udp {
		if isSIP(p.payload) {
			continue
		}
		k := flowKey{p.src, p.dst}
		if _, ok := byFlow[k]; !ok {
			flowOrder = append(flowOrder, k)
		}
		byFlow[k] = append(byFlow[k], p)
	}
	isRTP := map[flowKey]bool{}
	for _, k := range flowOrder {
		isRTP[k] = looksG711(byFlow[k], laws)
	}
	// UDPTL datagrams: to or from an SDP image endpoint, or the --port.
	isUDPTL := func(p udpPacket) bool {
		if o.port != 0 {
			return int(p.src.Port()) == o.port || int(p.dst.Port()) == o.port
		}
		return endpoints[p.dst] || endpoints[p.src] || endpointPort(endpoints, p.dst) || endpointPort(endpoints, p.src)
	}
	// RTP: to or from an SDP audio endpoint, or the --port; without either, every G.711 flow.
	isAudio := func(k flowKey) bool {
		switch {
		case o.port != 0:
			return int(k.src.Port()) == o.port || int(k.dst.Port()) == o.port
		case len(audio) > 0:
			return audio[k.dst] || audio[k.src] || endpointPort(audio, k.dst) || endpointPort(audio, k.src)
		}
		return true
	}
	flows := map[flowKey][]udpPacket{}
	var order, audioOrder []flowKey
	for _, k := range flowOrder {
		switch {
		case isRTP[k] && isAudio(k):
			audioOrder = append(audioOrder, k)
		case !isRTP[k]:
			for _, p := range byFlow[k] {
				if isUDPTL(p) {
					if _, ok := flows[k]; !ok {
						order = append(order, k)
					}
					flows[k] = append(flows[k], p)
				}
			}
		}
	}
	how := "on the SDP audio ports"
	if o.port != 0 {
		how = fmt.Sprintf("on port %d", o.port)
	} else if len(audio) == 0 {
		how = "found by content (no SDP audio in the capture)"
	} else if len(audioOrder) == 0 {
		// The SDP named other ports than the media used (NAT, a media relay): take the G.711 flows
		// there are rather than none.
		for _, k := range flowOrder {
			if isRTP[k] {
				audioOrder = append(audioOrder, k)
			}
		}
		how = "found by content (none on the SDP audio ports)"
	}
	streams := rtpStreams(byFlow, audioOrder, laws)
	if len(streams) > 0 {
		n := 0
		for _, s := range streams {
			n += len(s.pkts) + s.duplicates + s.other
		}
		fmt.Fprintf(w, "\naudio: %d RTP packets in %d G.711 streams %s\n", n, len(streams), how)
	}
	if len(flows) == 0 {
		fmt.Fprintln(w, "\nno T.38 UDPTL media in the capture (use --port if the capture has no SDP)")
		if len(streams) == 0 {
			return nil
		}
	}
	m := media{flows: flows, order: order, streams: streams}
	if !known && len(flows) > 0 {
		// No SDP and no --version: most IFPs decode in both syntaxes, wrongly in one (reference brief
		// §1.1), so decode with each and keep the one that makes a fax of it.
		s98, _ := analyzeMedia(m, t38.Syntax1998, 0, analyzeOptions{}, io.Discard)
		s02, _ := analyzeMedia(m, t38.Syntax2002, 2, analyzeOptions{}, io.Discard)
		if s02 > s98 {
			version = 2
		}
		fmt.Fprintf(w, "\nno T38FaxVersion in the capture: decoding as version %d (%v syntax), which explains more of it\n",
			version, t38.SyntaxForVersion(version))
	}
	_, err := analyzeMedia(m, t38.SyntaxForVersion(version), version, o, w)
	return err
}

// media is what analyze decodes: UDPTL flows and G.711 RTP streams.
type media struct {
	flows   map[flowKey][]udpPacket
	order   []flowKey
	streams []*rtpStream
}

// responseTo returns the final response status line to request m (same CSeq, later in the capture).
func responseTo(sips []sipMessage, m sipMessage) string {
	for _, r := range sips {
		if r.at >= m.at && r.cseq == m.cseq && strings.HasPrefix(r.startLine, "SIP/2.0 ") &&
			!strings.HasPrefix(r.startLine, "SIP/2.0 1") {
			return strings.TrimPrefix(r.startLine, "SIP/2.0 ")
		}
	}
	return ""
}

// answered reports whether a 2xx answer accepted T.38 (a non-zero image port).
func answered(offers []t38Offer) bool {
	for _, of := range offers {
		if strings.HasPrefix(of.msg.startLine, "SIP/2.0 2") && of.media.addr.Port() != 0 {
			return true
		}
	}
	return false
}

// endpointPort matches an SDP endpoint whose address is unknown or differs (NAT): port only.
func endpointPort(eps map[netip.AddrPort]bool, a netip.AddrPort) bool {
	for e := range eps {
		if e.Port() == a.Port() && (!e.Addr().IsValid() || e.Addr().IsUnspecified()) {
			return true
		}
	}
	return false
}

type flowKey struct{ src, dst netip.AddrPort }

func (k flowKey) String() string { return fmt.Sprintf("%v -> %v", k.src, k.dst) }

// direction is one way of the exchange: a UDPTL flow, decoded with the same receive path a live call
// uses (UDPTL receiver with redundancy/FEC repair, T.38 terminal receive tolerances), or a G.711 RTP
// stream, demodulated by an audio monitor (analyze_audio.go).
type direction struct {
	key   flowKey
	name  string
	recv  t38.Receiver
	term  *t38.Terminal // nil for audio
	audio *audioDir     // nil for UDPTL
	first time.Duration
}

// observer follows the T.30 procedure from both sides to know which modem to listen for and where
// page data begins and ends (T.30 §5: DCS, TCF, CFR, page, post-page command, response).
type observer struct {
	w        io.Writer
	dirs     []*direction
	sender   int // direction that sent DCS, -1 before
	dcs      t30.Settings
	haveDCS  bool
	dis      t30.Capabilities
	disFrom  int  // direction that sent the last DIS, -1 before
	tcf      bool // the sender's next fast burst is TCF
	tcfBytes int
	tcfZeros int // TCF is all zeros (T.30 §5.3.6.2.1): the others are bit errors
	page     []byte
	block    map[int][]byte
	// blockFrames is the size of the ECM block being received.
	blockFrames int
	pending     *pending
	pages       []pageRec
	lines       int
	goodFrames  int
}

type pending struct {
	fcf t30.FCF
	pps *t30.PPS
}

type pageRec struct {
	data     []byte
	format   t30.Settings
	accepted bool
	response t30.FCF
}

// analyzeMedia decodes the UDPTL flows and the G.711 streams in capture order, prints what it finds
// to w and writes the pages to o.outDir (if set). The score counts what was understood (good control
// frames, confirmed pages weighted), for choosing a syntax when the capture does not say.
func analyzeMedia(m media, syntax t38.Syntax, version int, o analyzeOptions, w io.Writer) (score int, err error) {
	ob := &observer{w: w, sender: -1, disFrom: -1, block: map[int][]byte{}}
	for _, k := range m.order {
		term, err := t38.NewTerminal(t38.TerminalConfig{Syntax: syntax, MaxDatagram: 1400})
		if err != nil {
			return 0, err
		}
		term.Receive(t30.RxMode{Kind: t30.RxV21, Modulation: t30.V21, BitRate: 300})
		ob.dirs = append(ob.dirs, &direction{key: k, term: term, first: m.flows[k][0].at})
	}
	for _, s := range m.streams {
		ob.dirs = append(ob.dirs, &direction{key: s.key, audio: newAudioDir(s), first: s.start})
	}
	// Directions are named in the order they start, whatever carries them.
	sort.SliceStable(ob.dirs, func(i, j int) bool { return ob.dirs[i].first < ob.dirs[j].first })
	type item struct {
		at  time.Duration
		dir int
		p   udpPacket // UDPTL
		pkt int       // index of the RTP packet, -1 for the end of the stream
	}
	var all []item
	var end time.Duration
	for i, d := range ob.dirs {
		d.name = dirName(i)
		if d.audio != nil {
			s := d.audio.s
			for j := range s.pkts {
				all = append(all, item{at: s.start + samplesDur(s.off[j]), dir: i, pkt: j})
			}
			// The end of a stream (a switch to T.38, a hang-up) ends its carriers at that point of
			// the trace, not at the end of the capture.
			all = append(all, item{at: s.end(), dir: i, pkt: -1})
			end = max(end, s.end())
			continue
		}
		for _, p := range m.flows[d.key] {
			all = append(all, item{at: p.at, dir: i, p: p})
			end = max(end, p.at)
		}
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].at < all[j].at })
	if len(m.streams) > 0 {
		printAudio(w, ob.dirs)
	}
	if len(m.order) > 0 {
		fmt.Fprintf(w, "\nT.38 UDPTL (IFP %v syntax, T38FaxVersion %d):\n", syntax, version)
		for _, d := range ob.dirs {
			if d.term != nil {
				fmt.Fprintf(w, "  %s: %v, %d datagrams\n", d.name, d.key, len(m.flows[d.key]))
			}
		}
	}
	fmt.Fprintln(w, "\nT.30 frame trace:")
	for _, it := range all {
		d := ob.dirs[it.dir]
		if d.audio != nil {
			if it.pkt < 0 {
				ob.flushAudio(it.dir)
			} else {
				ob.feedAudio(it.dir, it.pkt)
			}
			continue
		}
		dl, err := d.recv.Receive(it.p.payload)
		if err != nil {
			continue // counted in the receiver stats (stale RTP, garbage)
		}
		for _, x := range dl {
			if x.IFP == nil {
				d.term.Lost(x.Lost)
				continue
			}
			_ = d.term.Input(it.p.at, x.IFP)
			ob.events(it.p.at, it.dir)
		}
	}
	for i, d := range ob.dirs {
		if d.audio != nil {
			continue
		}
		d.term.Advance(end + 16*time.Second) // flush a carrier left open
		ob.events(end, i)
	}
	if ob.lines == 0 {
		fmt.Fprintln(w, "  (no T.30 frames decoded)")
	}
	if len(m.order) > 0 {
		fmt.Fprintln(w, "\nUDPTL receive statistics:")
		for _, d := range ob.dirs {
			if d.term == nil {
				continue
			}
			s := d.recv.Stats
			fmt.Fprintf(w, "  %s: %d packets, %d duplicates, %d late, %d recovered, %d lost, %d restarts, %d not UDPTL, %d bad IFPs\n",
				d.name, s.Packets, s.Duplicates, s.Late, s.Recovered, s.Lost, s.Restarts, s.Invalid, d.term.InvalidIFPs)
		}
	}
	if len(m.streams) > 0 {
		printFillin(w, ob.dirs)
	}
	if ob.disFrom >= 0 {
		fmt.Fprintf(w, "\nOffered (DIS from %s): %v\n", ob.dirs[ob.disFrom].name, ob.dis)
	}
	if ob.haveDCS {
		fmt.Fprintf(w, "\nNegotiated: %v %d bit/s, %v, %v, width %d, ECM %v (sender %s)\n", ob.dcs.Modulation, ob.dcs.BitRate,
			ob.dcs.Resolution, ob.dcs.Compression, ob.dcs.Width, ob.dcs.ECM, ob.dirs[ob.sender].name)
	}
	score = ob.goodFrames
	for _, p := range ob.pages {
		if p.accepted {
			score += 100
		}
	}
	if o.outDir == "" {
		return score, nil
	}
	return score, ob.writePages(o.outDir)
}

// dirName names direction i: A, B, ... Z, then A1, B1, ...
func dirName(i int) string {
	if i < 26 {
		return string(rune('A' + i))
	}
	return string(rune('A'+i%26)) + strconv.Itoa(i/26)
}

func (ob *observer) events(at time.Duration, di int) {
	d := ob.dirs[di]
	for {
		evs := d.term.TakeEvents()
		if len(evs) == 0 {
			return
		}
		for _, ev := range evs {
			ob.event(at, di, ev)
		}
	}
}

func (ob *observer) trace(at time.Duration, di int, s string) {
	ob.lines++
	fmt.Fprintf(ob.w, "  %8.3fs %s %s\n", at.Seconds(), ob.dirs[di].name, s)
}

func (ob *observer) event(at time.Duration, di int, ev t30.Event) {
	switch ev.Kind {
	case t30.EventHDLC:
		f, err := t30.ParseFrame(ev.Frame)
		if ev.Modulation != t30.V21 {
			// ECM phase C (T.4 Annex A): keep good FCD frames by frame number.
			if err == nil && ev.FCSOK && f.FCF == t30.FCFFCD && len(f.FIF) >= 1 && di == ob.sender {
				ob.block[int(f.FIF[0])] = append([]byte(nil), f.FIF[1:]...)
			}
			return
		}
		if err != nil {
			ob.trace(at, di, fmt.Sprintf("V.21 % X (%v)", ev.Frame, err))
			return
		}
		desc := t30.Describe(f)
		if !ev.FCSOK {
			ob.trace(at, di, desc+" [bad FCS or lost packets]")
			return
		}
		ob.trace(at, di, desc)
		if f.FCF.Known() {
			ob.goodFrames++
		}
		ob.frame(at, di, f)
	case t30.EventData:
		if di != ob.sender {
			return
		}
		if ob.tcf {
			ob.tcfBytes += len(ev.Data)
			for _, b := range ev.Data {
				if b == 0 {
					ob.tcfZeros++
				}
			}
		} else {
			ob.page = append(ob.page, ev.Data...)
		}
	case t30.EventCarrierDown:
		if di == ob.sender && ob.tcf && ev.Modulation != t30.V21 {
			ob.tcf = false
			ob.trace(at, di, fmt.Sprintf("TCF %d octets at %d bit/s (%.2f s, %d zero)", ob.tcfBytes, ev.BitRate,
				float64(ob.tcfBytes*8)/float64(max(ev.BitRate, 1)), ob.tcfZeros))
		}
	case t30.EventTone:
		ob.trace(at, di, "tone "+ev.Tone.String())
	}
}

func (ob *observer) frame(at time.Duration, di int, f t30.Frame) {
	switch f.FCF {
	case t30.FCFDCS:
		s, err := t30.ParseDCS(f.FIF)
		if err != nil {
			return
		}
		ob.sender, ob.dcs, ob.haveDCS, ob.tcf, ob.tcfBytes, ob.tcfZeros = di, s, true, true, 0, 0
		// An audio monitor steers its own receivers from the DCS it decodes.
		if t := ob.dirs[di].term; t != nil {
			t.Receive(t30.RxMode{Kind: t30.RxData, Modulation: s.Modulation, BitRate: s.BitRate})
		}
	case t30.FCFDIS, t30.FCFDTC:
		if c, err := t30.ParseDIS(f.FIF); err == nil {
			ob.dis, ob.disFrom = c, di
		}
	case t30.FCFCFR:
		if ob.haveDCS && di != ob.sender {
			kind := t30.RxData
			if ob.dcs.ECM {
				kind = t30.RxHDLC
			}
			ob.tcf = false
			if t := ob.dirs[ob.sender].term; t != nil {
				t.Receive(t30.RxMode{Kind: kind, Modulation: ob.dcs.Modulation, BitRate: ob.dcs.BitRate, ShortTrain: true})
			}
		}
	case t30.FCFMPS, t30.FCFEOP, t30.FCFEOM, t30.FCFPRIMPS, t30.FCFPRIEOP, t30.FCFPRIEOM:
		if di == ob.sender {
			ob.pending = &pending{fcf: f.FCF}
		}
	case t30.FCFPPS:
		if di == ob.sender {
			if pps, err := t30.ParsePPS(f.FIF); err == nil {
				ob.pending = &pending{fcf: f.FCF, pps: &pps}
				// After a PPR the sender's PPS counts the frames it resent (spandsp does), not the
				// block: the block is as large as the largest count seen for it.
				ob.blockFrames = max(ob.blockFrames, pps.Frames)
			}
		}
	case t30.FCFMCF, t30.FCFRTP, t30.FCFPIP, t30.FCFRTN, t30.FCFPIN:
		if di == ob.sender || ob.pending == nil {
			return
		}
		p := ob.pending
		ob.pending = nil
		ok := f.FCF == t30.FCFMCF || f.FCF == t30.FCFRTP || f.FCF == t30.FCFPIP
		if p.pps != nil {
			if f.FCF != t30.FCFMCF {
				return
			}
			// Block confirmed: its frames in order (T.4 Annex A), then the page if the PPS ended it.
			for i := 0; i < ob.blockFrames; i++ {
				ob.page = append(ob.page, ob.block[i]...)
			}
			ob.block, ob.blockFrames = map[int][]byte{}, 0
			if p.pps.PostPage == t30.FCFNull {
				return
			}
		}
		ob.pages = append(ob.pages, pageRec{data: ob.page, format: ob.dcs, accepted: ok, response: f.FCF})
		ob.trace(at, di, fmt.Sprintf("page %d %s (%d octets)", len(ob.pages), map[bool]string{true: "confirmed", false: "rejected"}[ok], len(ob.page)))
		ob.page = nil
	}
}

func yres(r t30.Resolution) int {
	switch r {
	case t30.Standard:
		return 98
	case t30.Superfine:
		return 391
	}
	return 196
}

func g3Comp(c t30.Compression) g3.Compression {
	switch c {
	case t30.MH:
		return g3.MH
	case t30.MR:
		return g3.MR
	}
	return g3.MMR
}

// writePages decodes the confirmed pages and writes them as one TIFF Class F file and one PDF, re-coded
// as MMR from the decoded rows so that a damaged row in the received data cannot spoil the rest.
func (ob *observer) writePages(dir string) error {
	var pages []*g3.Page
	fmt.Fprintln(ob.w, "\nPages:")
	for i, pr := range ob.pages {
		if !pr.accepted {
			fmt.Fprintf(ob.w, "  page %d: rejected with %v, not written\n", i+1, pr.response)
			continue
		}
		p, st, err := g3.Decode(pr.data, g3.Options{Compression: g3Comp(pr.format.Compression), K: 1, Width: pr.format.Width, Order: g3.LSBFirst})
		if err != nil && st.Rows == 0 {
			fmt.Fprintf(ob.w, "  page %d: undecodable: %v\n", i+1, err)
			continue
		}
		p.XRes, p.YRes = 204, yres(pr.format.Resolution)
		fmt.Fprintf(ob.w, "  page %d: %dx%d %v %v, %d bad rows (longest run %d), RTC/EOFB %v\n", i+1, p.Width, p.Height,
			pr.format.Resolution, pr.format.Compression, st.BadRows, st.LongestBadRun, st.Trailer)
		pages = append(pages, p)
	}
	if len(pages) == 0 {
		fmt.Fprintln(ob.w, "  none received")
		return nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	coded, err := g3.EncodePages(pages, g3.Options{Compression: g3.MMR, Order: g3.MSBFirst})
	if err != nil {
		return err
	}
	tiffPath := filepath.Join(dir, "received.tif")
	f, err := os.Create(tiffPath)
	if err != nil {
		return err
	}
	if err := g3.WriteTIFF(f, coded); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	fmt.Fprintf(ob.w, "wrote %s (%d pages)\n", tiffPath, len(pages))
	return writePDF(ob.w, filepath.Join(dir, "received.pdf"), coded)
}

// writePDF writes the pages as a PDF with /CCITTFaxDecode images (g3.WritePDF).
func writePDF(w io.Writer, path string, pages []g3.CodedPage) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := g3.WritePDF(f, pages); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	fmt.Fprintf(w, "wrote %s\n", path)
	return nil
}
