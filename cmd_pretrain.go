package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"

	"github.com/icdcode/icdcode/model/pretrain"
)

func runPretrain(args []string) error {
	fs := newFlags("pretrain", "-c CONFIG [--resume]",
		"masked-language-model pretraining of an encoder on a dataset's training notes, for model.source = \"hf:RUN/encoder\"")
	cfgPath := fs.String("c", "", "TOML config file (see configs/pretrain_codiesp.toml)")
	resume := fs.Bool("resume", false, "continue the run directory's newest checkpoint")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := requireFlags(fs, "c"); err != nil {
		return err
	}
	cfg, err := pretrain.LoadConfig(*cfgPath)
	if err != nil {
		return err
	}
	// Ctrl-C stops at the next window; the last epoch's checkpoint stays,
	// and --resume continues from it.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	res, err := pretrain.Pretrain(ctx, cfg, pretrain.Options{Resume: *resume, Log: os.Stderr})
	if err != nil {
		return err
	}
	r := res.Train
	fmt.Printf("pretrained %d epochs (%d updates) on %d windows into %s; best %s %.4f at epoch %d", r.Epochs, r.Steps, res.Windows, res.Dir, res.Metric, r.Best, r.BestEpoch)
	if r.Stopped {
		fmt.Print(" (early stop)")
	}
	fmt.Printf("\nencoder and tokenizer: %s\nUse it in a classifier config's [model] section:\n  source = \"hf:%s\"\n", res.EncoderDir, res.EncoderDir)
	return nil
}
