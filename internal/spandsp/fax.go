//go:build spandsp

package spandsp

/*
#include <stdlib.h>
#include <spandsp.h>

// One spandsp audio fax terminal (fax_state_t: T.30 over its own V.21/V.27ter/V.29/V.17 modems), run
// in virtual time by the Go side feeding and pulling samples.
typedef struct {
	fax_state_t *fax;
	int done;
	int completion;
} fax_peer;

static void faxpeer_phase_e(t30_state_t *s, void *user, int completion) {
	fax_peer *p = (fax_peer *) user;
	p->done = 1;
	p->completion = completion;
}

static fax_peer *faxpeer_new(int calling) {
	fax_peer *p = calloc(1, sizeof(fax_peer));
	if (p == NULL)
		return NULL;
	p->fax = fax_init(NULL, calling);
	if (p->fax == NULL) {
		free(p);
		return NULL;
	}
	// Always produce the samples asked for (silence when idle), as an RTP sender must.
	fax_set_transmit_on_idle(p->fax, 1);
	t30_set_phase_e_handler(fax_get_t30_state(p->fax), faxpeer_phase_e, p);
	return p;
}

static void faxpeer_free(fax_peer *p) {
	fax_free(p->fax);
	free(p);
}

static void faxpeer_log(fax_peer *p, int level) {
	span_log_set_level(fax_get_logging_state(p->fax), level);
	span_log_set_level(t30_get_logging_state(fax_get_t30_state(p->fax)), level);
}

static t30_state_t *faxpeer_t30(fax_peer *p) { return fax_get_t30_state(p->fax); }
*/
import "C"

import (
	"errors"
	"unsafe"
)

// FaxConfig configures a spandsp audio fax terminal.
type FaxConfig struct {
	// Calling: the peer placed the call (sends CNG, waits for DIS).
	Calling bool
	// ECM enables error correction mode.
	ECM bool
	// Modems and Compressions restrict what the peer offers/uses (T30_SUPPORT_* bits, the same
	// constants as T38Config: ModemV27ter, ModemV29, ModemV17, Compress*); 0 = spandsp's defaults.
	Modems       int
	Compressions int
	// TxFile is a TIFF-F to send (the peer is the sender); RxFile is where received pages go.
	TxFile, RxFile string
	// Ident is the peer's TSI/CSI.
	Ident string
	// Log turns spandsp's flow logging on (to stderr), for debugging a failing interop run.
	Log bool
}

// FaxStats is spandsp's view of the transfer (t30_stats_t).
type FaxStats struct {
	BitRate, PagesTx, PagesRx, BadRows int
	ECM                                bool
	RemoteIdent                        string
}

// FaxTerminal is spandsp's fax_state_t: 8 kHz linear audio in and out, time advancing with the
// samples.
type FaxTerminal struct {
	p     *C.fax_peer
	cstrs []*C.char
}

// NewFaxTerminal starts a spandsp audio fax terminal.
func NewFaxTerminal(cfg FaxConfig) (*FaxTerminal, error) {
	p := C.faxpeer_new(cbool(cfg.Calling))
	if p == nil {
		return nil, errors.New("spandsp: fax_init failed")
	}
	f := &FaxTerminal{p: p}
	t30s := C.faxpeer_t30(p)
	C.t30_set_ecm_capability(t30s, cbool(cfg.ECM))
	if cfg.Modems != 0 {
		C.t30_set_supported_modems(t30s, C.int(cfg.Modems))
	}
	if cfg.Compressions != 0 {
		C.t30_set_supported_compressions(t30s, C.int(cfg.Compressions))
	}
	if cfg.Ident != "" {
		C.t30_set_tx_ident(t30s, f.cstr(cfg.Ident))
	}
	if cfg.TxFile != "" {
		C.t30_set_tx_file(t30s, f.cstr(cfg.TxFile), -1, -1)
	}
	if cfg.RxFile != "" {
		C.t30_set_rx_file(t30s, f.cstr(cfg.RxFile), -1)
	}
	if cfg.Log {
		C.faxpeer_log(p, C.SPAN_LOG_SHOW_SEVERITY|C.SPAN_LOG_SHOW_PROTOCOL|C.SPAN_LOG_FLOW)
	}
	return f, nil
}

func (f *FaxTerminal) cstr(s string) *C.char {
	c := C.CString(s)
	f.cstrs = append(f.cstrs, c)
	return c
}

// Close frees the spandsp state.
func (f *FaxTerminal) Close() {
	if f.p != nil {
		C.faxpeer_free(f.p)
		f.p = nil
	}
	for _, c := range f.cstrs {
		C.free(unsafe.Pointer(c))
	}
	f.cstrs = nil
}

// Rx hands spandsp received samples (fax_rx).
func (f *FaxTerminal) Rx(amp []int16) {
	if len(amp) > 0 {
		C.fax_rx(f.p.fax, (*C.int16_t)(unsafe.Pointer(&amp[0])), C.int(len(amp)))
	}
}

// RxFillin tells spandsp n samples were lost (fax_rx_fillin).
func (f *FaxTerminal) RxFillin(n int) { C.fax_rx_fillin(f.p.fax, C.int(n)) }

// Tx fills amp with the samples spandsp sends next (fax_tx; silence when idle).
func (f *FaxTerminal) Tx(amp []int16) {
	if len(amp) == 0 {
		return
	}
	n := int(C.fax_tx(f.p.fax, (*C.int16_t)(unsafe.Pointer(&amp[0])), C.int(len(amp))))
	clear(amp[max(n, 0):])
}

// Done reports whether phase E has been reached, and spandsp's completion code (T30_ERR_*, 0 = OK)
// with its text.
func (f *FaxTerminal) Done() (done bool, code int, text string) {
	if f.p.done == 0 {
		return false, 0, ""
	}
	c := int(f.p.completion)
	return true, c, C.GoString(C.t30_completion_code_to_str(C.int(c)))
}

// Stats returns spandsp's transfer statistics.
func (f *FaxTerminal) Stats() FaxStats {
	var s C.t30_stats_t
	t30s := C.faxpeer_t30(f.p)
	C.t30_get_transfer_statistics(t30s, &s)
	st := FaxStats{BitRate: int(s.bit_rate), PagesTx: int(s.pages_tx), PagesRx: int(s.pages_rx),
		BadRows: int(s.bad_rows), ECM: s.error_correcting_mode != 0}
	if id := C.t30_get_rx_ident(t30s); id != nil {
		st.RemoteIdent = C.GoString(id)
	}
	return st
}
