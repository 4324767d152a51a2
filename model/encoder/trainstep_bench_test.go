package encoder

import (
	"errors"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/icdcode/icdcode/model/hf"
	"github.com/icdcode/icdcode/model/kernels"
	"github.com/icdcode/icdcode/model/layers"
	"github.com/nlpodyssey/spago/ag"
	"github.com/nlpodyssey/spago/mat"
	"github.com/nlpodyssey/spago/nn"
	"github.com/nlpodyssey/spago/optimizers/adam"
)

// classifier is the model of one training step: an encoder and a linear
// multi-label head on the pooled CLS output.
type classifier struct {
	nn.Module
	Encoder *Encoder[float32]
	Head    Linear // W (d, labels), B (1, labels)
}

// TraverseParams implements nn.ParamsTraverser, so that nn.Parameters and
// nn.ZeroGrad reach the head too: spago's reflection traversal does not
// descend into a plain struct field such as Head (Linear is not a Model).
func (c *classifier) TraverseParams(fn func(*nn.Param)) {
	c.Encoder.TraverseParams(fn)
	fn(c.Head.W)
	fn(c.Head.B)
}

// trainer holds what a step needs besides the model: the AdamW strategy
// (its IncExample must be called once per step, spago-notes §2) and the
// parameters it updates.
//
// It does not use spago's optimizers.Optimizer: in spago v1.1.0
// Optimizer.Optimize starts one goroutine per parameter but, on success,
// returns without waiting for them (its wg.Wait is only on the error path),
// so the last few updates are still running when it returns. They then race
// with IncExample (which rewrites Alpha), with the zeroing of gradients
// (TestTrainStep panicked on a nil gradient within 30 runs) and with the
// next forward pass, and a benchmark would not time them. update below
// runs the same per-parameter AdamW (adam.OptimizeParams) over the same
// parameters, in parallel, and waits.
type trainer struct {
	m      *classifier
	k      kernels.Kernels[float32]
	adamw  *adam.Adam
	params []*nn.Param
}

// newClassifier builds the encoder of cfg (with pooler) from seed and a head
// to labels outputs, the head initialised as BERT's (normal(0, 0.02), bias
// 0) from a generator derived from the same seed, so the whole model is a
// function of seed.
func newClassifier(cfg *hf.Config, labels int, seed uint64) (*classifier, error) {
	e, err := New[float32](cfg, true, seed)
	if err != nil {
		return nil, err
	}
	d := cfg.HiddenSize
	rng := rand.New(rand.NewPCG(seed, 2))
	w := make([]float32, d*labels)
	for i := range w {
		w[i] = float32(rng.NormFloat64() * 0.02)
	}
	return &classifier{
		Encoder: e,
		Head: Linear{
			W: nn.NewParam(mat.NewDense[float32](mat.WithShape(d, labels), mat.WithBacking(w))),
			B: nn.NewParam(mat.NewDense[float32](mat.WithShape(1, labels))),
		},
	}, nil
}

// newTrainer sets up AdamW as in the PyTorch reference (lr 1e-4, betas
// 0.9/0.999, eps 1e-8, weight decay 0.01 on every parameter, as
// torch.optim.AdamW with one parameter group). spago's decoupled decay is
// scaled by the bias-corrected step size rather than by lr, which changes
// the values, not the work.
func newTrainer(m *classifier) *trainer {
	var ps []*nn.Param
	nn.ForEachParam(m, func(p *nn.Param) { ps = append(ps, p) })
	a := adam.New(adam.NewAdamWConfig(1e-4, 0.9, 0.999, 1e-8, 0.01))
	return &trainer{m: m, k: kernels.CPU[float32](), adamw: a, params: ps}
}

// backward runs the forward pass over ids (B × L, no padding, token types
// 0, no dropout), the head and the mean BCE-with-logits against targets
// (B × labels), and the backward pass; it returns the loss.
func (t *trainer) backward(ids [][]int, targets mat.Tensor) (float32, error) {
	out, err := t.m.Encoder.Run(t.k, ids, nil, nil, Options{Pool: true})
	if err != nil {
		return 0, err
	}
	logits, err := layers.Linear(t.k, out.Pooled, t.m.Head.W, t.m.Head.B)
	if err != nil {
		return 0, err
	}
	loss, err := layers.BCEWithLogits[float32](logits, targets, layers.Mean)
	if err != nil {
		return 0, err
	}
	if err := ag.Backward(loss); err != nil {
		return 0, err
	}
	return loss.Value().Item().F32(), nil
}

