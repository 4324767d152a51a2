package main

import (
	"fmt"
	"os"

	"github.com/icdcode/icdcode/model/embedrun"
)

// loadEmbedConfig parses the shared -c flag of the embed commands and, for
// the training commands (train = true), --resume.
func loadEmbedConfig(name, summary string, args []string, train bool) (*embedrun.Config, embedrun.RunOptions, error) {
	usage := "-c CONFIG"
	if train {
		usage = "-c CONFIG [--resume | --fresh]"
	}
	fs := newFlags(name, usage, summary)
	cfgPath := fs.String("c", "", "TOML config file (see configs/med2vec.toml, configs/word2vec.toml)")
	opt := embedrun.RunOptions{Log: os.Stderr}
	if train {
		fs.BoolVar(&opt.Resume, "resume", false, "continue from the newest checkpoint in out_dir/checkpoints (written after every epoch) with the same config")
		fs.BoolVar(&opt.Fresh, "fresh", false, "start over even though out_dir/checkpoints holds checkpoints of an earlier run (they are removed)")
	}
	if err := parseFlags(fs, args); err != nil {
		return nil, opt, err
	}
	if err := requireFlags(fs, "c"); err != nil {
		return nil, opt, err
	}
	cfg, err := embedrun.LoadConfig(*cfgPath)
	return cfg, opt, err
}

// printRecall prints the next-visit recall table of a training run.
func printRecall(r *embedrun.RecallReport, path string) {
	if r == nil {
		return
	}
	fmt.Printf("next-visit recall on %d held-out patients (%d visit pairs), %s over %d %s:\n",
		r.HeldoutPatients, r.Pairs, r.Method, r.OutputCodes, r.Output)
	fmt.Printf("%6s %8s %11s\n", "k", "recall", "popularity")
	for i, row := range r.Model {
		fmt.Printf("%6d %8.4f %11.4f\n", row.K, row.Recall, r.Popularity[i].Recall)
	}
	fmt.Printf("wrote %s\n", path)
}

func runEmbedMed2Vec(args []string) error {
	cfg, opt, err := loadEmbedConfig("embed med2vec", "train Med2Vec code embeddings on visits as a TOML config describes", args, true)
	if err != nil {
		return err
	}
	res, err := embedrun.RunMed2VecWith(cfg, opt)
	if err != nil {
		return err
	}
	fmt.Printf("med2vec: %d codes, %d label groups, %d epochs; wrote %s and %s\n", res.Codes, res.Labels, len(res.Epochs), res.NPZ, res.JSON)
	printRecall(res.Recall, res.RecallJSON)
	return nil
}

func runEmbedWord2Vec(args []string) error {
	cfg, opt, err := loadEmbedConfig("embed word2vec", "train Word2Vec code embeddings on visits as a TOML config describes", args, true)
	if err != nil {
		return err
	}
	res, err := embedrun.RunWord2VecWith(cfg, opt)
	if err != nil {
		return err
	}
	fmt.Printf("word2vec %s: %d codes (%d tokens); wrote %s and %s\n", res.SetName, res.Codes, res.Tokens, res.JSON, res.NPZ)
	printRecall(res.Recall, res.RecallJSON)
	return nil
}

func runEmbedEval(args []string) error {
	cfg, _, err := loadEmbedConfig("embed eval", "score code embeddings: k-means clusters against grouper categories (NMI, AMI) and next-visit Recall@k on held-out patients", args, false)
	if err != nil {
		return err
	}
	res, err := embedrun.RunEval(cfg, nil)
	if err != nil {
		return err
	}
	fmt.Printf("%s (%s, dim %d)\n", res.Embeddings, res.Set, res.Dim)
	if len(res.Rows) > 0 {
		fmt.Printf("k-means against %s\n", res.Grouper)
		fmt.Printf("%6s %7s %10s %10s %8s %8s\n", "k", "codes", "unlabelled", "categories", "NMI", "AMI")
		for _, r := range res.Rows {
			fmt.Printf("%6d %7d %10d %10d %8.4f %8.4f\n", r.K, r.Codes, r.Unlabelled, r.Categories, r.NMI, r.AMI)
		}
	}
	fmt.Printf("wrote %s and %s", res.JSON, res.MD)
	if res.Map != "" {
		fmt.Printf(" and %s", res.Map)
	}
	fmt.Println()
	printRecall(res.Recall, res.JSON)
	return nil
}
