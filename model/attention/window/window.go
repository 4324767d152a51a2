// Package window implements Longformer-style sliding-window self-attention
// with optional global tokens (reference spec §2 "LE", §14 row 5): the
// forward and backward mathematics as plain functions on row-major slices,
// for the engine's autograd wrapper to call.
//
// # Scope and layout
//
// Functions work on ONE sequence and ONE head: Q, K, V and O are (n, d)
// row-major with leading dimension d (d = d_head). Callers loop over heads
// and sequences (or run those loops in parallel: the functions keep no
// global state, and the backend is passed in explicitly).
//
// # Semantics
//
// With w the one-sided window (Longformer's attention_window = 2w), scale =
// 1/sqrt(d), valid(j) = position j is not padding, and global(j) = j is in
// Config.Global:
//
//   - a local query i (valid, not global) attends to the keys j with
//     |i−j| ≤ w, valid(j), ¬global(j) (the "band"), plus every valid global
//     key. A global key inside the window is therefore counted once, through
//     its global column, as in HF LongformerSelfAttention (which removes
//     global and padded positions from the windowed scores and concatenates
//     the global keys). Its scores and values use K and V.
//   - a global query G[t] (valid) attends to ALL valid keys, with scores
//     QG[t]·KG[j]·scale and values VG[j]. QG, KG, VG are the separate global
//     projections of HF Longformer (query_global, key_global, value_global);
//     nil means "use Q (its rows G[t]), K, V" (shared projections).
//   - a padded query (valid(i) false) produces a zero output row, whatever
//     else it is; a padded key is never attended to. A row that has no key
//     left yields zeros, never NaN.
//
// Rows near the ends simply have fewer keys; n need not be a multiple of
// the window (the LE encoder pads to a multiple of 512, these functions do
// not require it), and n < 2w+1 is fine.
//
// # Band matrices
//
// Probabilities are kept in O(n·(2w+1+2g)) memory, never n×n:
//
//   - band P (n, 2w+1): P[i, b] is the probability of query i for key
//     j = i−w+b. Entries with j outside [0, n), j padded or global, and all
//     entries of global or padded query rows, are 0.
//   - global columns PG (n, g): PG[i, t] is the probability of local query i
//     for global key G[t] (0 for global/padded queries, padded keys).
//   - global rows PQ (g, n): PQ[t, j] is the probability of global query G[t]
//     for key j.
//
// Each local row of [P | PG] and each valid row of PQ sums to 1.
//
// # Computation
//
// Band scores are computed by blocks of B consecutive queries (B = w
// clamped to [32, 128]): one Gemm of the B queries against their B+2w
// neighbouring keys, from which the band is extracted; the products with V
// and the backward products are the same block Gemms on the block's band
// (zeros off the band). Work is O(n·(B+2w)·d), at most 1.5× the band's
// n·(2w+1)·d for w ≥ 32, done by the backend's cache-blocked Gemm; the
// block scratch is B×(B+2w), independent of n. Blocks overlap in keys, so
// they run in order (each Gemm is parallel inside); the row softmaxes of a
// block run on GOMAXPROCS goroutines, one goroutine per row, so results are
// deterministic.
//
// # Errors
//
// Forward and Backward validate shapes, the window, the mask length and
// the global positions in O(n+g) and return errors: they are the layer's
// entry points, called with user-derived shapes (sequence lengths, global
// token lists), so misuse is reported rather than panicking. Inputs are
// trusted to be finite.
package window

import (
	"errors"
	"fmt"
	"math"
	"runtime"
	"sync"

	"github.com/icdcode/icdcode/model/kernels"
)

// Float is the element type: float32 for training, float64 for checks.
type Float = kernels.Float

// Config describes one attention call (one sequence, one head).
type Config struct {
	N int // sequence length n ≥ 0
	D int // head dimension d ≥ 1
	W int // one-sided window w ≥ 0: keys |i−j| ≤ w (2w+1 keys)
	// Scale multiplies the scores; 0 means 1/sqrt(D).
	Scale float64
	// Mask is the key-padding mask, length N: true = real token, false =
	// padding. nil means no padding.
	Mask []bool
	// Global lists the global positions, strictly increasing, in [0, N)
	// (e.g. []int{0} for [CLS]). nil or empty: pure sliding window.
	Global []int
}

// Inputs holds the projections of one sequence and head.
//
//	Q, K, V: (N, D)
//	QG:      (G, D) global query projections of rows Global, or nil (use Q)
//	KG, VG:  (N, D) global key/value projections of all rows, or nil (K, V)
//
// All are row-major with leading dimension D.
type Inputs[T Float] struct {
	Q, K, V    []T
	QG, KG, VG []T
}

