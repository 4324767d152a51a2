package med2vec

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// Data is a visit file in the reference's layout (reference doc §1.8).
type Data struct {
	// Seqs has one row per visit, a list of code indices in [0, N), with
	// []int{-1} rows separating patients.
	Seqs [][]int
	// Labels, optional, has the grouped codes in [0, K) of each visit,
	// row-aligned with Seqs (separators at the same rows). When set, the
	// visit-level loss predicts these instead of the input codes.
	Labels [][]int
	// Demo, optional, has Config.DemoSize values per row of Seqs
	// (separator rows included; their values do not affect training).
	Demo [][]float64
}

// Config holds the reference's options (med2vec.py parse_arguments, reference
// doc §1.7) and the icdcode additions. DefaultConfig gives the reference's
// command-line defaults.
type Config struct {
	NumInputCodes  int // N (positional n_input_codes); required
	NumOutputCodes int // K (--n_output_codes); 0 = predict input codes (K = N); required with Labels
	EmbSize        int // E (--cr_size), default 200
	VisitSize      int // H (--vr_size), default 200
	DemoSize       int // D (--demo_size), default 0
	BatchSize      int // rows per batch, separators included (--batch_size), default 1000
	Epochs         int // --n_epoch, default 10
	// WindowSize is the visit-level window (--window_size), default 1. The
	// reference accepts 1–5; any value ≥ 1 is accepted here (see package doc).
	WindowSize int
	L2Emb      float64 // --L2_reg on W_emb, default 0.001 (cost λ·ΣW², no ½)
	L2Hidden   float64 // extension: same form on W_hidden, default 0 (reference: none)
	L2Output   float64 // extension: same form on W_output, default 0 (reference: none)
	LogEps     float64 // --log_eps inside every log, default 1e-8
	Rho        float64 // Adadelta decay, 0.95 (hard-coded in the reference)
	AdaEps     float64 // Adadelta epsilon, 1e-6 (hard-coded in the reference)
	Seed       uint64  // initialisation and batch order; the reference is unseeded
	// PatientBatches forms batches of whole patients (icdcode extension,
	// reference doc §9): consecutive patients are packed greedily into
	// batches of at most BatchSize rows, so that no patient is cut at a
	// batch boundary and loses its pairs there; a single patient longer
	// than BatchSize is still cut into BatchSize-row pieces. Off (the
	// reference): contiguous slices of BatchSize rows.
	PatientBatches bool
	// Faithful adds the reference's masked-pair constant (Costs.Masked) to
	// the reported visit and total costs. Gradients do not depend on it.
	Faithful bool
	// Verbose writes the running batch cost every 10 batches (--verbose).
	Verbose bool
}

// DefaultConfig returns the reference's command-line defaults for n input
// codes.
func DefaultConfig(numInputCodes int) Config {
	return Config{
		NumInputCodes: numInputCodes,
		EmbSize:       200,
		VisitSize:     200,
		BatchSize:     1000,
		Epochs:        10,
		WindowSize:    1,
		L2Emb:         0.001,
		LogEps:        1e-8,
		Rho:           0.95,
		AdaEps:        1e-6,
	}
}

// numOutputs returns K.
func (c *Config) numOutputs() int {
	if c.NumOutputCodes == 0 {
		return c.NumInputCodes
	}
	return c.NumOutputCodes
}

