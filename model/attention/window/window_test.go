package window

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/icdcode/icdcode/model/kernels"
)

// denseCase is one attention problem in float64, with the inputs and the
// upstream gradient.
type denseCase struct {
	cfg Config
	in  Inputs[float64]
	dO  []float64
}

// allowed is the dense n×n mask equivalent to the band/global structure:
// may query i attend to key j?
func (c *denseCase) allowed(i, j int, isG []bool) bool {
	cfg := &c.cfg
	if !cfg.valid(i) || !cfg.valid(j) {
		return false
	}
	if isG[i] || isG[j] {
		return true
	}
	return abs(i-j) <= cfg.W
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// denseRef computes O and the gradients the slow way: for every query, the
// full row of n scores with the dense mask, a masked softmax, the product,
// and the textbook backward. It shares no code with the package (except
// Config.valid) so that it checks the band layout and the global handling.
func denseRef(c *denseCase) (out []float64, gr Grads[float64]) {
	cfg, in := c.cfg, c.in
	n, d := cfg.N, cfg.D
	scale := cfg.Scale
	if scale == 0 {
		scale = 1 / math.Sqrt(float64(d))
	}
	isG := make([]bool, n)
	gIdx := make([]int, n)
	for t, j := range cfg.Global {
		isG[j], gIdx[j] = true, t
	}
	g := len(cfg.Global)
	out = make([]float64, n*d)
	gr = Grads[float64]{DQ: make([]float64, n*d), DK: make([]float64, n*d), DV: make([]float64, n*d)}
	if in.QG != nil {
		gr.DQG = make([]float64, g*d)
	}
	if in.KG != nil {
		gr.DKG = make([]float64, n*d)
	}
	if in.VG != nil {
		gr.DVG = make([]float64, n*d)
	}
	row := func(m []float64, i int) []float64 { return m[i*d : (i+1)*d] }
	for i := range n {
		// Pick the projections this query uses and where their gradients go.
		q, dq := row(in.Q, i), row(gr.DQ, i)
		K, V, dK, dV := in.K, in.V, gr.DK, gr.DV
		if isG[i] {
			if in.QG != nil {
				q, dq = row(in.QG, gIdx[i]), row(gr.DQG, gIdx[i])
			}
			if in.KG != nil {
				K, dK = in.KG, gr.DKG
			}
			if in.VG != nil {
				V, dV = in.VG, gr.DVG
			}
		}
		s := make([]float64, n)
		mx := math.Inf(-1)
		for j := range n {
			s[j] = math.Inf(-1)
			if c.allowed(i, j, isG) {
				var dot float64
				for x := range d {
					dot += q[x] * K[j*d+x]
				}
				s[j] = dot * scale
				mx = max(mx, s[j])
			}
		}
		if math.IsInf(mx, -1) {
			continue // no key: zero output and gradients
		}
		var sum float64
		p := make([]float64, n)
		for j := range n {
			if !math.IsInf(s[j], -1) {
				p[j] = math.Exp(s[j] - mx)
				sum += p[j]
			}
		}
		for j := range n {
			p[j] /= sum
			for x := range d {
				out[i*d+x] += p[j] * V[j*d+x]
			}
		}
		// Backward of this row.
		do := row(c.dO, i)
		dp := make([]float64, n)
		var dot float64
		for j := range n {
			for x := range d {
				dp[j] += do[x] * V[j*d+x]
				dV[j*d+x] += p[j] * do[x]
			}
			dot += p[j] * dp[j]
		}
		for j := range n {
			dsj := p[j] * (dp[j] - dot) * scale
			for x := range d {
				dq[x] += dsj * K[j*d+x]
				dK[j*d+x] += dsj * q[x]
			}
		}
	}
	return out, gr
}

func randSlice(r *rand.Rand, n int) []float64 {
	s := make([]float64, n)
	for i := range s {
		s[i] = r.NormFloat64()
	}
	return s
}

// newCase builds a random case. pad is the padding pattern: "none",
// "tail" (last third padded), "all", "random"; sep selects separate global
// projections.
func newCase(r *rand.Rand, n, w, d int, global []int, pad string, sep bool) *denseCase {
	c := &denseCase{cfg: Config{N: n, D: d, W: w, Global: global}}
	switch pad {
	case "tail":
		c.cfg.Mask = make([]bool, n)
		for i := range n {
			c.cfg.Mask[i] = i < n-n/3
		}
	case "all":
		c.cfg.Mask = make([]bool, n)
	case "random":
		c.cfg.Mask = make([]bool, n)
		for i := range n {
			c.cfg.Mask[i] = r.Float64() < 0.7
		}
	}
	// Scores of order 1–3 so that the softmax is neither flat nor one-hot.
	c.in = Inputs[float64]{Q: randSlice(r, n*d), K: randSlice(r, n*d), V: randSlice(r, n*d)}
	if sep {
		c.in.QG = randSlice(r, len(global)*d)
		c.in.KG = randSlice(r, n*d)
		c.in.VG = randSlice(r, n*d)
	}
	c.dO = randSlice(r, n*d)
	return c
}

func maxAbsDiff(a, b []float64) float64 {
	if len(a) != len(b) {
		return math.Inf(1)
	}
	var m float64
	for i := range a {
		e := math.Abs(a[i] - b[i])
		if math.IsNaN(e) {
			return math.Inf(1)
		}
		m = max(m, e)
	}
	return m
}

// run runs Forward and Backward of the package on c.
func run(t *testing.T, k kernels.Kernels[float64], c *denseCase) ([]float64, *Grads[float64], *State[float64]) {
	t.Helper()
	out := make([]float64, c.cfg.N*c.cfg.D)
	st, err := Forward(k, c.cfg, c.in, out)
	if err != nil {
		t.Fatal(err)
	}
	gr, err := Backward(k, st, c.dO)
	if err != nil {
		t.Fatal(err)
	}
	return out, gr, st
}

// gradErrs returns the max abs differences of all gradients, by name.
func gradErrs(a *Grads[float64], b *Grads[float64]) map[string]float64 {
	return map[string]float64{
		"dQ": maxAbsDiff(a.DQ, b.DQ), "dK": maxAbsDiff(a.DK, b.DK), "dV": maxAbsDiff(a.DV, b.DV),
		"dQG": maxAbsDiff(a.DQG, b.DQG), "dKG": maxAbsDiff(a.DKG, b.DKG), "dVG": maxAbsDiff(a.DVG, b.DVG),
	}
}

func globalSets(r *rand.Rand, n int) [][]int {
	sets := [][]int{nil, {0}}
	if n > 1 {
		sets = append(sets, []int{0, n - 1})
	}
	if n > 4 {
		var s []int
		for i := range n {
			if r.Float64() < 0.15 {
				s = append(s, i)
			}
		}
		sets = append(sets, s)
	}
	return sets
}

// TestMatchesDense compares forward and backward with the dense reference
// over many shapes, windows, global sets and padding patterns, with both
// backends.
func TestMatchesDense(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	backends := []kernels.Kernels[float64]{kernels.Reference[float64](), kernels.CPU[float64]()}
	var worstOut, worstGrad float64
	cases := 0
	for _, n := range []int{1, 2, 3, 5, 8, 17, 40, 97, 300} {
		for _, w := range []int{0, 1, 2, 3, 7, 33, 64} {
			for _, d := range []int{1, 4, 8} {
				for _, gs := range globalSets(r, n) {
					for _, pad := range []string{"none", "tail", "all", "random"} {
						sep := r.IntN(2) == 0
						c := newCase(r, n, w, d, gs, pad, sep)
						k := backends[cases%2]
						cases++
						wantOut, wantGr := denseRef(c)
						out, gr, _ := run(t, k, c)
						name := fmt.Sprintf("n=%d w=%d d=%d global=%v pad=%s sep=%v %s", n, w, d, gs, pad, sep, k.Name())
						e := maxAbsDiff(out, wantOut)
						worstOut = max(worstOut, e)
						if e > 1e-12 {
							t.Fatalf("%s: output max error %g", name, e)
						}
						for g, e := range gradErrs(gr, &wantGr) {
							worstGrad = max(worstGrad, e)
							if e > 1e-11 {
								t.Fatalf("%s: %s max error %g", name, g, e)
							}
						}
					}
				}
			}
		}
	}
	t.Logf("%d cases: max |O−dense| = %.3g, max |grad−dense| = %.3g", cases, worstOut, worstGrad)
}

// TestStructure checks the saved band layout directly: every local row of
// [P | PG] sums to 1, global keys inside the window appear only in PG,
// padded and all-masked rows are exactly zero (no NaN).
func TestStructure(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	c := newCase(r, 50, 6, 4, []int{0, 10, 12, 49}, "tail", false)
	c.cfg.Mask[12] = false // a padded global position: neither query nor key
	out, _, st := run(t, kernels.CPU[float64](), c)
	n, w, nb, g := c.cfg.N, c.cfg.W, 2*c.cfg.W+1, len(c.cfg.Global)
	isG := map[int]bool{0: true, 10: true, 12: true, 49: true}
	for i := range n {
		var sum float64
		for b := range nb {
			p := st.Band()[i*nb+b]
			if j := i - w + b; p != 0 && (j < 0 || j >= n || isG[j] || !c.cfg.Mask[j]) {
				t.Fatalf("P[%d,%d] = %g for masked key %d", i, b, p, j)
			}
			sum += p
		}
		for tt := range g {
			sum += st.GlobalCols()[i*g+tt]
		}
		local := c.cfg.Mask[i] && !isG[i]
		if local && math.Abs(sum-1) > 1e-12 {
			t.Fatalf("local row %d sums to %g", i, sum)
		}
		if !local && sum != 0 {
			t.Fatalf("non-local row %d has band mass %g", i, sum)
		}
		if !c.cfg.Mask[i] {
			for x := range c.cfg.D {
				if out[i*c.cfg.D+x] != 0 {
					t.Fatalf("padded query %d has output %g", i, out[i*c.cfg.D+x])
				}
			}
		}
	}
	if st.GlobalCols()[5*g+2] != 0 {
		t.Fatal("padded global key 12 is attended to")
	}
	for j := range n {
		if s := st.GlobalRows()[2*n+j]; s != 0 {
			t.Fatal("padded global query 12 has probabilities")
		}
	}

	// All keys masked: zeros, not NaN.
	c = newCase(r, 7, 2, 3, []int{0}, "all", true)
	out, gr, _ := run(t, kernels.CPU[float64](), c)
	for _, s := range [][]float64{out, gr.DQ, gr.DK, gr.DV, gr.DQG, gr.DKG, gr.DVG} {
		for _, v := range s {
			if v != 0 {
				t.Fatalf("all-padded sequence: got %g, want 0", v)
			}
		}
	}
}

// loss is Σ O ⊙ dO, whose gradient is the Backward of dO.
func loss(t *testing.T, c *denseCase) float64 {
	out := make([]float64, c.cfg.N*c.cfg.D)
	if _, err := Forward(kernels.Reference[float64](), c.cfg, c.in, out); err != nil {
		t.Fatal(err)
	}
	var l float64
	for i, o := range out {
		l += o * c.dO[i]
	}
	return l
}

// TestFiniteDifferences checks every gradient entry against central
// differences of Σ O ⊙ dO, with shared and separate global projections.
func TestFiniteDifferences(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for _, sep := range []bool{false, true} {
		for _, gs := range [][]int{nil, {0}, {0, 6}} {
			c := newCase(r, 11, 2, 3, gs, "tail", sep)
			c.cfg.Mask[4] = false // an interior pad as well
			_, gr, _ := run(t, kernels.Reference[float64](), c)
			params := map[string][2][]float64{
				"Q": {c.in.Q, gr.DQ}, "K": {c.in.K, gr.DK}, "V": {c.in.V, gr.DV},
			}
			if sep {
				params["QG"] = [2][]float64{c.in.QG, gr.DQG}
				params["KG"] = [2][]float64{c.in.KG, gr.DKG}
				params["VG"] = [2][]float64{c.in.VG, gr.DVG}
			}
			const h = 1e-5
			for name, pg := range params {
				x, an := pg[0], pg[1]
				var diff, ref float64
				for i := range x {
					x0 := x[i]
					x[i] = x0 + h
					lp := loss(t, c)
					x[i] = x0 - h
					lm := loss(t, c)
					x[i] = x0
					fd := (lp - lm) / (2 * h)
					diff = max(diff, math.Abs(fd-an[i]))
					ref = max(ref, math.Abs(fd))
				}
				rel := diff / max(ref, 1e-30)
				// A zero gradient would make the check vacuous; it is only
				// expected for the global projections with no global token.
				vacuous := ref == 0 && !(len(gs) == 0 && strings.HasSuffix(name, "G"))
				if rel > 1e-6 || vacuous {
					t.Errorf("global=%v sep=%v d%s: relative error %.3g (max |fd| %.3g)", gs, sep, name, rel, ref)
				}
				t.Logf("global=%v sep=%v d%s: relative error %.2g", gs, sep, name, rel)
			}
		}
	}
}

func to32(s []float64) []float32 {
	if s == nil {
		return nil
	}
	o := make([]float32, len(s))
	for i, v := range s {
		o[i] = float32(v)
	}
	return o
}

func maxAbsDiff32(a []float32, b []float64) float64 {
	if len(a) != len(b) {
		return math.Inf(1)
	}
	var m float64
	for i := range a {
		m = max(m, math.Abs(float64(a[i])-b[i]))
	}
	return m
}

// TestFloat32 checks that float32 agrees with float64 to float32 accuracy.
func TestFloat32(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for _, sep := range []bool{false, true} {
		c := newCase(r, 300, 40, 16, []int{0, 150}, "tail", sep)
		out64, gr64, _ := run(t, kernels.CPU[float64](), c)
		k := kernels.CPU[float32]()
		in := Inputs[float32]{Q: to32(c.in.Q), K: to32(c.in.K), V: to32(c.in.V), QG: to32(c.in.QG), KG: to32(c.in.KG), VG: to32(c.in.VG)}
		out := make([]float32, len(out64))
		st, err := Forward(k, c.cfg, in, out)
		if err != nil {
			t.Fatal(err)
		}
		gr, err := Backward(k, st, to32(c.dO))
		if err != nil {
			t.Fatal(err)
		}
		errs := map[string]float64{
			"O": maxAbsDiff32(out, out64), "dQ": maxAbsDiff32(gr.DQ, gr64.DQ), "dK": maxAbsDiff32(gr.DK, gr64.DK),
			"dV": maxAbsDiff32(gr.DV, gr64.DV), "dQG": maxAbsDiff32(gr.DQG, gr64.DQG),
			"dKG": maxAbsDiff32(gr.DKG, gr64.DKG), "dVG": maxAbsDiff32(gr.DVG, gr64.DVG),
		}
		for name, e := range errs {
			if e > 2e-5 {
				t.Errorf("sep=%v %s: float32 vs float64 max error %.3g", sep, name, e)
			}
		}
		t.Logf("sep=%v float32 vs float64 max errors: %v", sep, errs)
	}
}

// TestErrors checks that misuse is reported as errors, not panics.
func TestErrors(t *testing.T) {
	k := kernels.Reference[float64]()
	ok := Inputs[float64]{Q: make([]float64, 12), K: make([]float64, 12), V: make([]float64, 12)}
	out := make([]float64, 12)
	base := Config{N: 4, D: 3, W: 1}
	for _, tc := range []struct {
		cfg  Config
		in   Inputs[float64]
		out  []float64
		want string
	}{
		{Config{N: 4, D: 0, W: 1}, ok, out, "invalid shape"},
		{Config{N: 4, D: 3, W: -1}, ok, out, "invalid shape"},
		{base, Inputs[float64]{Q: ok.Q, K: make([]float64, 11), V: ok.V}, out, "K has 11"},
		{base, ok, out[:11], "out has 11"},
		{Config{N: 4, D: 3, W: 1, Mask: []bool{true}}, ok, out, "mask has length"},
		{Config{N: 4, D: 3, W: 1, Global: []int{4}}, ok, out, "out of range"},
		{Config{N: 4, D: 3, W: 1, Global: []int{2, 1}}, ok, out, "strictly increasing"},
		{Config{N: 4, D: 3, W: 1, Global: []int{1}}, Inputs[float64]{Q: ok.Q, K: ok.K, V: ok.V, QG: make([]float64, 2)}, out, "QG has 2"},
		{Config{N: 4, D: 3, W: 1, Global: []int{1}}, Inputs[float64]{Q: ok.Q, K: ok.K, V: ok.V, VG: make([]float64, 3)}, out, "VG has 3"},
		{Config{N: 4, D: 3, W: 1, Scale: math.NaN()}, ok, out, "invalid scale"},
	} {
		_, err := Forward(k, tc.cfg, tc.in, tc.out)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: got error %v, want one containing %q", tc.cfg, err, tc.want)
		}
	}
	st, err := Forward(k, base, ok, out)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Backward(k, st, make([]float64, 5)); err == nil {
		t.Error("Backward accepted a short dO")
	}
	if _, err := Backward[float64](k, nil, out); err == nil {
		t.Error("Backward accepted a nil State")
	}
}
