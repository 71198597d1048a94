//go:build spandsp

package spandsp

/*
#cgo pkg-config: libtiff-4
#include <stdlib.h>
#include <string.h>
#include <spandsp.h>

// One spandsp T.38 terminal and the packets it has handed out since the Go side last looked. spandsp
// has no UDPTL (reference brief §6.2): its tx handler passes one IFP and a repeat count, and the Go side
// wraps it. Keeping the queue in C avoids calling back into Go from spandsp.
#define PEER_MAX_PKTS 512
#define PEER_MAX_LEN 1024
typedef struct {
	t38_terminal_state_t *t38;
	int n;
	int overflow;
	int lens[PEER_MAX_PKTS];
	int counts[PEER_MAX_PKTS];
	uint8_t pkts[PEER_MAX_PKTS][PEER_MAX_LEN];
	int done;
	int completion;
} t38_peer;

static int peer_tx(t38_core_state_t *s, void *user, const uint8_t *buf, int len, int count) {
	t38_peer *p = (t38_peer *) user;
	if (p->n >= PEER_MAX_PKTS || len > PEER_MAX_LEN || len < 0) {
		p->overflow++;
		return 0;
	}
	memcpy(p->pkts[p->n], buf, len);
	p->lens[p->n] = len;
	p->counts[p->n] = count;
	p->n++;
	return 0;
}

static void peer_phase_e(t30_state_t *s, void *user, int completion) {
	t38_peer *p = (t38_peer *) user;
	p->done = 1;
	p->completion = completion;
}

static t38_peer *peer_new(int calling) {
	t38_peer *p = calloc(1, sizeof(t38_peer));
	if (p == NULL)
		return NULL;
	p->t38 = t38_terminal_init(NULL, calling, peer_tx, p);
	if (p->t38 == NULL) {
		free(p);
		return NULL;
	}
	t30_set_phase_e_handler(t38_terminal_get_t30_state(p->t38), peer_phase_e, p);
	return p;
}

static void peer_free(t38_peer *p) {
	t38_terminal_free(p->t38);
	free(p);
}

static void peer_log(t38_peer *p, int level) {
	span_log_set_level(t38_terminal_get_logging_state(p->t38), level);
	span_log_set_level(t38_core_get_logging_state(t38_terminal_get_t38_core_state(p->t38)), level);
	span_log_set_level(t30_get_logging_state(t38_terminal_get_t30_state(p->t38)), level);
}

static t30_state_t *peer_t30(t38_peer *p) { return t38_terminal_get_t30_state(p->t38); }
static t38_core_state_t *peer_core(t38_peer *p) { return t38_terminal_get_t38_core_state(p->t38); }
*/
import "C"

import (
	"errors"
	"fmt"
	"unsafe"
)

// Modem support bits for T38Config.Modems (spandsp T30_SUPPORT_*).
const (
	ModemV27ter = C.T30_SUPPORT_V27TER
	ModemV29    = C.T30_SUPPORT_V29
	ModemV17    = C.T30_SUPPORT_V17
)

// Compression support bits for T38Config.Compressions (spandsp T30_SUPPORT_*_COMPRESSION).
const (
	CompressMH  = C.T30_SUPPORT_T4_1D_COMPRESSION
	CompressMR  = C.T30_SUPPORT_T4_2D_COMPRESSION
	CompressMMR = C.T30_SUPPORT_T6_COMPRESSION
)

// Terminal options for T38Config.Options (spandsp T38_TERMINAL_OPTION_*).
const (
	// OptionNoPacing sends data as fast as it comes (TCP/TPKT style).
	OptionNoPacing = C.T38_TERMINAL_OPTION_NO_PACING
	// OptionRegularIndicators repeats the current indicator during idle periods.
	OptionRegularIndicators = C.T38_TERMINAL_OPTION_REGULAR_INDICATORS
	// Option2sRepeatingIndicators repeats it every 2 s.
	Option2sRepeatingIndicators = C.T38_TERMINAL_OPTION_2S_REPEATING_INDICATORS
)

// T38Config configures a spandsp T.38 terminal peer.
type T38Config struct {
	// Calling: the peer placed the call (sends CNG, waits for DIS).
	Calling bool
	// Version is T38FaxVersion; it selects the IFP syntax (spandsp: 0 = 1998, others 2002).
	Version int
	// ECM enables error correction mode.
	ECM bool
	// Modems and Compressions restrict what the peer offers/uses; 0 = spandsp's defaults
	// (all modems; MH and MR).
	Modems       int
	Compressions int
	// TxFile is a TIFF-F to send (the peer is the sender); RxFile is where received pages go.
	TxFile, RxFile string
	// Ident is the peer's TSI/CSI.
	Ident string
	// MaxDatagram is our T38FaxMaxDatagram as the peer sees it (0 = 400).
	MaxDatagram int
	// Options are T38_TERMINAL_OPTION_* bits (t38_terminal_set_config); 0 = spandsp's defaults.
	Options int
	// Log turns spandsp's flow logging on (to stderr), for debugging a failing interop run.
	Log bool
}

// T38Packet is one IFP spandsp sent, with the number of copies it asked for.
type T38Packet struct {
	IFP   []byte
	Count int
}

// T38Stats is spandsp's view of the transfer (t30_stats_t).
type T38Stats struct {
	BitRate, PagesTx, PagesRx, Width, Length, Encoding, BadRows int
	ECM                                                         bool
	XRes, YRes                                                  int // pixels per metre
	RemoteIdent                                                 string
}

