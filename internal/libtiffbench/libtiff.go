// Copyright 2026 The FaxSeal Authors. SPDX-License-Identifier: Apache-2.0

//go:build libtiff

package main

/*
#cgo pkg-config: libtiff-4
#include <tiffio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

// An in-memory file for TIFFClientOpen, so that no timing includes file I/O.
typedef struct { unsigned char *buf; tmsize_t size, cap, pos; } membuf;

static tmsize_t mread(thandle_t h, void *p, tmsize_t n) {
	membuf *m = (membuf *)h;
	if (m->pos >= m->size) return 0;
	if (n > m->size - m->pos) n = m->size - m->pos;
	memcpy(p, m->buf + m->pos, n);
	m->pos += n;
	return n;
}
static tmsize_t mwrite(thandle_t h, void *p, tmsize_t n) {
	membuf *m = (membuf *)h;
	if (m->pos + n > m->cap) {
		tmsize_t c = 2 * m->cap + n + 4096;
		m->buf = realloc(m->buf, c);
		m->cap = c;
	}
	memcpy(m->buf + m->pos, p, n);
	m->pos += n;
	if (m->pos > m->size) m->size = m->pos;
	return n;
}
static toff_t mseek(thandle_t h, toff_t off, int whence) {
	membuf *m = (membuf *)h;
	toff_t np = whence == SEEK_SET ? off : whence == SEEK_CUR ? (toff_t)m->pos + off : (toff_t)m->size + off;
	if ((tmsize_t)np > m->cap) {
		m->buf = realloc(m->buf, np + 4096);
		m->cap = np + 4096;
	}
	if ((tmsize_t)np > m->size) {
		memset(m->buf + m->size, 0, np - m->size);
		m->size = np;
	}
	m->pos = np;
	return np;
}
static int mclose(thandle_t h) { return 0; }
static toff_t msize(thandle_t h) { return ((membuf *)h)->size; }
static int mmapproc(thandle_t h, void **p, toff_t *s) { return 0; }
static void munmapproc(thandle_t h, void *p, toff_t s) {}

static double now_ns(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static void quiet(void) {
	TIFFSetWarningHandler(NULL);
	TIFFSetErrorHandler(NULL);
}

// decode_ns opens a one-strip TIFF held in memory once and times iters calls of
// TIFFReadEncodedStrip into out; it returns ns per call, or -1 on an error.
static double decode_ns(unsigned char *data, size_t n, unsigned char *out, size_t outsize, int iters) {
	membuf m = {data, (tmsize_t)n, (tmsize_t)n, 0};
	TIFF *t = TIFFClientOpen("mem", "rm", (thandle_t)&m, mread, mwrite, mseek, mclose, msize, mmapproc, munmapproc);
	if (!t) return -1;
	if (TIFFReadEncodedStrip(t, 0, out, (tmsize_t)outsize) < 0) { TIFFClose(t); return -1; }
	double t0 = now_ns();
	for (int i = 0; i < iters; i++) {
		if (TIFFReadEncodedStrip(t, 0, out, (tmsize_t)outsize) < 0) { TIFFClose(t); return -1; }
	}
	double t1 = now_ns();
	TIFFClose(t);
	return (t1 - t0) / iters;
}

// encode_ns times iters codings of one page into an in-memory TIFF (open, tags, one strip,
// close), as a TIFF writer uses libtiff. The last file is left in *res / *reslen (caller frees).
static double encode_ns(unsigned char *pix, int w, int h, int comp, int t4, float yres, int iters,
		unsigned char **res, size_t *reslen) {
	tmsize_t size = (tmsize_t)((w + 7) / 8) * h;
	double t0 = now_ns();
	membuf m = {0};
	for (int i = 0; i < iters; i++) {
		free(m.buf);
		memset(&m, 0, sizeof m);
		TIFF *t = TIFFClientOpen("mem", "w", (thandle_t)&m, mread, mwrite, mseek, mclose, msize, mmapproc, munmapproc);
		if (!t) return -1;
		TIFFSetField(t, TIFFTAG_IMAGEWIDTH, w);
		TIFFSetField(t, TIFFTAG_IMAGELENGTH, h);
		TIFFSetField(t, TIFFTAG_BITSPERSAMPLE, 1);
		TIFFSetField(t, TIFFTAG_SAMPLESPERPIXEL, 1);
		TIFFSetField(t, TIFFTAG_COMPRESSION, comp);
		TIFFSetField(t, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_MINISWHITE);
		TIFFSetField(t, TIFFTAG_FILLORDER, FILLORDER_MSB2LSB);
		TIFFSetField(t, TIFFTAG_ROWSPERSTRIP, h);
		TIFFSetField(t, TIFFTAG_XRESOLUTION, 204.0);
		TIFFSetField(t, TIFFTAG_YRESOLUTION, yres);
		TIFFSetField(t, TIFFTAG_RESOLUTIONUNIT, RESUNIT_INCH);
		if (comp == COMPRESSION_CCITTFAX3) TIFFSetField(t, TIFFTAG_GROUP3OPTIONS, t4);
		if (TIFFWriteEncodedStrip(t, 0, pix, size) < 0) { TIFFClose(t); return -1; }
		TIFFClose(t);
	}
	double t1 = now_ns();
	*res = m.buf;
	*reslen = m.size;
	return (t1 - t0) / iters;
}
*/
import "C"

import "unsafe"

func init() { C.quiet() }

// libtiffDecode returns libtiff's time per decode of a one-strip TIFF into out, in ns.
func libtiffDecode(tif, out []byte, iters int) float64 {
	return float64(C.decode_ns((*C.uchar)(unsafe.Pointer(&tif[0])), C.size_t(len(tif)),
		(*C.uchar)(unsafe.Pointer(&out[0])), C.size_t(len(out)), C.int(iters)))
}

// libtiffEncode returns libtiff's time per page coding into a TIFF in memory, and that TIFF.
func libtiffEncode(pix []byte, w, h, comp, t4 int, yres float32, iters int) (float64, []byte) {
	var res *C.uchar
	var n C.size_t
	ns := C.encode_ns((*C.uchar)(unsafe.Pointer(&pix[0])), C.int(w), C.int(h), C.int(comp), C.int(t4), C.float(yres), C.int(iters), &res, &n)
	if res == nil {
		return float64(ns), nil
	}
	b := C.GoBytes(unsafe.Pointer(res), C.int(n))
	C.free(unsafe.Pointer(res))
	return float64(ns), b
}
