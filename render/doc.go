// Copyright 2026 The FaxSeal Authors. SPDX-License-Identifier: Apache-2.0

// Package render turns the PDFs partners send into fax pages: the document half of the outbound
// send pipeline.
//
// The intake calls Inspect: it checks the %PDF- header, parses and validates the file with pdfcpu
// and counts its pages, before anything is billed, without rasterising. The send job calls Render,
// which rasterises with poppler's pdftoppm (an exec'd process, Debian poppler-utils) and keeps the
// pages as a Document; the gateway hands the Document to t30 as its Source, and t30 asks Encode
// for each page in the format the call negotiated (DCS): MMR under ECM, MR or MH without, at
// standard, fine or superfine resolution, each row filled to the minimum scan line time.
//
// # Pages
//
// Pages are rendered at fine resolution, 204 x 196 dpi, 1728 pixels wide (T.4 §2.2: A4 width,
// 215 mm). pdftoppm draws in 8-bit grey with anti-aliasing; our halftoning makes it bilevel
// (Halftone: a threshold for text, an ordered dither for photos, decided per tile by Auto). Page
// sizes are fitted to the fax line:
//   - US Letter and Legal (8.5 in, 1734 pixels) lose 3 pixels of margin on each side, A4 and
//     smaller pages are centred at their true size: no resampling, the pixels are poppler's.
//   - Wider pages (A3, Tabloid) are drawn smaller by pdftoppm itself, at a lower resolution.
//   - Landscape pages are turned a quarter turn counter-clockwise, top to the left.
//   - Pages are as long as they are (a Legal page is 2744 rows), up to Limits.MaxPageLength.
//
// Every page carries a header line at the top (Header: date and time, sender's number and name,
// recipient, "P.n/N"), drawn in a bitmap font of this package, in a band of the page's blank top
// margin or of rows added above the page if the margin is not blank. It is drawn when a page is
// encoded, so each attempt prints its own time.
//
// # Errors and limits
//
// Every refusal is an *Error with a stable Code (ErrorCode) and a sentinel for errors.Is. The
// API can map them as: not_pdf 415 or 400; pdf_too_large 413; pdf_encrypted, pdf_invalid,
// pdf_no_pages, pdf_too_many_pages and pdf_page_too_large 422; render_timeout and render_failed
// are failures of the send job, reported as a failed fax. A PDF encrypted with an owner password
// only (no password to open it, only "permissions") is accepted: every reader opens it.
//
// Limits bound the bytes, the pages, the page length and the time of the pdftoppm runs. pdftoppm
// reads the PDF from a pipe and writes PGM rasters to one: no temporary files.
package render
