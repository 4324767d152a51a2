package train

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strings"

	"github.com/icdcode/icdcode/data/fileio"
)

// ReadLog reads the per-epoch log written by Train.
func ReadLog(path string) ([]EpochRecord, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("train: log: %w", err)
	}
	defer f.Close()
	var recs []EpochRecord
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<16), 1<<24)
	for line := 1; sc.Scan(); line++ {
		var r EpochRecord
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			return nil, fmt.Errorf("train: log %s: line %d: %w", path, line, err)
		}
		recs = append(recs, r)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("train: log %s: %w", path, err)
	}
	return recs, nil
}

// curveColors are the series colours (colour-blind safe, Okabe–Ito).
var curveColors = []string{"#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00"}

// WriteCurveSVG draws the training curve of recs as an SVG file (written
// atomically): the training loss per epoch on the left, and on the right
// the dev metrics named in metrics that the log holds (all of them share
// one axis, so give metrics on a common scale such as [0, 1]), with the
// best epoch marked.
func WriteCurveSVG(path string, recs []EpochRecord, metrics []string) error {
	if len(recs) == 0 {
		return fmt.Errorf("train: no epochs to plot")
	}
	return fileio.WriteAtomic(path, func(w io.Writer) error {
		return writeCurve(w, recs, metrics)
	})
}

func writeCurve(w io.Writer, recs []EpochRecord, metrics []string) error {
	const width, height, panelW, top, bottom, left = 900, 340, 360, 40, 290, 60
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="12">`+"\n", width, height)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="white"/>`+"\n", width, height)
	epochs := make([]float64, len(recs))
	loss := make([]float64, len(recs))
	best := 0
	for i, r := range recs {
		epochs[i], loss[i] = float64(r.Epoch), r.TrainLoss
		if r.Best {
			best = r.Epoch
		}
	}
	var series []curveSeries
	for _, m := range metrics {
		ys := make([]float64, len(recs))
		seen := false
		for i, r := range recs {
			v, ok := r.Metrics[m]
			if !ok {
				v = math.NaN()
			}
			ys[i], seen = v, seen || ok
		}
		if seen {
			series = append(series, curveSeries{m, ys})
		}
	}
	panel(&b, left, top, panelW, bottom-top, "training loss", epochs, []curveSeries{{"train_loss", loss}}, 0)
	if len(series) > 0 {
		panel(&b, left+panelW+80, top, panelW, bottom-top, "dev metrics", epochs, series, best)
	}
	b.WriteString("</svg>\n")
	_, err := io.WriteString(w, b.String())
	return err
}

type curveSeries struct {
	name string
	ys   []float64
}

// panel draws one chart: axes with min/max labels, one polyline per series,
// a legend, and a dashed line at epoch best (0: none).
func panel(b *strings.Builder, x0, y0, w, h int, title string, xs []float64, series []curveSeries, best int) {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, s := range series {
		for _, v := range s.ys {
			if !math.IsNaN(v) && !math.IsInf(v, 0) {
				lo, hi = math.Min(lo, v), math.Max(hi, v)
			}
		}
	}
	if math.IsInf(lo, 0) {
		lo, hi = 0, 1
	}
	if hi == lo {
		lo, hi = lo-0.5, hi+0.5
	}
	xmin, xmax := slices.Min(xs), slices.Max(xs)
	if xmax == xmin {
		xmin, xmax = xmin-1, xmax+1
	}
	px := func(x float64) float64 { return float64(x0) + (x-xmin)/(xmax-xmin)*float64(w) }
	py := func(y float64) float64 { return float64(y0+h) - (y-lo)/(hi-lo)*float64(h) }
	fmt.Fprintf(b, `<text x="%d" y="%d" font-weight="bold">%s</text>`+"\n", x0, y0-12, title)
	fmt.Fprintf(b, `<rect x="%d" y="%d" width="%d" height="%d" fill="none" stroke="#999"/>`+"\n", x0, y0, w, h)
	fmt.Fprintf(b, `<text x="%d" y="%d" text-anchor="end">%.4g</text>`+"\n", x0-4, y0+10, hi)
	fmt.Fprintf(b, `<text x="%d" y="%d" text-anchor="end">%.4g</text>`+"\n", x0-4, y0+h, lo)
	fmt.Fprintf(b, `<text x="%d" y="%d">%g</text>`+"\n", x0, y0+h+16, xmin)
	fmt.Fprintf(b, `<text x="%d" y="%d" text-anchor="end">epoch %g</text>`+"\n", x0+w, y0+h+16, xmax)
	if best > 0 {
		fmt.Fprintf(b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#666" stroke-dasharray="4 3"/>`+"\n", px(float64(best)), y0, px(float64(best)), y0+h)
		fmt.Fprintf(b, `<text x="%.1f" y="%d" fill="#666">best %d</text>`+"\n", px(float64(best))+3, y0+h-4, best)
	}
	for i, s := range series {
		color := curveColors[i%len(curveColors)]
		var pts []string
		for j, v := range s.ys {
			if !math.IsNaN(v) && !math.IsInf(v, 0) {
				pts = append(pts, fmt.Sprintf("%.1f,%.1f", px(xs[j]), py(v)))
			}
		}
		fmt.Fprintf(b, `<polyline fill="none" stroke="%s" stroke-width="2" points="%s"/>`+"\n", color, strings.Join(pts, " "))
		fmt.Fprintf(b, `<text x="%d" y="%d" fill="%s">%s</text>`+"\n", x0+8, y0+16+14*i, color, s.name)
	}
}
