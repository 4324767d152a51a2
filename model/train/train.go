// Package train is the training loop of icdcode's models: AdamW (torch
// semantics) with linear warm-up and decay, gradient accumulation and
// global-norm clipping, early stopping on a metric, and atomic, checksummed
// checkpoints every epoch from which a run resumes bit-exactly.
//
// # Use
//
//	t, err := train.New(model, len(trainDocs), train.Config{Dir: run, Epochs: 10, LR: 3e-5, ...})
//	if _, err := t.Resume(); err != nil { ... } // continue from the newest checkpoint, if any
//	res, err := t.Train(ctx)
//
// The model implements [Model]: its parameters in a fixed order with names,
// and the scalar loss of one training document (BCE-with-logits for the
// classifier) given a random source for dropout. The trainer calls
// ag.Backward on that loss itself.
//
// # Exact resume
//
// Everything that shapes the trajectory is either derived or saved: the data
// order of epoch e is a permutation computed from (Seed, e) by a shuffle
// written here (so it does not change with the Go release), the dropout
// source is a PCG whose state is saved, and weights, AdamW moments, step
// counts and early-stopping counters are saved bit for bit. Checkpoints are
// taken at epoch ends only, so a run killed mid-epoch repeats that epoch from
// its start. Bit-identical resumption also needs a model whose backward pass
// is deterministic (model/layers' determinism rule); gradients of successive
// documents are accumulated by successive ag.Backward calls, which is.
//
// # Checkpoints
//
// After every epoch the run directory gets ckpt-epoch-NNN/ (NNN = completed
// epochs) with state.json (step, epoch, RNG state, best metric, patience
// counter, config hash, parameter names and shapes, per-parameter AdamW step
// counts), weights.bin and moments.bin (raw little-endian float32 in
// parameter order; AdamW keeps float32 moments like torch), and
// MANIFEST.json with the size and SHA-256 of each, written last. The
// directory is built under a ".tmp-ckpt-*" name, fsynced and renamed, so
// readers see whole checkpoints only; Resume removes leftover temp
// directories. The last KeepLast checkpoints and the best one are kept, and
// the symlink "best" points at the best. Loading verifies every checksum
// before touching the model and refuses another configuration or
// parameter list with an error naming the file or the difference.
//
// Progress lines go through data/progress (documents/s, ETA) with the running
// loss appended; the log (train.jsonl) and progress lines carry counts and
// metrics only, never document text.
package train

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/icdcode/icdcode/data/progress"
	"github.com/nlpodyssey/spago/ag"
	"github.com/nlpodyssey/spago/mat"
)

// Model is what the trainer trains.
type Model interface {
	// Params returns the trainable parameters, float32, in a fixed order
	// with unique names; checkpoints are matched against it.
	Params() []Param
	// Loss returns the scalar training loss of document i (0 ≤ i < n), built
	// on the autograd graph of the parameters. rng is the only randomness it
	// may use (dropout), so that training is reproducible.
	Loss(i int, rng *rand.Rand) (mat.Tensor, error)
}

// EpochStarter is implemented by models whose loss keeps state across
// documents within an epoch (CLQ's running bag): StartEpoch is called with
// the 0-based epoch before its first document. Such state must be a
// function of the epoch and the documents seen in it, never of earlier
// epochs, so that a run resumed at an epoch boundary matches one that was
// not interrupted (checkpoints are written at epoch ends).
type EpochStarter interface {
	StartEpoch(epoch int)
}

// Config sets up a run. Zero values get the defaults noted.
type Config struct {
	Dir    string // run directory: checkpoints and train.jsonl
	Epochs int

	LR          float64
	WarmupSteps int64   // if 0, WarmupRatio of the total number of updates (rounded up)
	WarmupRatio float64 // fraction of updates spent warming up
	WeightDecay float64
	Beta1       float64 // Beta1 and Beta2 both 0: 0.9 and 0.999
	Beta2       float64
	Eps         float64 // 0: 1e-8

	GradAccum int     // documents per update (0: 1); the update uses their mean gradient
	ClipNorm  float64 // global L2 gradient norm limit (0: none)

	// Metric names the value compared for the best checkpoint and early
	// stopping: "train_loss" (the default) or a key returned by Evaluate.
	Metric         string
	HigherIsBetter bool
	Patience       int // stop after this many epochs without improvement (0: never)
	KeepLast       int // checkpoints kept besides the best (0: all)

	Seed uint64

	// Evaluate, if set, is called after every epoch (1-based) for the dev
	// metrics that go into the log and may be the Metric.
	Evaluate func(epoch int) (map[string]float64, error)

	Progress      io.Writer     // progress lines (nil: none)
	ProgressEvery time.Duration // 0: progress's default
}

