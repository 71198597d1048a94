// Copyright 2026 The FaxSeal Authors. SPDX-License-Identifier: Apache-2.0

package render

import (
	"bytes"
	"errors"
	"testing"
)

func TestInspect(t *testing.T) {
	pdf := makePDF([]testPage{textPage("one"), {W: a4W, H: a4H}, {W: letterW, H: letterH, Rotate: 90}, {W: 792, H: 612}})
	info, err := Inspect(pdf, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if info.Pages != 4 || len(info.Sizes) != 4 || info.Protected {
		t.Fatalf("info = %+v", info)
	}
	want := []PageSize{{letterW, letterH, false}, {a4W, a4H, false}, {letterH, letterW, true}, {792, 612, false}}
	for i, s := range info.Sizes {
		if s != want[i] {
			t.Errorf("page %d size %v, want %v", i+1, s, want[i])
		}
	}
	if info.Sizes[0].Landscape() || !info.Sizes[2].Landscape() || !info.Sizes[3].Landscape() {
		t.Error("Landscape")
	}
}

func TestInspectErrors(t *testing.T) {
	good := makePDF([]testPage{textPage("hello"), textPage("again")})
	// Cut before the second page: pdfcpu rebuilds a lost cross-reference table (as readers do),
	// so only a file whose objects are missing is beyond repair.
	truncated := good[:200]
	garbled := bytes.Replace(bytes.Clone(good), []byte("/Type /Pages"), []byte("/Type /Xages"), 1)
	for _, tc := range []struct {
		name string
		pdf  []byte
		lim  Limits
		code string
		err  error
	}{
		{"empty", nil, Limits{}, CodeNotPDF, ErrNotPDF},
		{"png", []byte("\x89PNG\r\n\x1a\n...."), Limits{}, CodeNotPDF, ErrNotPDF},
		{"header only", []byte("%PDF-1.4\n"), Limits{}, CodeInvalid, ErrInvalid},
		{"truncated", truncated, Limits{}, CodeInvalid, ErrInvalid},
		{"garbled", garbled, Limits{}, CodeInvalid, ErrInvalid},
		{"encrypted", encryptPDF(t, good, "secret", "owner"), Limits{}, CodeEncrypted, ErrEncrypted},
		{"too many pages", good, Limits{MaxPages: 1}, CodeTooManyPages, ErrTooManyPages},
		{"too large", good, Limits{MaxBytes: 100}, CodeTooLarge, ErrTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Inspect(tc.pdf, tc.lim)
			if ErrorCode(err) != tc.code || !errors.Is(err, tc.err) {
				t.Fatalf("err = %v (code %q), want code %q", err, ErrorCode(err), tc.code)
			}
			t.Log(err)
		})
	}
}

// An owner-password-only PDF opens without a password in every reader; it is accepted.
func TestInspectOwnerPasswordOnly(t *testing.T) {
	pdf := encryptPDF(t, makePDF([]testPage{textPage("restricted")}), "", "owner")
	info, err := Inspect(pdf, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if info.Pages != 1 || !info.Protected {
		t.Fatalf("info = %+v", info)
	}
}
