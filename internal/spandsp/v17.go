//go:build spandsp

package spandsp

/*
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <spandsp.h>

static long long v17_thread_cpu_ns(void) {
	struct timespec ts;
	if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) != 0)
		return 0;
	return (long long) ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

// A spandsp V.17 transmitter and the bits it sends. The bits live in C memory so spandsp's get_bit
// callback never calls back into Go.
typedef struct {
	v17_tx_state_t *tx;
	uint8_t *bits;
	int nbits;
	int pos;
} v17tx_peer;

static int v17tx_get_bit(void *user) {
	v17tx_peer *p = (v17tx_peer *) user;
	if (p->pos >= p->nbits)
		return SIG_STATUS_END_OF_DATA;
	return p->bits[p->pos++];
}

static v17tx_peer *v17tx_new(int rate, int tep) {
	v17tx_peer *p = calloc(1, sizeof(v17tx_peer));
	if (p == NULL)
		return NULL;
	p->tx = v17_tx_init(NULL, rate, tep, v17tx_get_bit, p);
	if (p->tx == NULL) {
		free(p);
		return NULL;
	}
	return p;
}

static int v17tx_load(v17tx_peer *p, const uint8_t *bits, int n) {
	uint8_t *b = NULL;
	if (n > 0) {
		b = malloc(n);
		if (b == NULL)
			return -1;
		memcpy(b, bits, n);
	}
	free(p->bits);
	p->bits = b;
	p->nbits = n;
	p->pos = 0;
	return 0;
}

static void v17tx_free(v17tx_peer *p) {
	v17_tx_free(p->tx);
	free(p->bits);
	free(p);
}

// A spandsp V.17 receiver and what it has delivered: data bits, and status events (negative values
// of put_bit, SIG_STATUS_*) with the bit count at which each arrived.
typedef struct {
	v17_rx_state_t *rx;
	uint8_t *bits;
	int nbits;
	int cap;
	int events[64];
	int event_at[64];
	int nevents;
} v17rx_peer;

static void v17rx_put_bit(void *user, int bit) {
	v17rx_peer *p = (v17rx_peer *) user;
	if (bit < 0) {
		if (p->nevents < 64) {
			p->events[p->nevents] = bit;
			p->event_at[p->nevents] = p->nbits;
			p->nevents++;
		}
		return;
	}
	if (p->nbits >= p->cap) {
		int cap = p->cap ? 2*p->cap : 65536;
		uint8_t *b = realloc(p->bits, cap);
		if (b == NULL)
			return;
		p->bits = b;
		p->cap = cap;
	}
	p->bits[p->nbits++] = (uint8_t) (bit & 1);
}

static v17rx_peer *v17rx_new(int rate) {
	v17rx_peer *p = calloc(1, sizeof(v17rx_peer));
	if (p == NULL)
		return NULL;
	p->rx = v17_rx_init(NULL, rate, v17rx_put_bit, p);
	if (p->rx == NULL) {
		free(p);
		return NULL;
	}
	return p;
}

static void v17rx_free(v17rx_peer *p) {
	v17_rx_free(p->rx);
	free(p->bits);
	free(p);
}
*/
import "C"

import (
	"fmt"
	"unsafe"
)

// spandsp modem status codes (spandsp/async.h SIG_STATUS_*), as V17Rx.Events reports them.
const (
	V17CarrierDown       = -1
	V17CarrierUp         = -2
	V17TrainingStarted   = -3
	V17TrainingSucceeded = -4
	V17TrainingFailed    = -5
)

// V17Tx is spandsp's V.17 transmitter sending a fixed bit sequence, then its turn-off sequence.
type V17Tx struct {
	p *C.v17tx_peer
}

// NewV17Tx returns a transmitter at rate (7200..14400), long training, with or without TEP.
func NewV17Tx(rate int, tep bool) (*V17Tx, error) {
	p := C.v17tx_new(C.int(rate), v17Bool(tep))
	if p == nil {
		return nil, fmt.Errorf("spandsp: v17_tx_init(%d) failed", rate)
	}
	return &V17Tx{p: p}, nil
}

