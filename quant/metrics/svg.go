package metrics

import (
	"fmt"
	"html"
	"io"

	"github.com/icdcode/icdcode/data/fileio"
)

// WriteReliabilitySVG renders a reliability diagram: per bin a bar of accuracy
// (mean target) at the bin's mean confidence, the diagonal of perfect
// calibration, and the bin counts under the axis. Plain SVG so it needs no
// plotting dependency and opens in any browser.
func WriteReliabilitySVG(w io.Writer, bins []Bin, title string) error {
	const (
		size   = 400.0 // plot area side in px
		left   = 60.0
		top    = 40.0
		bottom = 70.0
	)
	x := func(v float64) float64 { return left + v*size }
	y := func(v float64) float64 { return top + (1-v)*size }
	var err error
	pf := func(format string, a ...any) {
		if err == nil {
			_, err = fmt.Fprintf(w, format, a...)
		}
	}
	pf(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	pf(`<svg xmlns="http://www.w3.org/2000/svg" width="%.0f" height="%.0f" viewBox="0 0 %.0f %.0f">`+"\n",
		left+size+20, top+size+bottom, left+size+20, top+size+bottom)
	pf(`<title>%s</title>`+"\n", html.EscapeString(title))
	pf(`<rect x="0" y="0" width="100%%" height="100%%" fill="white"/>` + "\n")
	pf(`<text x="%.1f" y="24" font-family="sans-serif" font-size="14" text-anchor="middle">%s</text>`+"\n", left+size/2, html.EscapeString(title))
	pf(`<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="none" stroke="black"/>`+"\n", x(0), y(1), size, size)
	for _, b := range bins {
		if b.Count == 0 {
			continue
		}
		barW := (b.Upper - b.Lower) * size
		if barW < 2 {
			barW = 2 // equal-mass bins can be a single value wide; keep them visible
		}
		pf(`<rect x="%.2f" y="%.2f" width="%.2f" height="%.2f" fill="steelblue" fill-opacity="0.7" stroke="navy"><title>conf %.4f acc %.4f n %d</title></rect>`+"\n",
			x(b.Lower), y(b.Accuracy), barW, b.Accuracy*size, b.MeanConfidence, b.Accuracy, b.Count)
		pf(`<circle cx="%.2f" cy="%.2f" r="2.5" fill="darkred"/>`+"\n", x(b.MeanConfidence), y(b.Accuracy))
		pf(`<text x="%.2f" y="%.1f" font-family="sans-serif" font-size="8" text-anchor="middle" transform="rotate(90 %.2f %.1f)">%d</text>`+"\n",
			x((b.Lower+b.Upper)/2), y(0)+8, x((b.Lower+b.Upper)/2), y(0)+8, b.Count)
	}
	pf(`<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="gray" stroke-dasharray="4 3"/>`+"\n", x(0), y(0), x(1), y(1))
	for _, t := range []float64{0, 0.25, 0.5, 0.75, 1} {
		pf(`<text x="%.1f" y="%.1f" font-family="sans-serif" font-size="10" text-anchor="middle">%.2f</text>`+"\n", x(t), y(0)+45, t)
		pf(`<text x="%.1f" y="%.1f" font-family="sans-serif" font-size="10" text-anchor="end">%.2f</text>`+"\n", x(0)-6, y(t)+3, t)
	}
	pf(`<text x="%.1f" y="%.1f" font-family="sans-serif" font-size="12" text-anchor="middle">confidence (bar labels: counts)</text>`+"\n", left+size/2, top+size+62)
	pf(`<text x="16" y="%.1f" font-family="sans-serif" font-size="12" text-anchor="middle" transform="rotate(-90 16 %.1f)">accuracy</text>`+"\n", top+size/2, top+size/2)
	pf("</svg>\n")
	return err
}

// SaveReliabilitySVG writes the diagram to path atomically, so a crash never
// leaves a half-written figure behind.
func SaveReliabilitySVG(path string, bins []Bin, title string) error {
	return fileio.WriteAtomic(path, func(w io.Writer) error { return WriteReliabilitySVG(w, bins, title) })
}
