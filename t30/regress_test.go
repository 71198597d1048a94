package t30

import (
	"testing"
)

// Regressions found by whole faxes over G.711 with 1 % packet loss against
// spandsp (modem/audio TestRobustnessTable, TestPairLossSmoke; modem/NOTES.md),
// reproduced here on the frame-level channel.

// burstCountPPS makes our sender behave like spandsp 0.0.6 in one respect:
// the frame count of a PPS (T.30 §A.4.2, "frames-1") is the number of FCD
// frames in the burst just sent, not the number of frames in the block, so
// a PPS after a retransmission carries the retransmitted count. It returns
// a faultTx hook; next, if set, sees every transmission after the rewrite.
func burstCountPPS(next func(from int, tx *Tx) bool) func(from int, tx *Tx) bool {
	lastBurst := 0
	return func(from int, tx *Tx) bool {
		if from == 0 && tx.Kind == TxHDLC {
			if tx.Modulation != V21 {
				lastBurst = 0
				for _, f := range tx.Frames {
					if len(f) > 2 && FCF(f[2]) == FCFFCD {
						lastBurst++
					}
				}
			} else if f := tx.Frames[len(tx.Frames)-1]; len(f) >= 7 && FCF(f[2]&^1) == FCFPPS && lastBurst > 0 {
				g := append([]byte(nil), f...)
				g[6] = byte(lastBurst - 1)
				frames := append([][]byte(nil), tx.Frames...)
				frames[len(frames)-1] = g
				tx.Frames = frames // a copy: the session's frames stay untouched
			}
		}
		return next != nil && next(from, tx)
	}
}

// TestECMLostRetransmissionKeepsBlockSize: the tail of a block is hit in
// the first burst, the receiver asks for it with PPR, and the whole
// retransmission burst is lost (a lost packet hits its fast-modem training
// on an audio line). The PPS that follows carries the retransmitted frame
// count (5), smaller than the block (43 frames). The receiver once took
// that count as the block size, found frames 0-37 complete and confirmed
// a truncated page with MCF; it must instead keep the block size of the
// first PPS and ask for the missing frames again (T.4 Annex A: the page
// is confirmed only when every frame of every block is held).
func TestECMLostRetransmissionKeepsBlockSize(t *testing.T) {
	// 200 fine rows of 54 octets plus the end record: 10854 octets, 43
	// frames of 256 in one block.
	p := newPair(t, pairOpts{seed: 31, pages: 1, rows: 200})
	bursts := 0
	p.sim.faultTx = burstCountPPS(func(from int, tx *Tx) bool {
		if from != 0 || tx.Kind != TxHDLC || tx.Modulation == V21 {
			return false
		}
		bursts++
		return bursts == 2 // the first retransmission never arrives
	})
	p.sim.badFrame = func(tx Tx, f []byte) bool {
		return bursts == 1 && f[3] >= 38 // the block's last five frames
	}
	p.run(t, simLimit)
	p.expect(t, OK, OK)
	p.checkPages(t)
	if n := countFrames(p.rx.Trace(), Sent, FCFPPR); n != 2 {
		t.Errorf("PPR sent %d times, want 2 (after the first burst and after the lost one)", n)
	}
	if bursts != 3 {
		t.Errorf("%d fast bursts, want 3", bursts)
	}
}

