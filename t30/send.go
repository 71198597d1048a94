package t30

import (
	"fmt"
	"strings"
	"time"
)

// The transmitting side: negotiation from DIS/DTC, DCS+TCF with fallback,
// non-ECM pages and the ECM block procedure (T.30 Annex A).

// gotDIS negotiates from a received DIS/DTC and sends DCS+TCF.
func (s *Session) gotDIS(f Frame) {
	caps, err := ParseDIS(f.FIF)
	if err != nil {
		return // unusable: wait for a repeat
	}
	s.remote, s.gotRemote = caps, true
	if !caps.CanReceive {
		s.sendDCN(Incompatible, "remote cannot receive")
		return
	}
	s.speeds = s.speeds[:0]
	for _, sp := range fallback {
		if s.cfg.usable(sp, caps) {
			s.speeds = append(s.speeds, sp)
		}
	}
	if len(s.speeds) == 0 {
		s.sendDCN(Incompatible, "no common modem")
		return
	}
	if err := s.chooseFormat(); err != nil {
		s.sendDCN(Incompatible, err.Error())
		return
	}
	s.speedIdx = 0
	s.noResponse = s.noResponse[:0]
	s.t1On = false
	s.sendDCS()
}

func (s *Session) chooseFormat() error {
	c := s.remote
	width, res := s.cfg.Source.Prepared()
	f := Format{Width: width, Resolution: res}
	if f.Width > c.MaxWidth {
		f.Width = c.MaxWidth
	}
	if f.Width != WidthA4 && f.Width != WidthB4 && f.Width != WidthA3 {
		f.Width = WidthA4
	}
	// Step resolution down to what the receiver takes (T.30 §5.3.6.1.3).
	if f.Resolution == Superfine && !c.Superfine {
		f.Resolution = Fine
	}
	if f.Resolution == Fine && !c.Fine {
		f.Resolution = Standard
	}
	if f.Resolution == 0 {
		f.Resolution = Standard
	}
	f.ECM = c.ECM && !s.cfg.DisableECM
	switch {
	case f.ECM && c.MMR && s.cfg.allowsCompression(MMR):
		f.Compression = MMR
	case c.MR && s.cfg.allowsCompression(MR):
		f.Compression = MR
	case s.cfg.allowsCompression(MH):
		f.Compression = MH
	default:
		return fmt.Errorf("no common coding")
	}
	s.format = f
	s.frameSize = 256
	if f.ECM && c.ECM64Preferred {
		s.frameSize = 64
	}
	return nil
}

// sendDCS sends TSI+DCS at the current speed followed by TCF with long
// training (T.30 §5.3.2.2; TCF is always long-trained, brief §3.4).
func (s *Session) sendDCS() {
	sp := s.speeds[s.speedIdx]
	ms := 0
	if !s.format.ECM {
		ms = s.remote.MinScanTime(s.format.Resolution)
		// Round up to a time DCS can express (bits 21-23).
		ms = [8]int{20, 5, 10, 20, 40, 40, 10, 0}[dcsScanCode(ms)]
	}
	s.format.MinRowBits = sp.rate * ms / 1000
	s.dcs = Settings{
		Receive: true, Modulation: sp.mod, BitRate: sp.rate, Resolution: s.format.Resolution,
		Compression: s.format.Compression, Width: s.format.Width, Length: 2, MinScanTime: ms,
		ECM: s.format.ECM, Frame64: s.frameSize == 64,
	}
	if s.remote.Length < 2 {
		s.dcs.Length = s.remote.Length
	}
	s.enter(stTxTCF)
	s.fe.Receive(RxMode{Kind: RxV21, Modulation: V21, BitRate: 300})
	// TCF is all zeros and never written, so one buffer serves every try.
	if len(s.tcf) < tcfOctets(sp.rate) {
		s.tcf = make([]byte, tcfOctets(fallback[0].rate))
	}
	tcf := s.tcf[:tcfOctets(sp.rate)]
	s.cmd = []Tx{
		{Kind: TxSilence, Duration: gapSilence},
		v21Burst(s.identFrames(FCFTSI, FCFDCS)...),
		{Kind: TxSilence, Duration: gapSilence},
		{Kind: TxData, Modulation: sp.mod, BitRate: sp.rate, Data: tcf, TCF: true},
	}
	s.cmdTries = 0
	s.cmdFail, s.cmdWhat = NoResponseDCS, "DCS+TCF"
	s.cmdSilent = 0
	s.repeatDCS()
}

