// Copyright 2026 The FaxSeal Authors. SPDX-License-Identifier: Apache-2.0

// Package g3 encodes and decodes fax page images: ITU-T T.4 Modified Huffman (MH, one-dimensional),
// T.4 Modified READ (MR, two-dimensional with a K factor) and T.6 Modified Modified READ (MMR), with
// EOL/RTC/EOFB framing, fill bits, byte-aligned rows, streams without EOLs and both bit orders. It also
// reads and writes TIFF Class F files and writes PDF files that embed the coded pages unchanged with
// /CCITTFaxDecode.
//
// Pages are packed bitmaps, 1 bit per pixel, most significant bit first, 1 = black (see Page). Rows
// are coded and decoded through lists of changing elements (T.4 §4.2.1.3.1), never pixel by pixel, and
// the Decoder and Encoder keep all their state in reusable buffers, so a reused coder allocates nothing
// per page.
//
// Streaming: a Decoder accepts coded bytes as they arrive (Write) and hands each finished row to a
// RowWriter, counting bad rows for T.30 copy-quality checking (Stats); an Encoder accepts rows
// (WriteRow) and hands out coded bytes as they are produced (Read), so a sender can transmit a page
// while it is being coded.
//
// Damaged data: an MH or MR decoder that meets an invalid code or a row of the wrong length pads the
// row with white, counts it bad and resynchronises at the next EOL (T.4 §4.1.2); an MMR decoder stops
// at the first error, keeping the rows it has. Limits (MaxWidth, MaxRows, MaxPixels, the stream
// buffer limit) bound memory and time for any input.
//
// The package uses only the standard library: no goroutines, no clocks, no I/O beyond the io
// interfaces its callers pass in.
package g3

//go:generate go run gen.go -output table.go
