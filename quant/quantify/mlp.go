package quantify

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"

	"github.com/icdcode/icdcode/data/fileio"
)

// mlpStream is the PCG stream of the MLP's initialisation, split and shuffles,
// distinct from the bags' so that one seed may serve both.
const mlpStream = 0x6963646d6c703031 // "icdmlp01"

// MLPConfig holds the MLP quantifier's hyper-parameters; see DefaultMLPConfig.
type MLPConfig struct {
	Hidden          int     `json:"hidden"`
	HuberDelta      float64 `json:"huber_delta"`
	LR              float64 `json:"lr"`
	Beta1           float64 `json:"beta1"`
	Beta2           float64 `json:"beta2"`
	Eps             float64 `json:"eps"`
	WeightDecay     float64 `json:"weight_decay"`
	BatchSize       int     `json:"batch_size"`
	MaxEpochs       int     `json:"max_epochs"`
	Patience        int     `json:"patience"`
	HeldOutFraction float64 `json:"held_out_fraction"`
	Seed            uint64  `json:"seed"`
}

// DefaultMLPConfig follows the reference (§5): hidden 32, Huber delta 0.5,
// AdamW lr 2e-4, batch 32, patience 5, seed 888; torch's AdamW betas, eps and
// weight decay; at most 300 epochs (the reference README's example) with 20%
// of the training bags held out for early stopping.
func DefaultMLPConfig() MLPConfig {
	return MLPConfig{Hidden: 32, HuberDelta: 0.5, LR: 2e-4, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8,
		WeightDecay: 0.01, BatchSize: 32, MaxEpochs: 300, Patience: 5, HeldOutFraction: 0.2, Seed: 888}
}

func (c MLPConfig) validate() error {
	bad := func(name string, v any) error { return fmt.Errorf("quantify: MLP config: bad %s %v", name, v) }
	finitePos := func(x float64) bool { return x > 0 && !math.IsInf(x, 0) }
	switch {
	case c.Hidden < 1:
		return bad("hidden size", c.Hidden)
	case !finitePos(c.HuberDelta):
		return bad("Huber delta", c.HuberDelta)
	case !finitePos(c.LR):
		return bad("learning rate", c.LR)
	case !(c.Beta1 >= 0 && c.Beta1 < 1):
		return bad("beta1", c.Beta1)
	case !(c.Beta2 >= 0 && c.Beta2 < 1):
		return bad("beta2", c.Beta2)
	case !finitePos(c.Eps):
		return bad("eps", c.Eps)
	case !(c.WeightDecay >= 0 && c.WeightDecay*c.LR < 1):
		return bad("weight decay", c.WeightDecay)
	case c.BatchSize < 1:
		return bad("batch size", c.BatchSize)
	case c.MaxEpochs < 1:
		return bad("max epochs", c.MaxEpochs)
	case c.Patience < 1:
		return bad("patience", c.Patience)
	case !(c.HeldOutFraction > 0 && c.HeldOutFraction < 1):
		return fmt.Errorf("quantify: MLP config: held-out fraction %v, want in (0,1): early stopping needs held-out bags", c.HeldOutFraction)
	}
	return nil
}

// MLP is the trained quantifier: PCC vector → sigmoid hidden → sigmoid
// prevalences. W1 is Hidden×L (row-major), W2 is L×Hidden.
type MLP struct {
	L, H   int
	W1, B1 []float64
	W2, B2 []float64
}

// mlpFile is the JSON save format; float64 survives encoding/json exactly
// (shortest round-trip formatting), so a loaded MLP answers bit for bit.
type mlpFile struct {
	Format string    `json:"format"`
	Labels int       `json:"labels"`
	Hidden int       `json:"hidden"`
	W1     []float64 `json:"w1"`
	B1     []float64 `json:"b1"`
	W2     []float64 `json:"w2"`
	B2     []float64 `json:"b2"`
}

const mlpFormat = "icdcode-mlp-quantifier-v1"

