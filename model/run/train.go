package run

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"

	"github.com/nlpodyssey/spago/mat"

	"github.com/icdcode/icdcode/data/dataset"
	"github.com/icdcode/icdcode/data/synonyms"
	"github.com/icdcode/icdcode/model/classifier"
	"github.com/icdcode/icdcode/model/encoder"
	"github.com/icdcode/icdcode/model/kernels"
	"github.com/icdcode/icdcode/model/tokenizer"
	"github.com/icdcode/icdcode/model/train"
	"github.com/icdcode/icdcode/quant/clq"
	"github.com/icdcode/icdcode/quant/metrics"
	"github.com/icdcode/icdcode/quant/quantify"
	"github.com/icdcode/icdcode/quant/quantrun"
)

// TrainOptions are the per-invocation settings of Train.
type TrainOptions struct {
	// Resume continues the run directory's newest checkpoint; without it an
	// existing run directory is refused.
	Resume bool
	// StopAfter, if positive, ends this invocation after that many epochs
	// (checkpointed), as an interruption would; Resume continues.
	StopAfter int
	// Log receives progress lines (nil: silent).
	Log io.Writer
}

// TrainResult summarises a Train call.
type TrainResult struct {
	Dir    string
	Result train.Result
}

// Train trains the model that cfg describes into cfg.Run.Dir.
func Train(ctx context.Context, cfg *Config, opt TrainOptions) (*TrainResult, error) {
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
	var m *Model
	if opt.Resume {
		if m, err = LoadModel(dir); err != nil {
			return nil, fmt.Errorf("--resume: %w", err)
		}
		if !slices.Equal(m.Labels, ds.Labels) {
			return nil, fmt.Errorf("run %s has %d labels, dataset %s has %d (or another order): not the run's dataset", dir, len(m.Labels), ds.Dir, len(ds.Labels))
		}
		want := cfg.Classifier()
		if cfg.Data.CodeEmbeddings != "" {
			// The width comes from the file, read when the run began.
			want.CodeDim = m.info.Classifier.CodeDim
		}
		if got := m.info.Classifier; !sameClassifier(got, want) {
			return nil, fmt.Errorf("run %s was started with model settings %+v, %s now gives %+v: resume needs the same [model] section", dir, got, cfg.Path, want)
		}
	} else {
		if _, err := os.Stat(dir); err == nil {
			return nil, fmt.Errorf("run directory %s already exists: pass --resume to continue it, or set run.dir to a new folder", dir)
		}
		if m, err = newModel(cfg, ds, trainDocs, logw); err != nil {
			return nil, err
		}
	}

	fmt.Fprintf(logw, "tokenising %d train and %d dev documents\n", len(trainDocs), len(devDocs))
	trainEx, err := classifier.Prepare(m.Tokenizer, trainDocs, m.Labels)
	if err != nil {
		return nil, err
	}
	devEx, err := classifier.Prepare(m.Tokenizer, devDocs, m.Labels)
	if err != nil {
		return nil, err
	}
	if n := trainEx.Truncated(m.Classifier.Config); n > 0 {
		fmt.Fprintf(logw, "%d of %d train documents are longer than max_tokens and are truncated\n", n, len(trainDocs))
	}
	k := kernels.CPU[float32]()
	tm, err := classifier.NewTrainModel(m.Classifier, k, trainEx)
	if err != nil {
		return nil, err
	}
	var quant *clq.Loss[float32]
	if cfg.CLQ.Enabled {
		if quant, err = newCLQ(cfg, len(m.Labels), len(trainDocs)); err != nil {
			return nil, err
		}
		if err := tm.SetCLQ(quant); err != nil {
			return nil, err
		}
		fmt.Fprintf(logw, "CLQ joint loss: λ %g, δ %g, MLP hidden %d, bag size %s\n", cfg.CLQ.Lambda, cfg.CLQ.Delta, quant.Config().Hidden, bagSizeText(cfg.CLQ.BagSize, len(trainDocs)))
	}
	tc := cfg.Train
	tcfg := train.Config{
		Dir: filepath.Join(dir, CheckpointsDir), Epochs: tc.Epochs, LR: tc.LR, WarmupRatio: tc.WarmupRatio,
		WeightDecay: tc.WeightDecay, GradAccum: tc.GradAccum, ClipNorm: tc.ClipNorm,
		Metric: tc.Metric, HigherIsBetter: higherIsBetter(tc.Metric), Patience: tc.Patience, KeepLast: tc.KeepLast,
		Seed: tc.Seed, Progress: logw,
	}
	tcfg.Evaluate = func(epoch int) (map[string]float64, error) {
		res := map[string]float64{}
		if len(devDocs) > 0 {
			rep, cal, err := evaluate(m, k, devEx)
			if err != nil {
				return nil, err
			}
			res = devMetrics(rep, cal)
			fmt.Fprintf(logw, "epoch %d dev: micro-F1 %.4f macro-F1 %.4f\n", epoch, rep.MicroF1, rep.MacroF1MeanOfLabelF1)
		}
		return res, nil
	}
	t, err := train.New(tm, len(trainDocs), tcfg)
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
	if err := writeCurve(dir, tc.Metric); err != nil {
		return nil, err
	}
	if quant != nil {
		// The quantifier trained jointly, after the last epoch, in
		// `icdcode quantify`'s file format.
		if err := quant.Quantifier().Save(filepath.Join(dir, CLQQuantifierFile)); err != nil {
			return nil, err
		}
	}
	return &TrainResult{Dir: dir, Result: res}, nil
}