// update applies AdamW to every parameter holding a gradient, as spago's
// Optimizer does (the others, i.e. the embedding rows the batch did not
// use, are skipped; OptimizeParams zeroes the gradient it consumed), on
// GOMAXPROCS workers, waits for all of them, advances the step count, and
// zeroes any gradient left so that the next step starts clean. Each
// parameter is updated by one worker with its own state, so the result does
// not depend on scheduling.
func (t *trainer) update() error {
	var todo []*nn.Param
	for _, p := range t.params {
		if p.HasGrad() {
			todo = append(todo, p)
		}
	}
	workers := runtime.GOMAXPROCS(0)
	errs := make([]error, workers)
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= len(todo) {
					return
				}
				if err := t.adamw.OptimizeParams(todo[i]); err != nil {
					errs[w] = err
					return
				}
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	t.adamw.IncExample()
	nn.ZeroGrad(t.m)
	return nil
}

// step is one full training step: forward, backward, AdamW update, zero grads.
func (t *trainer) step(ids [][]int, targets mat.Tensor) (float32, error) {
	loss, err := t.backward(ids, targets)
	if err != nil {
		return 0, err
	}
	return loss, t.update()
}

// trainBatch returns batch × length token ids (CLS-like id 101 first, the
// rest uniform over [1000, vocab)) and batch × labels random 0/1 targets,
// all from seed.
func trainBatch(batch, length, vocab, labels int, seed uint64) ([][]int, mat.Tensor) {
	rng := rand.New(rand.NewPCG(seed, 3))
	ids := make([][]int, batch)
	for b := range ids {
		ids[b] = make([]int, length)
		ids[b][0] = 101
		for i := 1; i < length; i++ {
			ids[b][i] = 1000 + rng.IntN(vocab-1000)
		}
	}
	y := make([]float32, batch*labels)
	for i := range y {
		y[i] = float32(rng.IntN(2))
	}
	return ids, mat.NewDense[float32](mat.WithShape(batch, labels), mat.WithBacking(y))
}

// referenceConfig is the small reference encoder of the PyTorch comparison
// (scripts/bench_torch.sh): BERT post-LN, 4 layers, hidden 256, 4 heads,
// FFN 1024, vocab 30522, 512 positions.
func referenceConfig() *hf.Config {
	return &hf.Config{
		ModelType: hf.TypeBERT, VocabSize: 30522, HiddenSize: 256, NumHiddenLayers: 4, NumAttentionHeads: 4,
		IntermediateSize: 1024, HiddenAct: "gelu", MaxPositionEmbeddings: 512, TypeVocabSize: 2,
		LayerNormEps: 1e-12, PositionEmbeddingType: "absolute", InitializerRange: 0.02,
		BOSTokenID: -1, EOSTokenID: -1,
	}
}

// BenchmarkTrainStep is the Go side of the training-step comparison of
// scripts/bench_torch.sh: one full step (forward over 4 × 512 tokens,
// backward, AdamW over every parameter with a gradient, zero grads) of the
// reference encoder with a 50-label head, float32, CPU backend. One
// untimed warm-up step comes first because the first Optimize allocates
// the AdamW state (5 matrices per parameter), as PyTorch's first step does.
func BenchmarkTrainStep(b *testing.B) {
	const batch, length, labels = 4, 512, 50
	cfg := referenceConfig()
	m, err := newClassifier(cfg, labels, 1)
	if err != nil {
		b.Fatal(err)
	}
	t := newTrainer(m)
	ids, y := trainBatch(batch, length, cfg.VocabSize, labels, 1)
	if _, err := t.step(ids, y); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	start := time.Now()
	var loss float32
	var inUpdate time.Duration // the AdamW share, reported next to PyTorch's
	for i := 0; i < b.N; i++ {
		if loss, err = t.backward(ids, y); err != nil {
			b.Fatal(err)
		}
		u := time.Now()
		if err := t.update(); err != nil {
			b.Fatal(err)
		}
		inUpdate += time.Since(u)
	}
	b.StopTimer()
	perIter := time.Since(start).Seconds() / float64(b.N)
	b.ReportMetric(perIter, "s/iter")
	b.ReportMetric(inUpdate.Seconds()/float64(b.N), "update-s/iter")
	b.Logf("%s: %d×%d tokens, 4 layers, hidden 256, %d labels: %.3f s/step (AdamW %.3f s), loss %.4f",
		t.k.Name(), batch, length, labels, perIter, inUpdate.Seconds()/float64(b.N), loss)
}

