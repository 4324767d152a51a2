package main

import (
	"fmt"

	"github.com/icdcode/icdcode/data/dataset"
)

func runDatasetInfo(args []string) error {
	fs := newFlags("dataset info", "--dir DIR", "read every document of a dataset folder, check it, and print its summary")
	dir := fs.String("dir", "", "dataset folder")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := requireFlags(fs, "dir"); err != nil {
		return err
	}
	ds, err := dataset.Open(*dir)
	if err != nil {
		return err
	}
	st, err := ds.Verify()
	if err != nil {
		return err
	}
	m := ds.Manifest
	fmt.Printf("%s: %s (source %s, %s, text policy %s)\n", *dir, m.Name, m.Source, m.CodeSystem, m.TextPolicy)
	fmt.Printf("labels: %d (%d diagnoses, %d procedures): %s\n", len(ds.Labels), m.Labels.Diagnoses, m.Labels.Procedures, m.Labels.Selection)
	fmt.Printf("%-6s %8s %12s %14s %12s\n", "split", "docs", "codes/doc", "chars/doc", "no codes")
	for _, s := range dataset.Splits {
		n := st.Docs[s]
		if n == 0 {
			fmt.Printf("%-6s %8d\n", s, 0)
			continue
		}
		fmt.Printf("%-6s %8d %12.2f %14.0f %12d\n", s, n, float64(st.Codes[s])/float64(n), float64(st.Chars[s])/float64(n), st.Unlabelled[s])
	}
	lo, med, hi := dataset.Quantiles(st.LabelDocs)
	fmt.Printf("training documents per label: min %d, median %d, max %d\n", lo, med, hi)
	return nil
}