// CurveFile is the training-curve plot written at the end of Train.
const CurveFile = "training-curve.svg"

// writeCurve plots the run's log: training loss, and the selection metric
// with the usual dev metrics.
func writeCurve(dir, metric string) error {
	recs, err := train.ReadLog(filepath.Join(dir, CheckpointsDir, train.LogFile))
	if err != nil {
		return err
	}
	ms := []string{metric}
	for _, m := range []string{"micro_f1", "macro_auc", "p_at_5"} {
		if m != metric {
			ms = append(ms, m)
		}
	}
	if metric == "train_loss" {
		ms = ms[1:]
	}
	return train.WriteCurveSVG(filepath.Join(dir, CurveFile), recs, ms)
}

// CLQQuantifierFile is the CLQ run's MLP quantifier (quant/quantify
// format), which `icdcode quantify test` adds to its comparison.
const CLQQuantifierFile = quantrun.CLQFile

// newCLQ builds the CLQ term of cfg for the given label and training-set
// sizes, from clq.quantifier when set.
func newCLQ(cfg *Config, labels, trainDocs int) (*clq.Loss[float32], error) {
	qc := cfg.clq()
	if cfg.CLQ.Quantifier == "" {
		q, err := clq.New[float32](qc, labels, trainDocs)
		if err != nil {
			return nil, fmt.Errorf("[clq] in %s: %w", cfg.Path, err)
		}
		return q, nil
	}
	mlp, err := quantify.LoadMLP(cfg.CLQ.Quantifier)
	if err != nil {
		return nil, fmt.Errorf("clq.quantifier (%s): %w", cfg.Path, err)
	}
	if mlp.L != labels {
		return nil, fmt.Errorf("clq.quantifier %s has %d labels, the run %d", cfg.CLQ.Quantifier, mlp.L, labels)
	}
	qc.Hidden = mlp.H
	q, err := clq.FromQuantifier[float32](qc, mlp, trainDocs)
	if err != nil {
		return nil, fmt.Errorf("clq.quantifier %s: %w", cfg.CLQ.Quantifier, err)
	}
	return q, nil
}

func bagSizeText(size, n int) string {
	if size > 0 {
		return fmt.Sprint(size)
	}
	return fmt.Sprintf("drawn in [1, %d] per bag", n)
}