// T38Terminal is a spandsp t38_terminal_state_t run in virtual time: the caller advances it in
// samples (8000 per second) and moves IFPs in and out.
type T38Terminal struct {
	p     *C.t38_peer
	cstrs []*C.char
}

// NewT38Terminal starts a spandsp T.38 terminal.
func NewT38Terminal(cfg T38Config) (*T38Terminal, error) {
	p := C.peer_new(cbool(cfg.Calling))
	if p == nil {
		return nil, errors.New("spandsp: t38_terminal_init failed")
	}
	t := &T38Terminal{p: p}
	t30s := C.peer_t30(p)
	core := C.peer_core(p)
	C.t38_set_t38_version(core, C.int(cfg.Version))
	md := cfg.MaxDatagram
	if md == 0 {
		md = 400
	}
	C.t38_set_max_datagram_size(core, C.int(md))
	C.t30_set_ecm_capability(t30s, cbool(cfg.ECM))
	if cfg.Modems != 0 {
		C.t30_set_supported_modems(t30s, C.int(cfg.Modems))
	}
	if cfg.Compressions != 0 {
		C.t30_set_supported_compressions(t30s, C.int(cfg.Compressions))
	}
	if cfg.Ident != "" {
		C.t30_set_tx_ident(t30s, t.cstr(cfg.Ident))
	}
	if cfg.TxFile != "" {
		C.t30_set_tx_file(t30s, t.cstr(cfg.TxFile), -1, -1)
	}
	if cfg.RxFile != "" {
		C.t30_set_rx_file(t30s, t.cstr(cfg.RxFile), -1)
	}
	if cfg.Options != 0 {
		C.t38_terminal_set_config(p.t38, C.int(cfg.Options))
	}
	if cfg.Log {
		C.peer_log(p, C.SPAN_LOG_SHOW_SEVERITY|C.SPAN_LOG_SHOW_PROTOCOL|C.SPAN_LOG_FLOW)
	}
	return t, nil
}

func cbool(b bool) C.int {
	if b {
		return 1
	}
	return 0
}

func (t *T38Terminal) cstr(s string) *C.char {
	c := C.CString(s)
	t.cstrs = append(t.cstrs, c)
	return c
}

// Close frees the spandsp state.
func (t *T38Terminal) Close() {
	if t.p != nil {
		C.peer_free(t.p)
		t.p = nil
	}
	for _, c := range t.cstrs {
		C.free(unsafe.Pointer(c))
	}
	t.cstrs = nil
}

// Advance moves spandsp's clock by samples (1/8000 s) and runs its timers and transmitter
// (t38_terminal_send_timeout). It reports whether spandsp wants to stop (call over).
func (t *T38Terminal) Advance(samples int) bool {
	return C.t38_terminal_send_timeout(t.p.t38, C.int(samples)) != 0
}

// TakePackets returns the IFPs spandsp sent since the last call (copied out of spandsp's queue).
func (t *T38Terminal) TakePackets() ([]T38Packet, error) {
	n := int(t.p.n)
	out := make([]T38Packet, 0, n)
	for i := 0; i < n; i++ {
		l := int(t.p.lens[i])
		b := C.GoBytes(unsafe.Pointer(&t.p.pkts[i][0]), C.int(l))
		out = append(out, T38Packet{IFP: b, Count: int(t.p.counts[i])})
	}
	t.p.n = 0
	if t.p.overflow != 0 {
		t.p.overflow = 0
		return out, errors.New("spandsp: T.38 packet queue overflowed")
	}
	return out, nil
}

// Input hands spandsp one received IFP with its UDPTL sequence number (t38_core_rx_ifp_packet, which
// detects gaps and repeats from seq itself).
func (t *T38Terminal) Input(ifp []byte, seq uint16) error {
	if len(ifp) == 0 {
		return errors.New("spandsp: empty IFP")
	}
	if r := C.t38_core_rx_ifp_packet(C.peer_core(t.p), (*C.uint8_t)(unsafe.Pointer(&ifp[0])), C.int(len(ifp)), C.uint16_t(seq)); r < 0 {
		return fmt.Errorf("spandsp: t38_core_rx_ifp_packet rejected %X", ifp)
	}
	return nil
}

// Done reports whether phase E has been reached, and spandsp's completion code (T30_ERR_*, 0 = OK)
// with its text.
func (t *T38Terminal) Done() (done bool, code int, text string) {
	if t.p.done == 0 {
		return false, 0, ""
	}
	c := int(t.p.completion)
	return true, c, C.GoString(C.t30_completion_code_to_str(C.int(c)))
}

// Stats returns spandsp's transfer statistics.
func (t *T38Terminal) Stats() T38Stats {
	var s C.t30_stats_t
	t30s := C.peer_t30(t.p)
	C.t30_get_transfer_statistics(t30s, &s)
	st := T38Stats{BitRate: int(s.bit_rate), PagesTx: int(s.pages_tx), PagesRx: int(s.pages_rx), Width: int(s.width),
		Length: int(s.length), Encoding: int(s.encoding), BadRows: int(s.bad_rows), ECM: s.error_correcting_mode != 0,
		XRes: int(s.x_resolution), YRes: int(s.y_resolution)}
	if id := C.t30_get_rx_ident(t30s); id != nil {
		st.RemoteIdent = C.GoString(id)
	}
	return st
}
