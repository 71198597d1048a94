// Copyright 2026 The FaxSeal Authors. SPDX-License-Identifier: Apache-2.0

package render

import (
	"bytes"
	"errors"
	"sync"
	"time"

	"github.com/pdfcpu/pdfcpu/pkg/api"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"
)

// Limits bound the work one document may cause. The zero value of a field means its default.
type Limits struct {
	// MaxBytes is the largest PDF accepted. Default 20 MiB, the partner API's limit.
	MaxBytes int64
	// MaxPages is the most pages a document may have. Default 100: at 30-60 s a page a longer
	// fax holds a line for over an hour, and a rendered page is kept in memory (about 30 KB coded).
	MaxPages int
	// MaxPageLength is the longest page accepted, in inches, measured after the page is fitted
	// to the fax width. Default 24 (a Legal page is 14). It also bounds the raster pdftoppm makes:
	// 1728 x 24*196 grey pixels, 8 MB.
	MaxPageLength float64
	// Timeout bounds the rasteriser runs of one Render together. Default 2 minutes (a 100-page
	// text document takes about 1 s; only a hostile or pathological PDF gets near it).
	Timeout time.Duration
	// MaxMemory bounds the address space of each pdftoppm process, in bytes, through
	// prlimit(1) (util-linux, part of every Debian system): a PDF can ask poppler for a huge
	// image buffer, and the process must fail alone rather than take the node's memory. Default
	// 1 GiB (rendering a text page needs about 60 MB). Without prlimit in PATH there is no bound.
	MaxMemory int64
}

// The defaults of Limits.
const (
	DefaultMaxBytes      = 20 << 20
	DefaultMaxPages      = 100
	DefaultMaxPageLength = 24.0
	DefaultTimeout       = 2 * time.Minute
	DefaultMaxMemory     = 1 << 30
)

func (l Limits) withDefaults() Limits {
	if l.MaxBytes <= 0 {
		l.MaxBytes = DefaultMaxBytes
	}
	if l.MaxPages <= 0 {
		l.MaxPages = DefaultMaxPages
	}
	if l.MaxPageLength <= 0 {
		l.MaxPageLength = DefaultMaxPageLength
	}
	if l.Timeout <= 0 {
		l.Timeout = DefaultTimeout
	}
	if l.MaxMemory <= 0 {
		l.MaxMemory = DefaultMaxMemory
	}
	return l
}

// Info describes a PDF that Inspect accepted.
type Info struct {
	// Pages is the page count, the number the partner API bills.
	Pages int
	// Sizes are the page sizes in points (1/72 in) as displayed: the MediaBox, with width and
	// height swapped for pages with /Rotate 90 or 270. pdftoppm renders the same box.
	Sizes []PageSize
	// Protected reports a PDF encrypted with an owner password only (an empty user password):
	// it opens without a password, as in every viewer, so it is accepted and rendered.
	Protected bool
}

// PageSize is a page's size in points, as displayed.
type PageSize struct {
	Width, Height float64
	// Sideways reports a page displayed a quarter turn from its MediaBox (/Rotate 90 or 270).
	Sideways bool
}

// Landscape reports a page wider than it is tall, which Render turns a quarter turn.
func (s PageSize) Landscape() bool { return s.Width > s.Height }

// pdfcpuOnce switches off pdfcpu's configuration directory: by default pdfcpu creates
// ~/.config/pdfcpu (with a font cache) on first use, which a server must not do.
var pdfcpuOnce sync.Once

// headerWindow is how far into the file the %PDF- header may start: ISO 32000-1 §7.5.2 puts it at
// the start; readers (Acrobat, poppler) accept it within the first 1024 bytes, and so do we.
const headerWindow = 1024

// Inspect checks that pdf is a PDF that can be faxed and counts its pages, without rasterising
// anything: the intake calls it before billing. It parses and validates the whole file with pdfcpu
// (relaxed mode, the defects real-world writers commonly produce are tolerated) and applies the
// byte and page limits. Errors are *Error with the codes not_pdf, pdf_too_large, pdf_encrypted (a
// user password is needed to open it), pdf_invalid, pdf_no_pages and pdf_too_many_pages.
func Inspect(pdf []byte, lim Limits) (*Info, error) {
	lim = lim.withDefaults()
	if int64(len(pdf)) > lim.MaxBytes {
		return nil, errorf(CodeTooLarge, 0, nil, "%d bytes, the limit is %d", len(pdf), lim.MaxBytes)
	}
	if !bytes.Contains(pdf[:min(len(pdf), headerWindow)], []byte("%PDF-")) {
		return nil, errorf(CodeNotPDF, 0, nil, "no %%PDF- header in the first %d bytes", headerWindow)
	}
	pdfcpuOnce.Do(api.DisableConfigDir)
	conf := model.NewDefaultConfiguration()
	conf.ValidationMode = model.ValidationRelaxed
	conf.Cmd = model.VALIDATE
	ctx, err := api.ReadAndValidate(bytes.NewReader(pdf), conf)
	if err != nil {
		if errors.Is(err, pdfcpu.ErrWrongPassword) || errors.Is(err, pdfcpu.ErrUnsupportedEncryptionFeature) {
			return nil, errorf(CodeEncrypted, 0, err, "the PDF is encrypted and needs a password to open; send it without a password")
		}
		return nil, errorf(CodeInvalid, 0, err, "the PDF cannot be parsed")
	}
	if ctx.PageCount <= 0 {
		return nil, errorf(CodeNoPages, 0, nil, "the PDF has no pages")
	}
	if ctx.PageCount > lim.MaxPages {
		return nil, errorf(CodeTooManyPages, 0, nil, "%d pages, the limit is %d", ctx.PageCount, lim.MaxPages)
	}
	boxes, err := ctx.PageBoundaries(nil)
	if err != nil || len(boxes) != ctx.PageCount {
		return nil, errorf(CodeInvalid, 0, err, "the page boxes cannot be read")
	}
	info := &Info{Pages: ctx.PageCount, Sizes: make([]PageSize, len(boxes)), Protected: ctx.Encrypt != nil}
	for i, b := range boxes {
		mb := b.MediaBox()
		if mb == nil {
			return nil, errorf(CodeInvalid, i+1, nil, "the page has no MediaBox")
		}
		s := PageSize{Width: mb.Width(), Height: mb.Height(), Sideways: (b.Rot%360+360)%360%180 == 90}
		if s.Sideways {
			s.Width, s.Height = s.Height, s.Width
		}
		// A page smaller than a point or larger than the PDF maximum (ISO 32000-1 Annex C: 14400
		// units, 200 in) is not something a fax can carry.
		if !(s.Width >= 1 && s.Height >= 1 && s.Width <= 14400 && s.Height <= 14400) {
			return nil, errorf(CodeInvalid, i+1, nil, "page size %gx%g pt is out of range", s.Width, s.Height)
		}
		info.Sizes[i] = s
	}
	return info, nil
}
