// Copyright 2026 The FaxSeal Authors. SPDX-License-Identifier: Apache-2.0

//go:build ignore

// This program generates table.go from the code lists of ITU-T T.4 (07/2003) Tables 1-4 (terminating
// and make-up codes, extended make-up codes, two-dimensional mode codes). Run it with `go generate`;
// TestTablesCurrent fails when table.go differs from what it writes.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"go/format"
	"log"
	"os"
	"strings"
)

var output = flag.String("output", "table.go", "output file")

// T.4 Table 2/T.4: terminating codes, run lengths 0..63.
var whiteTerm = strings.Fields(`
00110101 000111 0111 1000 1011 1100 1110 1111 10011 10100 00111 01000 001000 000011 110100 110101
101010 101011 0100111 0001100 0001000 0010111 0000011 0000100 0101000 0101011 0010011 0100100 0011000
00000010 00000011 00011010 00011011 00010010 00010011 00010100 00010101 00010110 00010111 00101000
00101001 00101010 00101011 00101100 00101101 00000100 00000101 00001010 00001011 01010010 01010011
01010100 01010101 00100100 00100101 01011000 01011001 01011010 01011011 01001010 01001011 00110010
00110011 00110100`)

var blackTerm = strings.Fields(`
0000110111 010 11 10 011 0011 0010 00011 000101 000100 0000100 0000101 0000111 00000100 00000111
000011000 0000010111 0000011000 0000001000 00001100111 00001101000 00001101100 00000110111 00000101000
00000010111 00000011000 000011001010 000011001011 000011001100 000011001101 000001101000 000001101001
000001101010 000001101011 000011010010 000011010011 000011010100 000011010101 000011010110
000011010111 000001101100 000001101101 000011011010 000011011011 000001010100 000001010101
000001010110 000001010111 000001100100 000001100101 000001010010 000001010011 000000100100
000000110111 000000111000 000000100111 000000101000 000001011000 000001011001 000000101011
000000101100 000001011010 000001100110 000001100111`)

// T.4 Table 3/T.4: make-up codes, run lengths 64, 128, ..., 1728.
var whiteMakeup = strings.Fields(`
11011 10010 010111 0110111 00110110 00110111 01100100 01100101 01101000 01100111 011001100 011001101
011010010 011010011 011010100 011010101 011010110 011010111 011011000 011011001 011011010 011011011
010011000 010011001 010011010 011000 010011011`)

var blackMakeup = strings.Fields(`
0000001111 000011001000 000011001001 000001011011 000000110011 000000110100 000000110101
0000001101100 0000001101101 0000001001010 0000001001011 0000001001100 0000001001101 0000001110010
0000001110011 0000001110100 0000001110101 0000001110110 0000001110111 0000001010010 0000001010011
0000001010100 0000001010101 0000001011010 0000001011011 0000001100100 0000001100101`)

// T.4 Table 3/T.4 (continued): extended make-up codes 1792..2560, shared by both colours.
var extMakeup = strings.Fields(`
00000001000 00000001100 00000001101 000000010010 000000010011 000000010100 000000010101 000000010110
000000010111 000000011100 000000011101 000000011110 000000011111`)

// T.4 Table 4/T.4: two-dimensional mode codes, in the order of the mode constants in decode.go.
var modes = []struct {
	name, bits string
}{
	{"modePass", "0001"},
	{"modeH", "001"},
	{"modeV0", "1"},
	{"modeVR1", "011"},
	{"modeVR2", "000011"},
	{"modeVR3", "0000011"},
	{"modeVL1", "010"},
	{"modeVL2", "000010"},
	{"modeVL3", "0000010"},
	{"modeExt", "0000001"},
}

const eolValue = 0xfff // decode-table value that marks the EOL code 000000000001

type entry struct {
	bits  string
	value int
}

func runCodes(term, makeup []string) []entry {
	var es []entry
	for i, c := range term {
		es = append(es, entry{c, i})
	}
	for i, c := range makeup {
		es = append(es, entry{c, 64 * (i + 1)})
	}
	for i, c := range extMakeup {
		es = append(es, entry{c, 1792 + 64*i})
	}
	return append(es, entry{"000000000001", eolValue})
}

func parse(s string) (v, n int) {
	for _, c := range s {
		v = v<<1 | int(c-'0')
	}
	return v, len(s)
}

// twoLevel builds a primary table indexed by the first p bits, whose entries are either leaves
// (value<<4 | length) or links (offset<<4, length 0) to a secondary table of 1<<(m-p) entries indexed
// by the next m-p bits. 0 marks an invalid code.
func twoLevel(es []entry, p, m int) []uint16 {
	t := make([]uint16, 1<<p)
	link := map[int]int{}
	for _, e := range es {
		v, n := parse(e.bits)
		if n <= p {
			for i := 0; i < 1<<(p-n); i++ {
				idx := v<<(p-n) | i
				if t[idx] != 0 {
					log.Fatalf("code %s overlaps", e.bits)
				}
				t[idx] = uint16(e.value<<4 | n)
			}
			continue
		}
		prefix := v >> (n - p)
		off, ok := link[prefix]
		if !ok {
			if t[prefix] != 0 {
				log.Fatalf("code %s overlaps a short code", e.bits)
			}
			off = len(t)
			link[prefix] = off
			t = append(t, make([]uint16, 1<<(m-p))...)
			t[prefix] = uint16(off << 4)
		}
		rest := v & (1<<(n-p) - 1)
		for i := 0; i < 1<<(m-n); i++ {
			idx := off + (rest<<(m-n) | i)
			if t[idx] != 0 {
				log.Fatalf("code %s overlaps", e.bits)
			}
			t[idx] = uint16(e.value<<4 | n)
		}
	}
	if len(t) >= 1<<12 {
		log.Fatal("table too large for 12-bit links")
	}
	return t
}

