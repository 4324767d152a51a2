package med2vec

import (
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/icdcode/icdcode/model/kernels"
)

// defaultCodeBlock is the number of distinct first codes i whose softmax row
// over the vocabulary is held at once in the code-level loss: memory
// codeBlock×N, large enough for Gemm to run at speed.
const defaultCodeBlock = 128

// Train trains Med2Vec on data and returns the model after the last epoch
// and the per-epoch mean costs. Progress lines (the reference's
// "epoch:%d, mean_cost:%f", extended with the cost terms, rate and time
// left) go to progress when it is not nil.
func Train(data Data, cfg Config, progress io.Writer) (*Model, []EpochStats, error) {
	return TrainWith(data, cfg, TrainOptions{Progress: progress})
}

// TrainOptions control a training run beyond the model's Config: progress
// output, resuming from a saved State and a per-epoch hook for checkpoints.
type TrainOptions struct {
	Progress io.Writer
	// Resume, when set, continues the run it was taken from: weights,
	// Adadelta accumulators, the generator that orders the batches and the
	// epoch count are restored, so that the remaining epochs give the same
	// bits as an uninterrupted run. It must come from the same data and
	// Config (Epochs may differ: Adadelta has no schedule).
	Resume *State
	// OnEpoch is called after every completed epoch with the training
	// state. The State shares the trainer's buffers: it is only valid during
	// the call, so the hook must write or copy it before returning. An
	// error stops training and is returned.
	OnEpoch func(*State) error
	// StopAfter, when positive, stops once this many epochs are complete
	// (counting those of a resumed run), as an interrupted run would.
	StopAfter int
}

// State is everything a resumed run needs besides the data and Config.
type State struct {
	Epoch int    // completed epochs
	Model *Model // parameters after Epoch epochs
	// Eg2 and Edx2 are the Adadelta running averages E[g²] and E[Δ²] per
	// parameter, in Model.Tensors order.
	Eg2, Edx2 [][]float64
	// RNG is the PCG generator (MarshalBinary) that draws the next epoch's
	// batch order.
	RNG   []byte
	Stats []EpochStats // per-epoch costs so far
}

// TrainWith trains as Train does, with resume, per-epoch hook and early stop.
func TrainWith(data Data, cfg Config, opt TrainOptions) (*Model, []EpochStats, error) {
	t, err := newTrainer(&data, cfg)
	if err != nil {
		return nil, nil, err
	}
	if opt.Resume != nil {
		if err := t.restore(opt.Resume); err != nil {
			return nil, nil, err
		}
	} else {
		t.m.init(rand.New(t.src))
	}
	stats, err := t.run(opt)
	if err != nil {
		return nil, nil, err
	}
	return t.m, stats, nil
}

// state returns the trainer's state (shared buffers, see TrainOptions.OnEpoch).
func (t *trainer) state(epoch int, stats []EpochStats) (*State, error) {
	rng, err := t.src.MarshalBinary()
	if err != nil {
		return nil, fmt.Errorf("med2vec: save generator: %w", err)
	}
	return &State{Epoch: epoch, Model: t.m, Eg2: t.eg2, Edx2: t.edx2, RNG: rng, Stats: stats}, nil
}

