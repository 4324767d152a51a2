// Package embedrun runs the medical-code embedding pipelines behind
// `icdcode embed`: it loads one TOML config, reads visits (MIMIC-III,
// Synthea or JSONL), trains Med2Vec or Word2Vec and writes the vectors, and
// scores saved vectors by k-means against a code grouper (NMI, AMI). The
// command files only parse flags and call these functions, so that the
// pipelines can be tested and reused without the CLI.
package embedrun

import (
	"errors"
	"fmt"

	"github.com/icdcode/icdcode/data/tomlfile"

	"github.com/icdcode/icdcode/model/med2vec"
)

// Config is one embedding config file. Each command reads the sections it
// needs: med2vec uses input+med2vec, word2vec uses input+word2vec, eval uses
// eval (and input for next-visit recall); the held-out split keys of eval
// are read by training too, and out_dir is shared, so that eval finds what
// training wrote and scores the patients it did not train on.
type Config struct {
	Input    InputConfig    `toml:"input"`
	Med2Vec  Med2VecConfig  `toml:"med2vec"`
	Word2Vec Word2VecConfig `toml:"word2vec"`
	Eval     EvalConfig     `toml:"eval"`
	OutDir   string         `toml:"out_dir"`

	// Path is the config file, for messages.
	Path string `toml:"-"`
}

// InputConfig says where the visits come from.
type InputConfig struct {
	// Kind is "mimic3" (dir holds ADMISSIONS, DIAGNOSES_ICD and optionally
	// PROCEDURES_ICD, .csv or .csv.gz), "synthea" (dir holds encounters.csv
	// and conditions.csv) or "jsonl" (path is a JSONL visit file).
	Kind       string `toml:"kind"`
	Dir        string `toml:"dir"`
	Path       string `toml:"path"`
	Procedures bool   `toml:"procedures"` // mimic3 only: add "P_" procedure codes
	MinVisits  int    `toml:"min_visits"` // 0 → the readers' default, 2
}

// Med2VecConfig mirrors the med2vec.Config fields a user tunes; defaults are
// med2vec.DefaultConfig's (the reference's command line).
type Med2VecConfig struct {
	EmbSize        int     `toml:"emb_size"`
	VisitSize      int     `toml:"visit_size"`
	BatchSize      int     `toml:"batch_size"`
	Epochs         int     `toml:"epochs"`
	Window         int     `toml:"window"`
	L2             float64 `toml:"l2"`
	Seed           uint64  `toml:"seed"`
	PatientBatches bool    `toml:"patient_batches"`
	// Labels makes the visit loss predict 3-digit ICD-9 groups, as
	// process_mimic.py's .3digitICD9 files do; only meaningful for mimic3,
	// and ignored for other inputs (their codes are not ICD-9).
	Labels bool `toml:"labels"`
}

// Word2VecConfig configures model/word2vec.
type Word2VecConfig struct {
	Arch     string `toml:"arch"` // "skipgram" or "cbow"
	Dim      int    `toml:"dim"`
	Window   int    `toml:"window"`
	Negative int    `toml:"negative"`
	Epochs   int    `toml:"epochs"`
	Seed     uint64 `toml:"seed"`
	// Categories inserts grouper category tokens into sentences ("ccs",
	// "ccsr") or not ("none"); Grouper is then the grouper file.
	Categories     string `toml:"categories"`
	Grouper        string `toml:"grouper"`
	StripPrefix    string `toml:"strip_prefix"` // e.g. "D_" for MIMIC code strings
	VisitSentences bool   `toml:"visit_sentences"`
}

// EvalConfig configures the clustering evaluation.
type EvalConfig struct {
	// Embeddings is a hierarchy JSON (.json) or an .npz with its
	// .types.json map; Set picks the JSON set (optional when there is one).
	Embeddings  string `toml:"embeddings"`
	Set         string `toml:"set"`
	K           []int  `toml:"k"`
	GrouperKind string `toml:"grouper_kind"` // "ccs" or "ccsr"
	Grouper     string `toml:"grouper"`
	StripPrefix string `toml:"strip_prefix"`
	Restarts    int    `toml:"restarts"`
	Seed        uint64 `toml:"seed"`
	Map         bool   `toml:"map"` // also write map.svg (PCA of the vectors)

	// HeldoutFraction of the patients (chosen by a shuffle seeded with
	// HeldoutSeed) is kept out of training by `embed med2vec|word2vec` and
	// scored by next-visit Recall@k for each RecallK, at the end of
	// training and by `embed eval`. 0 trains on every patient and skips
	// the recall. The split is by patient, so no patient is on both sides.
	HeldoutFraction float64 `toml:"heldout_fraction"`
	HeldoutSeed     uint64  `toml:"heldout_seed"`
	RecallK         []int   `toml:"recall_k"`
}