func (c *Config) validate(hasLabels bool) error {
	switch {
	case c.NumInputCodes <= 0:
		return fmt.Errorf("med2vec: NumInputCodes must be > 0, got %d", c.NumInputCodes)
	case c.NumOutputCodes < 0:
		return fmt.Errorf("med2vec: NumOutputCodes must be ≥ 0, got %d", c.NumOutputCodes)
	case hasLabels && c.NumOutputCodes == 0:
		return errors.New("med2vec: Labels given but NumOutputCodes is 0")
	case !hasLabels && c.NumOutputCodes != 0 && c.NumOutputCodes != c.NumInputCodes:
		return fmt.Errorf("med2vec: NumOutputCodes %d without Labels (the input codes are predicted, K = N = %d)", c.NumOutputCodes, c.NumInputCodes)
	case c.EmbSize <= 0 || c.VisitSize <= 0:
		return fmt.Errorf("med2vec: EmbSize and VisitSize must be > 0, got %d and %d", c.EmbSize, c.VisitSize)
	case c.DemoSize < 0:
		return fmt.Errorf("med2vec: DemoSize must be ≥ 0, got %d", c.DemoSize)
	case c.BatchSize <= 0:
		return fmt.Errorf("med2vec: BatchSize must be > 0, got %d", c.BatchSize)
	case c.Epochs < 0:
		return fmt.Errorf("med2vec: Epochs must be ≥ 0, got %d", c.Epochs)
	case c.WindowSize < 1:
		return fmt.Errorf("med2vec: WindowSize must be ≥ 1, got %d", c.WindowSize)
	case !(c.L2Emb >= 0) || !(c.L2Hidden >= 0) || !(c.L2Output >= 0):
		return errors.New("med2vec: L2 weights must be ≥ 0")
	case !(c.LogEps > 0):
		return fmt.Errorf("med2vec: LogEps must be > 0, got %g", c.LogEps)
	case !(c.Rho > 0 && c.Rho < 1):
		return fmt.Errorf("med2vec: Rho must be in (0, 1), got %g", c.Rho)
	case !(c.AdaEps > 0):
		return fmt.Errorf("med2vec: AdaEps must be > 0, got %g", c.AdaEps)
	}
	return nil
}

// isSep reports whether a visit-file row is a patient separator.
func isSep(row []int) bool { return len(row) == 1 && row[0] == -1 }

// validateData checks the rows against cfg; errors name the row.
func validateData(d *Data, cfg *Config) error {
	if len(d.Seqs) == 0 {
		return errors.New("med2vec: Seqs is empty")
	}
	n, k := cfg.NumInputCodes, cfg.numOutputs()
	for r, row := range d.Seqs {
		if isSep(row) {
			continue
		}
		for _, c := range row {
			if c < 0 || c >= n {
				return fmt.Errorf("med2vec: Seqs row %d: code %d out of range [0, %d) (a separator row must be exactly [-1])", r, c, n)
			}
		}
	}
	if d.Labels != nil {
		if len(d.Labels) != len(d.Seqs) {
			return fmt.Errorf("med2vec: Labels has %d rows, Seqs %d", len(d.Labels), len(d.Seqs))
		}
		for r, row := range d.Labels {
			if sep := isSep(row); sep != isSep(d.Seqs[r]) {
				return fmt.Errorf("med2vec: Labels row %d: separator in only one of Seqs and Labels", r)
			} else if sep {
				continue
			}
			for _, c := range row {
				if c < 0 || c >= k {
					return fmt.Errorf("med2vec: Labels row %d: code %d out of range [0, %d)", r, c, k)
				}
			}
		}
	}
	if cfg.DemoSize == 0 {
		if d.Demo != nil {
			return errors.New("med2vec: Demo given but DemoSize is 0")
		}
		return nil
	}
	if len(d.Demo) != len(d.Seqs) {
		return fmt.Errorf("med2vec: Demo has %d rows, Seqs %d", len(d.Demo), len(d.Seqs))
	}
	for r, row := range d.Demo {
		if len(row) != cfg.DemoSize {
			return fmt.Errorf("med2vec: Demo row %d has %d values, DemoSize is %d", r, len(row), cfg.DemoSize)
		}
		for _, v := range row {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return fmt.Errorf("med2vec: Demo row %d: non-finite value %g", r, v)
			}
		}
	}
	return nil
}

