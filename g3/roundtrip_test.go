// Copyright 2026 The FaxSeal Authors. SPDX-License-Identifier: Apache-2.0

package g3

import (
	"os"
	"testing"
)

func readPBMFile(t testing.TB, name string) *Page {
	t.Helper()
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	p, err := ReadPBM(f)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// codingModes are the option sets every round trip covers.
func codingModes(width int) []Options {
	base := Options{Width: width, Order: MSBFirst}
	var os []Options
	for _, o := range []Options{
		{Compression: MH},
		{Compression: MH, FillEOL: true},
		{Compression: MH, NoEOL: true, AlignRows: true, NoTrailer: true},
		{Compression: MH, Order: LSBFirst},
		{Compression: MR, K: 2},
		{Compression: MR, K: 4, FillEOL: true},
		{Compression: MR, K: 4, NoTrailer: true, Order: LSBFirst},
		{Compression: MR, K: 1},
		{Compression: MR, K: 1 << 10, AlignRows: true},
		{Compression: MMR},
		{Compression: MMR, AlignRows: true},
		{Compression: MMR, NoTrailer: true, Order: LSBFirst},
		{Compression: MH, MinRowBits: 400},
	} {
		o.Width = base.Width
		if o.Order == 0 {
			o.Order = base.Order
		}
		os = append(os, o)
	}
	return os
}

func TestRoundTripITU1(t *testing.T) {
	p := readPBMFile(t, "../testdata/g3/itu/itu1.pbm")
	for _, o := range codingModes(p.Width) {
		b, err := Encode(p, o)
		if err != nil {
			t.Fatal(err)
		}
		q, st, err := Decode(b, o)
		if err != nil {
			t.Errorf("%+v: decode: %v", o, err)
			continue
		}
		if !q.Equal(p) {
			t.Errorf("%+v: round trip differs (%dx%d, stats %+v)", o, q.Width, q.Height, st)
		}
		t.Logf("%v K=%d: %d bytes, %+v", o.Compression, o.K, len(b), st)
	}
}