// Defaults returns the configuration every file starts from.
func Defaults() Config {
	d := med2vec.DefaultConfig(0)
	return Config{
		Input: InputConfig{Kind: "mimic3"},
		Med2Vec: Med2VecConfig{
			EmbSize: d.EmbSize, VisitSize: d.VisitSize, BatchSize: d.BatchSize,
			Epochs: d.Epochs, Window: d.WindowSize, L2: d.L2Emb, Seed: d.Seed,
			Labels: true,
		},
		Word2Vec: Word2VecConfig{Arch: "skipgram", Dim: 100, Window: 5, Negative: 5, Epochs: 5, Seed: 1, Categories: "none"},
		Eval: EvalConfig{K: []int{5, 10, 20, 30}, GrouperKind: "ccs", Restarts: 10, Seed: 1, Map: true,
			HeldoutSeed: 1, RecallK: []int{5, 10, 20, 30}},
		OutDir: "out",
	}
}

// LoadConfig reads path strictly: syntax errors name the line, unknown keys
// are errors naming the key and the file (a typo must not silently fall back
// to a default), and relative paths are resolved against the file's folder.
func LoadConfig(path string) (*Config, error) {
	cfg := Defaults()
	if _, err := tomlfile.Decode(path, &cfg); err != nil {
		return nil, err
	}
	cfg.Path = path
	abs := tomlfile.Resolver(path)
	cfg.Input.Dir = abs(cfg.Input.Dir)
	cfg.Input.Path = abs(cfg.Input.Path)
	cfg.Word2Vec.Grouper = abs(cfg.Word2Vec.Grouper)
	cfg.Eval.Embeddings = abs(cfg.Eval.Embeddings)
	cfg.Eval.Grouper = abs(cfg.Eval.Grouper)
	cfg.OutDir = abs(cfg.OutDir)
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	return &cfg, nil
}

// validate checks values that would otherwise fail deep inside training.
// Section-specific requirements (grouper files, embeddings) are checked by
// the pipeline that needs them, so one file can hold all sections.
func (c *Config) validate() error {
	switch c.Input.Kind {
	case "mimic3", "synthea":
		if c.Input.Dir == "" {
			return fmt.Errorf("input.dir is required for kind %q", c.Input.Kind)
		}
	case "jsonl":
		if c.Input.Path == "" {
			return errors.New(`input.path is required for kind "jsonl"`)
		}
	default:
		return fmt.Errorf("input.kind %q: want mimic3, synthea or jsonl", c.Input.Kind)
	}
	if c.Input.MinVisits < 0 {
		return fmt.Errorf("input.min_visits %d is negative", c.Input.MinVisits)
	}
	m := c.Med2Vec
	for _, f := range []struct {
		name string
		v    int
	}{{"emb_size", m.EmbSize}, {"visit_size", m.VisitSize}, {"batch_size", m.BatchSize}, {"epochs", m.Epochs}, {"window", m.Window}} {
		if f.v < 1 {
			return fmt.Errorf("med2vec.%s %d: must be at least 1", f.name, f.v)
		}
	}
	if m.L2 < 0 {
		return fmt.Errorf("med2vec.l2 %g is negative", m.L2)
	}
	w := c.Word2Vec
	if w.Arch != "skipgram" && w.Arch != "cbow" {
		return fmt.Errorf("word2vec.arch %q: want skipgram or cbow", w.Arch)
	}
	if w.Dim < 1 || w.Window < 1 || w.Negative < 1 || w.Epochs < 1 {
		return errors.New("word2vec.dim, window, negative and epochs must be at least 1")
	}
	switch w.Categories {
	case "none":
	case "ccs", "ccsr":
		if w.Grouper == "" {
			return fmt.Errorf("word2vec.grouper is required with categories = %q", w.Categories)
		}
	default:
		return fmt.Errorf("word2vec.categories %q: want none, ccs or ccsr", w.Categories)
	}
	if c.Eval.GrouperKind != "ccs" && c.Eval.GrouperKind != "ccsr" {
		return fmt.Errorf("eval.grouper_kind %q: want ccs or ccsr", c.Eval.GrouperKind)
	}
	if len(c.Eval.K) == 0 {
		return errors.New("eval.k is empty")
	}
	for _, k := range c.Eval.K {
		if k < 2 {
			return fmt.Errorf("eval.k %d: must be at least 2", k)
		}
	}
	if h := c.Eval.HeldoutFraction; !(h >= 0 && h < 1) {
		return fmt.Errorf("eval.heldout_fraction %g: want at least 0 and below 1", h)
	}
	if len(c.Eval.RecallK) == 0 {
		return errors.New("eval.recall_k is empty")
	}
	for _, k := range c.Eval.RecallK {
		if k < 1 {
			return fmt.Errorf("eval.recall_k %d: must be at least 1", k)
		}
	}
	if c.Eval.Restarts < 1 {
		return fmt.Errorf("eval.restarts %d: must be at least 1", c.Eval.Restarts)
	}
	if c.OutDir == "" {
		return errors.New("out_dir is empty")
	}
	return nil
}
