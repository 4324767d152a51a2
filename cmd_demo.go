package main

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/icdcode/icdcode/data/dataset"
	"github.com/icdcode/icdcode/data/demo"
	"github.com/icdcode/icdcode/data/icd"
	"github.com/icdcode/icdcode/data/labelspace"
	"github.com/icdcode/icdcode/data/prepare"
	"github.com/icdcode/icdcode/data/synonyms"
	"github.com/icdcode/icdcode/data/synonyms/candidates"
	"github.com/icdcode/icdcode/data/synonyms/selection"
	"github.com/icdcode/icdcode/data/synonyms/sources"
	"github.com/icdcode/icdcode/data/table"
	"github.com/icdcode/icdcode/data/textnorm"
)

func runDemo(args []string) error {
	fs := newFlags("demo", "[--out DIR] [flags]",
		"generate the demo corpus and run the pipeline on it end to end: prepare → synonyms build → synonyms select")
	out := fs.String("out", "demo-run", "folder for everything the demo writes")
	opts := demo.DefaultOptions
	fs.IntVar(&opts.Docs, "docs", opts.Docs, "number of generated notes")
	fs.Uint64Var(&opts.Seed, "seed", opts.Seed, "seed of the generated corpus")
	m := fs.Int("m", 4, "synonyms per code")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	start := time.Now()
	step := func(n int, what string) { fmt.Printf("[%d/4] %s\n", n, what) }

	step(1, "generating the demo corpus")
	files, err := demo.Write(filepath.Join(*out, "corpus"), opts)
	if err != nil {
		return err
	}
	fmt.Printf("      %d notes in %s, terminology in %s\n", opts.Docs, files.Notes, files.Terms)

	step(2, "icdcode prepare table")
	dsDir := filepath.Join(*out, "dataset")
	s, err := table.Prepare(table.Options{
		In: files.Notes, IDCol: "id", TextCol: "text", DiagCol: "diagnoses", ProcCol: "procedures", SplitCol: "split",
		Sep: ";", System: icd.ICD10, CountOn: "train", Text: textnorm.Raw, Out: dsDir,
		Labels:  prepare.Labels{Spec: labelspace.Spec{Kinds: labelspace.Both}},
		Command: fmt.Sprintf("icdcode prepare table --in %s --text-col text --codes-col diagnoses --proc-col procedures --split-col split --out %s", files.Notes, dsDir),
	})
	if err != nil {
		return err
	}
	printSummary(s.Manifest, dsDir)

	step(3, "icdcode synonyms build")
	ds, err := dataset.Open(dsDir)
	if err != nil {
		return err
	}
	spec, err := sources.ParseSpec("tsv=" + files.Terms)
	if err != nil {
		return err
	}
	pools, rep, err := candidates.Build(candidates.Config{Labels: ds.Labels, System: icd.ICD10, Sources: []sources.Spec{spec}})
	if err != nil {
		return err
	}
	candPath := filepath.Join(*out, "candidates.jsonl")
	if err := synonyms.WritePools(candPath, pools); err != nil {
		return err
	}
	fmt.Printf("      %d codes, pool sizes min %d, median %g, max %d: %s\n", len(pools), rep.PoolMin, rep.PoolMedian, rep.PoolMax, candPath)

	step(4, fmt.Sprintf("icdcode synonyms select --m %d --criterion mdp", *m))
	synPath := filepath.Join(*out, "synonyms.jsonl")
	sum, err := selection.SelectFile(candPath, synPath, ds.Labels, selection.Config{M: *m, Criterion: selection.MDP, MaxPool: selection.DefaultMaxPool, Log: os.Stderr})
	if err != nil {
		return err
	}
	fmt.Printf("      %d codes, %d searches, %d proven optimal: %s\n", sum.Codes, sum.Solved, sum.Optimal, synPath)
	fmt.Printf("done in %.1fs. Next: icdcode dataset info --dir %s\n", time.Since(start).Seconds(), dsDir)
	return nil
}
