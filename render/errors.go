// Copyright 2026 The FaxSeal Authors. SPDX-License-Identifier: Apache-2.0

package render

import (
	"errors"
	"fmt"
)

// Stable, machine-readable codes of the errors callers branch on. The API layer passes them on to
// partners (see api.Error), so they are never renamed.
const (
	CodeNotPDF       = "not_pdf"            // the data does not start like a PDF (no %PDF- header)
	CodeEncrypted    = "pdf_encrypted"      // the PDF needs a password to open
	CodeInvalid      = "pdf_invalid"        // the PDF is damaged or not parseable
	CodeTooLarge     = "pdf_too_large"      // more bytes than Limits.MaxBytes
	CodeTooManyPages = "pdf_too_many_pages" // more pages than Limits.MaxPages
	CodePageTooLarge = "pdf_page_too_large" // a page would exceed Limits.MaxPageLength once fitted
	CodeNoPages      = "pdf_no_pages"       // the PDF has no pages
	CodeTimeout      = "render_timeout"     // the rasteriser ran out of time (Limits.Timeout)
	CodeFailed       = "render_failed"      // the rasteriser failed on a PDF pdfcpu accepted
)

// The sentinel errors, one per code; every *Error matches the sentinel of its code with errors.Is.
var (
	ErrNotPDF       = errors.New("render: not a PDF")
	ErrEncrypted    = errors.New("render: PDF is password-protected")
	ErrInvalid      = errors.New("render: PDF is damaged")
	ErrTooLarge     = errors.New("render: PDF too large")
	ErrTooManyPages = errors.New("render: too many pages")
	ErrPageTooLarge = errors.New("render: page too large")
	ErrNoPages      = errors.New("render: PDF has no pages")
	ErrTimeout      = errors.New("render: rasteriser timed out")
	ErrFailed       = errors.New("render: rasteriser failed")
)

var sentinels = map[string]error{
	CodeNotPDF: ErrNotPDF, CodeEncrypted: ErrEncrypted, CodeInvalid: ErrInvalid, CodeTooLarge: ErrTooLarge,
	CodeTooManyPages: ErrTooManyPages, CodePageTooLarge: ErrPageTooLarge, CodeNoPages: ErrNoPages,
	CodeTimeout: ErrTimeout, CodeFailed: ErrFailed,
}

// An Error is a document the package refused or could not render: the stable Code, the 1-based
// page it concerns (0 for the whole document), a message for people and the underlying cause.
type Error struct {
	Code    string
	Page    int
	Message string
	Err     error // the cause (from pdfcpu or pdftoppm), if any
}

func (e *Error) Error() string {
	s := "render: " + e.Message
	if e.Page > 0 {
		s = fmt.Sprintf("render: page %d: %s", e.Page, e.Message)
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Is matches the sentinel of e's code, so errors.Is(err, render.ErrEncrypted) works.
func (e *Error) Is(target error) bool { return sentinels[e.Code] == target }

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// ErrorCode returns the stable code of err if it is or wraps an *Error, else "".
func ErrorCode(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

func errorf(code string, page int, cause error, format string, args ...any) *Error {
	return &Error{Code: code, Page: page, Message: fmt.Sprintf(format, args...), Err: cause}
}
