// Bit buffers shared by the spandsp modem bindings (modem.go, v17.go; build tag spandsp). spandsp
// pulls transmit bits through a get_bit callback and pushes received bits and status events through
// put_bit; both work on these C-side buffers so the callbacks never call back into Go.
#ifndef FAXSEAL_SPANDSP_BITS_H
#define FAXSEAL_SPANDSP_BITS_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <spandsp.h>

// bitsrc holds the bits a transmitter sends, one per byte (0 or 1).
typedef struct {
	uint8_t *bits;
	int nbits;
	int pos;
} bitsrc;

// bitsrc_get is the get_bit callback; user is the bitsrc. spandsp shuts down on END_OF_DATA.
static inline int bitsrc_get(void *user) {
	bitsrc *s = (bitsrc *) user;
	if (s->pos >= s->nbits)
		return SIG_STATUS_END_OF_DATA;
	return s->bits[s->pos++];
}

// bitsrc_load replaces the bits with a copy of bits[0:n] and rewinds; -1 if out of memory (the old
// bits are kept then).
static inline int bitsrc_load(bitsrc *s, const uint8_t *bits, int n) {
	uint8_t *b = NULL;
	if (n > 0) {
		b = malloc(n);
		if (b == NULL)
			return -1;
		memcpy(b, bits, n);
	}
	free(s->bits);
	s->bits = b;
	s->nbits = n;
	s->pos = 0;
	return 0;
}

// bitsink collects what a receiver delivers: data bits, and status events (negative put_bit values,
// SIG_STATUS_*) with the bit count at which each arrived, up to maxevents of them.
typedef struct {
	uint8_t *bits;
	int nbits;
	int cap;
	int events[256];
	int event_at[256];
	int nevents;
	int maxevents; // at most 256
} bitsink;

// bitsink_put is the put_bit callback; user is the bitsink.
static inline void bitsink_put(void *user, int bit) {
	bitsink *s = (bitsink *) user;
	if (bit < 0) {
		if (s->nevents < s->maxevents) {
			s->events[s->nevents] = bit;
			s->event_at[s->nevents] = s->nbits;
			s->nevents++;
		}
		return;
	}
	if (s->nbits >= s->cap) {
		int cap = s->cap ? 2*s->cap : 65536;
		uint8_t *b = realloc(s->bits, cap);
		if (b == NULL)
			return;
		s->bits = b;
		s->cap = cap;
	}
	s->bits[s->nbits++] = (uint8_t) (bit & 1);
}

#endif
