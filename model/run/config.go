// Package run ties icdcode's training pieces into runs: a strict TOML
// configuration, a run directory that holds everything needed to test or
// apply a trained model (tokenizer, labels, encoder architecture, frozen MSAM
// synonym matrix, checkpoints), and the train, test and predict steps as
// library functions that the command line calls.
//
// # Run directory
//
//	config.toml              copy of the configuration the run started from
//	model.json               the classifier configuration (defaults filled in)
//	labels.txt               the label space, in logit order
//	tokenizer/               the tokenizer (tokenizer.Save)
//	encoder/                 the initial encoder (config.json + model.safetensors)
//	synonyms.safetensors     the frozen MSAM synonym matrix (msam head only)
//	code_embeddings.safetensors  the label code embeddings (data.code_embeddings only)
//	checkpoints/             model/train checkpoints and train.jsonl
//	predictions-SPLIT.jsonl  written by Test
//	metrics-SPLIT.json       written by Test
//
// The encoder is saved as initialised (scratch) or loaded (hf:DIR) so that a
// resumed run, Test and Predict rebuild exactly the same model before the
// checkpoint's weights are copied in, without the pretrained directory. The
// synonym matrix is saved rather than recomputed because it is the [CLS]
// embedding under the initial encoder: recomputing it needs that encoder, and
// a saved float32 copy is bit-identical by construction.
package run

import (
	"errors"
	"fmt"
	"strings"

	"github.com/icdcode/icdcode/data/tomlfile"
	"github.com/icdcode/icdcode/model/classifier"
	"github.com/icdcode/icdcode/model/heads"
	"github.com/icdcode/icdcode/quant/clq"
)

// Config is a run configuration as read from TOML. Paths are made absolute
// against the configuration file's folder by LoadConfig.
type Config struct {
	Data  DataConfig  `toml:"data"`
	Model ModelConfig `toml:"model"`
	Train TrainConfig `toml:"train"`
	CLQ   CLQConfig   `toml:"clq"`
	Run   RunConfig   `toml:"run"`

	// Path is the file the configuration was read from.
	Path string `toml:"-"`
	// Raw is the file's text, copied into the run directory.
	Raw []byte `toml:"-"`
}

// DataConfig names the dataset folder, for MSAM the synonyms file, and
// optionally code embeddings for the labels.
type DataConfig struct {
	Dataset  string `toml:"dataset"`
	Synonyms string `toml:"synonyms"`
	// CodeEmbeddings is a Med2Vec .npz or a hierarchy-embedding JSON file
	// whose code vectors reach the LAAT or MSAM label representations
	// through a learned projection (heads.CodeProjection).
	CodeEmbeddings string `toml:"code_embeddings"`
	// CodeEmbeddingSet names the set of a JSON file with several.
	CodeEmbeddingSet string `toml:"code_embedding_set"`
	// CodeEmbeddingBias adds Med2Vec's b_emb (the reference's ablation).
	CodeEmbeddingBias bool `toml:"code_embedding_bias"`
}

// ModelConfig selects the encoder, head and their options.
type ModelConfig struct {
	Encoder string `toml:"encoder"`
	Head    string `toml:"head"`
	// Source is "scratch" or "hf:DIR" (a Hugging Face model folder that
	// also holds the tokenizer).
	Source string `toml:"source"`

	MaxLen    int     `toml:"max_len"`
	Stride    int     `toml:"stride"`
	MaxTokens int     `toml:"max_tokens"`
	Window    int     `toml:"window"`
	GlobalCLS bool    `toml:"global_cls"`
	LAATDim   int     `toml:"laat_dim"`
	M         int     `toml:"m"`
	Dropout   float64 `toml:"dropout"`

	// MSAM switches (reference §14 fixes). The defaults are what worked
	// best on CodiEsp dev (scripts/msam_switches.sh, README "MSAM's
	// switches"): padding mask, 1/√d_k scaling, attention over all chunks
	// at once, mean pooling. The reference's computation is mask = false,
	// scale = false, per_chunk = true (heads.FaithfulMSAM), which the
	// reference configs set explicitly.
	Mask     bool   `toml:"mask"`
	Scale    bool   `toml:"scale"`
	Pool     string `toml:"pool"`
	PerChunk bool   `toml:"per_chunk"`
	// TuneSynonyms trains an offset of the synonym rows, drawn from
	// N(0, SynonymInitStd²) (heads.MSAMConfig.Tune, TuneInitStd). Absent,
	// both follow the source (tuneDefaults).
	TuneSynonyms   *bool    `toml:"tune_synonyms"`
	SynonymInitStd *float64 `toml:"synonym_init_std"`

	Scratch ScratchConfig `toml:"scratch"`
}

