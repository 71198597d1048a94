package main

import (
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/pion/rtp"

	"github.com/faxseal/faxseal/modem/audio"
	"github.com/faxseal/faxseal/modem/g711"
	"github.com/faxseal/faxseal/t30"
)

// The G.711 side of analyze: RTP streams found in the capture are put back in sequence order, lost
// packets are bridged with the receivers' fill-in, and each direction is demodulated by a passive
// audio.Monitor (V.21 control frames, the fast modem the DCS names, tones). Its events go through the
// same observer as the T.38 ones, so one trace shows a call that switches between the two in order.

const (
	sampleRate = 8000
	// maxFillin is the longest sequence gap bridged with fill-in; longer gaps (a stream that was
	// paused, or a re-INVITE in between) are fed as silence so that carriers end as they did.
	maxFillin = sampleRate // 1 s
	// maxGap bounds what one gap may cost, so a hostile timestamp cannot make analyze feed hours of
	// silence; all the gaps of a stream together are bounded by the time its packets span.
	maxGap = 30 * sampleRate
)

// payloadLaws maps RTP payload types to G.711 laws: the static types of RFC 3551 §6 (0 PCMU,
// 8 PCMA) plus any dynamic ones the SDP maps with a=rtpmap (RFC 4566 §6).
type payloadLaws map[uint8]g711.Law

func staticLaws() payloadLaws { return payloadLaws{0: g711.MuLaw, 8: g711.ALaw} }

// addRTPMap adds the G.711 entries of an "a=rtpmap:PT ENCODING/RATE" value.
func (l payloadLaws) addRTPMap(v string) {
	pt, enc, ok := strings.Cut(strings.TrimSpace(v), " ")
	if !ok {
		return
	}
	n, err := strconv.Atoi(pt)
	if err != nil || n < 0 || n > 127 {
		return
	}
	name, rate, _ := strings.Cut(strings.TrimSpace(enc), "/")
	if rate != "" && !strings.HasPrefix(rate, "8000") {
		return
	}
	switch strings.ToUpper(name) {
	case "PCMU":
		l[uint8(n)] = g711.MuLaw
	case "PCMA":
		l[uint8(n)] = g711.ALaw
	}
}

// rtpPacket is one G.711 packet of a stream.
type rtpPacket struct {
	at      time.Duration // capture time
	seq     int64         // extended sequence number (RFC 3550 Appendix A.1)
	ts      uint32
	payload []byte
}

// rtpStream is one RTP source (one SSRC in one direction of a flow), its G.711 packets sorted by
// sequence number, duplicates removed.
type rtpStream struct {
	key        flowKey
	ssrc       uint32
	pt         uint8
	law        g711.Law
	pkts       []rtpPacket
	duplicates int
	reordered  int // packets that arrived after one with a higher sequence number
	other      int // packets of this SSRC with a payload type that is not G.711 (RFC 4733 events, CN)
	lost       int // sequence numbers missing between the first and the last packet
	// gap[i] is the number of samples missing before pkts[i]; fill[i] tells whether they were
	// bridged with fill-in (a loss) or fed as silence (a pause).
	gap  []int
	fill []bool
	// start is the capture time of the stream's first sample; off[i] is where pkts[i] begins, in
	// samples from start.
	start time.Duration
	off   []int64
}

// parseG711 reports whether b is an RTP packet (RFC 3550 §5.1) with a G.711 payload.
func parseG711(b []byte, laws payloadLaws, p *rtp.Packet) bool {
	if len(b) < 12 || b[0]>>6 != 2 {
		return false
	}
	if err := p.Unmarshal(b); err != nil {
		return false
	}
	_, ok := laws[p.PayloadType]
	return ok && len(p.Payload) > 0
}

// looksG711 reports whether most datagrams of a flow are G.711 RTP: what tells an RTP flow from a
// UDPTL one on a port given with --port or found without SDP.
func looksG711(pkts []udpPacket, laws payloadLaws) bool {
	var p rtp.Packet
	n := 0
	for _, u := range pkts {
		if parseG711(u.payload, laws, &p) {
			n++
		}
	}
	return n >= 8 && 4*n >= 3*len(pkts)
}