// Model holds the six parameters under the reference's names (npz keys
// W_emb, b_emb, W_hidden, b_hidden, W_output, b_output), row-major float64.
type Model struct {
	N, K, E, H, D int

	WEmb    []float64 // W_emb: N×E
	BEmb    []float64 // b_emb: E
	WHidden []float64 // W_hidden: (E+D)×H
	BHidden []float64 // b_hidden: H
	WOutput []float64 // W_output: H×K
	BOutput []float64 // b_output: K
}

// Tensor is one named parameter, for export.
type Tensor struct {
	Name  string    // reference key, e.g. "W_emb"
	Shape []int     // e.g. [N, E]; one element for biases
	Data  []float64 // row-major, shared with the Model (not a copy)
}

func newModel(n, k, e, h, d int) *Model {
	return &Model{
		N: n, K: k, E: e, H: h, D: d,
		WEmb: make([]float64, n*e), BEmb: make([]float64, e),
		WHidden: make([]float64, (e+d)*h), BHidden: make([]float64, h),
		WOutput: make([]float64, h*k), BOutput: make([]float64, k),
	}
}

// Tensors returns the parameters in the reference's order
// (W_emb, b_emb, W_hidden, b_hidden, W_output, b_output).
func (m *Model) Tensors() []Tensor {
	return []Tensor{
		{"W_emb", []int{m.N, m.E}, m.WEmb},
		{"b_emb", []int{m.E}, m.BEmb},
		{"W_hidden", []int{m.E + m.D, m.H}, m.WHidden},
		{"b_hidden", []int{m.H}, m.BHidden},
		{"W_output", []int{m.H, m.K}, m.WOutput},
		{"b_output", []int{m.K}, m.BOutput},
	}
}

// params returns the parameter slices in Tensors order.
func (m *Model) params() [][]float64 {
	return [][]float64{m.WEmb, m.BEmb, m.WHidden, m.BHidden, m.WOutput, m.BOutput}
}

// CodeVectors returns ReLU(W_emb[c]) for every code c, row-major N×E: the
// non-negative vectors the code-level objective trains (reference doc §1.8).
func (m *Model) CodeVectors() []float64 {
	out := make([]float64, len(m.WEmb))
	for i, v := range m.WEmb {
		out[i] = max(v, 0)
	}
	return out
}

// CodeVectorsWithBias returns ReLU(W_emb[c] + b_emb), row-major N×E: the
// author's suggestion in issue #19, kept as an ablation.
func (m *Model) CodeVectorsWithBias() []float64 {
	out := make([]float64, len(m.WEmb))
	for c := 0; c < m.N; c++ {
		for e := 0; e < m.E; e++ {
			out[c*m.E+e] = max(m.WEmb[c*m.E+e]+m.BEmb[e], 0)
		}
	}
	return out
}

// Costs are the terms of the cost of one batch, or their means over the
// batches of an epoch.
type Costs struct {
	Visit  float64 // visit-level cost over valid pairs (Faithful: plus Masked)
	Masked float64 // the reference's masked-pair constant; zero gradient
	Emb    float64 // code-level skip-gram cost (0 for a batch without pairs)
	L2     float64 // L2 penalties
	Total  float64 // Visit + Emb + L2
}

func (c *Costs) add(o Costs) {
	c.Visit += o.Visit
	c.Masked += o.Masked
	c.Emb += o.Emb
	c.L2 += o.L2
	c.Total += o.Total
}

func (c *Costs) scale(s float64) {
	c.Visit *= s
	c.Masked *= s
	c.Emb *= s
	c.L2 *= s
	c.Total *= s
}

// EpochStats are the mean batch costs of one epoch, measured on each batch
// before its update (as the reference's mean_cost).
type EpochStats struct {
	Epoch    int // from 0, as the reference's log
	Costs        // means over batches
	Batches  int
	Duration time.Duration
}

