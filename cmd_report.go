package main

import (
	"errors"
	"flag"
	"fmt"
	"os"

	"github.com/icdcode/icdcode/quant/quantrun"
)

// runReport is `icdcode report RUN_DIR`.
func runReport(args []string) error {
	fs := newFlags("report", "RUN_DIR [--split dev|test] [--quant DIR]",
		"write RUN_DIR/report/report.md and reliability.svg from a tested run")
	split := fs.String("split", "", "dev or test (default test when RUN_DIR has its metrics, else dev)")
	quantDir := fs.String("quant", "", "folder of quantification-SPLIT.json (default RUN_DIR/quant)")
	// RUN_DIR may come before or after the flags; flag parsing stops at the
	// first positional argument, so take it out and parse the rest again.
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage
	}
	if fs.NArg() == 0 {
		fmt.Fprintf(fs.Output(), "%s: RUN_DIR is required\n", fs.Name())
		fs.Usage()
		return errUsage
	}
	runDir := fs.Arg(0)
	if err := parseFlags(fs, fs.Args()[1:]); err != nil {
		return err
	}
	res, err := quantrun.Report(runDir, quantrun.ReportOptions{Split: *split, QuantDir: *quantDir})
	if err != nil {
		return err
	}
	fmt.Print(res.Markdown)
	fmt.Fprintf(os.Stderr, "report %s\n", res.Path)
	if res.Reliability != "" {
		fmt.Fprintf(os.Stderr, "reliability diagram %s\n", res.Reliability)
	}
	return nil
}