// rtpStreams splits the datagrams of the given flows into G.711 streams by SSRC and puts each in
// sequence order with its losses counted. Datagrams that are not G.711 RTP are ignored.
func rtpStreams(flows map[flowKey][]udpPacket, order []flowKey, laws payloadLaws) []*rtpStream {
	var out []*rtpStream
	for _, k := range order {
		bySSRC := map[uint32]*rtpStream{}
		last := map[uint32]int64{}
		var p rtp.Packet
		for _, u := range flows[k] {
			if len(u.payload) < 12 || u.payload[0]>>6 != 2 || p.Unmarshal(u.payload) != nil {
				continue
			}
			s := bySSRC[p.SSRC]
			if s == nil {
				s = &rtpStream{key: k, ssrc: p.SSRC, pt: p.PayloadType}
				bySSRC[p.SSRC] = s
				out = append(out, s)
			}
			law, ok := laws[p.PayloadType]
			if !ok || len(p.Payload) == 0 {
				s.other++
				continue
			}
			if s.law == g711.LawInvalid {
				s.law, s.pt = law, p.PayloadType
			}
			// Extend the 16-bit sequence number from the previous packet of this source.
			seq := int64(p.SequenceNumber)
			if prev, ok := last[p.SSRC]; ok {
				seq = prev + int64(int16(p.SequenceNumber-uint16(prev)))
			}
			last[p.SSRC] = seq
			s.pkts = append(s.pkts, rtpPacket{at: u.at, seq: seq, ts: p.Timestamp, payload: p.Payload})
		}
	}
	kept := out[:0]
	for _, s := range out {
		if len(s.pkts) == 0 {
			continue
		}
		s.order()
		kept = append(kept, s)
	}
	return kept
}

// order sorts the packets by sequence number, drops duplicates and works out the gaps and the
// timeline.
func (s *rtpStream) order() {
	for i := 1; i < len(s.pkts); i++ {
		if s.pkts[i].seq < s.pkts[i-1].seq {
			s.reordered++
		}
	}
	sort.SliceStable(s.pkts, func(i, j int) bool { return s.pkts[i].seq < s.pkts[j].seq })
	kept := s.pkts[:1]
	for _, p := range s.pkts[1:] {
		if p.seq == kept[len(kept)-1].seq {
			s.duplicates++
			continue
		}
		kept = append(kept, p)
	}
	s.pkts = kept
	s.gap, s.fill, s.off = make([]int, len(kept)), make([]bool, len(kept)), make([]int64, len(kept))
	var pos int64
	s.start = kept[0].at
	first, last := kept[0].at, kept[0].at
	for _, p := range kept {
		first, last = min(first, p.at), max(last, p.at)
	}
	budget := int64((last-first)/time.Millisecond)*sampleRate/1000 + 10*sampleRate
	for i, p := range kept {
		if i > 0 {
			prev := kept[i-1]
			missing := int(p.seq - prev.seq - 1)
			s.lost += missing
			// The samples between the packets: from the timestamps (RFC 3550 §5.1, 8 kHz clock for
			// G.711, RFC 3551 §4.5.14) when they agree with the sequence gap, else the usual
			// packet size times the missing packets.
			n := int(int32(p.ts-prev.ts)) - len(prev.payload)
			if missing > 0 && (n < missing || n > (missing+1)*len(prev.payload)) {
				n = missing * len(prev.payload)
			}
			n = int(min(int64(min(max(n, 0), maxGap)), budget))
			budget -= int64(n)
			s.gap[i], s.fill[i] = n, missing > 0 && n <= maxFillin
			pos += int64(n)
		}
		s.off[i] = pos
		pos += int64(len(p.payload))
		// Anchor the timeline on the packet that arrived with the least delay.
		if at := p.at - samplesDur(s.off[i]); at < s.start {
			s.start = at
		}
	}
}