// State is what Backward needs from Forward. It references the Inputs'
// slices and the Config's Mask and Global, which must not be modified
// between Forward and Backward.
type State[T Float] struct {
	cfg    Config
	in     Inputs[T]
	scale  T
	isG    []bool
	p      []T // (n, 2w+1) band probabilities
	pg     []T // (n, g) global-column probabilities
	pq     []T // (g, n) global-row probabilities
	kg, vg []T // (g, d) rows Global of K and V (the global columns' keys/values)
}

// Band returns the band probabilities P, (n, 2w+1) row-major; P[i*(2w+1)+b]
// is the probability of query i for key i−w+b.
func (s *State[T]) Band() []T { return s.p }

// GlobalCols returns PG, (n, g): PG[i*g+t] is the probability of query i for
// global key Global[t].
func (s *State[T]) GlobalCols() []T { return s.pg }

// GlobalRows returns PQ, (g, n): PQ[t*n+j] is the probability of global
// query Global[t] for key j.
func (s *State[T]) GlobalRows() []T { return s.pq }

// Grads holds the gradients returned by Backward.
//
//	DQ, DK, DV:  (N, D)
//	DQG:         (G, D), nil when Inputs.QG was nil (folded into DQ rows Global)
//	DKG, DVG:    (N, D), nil when Inputs.KG / VG were nil (folded into DK / DV)
type Grads[T Float] struct {
	DQ, DK, DV    []T
	DQG, DKG, DVG []T
}

// blockRows returns the number of queries per score block: about w, so that
// the wasted corner work (B+2w)/(2w+1) stays ≤ 1.5, bounded so that the
// Gemms are not too small (w small) and the scratch stays in cache (w large).
func blockRows(w int) int {
	return min(max(w, 32), 128)
}

// check validates cfg and in.
func (cfg *Config) check(q, k, v, qg, kg, vg int) error {
	n, d, w := cfg.N, cfg.D, cfg.W
	if n < 0 || d < 1 || w < 0 {
		return fmt.Errorf("window: invalid shape n=%d d=%d w=%d (need n ≥ 0, d ≥ 1, w ≥ 0)", n, d, w)
	}
	if cfg.Scale < 0 || math.IsNaN(cfg.Scale) || math.IsInf(cfg.Scale, 0) {
		return fmt.Errorf("window: invalid scale %v", cfg.Scale)
	}
	for x, l := range [3]int{q, k, v} {
		if l != n*d {
			return fmt.Errorf("window: %s has %d elements, want n·d = %d·%d = %d", "QKV"[x:x+1], l, n, d, n*d)
		}
	}
	if cfg.Mask != nil && len(cfg.Mask) != n {
		return fmt.Errorf("window: mask has length %d, want n = %d", len(cfg.Mask), n)
	}
	for t, j := range cfg.Global {
		if j < 0 || j >= n {
			return fmt.Errorf("window: global position %d out of range [0, %d)", j, n)
		}
		if t > 0 && j <= cfg.Global[t-1] {
			return errors.New("window: global positions must be strictly increasing")
		}
	}
	g := len(cfg.Global)
	if qg >= 0 && qg != g*d {
		return fmt.Errorf("window: QG has %d elements, want g·d = %d·%d = %d", qg, g, d, g*d)
	}
	if kg >= 0 && kg != n*d {
		return fmt.Errorf("window: KG has %d elements, want n·d = %d", kg, n*d)
	}
	if vg >= 0 && vg != n*d {
		return fmt.Errorf("window: VG has %d elements, want n·d = %d", vg, n*d)
	}
	return nil
}

// lenOrNone is len(s), or -1 for a nil slice (an absent optional input).
func lenOrNone[T Float](s []T) int {
	if s == nil {
		return -1
	}
	return len(s)
}

func (cfg *Config) valid(i int) bool { return cfg.Mask == nil || cfg.Mask[i] }

// gatherRows copies rows idx of the (·, d) matrix src into a (len(idx), d)
// matrix.
func gatherRows[T Float](src []T, d int, idx []int) []T {
	dst := make([]T, len(idx)*d)
	for t, j := range idx {
		copy(dst[t*d:(t+1)*d], src[j*d:(j+1)*d])
	}
	return dst
}

