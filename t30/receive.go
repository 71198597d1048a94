package t30

import "fmt"

// The receiving side: DCS and TCF, non-ECM pages with the copy-quality
// decision, ECM blocks with PPR/CTC/EOR.

func (s *Session) receiverFrame(f Frame) {
	fcf := f.FCF.base()
	switch s.state {
	case stWaitDIS:
		// We called to receive: poll the remote (T.30 §5.3.6.1.2).
		if fcf != FCFDIS {
			return
		}
		caps, err := ParseDIS(f.FIF)
		if err != nil {
			return
		}
		s.remote, s.gotRemote = caps, true
		if !caps.ReadyToTransmit {
			s.sendDCN(NothingToPoll, "remote DIS has no document to send")
			return
		}
		s.enter(stWaitDCS)
		s.sendCommand(NoAnswer, "DTC", s.identFrames(FCFCIG, FCFDTC)...)
		return
	case stWaitDCS:
		switch fcf {
		case FCFDCS:
			if s.cfg.Role == Receive {
				s.gotDCS(f)
			} else {
				s.sendDCN(Incompatible, "both sides want to send")
			}
		case FCFDTC:
			if s.cfg.Role == Send {
				s.gotDIS(f)
			}
		case FCFCRP:
			s.cmdTries = 0
			s.repeatCommand()
		}
		return
	}
	switch fcf {
	case FCFDCS:
		// A (repeated) DCS: peer missed CFR, or retrains after RTP/RTN
		// (TSB-85 MRGN14/15). It may find us in phase C: after a CFR the
		// fast receiver trains on whatever comes at our rate, and when the
		// DCS before a repeated TCF was lost, it trained on that TCF as on
		// an ECM burst (or page) and we are waiting for its PPS. Whatever
		// we believed, a DCS says the sender is in phase B again: check
		// its TCF and answer CFR or FTT once more (T.30 §5.3.2), or the
		// sender's third and last try goes unanswered (§5.4.3.1).
		switch s.state {
		case stRxTCF, stRxWait, stRxPage, stRxPPM, stRxECM, stRxEOM:
			s.gotDCS(f)
		}
	case FCFMPS, FCFEOP, FCFEOM:
		s.gotPostPage(fcf)
	case FCFPPS:
		s.gotPPS(f)
	case FCFCTC:
		if s.state != stRxWait && s.state != stRxECM {
			return
		}
		d, err := ParseDCS(padFIF(f.FIF))
		if err != nil {
			return
		}
		s.dcs.Modulation, s.dcs.BitRate = d.Modulation, d.BitRate
		s.res.Modulation, s.res.BitRate = d.Modulation, d.BitRate
		s.res.Retrains++
		s.enter(stRxWait)
		s.longTrain = true
		s.sendResponse(s.waitImage, s.frame(FCFCTR, true))
	case FCFEOR:
		if s.state != stRxWait && s.state != stRxECM {
			return
		}
		second := FCFNull
		if len(f.FIF) > 0 {
			second = FCF(f.FIF[0] &^ 1).base()
		}
		s.abandonBlock(second)
	case FCFRR:
		if s.state == stRxWait || s.state == stRxECM {
			s.repeatResponse()
		}
	case FCFCRP:
		s.repeatResponse()
	}
}