// TestRepeatedDCSInPhaseC: the sender misses our CFR and repeats DCS+TCF;
// the repeated DCS is lost too, so the TCF after it reaches a receiver
// waiting for the first ECM burst, which trains on it as on any burst at
// that rate (an audio modem cannot tell them apart) and hears no frames.
// The sender's third DCS then arrives while the receiver is in phase C.
// It must be answered: a DCS means the sender is back in phase B, so the
// receiver checks the TCF that follows and answers CFR or FTT again
// (T.30 §5.3.2, TSB-85 MRGN14/15; the sender stops after three tries,
// §5.4.3.1). Seed 9 of modem/audio TestPairLossSmoke, as frames.
func TestRepeatedDCSInPhaseC(t *testing.T) {
	for _, ecm := range []bool{true, false} {
		t.Run(map[bool]string{true: "ecm", false: "non-ecm"}[ecm], func(t *testing.T) {
			p := newPair(t, pairOpts{seed: 32, pages: 1, rows: 100, txCfg: func(c *Config) { c.DisableECM = !ecm }})
			dcs, cfr := 0, 0
			p.sim.faultTx = func(from int, tx *Tx) bool {
				if tx.Kind != TxHDLC || tx.Modulation != V21 {
					return false
				}
				f, _ := ParseFrame(tx.Frames[len(tx.Frames)-1])
				switch {
				case from == 0 && f.FCF == FCFDCS:
					dcs++
					return dcs == 2
				case from == 1 && f.FCF == FCFCFR:
					cfr++
					return cfr == 1
				}
				return false
			}
			p.run(t, simLimit)
			p.expect(t, OK, OK)
			p.checkPages(t)
			if dcs != 3 || cfr != 2 {
				t.Errorf("DCS sent %d times, CFR %d times; want 3 and 2", dcs, cfr)
			}
		})
	}
}

// TestNoResponseFallsBackToV29: the receiver never trains on V.17 and
// then stays silent (it answers neither CFR nor FTT), so DCS+TCF at 14400
// gets no response at all. After the three tries at that modem (T.30
// §5.4.3.1) the sender steps down to V.29, whose 0.25 s training trains,
// instead of giving up.
func TestNoResponseFallsBackToV29(t *testing.T) {
	p := newPair(t, pairOpts{seed: 33, pages: 2, rows: 100})
	v17TCF := 0
	p.sim.faultTx = func(from int, tx *Tx) bool {
		if from == 0 && tx.Kind == TxData && tx.TCF && tx.Modulation == V17 {
			v17TCF++
			return true
		}
		if from == 1 && tx.Kind == TxHDLC && tx.Modulation == V21 {
			f, _ := ParseFrame(tx.Frames[len(tx.Frames)-1])
			return f.FCF == FCFFTT // a receiver that does not answer a missed TCF
		}
		return false
	}
	p.run(t, simLimit)
	p.expect(t, OK, OK)
	p.checkPages(t)
	if v17TCF != 3 {
		t.Errorf("%d TCF at V.17, want 3", v17TCF)
	}
	tr, rr := p.tx.Result(), p.rx.Result()
	if tr.Modulation != V29 || tr.BitRate != 9600 || rr.Modulation != V29 || rr.BitRate != 9600 {
		t.Errorf("ended at %v %d / %v %d, want V.29 9600", tr.Modulation, tr.BitRate, rr.Modulation, rr.BitRate)
	}
	if tr.Retrains != 1 {
		t.Errorf("sender retrains %d, want 1", tr.Retrains)
	}
}

// TestMissedTCFAnsweredByFTT: a lost packet hits the receiver's V.17 long
// training; it hears no TCF and answers FTT when its T2 runs out
// (spandsp: "No TCF data received"). The sender must wait for that FTT
// and step down, not repeat DCS while the receiver still waits for TCF:
// spandsp answers such a DCS with DCN, the usual end of its faxes under
// 1 % loss (modem/NOTES.md).
func TestMissedTCFAnsweredByFTT(t *testing.T) {
	p := newPair(t, pairOpts{seed: 34, pages: 1, rows: 100})
	tcf, early := 0, 0
	p.sim.faultTx = func(from int, tx *Tx) bool {
		if from != 0 {
			return false
		}
		if tx.Kind == TxHDLC && tx.Modulation == V21 && p.rx.state == stRxTCF {
			early++ // would reach a receiver still waiting for TCF
		}
		if tx.Kind == TxData && tx.TCF {
			tcf++
			return tcf == 1
		}
		return false
	}
	p.run(t, simLimit)
	p.expect(t, OK, OK)
	p.checkPages(t)
	if early != 0 {
		t.Errorf("%d transmissions queued while the receiver waited for TCF", early)
	}
	if n := countFrames(p.rx.Trace(), Sent, FCFFTT); n != 1 {
		t.Errorf("FTT sent %d times, want 1", n)
	}
	if tr := p.tx.Result(); tr.BitRate != 12000 || tr.Retrains != 1 {
		t.Errorf("sender at %d with %d retrains, want 12000 after one FTT", tr.BitRate, tr.Retrains)
	}
}
