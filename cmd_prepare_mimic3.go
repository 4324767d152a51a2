package main

import (
	"flag"
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/icdcode/icdcode/data/dataset"
	"github.com/icdcode/icdcode/data/labelspace"
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
	codes := fs.String("codes", "both", "code kinds in the label space: diagnoses, procedures or both")
	top := fs.Int("top", 0, "keep the K most frequent codes (default from --preset; 0: no limit)")
	minCount := fs.Int("min-count", 0, "keep codes in at least N documents (default from --preset)")
	labels := fs.String("labels", "", "fixed label list, one code a line (dotted); replaces --top and --min-count")
	text := fs.String("text", "", "text policy keep, raw or clean (default from --preset)")
	gz := fs.Bool("gzip", false, "write docs.jsonl.gz")
	out := fs.String("out", "", "dataset folder to write")
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
	kinds, err := labelspace.ParseKinds(*codes)
	if err != nil {
		return err
	}
	opts := mimic3.Options{
		Dir: *dir, Splits: *splitsPath, Preset: p.Name, Kinds: kinds,
		Top: p.Top, MinCount: p.MinCount, Text: p.Text,
		Gzip: *gz, Out: *out, Progress: os.Stderr,
		Command: mimic3CommandLine("prepare mimic3", args),
	}
	if *labels != "" {
		// A fixed list replaces the preset's selection; --top or
		// --min-count given explicitly alongside it is refused below.
		opts.Top, opts.MinCount = 0, 0
		if opts.Labels, err = dataset.ReadLabels(*labels); err != nil {
			return err
		}
		opts.LabelsFile = *labels
	}
	if set["top"] {
		opts.Top = *top
	}
	if set["min-count"] {
		opts.MinCount = *minCount
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
	m := res.Manifest
	fmt.Printf("wrote %s: %d documents (train %d, dev %d, test %d) from %d discharge notes; %d labels (%d diagnoses, %d procedures); text %s\n",
		*out, m.Documents, m.Counts["train"], m.Counts["dev"], m.Counts["test"], res.Notes,
		m.Labels.Count, m.Labels.Diagnoses, m.Labels.Procedures, m.TextPolicy)
	if len(m.Build.Skipped) > 0 {
		keys := make([]string, 0, len(m.Build.Skipped))
		for k := range m.Build.Skipped {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = fmt.Sprintf("%s %d", k, m.Build.Skipped[k])
		}
		fmt.Printf("skipped: %s\n", strings.Join(parts, ", "))
	}
	for _, w := range m.Build.Warnings {
		fmt.Fprintf(os.Stderr, "warning: %s\n", w)
	}
	return nil
}

// mimic3CommandLine rebuilds the command line for the manifest, quoting arguments
// that a shell would split.
func mimic3CommandLine(name string, args []string) string {
	parts := []string{"icdcode", name}
	for _, a := range args {
		if a == "" || strings.ContainsAny(a, " \t\n'\"\\$`*?;&|<>()[]{}") {
			a = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
		parts = append(parts, a)
	}
	return strings.Join(parts, " ")
}
