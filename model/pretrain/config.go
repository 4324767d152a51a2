// Package pretrain is `icdcode pretrain`: masked-language-model (MLM)
// pretraining of a BERT-type encoder on the training notes of an icdcode
// dataset, so that a classifier configuration can start from the result
// with model.source = "hf:RUN/encoder".
//
// # Examples and loss
//
// Every training note is tokenised and cut into consecutive windows of at
// most seq_len − 2 tokens, each framed as [CLS] … [SEP] (the last window of
// a note may be shorter; windows never span two notes). A window is one
// training example of model/train. Its loss masks mask_prob of the
// non-special tokens with BERT's rule (of the chosen positions 80 % become
// [MASK], 10 % a token drawn uniformly from the vocabulary, 10 % stay as
// they are; at least one position is chosen, so every window has a loss),
// runs the encoder in training mode and applies an MLM head to the chosen
// positions only: dense (d × d) → GELU → LayerNorm → decoder (d × V) with
// bias, as BERT's BertLMPredictionHead. The decoder weight is NOT tied to
// the word embeddings (an untied copy keeps model/layers' one-use-per-
// parameter determinism rule without a Fanout over every embedding row);
// the head is dropped at the end, only the encoder is kept. All
// randomness (masking, dropout) comes from the trainer's generator, so
// training is deterministic and --resume continues bit-exactly. The
// encoder's pooler is not trained (there is no next-sentence task); it is
// saved as initialised.
//
// # Run directory
//
//	config.toml      copy of the configuration
//	pretrain.json    the settings a resume must keep (source, architecture, seq_len, mask_prob)
//	tokenizer/       the tokenizer (trained on the train split, or the hf:DIR one)
//	init/            the initial encoder (encoder.Save), rebuilt on --resume
//	checkpoints/     model/train checkpoints (encoder + MLM head) and train.jsonl
//	encoder/         written at the end: the best checkpoint's encoder
//	                 (encoder.Save) with the tokenizer files beside it
//
// The dev split, when the dataset has one, gives "dev_mlm_loss" after every
// epoch: the mean cross-entropy over the masked tokens of every dev window,
// masked with a generator seeded by the window's index and a fixed seed, so
// the value is comparable between epochs; it selects the best checkpoint and
// drives early stopping (lower is better). Without a dev split the training
// loss does.
package pretrain

import (
	"errors"
	"fmt"
	"strings"

	"github.com/icdcode/icdcode/data/tomlfile"
	"github.com/icdcode/icdcode/model/run"
)

// Config is a pretraining configuration as read from TOML.
type Config struct {
	Data     DataConfig     `toml:"data"`
	Model    ModelConfig    `toml:"model"`
	Pretrain PretrainConfig `toml:"pretrain"`
	Train    TrainConfig    `toml:"train"`
	Run      run.RunConfig  `toml:"run"`

	// Path is the file the configuration was read from.
	Path string `toml:"-"`
	// Raw is the file's text, copied into the run directory.
	Raw []byte `toml:"-"`
}

// DataConfig names the dataset whose train notes are pretrained on.
type DataConfig struct {
	Dataset string `toml:"dataset"`
}

// ModelConfig names the starting point: "scratch" (a WordPiece vocabulary
// trained on the train split and a randomly initialised BERT of
// [model.scratch], as a classifier run from scratch builds them) or
// "hf:DIR" (continue pretraining a Hugging Face model folder, or an earlier
// pretraining's encoder/, with its tokenizer).
type ModelConfig struct {
	Source  string            `toml:"source"`
	Scratch run.ScratchConfig `toml:"scratch"`
}

// PretrainConfig sets the MLM examples.
type PretrainConfig struct {
	// SeqLen is the window length in tokens, [CLS] and [SEP] included.
	SeqLen int `toml:"seq_len"`
	// MaskProb is the fraction of non-special tokens chosen for prediction.
	MaskProb float64 `toml:"mask_prob"`
}

// TrainConfig sets the optimiser and the schedule (model/train); the
// selection metric is fixed: dev_mlm_loss, or train_loss without a dev split.
type TrainConfig struct {
	Epochs      int     `toml:"epochs"`
	LR          float64 `toml:"lr"`
	WarmupRatio float64 `toml:"warmup_ratio"`
	WeightDecay float64 `toml:"weight_decay"`
	GradAccum   int     `toml:"grad_accum"`
	ClipNorm    float64 `toml:"clip_norm"`
	Patience    int     `toml:"patience"`
	KeepLast    int     `toml:"keep_last"`
	Seed        uint64  `toml:"seed"`
}

// Defaults returns the configuration every file starts from: BERT's MLM
// settings (128-token windows, 15 % masked), the scratch architecture
// defaults of a classifier run, and a schedule with warm-up and decay.
func Defaults() Config {
	return Config{
		Model:    ModelConfig{Source: "scratch", Scratch: run.Defaults().Model.Scratch},
		Pretrain: PretrainConfig{SeqLen: 128, MaskProb: 0.15},
		Train: TrainConfig{Epochs: 10, LR: 5e-4, WarmupRatio: 0.05, WeightDecay: 0.01, GradAccum: 8, ClipNorm: 1,
			Patience: 3, KeepLast: 2, Seed: 42},
	}
}

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
	cfg.Run.Dir = abs(cfg.Run.Dir)
	if dir, ok := strings.CutPrefix(cfg.Model.Source, "hf:"); ok {
		cfg.Model.Source = "hf:" + abs(dir)
	}
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	return &cfg, nil
}

func (c *Config) validate() error {
	switch {
	case c.Data.Dataset == "":
		return errors.New("data.dataset is required")
	case c.Run.Dir == "":
		return errors.New("run.dir is required")
	case c.Model.Source != "scratch" && !strings.HasPrefix(c.Model.Source, "hf:"):
		return fmt.Errorf(`model.source = %q, want "scratch" or "hf:DIR"`, c.Model.Source)
	case c.Pretrain.SeqLen < 3:
		// [CLS], at least one token, [SEP].
		return fmt.Errorf("pretrain.seq_len = %d, want ≥ 3", c.Pretrain.SeqLen)
	case !(c.Pretrain.MaskProb > 0 && c.Pretrain.MaskProb <= 1):
		return fmt.Errorf("pretrain.mask_prob = %g, want 0 < p ≤ 1", c.Pretrain.MaskProb)
	case c.Train.Epochs < 1:
		return fmt.Errorf("train.epochs = %d, want ≥ 1", c.Train.Epochs)
	case c.Train.LR <= 0:
		return fmt.Errorf("train.lr = %g, want > 0", c.Train.LR)
	case c.Train.GradAccum < 1:
		return fmt.Errorf("train.grad_accum = %d, want ≥ 1", c.Train.GradAccum)
	}
	if c.Model.Source == "scratch" {
		if err := c.Model.Scratch.Check(); err != nil {
			return err
		}
		if c.Pretrain.SeqLen > c.Model.Scratch.MaxPositions {
			return fmt.Errorf("pretrain.seq_len = %d exceeds model.scratch.max_positions = %d", c.Pretrain.SeqLen, c.Model.Scratch.MaxPositions)
		}
	}
	return nil
}
