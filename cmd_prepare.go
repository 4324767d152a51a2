package main

import (
	"flag"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"

	"github.com/icdcode/icdcode/data/dataset"
	"github.com/icdcode/icdcode/data/labelspace"
	"github.com/icdcode/icdcode/data/prepare"
)

// labelFlags are the label-space flags every prepare command shares.
type labelFlags struct {
	kinds, labelsFile, countOn string
	top, minCount              int
	keepUnlabelled             bool
}

func (l *labelFlags) register(fs *flag.FlagSet, defaultKinds, defaultCountOn string) {
	fs.StringVar(&l.kinds, "codes", defaultKinds, "which codes form the label space: diagnoses, procedures or both")
	fs.IntVar(&l.top, "top", 0, "keep the K most frequent codes (0: all)")
	fs.IntVar(&l.minCount, "min-count", 0, "keep codes found in at least N documents (0: no minimum)")
	fs.StringVar(&l.labelsFile, "labels", "", "use this label list (one code a line, order kept) instead of --top/--min-count")
	fs.StringVar(&l.countOn, "count-on", defaultCountOn, "documents whose codes are counted for --top/--min-count: train or all")
	fs.BoolVar(&l.keepUnlabelled, "keep-unlabelled", false, "keep documents with no code in the label space (default: drop and count them)")
}

func (l *labelFlags) labels() (prepare.Labels, error) {
	kinds, err := labelspace.ParseKinds(l.kinds)
	if err != nil {
		return prepare.Labels{}, err
	}
	if l.countOn != "train" && l.countOn != "all" {
		return prepare.Labels{}, fmt.Errorf("--count-on %q: want train or all", l.countOn)
	}
	spec := labelspace.Spec{Kinds: kinds, Top: l.top, MinCount: l.minCount}
	if l.labelsFile != "" {
		if spec.Fixed, err = dataset.ReadLabels(l.labelsFile); err != nil {
			return prepare.Labels{}, err
		}
	}
	return prepare.Labels{Spec: spec, KeepUnlabelled: l.keepUnlabelled}, nil
}

// commandLine rebuilds a subcommand's command line for manifests, so that a
// dataset says how it was made; arguments a shell would split are quoted.
func commandLine(name string, args []string) string {
	parts := []string{"icdcode", name}
	for _, a := range args {
		if a == "" || strings.ContainsAny(a, " \t\n'\"\\$`*?;&|<>()[]{}") {
			a = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
		parts = append(parts, a)
	}
	return strings.Join(parts, " ")
}

// printSummary reports a prepared dataset on stdout.
func printSummary(m dataset.Manifest, out string) {
	fmt.Printf("wrote %s: %d documents (train %d, dev %d, test %d), %d labels (%d diagnoses, %d procedures), text policy %s\n",
		out, m.Documents, m.Counts["train"], m.Counts["dev"], m.Counts["test"], m.Labels.Count, m.Labels.Diagnoses, m.Labels.Procedures, m.TextPolicy)
	fmt.Printf("labels: %s; order: %s\n", m.Labels.Selection, m.Labels.Order)
	for _, reason := range slices.Sorted(maps.Keys(m.Build.Skipped)) {
		fmt.Printf("skipped %d: %s\n", m.Build.Skipped[reason], reason)
	}
	for _, w := range m.Build.Warnings {
		fmt.Fprintf(os.Stderr, "warning: %s\n", w)
	}
}
