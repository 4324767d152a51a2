package main

import (
	"strings"

	"github.com/icdcode/icdcode/data/icd"
	"github.com/icdcode/icdcode/data/table"
	"github.com/icdcode/icdcode/data/textnorm"
)

func runPrepareTable(args []string) error {
	fs := newFlags("prepare table", "--in FILE --out DIR [flags]",
		"build a dataset from your own CSV (with a header row) or JSON Lines file, plain or .gz")
	var o table.Options
	fs.StringVar(&o.In, "in", "", "input file: .csv, .jsonl (or .ndjson), optionally .gz")
	fs.StringVar(&o.Format, "format", "", "csv or jsonl (default: from the file name)")
	fs.StringVar(&o.IDCol, "id-col", "id", "column (CSV) or field (JSONL) with the document id")
	fs.StringVar(&o.TextCol, "text-col", "text", "column with the note text")
	fs.StringVar(&o.DiagCol, "codes-col", "codes", "column with the diagnosis codes")
	fs.StringVar(&o.ProcCol, "proc-col", "", "column with the procedure codes (optional)")
	fs.StringVar(&o.SplitCol, "split-col", "", "column with the split: train, dev (or val) or test (optional)")
	meta := fs.String("meta-cols", "", "comma-separated columns to keep as document metadata")
	fs.StringVar(&o.Sep, "sep", ";", "separator between codes inside one cell")
	system := fs.String("system", "icd10", "code system: icd9 or icd10")
	fs.Float64Var(&o.DevFrac, "dev-frac", 0.1, "without --split-col: share of documents in dev (drawn from a hash of the id)")
	fs.Float64Var(&o.TestFrac, "test-frac", 0.1, "without --split-col: share of documents in test")
	fs.Uint64Var(&o.Seed, "seed", 1, "without --split-col: seed of the id hash")
	text := fs.String("text", "raw", "text policy: keep, raw (collapse white space) or clean")
	fs.BoolVar(&o.Gzip, "gzip", false, "write docs.jsonl.gz instead of docs.jsonl")
	fs.StringVar(&o.Out, "out", "", "output dataset folder")
	var lf labelFlags
	lf.register(fs, "both", "train")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := requireFlags(fs, "in", "out"); err != nil {
		return err
	}
	var err error
	if o.Labels, err = lf.labels(); err != nil {
		return err
	}
	if o.System, err = icd.ParseSystem(*system); err != nil {
		return err
	}
	if o.Text, err = textnorm.Parse(*text); err != nil {
		return err
	}
	if *meta != "" {
		o.MetaCols = strings.Split(*meta, ",")
	}
	o.CountOn = lf.countOn
	o.Command = commandLine("prepare table", args)
	s, err := table.Prepare(o)
	if err != nil {
		return err
	}
	printSummary(s.Manifest, o.Out)
	return nil
}
