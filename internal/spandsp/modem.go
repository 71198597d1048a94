//go:build spandsp

package spandsp

/*
#include "bits.h"

// spandsp's V.21 (FSK), V.27ter and V.29 modems behind one C-side peer each way, so the get_bit and
// put_bit callbacks never call back into Go: bits to send and bits received live in C memory.
enum { MODEM_V21 = 1, MODEM_V27TER = 2, MODEM_V29 = 3 };

typedef struct {
	int kind;
	void *st;
	bitsrc src;
} mtx_peer;

static mtx_peer *mtx_new(int kind, int rate, int tep, const uint8_t *bits, int n) {
	mtx_peer *p = calloc(1, sizeof(mtx_peer));
	if (p == NULL)
		return NULL;
	if (bitsrc_load(&p->src, bits, n) != 0) {
		free(p);
		return NULL;
	}
	p->kind = kind;
	switch (kind) {
	case MODEM_V21:
		p->st = fsk_tx_init(NULL, &preset_fsk_specs[FSK_V21CH2], bitsrc_get, &p->src);
		break;
	case MODEM_V27TER:
		p->st = v27ter_tx_init(NULL, rate, tep, bitsrc_get, &p->src);
		break;
	case MODEM_V29:
		p->st = v29_tx_init(NULL, rate, tep, bitsrc_get, &p->src);
		break;
	}
	if (p->st == NULL) {
		free(p->src.bits);
		free(p);
		return NULL;
	}
	return p;
}

static int mtx_run(mtx_peer *p, int16_t *amp, int len) {
	switch (p->kind) {
	case MODEM_V21:
		return fsk_tx((fsk_tx_state_t *) p->st, amp, len);
	case MODEM_V27TER:
		return v27ter_tx((v27ter_tx_state_t *) p->st, amp, len);
	case MODEM_V29:
		return v29_tx((v29_tx_state_t *) p->st, amp, len);
	}
	return 0;
}

static void mtx_free(mtx_peer *p) {
	switch (p->kind) {
	case MODEM_V21:
		fsk_tx_free((fsk_tx_state_t *) p->st);
		break;
	case MODEM_V27TER:
		v27ter_tx_free((v27ter_tx_state_t *) p->st);
		break;
	case MODEM_V29:
		v29_tx_free((v29_tx_state_t *) p->st);
		break;
	}
	free(p->src.bits);
	free(p);
}

typedef struct {
	int kind;
	void *st;
	bitsink sink;
} mrx_peer;

static mrx_peer *mrx_new(int kind, int rate) {
	mrx_peer *p = calloc(1, sizeof(mrx_peer));
	if (p == NULL)
		return NULL;
	p->kind = kind;
	p->sink.maxevents = 256;
	switch (kind) {
	case MODEM_V21:
		p->st = fsk_rx_init(NULL, &preset_fsk_specs[FSK_V21CH2], FSK_FRAME_MODE_SYNC, bitsink_put, &p->sink);
		break;
	case MODEM_V27TER:
		p->st = v27ter_rx_init(NULL, rate, bitsink_put, &p->sink);
		break;
	case MODEM_V29:
		p->st = v29_rx_init(NULL, rate, bitsink_put, &p->sink);
		break;
	}
	if (p->st == NULL) {
		free(p);
		return NULL;
	}
	return p;
}

static void mrx_cutoff(mrx_peer *p, float dbm0) {
	switch (p->kind) {
	case MODEM_V21:
		fsk_rx_signal_cutoff((fsk_rx_state_t *) p->st, dbm0);
		break;
	case MODEM_V27TER:
		v27ter_rx_signal_cutoff((v27ter_rx_state_t *) p->st, dbm0);
		break;
	case MODEM_V29:
		v29_rx_signal_cutoff((v29_rx_state_t *) p->st, dbm0);
		break;
	}
}

static void mrx_run(mrx_peer *p, const int16_t *amp, int len) {
	switch (p->kind) {
	case MODEM_V21:
		fsk_rx((fsk_rx_state_t *) p->st, amp, len);
		break;
	case MODEM_V27TER:
		v27ter_rx((v27ter_rx_state_t *) p->st, amp, len);
		break;
	case MODEM_V29:
		v29_rx((v29_rx_state_t *) p->st, amp, len);
		break;
	}
}

static void mrx_fillin(mrx_peer *p, int len) {
	switch (p->kind) {
	case MODEM_V21:
		fsk_rx_fillin((fsk_rx_state_t *) p->st, len);
		break;
	case MODEM_V27TER:
		v27ter_rx_fillin((v27ter_rx_state_t *) p->st, len);
		break;
	case MODEM_V29:
		v29_rx_fillin((v29_rx_state_t *) p->st, len);
		break;
	}
}

static void mrx_free(mrx_peer *p) {
	switch (p->kind) {
	case MODEM_V21:
		fsk_rx_free((fsk_rx_state_t *) p->st);
		break;
	case MODEM_V27TER:
		v27ter_rx_free((v27ter_rx_state_t *) p->st);
		break;
	case MODEM_V29:
		v29_rx_free((v29_rx_state_t *) p->st);
		break;
	}
	free(p->sink.bits);
	free(p);
}
*/
import "C"