// restore loads s into the trainer after checking that it fits the Config.
func (t *trainer) restore(s *State) error {
	m := s.Model
	if m == nil {
		return errors.New("med2vec: resume state has no model")
	}
	if m.N != t.m.N || m.K != t.m.K || m.E != t.m.E || m.H != t.m.H || m.D != t.m.D {
		return fmt.Errorf("med2vec: resume state has N=%d K=%d E=%d H=%d D=%d, config N=%d K=%d E=%d H=%d D=%d",
			m.N, m.K, m.E, m.H, m.D, t.m.N, t.m.K, t.m.E, t.m.H, t.m.D)
	}
	if s.Epoch < 0 || s.Epoch > t.cfg.Epochs || len(s.Stats) != s.Epoch {
		return fmt.Errorf("med2vec: resume state at epoch %d (%d epoch stats) does not fit a run of %d epochs", s.Epoch, len(s.Stats), t.cfg.Epochs)
	}
	dst := t.m.params()
	src := m.params()
	if len(s.Eg2) != len(dst) || len(s.Edx2) != len(dst) {
		return fmt.Errorf("med2vec: resume state has %d and %d Adadelta accumulators, want %d", len(s.Eg2), len(s.Edx2), len(dst))
	}
	names := t.m.Tensors()
	for j := range dst {
		if len(src[j]) != len(dst[j]) || len(s.Eg2[j]) != len(dst[j]) || len(s.Edx2[j]) != len(dst[j]) {
			return fmt.Errorf("med2vec: resume state: %s has %d values (accumulators %d, %d), want %d",
				names[j].Name, len(src[j]), len(s.Eg2[j]), len(s.Edx2[j]), len(dst[j]))
		}
		copy(dst[j], src[j])
		copy(t.eg2[j], s.Eg2[j])
		copy(t.edx2[j], s.Edx2[j])
	}
	if err := t.src.UnmarshalBinary(s.RNG); err != nil {
		return fmt.Errorf("med2vec: resume state generator: %w", err)
	}
	t.startEpoch = s.Epoch
	t.prior = append([]EpochStats(nil), s.Stats...)
	return nil
}

// trainer holds the data in indexed form, the model, its gradient, the
// Adadelta state and the per-batch scratch buffers (allocated once).
type trainer struct {
	cfg Config
	k   kernels.Kernels[float64]
	// startEpoch and prior are the completed epochs and their stats of a
	// resumed run (0 and nil for a fresh one).
	startEpoch int
	prior      []EpochStats
	data       *Data
	src        *rand.PCG
	codeBlock  int

	m, g   *Model      // parameters and their gradient for the current batch
	eg2    [][]float64 // Adadelta running E[g²], per parameter
	edx2   [][]float64 // Adadelta running E[Δ²], per parameter
	sep    []bool      // row is a patient separator
	xset   [][]int     // distinct input codes per row (multi-hot x)
	tset   [][]int     // distinct target codes per row (multi-hot t)
	pairsN int         // ordered intra-visit pairs in the whole file

	// visit-level scratch, n = BatchSize rows
	au, u, av, v []float64 // n×E, n×(E+D), n×H, n×H
	p, gz        []float64 // n×K
	gv, gu       []float64 // n×H, n×(E+D)
	coefA        []float64 // n: Σ weights of the pairs a row predicts in
	runLen       []int     // n: real rows ending here, consecutively
	l0           []float64 // n: Σ_c log(1 − p_c + ε)

	// code-level scratch
	w, dw      []float64 // N×E: ReLU(W_emb) and its gradient
	cnt        []int     // N: pairs per first code
	start      []int     // N+1: CSR offsets of the pairs by first code
	pairJ      []int     // second codes, grouped by first code
	firsts     []int     // distinct first codes, ascending
	wi, gi, sb []float64 // codeBlock×E, codeBlock×E, codeBlock×N
	coefC      []float64 // codeBlock
}