func samplesDur(n int64) time.Duration { return time.Duration(n) * time.Second / sampleRate }

// end is the capture time just after the stream's last sample.
func (s *rtpStream) end() time.Duration {
	n := len(s.pkts) - 1
	return s.start + samplesDur(s.off[n]+int64(len(s.pkts[n].payload)))
}

func (s *rtpStream) String() string {
	return fmt.Sprintf("%v, %s (PT %d), SSRC 0x%08X, %d packets, %d lost, %d duplicates, %d out of order",
		s.key, map[g711.Law]string{g711.MuLaw: "PCMU", g711.ALaw: "PCMA"}[s.law], s.pt, s.ssrc, len(s.pkts), s.lost, s.duplicates, s.reordered)
}

// audioDir is the demodulator of one audio direction.
type audioDir struct {
	s       *rtpStream
	mon     *audio.Monitor
	silence []int16
	fills   int // fill-in blocks given to the monitor
}

func newAudioDir(s *rtpStream) *audioDir {
	return &audioDir{s: s, mon: audio.NewMonitor(s.law), silence: make([]int16, audio.Block)}
}

// feed gives the monitor packet i, preceded by the gap before it, and hands the events to the
// observer stamped with the capture time at which the audio that caused them ended.
func (ob *observer) feedAudio(di, i int) {
	a := ob.dirs[di].audio
	s := a.s
	pos := s.off[i] - int64(s.gap[i])
	for n := s.gap[i]; n > 0; {
		k := min(n, audio.Block)
		if s.fill[i] {
			a.mon.RxFillin(k)
			a.fills++
		} else {
			a.mon.Rx(a.silence[:k])
		}
		n -= k
		pos += int64(k)
		ob.audioEvents(s.start+samplesDur(pos), di)
	}
	a.mon.RxG711(s.pkts[i].payload)
	ob.audioEvents(s.start+samplesDur(s.off[i]+int64(len(s.pkts[i].payload))), di)
}

// flushAudio feeds a second of silence after the end of the stream, so a carrier the capture cuts
// off ends and its data is reported. What that reports is stamped with the end of the stream: the
// trace must not run ahead of the packets that follow (the T.38 part of a call that switched).
func (ob *observer) flushAudio(di int) {
	a := ob.dirs[di].audio
	for range sampleRate / audio.Block {
		a.mon.Rx(a.silence)
		ob.audioEvents(a.s.end(), di)
	}
}

func (ob *observer) audioEvents(at time.Duration, di int) {
	for _, ev := range ob.dirs[di].audio.mon.Events() {
		switch ev.Kind {
		case t30.EventTrained:
			ob.trace(at, di, fmt.Sprintf("%v %d trained", ev.Modulation, ev.BitRate))
		case t30.EventTrainingFailed:
			// Only a failed TCF is news: between page bursts the monitor also listens for a fast
			// carrier while the V.21 post-page commands go by, and those fail to train by nature.
			if ob.tcf && di == ob.sender {
				ob.trace(at, di, fmt.Sprintf("%v %d training failed", ev.Modulation, ev.BitRate))
			}
		}
		ob.event(at, di, ev)
	}
}

// printAudio lists the audio directions.
func printAudio(w io.Writer, dirs []*direction) {
	fmt.Fprintln(w, "\nRTP audio (G.711):")
	for _, d := range dirs {
		if d.audio != nil {
			fmt.Fprintf(w, "  %s: %v\n", d.name, d.audio.s)
		}
	}
}

// printFillin reports what the monitors bridged.
func printFillin(w io.Writer, dirs []*direction) {
	for _, d := range dirs {
		if d.audio != nil && d.audio.fills > 0 {
			fmt.Fprintf(w, "  %s: %d lost packets bridged with %d fill-in blocks\n", d.name, d.audio.s.lost, d.audio.fills)
		}
	}
}
