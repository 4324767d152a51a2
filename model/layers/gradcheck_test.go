package layers

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/icdcode/icdcode/model/kernels"
	"github.com/nlpodyssey/spago/ag"
	"github.com/nlpodyssey/spago/mat"
)

// backends64 are the float64 backends every kernel-based function is
// checked with.
func backends64() []kernels.Kernels[float64] {
	return []kernels.Kernels[float64]{kernels.Reference[float64](), kernels.CPU[float64]()}
}

// randSlice returns n values uniform in [lo, hi).
func randSlice(rng *rand.Rand, n int, lo, hi float64) []float64 {
	s := make([]float64, n)
	for i := range s {
		s[i] = lo + (hi-lo)*rng.Float64()
	}
	return s
}

// input is a named matrix fed to a function under a gradient check.
type input struct {
	name string
	r, c int
	v    []float64
}

func in(name string, r, c int, v []float64) input { return input{name, r, c, v} }

// reporter is the part of testing.T that gradCheck uses, so that a test
// can check that gradCheck reports a wrong gradient.
type reporter interface {
	Helper()
	Errorf(format string, args ...any)
	Fatalf(format string, args ...any)
}

// recorder is a reporter that only counts errors.
type recorder struct{ errors int }

func (r *recorder) Helper()                           {}
func (r *recorder) Errorf(format string, args ...any) { r.errors++ }
func (r *recorder) Fatalf(format string, args ...any) { panic(fmt.Sprintf(format, args...)) }

// gradCheck compares the analytic gradients of L = Σ f(inputs) ⊙ R (R a
// fixed random matrix of f's output shape) with float64 central finite
// differences (eps 1e-6) for every element of every input, and returns the
// largest norm-wise relative error ‖g − ĝ‖/max(‖g‖, ‖ĝ‖) over the inputs.
// The truncation error of central differences is O(eps²) and the rounding
// error O(1e-16/eps) relative to L, so a correct backward stays far below
// the 1e-6 bound asserted by callers.
func gradCheck(t reporter, inputs []input, f func(xs []mat.Tensor) (mat.Tensor, error)) float64 {
	t.Helper()
	build := func(vals [][]float64, grad bool) ([]*mat.Dense[float64], mat.Tensor) {
		xs := make([]*mat.Dense[float64], len(inputs))
		ts := make([]mat.Tensor, len(inputs))
		for i, a := range inputs {
			xs[i] = mat.NewDense[float64](mat.WithShape(a.r, a.c), mat.WithBacking(append([]float64(nil), vals[i]...)), mat.WithGrad(grad))
			ts[i] = xs[i]
		}
		y, err := f(ts)
		if err != nil {
			t.Fatalf("forward: %v", err)
		}
		return xs, y
	}
	vals := make([][]float64, len(inputs))
	for i, a := range inputs {
		vals[i] = a.v
	}
	xs, y := build(vals, true)
	shape := y.Value().Shape()
	rng := rand.New(rand.NewPCG(7, 7))
	weights := randSlice(rng, y.Value().Size(), -1, 1)
	y.AccGrad(mat.NewDense[float64](mat.WithShape(shape...), mat.WithBacking(weights)))
	if err := ag.Backward(y); err != nil {
		t.Fatalf("backward: %v", err)
	}
	loss := func() float64 {
		_, y := build(vals, false)
		var s float64
		for i, v := range mat.Data[float64](y.Value()) {
			s += v * weights[i]
		}
		return s
	}
	const eps = 1e-6
	worst := 0.0
	for i, a := range inputs {
		var analytic []float64
		if xs[i].HasGrad() {
			analytic = mat.Data[float64](xs[i].Grad())
		} else {
			analytic = make([]float64, len(a.v))
		}
		var diff, na, nn float64
		for j := range a.v {
			orig := vals[i][j]
			vals[i][j] = orig + eps
			lp := loss()
			vals[i][j] = orig - eps
			lm := loss()
			vals[i][j] = orig
			num := (lp - lm) / (2 * eps)
			diff += (analytic[j] - num) * (analytic[j] - num)
			na += analytic[j] * analytic[j]
			nn += num * num
		}
		den := math.Sqrt(math.Max(na, nn))
		rel := 0.0
		if den > 0 {
			rel = math.Sqrt(diff) / den
		}
		if den == 0 {
			t.Errorf("%s: zero gradient, the check would be vacuous", a.name)
		}
		if rel > 1e-6 {
			t.Errorf("%s: relative gradient error %.3g > 1e-6", a.name, rel)
		}
		worst = math.Max(worst, rel)
	}
	return worst
}

