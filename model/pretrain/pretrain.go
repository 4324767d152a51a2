package pretrain

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"

	"github.com/icdcode/icdcode/data/dataset"
	"github.com/icdcode/icdcode/model/encoder"
	"github.com/icdcode/icdcode/model/kernels"
	"github.com/icdcode/icdcode/model/run"
	"github.com/icdcode/icdcode/model/tokenizer"
	"github.com/icdcode/icdcode/model/train"
)

// Files and folders of a pretraining run directory.
const (
	ConfigFile     = "config.toml"
	SettingsFile   = "pretrain.json"
	TokenizerDir   = "tokenizer"
	InitDir        = "init"
	CheckpointsDir = "checkpoints"
	EncoderDir     = "encoder"
)

// DevMetric is the dev MLM loss logged per epoch (lower is better).
const DevMetric = "dev_mlm_loss"

// devSeed seeds the fixed masking of the dev windows.
const devSeed = 0x646576 // "dev"

// Options are the per-invocation settings of Pretrain.
type Options struct {
	// Resume continues the run directory's newest checkpoint; without it
	// an existing run directory is refused.
	Resume bool
	// StopAfter, if positive, ends this invocation after that many epochs
	// (checkpointed), as an interruption would; Resume continues. The
	// encoder folder is written only when the run completes.
	StopAfter int
	// Log receives progress lines (nil: silent).
	Log io.Writer
}

// Result summarises a Pretrain call.
type Result struct {
	Dir string
	// EncoderDir is the finished encoder with its tokenizer (the
	// classifier's model.source = "hf:EncoderDir"); empty when the call
	// stopped early by StopAfter.
	EncoderDir string
	Metric     string
	Train      train.Result
	// Windows and DevWindows count the examples.
	Windows, DevWindows int
}

// settings are what a resumed run must share with the run it continues
// beyond what model/train's configuration hash covers.
type settings struct {
	Dataset  string             `json:"dataset"`
	Source   string             `json:"source"`
	Scratch  *run.ScratchConfig `json:"scratch,omitempty"`
	SeqLen   int                `json:"seq_len"`
	MaskProb float64            `json:"mask_prob"`
}

func (c *Config) settings() settings {
	s := settings{Dataset: c.Data.Dataset, Source: c.Model.Source, SeqLen: c.Pretrain.SeqLen, MaskProb: c.Pretrain.MaskProb}
	if c.Model.Source == "scratch" {
		sc := c.Model.Scratch
		s.Scratch = &sc
	}
	return s
}

