package main

import (
	"fmt"
	"os"

	"github.com/icdcode/icdcode/quant/quantrun"
)

// runQuantifyTrain is `icdcode quantify train`.
func runQuantifyTrain(args []string) error {
	fs := newFlags("quantify train", "-c CONFIG",
		"fit the quantifiers on a run's dev predictions (CC, PCC, ACC, PACC, constant, MLP)")
	cfgPath := fs.String("c", "", "quantification TOML config (see configs/quant.toml)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := requireFlags(fs, "c"); err != nil {
		return err
	}
	cfg, err := quantrun.LoadConfig(*cfgPath)
	if err != nil {
		return err
	}
	if _, err := quantrun.Train(cfg, os.Stderr); err != nil {
		return err
	}
	fmt.Printf("quantifiers saved to %s\n", cfg.OutDir)
	return nil
}

// runQuantifyTest is `icdcode quantify test`.
func runQuantifyTest(args []string) error {
	fs := newFlags("quantify test", "-c CONFIG [--split dev|test]",
		"compare the trained quantifiers on bags of test (or dev) documents")
	cfgPath := fs.String("c", "", "quantification TOML config (see configs/quant.toml)")
	split := fs.String("split", "", "dev or test (default test, or dev when the dataset has no test split)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := requireFlags(fs, "c"); err != nil {
		return err
	}
	cfg, err := quantrun.LoadConfig(*cfgPath)
	if err != nil {
		return err
	}
	res, err := quantrun.Test(cfg, *split, os.Stderr)
	if err != nil {
		return err
	}
	if err := res.Table.Format(os.Stdout); err != nil {
		return err
	}
	fmt.Printf("table %s\n", res.Path)
	return nil
}