// gotDCS accepts the transmitter's mode and prepares for TCF.
func (s *Session) gotDCS(f Frame) {
	d, err := ParseDCS(f.FIF)
	if err != nil {
		return // garbled: the sender repeats it
	}
	ours := s.cfg.ourCapabilities()
	switch {
	case d.Compression == MMR && !d.ECM:
		s.sendDCN(Incompatible, "DCS asks for MMR without ECM")
		return
	case extended(d.Raw, bitR300) || extended(d.Raw, bitR16):
		// 300×300 and R16 resolutions: never offered, so never accepted.
		s.sendDCN(Incompatible, "DCS asks for a 300 or 400 dpi resolution we did not offer")
		return
	case d.ECM && !ours.ECM:
		s.sendDCN(Incompatible, "DCS asks for ECM which we did not offer")
		return
	case !s.cfg.allowsCompression(d.Compression), !s.cfg.allowsResolution(d.Resolution), d.Width > s.cfg.MaxWidth:
		s.sendDCN(Incompatible, "DCS asks for "+d.String())
		return
	}
	// A page heard but never followed by its post-page command is not
	// confirmed.
	s.closeNonECMPage()
	if s.rxEnded {
		s.rxEnded = false
		s.cfg.Sink.Commit(false)
	}
	s.dcs = d
	s.gotRemote = true
	s.t1On = false
	// A DCS starts a new mode: commands heard after it refer to pages
	// after it, never to responses we gave before it (a new document after
	// EOM restarts the ECM page and block counters at 0).
	s.lastPPM, s.rxHaveLast, s.rxBlockKnown = 0, false, false
	s.format = Format{Compression: d.Compression, Resolution: d.Resolution, Width: d.Width, ECM: d.ECM}
	if !d.ECM {
		s.format.MinRowBits = d.BitRate * d.MinScanTime / 1000
	}
	size := 256
	if d.Frame64 {
		size = 64
	}
	if size != s.rxFrameSize {
		// Frames held from before (a DCS repeated in phase C) were cut
		// at the old size and cannot join a block at the new one.
		s.clearBlock()
	}
	s.rxFrameSize = size
	s.enter(stRxTCF)
	s.tcfRun, s.tcfBest, s.tcfBytes = 0, 0, 0
	s.rxTrained = false
	s.fe.Receive(RxMode{Kind: RxData, Modulation: d.Modulation, BitRate: d.BitRate})
	s.startTimer(timerT2, s.cfg.Timers.T2)
}

func (s *Session) rxTrainedEv(ev Event) {
	switch s.state {
	case stRxTCF:
		s.rxTrained = true
		s.tcfRun, s.tcfBest, s.tcfBytes = 0, 0, 0
	case stRxWait:
		s.longTrain = false
		if s.format.ECM {
			s.enter(stRxECM)
			s.burstFrames = 0
			s.rxTrained = true
			return
		}
		s.enter(stRxPage)
		s.rxTrained = true
		if !s.rxPageOpen {
			if err := s.cfg.Sink.StartPage(s.format); err != nil {
				s.sendDCN(PageStoreError, err.Error())
				return
			}
			s.rxPageOpen = true
			s.pageErr = false
			s.rxBytes = 0
		}
	}
}

func (s *Session) rxTrainFailed(ev Event) {
	switch s.state {
	case stRxTCF:
		s.answerTCF(false)
	case stRxWait:
		s.sawCarrier = true
	}
}

func (s *Session) rxData(p []byte) {
	if s.state == stRxWait && !s.format.ECM {
		// Page data without a training report (a peer that skipped the
		// training indicator): the page has begun all the same.
		s.rxTrainedEv(Event{Kind: EventTrained, Modulation: s.dcs.Modulation, BitRate: s.dcs.BitRate})
	}
	switch s.state {
	case stRxTCF:
		if !s.rxTrained {
			s.rxTrained = true // data without a training report: T.38 peers vary
		}
		s.tcfBytes += len(p)
		for _, b := range p {
			if b == 0 {
				s.tcfRun += 8
				continue
			}
			// Count the zero bits at either edge of a non-zero octet
			// (LSB-first: low bits come first on the line).
			lead := 0
			for lead < 8 && b&(1<<uint(lead)) == 0 {
				lead++
			}
			if s.tcfRun+lead > s.tcfBest {
				s.tcfBest = s.tcfRun + lead
			}
			trail := 0
			for trail < 8 && b&(0x80>>uint(trail)) == 0 {
				trail++
			}
			s.tcfRun = trail
		}
		if s.tcfRun > s.tcfBest {
			s.tcfBest = s.tcfRun
		}
	case stRxPage:
		if s.pageErr {
			return
		}
		s.rxBytes += len(p)
		if err := s.cfg.Sink.Write(p); err != nil {
			s.pageErr = true
		}
	}
}

func (s *Session) rxCarrierDown(ev Event) {
	if ev.Modulation == V21 {
		return
	}
	switch s.state {
	case stRxTCF:
		if !s.rxTrained {
			return
		}
		// TCF passes with a zero run of at least one second (spandsp
		// t30.c, brief §2.4). A localTCF transport sends no data at all.
		ok := s.tcfBest >= s.dcs.BitRate || (s.cfg.LocalTCF && s.tcfBytes == 0)
		s.answerTCF(ok)
	case stRxPage:
		s.closeNonECMPage()
		s.enter(stRxPPM)
		s.fe.Receive(RxMode{Kind: RxV21, Modulation: V21, BitRate: 300})
		s.startTimer(timerT2, s.cfg.Timers.T2)
	case stRxECM:
		s.traceNote(Received, s.dcs.Modulation, FCFFCD, fmt.Sprintf("ECM burst: %d frames", s.burstFrames))
		s.fe.Receive(RxMode{Kind: RxV21, Modulation: V21, BitRate: 300})
		s.startTimer(timerT2, s.cfg.Timers.T2)
	}
}