// tcfOctets is the length of TCF at rate: 1.5 s of zeros (T.30 §5.3.2.2).
func tcfOctets(rate int) int {
	return rate * int(tcfDuration/time.Millisecond) / 8000
}

func (s *Session) repeatDCS() {
	s.cmdTries++
	s.cmdHeard = false
	s.enter(stTxTCF)
	for i, tx := range s.cmd {
		var done func()
		switch i {
		case 1:
			done = func() { s.dcsDoneAt = s.now }
		case len(s.cmd) - 1:
			done = func() { s.enter(stTxDCS); s.armDCSWait() }
		}
		s.transmit(tx, stTxTCF, done)
	}
}

// armDCSWait starts the wait for CFR/FTT after TCF: T4, but never ending
// before a receiver that missed the TCF has answered. Such a receiver
// answers FTT when its T2 (6 ± 1 s, T.30 §5.4.3; spandsp 7 s, "No TCF data
// received") runs out, counted from our DCS; a DCS repeated before that
// reaches it while it still waits for TCF, which spandsp answers with DCN
// ("unexpected frame in state F_TCF") — the usual end of a fax whose V.17
// training was hit by a lost packet. Waiting until dcsAnswerWait after
// the DCS lets its FTT arrive first (its flags extend the wait further),
// and FTT then steps the rate down as usual.
func (s *Session) armDCSWait() {
	d := s.cfg.Timers.T4
	if until := s.dcsDoneAt + dcsAnswerWait - s.now; until > d {
		d = until
	}
	s.startTimer(timerT4, d)
}

func (s *Session) senderFrame(f Frame) {
	fcf := f.FCF.base()
	switch s.state {
	case stWaitDIS:
		switch fcf {
		case FCFDIS:
			s.gotDIS(f)
		case FCFDTC:
			// The remote polls us although it called: we have a document, so
			// honour it like a DIS.
			s.gotDIS(f)
		}
	case stTxDCS:
		switch fcf {
		case FCFCFR:
			s.timer = timerNone
			s.res.Modulation, s.res.BitRate = s.dcs.Modulation, s.dcs.BitRate
			s.res.ECM, s.res.Format = s.format.ECM, s.format
			s.longTrain = false
			s.startPage()
		case FCFFTT:
			// T.30 §5.3.2.2: step down and retrain (brief §2.4).
			s.timer = timerNone
			if s.speedIdx+1 >= len(s.speeds) {
				s.sendDCN(TrainingFailed, fmt.Sprintf("FTT at %v %d", s.dcs.Modulation, s.dcs.BitRate))
				return
			}
			s.speedIdx++
			s.res.Retrains++
			s.sendDCS()
		case FCFDIS, FCFDTC:
			// The peer missed our DCS (TSB-85 MTGN09).
			s.retryDCS("answered by DIS")
		case FCFCRP:
			s.retryDCS("answered by CRP")
		}
	case stTxPPM:
		s.postPageResponse(fcf)
	case stTxPPS:
		s.ecmResponse(f, fcf)
	case stTxCTC:
		switch fcf {
		case FCFCTR:
			s.timer = timerNone
			s.speedIdx = s.ctcIndex()
			s.res.Retrains++
			s.longTrain = true
			s.pprCount = 0
			s.dcs.Modulation, s.dcs.BitRate = s.speeds[s.speedIdx].mod, s.speeds[s.speedIdx].rate
			s.res.Modulation, s.res.BitRate = s.dcs.Modulation, s.dcs.BitRate
			s.sendBurst(true)
		case FCFCRP:
			s.retryCommand("answered by CRP")
		}
	case stTxEOR:
		switch fcf {
		case FCFERR:
			s.timer = timerNone
			s.pageLost = true
			s.blockConfirmed()
		case FCFCRP:
			s.retryCommand("answered by CRP")
		}
	}
}

