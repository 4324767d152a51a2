package embeval

import (
	"bufio"
	"fmt"
	"html"
	"io"
	"math"
	"sort"

	"github.com/icdcode/icdcode/data/fileio"
)

// palette is matplotlib's tab20, so the map looks like the scatter plots of
// the Python tools it is compared with.
var palette = []string{
	"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#bcbd22", "#17becf", "#aec7e8",
	"#ffbb78", "#98df8a", "#ff9896", "#c5b0d5", "#c49c94", "#f7b6d2", "#dbdb8d", "#9edae5", "#393b79", "#637939",
}

const grey = "#b0b0b0"

// MapOptions configure WriteSVGMap.
type MapOptions struct {
	Title string
	// Top is how many of the most frequent categories get their own
	// colour; the rest are grey. 0 → 10; at most len(palette) = 20.
	Top int
	// Names maps a category to a legend label (e.g. a grouper's
	// descriptions); missing names show the category id.
	Names  map[string]string
	Width  int // pixels; 0 → 900 (the legend takes the right 300)
	Height int // pixels; 0 → 600
}

// WriteSVGMap writes a scatter plot of points (e.g. PCA2's output) coloured by
// category to path, atomically. Categories are ranked by size (ties by name)
// and the Top largest get palette colours and a legend entry with their
// count; the others are drawn grey, first, so that coloured points stay
// visible. Points with an empty category count as "other".
func WriteSVGMap(path string, points [][2]float64, category []string, opt MapOptions) error {
	if len(points) != len(category) {
		return fmt.Errorf("embeval: %d points but %d categories", len(points), len(category))
	}
	if len(points) == 0 {
		return fmt.Errorf("embeval: %s: no points to plot", path)
	}
	if opt.Top == 0 {
		opt.Top = 10
	}
	if opt.Top < 0 || opt.Top > len(palette) {
		return fmt.Errorf("embeval: Top = %d, want 1..%d", opt.Top, len(palette))
	}
	if opt.Width == 0 {
		opt.Width = 900
	}
	if opt.Height == 0 {
		opt.Height = 600
	}
	for _, p := range points {
		if math.IsNaN(p[0]) || math.IsNaN(p[1]) || math.IsInf(p[0], 0) || math.IsInf(p[1], 0) {
			return fmt.Errorf("embeval: %s: non-finite point %v", path, p)
		}
	}
	count := make(map[string]int)
	for _, c := range category {
		if c != "" {
			count[c]++
		}
	}
	cats := make([]string, 0, len(count))
	for c := range count {
		cats = append(cats, c)
	}
	sort.Slice(cats, func(i, j int) bool {
		if count[cats[i]] != count[cats[j]] {
			return count[cats[i]] > count[cats[j]]
		}
		return cats[i] < cats[j]
	})
	if len(cats) > opt.Top {
		cats = cats[:opt.Top]
	}
	colour := make(map[string]string, len(cats))
	for i, c := range cats {
		colour[c] = palette[i]
	}
	minX, maxX, minY, maxY := math.Inf(1), math.Inf(-1), math.Inf(1), math.Inf(-1)
	for _, p := range points {
		minX, maxX = math.Min(minX, p[0]), math.Max(maxX, p[0])
		minY, maxY = math.Min(minY, p[1]), math.Max(maxY, p[1])
	}
	const margin, legendW = 40.0, 300.0
	plotW, plotH := float64(opt.Width)-legendW-2*margin, float64(opt.Height)-2*margin
	if plotW <= 0 || plotH <= 0 {
		return fmt.Errorf("embeval: %dx%d pixels leave no room to plot", opt.Width, opt.Height)
	}
	span := func(lo, hi float64) float64 {
		if hi > lo {
			return hi - lo
		}
		return 1 // all points on one line: centre them
	}
	// Points are placed inside the frame with a little padding so that
	// extreme points are not cut by it.
	const pad = 8.0
	inW, inH := plotW-2*pad, plotH-2*pad
	sx, sy := inW/span(minX, maxX), inH/span(minY, maxY)
	return fileio.WriteAtomic(path, func(w io.Writer) error {
		b := bufio.NewWriter(w)
		fmt.Fprintf(b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n",
			opt.Width, opt.Height, opt.Width, opt.Height)
		fmt.Fprintf(b, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
		if opt.Title != "" {
			fmt.Fprintf(b, `<text x="%g" y="24" font-size="15">%s</text>`+"\n", margin, html.EscapeString(opt.Title))
		}
		fmt.Fprintf(b, `<rect x="%g" y="%g" width="%.1f" height="%.1f" fill="none" stroke="#888"/>`+"\n", margin, margin, plotW, plotH)
		dot := func(p [2]float64, fill string) {
			x := margin + pad + (p[0]-minX)*sx
			y := margin + pad + inH - (p[1]-minY)*sy // SVG y grows downwards
			fmt.Fprintf(b, `<circle cx="%.2f" cy="%.2f" r="2.5" fill="%s" fill-opacity="0.8"/>`+"\n", x, y, fill)
		}
		others := 0
		for i, p := range points {
			if _, ok := colour[category[i]]; !ok {
				dot(p, grey)
				others++
			}
		}
		for i, p := range points {
			if c, ok := colour[category[i]]; ok {
				dot(p, c)
			}
		}
		lx := float64(opt.Width) - legendW + 10
		entry := func(k int, fill, label string) {
			y := margin + 10 + float64(k)*18
			fmt.Fprintf(b, `<circle cx="%.1f" cy="%.1f" r="5" fill="%s"/><text x="%.1f" y="%.1f">%s</text>`+"\n",
				lx, y, fill, lx+12, y+4, html.EscapeString(label))
		}
		for k, c := range cats {
			label := c
			if name := opt.Names[c]; name != "" {
				label = c + " " + name
			}
			if len(label) > 38 {
				label = label[:37] + "…"
			}
			entry(k, colour[c], fmt.Sprintf("%s (%d)", label, count[c]))
		}
		if others > 0 {
			entry(len(cats), grey, fmt.Sprintf("other (%d)", others))
		}
		fmt.Fprintln(b, "</svg>")
		return b.Flush()
	})
}
