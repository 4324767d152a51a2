package main

import (
	"fmt"
	"os"

	"github.com/icdcode/icdcode/model/embedrun"
)

// loadEmbedConfig parses the shared -c flag of the embed commands.
func loadEmbedConfig(name, summary string, args []string) (*embedrun.Config, error) {
	fs := newFlags(name, "-c CONFIG", summary)
	cfgPath := fs.String("c", "", "TOML config file (see configs/med2vec.toml, configs/word2vec.toml)")
	if err := parseFlags(fs, args); err != nil {
		return nil, err
	}
	if err := requireFlags(fs, "c"); err != nil {
		return nil, err
	}
	return embedrun.LoadConfig(*cfgPath)
}

func runEmbedMed2Vec(args []string) error {
	cfg, err := loadEmbedConfig("embed med2vec", "train Med2Vec code embeddings on visits as a TOML config describes", args)
	if err != nil {
		return err
	}
	res, err := embedrun.RunMed2Vec(cfg, os.Stderr)
	if err != nil {
		return err
	}
	fmt.Printf("med2vec: %d codes, %d label groups, %d epochs; wrote %s and %s\n", res.Codes, res.Labels, len(res.Epochs), res.NPZ, res.JSON)
	return nil
}

func runEmbedWord2Vec(args []string) error {
	cfg, err := loadEmbedConfig("embed word2vec", "train Word2Vec code embeddings on visits as a TOML config describes", args)
	if err != nil {
		return err
	}
	res, err := embedrun.RunWord2Vec(cfg, os.Stderr)
	if err != nil {
		return err
	}
	fmt.Printf("word2vec %s: %d codes (%d tokens); wrote %s and %s\n", res.SetName, res.Codes, res.Tokens, res.JSON, res.NPZ)
	return nil
}

func runEmbedEval(args []string) error {
	cfg, err := loadEmbedConfig("embed eval", "score code embeddings by k-means clusters against grouper categories (NMI, AMI)", args)
	if err != nil {
		return err
	}
	res, err := embedrun.RunEval(cfg, nil)
	if err != nil {
		return err
	}
	fmt.Printf("%s (%s, dim %d) against %s\n", res.Embeddings, res.Set, res.Dim, res.Grouper)
	fmt.Printf("%6s %7s %10s %10s %8s %8s\n", "k", "codes", "unlabelled", "categories", "NMI", "AMI")
	for _, r := range res.Rows {
		fmt.Printf("%6d %7d %10d %10d %8.4f %8.4f\n", r.K, r.Codes, r.Unlabelled, r.Categories, r.NMI, r.AMI)
	}
	fmt.Printf("wrote %s", res.JSON)
	if res.Map != "" {
		fmt.Printf(" and %s", res.Map)
	}
	fmt.Println()
	return nil
}
