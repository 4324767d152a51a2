package main

import (
	"fmt"

	runs "github.com/icdcode/icdcode/model/run"
)

func runPredict(args []string) error {
	fs := newFlags("predict", "--run RUN_DIR --in NOTES --out CODES.jsonl [--threshold 0.5] [--top K]",
		"code new notes with a trained run (no training data needed)")
	dir := fs.String("run", "", "run directory written by icdcode train")
	in := fs.String("in", "", `notes: a JSONL file of {"id","text"} lines or a folder of .txt files`)
	out := fs.String("out", "", "output JSONL: per note its codes with probabilities")
	ck := fs.String("checkpoint", "best", `"best", "last" or a checkpoint folder`)
	th := fs.Float64("threshold", 0.5, "keep codes with probability ≥ this")
	top := fs.Int("top", 0, "keep at most this many codes per note (0: all above the threshold)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := requireFlags(fs, "run", "in", "out"); err != nil {
		return err
	}
	if *th < 0 || *th > 1 || *top < 0 {
		return fmt.Errorf("--threshold must lie in [0, 1] and --top be ≥ 0")
	}
	notes, err := runs.ReadNotes(*in)
	if err != nil {
		return err
	}
	m, _, err := runs.Open(*dir, *ck)
	if err != nil {
		return err
	}
	if err := m.Predict(notes, *out, runs.PredictOptions{Threshold: *th, Top: *top}); err != nil {
		return err
	}
	fmt.Printf("coded %d notes: %s\n", len(notes), *out)
	return nil
}