// Result summarises a finished Train.
type Result struct {
	Epochs    int // completed epochs
	Steps     int64
	BestEpoch int // 0 when no epoch ran
	Best      float64
	Stopped   bool // ended by early stopping
}

// Trainer runs the training loop over one model and one training set.
type Trainer struct {
	cfg    Config
	model  Model
	params []Param
	n      int
	opt    *AdamW
	pcg    *rand.PCG
	rng    *rand.Rand
	hash   string
	warmup int64
	total  int64
	st     state
	lastLR float64
	// attached is set once the trainer owns its run directory: after a
	// load, or after checking that a fresh run overwrites nothing.
	attached bool
}

// New checks the configuration and model and returns a trainer at epoch 0.
func New(model Model, n int, cfg Config) (*Trainer, error) {
	if cfg.Dir == "" {
		return nil, errors.New("train: Config.Dir is empty")
	}
	if n <= 0 {
		return nil, fmt.Errorf("train: no training documents (n = %d)", n)
	}
	if cfg.Epochs <= 0 || cfg.LR <= 0 {
		return nil, fmt.Errorf("train: need Epochs > 0 and LR > 0 (got %d, %g)", cfg.Epochs, cfg.LR)
	}
	if cfg.GradAccum == 0 {
		cfg.GradAccum = 1
	}
	if cfg.Beta1 == 0 && cfg.Beta2 == 0 {
		cfg.Beta1, cfg.Beta2 = 0.9, 0.999
	}
	if cfg.Eps == 0 {
		cfg.Eps = 1e-8
	}
	if cfg.Metric == "" {
		cfg.Metric = "train_loss"
	}
	switch {
	case cfg.GradAccum < 0, cfg.ClipNorm < 0, cfg.WeightDecay < 0, cfg.Patience < 0, cfg.KeepLast < 0, cfg.WarmupSteps < 0:
		return nil, errors.New("train: GradAccum, ClipNorm, WeightDecay, Patience, KeepLast and WarmupSteps must not be negative")
	case cfg.Beta1 < 0 || cfg.Beta1 >= 1 || cfg.Beta2 < 0 || cfg.Beta2 >= 1 || cfg.Eps < 0:
		return nil, fmt.Errorf("train: betas must lie in [0, 1) and eps ≥ 0 (got %g, %g, %g)", cfg.Beta1, cfg.Beta2, cfg.Eps)
	case cfg.WarmupRatio < 0 || cfg.WarmupRatio > 1:
		return nil, fmt.Errorf("train: WarmupRatio %g outside [0, 1]", cfg.WarmupRatio)
	}
	params := model.Params()
	if len(params) == 0 {
		return nil, errors.New("train: the model has no parameters")
	}
	seen := map[string]bool{}
	for _, p := range params {
		if p.P == nil || p.Name == "" || seen[p.Name] {
			return nil, fmt.Errorf("train: parameter %q is nil, unnamed or duplicated", p.Name)
		}
		seen[p.Name] = true
	}
	opt, err := NewAdamW(params, cfg.Beta1, cfg.Beta2, cfg.Eps, cfg.WeightDecay)
	if err != nil {
		return nil, err
	}
	t := &Trainer{cfg: cfg, model: model, params: params, n: n, opt: opt}
	t.total = int64(cfg.Epochs) * t.stepsPerEpoch()
	t.warmup = cfg.WarmupSteps
	if t.warmup == 0 {
		t.warmup = int64(math.Ceil(cfg.WarmupRatio * float64(t.total)))
	}
	// The dropout stream is seeded apart from the data order (which uses
	// the epoch as the second word) by a fixed tag.
	t.pcg = rand.NewPCG(cfg.Seed, 0x64726f706f7574)
	t.rng = rand.New(t.pcg)
	t.hash = t.configHash()
	t.st = state{Version: stateVersion, ConfigHash: t.hash, Params: paramInfos(params)}
	return t, nil
}

