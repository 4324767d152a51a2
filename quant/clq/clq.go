// Package clq is the CLQ joint loss of the reference MSAM system (its
// CLQModel, CLQTrainer and StatefulCallback; msam-reference §6): a
// quantification term that trains the classifier and an MLP quantifier
// together, so that the classifier's probabilities, averaged over a bag of
// training documents, map to the bag's true label prevalences.
//
// # The term
//
// For training document j of the current bag, with logits z_j (1×L) and
// 0/1 targets y_j:
//
//	classes  += y_j,  n += 1,  p_bag = classes/n            (a constant)
//	preds     = detach(preds) + σ(z_j),  PCC = preds/n       (gradient through z_j only)
//	q̂         = σ(σ(PCC·W1 + b1)·W2 + b2)                    (quant/quantify's MLP)
//	term      = λ · mean_l Huber_δ(q̂_l − p_bag,l)
//
// and the training loss is BCEWithLogits_mean(z_j, y_j) + term (λ = 100,
// δ = 0.5 in the reference). The caller adds the BCE: see [Loss.Term].
//
// # Bags
//
// Bags are contiguous runs of the training stream. A bag ends when it holds
// its size in documents, and every epoch starts a new one ([Loss.StartEpoch]),
// which also ends the last bag of the previous epoch. The reference draws
// each size as random.randint(1, N) after seeding Python's generator from
// the wall clock, so its runs cannot be repeated; here the size of bag b of
// epoch e is [BagSize](seed, e, b, N), a pure function, so a run resumed at
// an epoch boundary draws the same sizes as one that never stopped, and the
// bag memory never needs to be checkpointed. A fixed size may be set instead
// ([Config.BagSize]).
//
// The reference also runs compute_loss during evaluation, so validation
// documents leak into its training bags; here only [Loss.Term] calls
// touch the memory, and the caller calls it for training documents only.
//
// # The MLP
//
// The network is exactly quant/quantify's MLP (PCC → Linear(L→H) → sigmoid
// → Linear(H→L) → sigmoid), so it can start from a quantifier written by
// `icdcode quantify train` ([FromQuantifier]) and be saved back in that
// format ([Loss.Quantifier]). Its parameters are *nn.Param of the
// classifier's element type, trained by the same optimizer. They are stored
// in model/layers' Linear layout (in × out): clq.mlp.w1 is L×H, the
// transpose of quantify's W1 (H×L), and clq.mlp.w2 is H×L, the transpose of
// quantify's W2 (L×H); the conversion happens in FromQuantifier and
// Quantifier only.
//
// # Determinism
//
// Each parameter feeds one function per term (one gradient contribution per
// pass) and the logits feed one function of this package, so a term adds
// nothing that breaks model/layers' determinism rule; see [Loss.Term] for
// what that asks of the caller.
package clq

import (
	"fmt"
	"math"
	"math/bits"
	"math/rand/v2"

	"github.com/icdcode/icdcode/model/agfn"
	"github.com/icdcode/icdcode/model/kernels"
	"github.com/icdcode/icdcode/model/layers"
	"github.com/icdcode/icdcode/quant/quantify"
	"github.com/nlpodyssey/spago/mat"
	"github.com/nlpodyssey/spago/mat/float"
	"github.com/nlpodyssey/spago/nn"
)

// bagStream is the PCG stream of the bag sizes ("icdclqbg"), distinct from
// quant/quantify's streams so that one seed may serve the MLP and the bags.
const bagStream = 0x696364636c716267

// Config holds the term's hyper-parameters; see DefaultConfig.
type Config struct {
	// Lambda is the weight λ of the quantification term, ≥ 0.
	Lambda float64
	// Delta is the Huber threshold δ, > 0.
	Delta float64
	// Hidden is the MLP's hidden size for New. FromQuantifier takes the
	// quantifier's own size and only checks it against Hidden when Hidden
	// is non-zero.
	Hidden int
	// BagSize, when > 0, is the size of every bag (the last bag of an epoch
	// may be shorter); 0 draws each bag's size uniformly from [1, N], N the
	// number of training documents, as the reference does.
	BagSize int
	// Seed seeds the bag sizes and, in New, the MLP's initialisation (the
	// same initialisation quantify.TrainMLP makes from that seed).
	Seed uint64
}