// newModel builds the tokenizer, encoder and classifier of a new run and
// writes the run directory's model files.
func newModel(cfg *Config, ds *dataset.Dataset, trainDocs []dataset.Doc, logw io.Writer) (*Model, error) {
	if cfg.Train.InitRun != "" {
		return modelFromRun(cfg, ds, trainDocs, logw)
	}
	var syn [][]string
	if cfg.Model.Head == classifier.HeadMSAM {
		sel, err := synonyms.ReadSelections(cfg.Data.Synonyms, ds.Labels, cfg.Model.M)
		if err != nil {
			return nil, fmt.Errorf("data.synonyms (%s): %w", cfg.Path, err)
		}
		if syn, err = classifier.SynonymStrings(sel, ds.Labels, cfg.Model.M); err != nil {
			return nil, fmt.Errorf("data.synonyms %s: %w", cfg.Data.Synonyms, err)
		}
	}
	var (
		tok *tokenizer.Tokenizer
		enc *encoder.Encoder[float32]
		err error
	)
	if dir, ok := strings.CutPrefix(cfg.Model.Source, "hf:"); ok {
		if tok, err = tokenizer.Load(dir); err != nil {
			return nil, fmt.Errorf("model.source: %w", err)
		}
		if enc, err = encoder.Load[float32](dir); err != nil {
			return nil, fmt.Errorf("model.source: %w", err)
		}
	} else if tok, enc, err = NewScratch(cfg.Model.Scratch, trainDocs, cfg.Train.Seed, logw); err != nil {
		return nil, err
	}
	cc := cfg.Classifier()
	var codeEmb *mat.Dense[float32]
	if path := cfg.Data.CodeEmbeddings; path != "" {
		e, matched, err := labelCodeEmbeddings(path, cfg.Data.CodeEmbeddingSet, cfg.Data.CodeEmbeddingBias, ds.Labels)
		if err != nil {
			return nil, fmt.Errorf("data.code_embeddings (%s): %w", cfg.Path, err)
		}
		codeEmb, cc.CodeDim = e, e.Shape()[1]
		fmt.Fprintf(logw, "code embeddings: %d of %d labels have a vector of %d values in %s; the others keep their own representation\n", matched, len(ds.Labels), cc.CodeDim, path)
	}
	c, err := classifier.New(cc, enc, tok, ds.Labels, syn)
	if err != nil {
		return nil, fmt.Errorf("[model] in %s: %w", cfg.Path, err)
	}
	if codeEmb != nil {
		if err := c.SetCodeEmbeddings(codeEmb); err != nil {
			return nil, fmt.Errorf("data.code_embeddings (%s): %w", cfg.Path, err)
		}
	}
	info := modelInfo{Format: modelFileFormat, Classifier: c.Config, Source: cfg.Model.Source, Dataset: ds.Dir, TrainDocs: len(trainDocs)}
	if err := os.MkdirAll(cfg.Run.Dir, 0o755); err != nil {
		return nil, err
	}
	if err := saveModel(cfg.Run.Dir, cfg, info, c, tok, enc); err != nil {
		// A half-written run directory would block the next attempt.
		os.RemoveAll(cfg.Run.Dir)
		return nil, err
	}
	fmt.Fprintf(logw, "run %s: %d labels, vocabulary %d, hidden %d\n", cfg.Run.Dir, len(ds.Labels), tok.VocabSize(), enc.Config.HiddenSize)
	// Rebuild from the files just written, so that a first run and a
	// resumed one start from exactly the same model (notably the
	// float32 synonym matrix read back).
	return LoadModel(cfg.Run.Dir)
}