func (t *Trainer) stepsPerEpoch() int64 {
	return int64((t.n + t.cfg.GradAccum - 1) / t.cfg.GradAccum)
}

// configHash covers every setting that shapes the trajectory, so a resume
// with other settings is refused instead of silently mixing two runs.
// Patience, KeepLast, Evaluate and progress output may change on resume.
func (t *Trainer) configHash() string {
	c := t.cfg
	b, _ := json.Marshal(struct {
		N, Epochs, GradAccum      int
		LR, WD, B1, B2, Eps, Clip float64
		Warmup                    int64
		Metric                    string
		Higher                    bool
		Seed                      uint64
		Params                    []paramInfo
	}{t.n, c.Epochs, c.GradAccum, c.LR, c.WeightDecay, c.Beta1, c.Beta2, c.Eps, c.ClipNorm, t.warmup, c.Metric, c.HigherIsBetter, c.Seed, paramInfos(t.params)})
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// Epoch returns the number of completed epochs.
func (t *Trainer) Epoch() int { return t.st.Epoch }

// Step returns the number of completed optimizer updates.
func (t *Trainer) Step() int64 { return t.st.Step }

// Optimizer exposes the AdamW state (moments, per-parameter step counts).
func (t *Trainer) Optimizer() *AdamW { return t.opt }

// TotalSteps and WarmupSteps return the schedule's lengths in updates.
func (t *Trainer) TotalSteps() int64  { return t.total }
func (t *Trainer) WarmupSteps() int64 { return t.warmup }

// Resume loads the newest complete checkpoint of the run directory, if any,
// and reports whether it did. Leftovers of interrupted checkpoint writes
// are removed. A damaged newest checkpoint is an error, not a reason to fall
// back silently to an older one.
func (t *Trainer) Resume() (bool, error) {
	removeTemps(t.cfg.Dir)
	dir, err := LatestCheckpoint(t.cfg.Dir)
	if err != nil || dir == "" {
		return false, err
	}
	if err := t.LoadCheckpoint(dir); err != nil {
		return false, err
	}
	// Drop log lines of epochs after the checkpoint (a kill between the log
	// append and the checkpoint rename) and a torn last line now, so the log
	// matches the state even before the next epoch.
	f, err := openLog(filepath.Join(t.cfg.Dir, LogFile), t.st.Epoch)
	if err != nil {
		return false, err
	}
	return true, f.Close()
}

// LoadCheckpoint restores the trainer and the model's weights from a
// checkpoint directory after verifying every checksum, the configuration
// hash and the parameter list; on error nothing is changed.
func (t *Trainer) LoadCheckpoint(dir string) error {
	st, w, m, v, err := readCheckpoint(dir, t.hash, t.params)
	if err != nil {
		return err
	}
	pcg := &rand.PCG{}
	if err := pcg.UnmarshalBinary(st.RNG); err != nil {
		return fmt.Errorf("train: checkpoint %s: RNG state: %w", dir, err)
	}
	for i, p := range t.params {
		dst, err := values(p)
		if err != nil {
			return err
		}
		copy(dst, w[i])
		p.P.ZeroGrad()
	}
	t.opt.M, t.opt.V = m, v
	copy(t.opt.Steps, st.AdamSteps)
	*t.pcg = *pcg
	t.st = *st
	t.attached = true
	return nil
}

// Train runs epochs until Config.Epochs are done or early stopping fires,
// writing a checkpoint and a log line after each. On an error or a
// cancelled ctx mid-epoch the in-memory state is partial: call Resume on a
// fresh trainer to continue from the last checkpoint.
func (t *Trainer) Train(ctx context.Context) (Result, error) {
	return t.TrainEpochs(ctx, 0)
}

// TrainEpochs is Train ending after at most n epochs of this call (n ≤ 0:
// no limit), each checkpointed: the run is left as an interruption between
// epochs would leave it, and Resume on a fresh trainer continues it.
func (t *Trainer) TrainEpochs(ctx context.Context, n int) (Result, error) {
	for done := 0; t.st.Epoch < t.cfg.Epochs && !t.st.Stopped && (n <= 0 || done < n); done++ {
		if err := t.TrainEpoch(ctx); err != nil {
			return t.result(), err
		}
	}
	return t.result(), nil
}

func (t *Trainer) result() Result {
	return Result{Epochs: t.st.Epoch, Steps: t.st.Step, BestEpoch: t.st.BestEpoch, Best: t.st.Best, Stopped: t.st.Stopped}
}

// Order returns the training order of epoch (0-based) for n documents: a
// Fisher–Yates shuffle driven by a PCG seeded with (seed, epoch). It is
// written out rather than taken from rand.Perm so that the order is fixed
// by this code alone. The modulo bias is below n/2⁶⁴.
func Order(seed uint64, epoch, n int) []int {
	src := rand.NewPCG(seed, uint64(epoch))
	perm := make([]int, n)
	for i := range perm {
		perm[i] = i
	}
	for i := n - 1; i > 0; i-- {
		j := int(src.Uint64() % uint64(i+1))
		perm[i], perm[j] = perm[j], perm[i]
	}
	return perm
}

// TrainEpoch runs one epoch, then evaluates, logs and checkpoints it.
func (t *Trainer) TrainEpoch(ctx context.Context) error {
	if t.st.Epoch >= t.cfg.Epochs {
		return fmt.Errorf("train: all %d epochs are done", t.cfg.Epochs)
	}
	if !t.attached {
		// A trainer that neither resumed nor loaded starts at epoch 0 and
		// would overwrite the run's checkpoints and truncate its log.
		eps, err := Checkpoints(t.cfg.Dir)
		if err != nil {
			return err
		}
		if len(eps) > 0 {
			return fmt.Errorf("train: %s already holds checkpoints (last: epoch %d): call Resume, or train into a new directory", t.cfg.Dir, eps[len(eps)-1])
		}
		t.attached = true
	}
	if err := os.MkdirAll(t.cfg.Dir, 0o755); err != nil {
		return fmt.Errorf("train: %w", err)
	}
	logf, err := openLog(filepath.Join(t.cfg.Dir, LogFile), t.st.Epoch)
	if err != nil {
		return err
	}
	defer logf.Close()

	epoch := t.st.Epoch + 1
	begin := time.Now()
	pw := &lossWriter{w: t.cfg.Progress}
	rep := progress.New(nil, 0) // silent
	if t.cfg.Progress != nil {
		rep = progress.New(pw, t.cfg.ProgressEvery)
	}
	rep.Start(fmt.Sprintf("epoch %d/%d", epoch, t.cfg.Epochs))
	order := Order(t.cfg.Seed, t.st.Epoch, t.n)
	if es, ok := t.model.(EpochStarter); ok {
		es.StartEpoch(t.st.Epoch)
	}
	var lossSum float64
	inGroup := 0
	for pos, doc := range order {
		if err := ctx.Err(); err != nil {
			t.zeroGrads()
			return err
		}
		loss, err := t.model.Loss(doc, t.rng)
		if err != nil {
			t.zeroGrads()
			return fmt.Errorf("train: epoch %d, document %d: %w", epoch, pos, err)
		}
		if loss == nil || loss.Size() != 1 {
			t.zeroGrads()
			return fmt.Errorf("train: epoch %d: the model's loss is not a scalar", epoch)
		}
		lv := loss.Value().Item().F64()
		if math.IsNaN(lv) || math.IsInf(lv, 0) {
			t.zeroGrads()
			return fmt.Errorf("train: epoch %d, update %d: loss is %g", epoch, t.st.Step+1, lv)
		}
		if err := ag.Backward(loss); err != nil {
			t.zeroGrads()
			return fmt.Errorf("train: backward: %w", err)
		}
		lossSum += lv
		inGroup++
		// The last group of an epoch may be short: it still makes an update,
		// with the mean over the documents it has.
		if inGroup == t.cfg.GradAccum || pos == len(order)-1 {
			if err := t.update(inGroup); err != nil {
				t.zeroGrads()
				return err
			}
			inGroup = 0
		}
		pw.set(lossSum / float64(pos+1))
		rep.Tick(int64(pos+1), int64(t.n), "docs")
	}
	rep.Finish(int64(t.n), "docs")

	metrics := map[string]float64{"train_loss": lossSum / float64(t.n)}
	if t.cfg.Evaluate != nil {
		dev, err := t.cfg.Evaluate(epoch)
		if err != nil {
			return fmt.Errorf("train: evaluate epoch %d: %w", epoch, err)
		}
		for k, v := range dev {
			if k == "train_loss" {
				return errors.New(`train: Evaluate must not return "train_loss"`)
			}
			metrics[k] = v
		}
	}
	for k, v := range metrics {
		// JSON has no NaN or Inf, and neither can rank checkpoints.
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("train: epoch %d: metric %q is %g", epoch, k, v)
		}
	}
	val, ok := metrics[t.cfg.Metric]
	if !ok {
		return fmt.Errorf("train: epoch %d: metric %q missing (have train_loss and Evaluate's keys)", epoch, t.cfg.Metric)
	}
	improved := !t.st.HasBest || (t.cfg.HigherIsBetter && val > t.st.Best) || (!t.cfg.HigherIsBetter && val < t.st.Best)
	if improved {
		t.st.HasBest, t.st.Best, t.st.BestEpoch, t.st.BadEpochs = true, val, epoch, 0
	} else {
		t.st.BadEpochs++
	}
	t.st.Stopped = t.cfg.Patience > 0 && t.st.BadEpochs >= t.cfg.Patience
	t.st.Epoch = epoch

	dev := map[string]float64{}
	for k, v := range metrics {
		if k != "train_loss" {
			dev[k] = v
		}
	}
	rec := &EpochRecord{Epoch: epoch, Step: t.st.Step, TrainLoss: metrics["train_loss"], LR: t.lastLR,
		Metrics: dev, Best: improved, Seconds: time.Since(begin).Seconds(), Time: time.Now().UTC().Format(time.RFC3339)}
	// Log before checkpoint: a kill in between leaves a line for an epoch
	// without a checkpoint, which openLog drops on resume.
	if err := appendLog(logf, rec); err != nil {
		return err
	}
	return t.checkpoint()
}