func (s *Session) answerTCF(ok bool) {
	s.enter(stRxWait)
	if !ok {
		// FTT: the sender steps down and sends DCS+TCF again.
		s.res.Retrains++
		s.fe.Receive(RxMode{Kind: RxV21, Modulation: V21, BitRate: 300})
		s.sendResponse(func() { s.startTimer(timerT2, s.cfg.Timers.T2) }, s.frame(FCFFTT, true))
		return
	}
	s.res.Modulation, s.res.BitRate = s.dcs.Modulation, s.dcs.BitRate
	s.res.ECM, s.res.Format = s.format.ECM, s.format
	s.longTrain = false
	s.sendResponse(s.waitImage, s.frame(FCFCFR, true))
}

// waitImage listens for the next page or burst (with V.21 in parallel, so
// a repeated command is still heard) and arms T2.
func (s *Session) waitImage() {
	s.rxTrained = false
	s.sawCarrier = false
	kind := RxData
	if s.format.ECM {
		kind = RxHDLC
	}
	s.fe.Receive(RxMode{Kind: kind, Modulation: s.dcs.Modulation, BitRate: s.dcs.BitRate,
		ShortTrain: s.dcs.Modulation == V17 && !s.longTrain})
	s.startTimer(timerT2, s.cfg.Timers.T2)
}

// closeNonECMPage ends the page the sink is decoding and decides its fate.
func (s *Session) closeNonECMPage() {
	if !s.rxPageOpen {
		return
	}
	s.rxPageOpen = false
	s.rxEnded = true
	q, err := s.cfg.Sink.EndPage()
	if err != nil || s.pageErr {
		q = Quality{}
	}
	s.quality = q
}

// copyQuality turns the decode report into MCF, RTP or RTN (T.30
// §5.3.6.2.3 leaves the criterion to the implementation; we use spandsp's
// thresholds from TSB-85 MRGN04: under 5 % bad rows is good, under 15 %
// acceptable with a retrain, and treat a run of more than 32 consecutive bad
// rows — about 8 mm at standard resolution, a lost line of text — as one
// step worse).
func copyQuality(q Quality) FCF {
	if q.Rows == 0 {
		return FCFRTN
	}
	resp := FCFRTN
	switch {
	case q.BadRows*20 < q.Rows:
		resp = FCFMCF
	case q.BadRows*100 < q.Rows*15:
		resp = FCFRTP
	}
	if q.LongestBadRun > 32 {
		switch resp {
		case FCFMCF:
			resp = FCFRTP
		case FCFRTP:
			resp = FCFRTN
		}
	}
	return resp
}

// gotPostPage answers MPS/EOP/EOM after a non-ECM page.
func (s *Session) gotPostPage(fcf FCF) {
	noPage := false
	switch s.state {
	case stRxPage:
		// The carrier-down report was lost: the page ended anyway.
		s.closeNonECMPage()
	case stRxPPM:
	case stRxWait, stRxDCN, stRxEOM:
		if s.state == stRxWait && (s.sawCarrier || s.lastPPM == 0 || fcf != s.lastPPM) && !s.format.ECM {
			// An image carrier came but never trained, or nothing came at
			// all for the first page: the page is bad (spandsp
			// process_state_f_doc_non_ecm). So is a command other than the
			// one we last answered: a repeat (our response was lost) is the
			// same command (T.30 §5.3.2.5), an EOP after our MCF to MPS
			// follows a page we never heard, and repeating that MCF would
			// confirm it.
			s.quality = Quality{}
			noPage = true
			break
		}
		// No page since our last response: the sender repeats the command
		// because our response was lost (T.30 §5.3.2.5, TSB-85 MRGN16).
		if s.lastPPM != 0 && !s.busy() {
			s.repeatResponse()
		}
		return
	default:
		return
	}
	resp := copyQuality(s.quality)
	if s.pageErr {
		resp = FCFRTN
	}
	keep := resp != FCFRTN && !noPage
	s.rxEnded = false
	if noPage {
		resp = FCFRTN
	} else if err := s.cfg.Sink.Commit(keep); err != nil {
		s.sendDCN(PageStoreError, err.Error())
		return
	}
	s.rxRejected = !keep
	if keep {
		s.res.Pages++
	}
	s.report(PageResult{Page: s.rxPageCount, Response: resp, Accepted: keep, Quality: s.quality, Bytes: s.rxBytes})
	if keep {
		s.rxPageCount++
	}
	s.lastPPM = fcf
	s.respondPostPage(fcf, resp)
}