// modelFromRun starts a new run from a checkpoint of train.init_run: the
// earlier run's model files are written into the new run directory
// (tokenizer, initial encoder, labels, synonym matrix, code embeddings) and
// the checkpoint's weights are copied into InitDir, which LoadModel applies,
// so that the new run is self-contained and its resume, test and predict
// rebuild the same starting point.
func modelFromRun(cfg *Config, ds *dataset.Dataset, trainDocs []dataset.Doc, logw io.Writer) (*Model, error) {
	src, err := LoadModel(cfg.Train.InitRun)
	if err != nil {
		return nil, fmt.Errorf("train.init_run (%s): %w", cfg.Path, err)
	}
	if !slices.Equal(src.Labels, ds.Labels) {
		return nil, fmt.Errorf("train.init_run %s has %d labels, dataset %s has %d (or another order)", src.Dir, len(src.Labels), ds.Dir, len(ds.Labels))
	}
	want := cfg.Classifier()
	want.CodeDim = src.info.Classifier.CodeDim
	if !sameClassifier(src.info.Classifier, want) {
		return nil, fmt.Errorf("train.init_run %s was trained with model settings %+v, %s gives %+v: copy its [model] section", src.Dir, src.info.Classifier, cfg.Path, want)
	}
	ckpt, err := ResolveCheckpoint(src.Dir, cfg.Train.InitCheckpoint)
	if err != nil {
		return nil, fmt.Errorf("train.init_checkpoint: %w", err)
	}
	if err := src.LoadCheckpoint(ckpt); err != nil {
		return nil, err
	}
	initial, err := encoder.Load[float32](filepath.Join(src.Dir, EncoderDir))
	if err != nil {
		return nil, err
	}
	info := src.info
	info.Dataset, info.TrainDocs = ds.Dir, len(trainDocs)
	if err := os.MkdirAll(cfg.Run.Dir, 0o755); err != nil {
		return nil, err
	}
	err = saveModel(cfg.Run.Dir, cfg, info, src.Classifier, src.Tokenizer, initial)
	if err == nil {
		err = copyCheckpoint(ckpt, filepath.Join(cfg.Run.Dir, InitDir))
	}
	if err != nil {
		os.RemoveAll(cfg.Run.Dir)
		return nil, err
	}
	fmt.Fprintf(logw, "run %s starts from %s\n", cfg.Run.Dir, ckpt)
	return LoadModel(cfg.Run.Dir)
}

// sameClassifier compares a saved classifier configuration (defaults filled
// in) with one from a configuration file (zeros where defaults apply).
func sameClassifier(saved, cur classifier.Config) bool {
	cur.Window, saved.Window = 0, 0 // LE takes it from the encoder when 0
	if cur.MaxTokens == 0 {
		cur.MaxTokens = saved.MaxTokens
	}
	return reflect.DeepEqual(saved, cur)
}

// evaluate predicts every example and scores the predictions and their
// calibration.
func evaluate(m *Model, k kernels.Kernels[float32], ex *classifier.Examples) (*metrics.Report, *metrics.Calibration, error) {
	probs, err := m.predictAll(k, ex.IDs)
	if err != nil {
		return nil, nil, err
	}
	y := targets64(ex)
	rep, err := metrics.Evaluate(probs, y, metrics.Options{})
	if err != nil {
		return nil, nil, err
	}
	cal, err := metrics.Calibrate(probs, y, metrics.DefaultECEBins, metrics.EqualWidth)
	return rep, cal, err
}

func (m *Model) predictAll(k kernels.Kernels[float32], ids [][]int) ([][]float64, error) {
	probs := make([][]float64, len(ids))
	for i, doc := range ids {
		p, err := m.Classifier.Predict(k, doc)
		if err != nil {
			return nil, fmt.Errorf("document %d: %w", i, err)
		}
		probs[i] = p
	}
	return probs, nil
}

func targets64(ex *classifier.Examples) [][]float64 {
	out := make([][]float64, len(ex.Targets))
	for i, t := range ex.Targets {
		out[i] = make([]float64, len(t))
		for j, v := range t {
			out[i][j] = float64(v)
		}
	}
	return out
}

// devMetrics flattens a report into the trainer's metric map; undefined
// AUCs are left out rather than sent as NaN, which the trainer refuses.
func devMetrics(r *metrics.Report, cal *metrics.Calibration) map[string]float64 {
	out := map[string]float64{
		"mean_ece": cal.MeanLabelECE,
		"micro_f1": r.MicroF1, "macro_f1": r.MacroF1MeanOfLabelF1,
		"micro_precision": r.MicroPrecision, "micro_recall": r.MicroRecall,
	}
	if r.MicroAUC != nil {
		out["micro_auc"] = *r.MicroAUC
	}
	if r.MacroAUC != nil {
		out["macro_auc"] = *r.MacroAUC
	}
	for _, a := range r.AtK {
		out[fmt.Sprintf("p_at_%d", a.K)] = a.Precision
	}
	return out
}
