package t30

import (
	"errors"
	"fmt"
	"time"
)

// Role says whether a session sends or receives the document. It is
// independent of who placed the call: a calling receiver polls (DTC), an
// answering sender is polled (T.30 §5.3.6.1.2).
type Role uint8

const (
	// Send: we transmit the document from Config.Source.
	Send Role = iota + 1
	// Receive: we receive into Config.Sink.
	Receive
)

// String returns "send" or "receive".
func (r Role) String() string {
	switch r {
	case Send:
		return "send"
	case Receive:
		return "receive"
	}
	return fmt.Sprintf("Role(%d)", uint8(r))
}

// Timers are the T.30 §5.4.3 timers; a zero field takes the default.
type Timers struct {
	// T1 bounds phase B identification (35 ± 5 s).
	T1 time.Duration
	// T2 is the receiver's wait for a command or the page (6 ± 1 s).
	T2 time.Duration
	// T3 is the procedure-interrupt alert time (10 ± 5 s). This engine
	// implements no operator interrupt, so T3 is unused: PIP is handled as
	// MCF and PIN as RTN (brief §2.7).
	T3 time.Duration
	// T4 is the wait for a response before a command is repeated (3 s ±
	// 15 %).
	T4 time.Duration
	// T5 bounds the ECM receive-not-ready loop (60 ± 5 s).
	T5 time.Duration
}

// Default timer values. T2 and T4 follow spandsp's choices inside the T.30
// tolerances (7 s, 3.45 s), which suit VoIP delay better than the nominal
// values; RelaxedTimers stretches T4 further for T.38 paths (brief §2.5).
const (
	DefaultT1 = 35 * time.Second
	DefaultT2 = 7 * time.Second
	DefaultT3 = 15 * time.Second
	DefaultT4 = 3450 * time.Millisecond
	DefaultT5 = 65 * time.Second
	// relaxedT4 is the upper T.30 tolerance for manually operated units.
	relaxedT4 = 5 * time.Second
	// flaggedExtension is how long a wait is extended when flags of an
	// incoming V.21 frame are seen (spandsp DEFAULT_TIMER_T2_FLAGGED/T4_FLAGGED).
	flaggedExtension = 3 * time.Second
)

// Config configures a Session.
type Config struct {
	// FrontEnd is the transport (required).
	FrontEnd FrontEnd
	Role     Role
	// Calling is true when we placed the call: we send CNG and wait for DIS.
	// The answering side sends CED and DIS.
	Calling bool
	// Ident is our TSI/CSI/CIG (up to 20 printable characters, T.30
	// §5.3.6.2.4), normally the fax number in international form.
	Ident string
	// Source supplies the pages (required for Send).
	Source Source
	// Sink takes received pages (required for Receive).
	Sink Sink

	// DisableECM turns ECM off (ECM is on by default, brief §0). Without ECM
	// MMR is not used.
	DisableECM bool
	// DisableV17 limits us to V.29/V.27ter (an interop escape hatch, brief §0).
	DisableV17 bool
	// MaxBitRate caps the rate, e.g. the peer's T38MaxBitRate; 0 = 14400.
	MaxBitRate int
	// Compressions we accept or use; nil means MH, MR and MMR.
	Compressions []Compression
	// Resolutions the receiver accepts; nil means standard, fine, superfine.
	Resolutions []Resolution
	// MaxWidth the receiver accepts; 0 means WidthA3.
	MaxWidth int
	// MinScanTime is the receiver's minimum scan line time in ms, one of 0,
	// 5, 10, 20, 40 (we have no paper to feed, so the default is 0).
	MinScanTime int

	// LocalTCF: the transport checks TCF itself (T.38 localTCF, brief §1.7),
	// so a trained carrier that ends without data counts as a good TCF.
	LocalTCF bool
	// RelaxedTimers lengthens T4 to 5 s for high-delay paths (spandsp
	// T30_IAF_MODE_RELAXED_TIMERS).
	RelaxedTimers bool
	Timers        Timers

	// MaxPageRetries is how often a page rejected with RTN is sent again
	// (default 3, brief §6.3 RTN-1).
	MaxPageRetries int

	// OnPage, if set, is called once per page with its outcome.
	OnPage func(PageResult)
}