// softmaxMasked turns the scores in a and b (two parts of one logical row)
// into probabilities in place; entries equal to −Inf are masked and become
// 0. A row with no unmasked entry becomes all zeros (not NaN).
func softmaxMasked[T Float](a, b []T) {
	ninf := T(math.Inf(-1))
	mx := ninf
	for _, s := range a {
		mx = max(mx, s)
	}
	for _, s := range b {
		mx = max(mx, s)
	}
	if mx == ninf {
		clear(a)
		clear(b)
		return
	}
	var sum float64
	for _, part := range [2][]T{a, b} {
		for x, s := range part {
			if s == ninf {
				part[x] = 0
				continue
			}
			e := T(math.Exp(float64(s - mx)))
			part[x] = e
			sum += float64(e)
		}
	}
	inv := T(1 / sum)
	for x := range a {
		a[x] *= inv
	}
	for x := range b {
		b[x] *= inv
	}
}

// parallelRows calls f on contiguous ranges covering [0, m) on up to
// GOMAXPROCS goroutines when the work (m rows of cost units each) is worth
// it. Each row is handled by exactly one goroutine, so results do not depend
// on the number of goroutines.
func parallelRows(m, cost int, f func(lo, hi int)) {
	nt := min(runtime.GOMAXPROCS(0), m)
	if nt <= 1 || m*cost < 1<<14 {
		f(0, m)
		return
	}
	var wg sync.WaitGroup
	for t := range nt {
		lo, hi := t*m/nt, (t+1)*m/nt
		wg.Go(func() { f(lo, hi) })
	}
	wg.Wait()
}

// denseBlock writes, into the (m, l) matrix dst, the band rows i0..i0+m−1 of
// the (n, 2w+1) band matrix band, placed at their key columns k0..k0+l−1,
// with zeros off the band: the block operand of the band Gemms.
func denseBlock[T Float](dst []T, band []T, w, i0, m, k0, l int) {
	nb := 2*w + 1
	clear(dst[:m*l])
	for r := range m {
		i := i0 + r
		row := band[i*nb : (i+1)*nb]
		// key j = i−w+b must lie in [k0, k0+l).
		b0 := max(0, k0-(i-w))
		b1 := min(nb, k0+l-(i-w))
		for b := b0; b < b1; b++ {
			dst[r*l+i-w+b-k0] = row[b]
		}
	}
}

// Forward computes the attention output of one sequence and head into out
// (n, d) and returns the State for Backward.
//
//	in.Q, in.K, in.V: (n, d); in.QG: (g, d) or nil; in.KG, in.VG: (n, d) or nil
//	out: (n, d), overwritten; it must not overlap the inputs
//
// Time O(n·(2w+1+2g)·d), memory O(n·(2w+1+2g)) (see the package
// documentation for the semantics and the saved band layout).
func Forward[T Float](kern kernels.Kernels[T], cfg Config, in Inputs[T], out []T) (*State[T], error) {
	if err := cfg.check(len(in.Q), len(in.K), len(in.V), lenOrNone(in.QG), lenOrNone(in.KG), lenOrNone(in.VG)); err != nil {
		return nil, err
	}
	n, d, w, g := cfg.N, cfg.D, cfg.W, len(cfg.Global)
	if len(out) != n*d {
		return nil, fmt.Errorf("window: out has %d elements, want n·d = %d", len(out), n*d)
	}
	scale := cfg.Scale
	if scale == 0 {
		scale = 1 / math.Sqrt(float64(d))
	}
	nb := 2*w + 1
	s := &State[T]{
		cfg:   cfg,
		in:    in,
		scale: T(scale),
		isG:   make([]bool, n),
		p:     make([]T, n*nb),
		pg:    make([]T, n*g),
		pq:    make([]T, g*n),
		kg:    gatherRows(in.K, d, cfg.Global),
		vg:    gatherRows(in.V, d, cfg.Global),
	}
	if n == 0 {
		return s, nil
	}
	for _, j := range cfg.Global {
		s.isG[j] = true
	}
	// local[j]: j is a valid, non-global position, i.e. a query with a band
	// row and a key that may appear in bands.
	local := make([]bool, n)
	for j := range n {
		local[j] = cfg.valid(j) && !s.isG[j]
	}
	ninf := T(math.Inf(-1))

	// Global-column scores of all queries at once: PG = scale·Q·Kgᵀ.
	if g > 0 {
		kern.Gemm(false, true, n, g, d, s.scale, in.Q, d, s.kg, d, 0, s.pg, g)
	}
	bq := blockRows(w)
	scratch := make([]T, bq*min(n, bq+2*w))
	for i0 := 0; i0 < n; i0 += bq {
		i1 := min(i0+bq, n)
		k0, k1 := max(0, i0-w), min(n, i1+w)
		m, l := i1-i0, k1-k0
		// S = scale·Q[i0:i1]·K[k0:k1]ᵀ, (m, l).
		kern.Gemm(false, true, m, l, d, s.scale, in.Q[i0*d:], d, in.K[k0*d:], d, 0, scratch, l)
		parallelRows(m, nb, func(lo, hi int) {
			for r := lo; r < hi; r++ {
				i := i0 + r
				row := s.p[i*nb : (i+1)*nb]
				grow := s.pg[i*g : (i+1)*g]
				if !local[i] {
					clear(row)
					clear(grow)
					continue
				}
				// Masked entries are −Inf for softmaxMasked.
				for b := range nb {
					if j := i - w + b; j >= 0 && j < n && local[j] {
						row[b] = scratch[r*l+j-k0]
					} else {
						row[b] = ninf
					}
				}
				for t, j := range cfg.Global {
					if !cfg.valid(j) {
						grow[t] = ninf
					}
				}
				softmaxMasked(row, grow)
			}
		})
		// O[i0:i1] = P_block·V[k0:k1].
		denseBlock(scratch, s.p, w, i0, m, k0, l)
		kern.Gemm(false, false, m, d, l, 1, scratch, l, in.V[k0*d:], d, 0, out[i0*d:], d)
	}
	if g == 0 {
		return s, nil
	}
	// O += PG·Vg: the global keys' values.
	kern.Gemm(false, false, n, d, g, 1, s.pg, g, s.vg, d, 1, out, d)

	// Global query rows attend to every valid key through QG, KG, VG.
	qg, kg, vg := s.globalProj()
	kern.Gemm(false, true, g, n, d, s.scale, qg, d, kg, d, 0, s.pq, n)
	for t, i := range cfg.Global {
		row := s.pq[t*n : (t+1)*n]
		if !cfg.valid(i) {
			clear(row)
			continue
		}
		for j := range n {
			if !cfg.valid(j) {
				row[j] = ninf
			}
		}
		softmaxMasked(row, nil)
	}
	og := make([]T, g*d)
	kern.Gemm(false, false, g, d, n, 1, s.pq, n, vg, d, 0, og, d)
	for t, i := range cfg.Global {
		copy(out[i*d:(i+1)*d], og[t*d:(t+1)*d])
	}
	return s, nil
}

