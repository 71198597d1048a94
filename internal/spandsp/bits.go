//go:build spandsp

package spandsp

/*
#include "bits.h"
*/
import "C"

import "unsafe"

// sinkBits returns a copy of the data bits s has collected.
func sinkBits(s *C.bitsink) []byte {
	if s.nbits == 0 {
		return nil
	}
	return C.GoBytes(unsafe.Pointer(s.bits), s.nbits)
}

// sinkEvents returns the status codes s has collected and, for each, how many data bits had been
// delivered when it arrived.
func sinkEvents(s *C.bitsink) (codes, at []int) {
	n := int(s.nevents)
	codes, at = make([]int, n), make([]int, n)
	for i := range n {
		codes[i] = int(s.events[i])
		at[i] = int(s.event_at[i])
	}
	return codes, at
}

// sinkReset forgets the collected bits and events, keeping the buffer.
func sinkReset(s *C.bitsink) {
	s.nbits = 0
	s.nevents = 0
}
