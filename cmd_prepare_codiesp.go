package main

import (
	"github.com/icdcode/icdcode/data/codiesp"
	"github.com/icdcode/icdcode/data/textnorm"
)

func runPrepareCodiEsp(args []string) error {
	fs := newFlags("prepare codiesp", "--dir DIR --out DIR [flags]",
		"build a dataset from the CodiEsp corpus (DIR/{train,dev,test}/ with text_files, text_files_en, *D.tsv, *P.tsv)")
	dir := fs.String("dir", "", "CodiEsp folder holding train/, dev/ and optionally test/")
	lang := fs.String("lang", "en", "text to use: en (machine translation) or es (original Spanish)")
	text := fs.String("text", "raw", "text policy: keep, raw (collapse white space) or clean")
	gz := fs.Bool("gzip", false, "write docs.jsonl.gz instead of docs.jsonl")
	out := fs.String("out", "", "output dataset folder")
	var lf labelFlags
	lf.register(fs, "diagnoses", "train")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := requireFlags(fs, "dir", "out"); err != nil {
		return err
	}
	labels, err := lf.labels()
	if err != nil {
		return err
	}
	policy, err := textnorm.Parse(*text)
	if err != nil {
		return err
	}
	s, err := codiesp.Prepare(codiesp.Options{Dir: *dir, Lang: *lang, Labels: labels, CountOn: lf.countOn,
		Text: policy, Gzip: *gz, Out: *out, Command: commandLine("prepare codiesp", args)})
	if err != nil {
		return err
	}
	printSummary(s.Manifest, *out)
	return nil
}
