package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"

	runs "github.com/icdcode/icdcode/model/run"
)

func runTrain(args []string) error {
	fs := newFlags("train", "-c CONFIG [--resume]",
		"train a coding model as a TOML config describes, into its run directory")
	cfgPath := fs.String("c", "", "TOML config file (see configs/)")
	resume := fs.Bool("resume", false, "continue the run directory's newest checkpoint")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := requireFlags(fs, "c"); err != nil {
		return err
	}
	cfg, err := runs.LoadConfig(*cfgPath)
	if err != nil {
		return err
	}
	// Ctrl-C stops at the next document; the last epoch's checkpoint
	// stays, and --resume continues from it.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	res, err := runs.Train(ctx, cfg, runs.TrainOptions{Resume: *resume, Log: os.Stderr})
	if err != nil {
		return err
	}
	r := res.Result
	fmt.Printf("trained %d epochs (%d updates) into %s; best %s %.4f at epoch %d", r.Epochs, r.Steps, res.Dir, cfg.Train.Metric, r.Best, r.BestEpoch)
	if r.Stopped {
		fmt.Print(" (early stop)")
	}
	fmt.Printf("\nNext: icdcode test -c %s\n", *cfgPath)
	return nil
}