func newMLP(l, h int, rng *rand.Rand) *MLP {
	m := &MLP{L: l, H: h, W1: make([]float64, h*l), B1: make([]float64, h), W2: make([]float64, l*h), B2: make([]float64, l)}
	// torch.nn.Linear's default: U(−1/√fan_in, 1/√fan_in) for weights and bias.
	fill := func(v []float64, fanIn int) {
		a := 1 / math.Sqrt(float64(fanIn))
		for i := range v {
			v[i] = (2*rng.Float64() - 1) * a
		}
	}
	fill(m.W1, l)
	fill(m.B1, l)
	fill(m.W2, h)
	fill(m.B2, h)
	return m
}

// NewMLP returns an untrained MLP quantifier initialised exactly as
// TrainMLP initialises it with the same seed (torch.nn.Linear's default),
// for callers that train the network elsewhere (quant/clq trains it jointly
// with the classifier and saves it back in this package's format).
func NewMLP(labels, hidden int, seed uint64) (*MLP, error) {
	if labels < 1 || hidden < 1 {
		return nil, fmt.Errorf("quantify: new MLP: %d labels and %d hidden units, want ≥ 1 each", labels, hidden)
	}
	return newMLP(labels, hidden, rand.New(rand.NewPCG(seed, mlpStream))), nil
}

func (m *MLP) Name() string { return "MLP" }
func (m *MLP) Labels() int  { return m.L }

// params lists the parameter slices in a fixed order (optimizer state and
// gradients use the same order).
func (m *MLP) params() [][]float64 { return [][]float64{m.W1, m.B1, m.W2, m.B2} }

func (m *MLP) clone() *MLP {
	c := &MLP{L: m.L, H: m.H}
	c.W1 = append([]float64(nil), m.W1...)
	c.B1 = append([]float64(nil), m.B1...)
	c.W2 = append([]float64(nil), m.W2...)
	c.B2 = append([]float64(nil), m.B2...)
	return c
}

func sigmoid(x float64) float64 {
	if x >= 0 {
		return 1 / (1 + math.Exp(-x))
	}
	e := math.Exp(x)
	return e / (1 + e)
}

// forward fills h (H) and y (L) for input x (L).
func (m *MLP) forward(x, h, y []float64) {
	for i := 0; i < m.H; i++ {
		s := m.B1[i]
		w := m.W1[i*m.L : (i+1)*m.L]
		for j, v := range x {
			s += w[j] * v
		}
		h[i] = sigmoid(s)
	}
	for j := 0; j < m.L; j++ {
		s := m.B2[j]
		w := m.W2[j*m.H : (j+1)*m.H]
		for i, v := range h {
			s += w[i] * v
		}
		y[j] = sigmoid(s)
	}
}

// Predict maps a PCC vector to prevalences.
func (m *MLP) Predict(pcc []float64) ([]float64, error) {
	if len(pcc) != m.L {
		return nil, fmt.Errorf("quantify: MLP input has %d values, want %d", len(pcc), m.L)
	}
	y := make([]float64, m.L)
	m.forward(pcc, make([]float64, m.H), y)
	return y, nil
}

// Quantify computes the bag's PCC vector and maps it through the network.
func (m *MLP) Quantify(bag [][]float64) ([]float64, error) {
	labels, err := checkBag(bag, m.L)
	if err != nil {
		return nil, err
	}
	return m.Predict(meanProb(bag, labels))
}

func huber(r, delta float64) (loss, grad float64) {
	if a := math.Abs(r); a <= delta {
		return 0.5 * r * r, r
	}
	if r > 0 {
		return delta * (r - 0.5*delta), delta
	}
	return delta * (-r - 0.5*delta), -delta
}

// batchLoss returns the mean over the bags idx of the Huber loss summed over
// labels; when grads is non-nil (same layout as params) it adds the gradient.
func (m *MLP) batchLoss(x, t [][]float64, idx []int, delta float64, grads [][]float64) float64 {
	h := make([]float64, m.H)
	y := make([]float64, m.L)
	dz2 := make([]float64, m.L)
	dh := make([]float64, m.H)
	inv := 1 / float64(len(idx))
	var total float64
	for _, b := range idx {
		m.forward(x[b], h, y)
		for j := range y {
			l, g := huber(y[j]-t[b][j], delta)
			total += l
			dz2[j] = g * y[j] * (1 - y[j]) * inv
		}
		if grads == nil {
			continue
		}
		gW1, gB1, gW2, gB2 := grads[0], grads[1], grads[2], grads[3]
		clear(dh)
		for j, d := range dz2 {
			w := m.W2[j*m.H : (j+1)*m.H]
			gw := gW2[j*m.H : (j+1)*m.H]
			for i, hv := range h {
				gw[i] += d * hv
				dh[i] += d * w[i]
			}
			gB2[j] += d
		}
		for i, d := range dh {
			d *= h[i] * (1 - h[i])
			gw := gW1[i*m.L : (i+1)*m.L]
			for j, xv := range x[b] {
				gw[j] += d * xv
			}
			gB1[i] += d
		}
	}
	return total * inv
}

