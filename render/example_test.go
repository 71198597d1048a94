// Copyright 2026 The FaxSeal Authors. SPDX-License-Identifier: Apache-2.0

package render_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/faxseal/faxseal/billing"
	"github.com/faxseal/faxseal/g3"
	"github.com/faxseal/faxseal/render"
	"github.com/faxseal/faxseal/t30"
)

// The send pipeline's use of the package: the intake inspects and prices, the send job renders
// and hands the Document to t30, and stores the exact pages sent as TIFF.
func Example() {
	pdf, _ := os.ReadFile("upload.pdf")

	// Intake (POST /api/partner/fax): refuse bad PDFs with their code, count pages, price.
	info, err := render.Inspect(pdf, render.Limits{})
	if err != nil {
		fmt.Println("422", render.ErrorCode(err)) // e.g. pdf_encrypted
		return
	}
	credits, err := billing.Cost("+12125550001", info.Pages)
	if errors.Is(err, billing.ErrInvalidNumber) {
		fmt.Println("400")
		return
	}
	fmt.Println(info.Pages, "pages,", credits, "credits")

	// Send job: render, set the header time per attempt, give the pages to the t30 session.
	doc, err := render.Render(context.Background(), pdf, render.Options{
		Header: &render.Header{From: "+14155550123", Name: "Acme Health", To: "+12125550001"},
	})
	if err != nil {
		fmt.Println("failed:", render.ErrorCode(err))
		return
	}
	doc.Header.Time = time.Now()
	var src t30.Source = doc // t30.Config{Source: doc, ...}
	_ = src

	// The stored copy: the pages exactly as a fine-resolution call sends them.
	coded, _ := doc.Coded(g3.MMR)
	f, _ := os.Create("sent.tif")
	defer f.Close()
	g3.WriteTIFF(f, coded)
}