// DefaultConfig is the reference's: λ = 100, δ = 0.5, hidden 32 (its
// MIMIC-III-50 size; it uses 3072 for the full label set), random bag
// sizes, seed 888.
func DefaultConfig() Config {
	return Config{Lambda: 100, Delta: 0.5, Hidden: 32, Seed: 888}
}

func (c Config) validate() error {
	switch {
	case !(c.Lambda >= 0) || math.IsInf(c.Lambda, 0):
		return fmt.Errorf("clq: lambda = %v, want a finite number ≥ 0", c.Lambda)
	case !(c.Delta > 0) || math.IsInf(c.Delta, 0):
		return fmt.Errorf("clq: Huber delta = %v, want a finite number > 0", c.Delta)
	case c.Hidden < 0:
		return fmt.Errorf("clq: hidden size %d, want ≥ 1", c.Hidden)
	case c.BagSize < 0:
		return fmt.Errorf("clq: bag size %d, want ≥ 1, or 0 for random sizes", c.BagSize)
	}
	return nil
}

// NamedParam is a parameter with a stable name.
type NamedParam struct {
	Name string
	P    *nn.Param
}

// Loss is the CLQ term with its MLP and its bag memory, for element type T
// (float32 in training; float64 in the gradient checks). It is not safe for
// concurrent use: documents of one training stream go through it in order.
type Loss[T float.DType] struct {
	cfg    Config
	labels int
	docs   int // training documents per epoch (N)

	w1, b1, w2, b2 *nn.Param // (L, H), (1, H), (H, L), (1, L)

	// Bag memory. bag is −1 and size 0 before an epoch's first document,
	// so that the first Term opens bag 0.
	epoch, bag, size, n int
	classes             []float64 // Σ y over the bag
	preds               []float64 // Σ σ(z) over the bag, detached
}

// New returns the term for labels labels and trainDocs training documents
// per epoch, with a fresh MLP of cfg.Hidden units initialised from cfg.Seed
// as quant/quantify initialises one (torch.nn.Linear's default).
func New[T float.DType](cfg Config, labels, trainDocs int) (*Loss[T], error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if cfg.Hidden < 1 {
		return nil, fmt.Errorf("clq: hidden size %d, want ≥ 1", cfg.Hidden)
	}
	m, err := quantify.NewMLP(labels, cfg.Hidden, cfg.Seed)
	if err != nil {
		return nil, fmt.Errorf("clq: %w", err)
	}
	return FromQuantifier[T](cfg, m, trainDocs)
}

// FromQuantifier returns the term with its MLP starting from m (for
// example one read by quantify.LoadMLP), converted to T; m is not retained.
func FromQuantifier[T float.DType](cfg Config, m *quantify.MLP, trainDocs int) (*Loss[T], error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if m == nil {
		return nil, fmt.Errorf("clq: no quantifier")
	}
	if err := checkMLP(m); err != nil {
		return nil, err
	}
	if cfg.Hidden != 0 && cfg.Hidden != m.H {
		return nil, fmt.Errorf("clq: the quantifier has %d hidden units, the configuration asks for %d", m.H, cfg.Hidden)
	}
	if trainDocs < 1 {
		return nil, fmt.Errorf("clq: %d training documents, want ≥ 1", trainDocs)
	}
	cfg.Hidden = m.H
	l, h := m.L, m.H
	q := &Loss[T]{cfg: cfg, labels: l, docs: trainDocs,
		w1: param[T](l, h, transpose(m.W1, h, l)), b1: param[T](1, h, m.B1),
		w2: param[T](h, l, transpose(m.W2, l, h)), b2: param[T](1, l, m.B2)}
	q.StartEpoch(0)
	return q, nil
}

// checkMLP checks m's shapes and that its weights are finite: a quantifier
// built in memory has not been through LoadMLP's checks.
func checkMLP(m *quantify.MLP) error {
	if m.L < 1 || m.H < 1 || len(m.W1) != m.H*m.L || len(m.B1) != m.H || len(m.W2) != m.L*m.H || len(m.B2) != m.L {
		return fmt.Errorf("clq: quantifier shapes do not match %d labels × %d hidden", m.L, m.H)
	}
	for _, s := range [][]float64{m.W1, m.B1, m.W2, m.B2} {
		for _, v := range s {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return fmt.Errorf("clq: quantifier has a non-finite weight %v", v)
			}
		}
	}
	return nil
}