// adamW is torch.optim.AdamW's update on a list of parameter slices.
type adamW struct {
	cfg  MLPConfig
	m, v [][]float64
	step int
}

func newAdamW(params [][]float64, cfg MLPConfig) *adamW {
	o := &adamW{cfg: cfg}
	for _, p := range params {
		o.m = append(o.m, make([]float64, len(p)))
		o.v = append(o.v, make([]float64, len(p)))
	}
	return o
}

func (o *adamW) update(params, grads [][]float64) {
	o.step++
	c := o.cfg
	bc1 := 1 - math.Pow(c.Beta1, float64(o.step))
	bc2 := 1 - math.Pow(c.Beta2, float64(o.step))
	for k, p := range params {
		g, m, v := grads[k], o.m[k], o.v[k]
		for i := range p {
			p[i] *= 1 - c.LR*c.WeightDecay
			m[i] = c.Beta1*m[i] + (1-c.Beta1)*g[i]
			v[i] = c.Beta2*v[i] + (1-c.Beta2)*g[i]*g[i]
			p[i] -= c.LR * (m[i] / bc1) / (math.Sqrt(v[i]/bc2) + c.Eps)
		}
	}
}

// TrainReport records an MLP training run.
type TrainReport struct {
	Epochs       int       `json:"epochs"`        // epochs run
	BestEpoch    int       `json:"best_epoch"`    // 1-based epoch of the kept parameters
	StoppedEarly bool      `json:"stopped_early"` // patience ran out before MaxEpochs
	TrainBags    int       `json:"train_bags"`
	HeldOutBags  int       `json:"held_out_bags"`
	TrainLoss    []float64 `json:"train_loss"`    // mean per-bag loss over each epoch's mini-batches
	HeldOutLoss  []float64 `json:"held_out_loss"` // mean per-bag loss on the held-out bags after each epoch
}

// BagFeatures returns, for each bag, its PCC vector from probs and its true
// prevalence: the MLP's inputs and targets.
func BagFeatures(probs [][]float64, bags []Bag) (x, t [][]float64, err error) {
	if len(bags) == 0 {
		return nil, nil, fmt.Errorf("quantify: no bags")
	}
	for b, bag := range bags {
		for _, i := range bag.Indices {
			if i < 0 || i >= len(probs) {
				return nil, nil, fmt.Errorf("quantify: bag %d: document index %d outside the %d rows", b, i, len(probs))
			}
		}
		p, err := PCC{}.Quantify(rows(probs, bag.Indices))
		if err != nil {
			return nil, nil, fmt.Errorf("quantify: bag %d: %w", b, err)
		}
		if len(bag.Prevalence) != len(p) {
			return nil, nil, fmt.Errorf("quantify: bag %d has %d prevalences for %d labels", b, len(bag.Prevalence), len(p))
		}
		x = append(x, p)
		t = append(t, bag.Prevalence)
	}
	return x, t, nil
}