func newTrainer(d *Data, cfg Config) (*trainer, error) {
	if err := cfg.validate(d.Labels != nil); err != nil {
		return nil, err
	}
	if err := validateData(d, &cfg); err != nil {
		return nil, err
	}
	n, k, e, h, dd := cfg.NumInputCodes, cfg.numOutputs(), cfg.EmbSize, cfg.VisitSize, cfg.DemoSize
	t := &trainer{
		cfg:       cfg,
		k:         kernels.CPU[float64](),
		data:      d,
		src:       rand.NewPCG(cfg.Seed, cfg.Seed^0x9e3779b97f4a7c15),
		codeBlock: defaultCodeBlock,
		m:         newModel(n, k, e, h, dd),
		g:         newModel(n, k, e, h, dd),
	}
	for _, p := range t.m.params() {
		t.eg2 = append(t.eg2, make([]float64, len(p)))
		t.edx2 = append(t.edx2, make([]float64, len(p)))
	}
	rows := len(d.Seqs)
	t.sep = make([]bool, rows)
	t.xset = make([][]int, rows)
	t.tset = make([][]int, rows)
	for r, row := range d.Seqs {
		if isSep(row) {
			t.sep[r] = true
			continue
		}
		t.xset[r] = distinct(row)
		if d.Labels != nil {
			t.tset[r] = distinct(d.Labels[r])
		} else {
			t.tset[r] = t.xset[r]
		}
		for _, a := range row {
			for _, b := range row {
				if a != b {
					t.pairsN++
				}
			}
		}
	}
	nb := min(cfg.BatchSize, rows)
	t.au, t.u = make([]float64, nb*e), make([]float64, nb*(e+dd))
	t.av, t.v = make([]float64, nb*h), make([]float64, nb*h)
	t.p, t.gz = make([]float64, nb*k), make([]float64, nb*k)
	t.gv, t.gu = make([]float64, nb*h), make([]float64, nb*(e+dd))
	t.coefA, t.runLen, t.l0 = make([]float64, nb), make([]int, nb), make([]float64, nb)
	t.w, t.dw = make([]float64, n*e), make([]float64, n*e)
	t.cnt, t.start = make([]int, n), make([]int, n+1)
	return t, nil
}

