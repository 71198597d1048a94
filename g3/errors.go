// Copyright 2026 The FaxSeal Authors. SPDX-License-Identifier: Apache-2.0

package g3

import (
	"errors"
	"strconv"
)

var (
	// ErrOptions reports options that cannot describe a stream (bad width, K, compression, order).
	ErrOptions = errors.New("g3: invalid options")
	// ErrLimit reports input that would exceed MaxWidth, MaxRows, MaxPixels or the stream buffer
	// limit; decoding stops so that memory and time stay bounded.
	ErrLimit = errors.New("g3: size limit exceeded")
	// ErrClosed reports a Write or WriteRow after Close.
	ErrClosed = errors.New("g3: coder closed")
	// ErrRowSize reports a row buffer shorter than the page's row size.
	ErrRowSize = errors.New("g3: row buffer too short")
)

// A CorruptInputError reports damaged coded data: the row at which decoding failed and the bit
// offset in the stream where the bad code started. MMR decoding stops there; MH and MR decoding only
// report it when no later EOL let the decoder resynchronise.
type CorruptInputError struct {
	Row    int   // row index (0-based) being decoded
	Offset int64 // bit offset from the start of the stream
	Reason string
}

func (e *CorruptInputError) Error() string {
	return "g3: corrupt input at row " + strconv.Itoa(e.Row) + ", bit " + strconv.FormatInt(e.Offset, 10) + ": " + e.Reason
}