// Pretrain runs MLM pretraining as cfg describes, into cfg.Run.Dir.
func Pretrain(ctx context.Context, cfg *Config, opt Options) (*Result, error) {
	logw := opt.Log
	if logw == nil {
		logw = io.Discard
	}
	ds, err := dataset.Open(cfg.Data.Dataset)
	if err != nil {
		return nil, fmt.Errorf("data.dataset in %s: %w", cfg.Path, err)
	}
	trainDocs, err := ds.ReadSplit("train")
	if err != nil {
		return nil, err
	}
	devDocs, err := ds.ReadSplit("dev")
	if err != nil {
		return nil, err
	}
	if len(trainDocs) == 0 {
		return nil, fmt.Errorf("dataset %s has no train documents", ds.Dir)
	}
	dir := cfg.Run.Dir
	var (
		tok *tokenizer.Tokenizer
		enc *encoder.Encoder[float32]
	)
	if opt.Resume {
		if tok, enc, err = openRun(dir, cfg); err != nil {
			return nil, fmt.Errorf("--resume: %w", err)
		}
	} else {
		if _, err := os.Stat(dir); err == nil {
			return nil, fmt.Errorf("run directory %s already exists: pass --resume to continue it, or set run.dir to a new folder", dir)
		}
		if tok, enc, err = newRun(dir, cfg, trainDocs, logw); err != nil {
			return nil, err
		}
	}
	sp := tok.Special()
	masker, err := NewMasker(sp, tok.VocabSize(), cfg.Pretrain.MaskProb)
	if err != nil {
		return nil, err
	}
	if n := enc.Config.MaxPositionEmbeddings; cfg.Pretrain.SeqLen > n {
		return nil, fmt.Errorf("pretrain.seq_len = %d exceeds the encoder's %d positions", cfg.Pretrain.SeqLen, n)
	}
	fmt.Fprintf(logw, "tokenising %d train and %d dev documents into windows of %d tokens\n", len(trainDocs), len(devDocs), cfg.Pretrain.SeqLen)
	windows, err := docWindows(tok, trainDocs, cfg.Pretrain.SeqLen, masker)
	if err != nil {
		return nil, err
	}
	devWindows, err := docWindows(tok, devDocs, cfg.Pretrain.SeqLen, masker)
	if err != nil {
		return nil, err
	}
	if len(windows) == 0 {
		return nil, fmt.Errorf("dataset %s: the train notes give no window with a maskable token", ds.Dir)
	}
	k := kernels.CPU[float32]()
	std := enc.Config.InitializerRange
	if std <= 0 {
		std = 0.02
	}
	head := NewHead(enc.Config.HiddenSize, tok.VocabSize(), enc.Config.LayerNormEps, std, cfg.Train.Seed)
	m, err := NewModel(enc, head, k, windows, masker)
	if err != nil {
		return nil, err
	}
	metric := "train_loss"
	if len(devWindows) > 0 {
		metric = DevMetric
	}
	fmt.Fprintf(logw, "pretraining on %d windows (%d dev windows), vocabulary %d, hidden %d, selection by %s\n", len(windows), len(devWindows), tok.VocabSize(), enc.Config.HiddenSize, metric)

	tc := cfg.Train
	tcfg := train.Config{
		Dir: filepath.Join(dir, CheckpointsDir), Epochs: tc.Epochs, LR: tc.LR, WarmupRatio: tc.WarmupRatio,
		WeightDecay: tc.WeightDecay, GradAccum: tc.GradAccum, ClipNorm: tc.ClipNorm,
		Metric: metric, HigherIsBetter: false, Patience: tc.Patience, KeepLast: tc.KeepLast,
		Seed: tc.Seed, Progress: logw,
	}
	tcfg.Evaluate = func(epoch int) (map[string]float64, error) {
		res := map[string]float64{}
		if len(devWindows) > 0 {
			l, err := m.EvalLoss(devWindows, devSeed)
			if err != nil {
				return nil, err
			}
			res[DevMetric] = l
			fmt.Fprintf(logw, "epoch %d dev: MLM loss %.4f\n", epoch, l)
		}
		return res, nil
	}
	t, err := train.New(m, len(windows), tcfg)
	if err != nil {
		return nil, err
	}
	if opt.Resume {
		ok, err := t.Resume()
		if err != nil {
			return nil, err
		}
		if ok {
			fmt.Fprintf(logw, "resumed %s after epoch %d\n", dir, t.Epoch())
		}
	}
	res, err := t.TrainEpochs(ctx, opt.StopAfter)
	if err != nil && errors.Is(err, context.Canceled) {
		return nil, fmt.Errorf("interrupted during epoch %d (%w): the checkpoint after epoch %d is kept; continue with --resume", t.Epoch()+1, err, t.Epoch())
	}
	if err != nil {
		return nil, err
	}
	out := &Result{Dir: dir, Metric: metric, Train: res, Windows: len(windows), DevWindows: len(devWindows)}
	if res.Epochs < tc.Epochs && !res.Stopped {
		// Stopped by StopAfter: the encoder is written when the run ends.
		return out, nil
	}
	// The encoder of the best epoch (by the selection metric) is the
	// result; the head is dropped.
	best := filepath.Join(dir, CheckpointsDir, "best")
	if err := t.LoadCheckpoint(best); err != nil {
		return nil, err
	}
	if err := writeEncoder(dir, enc, tok); err != nil {
		return nil, err
	}
	out.EncoderDir = filepath.Join(dir, EncoderDir)
	return out, nil
}