func (s *Session) respondPostPage(fcf, resp FCF) {
	if resp != FCFMCF {
		s.res.Retrains++
	}
	switch {
	case fcf == FCFEOM && resp != FCFRTN:
		// MCF/RTP to EOM: both sides go back to phase B and we send DIS
		// again (T.30 §5.3.2.5).
		s.enter(stRxEOM)
		s.sendResponse(func() {
			s.fe.Receive(RxMode{Kind: RxV21, Modulation: V21, BitRate: 300})
			s.startTimer(timerT2EOM, eomDISDelay)
		}, s.frame(resp, true))
	case resp != FCFMCF:
		// RTP/RTN: the sender retrains with DCS+TCF, or disconnects.
		s.enter(stRxWait)
		s.sendResponse(func() {
			s.fe.Receive(RxMode{Kind: RxV21, Modulation: V21, BitRate: 300})
			s.startTimer(timerT2, s.cfg.Timers.T2)
		}, s.frame(resp, true))
	case fcf == FCFEOP:
		s.enter(stRxDCN)
		s.sendResponse(func() {
			s.fe.Receive(RxMode{Kind: RxV21, Modulation: V21, BitRate: 300})
			s.startTimer(timerT2, s.cfg.Timers.T2)
		}, s.frame(resp, true))
	default:
		s.enter(stRxWait)
		s.sendResponse(s.waitImage, s.frame(resp, true))
	}
}

// rxFastFrame collects an ECM frame from the fast modem (T.4 Annex A).
func (s *Session) rxFastFrame(ev Event) {
	if s.state == stRxWait && s.format.ECM {
		s.enter(stRxECM) // frames without a training report
	}
	if s.state != stRxECM || !ev.FCSOK {
		return
	}
	f, err := ParseFrame(ev.Frame)
	if err != nil || f.FCF != FCFFCD || len(f.FIF) < 2 {
		return // RCP, garbage
	}
	i := int(f.FIF[0])
	data := f.FIF[1:]
	if len(data) > s.rxFrameSize {
		return
	}
	s.rxFrames[i] = append(s.rxFrames[i][:0], data...)
	s.rxHave[i] = true
	s.burstFrames++
}

// gotPPS checks the block and answers MCF or PPR (T.30 §A.4.2-A.4.3).
func (s *Session) gotPPS(f Frame) {
	switch s.state {
	case stRxWait, stRxECM, stRxDCN, stRxEOM:
	default:
		return
	}
	p, err := ParsePPS(f.FIF)
	if err != nil {
		return
	}
	if s.rxHaveLast && p.Page == s.rxLastPage && p.Block == s.rxLastBlock {
		// Already confirmed: our MCF was lost (brief §2.8). Frames heard
		// since belong to that old block too (a retransmission that
		// crossed our MCF): drop them.
		s.clearBlock()
		if !s.busy() {
			s.repeatResponse()
		}
		return
	}
	if s.state == stRxDCN || s.state == stRxEOM {
		return
	}
	// The block size is the largest frame count any PPS of this block
	// gave (T.30 §A.4.2; brief §2.8). Some senders (spandsp 0.0.6) put the
	// count of the burst just sent in the PPS after a retransmission, so a
	// later PPS may name fewer frames than the block holds; taking that
	// count as the block size once truncated a page whose retransmission
	// burst was lost, and the truncated page was confirmed (T.4 Annex A:
	// a page is confirmed only when every frame of every block is held).
	if !s.rxBlockKnown || s.rxBlockPage != p.Page || s.rxBlockNum != p.Block {
		s.rxBlockKnown, s.rxBlockPage, s.rxBlockNum, s.rxBlockFrames = true, p.Page, p.Block, 0
	}
	n := max(p.Frames, s.rxBlockFrames)
	for i := n; i < maxFramesBlock; i++ {
		if s.rxHave[i] {
			n = i + 1 // a frame beyond the count was heard: accept it too
		}
	}
	s.rxBlockFrames = n
	// Every frame but the last has the block's frame size: that of frame
	// 0, or failing it the longest heard (brief §2.8). A frame of another
	// length is treated as missing.
	size := 0
	for i := 0; i < n; i++ {
		if s.rxHave[i] && len(s.rxFrames[i]) > size {
			size = len(s.rxFrames[i])
		}
	}
	if s.rxHave[0] {
		size = len(s.rxFrames[0])
	}
	var m [32]byte
	missing := 0
	for i := 0; i < n; i++ {
		l := len(s.rxFrames[i])
		ok := s.rxHave[i] && (l == size || (i == n-1 && l <= size))
		if !ok {
			s.rxHave[i] = false
			m[i/8] |= 1 << uint(i%8)
			missing++
		}
	}
	if missing > 0 {
		s.enter(stRxWait)
		s.sendResponse(s.waitImage, s.frame(FCFPPR, true, m[:]...))
		return
	}
	if err := s.commitBlock(n); err != nil {
		s.sendDCN(PageStoreError, err.Error())
		return
	}
	s.rxHaveLast, s.rxLastPage, s.rxLastBlock = true, p.Page, p.Block
	s.endECMBlock(p.PostPage)
}

