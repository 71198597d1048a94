// Copyright 2026 The FaxSeal Authors. SPDX-License-Identifier: Apache-2.0

package g3

import (
	"bytes"
	"math/rand"
	"testing"
)

// TestStreamingDecode feeds coded pages in chunks of random size, as T.30 delivers them, and checks
// that the rows that come out equal a whole-page decode.
func TestStreamingDecode(t *testing.T) {
	p := readPBMFile(t, "../testdata/g3/itu/itu1.pbm")
	rng := rand.New(rand.NewSource(1))
	var d Decoder
	for _, o := range codingModes(p.Width) {
		b, err := Encode(p, o)
		if err != nil {
			t.Fatal(err)
		}
		var q Page
		q.Reset(p.Width, 0, 0)
		if err := d.Reset(o, &q); err != nil {
			t.Fatal(err)
		}
		for rest := b; len(rest) > 0; {
			n := min(len(rest), 1+rng.Intn(300))
			if _, err := d.Write(rest[:n]); err != nil {
				t.Fatalf("%+v: write: %v", o, err)
			}
			rest = rest[n:]
		}
		if err := d.Close(); err != nil {
			t.Fatalf("%+v: close: %v", o, err)
		}
		if !q.Equal(p) {
			t.Errorf("%+v: streamed decode differs: %d rows, stats %+v", o, q.Height, d.Stats())
		}
	}
}

// TestStreamingEncode pulls coded bytes after every row and checks they equal EncodePage's.
func TestStreamingEncode(t *testing.T) {
	p := readPBMFile(t, "../testdata/g3/itu/itu1.pbm")
	for _, o := range codingModes(p.Width) {
		want, err := Encode(p, o)
		if err != nil {
			t.Fatal(err)
		}
		e, err := NewEncoder(o)
		if err != nil {
			t.Fatal(err)
		}
		var got bytes.Buffer
		for y := 0; y < p.Height; y++ {
			if err := e.WriteRow(p.Row(y)); err != nil {
				t.Fatal(err)
			}
			got.Write(e.Next())
		}
		e.Close()
		got.Write(e.Next())
		if !bytes.Equal(got.Bytes(), want) {
			t.Errorf("%+v: streamed encoding differs", o)
		}
	}
}
