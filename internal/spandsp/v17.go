//go:build spandsp

package spandsp

/*
#include <time.h>
#include "bits.h"

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
	bitsrc src;
} v17tx_peer;

static v17tx_peer *v17tx_new(int rate, int tep) {
	v17tx_peer *p = calloc(1, sizeof(v17tx_peer));
	if (p == NULL)
		return NULL;
	p->tx = v17_tx_init(NULL, rate, tep, bitsrc_get, &p->src);
	if (p->tx == NULL) {
		free(p);
		return NULL;
	}
	return p;
}

static void v17tx_free(v17tx_peer *p) {
	v17_tx_free(p->tx);
	free(p->src.bits);
	free(p);
}

// A spandsp V.17 receiver and what it has delivered (up to 64 status events).
typedef struct {
	v17_rx_state_t *rx;
	bitsink sink;
} v17rx_peer;

static v17rx_peer *v17rx_new(int rate) {
	v17rx_peer *p = calloc(1, sizeof(v17rx_peer));
	if (p == NULL)
		return NULL;
	p->sink.maxevents = 64;
	p->rx = v17_rx_init(NULL, rate, bitsink_put, &p->sink);
	if (p->rx == NULL) {
		free(p);
		return NULL;
	}
	return p;
}

static void v17rx_free(v17rx_peer *p) {
	v17_rx_free(p->rx);
	free(p->sink.bits);
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
	if C.bitsrc_load(&t.p.src, ptr, C.int(len(bits))) != 0 {
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
	sinkReset(&r.p.sink)
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
func (r *V17Rx) Bits() []byte { return sinkBits(&r.p.sink) }

// Events returns the status events received so far (V17* values).
func (r *V17Rx) Events() []int {
	codes, _ := sinkEvents(&r.p.sink)
	return codes
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
