package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/icdcode/icdcode/data/mimic3"
	"github.com/icdcode/icdcode/data/textnorm"
)

// runPrepareMIMIC3 is `icdcode prepare mimic3`.
func runPrepareMIMIC3(args []string) error {
	fs := newFlags("prepare mimic3", "--dir DIR --splits PATH --preset 50|full|clean --out DIR [flags]",
		"build a dataset from the MIMIC-III tables and published split lists")
	dir := fs.String("dir", "", "folder with NOTEEVENTS, DIAGNOSES_ICD and PROCEDURES_ICD (.csv or .csv.gz, any case of name)")
	splitsPath := fs.String("splits", "", "split list: a CAML folder ({train,dev,test}_{50,full}_hadm_ids.csv) or an Edin *_splits.feather/.csv file")
	preset := fs.String("preset", "", "50 (top 50 codes, raw text), full (all codes, raw text) or clean (codes in ≥ 10 documents, clean text); also picks the CAML files")
	text := fs.String("text", "", "text policy keep, raw or clean (default from --preset)")
	gz := fs.Bool("gzip", false, "write docs.jsonl.gz")
	out := fs.String("out", "", "dataset folder to write")
	var lf labelFlags
	lf.register(fs, "both", "all")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := requireFlags(fs, "dir", "splits", "preset", "out"); err != nil {
		return err
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })

	p, err := mimic3.LookupPreset(*preset)
	if err != nil {
		return err
	}
	labels, err := lf.labels()
	if err != nil {
		return err
	}
	// The preset gives the label selection and text policy; flags given
	// explicitly override it, and a fixed list replaces the selection.
	spec := labels.Spec
	if spec.Fixed == nil {
		if !set["top"] {
			spec.Top = p.Top
		}
		if !set["min-count"] {
			spec.MinCount = p.MinCount
		}
	}
	opts := mimic3.Options{
		Dir: *dir, Splits: *splitsPath, Preset: p.Name,
		Kinds: spec.Kinds, Top: spec.Top, MinCount: spec.MinCount, Labels: spec.Fixed, LabelsFile: lf.labelsFile,
		CountOn: lf.countOn, KeepUnlabelled: labels.KeepUnlabelled,
		Text: p.Text, Gzip: *gz, Out: *out, Progress: os.Stderr,
		Command: commandLine("prepare mimic3", args),
	}
	if set["text"] {
		if opts.Text, err = textnorm.Parse(*text); err != nil {
			return err
		}
	}
	res, err := mimic3.Prepare(opts)
	if err != nil {
		return err
	}
	fmt.Printf("joined %d discharge notes from %.1f MB of NOTEEVENTS\n", res.Notes, float64(res.NoteBytes)/1e6)
	printSummary(res.Manifest, *out)
	return nil
}