// stepTestConfig is a small encoder for the unit test (runs in well under a
// second, unlike the 4 × 512 benchmark shape).
func stepTestConfig() *hf.Config {
	return &hf.Config{
		ModelType: hf.TypeBERT, VocabSize: 1100, HiddenSize: 32, NumHiddenLayers: 2, NumAttentionHeads: 4,
		IntermediateSize: 64, HiddenAct: "gelu", MaxPositionEmbeddings: 24, TypeVocabSize: 2,
		LayerNormEps: 1e-12, PositionEmbeddingType: "absolute", InitializerRange: 0.02,
		BOSTokenID: -1, EOSTokenID: -1,
	}
}

// snapshot copies the values of ps.
func snapshot(ps []*nn.Param) [][]float32 {
	out := make([][]float32, len(ps))
	for i, p := range ps {
		out[i] = slices.Clone(mat.Data[float32](p.Value()))
	}
	return out
}

// TestTrainStep checks what BenchmarkTrainStep times: that the parameter
// traversal (nn.ForEachParam, which the trainer and nn.ZeroGrad use)
// reaches every parameter (encoder and head), that a step updates exactly
// the parameters that got a gradient (every dense parameter and the used
// embedding rows; unused rows untouched) and leaves no gradient behind, and
// that two runs of two steps from the same seed give bit-identical weights
// (the determinism the Fanout rule promises, now through the optimizer).
func TestTrainStep(t *testing.T) {
	const batch, length, labels = 3, 16, 5
	cfg := stepTestConfig()
	ids, y := trainBatch(batch, length, cfg.VocabSize, labels, 7)

	run := func(steps int) ([][]float32, []float32) {
		m, err := newClassifier(cfg, labels, 42)
		if err != nil {
			t.Fatal(err)
		}
		tr := newTrainer(m)
		var losses []float32
		for range steps {
			loss, err := tr.step(ids, y)
			if err != nil {
				t.Fatal(err)
			}
			losses = append(losses, loss)
		}
		return snapshot(append(m.Encoder.Params(), m.Head.W, m.Head.B)), losses
	}

	m, err := newClassifier(cfg, labels, 42)
	if err != nil {
		t.Fatal(err)
	}
	ps := append(m.Encoder.Params(), m.Head.W, m.Head.B)
	var traversed []*nn.Param
	nn.ForEachParam(m, func(p *nn.Param) { traversed = append(traversed, p) })
	if !slices.Equal(traversed, ps) {
		t.Fatalf("nn.ForEachParam visits %d parameters, want the %d of the encoder and head in order", len(traversed), len(ps))
	}

	tr := newTrainer(m)
	before := snapshot(ps)
	if _, err := tr.backward(ids, y); err != nil {
		t.Fatal(err)
	}
	hadGrad := make([]bool, len(ps))
	for i, p := range ps {
		hadGrad[i] = p.HasGrad()
	}
	if err := tr.update(); err != nil {
		t.Fatal(err)
	}
	after := snapshot(ps)

	// Which parameters must have a gradient: all but the embedding rows the
	// batch did not use (word rows not in ids, positions ≥ length, token
	// type 1).
	emb := &m.Encoder.Embeddings
	usedWord := map[int]bool{}
	for _, seq := range ids {
		for _, id := range seq {
			usedWord[id] = true
		}
	}
	nw, np, nt := len(emb.Word), len(emb.Position), len(emb.TokenType)
	for i, p := range ps {
		want := true
		switch {
		case i < nw:
			want = usedWord[i]
		case i < nw+np:
			want = i-nw < length
		case i < nw+np+nt:
			want = i-nw-np == 0
		}
		if hadGrad[i] != want {
			t.Errorf("parameter %d: has gradient %v, want %v", i, hadGrad[i], want)
		}
		if changed := !slices.Equal(before[i], after[i]); changed != hadGrad[i] {
			t.Errorf("parameter %d: changed by the step %v, had a gradient %v", i, changed, hadGrad[i])
		}
		if p.HasGrad() {
			t.Errorf("parameter %d still has a gradient after the step", i)
		}
	}

	w1, l1 := run(2)
	w2, l2 := run(2)
	if !slices.Equal(l1, l2) {
		t.Errorf("losses differ between identical runs: %v vs %v", l1, l2)
	}
	for i := range w1 {
		if !slices.Equal(w1[i], w2[i]) {
			t.Fatalf("parameter %d differs after two steps from the same seed", i)
		}
	}
	// The second step must have done something: the head after one step
	// (m) differs from the head after two (w1).
	if slices.Equal(w1[len(w1)-2], snapshotOne(m.Head.W)) {
		t.Error("head weights identical after one and two steps")
	}
}

// snapshotOne copies the value of one parameter.
func snapshotOne(p *nn.Param) []float32 { return slices.Clone(mat.Data[float32](p.Value())) }