// newRun builds the tokenizer and initial encoder of a new run and writes
// the run directory's files; the encoder is read back from init/ so that a
// first run and a resumed one start from the same model.
func newRun(dir string, cfg *Config, trainDocs []dataset.Doc, logw io.Writer) (*tokenizer.Tokenizer, *encoder.Encoder[float32], error) {
	var (
		tok *tokenizer.Tokenizer
		enc *encoder.Encoder[float32]
		err error
	)
	if src, ok := strings.CutPrefix(cfg.Model.Source, "hf:"); ok {
		if tok, err = tokenizer.Load(src); err != nil {
			return nil, nil, fmt.Errorf("model.source: %w", err)
		}
		if enc, err = encoder.Load[float32](src); err != nil {
			return nil, nil, fmt.Errorf("model.source: %w", err)
		}
	} else if tok, enc, err = run.NewScratch(cfg.Model.Scratch, trainDocs, cfg.Train.Seed, logw); err != nil {
		return nil, nil, err
	}
	if tok.VocabSize() != enc.Config.VocabSize {
		return nil, nil, fmt.Errorf("model.source: the tokenizer has %d ids, the encoder %d word embeddings", tok.VocabSize(), enc.Config.VocabSize)
	}
	raw, err := json.MarshalIndent(cfg.settings(), "", "  ")
	if err != nil {
		return nil, nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, nil, err
	}
	err = os.WriteFile(filepath.Join(dir, ConfigFile), cfg.Raw, 0o644)
	if err == nil {
		err = os.WriteFile(filepath.Join(dir, SettingsFile), append(raw, '\n'), 0o644)
	}
	if err == nil {
		err = tok.Save(filepath.Join(dir, TokenizerDir))
	}
	if err == nil {
		err = enc.Save(filepath.Join(dir, InitDir))
	}
	if err != nil {
		// A half-written run directory would block the next attempt.
		os.RemoveAll(dir)
		return nil, nil, err
	}
	fmt.Fprintf(logw, "run %s: vocabulary %d, hidden %d, %d layers\n", dir, tok.VocabSize(), enc.Config.HiddenSize, enc.Config.NumHiddenLayers)
	return openRun(dir, cfg)
}

// openRun reads the tokenizer and initial encoder of a run directory after
// checking that cfg describes the same pretraining.
func openRun(dir string, cfg *Config) (*tokenizer.Tokenizer, *encoder.Encoder[float32], error) {
	raw, err := os.ReadFile(filepath.Join(dir, SettingsFile))
	if err != nil {
		return nil, nil, fmt.Errorf("%s is not a pretraining run: %w", dir, err)
	}
	var saved settings
	if err := json.Unmarshal(raw, &saved); err != nil {
		return nil, nil, fmt.Errorf("%s: %w", filepath.Join(dir, SettingsFile), err)
	}
	if cur := cfg.settings(); !reflect.DeepEqual(saved, cur) {
		return nil, nil, fmt.Errorf("run %s was started with %+v, %s now gives %+v: resume needs the same data, model and pretrain settings", dir, saved, cfg.Path, cur)
	}
	tok, err := tokenizer.Load(filepath.Join(dir, TokenizerDir))
	if err != nil {
		return nil, nil, err
	}
	enc, err := encoder.Load[float32](filepath.Join(dir, InitDir))
	if err != nil {
		return nil, nil, err
	}
	return tok, enc, nil
}

// writeEncoder writes the trained encoder and the tokenizer into
// dir/encoder, built under a temporary name and renamed so that the folder
// is either whole or absent (a finished run resumed again replaces it).
func writeEncoder(dir string, enc *encoder.Encoder[float32], tok *tokenizer.Tokenizer) error {
	final := filepath.Join(dir, EncoderDir)
	tmp := filepath.Join(dir, ".tmp-"+EncoderDir)
	if err := os.RemoveAll(tmp); err != nil {
		return err
	}
	if err := enc.Save(tmp); err != nil {
		return err
	}
	if err := tok.Save(tmp); err != nil {
		return err
	}
	if err := os.RemoveAll(final); err != nil {
		return err
	}
	return os.Rename(tmp, final)
}

// docWindows tokenises docs and cuts them into windows.
func docWindows(tok *tokenizer.Tokenizer, docs []dataset.Doc, seqLen int, m *Masker) ([][]int, error) {
	ids := make([][]int, len(docs))
	for i, d := range docs {
		var err error
		if ids[i], err = tok.Encode(d.Text); err != nil {
			return nil, fmt.Errorf("pretrain: document %s: %w", d.ID, err)
		}
	}
	sp := tok.Special()
	w, _, err := Windows(ids, seqLen, sp.CLS, sp.SEP, m)
	return w, err
}