func TestGradLinear(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	x, w, b := randSlice(rng, 5*4, -1, 1), randSlice(rng, 4*3, -1, 1), randSlice(rng, 3, -1, 1)
	for _, k := range backends64() {
		e := gradCheck(t, []input{in("x", 5, 4, x), in("w", 4, 3, w), in("b", 1, 3, b)}, func(xs []mat.Tensor) (mat.Tensor, error) {
			return Linear(k, xs[0], xs[1], xs[2])
		})
		t.Logf("Linear %s: max relative error %.2e", k.Name(), e)
		e = gradCheck(t, []input{in("x", 5, 4, x), in("w", 4, 3, w)}, func(xs []mat.Tensor) (mat.Tensor, error) {
			return Linear(k, xs[0], xs[1], nil)
		})
		t.Logf("Linear (no bias) %s: max relative error %.2e", k.Name(), e)
	}
}

func TestGradLayerNorm(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	x, g, b := randSlice(rng, 4*6, -2, 2), randSlice(rng, 6, 0.5, 1.5), randSlice(rng, 6, -1, 1)
	for _, k := range backends64() {
		e := gradCheck(t, []input{in("x", 4, 6, x), in("gamma", 1, 6, g), in("beta", 1, 6, b)}, func(xs []mat.Tensor) (mat.Tensor, error) {
			return LayerNorm(k, xs[0], xs[1], xs[2], 1e-12)
		})
		t.Logf("LayerNorm %s: max relative error %.2e", k.Name(), e)
	}
}

func TestGradGELU(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 3))
	x := randSlice(rng, 4*5, -4, 4)
	for _, k := range backends64() {
		e := gradCheck(t, []input{in("x", 4, 5, x)}, func(xs []mat.Tensor) (mat.Tensor, error) {
			return GELU(k, xs[0])
		})
		t.Logf("GELU %s: max relative error %.2e", k.Name(), e)
	}
}

// attentionMask is the 0/1 mask of a batch of two sequences of lengths 5
// and 3, padded to 5.
var attentionMask = []int{1, 1, 1, 1, 1, 1, 1, 1, 0, 0}

func TestGradSelfAttention(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 4))
	const n, heads, d = 5, 3, 6
	qkv := randSlice(rng, 2*n*3*d, -1.5, 1.5)
	for _, k := range backends64() {
		for _, mask := range [][]int{nil, attentionMask} {
			e := gradCheck(t, []input{in("qkv", 2*n, 3*d, qkv)}, func(xs []mat.Tensor) (mat.Tensor, error) {
				return SelfAttention(k, xs[0], heads, n, mask)
			})
			t.Logf("SelfAttention %s (mask %v): max relative error %.2e", k.Name(), mask != nil, e)
		}
	}
}

func TestGradElementwise(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 5))
	x := randSlice(rng, 3*4, -3, 3)
	y := randSlice(rng, 3*4, 0, 1)
	for _, c := range []struct {
		name string
		ins  []input
		f    func(xs []mat.Tensor) (mat.Tensor, error)
	}{
		{"Tanh", []input{in("x", 3, 4, x)}, func(xs []mat.Tensor) (mat.Tensor, error) { return Tanh[float64](xs[0]) }},
		{"Sigmoid", []input{in("x", 3, 4, x)}, func(xs []mat.Tensor) (mat.Tensor, error) { return Sigmoid[float64](xs[0]) }},
		{"Add", []input{in("a", 3, 4, x), in("b", 3, 4, y)}, func(xs []mat.Tensor) (mat.Tensor, error) { return Add[float64](xs[0], xs[1]) }},
		{"Dropout", []input{in("x", 3, 4, x)}, func(xs []mat.Tensor) (mat.Tensor, error) {
			return Dropout[float64](xs[0], 0.3, true, rand.New(rand.NewPCG(3, 4)))
		}},
		{"BCEWithLogits/mean", []input{in("z", 3, 4, x), in("y", 3, 4, y)}, func(xs []mat.Tensor) (mat.Tensor, error) {
			return BCEWithLogits[float64](xs[0], xs[1], Mean)
		}},
		{"BCEWithLogits/sum", []input{in("z", 3, 4, x), in("y", 3, 4, y)}, func(xs []mat.Tensor) (mat.Tensor, error) {
			return BCEWithLogits[float64](xs[0], xs[1], Sum)
		}},
		// Residuals x − y lie in (−4, 3), so delta 1 exercises both
		// branches; no residual is within eps of ±delta.
		{"Huber/mean", []input{in("pred", 3, 4, x), in("target", 3, 4, y)}, func(xs []mat.Tensor) (mat.Tensor, error) {
			return Huber[float64](xs[0], xs[1], 1, Mean)
		}},
		{"Huber/sum", []input{in("pred", 3, 4, x), in("target", 3, 4, y)}, func(xs []mat.Tensor) (mat.Tensor, error) {
			return Huber[float64](xs[0], xs[1], 1, Sum)
		}},
	} {
		e := gradCheck(t, c.ins, c.f)
		t.Logf("%s: max relative error %.2e", c.name, e)
	}
}