func (s *Session) retryDCS(why string) {
	if s.cmdTries < maxCommandTry {
		s.repeatDCS()
		return
	}
	sp := s.speeds[s.speedIdx]
	if next, ok := s.nextModem(); ok && why == noResponse && s.cmdSilent > 0 {
		// Three tries of DCS+TCF at this modem, and at least one drew no
		// signal at all: a receiver that trained but judged TCF bad
		// answers FTT, so silence means it did not train (on a lossy audio
		// line, spandsp's V.17 receiver loses its 1.4 s long training to a
		// dropped packet and then stays silent by design). The next rate
		// of the same modem has the same training, so move on to the next
		// modem, with its shorter training (V.29 0.25 s), instead of giving
		// up (brief §5, "no response to DCS or TCF"; T.30 §5.4.3.1 bounds
		// the tries per command, and a DCS for another modem is a new
		// command). Responses heard with a bad FCS every time mean the
		// receiver trains and our V.21 reception is the trouble, which a
		// slower fast modem does not cure.
		s.noResponse = append(s.noResponse, fmt.Sprintf("%v %d", sp.mod, sp.rate))
		s.speedIdx = next
		s.res.Retrains++
		s.sendDCS()
		return
	}
	if !s.giveUp(why) {
		s.repeatDCS() // unreadable answers: the receiver is there (giveUp)
		return
	}
	s.noResponse = append(s.noResponse, fmt.Sprintf("%v %d", sp.mod, sp.rate))
	s.sendDCN(NoResponseDCS, fmt.Sprintf("%d × DCS+TCF %s at %s", s.cmdTries, why, strings.Join(s.noResponse, ", ")))
}

// noResponse is the retryDCS reason for a T4 expiry.
const noResponse = "without response"

// nextModem returns the first entry of the fallback table below the current
// one that uses a slower modem family (V.17 -> V.29 -> V.27ter).
func (s *Session) nextModem() (int, bool) {
	cur := modemRank(s.speeds[s.speedIdx].mod)
	for i := s.speedIdx + 1; i < len(s.speeds); i++ {
		if modemRank(s.speeds[i].mod) < cur {
			return i, true
		}
	}
	return 0, false
}

// modemRank orders the modem families by speed (and by training length:
// V.17 long training 1.4 s, V.27ter 0.7-0.9 s but at most 4800 bit/s).
func modemRank(m Modulation) int {
	switch m {
	case V17:
		return 3
	case V29:
		return 2
	}
	return 1
}

// startPage encodes the current page and sends it (non-ECM) or its first
// block (ECM).
func (s *Session) startPage() {
	data, err := s.cfg.Source.Encode(s.page, s.format)
	if err != nil {
		s.sendDCN(DocumentError, fmt.Sprintf("page %d: %v", s.page+1, err))
		return
	}
	if len(data) == 0 {
		s.sendDCN(DocumentError, fmt.Sprintf("page %d encoded to nothing", s.page+1))
		return
	}
	s.pageData = data
	s.pageLost = false
	if s.format.ECM {
		s.blockStart = 0
		s.startBlock()
		return
	}
	s.enter(stTxPage)
	s.postPage = s.pageEnd()
	sp := s.speeds[s.speedIdx]
	s.transmit(Tx{Kind: TxSilence, Duration: gapSilence}, stTxPage, nil)
	// T.30 §5.2: V.17 image data after a good TCF uses short training.
	s.transmit(Tx{Kind: TxData, Modulation: sp.mod, BitRate: sp.rate, ShortTrain: sp.mod == V17 && !s.longTrain, Data: data},
		stTxPage, func() { s.afterImage(stTxPPM, s.frame(s.postPage, true), s.postPage.String()) })
}

// afterImage runs when the page or ECM burst has left: the post-page
// command (MPS/EOP or PPS) follows after the turnaround gap. It is queued
// only now, not with the image, so that a Cancel during the page can still
// replace it with DCN.
func (s *Session) afterImage(next state, cmd []byte, what string) {
	if s.cancelled {
		s.sendDCN(Cancelled, "cancelled locally during "+what)
		return
	}
	s.enter(next)
	s.cmd = []Tx{{Kind: TxSilence, Duration: gapSilence}, v21Burst(cmd)}
	s.cmdTries, s.cmdSilent, s.cmdHeard = 1, 0, false
	s.cmdFail, s.cmdWhat = NoResponsePostPage, what
	s.transmit(s.cmd[0], next, nil)
	s.transmit(s.cmd[1], next, s.armT4)
}

