package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/icdcode/icdcode/data/synonyms"
	"github.com/icdcode/icdcode/data/synonyms/candidates"
	"github.com/icdcode/icdcode/data/synonyms/sources"
)

// runSynonymsBuild gathers candidate synonyms per code of a label space from
// terminology files and writes the candidates file; the work is done by
// package candidates, this only reads flags and prints the report.
func runSynonymsBuild(args []string) error {
	const name = "synonyms build"
	fs := newFlags(name, "--source KIND=PATH [--source …] (--labels FILE | --dataset DIR) [--system icd9|icd10] --out FILE",
		"gather candidate synonyms per code from terminology files")
	var srcs multiFlag
	fs.Var(&srcs, "source", "a terminology file as KIND[:OPTION]=PATH (repeatable; kinds below)")
	labels := fs.String("labels", "", "label space: one code a line, in label order")
	dir := fs.String("dataset", "", "dataset folder: its labels.txt is the label space and dataset.toml gives the code system")
	system := fs.String("system", "", "code system of the labels, icd9 or icd10 (default: the dataset's code_system)")
	maxChars := fs.Int("max-chars", candidates.DefaultMaxChars, "drop candidates longer than this many characters after normalisation")
	out := fs.String("out", "", "candidates file to write (JSON Lines, label order)")
	usage := fs.Usage
	fs.Usage = func() {
		usage()
		w := fs.Output()
		fmt.Fprintf(w, "\nSource kinds (OPTION: diagnosis or procedure, where listed):\n")
		for _, k := range sources.Kinds {
			opt := ""
			if len(k.Options) > 0 {
				opt = "[:" + strings.Join(k.Options, "|") + "]"
			}
			fmt.Fprintf(w, "  %-34s %s\n", k.Name+opt, k.Help)
		}
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := requireFlags(fs, "out"); err != nil {
		return err
	}
	if len(srcs) == 0 {
		fmt.Fprintf(fs.Output(), "icdcode %s: at least one --source is required\n", name)
		fs.Usage()
		return errUsage
	}
	if *maxChars <= 0 {
		return fmt.Errorf("--max-chars must be positive, got %d", *maxChars)
	}
	specs := make([]sources.Spec, len(srcs))
	for i, s := range srcs {
		spec, err := sources.ParseSpec(s)
		if err != nil {
			return err
		}
		specs[i] = spec
	}
	labelList, sys, err := candidates.LabelSpace(*labels, *dir, *system)
	if err != nil {
		return err
	}
	pools, rep, err := candidates.Build(candidates.Config{Labels: labelList, System: sys, MaxChars: *maxChars, Sources: specs})
	if err != nil {
		return err
	}
	if err := synonyms.WritePools(*out, pools); err != nil {
		return err
	}
	if err := rep.Write(os.Stdout); err != nil {
		return err
	}
	fmt.Printf("wrote %s (%d codes)\n", *out, len(pools))
	return nil
}
