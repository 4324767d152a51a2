package quantrun

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/icdcode/icdcode/data/dataset"
	"github.com/icdcode/icdcode/data/fileio"
	"github.com/icdcode/icdcode/quant/metrics"
	"github.com/icdcode/icdcode/quant/probs"
	"github.com/icdcode/icdcode/quant/quantify"
)

// Report file names inside RUN_DIR/report.
const (
	ReportDir       = "report"
	ReportFile      = "report.md"
	ReliabilityFile = "reliability.svg"
)

// TopLabels is how many of the most frequent labels the per-label table shows.
const TopLabels = 20

// ReportOptions says what Report reads.
type ReportOptions struct {
	// Split is dev or test; "" picks test when RUN_DIR has metrics-test.json,
	// else dev.
	Split string
	// QuantDir holds quantification-SPLIT.json; "" means RUN_DIR/quant (the
	// default out_dir of configs/quant.toml).
	QuantDir string
}

// ReportResult is the Markdown and where it was written.
type ReportResult struct {
	Split       string
	Markdown    string
	Path        string
	Reliability string // "" when the metrics had no calibration section
}

// Report reads RUN_DIR/metrics-SPLIT.json, RUN_DIR/labels.txt and
// RUN_DIR/predictions-SPLIT.jsonl (and the quantification table when there
// is one) and writes RUN_DIR/report/report.md and reliability.svg. The
// predictions are read to check they belong to the metrics (same documents
// and labels) and to show each label's mean predicted probability beside its
// observed frequency, which the metrics file does not hold.
func Report(runDir string, opt ReportOptions) (*ReportResult, error) {
	split := opt.Split
	if split == "" {
		split = "dev"
		if _, err := os.Stat(metricsPath(runDir, "test")); err == nil {
			split = "test"
		}
	}
	if split != "dev" && split != "test" {
		return nil, fmt.Errorf("split %q, want dev or test", split)
	}
	mpath := metricsPath(runDir, split)
	raw, err := os.ReadFile(mpath)
	if err != nil {
		if os.IsNotExist(err) {
			return nil, fmt.Errorf("%s not found: run `icdcode test --split %s` first", mpath, split)
		}
		return nil, err
	}
	var rep metrics.Report
	if err := json.Unmarshal(raw, &rep); err != nil {
		return nil, fmt.Errorf("%s: %w", mpath, err)
	}
	labels, err := dataset.ReadLabels(filepath.Join(runDir, probs.LabelsFile))
	if err != nil {
		return nil, err
	}
	if rep.Labels != len(labels) {
		return nil, fmt.Errorf("%s has %d labels but %s lists %d", mpath, rep.Labels, filepath.Join(runDir, probs.LabelsFile), len(labels))
	}
	ppath := probs.Path(runDir, split)
	ids, p, err := probs.ReadFile(ppath, labels)
	if err != nil {
		return nil, err
	}
	if len(ids) != rep.Docs {
		return nil, fmt.Errorf("%s has %d documents but %s was computed on %d: files from different test runs", ppath, len(ids), mpath, rep.Docs)
	}
	meanProb := make([]float64, len(labels))
	for _, row := range p {
		for j, v := range row {
			meanProb[j] += v
		}
	}
	for j := range meanProb {
		meanProb[j] /= float64(len(p))
	}

	qdir := opt.QuantDir
	if qdir == "" {
		qdir = filepath.Join(runDir, "quant")
	}
	var table *quantify.Table
	qpath := filepath.Join(qdir, QuantificationFile(split))
	if raw, err := os.ReadFile(qpath); err == nil {
		table = &quantify.Table{}
		if err := json.Unmarshal(raw, table); err != nil {
			return nil, fmt.Errorf("%s: %w", qpath, err)
		}
	} else if !os.IsNotExist(err) {
		return nil, err
	}

	outDir := filepath.Join(runDir, ReportDir)
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return nil, err
	}
	res := &ReportResult{Split: split, Path: filepath.Join(outDir, ReportFile)}
	if rep.Calibration != nil && len(rep.Calibration.PooledBins) > 0 {
		res.Reliability = filepath.Join(outDir, ReliabilityFile)
		title := fmt.Sprintf("Reliability (%s, all labels pooled)", split)
		if err := metrics.SaveReliabilitySVG(res.Reliability, rep.Calibration.PooledBins, title); err != nil {
			return nil, err
		}
	}
	var b bytes.Buffer
	writeMarkdown(&b, runDir, split, &rep, labels, meanProb, table, qpath, res.Reliability != "")
	res.Markdown = b.String()
	if err := fileio.WriteAtomic(res.Path, func(w io.Writer) error {
		_, err := io.WriteString(w, res.Markdown)
		return err
	}); err != nil {
		return nil, err
	}
	return res, nil
}