// postPageResponse handles the receiver's answer to MPS/EOP (T.30 §5.3.2.5,
// brief §2.7).
func (s *Session) postPageResponse(fcf FCF) {
	switch fcf {
	case FCFMCF, FCFRTP, FCFPIP:
		s.timer = timerNone
		s.pageDone(fcf, true)
		if s.state == stDone || s.state == stTxDCN {
			return
		}
		if s.postPage == FCFEOM {
			s.nextDocument()
			return
		}
		if fcf == FCFRTP {
			// RTP: page kept, retrain before the next one (T.30 §5.3.6.1.6).
			s.res.Retrains++
			s.sendDCS()
			return
		}
		s.startPage()
	case FCFRTN, FCFPIN:
		s.timer = timerNone
		s.pageTries++
		s.report(PageResult{Page: s.page, Response: fcf, Bytes: len(s.pageData)})
		if s.pageTries > s.cfg.MaxPageRetries {
			s.sendDCN(CopyQuality, fmt.Sprintf("page %d rejected %d times", s.page+1, s.pageTries))
			return
		}
		// RTN: retrain one step lower and send the page again (brief §2.7).
		if s.speedIdx+1 < len(s.speeds) {
			s.speedIdx++
		}
		s.res.Retrains++
		s.sendDCS()
	case FCFCRP:
		s.retryCommand("answered by CRP")
	}
}

// pageDone records a confirmed page and moves on, sending DCN after the
// last one.
func (s *Session) pageDone(resp FCF, accepted bool) {
	if accepted && !s.pageLost {
		s.res.Pages++
	}
	if s.pageLost {
		s.anyLost = true
		resp = FCFERR
	}
	s.report(PageResult{Page: s.page, Response: resp, Accepted: accepted && !s.pageLost, Bytes: len(s.pageData)})
	s.page++
	s.pageTries = 0
	if s.page >= s.cfg.Source.Pages() {
		s.sendDCN(OK, "")
	}
}

func (s *Session) report(p PageResult) {
	p.Format = s.format
	p.Modulation, p.BitRate = s.dcs.Modulation, s.dcs.BitRate
	if s.cfg.OnPage != nil {
		s.cfg.OnPage(p)
	}
}

// --- ECM transmitter (T.30 Annex A) -------------------------------------------

func (s *Session) pageFrames() int {
	return (len(s.pageData) + s.frameSize - 1) / s.frameSize
}

func (s *Session) startBlock() {
	n := s.pageFrames() - s.blockStart
	if n > maxFramesBlock {
		n = maxFramesBlock
	}
	s.blockLen = n
	s.pprCount = 0
	for i := range s.resend {
		s.resend[i] = 0
	}
	for i := 0; i < n; i++ {
		s.resend[i/8] |= 1 << uint(i%8)
	}
	s.postPage = FCFNull
	if s.blockStart+n >= s.pageFrames() {
		s.postPage = s.pageEnd()
	}
	s.sendBurst(false)
}

// sendBurst sends the frames flagged in s.resend, 3 RCP, then the PPS.
func (s *Session) sendBurst(long bool) {
	// One backing array per burst: the frames stay untouched until the
	// transport reports the burst done (frontend contract).
	n := rcpCount
	for i := 0; i < s.blockLen; i++ {
		if s.resend[i/8]&(1<<uint(i%8)) != 0 {
			n++
		}
	}
	frames := make([][]byte, 0, n)
	buf := make([]byte, 0, (n-rcpCount)*(4+s.frameSize)+rcpCount*3)
	for i := 0; i < s.blockLen; i++ {
		if s.resend[i/8]&(1<<uint(i%8)) == 0 {
			continue
		}
		off := (s.blockStart + i) * s.frameSize
		end := off + s.frameSize
		if end > len(s.pageData) {
			end = len(s.pageData)
		}
		start := len(buf)
		buf = AppendFrame(buf, FCFFCD, false, false, byte(i))
		buf = append(buf, s.pageData[off:end]...)
		frames = append(frames, buf[start:len(buf):len(buf)])
	}
	for i := 0; i < rcpCount; i++ {
		start := len(buf)
		buf = AppendFrame(buf, FCFRCP, false, false)
		frames = append(frames, buf[start:len(buf):len(buf)])
	}
	s.enter(stTxPage)
	sp := s.speeds[s.speedIdx]
	s.traceNote(Sent, sp.mod, FCFFCD, fmt.Sprintf("ECM burst: %d frames + %d RCP, page %d block %d",
		len(frames)-rcpCount, rcpCount, s.page+1, s.blockStart/maxFramesBlock))
	s.transmit(Tx{Kind: TxSilence, Duration: gapSilence}, stTxPage, nil)
	pps := s.ppsFrame(FCFPPS)
	s.transmit(Tx{Kind: TxHDLC, Modulation: sp.mod, BitRate: sp.rate, ShortTrain: sp.mod == V17 && !long && !s.longTrain, Frames: frames},
		stTxPage, func() { s.afterImage(stTxPPS, pps, "PPS-"+s.postPage.String()) })
	s.longTrain = false
}

