package layers

import (
	"fmt"

	"github.com/nlpodyssey/spago/ag"
	"github.com/nlpodyssey/spago/mat"
	"github.com/nlpodyssey/spago/mat/float"
)

// data returns the row-major backing slice of t's value. For a *mat.Dense
// (every value spago and this package create) this is the slice itself, not
// a copy, so callers must not write to it.
func data[T float.DType](t mat.Tensor) []T {
	return mat.Data[T](t.Value())
}

// dims returns the (rows, cols) shape of t.
func dims(t mat.Tensor) (int, int) {
	s := t.Value().Shape()
	return s[0], s[1]
}

// newMatrix wraps s (not copied) as an r×c matrix.
func newMatrix[T float.DType](r, c int, s []T) *mat.Dense[T] {
	return mat.NewDense[T](mat.WithShape(r, c), mat.WithBacking(s))
}

// checkType returns an error unless t holds elements of type T: mixing
// float32 and float64 would otherwise panic deep inside spago.
func checkType[T float.DType](name string, t mat.Tensor) error {
	if t == nil {
		return fmt.Errorf("%s is nil", name)
	}
	if _, ok := t.Value().(*mat.Dense[T]); ok {
		return nil
	}
	var zero T
	return fmt.Errorf("%s is a %T, want *mat.Dense[%T]", name, t.Value(), zero)
}

// run builds and executes the operator of f synchronously: the layers do
// their own multi-threading inside the kernels, and a synchronous forward
// keeps spago from starting a goroutine per call.
func run(f ag.AutoGradFunction) mat.Tensor {
	return ag.NewOperator(f).Run()
}

// accGrad passes g (r×c, not retained: spago clones it) to t if t needs a
// gradient.
func accGrad[T float.DType](t mat.Tensor, r, c int, g []T) {
	if t.RequiresGrad() {
		t.AccGrad(newMatrix(r, c, g))
	}
}

// identity is y = x sharing x's values (zero-copy) with its own gradient.
type identity[T float.DType] struct {
	x mat.Tensor
}

func (f *identity[T]) Operands() []mat.Tensor { return []mat.Tensor{f.x} }

func (f *identity[T]) Forward() (mat.Tensor, error) {
	r, c := dims(f.x)
	return newMatrix(r, c, data[T](f.x)), nil
}

func (f *identity[T]) Backward(gy mat.Tensor) error {
	if f.x.RequiresGrad() {
		f.x.AccGrad(gy)
	}
	return nil
}

// Fanout returns k tensors equal to x for k consumers, arranged so that the
// gradient of x is summed in a fixed order (see "Determinism" in the
// package documentation). The outputs are zero-copy identity nodes in a
// chain: x → n0 → n1 → … → n(k−1), outs[i] = ni, so x receives exactly one
// gradient per pass (safe even when x is a parameter that already holds a
// gradient from earlier passes) and every ni, fresh in this graph, receives
// at most two. Use it when x feeds three or more functions.
//
//	x: (r, c) → outs[i]: (r, c), i < k
func Fanout[T float.DType](x mat.Tensor, k int) ([]mat.Tensor, error) {
	if err := checkType[T]("Fanout: x", x); err != nil {
		return nil, err
	}
	if k < 1 {
		return nil, fmt.Errorf("Fanout: k = %d, want ≥ 1", k)
	}
	outs := make([]mat.Tensor, k)
	cur := x
	for i := range outs {
		cur = run(&identity[T]{x: cur})
		outs[i] = cur
	}
	return outs, nil
}
