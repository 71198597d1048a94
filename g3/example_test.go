// Copyright 2026 The FaxSeal Authors. SPDX-License-Identifier: Apache-2.0

package g3_test

import (
	"fmt"

	"github.com/faxseal/faxseal/g3"
)

// A receiver decodes page data as it arrives (for example from T.30 HDLC frames or T.38 packets)
// and checks copy quality at the end of the page.
func ExampleDecoder() {
	// A fine-resolution A4 test page: a black bar across rows 10-19.
	page, _ := g3.NewPage(g3.WidthA4, 100, g3.ResX, g3.ResFine)
	for y := 10; y < 20; y++ {
		for x := 100; x < 1600; x++ {
			page.Set(x, y, true)
		}
	}
	opts := g3.Options{Compression: g3.MR, K: 4, Width: g3.WidthA4, Order: g3.LSBFirst}
	coded, _ := g3.Encode(page, opts)

	var received g3.Page
	received.Reset(g3.WidthA4, g3.ResX, g3.ResFine)
	var d g3.Decoder
	d.Reset(opts, &received) // rows go to received as they complete
	for len(coded) > 0 {     // 64-byte chunks, as a modem might deliver them
		n := min(64, len(coded))
		d.Write(coded[:n])
		coded = coded[n:]
	}
	err := d.Close()
	st := d.Stats()
	fmt.Println(err, received.Height, received.Equal(page), st.BadRows, st.LongestBadRun, st.Trailer)
	// Output: <nil> 100 true 0 0 true
}

// A sender codes rows as it goes and transmits the bytes as they are produced.
func ExampleEncoder() {
	opts := g3.Options{Compression: g3.MH, Width: g3.WidthA4, Order: g3.LSBFirst, MinRowBits: 96}
	e, _ := g3.NewEncoder(opts)
	row := make([]byte, g3.WidthA4/8) // a white row
	sent := 0
	for y := 0; y < 3; y++ {
		e.WriteRow(row)
		sent += len(e.Next()) // hand these bytes to the modem
	}
	e.Close()
	sent += len(e.Next())
	// Each row: EOL, white 1728 (make-up) and white 0, padded to 96 bits; then RTC: 3*96+6*12 bits.
	fmt.Println(sent)
	// Output: 45
}
