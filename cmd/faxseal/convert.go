// Copyright 2026 The FaxSeal Authors. SPDX-License-Identifier: Apache-2.0

package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"strings"

	"github.com/faxseal/faxseal/g3"
)

func init() {
	commands["convert"] = command{summary: "convert fax pages: convert IN OUT [--compression mh|mr|mmr] [--k N] [--resolution standard|fine|superfine] [--width N]", run: runConvert}
}

// convertOptions are the flags of `faxseal convert`.
type convertOptions struct {
	compression string
	k           int
	resolution  string
	width       int
}

func runConvert(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("convert", flag.ContinueOnError)
	var o convertOptions
	fs.StringVar(&o.compression, "compression", "mmr", "coding of TIFF and PDF output: mh, mr or mmr")
	fs.IntVar(&o.k, "k", 0, "MR K factor (default: 2 at standard resolution, 4 at fine, 8 above)")
	fs.StringVar(&o.resolution, "resolution", "", "vertical resolution of the output: standard (98 lpi), fine (196) or superfine (391); default: the input's")
	fs.IntVar(&o.width, "width", 0, "fit pages to this width in pixels, e.g. 1728 for A4 fax (default: keep)")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: faxseal convert IN OUT [flags]\n\nIN: .tif/.tiff, .pbm or .png; OUT: .pdf, .tif/.tiff, .pbm or .png (one file per page: OUT-N.png).\nPBM and PNG input without a resolution is taken as 204 dpi across and the --resolution (default fine) down.")
		fs.PrintDefaults()
	}
	// Flags may come before, between or after the two file names.
	var files []string
	for rest := args; ; {
		if err := fs.Parse(rest); err != nil {
			return err
		}
		if fs.NArg() == 0 {
			break
		}
		files = append(files, fs.Arg(0))
		rest = fs.Args()[1:]
	}
	if len(files) != 2 {
		fs.Usage()
		return flag.ErrHelp
	}
	n, err := convertFile(files[0], files[1], o)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: %d page(s)\n", files[1], n)
	return nil
}

// convertFile converts IN to OUT by their extensions and returns the number of pages written.
func convertFile(in, out string, o convertOptions) (int, error) {
	var opts g3.Options
	switch strings.ToLower(o.compression) {
	case "mh":
		opts.Compression = g3.MH
	case "mr":
		opts.Compression = g3.MR
	case "mmr":
		opts.Compression = g3.MMR
	default:
		return 0, fmt.Errorf("unknown compression %q (want mh, mr or mmr)", o.compression)
	}
	yres := 0
	switch strings.ToLower(o.resolution) {
	case "":
	case "standard":
		yres = g3.ResStandard
	case "fine":
		yres = g3.ResFine
	case "superfine":
		yres = g3.ResSuperfine
	default:
		return 0, fmt.Errorf("unknown resolution %q (want standard, fine or superfine)", o.resolution)
	}
	if o.k < 0 {
		return 0, fmt.Errorf("--k must be positive")
	}
	pages, err := readConvertInput(in)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", in, err)
	}
	if len(pages) == 0 {
		return 0, fmt.Errorf("%s: no bilevel pages", in)
	}
	for i, p := range pages {
		if p.XRes <= 0 {
			p.XRes = g3.ResX
		}
		if p.YRes <= 0 {
			// No resolution in the file: take it as the target resolution (or fine).
			p.YRes = yres
			if p.YRes == 0 {
				p.YRes = g3.ResFine
			}
		}
		if yres != 0 && p.YRes != yres {
			if p, err = p.ResampleY(yres); err != nil {
				return 0, err
			}
		}
		if o.width != 0 && p.Width != o.width {
			if p, err = p.FitWidth(o.width); err != nil {
				return 0, err
			}
		}
		pages[i] = p
	}
	return len(pages), writeConvertOutput(out, pages, opts, o.k)
}

