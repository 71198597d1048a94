package audio

import (
	"github.com/faxseal/faxseal/modem/g711"
	"github.com/faxseal/faxseal/t30"
)

// Monitor demodulates one direction of a recorded fax call without taking part in it, for
// `faxseal analyze` on G.711 captures. It listens for V.21 control frames all the time; when it sees
// a DCS (the sender's choice of modem and rate, T.30 §5.3.6.1) it expects TCF on that modem next,
// then the page: ECM frames (HDLC) or the non-ECM T.4 stream, with V.17 short training after the
// first long one. A DCS repeated later (retrain, fallback) switches again.
//
// Events are those of Transport: EventTone, EventCarrierUp/Down, EventHDLC (V.21 and ECM frames,
// with FCS verdicts), EventTrained/EventTrainingFailed and EventData (TCF and non-ECM page bytes).
type Monitor struct {
	tr      *Transport
	dcs     t30.Settings
	haveDCS bool
	bursts  int // fast bursts since the last DCS
	events  []t30.Event
}

// NewMonitor returns a monitor for a stream coded with law.
func NewMonitor(law g711.Law) *Monitor {
	m := &Monitor{tr: New(law)}
	m.tr.Receive(t30.RxMode{Kind: t30.RxV21, Modulation: t30.V21, BitRate: 300})
	return m
}

// Rx feeds one received block of linear samples.
func (m *Monitor) Rx(samples []int16) { m.tr.Rx(samples); m.follow() }

// RxG711 feeds one G.711 packet.
func (m *Monitor) RxG711(payload []byte) { m.tr.RxG711(payload); m.follow() }

// RxFillin bridges a lost packet (a sequence gap in the capture).
func (m *Monitor) RxFillin(n int) { m.tr.RxFillin(n); m.follow() }

// Events returns the events since the last call, valid until the next Rx call.
func (m *Monitor) Events() []t30.Event {
	ev := m.events
	m.events = m.events[:0]
	return ev
}

// follow collects the transport's events and steers its receive mode by what they show.
func (m *Monitor) follow() {
	evs := m.tr.Events()
	m.events = append(m.events[:0], evs...)
	for _, ev := range evs {
		switch ev.Kind {
		case t30.EventHDLC:
			if ev.Modulation != t30.V21 || !ev.FCSOK {
				continue
			}
			f, err := t30.ParseFrame(ev.Frame)
			if err != nil || f.FCF != t30.FCFDCS {
				continue
			}
			s, err := t30.ParseDCS(f.FIF)
			if err != nil {
				continue
			}
			m.dcs, m.haveDCS, m.bursts = s, true, 0
			// TCF follows the DCS, always with long training (T.30 §5.2).
			m.tr.Receive(t30.RxMode{Kind: t30.RxData, Modulation: s.Modulation, BitRate: s.BitRate})
		case t30.EventCarrierDown:
			if ev.Modulation == t30.V21 || !m.haveDCS {
				continue
			}
			m.bursts++
			kind := t30.RxData
			if m.dcs.ECM {
				kind = t30.RxHDLC
			}
			// After TCF comes the page; a V.17 page uses short training (T.30 §5.2, brief §3.4).
			m.tr.Receive(t30.RxMode{Kind: kind, Modulation: m.dcs.Modulation, BitRate: m.dcs.BitRate,
				ShortTrain: m.dcs.Modulation == t30.V17})
		}
	}
}