// VisitScores returns the model's visit-level output for one visit, the
// softmax over the K output codes that the visit objective trains to give
// the codes of the neighbouring visits (reference doc §1.2):
//
//	p = softmax(ReLU([ReLU(x·W_emb + b_emb), demo]·W_hidden + b_hidden)·W_output + b_output)
//
// codes are the visit's input code indices (a repeated code counts once, as
// in the multi-hot x); demo has D values (nil when D = 0). dst, when it has
// K elements, receives the result.
func (m *Model) VisitScores(codes []int, demo []float64, dst []float64) ([]float64, error) {
	if len(demo) != m.D {
		return nil, fmt.Errorf("med2vec: %d demographic values, model has D = %d", len(demo), m.D)
	}
	u := make([]float64, m.E+m.D)
	copy(u, m.BEmb)
	seen := make(map[int]bool, len(codes))
	for _, c := range codes {
		if c < 0 || c >= m.N {
			return nil, fmt.Errorf("med2vec: code %d out of range [0, %d)", c, m.N)
		}
		if seen[c] {
			continue
		}
		seen[c] = true
		for j, w := range m.WEmb[c*m.E : (c+1)*m.E] {
			u[j] += w
		}
	}
	for j := 0; j < m.E; j++ {
		u[j] = max(u[j], 0)
	}
	copy(u[m.E:], demo)
	v := make([]float64, m.H)
	copy(v, m.BHidden)
	for i, x := range u {
		if x == 0 {
			continue
		}
		for j, w := range m.WHidden[i*m.H : (i+1)*m.H] {
			v[j] += x * w
		}
	}
	if len(dst) != m.K {
		dst = make([]float64, m.K)
	}
	copy(dst, m.BOutput)
	for i, x := range v {
		if x <= 0 {
			continue // ReLU
		}
		for j, w := range m.WOutput[i*m.K : (i+1)*m.K] {
			dst[j] += x * w
		}
	}
	// Max-subtracted softmax, as in training.
	top := math.Inf(-1)
	for _, z := range dst {
		top = max(top, z)
	}
	var sum float64
	for j, z := range dst {
		dst[j] = math.Exp(z - top)
		sum += dst[j]
	}
	for j := range dst {
		dst[j] /= sum
	}
	return dst, nil
}

// FromTensors rebuilds a model from its six parameters by reference name
// (as Tensors returns them, or as read back from a .npz), checking that the
// shapes agree: W_emb N×E, b_emb E, W_hidden (E+D)×H, b_hidden H,
// W_output H×K, b_output K. The data are copied.
func FromTensors(ts map[string]Tensor) (*Model, error) {
	get := func(name string, dims int) (Tensor, error) {
		t, ok := ts[name]
		if !ok {
			return t, fmt.Errorf("med2vec: no %s", name)
		}
		n := 1
		for _, d := range t.Shape {
			n *= d
		}
		if len(t.Shape) != dims || n != len(t.Data) {
			return t, fmt.Errorf("med2vec: %s has shape %v and %d values", name, t.Shape, len(t.Data))
		}
		return t, nil
	}
	var (
		ws  [6]Tensor
		err error
	)
	for i, name := range []string{"W_emb", "b_emb", "W_hidden", "b_hidden", "W_output", "b_output"} {
		if ws[i], err = get(name, 2-i%2); err != nil {
			return nil, err
		}
	}
	n, e := ws[0].Shape[0], ws[0].Shape[1]
	h, k := ws[4].Shape[0], ws[4].Shape[1]
	d := ws[2].Shape[0] - e
	if ws[1].Shape[0] != e || d < 0 || ws[2].Shape[1] != h || ws[3].Shape[0] != h || ws[5].Shape[0] != k {
		return nil, fmt.Errorf("med2vec: inconsistent shapes W_emb %v, b_emb %v, W_hidden %v, b_hidden %v, W_output %v, b_output %v",
			ws[0].Shape, ws[1].Shape, ws[2].Shape, ws[3].Shape, ws[4].Shape, ws[5].Shape)
	}
	m := newModel(n, k, e, h, d)
	for i, p := range m.params() {
		copy(p, ws[i].Data)
	}
	return m, nil
}