// transpose returns the c×r transpose of the r×c row-major matrix a.
func transpose(a []float64, r, c int) []float64 {
	t := make([]float64, len(a))
	for i := 0; i < r; i++ {
		for j := 0; j < c; j++ {
			t[j*r+i] = a[i*c+j]
		}
	}
	return t
}

// param returns an r×c parameter holding v converted to T.
func param[T float.DType](r, c int, v []float64) *nn.Param {
	s := make([]T, len(v))
	for i, x := range v {
		s[i] = T(x)
	}
	return nn.NewParam(agfn.NewMatrix(r, c, s))
}

// Labels returns the number of labels L.
func (l *Loss[T]) Labels() int { return l.labels }

// Config returns the configuration, with Hidden set to the MLP's size.
func (l *Loss[T]) Config() Config { return l.cfg }

// Params returns the MLP's parameters in a fixed order with stable names,
// for the classifier's optimizer and checkpoints (shapes in the package
// documentation).
func (l *Loss[T]) Params() []NamedParam {
	return []NamedParam{{"clq.mlp.w1", l.w1}, {"clq.mlp.b1", l.b1}, {"clq.mlp.w2", l.w2}, {"clq.mlp.b2", l.b2}}
}

// Quantifier returns a float64 copy of the MLP in quant/quantify's layout,
// to save with its Save method (the reference's clq-mlp.pth) or to run as
// a quantifier.
func (l *Loss[T]) Quantifier() *quantify.MLP {
	L, H := l.labels, l.cfg.Hidden
	return &quantify.MLP{L: L, H: H,
		W1: transpose(values[T](l.w1), L, H), B1: values[T](l.b1),
		W2: transpose(values[T](l.w2), H, L), B2: values[T](l.b2)}
}

// values returns p's values as float64.
func values[T float.DType](p *nn.Param) []float64 {
	s := agfn.Data[T](p)
	v := make([]float64, len(s))
	for i, x := range s {
		v[i] = float64(x)
	}
	return v
}

// BagSize returns the size of bag bag (0-based) of epoch epoch for n
// training documents under seed: 1 + ⌊u·n/2⁶⁴⌋, u the first output of a
// PCG seeded with (seed, a mix of bagStream, epoch and bag). It depends on
// nothing else, so every run draws the same sizes.
func BagSize(seed uint64, epoch, bag, n int) int {
	if n < 1 {
		return 1
	}
	stream := splitmix(splitmix(bagStream^uint64(epoch)) ^ uint64(bag))
	u := rand.NewPCG(seed, stream).Uint64()
	hi, _ := bits.Mul64(u, uint64(n))
	return 1 + int(hi)
}

// splitmix is SplitMix64's finaliser, a bijection that spreads the bits of
// (epoch, bag) so that neighbouring pairs get unrelated PCG streams.
func splitmix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// StartEpoch empties the bag memory and starts the bags of epoch epoch
// (any integer; use the trainer's index, the one model/train.Order takes,
// so that a resumed run numbers its epochs as an uninterrupted one). Call it
// before each epoch's first training document; it also ends the previous
// epoch's last bag, as the reference's reset at epoch end and begin.
func (l *Loss[T]) StartEpoch(epoch int) {
	l.epoch, l.bag, l.size, l.n = epoch, -1, 0, 0
	l.classes = make([]float64, l.labels)
	l.preds = make([]float64, l.labels)
}

// Bag describes the bag memory.
type Bag struct {
	Epoch int // the epoch set by StartEpoch
	Index int // the current bag within the epoch, −1 before the epoch's first document
	Size  int // its size (documents it will hold), 0 before the first document
	Docs  int // documents it holds so far
}

// Bag returns the state of the bag memory.
func (l *Loss[T]) Bag() Bag { return Bag{l.epoch, l.bag, l.size, l.n} }

// drawSize returns the size of bag bag of the current epoch.
func (l *Loss[T]) drawSize(bag int) int {
	if l.cfg.BagSize > 0 {
		return l.cfg.BagSize
	}
	return BagSize(l.cfg.Seed, l.epoch, bag, l.docs)
}