// TrainMLP fits the MLP quantifier on bag features x (PCC vectors) and
// targets t (true prevalences), with early stopping on held-out bags.
func TrainMLP(x, t [][]float64, cfg MLPConfig) (*MLP, *TrainReport, error) {
	if err := cfg.validate(); err != nil {
		return nil, nil, err
	}
	if len(x) == 0 || len(x) != len(t) {
		return nil, nil, fmt.Errorf("quantify: MLP training: %d inputs, %d targets", len(x), len(t))
	}
	l := len(x[0])
	if l == 0 {
		return nil, nil, fmt.Errorf("quantify: MLP training: inputs have no labels")
	}
	for b := range x {
		if len(x[b]) != l || len(t[b]) != l {
			return nil, nil, fmt.Errorf("quantify: MLP training: bag %d has %d inputs and %d targets, want %d", b, len(x[b]), len(t[b]), l)
		}
		for j := 0; j < l; j++ {
			for _, v := range [2]float64{x[b][j], t[b][j]} {
				if math.IsNaN(v) || v < 0 || v > 1 {
					return nil, nil, fmt.Errorf("quantify: MLP training: bag %d, label %d: value %v, want a number in [0,1]", b, j, v)
				}
			}
		}
	}
	held := int(math.Round(cfg.HeldOutFraction * float64(len(x))))
	held = max(held, 1)
	if held >= len(x) {
		return nil, nil, fmt.Errorf("quantify: MLP training: %d bags leave none to train on after holding out %d", len(x), held)
	}
	rng := rand.New(rand.NewPCG(cfg.Seed, mlpStream))
	m := newMLP(l, cfg.Hidden, rng)
	order := rng.Perm(len(x))
	heldIdx, trainIdx := order[:held], append([]int(nil), order[held:]...)

	params := m.params()
	grads := make([][]float64, len(params))
	for k, p := range params {
		grads[k] = make([]float64, len(p))
	}
	opt := newAdamW(params, cfg)
	rep := &TrainReport{TrainBags: len(trainIdx), HeldOutBags: held}
	best, bestLoss, since := m.clone(), math.Inf(1), 0
	for epoch := 1; epoch <= cfg.MaxEpochs; epoch++ {
		rng.Shuffle(len(trainIdx), func(i, j int) { trainIdx[i], trainIdx[j] = trainIdx[j], trainIdx[i] })
		var sum float64
		for s := 0; s < len(trainIdx); s += cfg.BatchSize {
			batch := trainIdx[s:min(s+cfg.BatchSize, len(trainIdx))]
			for _, g := range grads {
				clear(g)
			}
			sum += m.batchLoss(x, t, batch, cfg.HuberDelta, grads) * float64(len(batch))
			opt.update(params, grads)
		}
		hl := m.batchLoss(x, t, heldIdx, cfg.HuberDelta, nil)
		if math.IsNaN(hl) || math.IsInf(hl, 0) {
			return nil, nil, fmt.Errorf("quantify: MLP training diverged at epoch %d (held-out loss %v)", epoch, hl)
		}
		rep.Epochs = epoch
		rep.TrainLoss = append(rep.TrainLoss, sum/float64(len(trainIdx)))
		rep.HeldOutLoss = append(rep.HeldOutLoss, hl)
		if hl < bestLoss {
			best, bestLoss, since, rep.BestEpoch = m.clone(), hl, 0, epoch
			continue
		}
		if since++; since >= cfg.Patience {
			rep.StoppedEarly = epoch < cfg.MaxEpochs
			break
		}
	}
	return best, rep, nil
}

// Save writes the MLP as JSON, atomically.
func (m *MLP) Save(path string) error {
	f := mlpFile{Format: mlpFormat, Labels: m.L, Hidden: m.H, W1: m.W1, B1: m.B1, W2: m.W2, B2: m.B2}
	return fileio.WriteAtomic(path, func(w io.Writer) error { return json.NewEncoder(w).Encode(f) })
}

// LoadMLP reads a file written by Save and checks its shapes and values.
func LoadMLP(path string) (*MLP, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("quantify: load MLP: %w", err)
	}
	var f mlpFile
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("quantify: load MLP %s: %w", path, err)
	}
	if f.Format != mlpFormat {
		return nil, fmt.Errorf("quantify: load MLP %s: format %q, want %q", path, f.Format, mlpFormat)
	}
	if f.Labels < 1 || f.Hidden < 1 || len(f.W1) != f.Hidden*f.Labels || len(f.B1) != f.Hidden ||
		len(f.W2) != f.Labels*f.Hidden || len(f.B2) != f.Labels {
		return nil, fmt.Errorf("quantify: load MLP %s: shapes do not match %d labels × %d hidden", path, f.Labels, f.Hidden)
	}
	// JSON has no NaN or Inf, and numbers beyond float64 fail to decode, so
	// every weight that decoded is finite.
	return &MLP{L: f.Labels, H: f.Hidden, W1: f.W1, B1: f.B1, W2: f.W2, B2: f.B2}, nil
}