// ScratchConfig is the architecture of an encoder trained from scratch and
// of its WordPiece tokenizer, trained on the dataset's training text.
type ScratchConfig struct {
	Hidden       int     `toml:"hidden"`
	Layers       int     `toml:"layers"`
	Heads        int     `toml:"heads"`
	Intermediate int     `toml:"intermediate"`
	MaxPositions int     `toml:"max_positions"`
	HiddenDrop   float64 `toml:"hidden_dropout"`
	AttnDrop     float64 `toml:"attention_dropout"`
	VocabSize    int     `toml:"vocab_size"`
	MinFreq      int     `toml:"min_freq"`
	Lowercase    bool    `toml:"lowercase"`
}

// TrainConfig sets the optimiser and the schedule (model/train).
type TrainConfig struct {
	Epochs      int     `toml:"epochs"`
	LR          float64 `toml:"lr"`
	WarmupRatio float64 `toml:"warmup_ratio"`
	WeightDecay float64 `toml:"weight_decay"`
	GradAccum   int     `toml:"grad_accum"`
	ClipNorm    float64 `toml:"clip_norm"`
	Patience    int     `toml:"patience"`
	Metric      string  `toml:"metric"`
	KeepLast    int     `toml:"keep_last"`
	Seed        uint64  `toml:"seed"`
	// InitRun starts a new run from a checkpoint of an earlier run (its
	// model files and weights; the optimizer starts afresh). The [model]
	// section must equal the earlier run's.
	InitRun string `toml:"init_run"`
	// InitCheckpoint is "best" (default), "last" or a checkpoint folder.
	InitCheckpoint string `toml:"init_checkpoint"`
}

// CLQConfig turns on the CLQ joint loss (quant/clq): BCE + λ·Huber of an
// MLP quantifier's estimate of the running bag's prevalences.
type CLQConfig struct {
	Enabled bool    `toml:"enabled"`
	Lambda  float64 `toml:"lambda"`
	Delta   float64 `toml:"delta"`
	Hidden  int     `toml:"hidden"`
	// BagSize 0 draws every bag's size in [1, train documents].
	BagSize int    `toml:"bag_size"`
	Seed    uint64 `toml:"seed"`
	// Quantifier starts the MLP from a file of `icdcode quantify train`.
	Quantifier string `toml:"quantifier"`
}

// RunConfig names the run directory.
type RunConfig struct {
	Dir string `toml:"dir"`
}

// Defaults returns the configuration every file starts from: keys absent
// from the file keep these values.
func Defaults() Config {
	return Config{
		Model: ModelConfig{
			Encoder: classifier.EncoderCE, Head: classifier.HeadMSAM, Source: "scratch",
			MaxLen: classifier.DefaultMaxLen, Stride: classifier.DefaultStride,
			M: 4, Dropout: 0,
			Mask: true, Scale: true, Pool: string(heads.PoolMean), PerChunk: false,
			Scratch: ScratchConfig{Hidden: 768, Layers: 12, Heads: 12, Intermediate: 3072, MaxPositions: 512,
				HiddenDrop: 0.1, AttnDrop: 0.1, VocabSize: 30000, MinFreq: 2, Lowercase: true},
		},
		// The reference's Trainer settings (msam-reference §9): 300 epochs as
		// a cap on early stopping with patience 5, lr 2e-5, no warm-up,
		// 16 documents per update, gradient norm 1.
		Train: TrainConfig{Epochs: 300, LR: 2e-5, WarmupRatio: 0, WeightDecay: 0, GradAccum: 16, ClipNorm: 1,
			Patience: 5, Metric: "micro_f1", KeepLast: 2, Seed: 42, InitCheckpoint: "best"},
		// The reference's CLQ settings (msam-reference §6, config.py).
		CLQ: CLQConfig{Lambda: 100, Delta: 0.5, Hidden: 32, Seed: 888},
	}
}

// metricNames are the keys the dev evaluation returns, plus the trainer's own
// train_loss; metric must be one of them. mean_ece is the mean over labels of
// the per-label ECE (20 equal-width bins), the reference's CLQ selection
// metric over all labels rather than its first 50.
var metricNames = []string{"train_loss", "mean_ece", "micro_f1", "macro_f1", "micro_precision", "micro_recall", "micro_auc", "macro_auc", "p_at_5", "p_at_8"}

// LoadConfig reads a TOML configuration strictly: unknown keys and wrongly
// typed values are errors naming the key and the file. Relative paths are
// resolved against the file's folder.
func LoadConfig(path string) (*Config, error) {
	cfg := Defaults()
	raw, err := tomlfile.Decode(path, &cfg)
	if err != nil {
		return nil, err
	}
	cfg.Path, cfg.Raw = path, raw
	abs := tomlfile.Resolver(path)
	cfg.Data.Dataset = abs(cfg.Data.Dataset)
	cfg.Data.Synonyms = abs(cfg.Data.Synonyms)
	cfg.Data.CodeEmbeddings = abs(cfg.Data.CodeEmbeddings)
	cfg.Run.Dir = abs(cfg.Run.Dir)
	cfg.Train.InitRun = abs(cfg.Train.InitRun)
	cfg.CLQ.Quantifier = abs(cfg.CLQ.Quantifier)
	if c := cfg.Train.InitCheckpoint; c != "best" && c != "last" {
		cfg.Train.InitCheckpoint = abs(c)
	}
	if dir, ok := strings.CutPrefix(cfg.Model.Source, "hf:"); ok {
		cfg.Model.Source = "hf:" + abs(dir)
	}
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	return &cfg, nil
}