// update turns the summed gradients of count documents into one AdamW step.
func (t *Trainer) update(count int) error {
	if count > 1 {
		if err := scaleGrads(t.params, 1/float64(count)); err != nil {
			return err
		}
	}
	if t.cfg.ClipNorm > 0 {
		if _, err := ClipGradNorm(t.params, t.cfg.ClipNorm); err != nil {
			return err
		}
	}
	t.lastLR = LinearSchedule(t.cfg.LR, t.st.Step, t.warmup, t.total)
	if err := t.opt.Step(t.params, t.lastLR); err != nil {
		return err
	}
	t.zeroGrads()
	t.st.Step++
	return nil
}

func (t *Trainer) zeroGrads() {
	for _, p := range t.params {
		p.P.ZeroGrad()
	}
}

func (t *Trainer) checkpoint() error {
	rng, err := t.pcg.MarshalBinary()
	if err != nil {
		return fmt.Errorf("train: RNG state: %w", err)
	}
	t.st.RNG = rng
	t.st.AdamSteps = append([]int64(nil), t.opt.Steps...)
	if err := writeCheckpoint(t.cfg.Dir, &t.st, t.params, t.opt); err != nil {
		return err
	}
	return retain(t.cfg.Dir, t.cfg.KeepLast, t.st.BestEpoch)
}

// lossWriter appends the running mean loss to each progress line, since
// data/progress knows only counts.
type lossWriter struct {
	w    io.Writer
	mu   sync.Mutex
	loss float64
}

func (l *lossWriter) set(v float64) {
	l.mu.Lock()
	l.loss = v
	l.mu.Unlock()
}

func (l *lossWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	loss := l.loss
	l.mu.Unlock()
	line := bytes.TrimRight(p, "\n")
	out := fmt.Appendf(nil, "%s, loss %.4f\n", line, loss)
	if _, err := l.w.Write(out); err != nil {
		return 0, err
	}
	return len(p), nil
}