// Restart begins a new transmission sending bits (one per byte, 0 or 1).
func (t *V17Tx) Restart(rate int, tep, short bool, bits []byte) error {
	if C.v17_tx_restart(t.p.tx, C.int(rate), v17Bool(tep), v17Bool(short)) != 0 {
		return fmt.Errorf("spandsp: v17_tx_restart(%d) failed", rate)
	}
	var ptr *C.uint8_t
	if len(bits) > 0 {
		ptr = (*C.uint8_t)(unsafe.Pointer(&bits[0]))
	}
	if C.v17tx_load(t.p, ptr, C.int(len(bits))) != 0 {
		return fmt.Errorf("spandsp: out of memory")
	}
	return nil
}

// SetPower sets the transmit level in dBm0.
func (t *V17Tx) SetPower(dbm0 float64) { C.v17_tx_power(t.p.tx, C.float(dbm0)) }

// Transmit fills dst and returns how many samples spandsp produced (fewer once it has shut down).
func (t *V17Tx) Transmit(dst []int16) int {
	if len(dst) == 0 {
		return 0
	}
	return int(C.v17_tx(t.p.tx, (*C.int16_t)(unsafe.Pointer(&dst[0])), C.int(len(dst))))
}

// Close frees the transmitter.
func (t *V17Tx) Close() {
	if t.p != nil {
		C.v17tx_free(t.p)
		t.p = nil
	}
}

// V17Rx is spandsp's V.17 receiver, collecting the bits and events it delivers.
type V17Rx struct {
	p *C.v17rx_peer
}

// NewV17Rx returns a receiver at rate expecting a long training.
func NewV17Rx(rate int) (*V17Rx, error) {
	p := C.v17rx_new(C.int(rate))
	if p == nil {
		return nil, fmt.Errorf("spandsp: v17_rx_init(%d) failed", rate)
	}
	return &V17Rx{p: p}, nil
}

// Restart prepares for the next transmission and clears the collected bits and events.
func (r *V17Rx) Restart(rate int, short bool) error {
	if C.v17_rx_restart(r.p.rx, C.int(rate), v17Bool(short)) != 0 {
		return fmt.Errorf("spandsp: v17_rx_restart(%d) failed", rate)
	}
	r.p.nbits = 0
	r.p.nevents = 0
	return nil
}

// Receive feeds samples.
func (r *V17Rx) Receive(samples []int16) {
	if len(samples) == 0 {
		return
	}
	C.v17_rx(r.p.rx, (*C.int16_t)(unsafe.Pointer(&samples[0])), C.int(len(samples)))
}

// FillIn tells the receiver n samples were lost.
func (r *V17Rx) FillIn(n int) { C.v17_rx_fillin(r.p.rx, C.int(n)) }

// Bits returns a copy of the data bits received so far.
func (r *V17Rx) Bits() []byte {
	if r.p.nbits == 0 {
		return nil
	}
	return C.GoBytes(unsafe.Pointer(r.p.bits), r.p.nbits)
}

// Events returns the status events received so far (V17* values).
func (r *V17Rx) Events() []int {
	out := make([]int, int(r.p.nevents))
	for i := range out {
		out[i] = int(r.p.events[i])
	}
	return out
}

// Close frees the receiver.
func (r *V17Rx) Close() {
	if r.p != nil {
		C.v17rx_free(r.p)
		r.p = nil
	}
}

func v17Bool(b bool) C.int {
	if b {
		return 1
	}
	return 0
}

// ThreadCPUTime returns the CPU time the calling OS thread has used, in nanoseconds
// (CLOCK_THREAD_CPUTIME_ID). Benchmarks that compare our modems with spandsp's on a shared machine
// lock the goroutine to its thread and measure with it, so other processes' load does not count.
func ThreadCPUTime() int64 {
	return int64(C.v17_thread_cpu_ns())
}