// globalProj returns the global query rows (g, d) and the global keys and
// values (n, d), falling back to the shared projections.
func (s *State[T]) globalProj() (qg, kg, vg []T) {
	qg, kg, vg = s.in.QG, s.in.KG, s.in.VG
	if qg == nil {
		qg = gatherRows(s.in.Q, s.cfg.D, s.cfg.Global)
	}
	if kg == nil {
		kg = s.in.K
	}
	if vg == nil {
		vg = s.in.V
	}
	return qg, kg, vg
}

// Backward computes the gradients of the loss with respect to the Inputs
// of the Forward call that returned s, given dO = ∂loss/∂O.
//
//	dO: (n, d); results as described on Grads (freshly allocated)
//
// Every softmax row uses the O(row) backward dx = p ⊙ (dp − Σ p⊙dp); time
// and memory are those of Forward.
func Backward[T Float](kern kernels.Kernels[T], s *State[T], dO []T) (*Grads[T], error) {
	if s == nil {
		return nil, errors.New("window: Backward called with a nil State")
	}
	cfg, in := s.cfg, s.in
	n, d, w, g := cfg.N, cfg.D, cfg.W, len(cfg.Global)
	if len(dO) != n*d {
		return nil, fmt.Errorf("window: dO has %d elements, want n·d = %d", len(dO), n*d)
	}
	gr := &Grads[T]{DQ: make([]T, n*d), DK: make([]T, n*d), DV: make([]T, n*d)}
	// Separate global projections get their own (possibly zero) gradients
	// even when no global row uses them.
	if in.QG != nil {
		gr.DQG = make([]T, g*d)
	}
	if in.KG != nil {
		gr.DKG = make([]T, n*d)
	}
	if in.VG != nil {
		gr.DVG = make([]T, n*d)
	}
	if n == 0 {
		return gr, nil
	}
	// dPG = dO·Vgᵀ, (n, g); turned into dSG row by row below.
	dsg := make([]T, n*g)
	if g > 0 {
		kern.Gemm(false, true, n, g, d, 1, dO, d, s.vg, d, 0, dsg, g)
	}
	bq := blockRows(w)
	lmax := min(n, bq+2*w)
	ds := make([]T, bq*lmax) // dP, then dS, of one block
	pb := make([]T, bq*lmax) // P of one block, dense
	for i0 := 0; i0 < n; i0 += bq {
		i1 := min(i0+bq, n)
		k0, k1 := max(0, i0-w), min(n, i1+w)
		m, l := i1-i0, k1-k0
		// dP_block = dO[i0:i1]·V[k0:k1]ᵀ, (m, l).
		kern.Gemm(false, true, m, l, d, 1, dO[i0*d:], d, in.V[k0*d:], d, 0, ds, l)
		denseBlock(pb, s.p, w, i0, m, k0, l)
		for r := range m {
			i := i0 + r
			prow, drow := pb[r*l:(r+1)*l], ds[r*l:(r+1)*l]
			pgrow, dgrow := s.pg[i*g:(i+1)*g], dsg[i*g:(i+1)*g]
			// Off-band entries have p = 0, so summing over the whole dense
			// block row equals summing over the band.
			var dot T
			for c, p := range prow {
				dot += p * drow[c]
			}
			for t, p := range pgrow {
				dot += p * dgrow[t]
			}
			for c, p := range prow {
				drow[c] = p * (drow[c] - dot)
			}
			for t, p := range pgrow {
				dgrow[t] = p * (dgrow[t] - dot)
			}
		}
		// dQ[i0:i1] = scale·dS·K[k0:k1]; dK[k0:k1] += scale·dSᵀ·Q[i0:i1];
		// dV[k0:k1] += Pᵀ·dO[i0:i1]. Blocks overlap in keys, so they run in
		// order and accumulate (the Gemms are parallel inside).
		kern.Gemm(false, false, m, d, l, s.scale, ds, l, in.K[k0*d:], d, 0, gr.DQ[i0*d:], d)
		kern.Gemm(true, false, l, d, m, s.scale, ds, l, in.Q[i0*d:], d, 1, gr.DK[k0*d:], d)
		kern.Gemm(true, false, l, d, m, 1, pb, l, dO[i0*d:], d, 1, gr.DV[k0*d:], d)
	}
	if g > 0 {
		// Global columns: dQ += scale·dSG·Kg; dKg = scale·dSGᵀ·Q;
		// dVg = PGᵀ·dO, scattered into rows Global of dK, dV.
		kern.Gemm(false, false, n, d, g, s.scale, dsg, g, s.kg, d, 1, gr.DQ, d)
		tk, tv := make([]T, g*d), make([]T, g*d)
		kern.Gemm(true, false, g, d, n, s.scale, dsg, g, in.Q, d, 0, tk, d)
		kern.Gemm(true, false, g, d, n, 1, s.pg, g, dO, d, 0, tv, d)
		for t, j := range cfg.Global {
			for x := range d {
				gr.DK[j*d+x] += tk[t*d+x]
				gr.DV[j*d+x] += tv[t*d+x]
			}
		}
		s.globalRowsBackward(kern, dO, gr)
	}
	return gr, nil
}