// validate checks what the libraries would only catch late (after a
// tokenizer was trained) or not name by key.
func (c *Config) validate() error {
	switch {
	case c.Data.Dataset == "":
		return errors.New("data.dataset is required")
	case c.Run.Dir == "":
		return errors.New("run.dir is required")
	case c.Model.Head == classifier.HeadMSAM && c.Data.Synonyms == "" && c.Train.InitRun == "":
		return errors.New(`data.synonyms is required for model.head = "msam"`)
	case c.Model.Source != "scratch" && !strings.HasPrefix(c.Model.Source, "hf:"):
		return fmt.Errorf(`model.source = %q, want "scratch" or "hf:DIR"`, c.Model.Source)
	case c.Data.CodeEmbeddings != "" && c.Model.Head == classifier.HeadCLS:
		return fmt.Errorf(`data.code_embeddings needs model.head = %q or %q`, classifier.HeadLAAT, classifier.HeadMSAM)
	case c.Model.SynonymInitStd != nil && c.Model.TuneSynonyms != nil && !*c.Model.TuneSynonyms:
		return errors.New("model.synonym_init_std is set but model.tune_synonyms is false")
	case c.Model.Pool != string(heads.PoolMean) && c.Model.Pool != string(heads.PoolMax):
		return fmt.Errorf("model.pool = %q, want %q or %q", c.Model.Pool, heads.PoolMean, heads.PoolMax)
	case c.Train.Epochs < 1:
		return fmt.Errorf("train.epochs = %d, want ≥ 1", c.Train.Epochs)
	case c.Train.LR <= 0:
		return fmt.Errorf("train.lr = %g, want > 0", c.Train.LR)
	case c.Train.GradAccum < 1:
		return fmt.Errorf("train.grad_accum = %d, want ≥ 1", c.Train.GradAccum)
	case c.CLQ.Quantifier != "" && !c.CLQ.Enabled:
		return errors.New("clq.quantifier is set but clq.enabled is false")
	}
	known := false
	for _, m := range metricNames {
		known = known || m == c.Train.Metric
	}
	if !known {
		return fmt.Errorf("train.metric = %q, want one of %s", c.Train.Metric, strings.Join(metricNames, ", "))
	}
	if c.Model.Source == "scratch" {
		return c.Model.Scratch.Check()
	}
	return nil
}

// higherIsBetter tells the direction of a selection metric.
func higherIsBetter(metric string) bool {
	return metric != "train_loss" && metric != "mean_ece"
}

// clq returns the quant/clq configuration of the [clq] section.
func (c *Config) clq() clq.Config {
	q := c.CLQ
	return clq.Config{Lambda: q.Lambda, Delta: q.Delta, Hidden: q.Hidden, BagSize: q.BagSize, Seed: q.Seed}
}

// tuneDefaults returns MSAM's synonym-row settings for keys left out:
// trainable rows from [CLS] + N(0, 1) for an encoder trained from scratch,
// whose [CLS] embeddings barely tell labels apart (on CodiEsp dev,
// scripts/msam_switches.sh, frozen or noise-free rows learn little: README,
// "MSAM's switches"), and the reference's frozen rows for a pretrained
// encoder, whose [CLS] embeddings carry the synonyms' meaning.
func (m ModelConfig) tuneDefaults() (tune bool, std float64) {
	tune = m.Source == "scratch"
	if m.TuneSynonyms != nil {
		tune = *m.TuneSynonyms
	}
	if tune && m.Source == "scratch" {
		std = 1
	}
	if m.SynonymInitStd != nil {
		std = *m.SynonymInitStd
	}
	return tune, std
}

// Classifier returns the classifier configuration the model keys describe.
func (c *Config) Classifier() classifier.Config {
	m := c.Model
	tune, std := false, 0.0
	if m.Head == classifier.HeadMSAM {
		tune, std = m.tuneDefaults()
	}
	cc := classifier.Config{Encoder: m.Encoder, Head: m.Head, MaxLen: m.MaxLen, Stride: m.Stride, MaxTokens: m.MaxTokens,
		Window: m.Window, GlobalCLS: m.GlobalCLS, LAATDim: m.LAATDim, Dropout: m.Dropout, Seed: c.Train.Seed,
		MSAM: heads.MSAMConfig{Mask: m.Mask, Scale: m.Scale, Pool: heads.Pool(m.Pool), PerChunk: m.PerChunk, Tune: tune, TuneInitStd: std}}
	if m.Head == classifier.HeadMSAM {
		cc.M = m.M
	}
	return cc
}
