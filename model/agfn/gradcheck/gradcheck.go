// Package gradcheck compares the gradients that autograd functions compute
// with float64 central finite differences. It is test support for the
// packages that define autograd functions (model/heads, quant/clq), shared
// so that every gradient check measures the same thing the same way.
package gradcheck

import (
	"math"
	"math/rand/v2"

	"github.com/nlpodyssey/spago/ag"
	"github.com/nlpodyssey/spago/mat"
)

// Tensor is a float64 tensor under check: a leaf or an *nn.Param whose value
// is a *mat.Dense[float64], which Check perturbs in place (and restores).
type Tensor struct {
	Name string
	T    mat.Tensor
}

// Reporter is the part of testing.T that Check uses.
type Reporter interface {
	Helper()
	Errorf(format string, args ...any)
	Fatalf(format string, args ...any)
}

// Bound is the largest relative error Check accepts.
const Bound = 1e-6

// Check compares the analytic gradients of L = Σ f() ⊙ R (R a fixed random
// matrix of f's output shape; for a scalar f, a fixed random multiple of it)
// with central finite differences (eps 1e-6) for every element of every
// tensor in ts, which f reads, and returns the largest norm-wise relative
// error ‖g − ĝ‖/max(‖g‖, ‖ĝ‖). The truncation error is O(eps²) and the
// rounding error O(1e-16/eps) relative to L, so a correct backward stays far
// below Bound, which Check asserts; a tensor whose gradient is zero both
// ways is an error too, since checking it proves nothing.
func Check(t Reporter, ts []Tensor, f func() (mat.Tensor, error)) float64 {
	t.Helper()
	for _, x := range ts {
		x.T.ZeroGrad()
	}
	y, err := f()
	if err != nil {
		t.Fatalf("forward: %v", err)
	}
	rng := rand.New(rand.NewPCG(7, 7))
	weights := make([]float64, y.Value().Size())
	for i := range weights {
		weights[i] = 2*rng.Float64() - 1
	}
	y.AccGrad(mat.NewDense[float64](mat.WithShape(y.Value().Shape()...), mat.WithBacking(append([]float64(nil), weights...))))
	if err := ag.Backward(y); err != nil {
		t.Fatalf("backward: %v", err)
	}
	loss := func() float64 {
		y, err := f()
		if err != nil {
			t.Fatalf("forward: %v", err)
		}
		var s float64
		for i, v := range mat.Data[float64](y.Value()) {
			s += v * weights[i]
		}
		return s
	}
	const eps = 1e-6
	worst := 0.0
	for _, x := range ts {
		vals := mat.Data[float64](x.T.Value())
		analytic := make([]float64, len(vals))
		if x.T.HasGrad() {
			copy(analytic, mat.Data[float64](x.T.Grad()))
		}
		var diff, na, nn float64
		for j := range vals {
			orig := vals[j]
			vals[j] = orig + eps
			lp := loss()
			vals[j] = orig - eps
			lm := loss()
			vals[j] = orig
			num := (lp - lm) / (2 * eps)
			diff += (analytic[j] - num) * (analytic[j] - num)
			na += analytic[j] * analytic[j]
			nn += num * num
		}
		den := math.Sqrt(math.Max(na, nn))
		if den == 0 {
			t.Errorf("%s: zero gradient, the check would be vacuous", x.Name)
			continue
		}
		rel := math.Sqrt(diff) / den
		if rel > Bound {
			t.Errorf("%s: relative gradient error %.3g > %g", x.Name, rel, Bound)
		}
		worst = math.Max(worst, rel)
	}
	return worst
}
