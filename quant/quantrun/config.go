// Package quantrun is the quantification pipeline behind `icdcode quantify`
// and the run report behind `icdcode report`: it reads a trained run's
// probability files (quant/probs), draws bags, fits and saves the quantifiers
// on dev (Train), compares them on test bags (Test), and writes a Markdown
// report with a reliability diagram (Report). The command files only parse
// flags and print.
//
// Files written to out_dir (default RUN_DIR/quant):
//
//	standard.json              dev rates of Constant, ACC and PACC and the CC/ACC threshold
//	mlp.json                   the MLP quantifier (quantify.MLP.Save)
//	train.json                 what Train did: dev size, bag and MLP settings, training curve
//	quantification-SPLIT.json  the comparison table of Test (quantify.Table.SaveJSON)
package quantrun

import (
	"errors"
	"fmt"
	"math"
	"path/filepath"

	"github.com/icdcode/icdcode/data/tomlfile"

	"github.com/icdcode/icdcode/quant/quantify"
)

// Config is the content of a quantification config file (configs/quant.toml).
type Config struct {
	RunDir    string     `toml:"run_dir"`
	Dataset   string     `toml:"dataset"`
	Threshold float64    `toml:"threshold"`
	OutDir    string     `toml:"out_dir"`
	Bags      BagsConfig `toml:"bags"`
	MLP       MLPConfig  `toml:"mlp"`

	// Path is the file the config was read from.
	Path string `toml:"-"`
}

// BagsConfig says how many bags to draw and how. MaxSize 0 means the size of
// the pool (dev for training bags, the test split for test bags), which is
// the reference's randint(1, N).
type BagsConfig struct {
	TrainCount  int    `toml:"train_count"`
	TestCount   int    `toml:"test_count"`
	MinSize     int    `toml:"min_size"`
	MaxSize     int    `toml:"max_size"`
	Replacement bool   `toml:"replacement"`
	Seed        uint64 `toml:"seed"`
}

// MLPConfig holds the MLP quantifier settings exposed in the file; the rest
// (Adam betas, eps) keep quantify.DefaultMLPConfig's values.
type MLPConfig struct {
	Hidden      int     `toml:"hidden"`
	LR          float64 `toml:"lr"`
	WeightDecay float64 `toml:"weight_decay"`
	Delta       float64 `toml:"delta"`
	Epochs      int     `toml:"epochs"`
	Batch       int     `toml:"batch"`
	Patience    int     `toml:"patience"`
	Holdout     float64 `toml:"holdout"`
	Seed        uint64  `toml:"seed"`
}

// Defaults are the reference's settings (msam-reference §5): 5000 training
// bags from dev, 1000 test bags, sizes uniform in [1, N] without
// replacement, seed 888, and quantify.DefaultMLPConfig for the MLP.
func Defaults() Config {
	return Config{
		Threshold: 0.5,
		Bags:      BagsConfig{TrainCount: 5000, TestCount: 1000, MinSize: 1, MaxSize: 0, Seed: 888},
		MLP: MLPConfig{Hidden: 32, LR: 2e-4, WeightDecay: 0.01, Delta: 0.5, Epochs: 300, Batch: 32,
			Patience: 5, Holdout: 0.2, Seed: 888},
	}
}

// LoadConfig reads a config strictly: unknown keys, a syntax error or a bad
// value are errors naming the file (and the key or line). Relative paths are
// resolved against the file's folder so a config works from any directory.
func LoadConfig(path string) (*Config, error) {
	cfg := Defaults()
	if _, err := tomlfile.Decode(path, &cfg); err != nil {
		return nil, err
	}
	cfg.Path = path
	abs := tomlfile.Resolver(path)
	cfg.RunDir, cfg.Dataset, cfg.OutDir = abs(cfg.RunDir), abs(cfg.Dataset), abs(cfg.OutDir)
	if cfg.OutDir == "" && cfg.RunDir != "" {
		cfg.OutDir = filepath.Join(cfg.RunDir, "quant")
	}
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	return &cfg, nil
}

func (c *Config) validate() error {
	b, m := c.Bags, c.MLP
	switch {
	case c.RunDir == "":
		return errors.New("run_dir is required")
	case c.Dataset == "":
		return errors.New("dataset is required")
	case !(c.Threshold > 0 && c.Threshold < 1):
		return fmt.Errorf("threshold %v, want a value in (0,1)", c.Threshold)
	case b.TrainCount < 1:
		return fmt.Errorf("bags.train_count %d, want at least 1", b.TrainCount)
	case b.TestCount < 1:
		return fmt.Errorf("bags.test_count %d, want at least 1", b.TestCount)
	case b.MinSize < 1:
		return fmt.Errorf("bags.min_size %d, want at least 1", b.MinSize)
	case b.MaxSize != 0 && b.MaxSize < b.MinSize:
		return fmt.Errorf("bags.max_size %d below bags.min_size %d (0 means the pool size)", b.MaxSize, b.MinSize)
	case m.Hidden < 1:
		return fmt.Errorf("mlp.hidden %d, want at least 1", m.Hidden)
	case !(m.LR > 0) || math.IsInf(m.LR, 0):
		return fmt.Errorf("mlp.lr %v, want a positive number", m.LR)
	case !(m.WeightDecay >= 0) || math.IsInf(m.WeightDecay, 0):
		return fmt.Errorf("mlp.weight_decay %v, want a number >= 0", m.WeightDecay)
	case !(m.Delta > 0) || math.IsInf(m.Delta, 0):
		return fmt.Errorf("mlp.delta %v, want a positive number", m.Delta)
	case m.Epochs < 1:
		return fmt.Errorf("mlp.epochs %d, want at least 1", m.Epochs)
	case m.Batch < 1:
		return fmt.Errorf("mlp.batch %d, want at least 1", m.Batch)
	case m.Patience < 1:
		return fmt.Errorf("mlp.patience %d, want at least 1", m.Patience)
	case !(m.Holdout > 0 && m.Holdout < 1):
		return fmt.Errorf("mlp.holdout %v, want a fraction in (0,1)", m.Holdout)
	}
	return nil
}

// bagConfig is the quantify.BagConfig for a pool of n documents.
func (b BagsConfig) bagConfig(count, n int, seed uint64) (quantify.BagConfig, error) {
	hi := b.MaxSize
	if hi == 0 {
		hi = n
	}
	if !b.Replacement && hi > n {
		return quantify.BagConfig{}, fmt.Errorf("bags.max_size %d exceeds the %d documents of the pool (without replacement)", hi, n)
	}
	if b.MinSize > hi {
		return quantify.BagConfig{}, fmt.Errorf("bags.min_size %d exceeds the largest bag size %d", b.MinSize, hi)
	}
	return quantify.BagConfig{Count: count, MinSize: b.MinSize, MaxSize: hi, Replacement: b.Replacement, Seed: seed}, nil
}