func (s *Session) commitBlock(n int) error {
	if !s.rxPageOpen {
		if err := s.cfg.Sink.StartPage(s.format); err != nil {
			return err
		}
		s.rxPageOpen = true
		s.pageErr = false
		s.rxBytes = 0
	}
	for i := 0; i < n; i++ {
		s.rxBytes += len(s.rxFrames[i])
		if !s.pageErr {
			if err := s.cfg.Sink.Write(s.rxFrames[i]); err != nil {
				s.pageErr = true
			}
		}
	}
	s.clearBlock()
	return nil
}

func (s *Session) clearBlock() {
	s.rxBlockKnown = false
	for i := range s.rxHave {
		s.rxHave[i] = false
		s.rxFrames[i] = s.rxFrames[i][:0]
	}
}

// endECMBlock answers a complete (or abandoned) block; with a post-page
// second FCF the page ends too.
func (s *Session) endECMBlock(second FCF) {
	if second == FCFNull {
		s.enter(stRxWait)
		s.sendResponse(s.waitImage, s.frame(FCFMCF, true))
		return
	}
	resp := FCFMCF
	keep := false
	if s.rxPageOpen {
		s.rxPageOpen = false
		q, err := s.cfg.Sink.EndPage()
		s.quality = q
		// In ECM the FCS already guarantees the data; the page is kept
		// unless it cannot be decoded at all or a block was dropped.
		keep = err == nil && !s.pageErr && !s.pageLost
	}
	if err := s.cfg.Sink.Commit(keep); err != nil {
		s.sendDCN(PageStoreError, err.Error())
		return
	}
	if keep {
		s.res.Pages++
	} else {
		s.anyLost = true
	}
	s.report(PageResult{Page: s.rxPageCount, Response: resp, Accepted: keep, Quality: s.quality, Bytes: s.rxBytes})
	s.rxPageCount++
	s.pageLost = false
	s.lastPPM = second
	s.respondPostPage(second, resp)
}

// abandonBlock answers EOR with ERR: the block is dropped (T.30 §A.4.4).
func (s *Session) abandonBlock(second FCF) {
	s.clearBlock()
	s.pageLost = true
	if second == FCFNull {
		s.enter(stRxWait)
		s.sendResponse(s.waitImage, s.frame(FCFERR, true))
		return
	}
	if s.rxPageOpen {
		s.rxPageOpen = false
		s.cfg.Sink.EndPage()
	}
	s.cfg.Sink.Commit(false)
	s.anyLost = true
	s.report(PageResult{Page: s.rxPageCount, Response: FCFERR})
	s.rxPageCount++
	s.pageLost = false
	s.lastPPM = second
	st := stRxWait
	switch second {
	case FCFEOP:
		st = stRxDCN
	case FCFEOM:
		st = stRxEOM
	}
	s.enter(st)
	then := s.waitImage
	if st != stRxWait {
		then = func() {
			s.fe.Receive(RxMode{Kind: RxV21, Modulation: V21, BitRate: 300})
			k := timerT2
			if st == stRxEOM {
				k = timerT2EOM
			}
			s.startTimer(k, s.cfg.Timers.T2)
		}
	}
	s.sendResponse(then, s.frame(FCFERR, true))
}