func TestGradEmbedding(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 6))
	const vocab, d = 6, 4
	ids := []int{3, 1, 3, 5, 0, 3}
	var ins []input
	for i := 0; i < vocab; i++ {
		r, c := 1, d
		if i%2 == 1 { // spago's d×1 column rows as well as 1×d rows
			r, c = d, 1
		}
		ins = append(ins, in("row", r, c, randSlice(rng, d, -1, 1)))
	}
	// Only rows 0, 1, 3 and 5 are used: check those, and that rows 2 and
	// 4 get no gradient at all.
	used := []input{ins[0], ins[1], ins[3], ins[5]}
	e := gradCheck(t, used, func(xs []mat.Tensor) (mat.Tensor, error) {
		table := []mat.Tensor{xs[0], xs[1], nil, xs[2], nil, xs[3]}
		return Embedding[float64](table, ids)
	})
	t.Logf("Embedding: max relative error %.2e", e)

	table := make([]mat.Tensor, vocab)
	for i, a := range ins {
		table[i] = mat.NewDense[float64](mat.WithShape(a.r, a.c), mat.WithBacking(a.v), mat.WithGrad(true))
	}
	y, err := Embedding[float64](table, ids)
	if err != nil {
		t.Fatal(err)
	}
	y.AccGrad(mat.NewDense[float64](mat.WithShape(len(ids), d), mat.WithBacking(randSlice(rng, len(ids)*d, -1, 1))))
	if err := ag.Backward(y); err != nil {
		t.Fatal(err)
	}
	for i, row := range table {
		want := i == 0 || i == 1 || i == 3 || i == 5
		if row.HasGrad() != want {
			t.Errorf("row %d: HasGrad %v, want %v", i, row.HasGrad(), want)
		}
		if want && !equalShape(row.Grad().Shape(), row.Shape()) {
			t.Errorf("row %d: gradient shape %v, row shape %v", i, row.Grad().Shape(), row.Shape())
		}
	}
}

func equalShape(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// scaledGrad is y = x with a backward that is off by 1e-4 relative: the
// gradient check must catch it.
type scaledGrad struct{ x mat.Tensor }

func (f *scaledGrad) Operands() []mat.Tensor { return []mat.Tensor{f.x} }
func (f *scaledGrad) Forward() (mat.Tensor, error) {
	return f.x.Value().(mat.Matrix).Clone(), nil
}
func (f *scaledGrad) Backward(gy mat.Tensor) error {
	f.x.AccGrad(gy.(mat.Matrix).ProdScalar(1 + 1e-4))
	return nil
}

func TestGradCheckCatchesErrors(t *testing.T) {
	inner := &recorder{}
	rng := rand.New(rand.NewPCG(1, 9))
	e := gradCheck(inner, []input{in("x", 2, 3, randSlice(rng, 6, -1, 1))}, func(xs []mat.Tensor) (mat.Tensor, error) {
		return ag.NewOperator(&scaledGrad{x: xs[0]}).Run(), nil
	})
	if e < 5e-5 || inner.errors != 1 {
		t.Errorf("a 1e-4 gradient error gave relative error %.2g and %d errors, want 1", e, inner.errors)
	}
}