// globalRowsBackward adds the gradients of the global query rows.
func (s *State[T]) globalRowsBackward(kern kernels.Kernels[T], dO []T, gr *Grads[T]) {
	cfg, in := s.cfg, s.in
	n, d, g := cfg.N, cfg.D, len(cfg.Global)
	qg, kg, vg := s.globalProj()
	dOg := gatherRows(dO, d, cfg.Global)
	// dPQ = dOg·VGᵀ, (g, n), then dSQ = PQ ⊙ (dPQ − rowsum(PQ⊙dPQ)).
	dsq := make([]T, g*n)
	kern.Gemm(false, true, g, n, d, 1, dOg, d, vg, d, 0, dsq, n)
	kern.SoftmaxBackward(g, n, s.pq, n, dsq, n, dsq, n)

	dqg := make([]T, g*d)
	kern.Gemm(false, false, g, d, n, s.scale, dsq, n, kg, d, 0, dqg, d)
	if in.QG != nil {
		copy(gr.DQG, dqg)
	} else {
		for t, i := range cfg.Global {
			for x := range d {
				gr.DQ[i*d+x] += dqg[t*d+x]
			}
		}
	}
	// Into DK / DV directly (beta = 1) when the projections are shared.
	dk := gr.DK
	if in.KG != nil {
		dk = gr.DKG
	}
	kern.Gemm(true, false, n, d, g, s.scale, dsq, n, qg, d, 1, dk, d)
	dv := gr.DV
	if in.VG != nil {
		dv = gr.DVG
	}
	kern.Gemm(true, false, n, d, g, 1, s.pq, n, dOg, d, 1, dv, d)
}