func (s *Session) ppsFrame(fcf FCF) []byte {
	second := byte(s.postPage)
	if s.postPage != FCFNull && s.xbit {
		second |= 1
	}
	return s.frame(fcf, true, second, byte(s.page), byte(s.blockStart/maxFramesBlock), byte(s.blockLen-1))
}

// ecmResponse handles the answer to PPS or RR.
func (s *Session) ecmResponse(f Frame, fcf FCF) {
	switch fcf {
	case FCFMCF:
		s.timer = timerNone
		s.t5On = false
		s.blockConfirmed()
	case FCFPPR:
		s.timer = timerNone
		s.t5On = false
		m, ok := ParsePPR(f.FIF)
		if !ok {
			s.retryCommand("answered by an empty PPR")
			return
		}
		n := 0
		for i := 0; i < s.blockLen; i++ {
			if m[i/8]&(1<<uint(i%8)) != 0 {
				n++
			}
		}
		if n == 0 {
			// A PPR asking for nothing: treat it as confirmation.
			s.blockConfirmed()
			return
		}
		s.resend = m
		s.pprCount++
		if s.pprCount >= pprLimit {
			// T.30 §A.4.4: after the fourth PPR, CTC at a lower rate if
			// there is one, else EOR (brief §2.8).
			if s.ctcIndex() > s.speedIdx {
				sp := s.speeds[s.ctcIndex()]
				d := Settings{Modulation: sp.mod, BitRate: sp.rate}
				fif := d.Encode()[:2]
				s.enter(stTxCTC)
				s.sendCommand(NoResponsePostPage, "CTC", s.frame(FCFCTC, true, fif...))
				return
			}
			s.enter(stTxEOR)
			second := byte(s.postPage)
			if s.postPage != FCFNull && s.xbit {
				second |= 1
			}
			s.sendCommand(NoResponsePostPage, "EOR", s.frame(FCFEOR, true, second))
			return
		}
		s.sendBurst(false)
	case FCFRNR:
		// Receiver not ready: poll with RR until T5 (T.30 §A.4.5).
		s.timer = timerNone
		if !s.t5On {
			s.t5On, s.t5At = true, s.now+s.cfg.Timers.T5
		}
		s.sendCommand(RemoteBusy, "RR", s.frame(FCFRR, true))
	case FCFCRP:
		s.retryCommand("answered by CRP")
	}
}

// ctcIndex is the fallback entry a CTC moves to: the next lower rate.
func (s *Session) ctcIndex() int {
	if s.speedIdx+1 < len(s.speeds) {
		return s.speedIdx + 1
	}
	return s.speedIdx
}

func (s *Session) blockConfirmed() {
	s.blockStart += s.blockLen
	if s.blockStart < s.pageFrames() {
		s.startBlock()
		return
	}
	s.pageDone(FCFMCF, true)
	if s.state == stDone || s.state == stTxDCN {
		return
	}
	if s.postPage == FCFEOM {
		s.nextDocument()
		return
	}
	s.startPage()
}

// pageEnd is the post-page command for the current page: EOP after the
// last page, EOM after the last page of a document (Documents), else MPS.
func (s *Session) pageEnd() FCF {
	switch {
	case s.page == s.cfg.Source.Pages()-1:
		return FCFEOP
	case s.documents != nil && s.documents.EndsDocument(s.page):
		return FCFEOM
	}
	return FCFMPS
}

// nextDocument returns to phase B after EOM was confirmed: the receiver
// sends DIS again (T.30 §5.3.2.5; TSB-85 MRGN09 times it 5-7 s after MCF)
// and a new DCS may choose a new mode.
func (s *Session) nextDocument() {
	s.enter(stWaitDIS)
	s.fe.Receive(RxMode{Kind: RxV21, Modulation: V21, BitRate: 300})
	s.t1On, s.t1At = true, s.now+s.cfg.Timers.T1
}
