package main

import (
	"fmt"
	"io"
	"os"

	runs "github.com/icdcode/icdcode/model/run"
	"github.com/icdcode/icdcode/quant/metrics"
)

// runTest is `icdcode test`; the file is not cmd_test.go, which Go would
// take for a test file.
func runTest(args []string) error {
	fs := newFlags("test", "-c CONFIG [--checkpoint best|last|PATH] [--split dev|test]",
		"evaluate a trained run on a dataset split: predictions, metrics and a summary")
	cfgPath := fs.String("c", "", "TOML config file of the run")
	ck := fs.String("checkpoint", "best", `"best", "last" or a checkpoint folder`)
	split := fs.String("split", "test", "dev or test")
	mode := fs.String("threshold-mode", "fixed", "fixed, global_dev (one threshold tuned for micro-F1) or per_label_dev (one per label)")
	threshold := fs.Float64("threshold", 0.5, "the fixed threshold")
	temp := fs.Bool("temperature", false, "fit a temperature on the tuning split and rescale the probabilities (calibration)")
	tune := fs.String("tune-split", "dev", "split the tuned thresholds and the temperature are fitted on: dev or train")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := requireFlags(fs, "c"); err != nil {
		return err
	}
	cfg, err := runs.LoadConfig(*cfgPath)
	if err != nil {
		return err
	}
	res, err := runs.Test(cfg, runs.TestOptions{Checkpoint: *ck, Split: *split,
		ThresholdMode: metrics.ThresholdMode(*mode), Threshold: *threshold, Temperature: *temp, TuneSplit: *tune, Log: os.Stderr})
	if err != nil {
		return err
	}
	printReport(os.Stdout, res.Report)
	fmt.Printf("checkpoint %s\npredictions %s\nmetrics %s\n", res.Checkpoint, res.Predictions, res.Metrics)
	return nil
}

// printReport writes the headline metrics of a report as a table.
func printReport(w io.Writer, r *metrics.Report) {
	opt := func(p *float64) string {
		if p == nil {
			return "n/a"
		}
		return fmt.Sprintf("%.4f", *p)
	}
	fmt.Fprintf(w, "%d documents, %d labels\n", r.Docs, r.Labels)
	fmt.Fprintf(w, "  %-16s %s\n", "metric", "value")
	row := func(name, v string) { fmt.Fprintf(w, "  %-16s %s\n", name, v) }
	row("micro P", fmt.Sprintf("%.4f", r.MicroPrecision))
	row("micro R", fmt.Sprintf("%.4f", r.MicroRecall))
	row("micro F1", fmt.Sprintf("%.4f", r.MicroF1))
	row("macro F1", fmt.Sprintf("%.4f", r.MacroF1MeanOfLabelF1))
	row("micro AUC", opt(r.MicroAUC))
	row("macro AUC", opt(r.MacroAUC))
	for _, a := range r.AtK {
		row(fmt.Sprintf("P@%d", a.K), fmt.Sprintf("%.4f", a.Precision))
	}
	if r.Calibration != nil {
		row("ECE (pooled)", fmt.Sprintf("%.4f", r.Calibration.PooledECE))
		row("ECE (label mean)", fmt.Sprintf("%.4f", r.Calibration.MeanLabelECE))
	}
	th := string(r.ThresholdMode)
	if r.GlobalThreshold != nil {
		th += fmt.Sprintf(" %.4f", *r.GlobalThreshold)
	}
	row("threshold", th)
	if r.Temperature != nil {
		row("temperature", fmt.Sprintf("%.4f", *r.Temperature))
	}
	for _, warn := range r.Warnings {
		fmt.Fprintf(w, "warning: %s\n", warn)
	}
}