func writeUint16s(b *bytes.Buffer, name, doc string, t []uint16) {
	fmt.Fprintf(b, "%s\nvar %s = [%d]uint16{", doc, name, len(t))
	for i, v := range t {
		if i%12 == 0 {
			b.WriteString("\n")
		}
		fmt.Fprintf(b, "%#04x, ", v)
	}
	b.WriteString("\n}\n\n")
}

func writeCodes(b *bytes.Buffer, name, doc string, cs []string, skipFirst bool) {
	n := len(cs)
	if skipFirst {
		n++
	}
	fmt.Fprintf(b, "%s\nvar %s = [%d]code{", doc, name, n)
	if skipFirst {
		b.WriteString("\n{},")
	}
	for _, c := range cs {
		v, l := parse(c)
		fmt.Fprintf(b, "\n{%#x, %d}, // %s", v, l, c)
	}
	b.WriteString("\n}\n\n")
}

// writeRunCodes writes the code of every run below 2560+64 as one word, code<<5 | length: a
// terminating code, or a make-up code followed by a terminating code (at most 25 bits). The last entry is the 2560 make-up code alone, which longer runs
// repeat.
func writeRunCodes(b *bytes.Buffer, name, colour string, term, makeup []string) {
	mk := append(append([]string{}, makeup...), extMakeup...)
	fmt.Fprintf(b, "// %s codes %s runs 0..2623 as code<<5 | length (T.4 Tables 2 and 3), a make-up code and\n// a terminating code in one word.\nvar %s = [2560 + 64 + 1]uint32{", name, colour, name)
	for run := 0; run < 2560+64; run++ {
		c := term[run%64]
		if run >= 64 {
			c = mk[run/64-1] + c
		}
		v, n := parse(c)
		if run%8 == 0 {
			b.WriteString("\n")
		}
		fmt.Fprintf(b, "%#x, ", v<<5|n)
	}
	v, n := parse(mk[len(mk)-1])
	fmt.Fprintf(b, "\n%#x, // 2560 make-up code\n}\n\n", v<<5|n)
}

func main() {
	flag.Parse()
	var b bytes.Buffer
	b.WriteString(`// Code generated by "go run gen.go". DO NOT EDIT.

package g3

// Decode tables. A run-length entry is value<<4 | code length; an entry with length 0 and a non-zero
// value links to a secondary table at that offset, indexed by the bits after the primary prefix; 0 is an
// invalid code. The value 0xfff marks EOL (T.4 §4.1.2).

const (
	whitePrimaryBits = 8
	whiteCodeBits    = 12
	blackPrimaryBits = 7
	blackCodeBits    = 13
	modeCodeBits     = 7
	eolValue         = 0xfff
)

`)
	writeUint16s(&b, "whiteDecode", "// whiteDecode decodes white run codes (T.4 Tables 2 and 3).", twoLevel(runCodes(whiteTerm, whiteMakeup), 8, 12))
	writeUint16s(&b, "blackDecode", "// blackDecode decodes black run codes (T.4 Tables 2 and 3).", twoLevel(runCodes(blackTerm, blackMakeup), 7, 13))

	md := make([]uint8, 1<<7)
	for i, m := range modes {
		v, n := parse(m.bits)
		for j := 0; j < 1<<(7-n); j++ {
			md[v<<(7-n)|j] = uint8((i+1)<<4 | n)
		}
	}
	b.WriteString("// modeDecode decodes the two-dimensional mode codes of T.4 Table 4 from 7 bits: (mode+1)<<4 | code length.\n// 0 means seven zero bits: an EOL or an invalid code.\nvar modeDecode = [128]uint8{")
	for i, v := range md {
		if i%16 == 0 {
			b.WriteString("\n")
		}
		fmt.Fprintf(&b, "%#02x, ", v)
	}
	b.WriteString("\n}\n\n")

	writeCodes(&b, "whiteTermCodes", "// whiteTermCodes are the white terminating codes by run length (T.4 Table 2).", whiteTerm, false)
	writeCodes(&b, "blackTermCodes", "// blackTermCodes are the black terminating codes by run length (T.4 Table 2).", blackTerm, false)
	writeCodes(&b, "whiteMakeupCodes", "// whiteMakeupCodes are the white make-up codes by run length/64, then the extended ones (T.4 Table 3).", append(append([]string{}, whiteMakeup...), extMakeup...), true)
	writeCodes(&b, "blackMakeupCodes", "// blackMakeupCodes are the black make-up codes by run length/64, then the extended ones (T.4 Table 3).", append(append([]string{}, blackMakeup...), extMakeup...), true)
	writeRunCodes(&b, "whiteRunCodes", "white", whiteTerm, whiteMakeup)
	writeRunCodes(&b, "blackRunCodes", "black", blackTerm, blackMakeup)
	var ms []string
	for _, m := range modes {
		ms = append(ms, m.bits)
	}
	writeCodes(&b, "modeCodes", "// modeCodes are the two-dimensional mode codes by mode (T.4 Table 4).", ms, false)

	src, err := format.Source(b.Bytes())
	if err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile(*output, src, 0o644); err != nil {
		log.Fatal(err)
	}
}