func readConvertInput(name string) ([]*g3.Page, error) {
	data, err := os.ReadFile(name)
	if err != nil {
		return nil, err
	}
	switch strings.ToLower(filepath.Ext(name)) {
	case ".tif", ".tiff":
		return g3.ReadTIFF(data)
	case ".pbm":
		// A PBM file may hold several images one after another (netpbm multi-image files).
		var pages []*g3.Page
		r := bytes.NewReader(data)
		for r.Len() > 0 {
			p, err := g3.ReadPBM(r)
			if err != nil {
				return nil, err
			}
			pages = append(pages, p)
			for r.Len() > 0 {
				c, _ := r.ReadByte()
				if c != ' ' && c != '\n' && c != '\r' && c != '\t' {
					r.UnreadByte()
					break
				}
			}
		}
		return pages, nil
	case ".png":
		img, err := png.Decode(bytes.NewReader(data))
		if err != nil {
			return nil, err
		}
		p, err := convertImageToPage(img)
		if err != nil {
			return nil, err
		}
		return []*g3.Page{p}, nil
	case ".pdf":
		return nil, errors.New("PDF input is rendered by the send pipeline (render package), not by convert")
	}
	return nil, fmt.Errorf("unknown input type %q", filepath.Ext(name))
}

// convertImageToPage thresholds an image at half luminance.
func convertImageToPage(img image.Image) (*g3.Page, error) {
	b := img.Bounds()
	p, err := g3.NewPage(b.Dx(), b.Dy(), 0, 0)
	if err != nil {
		return nil, err
	}
	for y := 0; y < b.Dy(); y++ {
		for x := 0; x < b.Dx(); x++ {
			if color.GrayModel.Convert(img.At(b.Min.X+x, b.Min.Y+y)).(color.Gray).Y < 128 {
				p.Set(x, y, true)
			}
		}
	}
	return p, nil
}

func writeConvertOutput(name string, pages []*g3.Page, opts g3.Options, k int) error {
	ext := strings.ToLower(filepath.Ext(name))
	var buf bytes.Buffer
	switch ext {
	case ".tif", ".tiff", ".pdf":
		opts.Order = g3.MSBFirst
		var coded []g3.CodedPage
		var e g3.Encoder
		for _, p := range pages {
			o := opts
			o.Width = p.Width
			if o.Compression == g3.MR {
				o.K = k
				if o.K == 0 {
					o.K = g3.KForResolution(p.YRes)
				}
			}
			data, err := e.EncodePage(nil, p, o)
			if err != nil {
				return err
			}
			coded = append(coded, g3.CodedPage{Width: p.Width, Height: p.Height, XRes: p.XRes, YRes: p.YRes, Opts: o, Data: data})
		}
		var err error
		if ext == ".pdf" {
			err = g3.WritePDF(&buf, coded)
		} else {
			err = g3.WriteTIFF(&buf, coded)
		}
		if err != nil {
			return err
		}
	case ".pbm":
		for _, p := range pages {
			if err := g3.WritePBM(&buf, p); err != nil {
				return err
			}
		}
	case ".png":
		for i, p := range pages {
			out := name
			if len(pages) > 1 {
				out = strings.TrimSuffix(name, filepath.Ext(name)) + fmt.Sprintf("-%d", i+1) + filepath.Ext(name)
			}
			var b bytes.Buffer
			if err := png.Encode(&b, convertPageToImage(p)); err != nil {
				return err
			}
			if err := os.WriteFile(out, b.Bytes(), 0o644); err != nil {
				return err
			}
		}
		return nil
	default:
		return fmt.Errorf("unknown output type %q", filepath.Ext(name))
	}
	return os.WriteFile(name, buf.Bytes(), 0o644)
}

// convertPageToImage makes a two-colour paletted image, which image/png writes with 1 bit per pixel.
func convertPageToImage(p *g3.Page) image.Image {
	img := image.NewPaletted(image.Rect(0, 0, p.Width, p.Height), color.Palette{color.White, color.Black})
	for y := 0; y < p.Height; y++ {
		for x := 0; x < p.Width; x++ {
			if p.At(x, y) {
				img.Pix[y*img.Stride+x] = 1
			}
		}
	}
	return img
}
