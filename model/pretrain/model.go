package pretrain

import (
	"fmt"
	"math/rand/v2"

	"github.com/icdcode/icdcode/model/encoder"
	"github.com/icdcode/icdcode/model/kernels"
	"github.com/icdcode/icdcode/model/layers"
	"github.com/icdcode/icdcode/model/train"
	"github.com/nlpodyssey/spago/mat"
	"github.com/nlpodyssey/spago/nn"
)

// Head is BERT's MLM prediction head (BertLMPredictionHead): dense (d × d)
// → GELU → LayerNorm → decoder (d × V) with a bias. The decoder is its own
// parameter, not tied to the word embeddings (see the package
// documentation).
type Head struct {
	Dense   encoder.Linear
	Norm    encoder.Norm
	Decoder encoder.Linear
	Eps     float64
}

// NewHead returns a head for hidden size d and vocabulary v with BERT's
// initialisation from seed: weights normal(0, std), biases 0, gains 1.
func NewHead(d, v int, eps, std float64, seed uint64) *Head {
	rng := rand.New(rand.NewPCG(seed, 0x6d6c6d68656164)) // "mlmhead"
	normal := func(r, c int) *nn.Param {
		w := make([]float32, r*c)
		for i := range w {
			w[i] = float32(rng.NormFloat64() * std)
		}
		return nn.NewParam(mat.NewDense[float32](mat.WithShape(r, c), mat.WithBacking(w)))
	}
	fill := func(c int, x float32) *nn.Param {
		w := make([]float32, c)
		for i := range w {
			w[i] = x
		}
		return nn.NewParam(mat.NewDense[float32](mat.WithShape(1, c), mat.WithBacking(w)))
	}
	return &Head{
		Dense:   encoder.Linear{W: normal(d, d), B: fill(d, 0)},
		Norm:    encoder.Norm{Gamma: fill(d, 1), Beta: fill(d, 0)},
		Decoder: encoder.Linear{W: normal(d, v), B: fill(v, 0)},
		Eps:     eps,
	}
}

// Logits returns the vocabulary logits of the given rows of hidden
// (positions × V). Each parameter is used once and every intermediate
// tensor has one consumer, so the backward pass is deterministic.
func (h *Head) Logits(k kernels.Kernels[float32], hidden mat.Tensor, rows []int) (mat.Tensor, error) {
	x, err := encoder.SelectRows[float32](hidden, rows)
	if err != nil {
		return nil, err
	}
	if x, err = layers.Linear(k, x, h.Dense.W, h.Dense.B); err != nil {
		return nil, err
	}
	if x, err = layers.GELU(k, x); err != nil {
		return nil, err
	}
	if x, err = layers.LayerNorm(k, x, h.Norm.Gamma, h.Norm.Beta, h.Eps); err != nil {
		return nil, err
	}
	return layers.Linear(k, x, h.Decoder.W, h.Decoder.B)
}

// Model is the encoder with its MLM head over a set of windows: the
// train.Model of pretraining.
type Model struct {
	Enc     *encoder.Encoder[float32]
	Head    *Head
	k       kernels.Kernels[float32]
	windows [][]int
	masker  *Masker
	params  []train.Param
}

var _ train.Model = (*Model)(nil)

// NewModel returns the model over windows (each [CLS] … [SEP]).
func NewModel(enc *encoder.Encoder[float32], head *Head, k kernels.Kernels[float32], windows [][]int, m *Masker) (*Model, error) {
	if len(windows) == 0 {
		return nil, fmt.Errorf("pretrain: no training windows")
	}
	named, err := enc.NamedParams()
	if err != nil {
		return nil, err
	}
	ps := make([]train.Param, len(named))
	for i, p := range named {
		ps[i] = train.Param{Name: p.Name, P: p.P}
	}
	for _, p := range []struct {
		name string
		p    *nn.Param
	}{{"mlm.dense.weight", head.Dense.W}, {"mlm.dense.bias", head.Dense.B}, {"mlm.norm.gamma", head.Norm.Gamma},
		{"mlm.norm.beta", head.Norm.Beta}, {"mlm.decoder.weight", head.Decoder.W}, {"mlm.decoder.bias", head.Decoder.B}} {
		ps = append(ps, train.Param{Name: p.name, P: p.p})
	}
	return &Model{Enc: enc, Head: head, k: k, windows: windows, masker: m, params: ps}, nil
}

// Params returns the encoder's parameters (pooler excluded: no task
// trains it) and then the head's.
func (m *Model) Params() []train.Param { return m.params }

// Loss masks window i with draws from rng, runs the encoder in training
// mode (dropout from rng) and returns the mean cross-entropy over the
// chosen positions.
func (m *Model) Loss(i int, rng *rand.Rand) (mat.Tensor, error) {
	if i < 0 || i >= len(m.windows) {
		return nil, fmt.Errorf("pretrain: window %d of %d", i, len(m.windows))
	}
	mk, err := m.masker.Apply(m.windows[i], rng)
	if err != nil {
		return nil, err
	}
	return m.loss(mk, true, rng)
}

func (m *Model) loss(mk Masked, trainMode bool, rng *rand.Rand) (mat.Tensor, error) {
	out, err := m.Enc.Run(m.k, [][]int{mk.Input}, nil, nil, encoder.Options{Train: trainMode, Rng: rng})
	if err != nil {
		return nil, err
	}
	z, err := m.Head.Logits(m.k, out.Hidden, mk.Positions)
	if err != nil {
		return nil, err
	}
	// Only chosen rows reach the head, so no row is ignored; -1 is never
	// a token id.
	return layers.CrossEntropy(m.k, z, mk.Targets, -1)
}

// EvalLoss is the mean cross-entropy over every masked token of windows
// in evaluation mode (no dropout), window j masked with a generator seeded
// by (seed, j): the same windows and seed give the same masking whatever
// the weights, so values of successive epochs are comparable.
func (m *Model) EvalLoss(windows [][]int, seed uint64) (float64, error) {
	var sum float64
	var count int
	for j, w := range windows {
		mk, err := m.masker.Apply(w, rand.New(rand.NewPCG(seed, uint64(j))))
		if err != nil {
			return 0, err
		}
		l, err := m.loss(mk, false, nil)
		if err != nil {
			return 0, fmt.Errorf("pretrain: dev window %d: %w", j, err)
		}
		sum += l.Value().Item().F64() * float64(len(mk.Targets))
		count += len(mk.Targets)
	}
	if count == 0 {
		return 0, fmt.Errorf("pretrain: no dev windows")
	}
	return sum / float64(count), nil
}