// Term adds training document j (logits z: 1×L; targets y: L values in
// [0, 1]) to the bag memory and returns the scalar λ·mean Huber_δ(q̂, p_bag)
// on the autograd graph, with gradients to z and to the MLP's parameters.
//
// Term updates the memory itself, as the reference's forward pass does:
// the memory depends only on forward values, so there is nothing to commit
// after backward, and a separate commit step would only add a way to feed a
// document twice or not at all. It checks every input before touching the
// memory, so an error leaves the memory as it was; a document whose term
// succeeded stays in the memory even if the caller's loss then fails (the
// trainer stops on such an error, and a resumed run restarts the epoch
// with StartEpoch). Call it once per training document, in stream order,
// and never for evaluation documents.
//
// Gradient use: Term feeds z to exactly one function, and the MLP's
// parameters to one each. z may therefore also feed the caller's BCE
// directly when z is a node created in this pass (the head's logits: two
// contributions to a fresh node are summed in a fixed order); if z feeds
// more functions than that, or is a parameter or a leaf that already holds
// a gradient, pass one output of layers.Fanout instead. Documents of
// earlier calls are constants in the memory, so each ag.Backward reaches
// only the current document's graph.
//
//	loss := BCE(z, y) + term   // built by the caller, then ag.Backward(loss)
func (l *Loss[T]) Term(k kernels.Kernels[T], z mat.Tensor, y []T) (mat.Tensor, error) {
	if k == nil {
		return nil, fmt.Errorf("clq: no kernels")
	}
	if err := agfn.CheckType[T]("clq: logits", z); err != nil {
		return nil, err
	}
	if r, c := agfn.Dims(z); r != 1 || c != l.labels {
		return nil, fmt.Errorf("clq: logits are %d×%d, want 1×%d", r, c, l.labels)
	}
	if len(y) != l.labels {
		return nil, fmt.Errorf("clq: %d targets for %d labels", len(y), l.labels)
	}
	zs := agfn.Data[T](z)
	for i, v := range zs {
		if f := float64(v); math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, fmt.Errorf("clq: logit %d is %v", i, f)
		}
	}
	for i, v := range y {
		if f := float64(v); !(f >= 0 && f <= 1) {
			return nil, fmt.Errorf("clq: target %d is %v, want a number in [0, 1]", i, f)
		}
	}

	// The memory after this document, built aside and committed at the end.
	bag, size, n := l.bag, l.size, l.n
	classes, preds := l.classes, l.preds
	if n >= size {
		bag++
		size = l.drawSize(bag)
		n = 0
		classes, preds = make([]float64, l.labels), make([]float64, l.labels)
	}
	n++
	newClasses := make([]float64, l.labels)
	target := make([]T, l.labels)
	for i, v := range y {
		newClasses[i] = classes[i] + float64(v)
		target[i] = T(newClasses[i] / float64(n))
	}

	pf := &pccFn[T]{z: z, base: preds, n: float64(n)}
	pcc := agfn.Run(pf)
	q, err := l.mlp(k, pcc)
	if err != nil {
		return nil, err
	}
	hub, err := layers.Huber[T](q, agfn.NewMatrix(1, l.labels, target), l.cfg.Delta, layers.Mean)
	if err != nil {
		return nil, err
	}
	term := agfn.Run(&scaleFn[T]{x: hub, c: l.cfg.Lambda})

	newPreds := make([]float64, l.labels)
	for i, s := range pf.sig {
		newPreds[i] = preds[i] + s
	}
	l.bag, l.size, l.n, l.classes, l.preds = bag, size, n, newClasses, newPreds
	return term, nil
}

// mlp returns q̂ = σ(σ(x·w1 + b1)·w2 + b2) for x: 1×L.
func (l *Loss[T]) mlp(k kernels.Kernels[T], x mat.Tensor) (mat.Tensor, error) {
	a, err := layers.Linear(k, x, l.w1, l.b1)
	if err != nil {
		return nil, err
	}
	h, err := layers.Sigmoid[T](a)
	if err != nil {
		return nil, err
	}
	o, err := layers.Linear(k, h, l.w2, l.b2)
	if err != nil {
		return nil, err
	}
	return layers.Sigmoid[T](o)
}