// Configuration errors.
var (
	ErrNoFrontEnd = errors.New("t30: config has no FrontEnd")
	ErrNoSource   = errors.New("t30: sending session has no Source")
	ErrNoSink     = errors.New("t30: receiving session has no Sink")
	ErrRole       = errors.New("t30: config role is neither Send nor Receive")
	ErrNoPages    = errors.New("t30: source has no pages")
)

func (c *Config) validate() error {
	if c.FrontEnd == nil {
		return ErrNoFrontEnd
	}
	switch c.Role {
	case Send:
		if c.Source == nil {
			return ErrNoSource
		}
		if c.Source.Pages() < 1 {
			return ErrNoPages
		}
	case Receive:
		if c.Sink == nil {
			return ErrNoSink
		}
	default:
		return ErrRole
	}
	switch c.MinScanTime {
	case 0, 5, 10, 20, 40:
	default:
		return fmt.Errorf("t30: minimum scan time %d ms is not one of 0, 5, 10, 20, 40", c.MinScanTime)
	}
	if c.Timers.T1 == 0 {
		c.Timers.T1 = DefaultT1
	}
	if c.Timers.T2 == 0 {
		c.Timers.T2 = DefaultT2
	}
	if c.Timers.T3 == 0 {
		c.Timers.T3 = DefaultT3
	}
	if c.Timers.T4 == 0 {
		c.Timers.T4 = DefaultT4
		if c.RelaxedTimers {
			c.Timers.T4 = relaxedT4
		}
	}
	if c.Timers.T5 == 0 {
		c.Timers.T5 = DefaultT5
	}
	if c.MaxBitRate == 0 {
		c.MaxBitRate = 14400
	}
	if c.MaxWidth == 0 {
		c.MaxWidth = WidthA3
	}
	if c.MaxPageRetries == 0 {
		c.MaxPageRetries = 3
	}
	return nil
}

func (c *Config) allowsCompression(x Compression) bool {
	if c.Compressions == nil {
		return true
	}
	for _, v := range c.Compressions {
		if v == x {
			return true
		}
	}
	return false
}

func (c *Config) allowsResolution(x Resolution) bool {
	if c.Resolutions == nil {
		return true
	}
	for _, v := range c.Resolutions {
		if v == x {
			return true
		}
	}
	return false
}

// speed is one entry of the fallback table.
type speed struct {
	mod  Modulation
	rate int
}

// fallback is spandsp's step-down order (brief §2.4): 14400 V.17 → 12000
// V.17 → 9600 V.17 → 9600 V.29 → 7200 V.17 → 7200 V.29 → 4800 V.27ter →
// 2400 V.27ter.
var fallback = [...]speed{
	{V17, 14400}, {V17, 12000}, {V17, 9600}, {V29, 9600},
	{V17, 7200}, {V29, 7200}, {V27ter, 4800}, {V27ter, 2400},
}

// usable reports whether both we (config) and the remote (DIS) can use sp.
func (c *Config) usable(sp speed, remote Capabilities) bool {
	if sp.rate > c.MaxBitRate {
		return false
	}
	switch sp.mod {
	case V17:
		return remote.V17 && !c.DisableV17
	case V29:
		return remote.V29
	case V27ter:
		return remote.V27ter || sp.rate == 2400
	}
	return false
}

// ourCapabilities is the DIS/DTC we advertise.
func (c *Config) ourCapabilities() Capabilities {
	caps := Capabilities{
		CanReceive:      c.Role == Receive,
		ReadyToTransmit: c.Role == Send,
		V27ter:          c.MaxBitRate >= 4800,
		V29:             c.MaxBitRate >= 7200,
		V17:             c.MaxBitRate >= 7200 && !c.DisableV17,
		Fine:            c.allowsResolution(Fine),
		Superfine:       c.allowsResolution(Superfine),
		MR:              c.allowsCompression(MR),
		ECM:             !c.DisableECM,
		MMR:             !c.DisableECM && c.allowsCompression(MMR),
		MaxWidth:        c.MaxWidth,
		Length:          2,
		Metric:          true,
	}
	caps.ScanCode = map[int]int{20: 0, 5: 1, 10: 2, 40: 4, 0: 7}[c.MinScanTime]
	return caps
}