import (
	"fmt"
	"unsafe"
)

// Modulation names one of spandsp's non-V.17 fax modems.
type Modulation int

const (
	ModInvalid Modulation = iota
	ModV21                // V.21 channel 2, 300 bit/s FSK (fsk.c, FSK_V21CH2, synchronous framing)
	ModV27ter             // V.27ter 2400/4800
	ModV29                // V.29 7200/9600
)

func (m Modulation) String() string {
	switch m {
	case ModV21:
		return "V.21"
	case ModV27ter:
		return "V.27ter"
	case ModV29:
		return "V.29"
	}
	return fmt.Sprintf("spandsp.Modulation(%d)", int(m))
}

// spandsp modem status codes (spandsp/async.h SIG_STATUS_*), as ModemRx.Events reports them.
const (
	StatusCarrierDown        = -1
	StatusCarrierUp          = -2
	StatusTrainingInProgress = -3
	StatusTrainingSucceeded  = -4
	StatusTrainingFailed     = -5
)

// ModemTx is a spandsp transmitter sending a fixed bit sequence (one bit per byte), then its own
// shutdown sequence.
type ModemTx struct {
	p *C.mtx_peer
}

// NewModemTx returns a transmitter; rate and tep are ignored for V.21.
func NewModemTx(m Modulation, rate int, tep bool, bits []byte) (*ModemTx, error) {
	var ptr *C.uint8_t
	if len(bits) > 0 {
		ptr = (*C.uint8_t)(unsafe.Pointer(&bits[0]))
	}
	t := 0
	if tep {
		t = 1
	}
	p := C.mtx_new(C.int(m), C.int(rate), C.int(t), ptr, C.int(len(bits)))
	if p == nil {
		return nil, fmt.Errorf("spandsp: %v tx init at %d failed", m, rate)
	}
	return &ModemTx{p: p}, nil
}

// Read generates up to len(amp) samples and returns how many; 0 once the transmission is over.
func (t *ModemTx) Read(amp []int16) int {
	if len(amp) == 0 {
		return 0
	}
	return int(C.mtx_run(t.p, (*C.int16_t)(unsafe.Pointer(&amp[0])), C.int(len(amp))))
}

// Close frees the transmitter.
func (t *ModemTx) Close() {
	if t.p != nil {
		C.mtx_free(t.p)
		t.p = nil
	}
}

// ModemRx is a spandsp receiver collecting the bits and status events it reports.
type ModemRx struct {
	p *C.mrx_peer
}

// NewModemRx returns a receiver; rate is ignored for V.21.
func NewModemRx(m Modulation, rate int) (*ModemRx, error) {
	p := C.mrx_new(C.int(m), C.int(rate))
	if p == nil {
		return nil, fmt.Errorf("spandsp: %v rx init at %d failed", m, rate)
	}
	return &ModemRx{p: p}, nil
}

// SetCutoff sets the carrier-detect cutoff in dBm0 (spandsp's fax engine uses -45.5 for the fast
// modems and -39 for V.21).
func (r *ModemRx) SetCutoff(dbm0 float64) { C.mrx_cutoff(r.p, C.float(dbm0)) }

// Write feeds received samples.
func (r *ModemRx) Write(amp []int16) {
	if len(amp) == 0 {
		return
	}
	C.mrx_run(r.p, (*C.int16_t)(unsafe.Pointer(&amp[0])), C.int(len(amp)))
}

// Fillin tells the receiver n samples were lost.
func (r *ModemRx) Fillin(n int) { C.mrx_fillin(r.p, C.int(n)) }

// Bits returns a copy of every data bit received so far.
func (r *ModemRx) Bits() []byte { return sinkBits(&r.p.sink) }

// Events returns the status codes reported so far and, for each, how many bits had been delivered
// when it arrived.
func (r *ModemRx) Events() (codes, at []int) { return sinkEvents(&r.p.sink) }

// Close frees the receiver.
func (r *ModemRx) Close() {
	if r.p != nil {
		C.mrx_free(r.p)
		r.p = nil
	}
}