func metricsPath(runDir, split string) string {
	return filepath.Join(runDir, "metrics-"+split+".json")
}

func writeMarkdown(w io.Writer, runDir, split string, r *metrics.Report, labels []string, meanProb []float64,
	table *quantify.Table, qpath string, svg bool) {
	f4 := func(x float64) string { return fmt.Sprintf("%.4f", x) }
	opt := func(p *float64) string {
		if p == nil {
			return "n/a"
		}
		return f4(*p)
	}
	fmt.Fprintf(w, "# Report: %s (%s split)\n\n", filepath.Base(filepath.Clean(runDir)), split)
	fmt.Fprintf(w, "%d documents, %d labels, threshold mode `%s`", r.Docs, r.Labels, r.ThresholdMode)
	if r.GlobalThreshold != nil {
		fmt.Fprintf(w, " (threshold %s)", f4(*r.GlobalThreshold))
	}
	fmt.Fprint(w, ".\n\n## Metrics\n\n| metric | value |\n|---|---:|\n")
	row := func(name, v string) { fmt.Fprintf(w, "| %s | %s |\n", name, v) }
	row("micro precision", f4(r.MicroPrecision))
	row("micro recall", f4(r.MicroRecall))
	row("micro F1", f4(r.MicroF1))
	row("macro precision", f4(r.MacroPrecision))
	row("macro recall", f4(r.MacroRecall))
	row("macro F1 (mean of label F1)", f4(r.MacroF1MeanOfLabelF1))
	row("macro F1 (harmonic of macro P, R)", f4(r.MacroF1HarmonicOfMacroPR))
	row("micro AUC", opt(r.MicroAUC))
	row("macro AUC", opt(r.MacroAUC))
	for _, a := range r.AtK {
		row(fmt.Sprintf("P@%d", a.K), f4(a.Precision))
		row(fmt.Sprintf("R@%d", a.K), f4(a.Recall))
		row(fmt.Sprintf("F1@%d", a.K), f4(a.F1FromMeans))
	}
	if len(r.AUCSkippedLabels) > 0 {
		fmt.Fprintf(w, "\nMacro AUC skips %d labels with a single class.\n", len(r.AUCSkippedLabels))
	}
	for _, s := range r.Warnings {
		fmt.Fprintf(w, "\n> %s\n", s)
	}

	if len(r.PerLabel) == len(labels) {
		order := make([]int, len(labels))
		for i := range order {
			order[i] = i
		}
		// Most frequent first; ties keep label order so the table is stable.
		slices.SortStableFunc(order, func(a, b int) int { return r.PerLabel[b].Support - r.PerLabel[a].Support })
		n := min(TopLabels, len(order))
		fmt.Fprintf(w, "\n## The %d most frequent labels\n\n", n)
		fmt.Fprint(w, "| code | support | frequency | mean p | predicted | precision | recall | F1 | AUC | ECE | Brier |\n")
		fmt.Fprint(w, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
		for _, j := range order[:n] {
			l := r.PerLabel[j]
			fmt.Fprintf(w, "| %s | %d | %s | %s | %d | %s | %s | %s | %s | %s | %s |\n",
				mdEscape(labels[j]), l.Support, f4(float64(l.Support)/float64(max(r.Docs, 1))), f4(meanProb[j]),
				l.Predicted, f4(l.Precision), f4(l.Recall), f4(l.F1), opt(l.AUC), f4(l.ECE), f4(l.Brier))
		}
	}

	fmt.Fprint(w, "\n## Calibration\n\n")
	if c := r.Calibration; c != nil {
		fmt.Fprint(w, "| measure | value |\n|---|---:|\n")
		row(fmt.Sprintf("ECE pooled (%d %s bins)", c.Bins, c.Binning), f4(c.PooledECE))
		row("ECE mean over labels", f4(c.MeanLabelECE))
		row("Brier", f4(c.Brier))
		if r.Temperature != nil {
			row("temperature", f4(*r.Temperature))
		}
		if svg {
			fmt.Fprintf(w, "\n![reliability diagram](%s)\n", ReliabilityFile)
		}
	} else {
		fmt.Fprint(w, "The metrics file has no calibration section.\n")
	}

	if table != nil {
		fmt.Fprintf(w, "\n## Quantification\n\n%d bags, %d labels, from `%s`.\n\n", table.Bags, table.Labels, filepath.Base(qpath))
		fmt.Fprint(w, "| quantifier | AE | RAE | KLD |\n|---|---:|---:|---:|\n")
		for _, q := range table.Rows {
			fmt.Fprintf(w, "| %s | %.5f | %.5f | %.5f |\n", mdEscape(q.Quantifier), q.AE, q.RAE, q.KLD)
		}
	}
}

// mdEscape keeps a code from breaking a Markdown table row.
func mdEscape(s string) string { return strings.ReplaceAll(s, "|", `\|`) }