// distinct returns the distinct values of row in first-occurrence order: the
// codes of a multi-hot row.
func distinct(row []int) []int {
	out := make([]int, 0, len(row))
	for _, c := range row {
		if !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	return out
}

// init draws the weights as the reference (U(−0.01, 0.01), biases 0), in
// the order W_emb, W_hidden, W_output.
func (m *Model) init(r *rand.Rand) {
	for _, w := range [][]float64{m.WEmb, m.WHidden, m.WOutput} {
		for i := range w {
			w[i] = r.Float64()*0.02 - 0.01
		}
	}
}

// run trains the remaining epochs up to cfg.Epochs (or opt.StopAfter):
// contiguous batches in a seeded random order.
func (t *trainer) run(opt TrainOptions) ([]EpochStats, error) {
	progress := opt.Progress
	batches := t.batches()
	nBatches := len(batches)
	rng := rand.New(t.src)
	stats := t.prior
	last := t.cfg.Epochs
	if opt.StopAfter > 0 {
		last = min(last, opt.StopAfter)
	}
	begin := time.Now()
	for epoch := t.startEpoch; epoch < last; epoch++ {
		epochBegin := time.Now()
		var sum Costs
		for i, b := range rng.Perm(nBatches) {
			lo, hi := batches[b][0], batches[b][1]
			c := t.batch(lo, hi)
			if math.IsNaN(c.Total) || math.IsInf(c.Total, 0) {
				return stats, fmt.Errorf("med2vec: epoch %d batch %d (rows %d–%d): cost is %g", epoch, b, lo, hi-1, c.Total)
			}
			t.adadelta()
			sum.add(c)
			if t.cfg.Verbose && progress != nil && i%10 == 0 {
				fmt.Fprintf(progress, "epoch:%d, batch:%d/%d, cost:%f\n", epoch, i, nBatches, c.Total)
			}
		}
		sum.scale(1 / float64(nBatches))
		st := EpochStats{Epoch: epoch, Costs: sum, Batches: nBatches, Duration: time.Since(epochBegin)}
		stats = append(stats, st)
		if progress != nil {
			// Rate and time left from the epochs of this process, so that a
			// resumed run does not count the time it was stopped.
			done := epoch + 1 - t.startEpoch
			per := time.Since(begin) / time.Duration(done)
			rows := float64(len(t.data.Seqs)) / st.Duration.Seconds()
			fmt.Fprintf(progress, "epoch:%d, mean_cost:%f (visit %f, emb %f, l2 %f, masked %f) %s, %.0f rows/s, %d/%d epochs, ETA %s\n",
				epoch, st.Total, st.Visit, st.Emb, st.L2, st.Masked, st.Duration.Round(time.Millisecond), rows,
				epoch+1, t.cfg.Epochs, (per * time.Duration(t.cfg.Epochs-epoch-1)).Round(time.Second))
		}
		if opt.OnEpoch != nil {
			s, err := t.state(epoch+1, stats)
			if err != nil {
				return stats, err
			}
			if err := opt.OnEpoch(s); err != nil {
				return stats, err
			}
		}
	}
	return stats, nil
}

// batches returns the [lo, hi) row ranges of the batches, in file order.
func (t *trainer) batches() [][2]int {
	rows, bs := len(t.data.Seqs), t.cfg.BatchSize
	var out [][2]int
	if !t.cfg.PatientBatches {
		for lo := 0; lo < rows; lo += bs {
			out = append(out, [2]int{lo, min(lo+bs, rows)})
		}
		return out
	}
	// A patient is its visits plus the separator that ends it.
	lo, end := 0, 0 // current batch [lo, end)
	for end < rows {
		pe := end
		for pe < rows && !t.sep[pe] {
			pe++
		}
		pe = min(pe+1, rows) // include the separator
		switch {
		case pe-lo <= bs:
			end = pe
		case end > lo:
			out = append(out, [2]int{lo, end})
			lo = end
		default: // one patient longer than a batch: cut it
			out = append(out, [2]int{lo, lo + bs})
			lo += bs
			end = lo
		}
	}
	if end > lo {
		out = append(out, [2]int{lo, end})
	}
	return out
}

// adadelta applies one step of the reference's Adadelta (Theano LSTM
// tutorial form, no learning rate) to every parameter from t.g:
//
//	Eg² ← ρ·Eg² + (1−ρ)·g²
//	Δ   = −√(EΔ² + ε)/√(Eg² + ε)·g       (EΔ² before its update)
//	EΔ² ← ρ·EΔ² + (1−ρ)·Δ²
//	θ   ← θ + Δ
func (t *trainer) adadelta() {
	rho, eps := t.cfg.Rho, t.cfg.AdaEps
	gs, ps := t.g.params(), t.m.params()
	for j, p := range ps {
		g, eg2, edx2 := gs[j], t.eg2[j], t.edx2[j]
		for i, gi := range g {
			eg2[i] = rho*eg2[i] + (1-rho)*gi*gi
			d := -math.Sqrt(edx2[i]+eps) / math.Sqrt(eg2[i]+eps) * gi
			edx2[i] = rho*edx2[i] + (1-rho)*d*d
			p[i] += d
		}
	}
}

// batch computes the costs of rows [lo, hi) and their gradient into t.g
// (overwritten).
func (t *trainer) batch(lo, hi int) Costs {
	for _, g := range t.g.params() {
		clear(g)
	}
	var c Costs
	c.Visit, c.Masked = t.visitLoss(lo, hi)
	c.Emb = t.codeLoss(lo, hi)
	c.L2 = t.l2()
	if t.cfg.Faithful {
		c.Visit += c.Masked
	}
	c.Total = c.Visit + c.Emb + c.L2
	return c
}

// l2 returns Σ λ·ΣW² over the weight matrices and adds 2λW to the gradient.
func (t *trainer) l2() float64 {
	var cost float64
	for _, x := range []struct {
		lambda float64
		w, g   []float64
	}{{t.cfg.L2Emb, t.m.WEmb, t.g.WEmb}, {t.cfg.L2Hidden, t.m.WHidden, t.g.WHidden}, {t.cfg.L2Output, t.m.WOutput, t.g.WOutput}} {
		if x.lambda == 0 {
			continue
		}
		var s float64
		for i, w := range x.w {
			s += w * w
			x.g[i] += 2 * x.lambda * w
		}
		cost += x.lambda * s
	}
	return cost
}

// visitLoss computes the forward pass of rows [lo, hi), the visit-level cost
// over valid pairs and the reference's masked-pair constant (reference doc
// §1.3), and backpropagates the former into t.g (reference doc §2).
func (t *trainer) visitLoss(lo, hi int) (cost, masked float64) {
	m, cfg := t.m, &t.cfg
	n, e, h, d, k := hi-lo, m.E, m.H, m.D, m.K
	ed := e + d
	eps := cfg.LogEps
	au, u, av, v := t.au[:n*e], t.u[:n*ed], t.av[:n*h], t.v[:n*h]
	p, gz := t.p[:n*k], t.gz[:n*k]

	// Forward. au = x·W_emb + b_emb by summing the rows of the visit's
	// distinct codes (x is multi-hot); u = [ReLU(au), demo].
	for i := 0; i < n; i++ {
		a := au[i*e : (i+1)*e]
		copy(a, m.BEmb)
		for _, c := range t.xset[lo+i] {
			for j, w := range m.WEmb[c*e : (c+1)*e] {
				a[j] += w
			}
		}
		ui := u[i*ed : (i+1)*ed]
		for j, x := range a {
			ui[j] = max(x, 0)
		}
		if d > 0 {
			copy(ui[e:], t.data.Demo[lo+i])
		}
	}
	// av = u·W_hidden + b_hidden (n×H); v = ReLU(av).
	t.k.Gemm(false, false, n, h, ed, 1, u, ed, m.WHidden, h, 0, av, h)
	t.k.AddBias(n, h, m.BHidden, av, h)
	for i, x := range av {
		v[i] = max(x, 0)
	}
	// p = softmax(v·W_output + b_output) (n×K), max-subtracted.
	t.k.Gemm(false, false, n, k, h, 1, v, h, m.WOutput, k, 0, p, k)
	t.k.AddBias(n, k, m.BOutput, p, k)
	t.k.Softmax(n, k, p, k, nil, 0, p, k)

	// Valid pairs: (i, i+k') is valid iff rows i..i+k' are all real visits,
	// i.e. run[i+k'] > k'. Each distance k' is normalised by its number of
	// valid pairs plus ε, as the reference (so that Faithful and fixed costs
	// share one gradient).
	run, coefA, l0 := t.runLen[:n], t.coefA[:n], t.l0[:n]
	for i := 0; i < n; i++ {
		run[i] = 0
		if !t.sep[lo+i] {
			run[i] = 1
			if i > 0 {
				run[i] += run[i-1]
			}
		}
	}
	// l0[i] = Σ_c log(1 − p_ic + ε): the all-negative part of the binary
	// cross-entropy, so that a pair costs O(|t|) beyond it instead of O(K).
	for i := 0; i < n; i++ {
		var s float64
		if !t.sep[lo+i] {
			for _, pc := range p[i*k : (i+1)*k] {
				s += math.Log(1 - pc + eps)
			}
		}
		l0[i] = s
		coefA[i] = 0
	}
	clear(gz)
	logEps, log1Eps := math.Log(eps), math.Log1p(eps)
	// maskedTerm is the reference's cost of a masked pair with target row r:
	// Σ_c −[t_c·log(0 + ε) + (1 − t_c)·log(1 − 0 + ε)].
	maskedTerm := func(r int) float64 {
		pos := len(t.tset[r])
		return -float64(pos)*logEps - float64(k-pos)*log1Eps
	}
	// pair adds the cost of row pi predicting the targets of row ti with
	// weight wt, and its gradient w.r.t. p[pi] into gz (g_p for now):
	//   g_p[c] += wt·( −t_c/(p_c+ε) + (1−t_c)/(1−p_c+ε) )
	// with the dense 1/(1−p_c+ε) part collected in coefA[pi].
	pair := func(pi, ti int, wt float64) float64 {
		pr, gr := p[pi*k:(pi+1)*k], gz[pi*k:(pi+1)*k]
		s := l0[pi]
		for _, c := range t.tset[lo+ti] {
			s += math.Log(pr[c]+eps) - math.Log(1-pr[c]+eps)
			gr[c] -= wt * (1/(pr[c]+eps) + 1/(1-pr[c]+eps))
		}
		coefA[pi] += wt
		return -wt * s
	}
	for dk := 1; dk <= cfg.WindowSize && dk < n; dk++ {
		var valid int
		for i := 0; i+dk < n; i++ {
			if run[i+dk] > dk {
				valid++
			}
		}
		wt := 1 / (float64(valid) + eps)
		for i := 0; i+dk < n; i++ {
			if run[i+dk] > dk {
				cost += pair(i, i+dk, wt) // forward: i predicts i+k
				cost += pair(i+dk, i, wt) // backward: i+k predicts i
			} else {
				masked += wt * (maskedTerm(lo+i+dk) + maskedTerm(lo+i))
			}
		}
	}
	// Finish g_p and backpropagate through the softmax in place:
	// g_z = p ⊙ (g_p − ⟨g_p, p⟩), rows that predict nothing stay zero.
	for i := 0; i < n; i++ {
		if a := coefA[i]; a != 0 {
			pr, gr := p[i*k:(i+1)*k], gz[i*k:(i+1)*k]
			for c, pc := range pr {
				gr[c] += a / (1 - pc + eps)
			}
		}
	}
	t.k.SoftmaxBackward(n, k, p, k, gz, k, gz, k)

	g := t.g
	gv, gu := t.gv[:n*h], t.gu[:n*ed]
	// ∂W_output = vᵀ·g_z (H×K), ∂b_output = Σ_rows g_z, g_v = g_z·W_outputᵀ.
	t.k.Gemm(true, false, h, k, n, 1, v, h, gz, k, 1, g.WOutput, k)
	t.k.ColSum(n, k, gz, k, g.BOutput)
	t.k.Gemm(false, true, n, h, k, 1, gz, k, m.WOutput, k, 0, gv, h)
	for i, x := range av {
		if x <= 0 {
			gv[i] = 0
		}
	}
	// ∂W_hidden = uᵀ·g_av ((E+D)×H), ∂b_hidden, g_u = g_av·W_hiddenᵀ.
	t.k.Gemm(true, false, ed, h, n, 1, u, ed, gv, h, 1, g.WHidden, h)
	t.k.ColSum(n, h, gv, h, g.BHidden)
	t.k.Gemm(false, true, n, ed, h, 1, gv, h, m.WHidden, h, 0, gu, ed)
	// g_au = g_u[:, :E] ⊙ 1[au > 0] (demographic columns dropped);
	// ∂W_emb[c] += g_au[i] for every code c of row i; ∂b_emb = Σ g_au.
	for i := 0; i < n; i++ {
		gr, a := gu[i*ed:i*ed+e], au[i*e:(i+1)*e]
		for j, x := range a {
			if x <= 0 {
				gr[j] = 0
			}
		}
		for j, x := range gr {
			g.BEmb[j] += x
		}
		for _, c := range t.xset[lo+i] {
			wr := g.WEmb[c*e : (c+1)*e]
			for j, x := range gr {
				wr[j] += x
			}
		}
	}
	return cost, masked
}

// codeLoss computes the code-level skip-gram cost of rows [lo, hi)
// (reference doc §1.4) and adds its gradient (§2) into t.g.WEmb:
//
//	w = ReLU(W_emb); ℓ(i,j) = −log(softmax_k(w_i·w_k)_j + ε); cost = mean ℓ
//
// over the ordered pairs (a, b), a ≠ b, of the codes of each real visit.
// The softmax rows are computed for blocks of distinct first codes i only,
// so memory is O(codeBlock·N + N·E). A batch without pairs costs 0.
func (t *trainer) codeLoss(lo, hi int) float64 {
	m := t.m
	n, e := m.N, m.E
	eps := t.cfg.LogEps
	// Group the pairs by first code (CSR), in ascending first-code order and,
	// within a first code, in batch order.
	clear(t.cnt)
	var total int
	for r := lo; r < hi; r++ {
		if t.sep[r] {
			continue
		}
		row := t.data.Seqs[r]
		for _, a := range row {
			for _, b := range row {
				if a != b {
					t.cnt[a]++
					total++
				}
			}
		}
	}
	if total == 0 {
		return 0
	}
	t.firsts = t.firsts[:0]
	t.start[0] = 0
	for c := 0; c < n; c++ {
		t.start[c+1] = t.start[c] + t.cnt[c]
		if t.cnt[c] > 0 {
			t.firsts = append(t.firsts, c)
		}
	}
	t.pairJ = slices.Grow(t.pairJ[:0], total)[:total]
	copy(t.cnt, t.start[:n]) // cnt becomes the fill cursor
	for r := lo; r < hi; r++ {
		if t.sep[r] {
			continue
		}
		row := t.data.Seqs[r]
		for _, a := range row {
			for _, b := range row {
				if a != b {
					t.pairJ[t.cnt[a]] = b
					t.cnt[a]++
				}
			}
		}
	}

	for i, x := range m.WEmb {
		t.w[i] = max(x, 0)
	}
	clear(t.dw)
	w, dw := t.w, t.dw
	invP := 1 / float64(total)
	bsz := t.codeBlock
	if len(t.sb) < bsz*n {
		t.wi, t.gi, t.sb = make([]float64, bsz*e), make([]float64, bsz*e), make([]float64, bsz*n)
		t.coefC = make([]float64, bsz)
	}
	var cost float64
	for b0 := 0; b0 < len(t.firsts); b0 += bsz {
		blk := t.firsts[b0:min(b0+bsz, len(t.firsts))]
		nb := len(blk)
		wi, gi, s, cc := t.wi[:nb*e], t.gi[:nb*e], t.sb[:nb*n], t.coefC[:nb]
		for r, i := range blk {
			copy(wi[r*e:(r+1)*e], w[i*e:(i+1)*e])
		}
		// s = softmax_rows(w_i·wᵀ) (nb×N), max-subtracted.
		t.k.Gemm(false, true, nb, n, e, 1, wi, e, w, e, 0, s, n)
		t.k.Softmax(nb, n, s, n, nil, 0, s, n)
		// Pair terms: ℓ = −log(q + ε), q = s_ij; with scale = q/(q+ε)/P,
		//   ∂/∂w_i −= scale·w_j, ∂/∂w_j −= scale·w_i,
		// and the softmax terms, scale·s_ik on every k, are collected
		// per first code in cc.
		for r, i := range blk {
			sr := s[r*n : (r+1)*n]
			wir := w[i*e : (i+1)*e]
			var ci float64
			for _, j := range t.pairJ[t.start[i]:t.start[i+1]] {
				q := sr[j]
				cost -= math.Log(q + eps)
				sc := q / (q + eps) * invP
				ci += sc
				wjr, dwj, dwi := w[j*e:(j+1)*e], dw[j*e:(j+1)*e], dw[i*e:(i+1)*e]
				for x := 0; x < e; x++ {
					dwj[x] -= sc * wir[x]
					dwi[x] -= sc * wjr[x]
				}
			}
			cc[r] = ci
			for kk := range sr {
				sr[kk] *= ci
			}
		}
		// With C = diag(cc)·s: ∂/∂w_i += C·w (Σ_k scale·s_ik·w_k) and
		// ∂/∂w_k += Cᵀ·w_i (which includes the s_ii·w_i term at k = i).
		t.k.Gemm(false, false, nb, e, n, 1, s, n, w, e, 0, gi, e)
		for r, i := range blk {
			dwi := dw[i*e : (i+1)*e]
			for x, v := range gi[r*e : (r+1)*e] {
				dwi[x] += v
			}
		}
		t.k.Gemm(true, false, n, e, nb, 1, s, n, wi, e, 1, dw, e)
	}
	// Through the ReLU of W_emb.
	for i, x := range m.WEmb {
		if x > 0 {
			t.g.WEmb[i] += dw[i]
		}
	}
	return cost * invP
}
