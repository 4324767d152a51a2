// Package agfn holds the few helpers every icdcode autograd function on
// spago's ag graph needs (model/layers, model/heads): reading a tensor's
// backing slice, wrapping a slice as a matrix, checking element types before
// an operator is built (spago turns errors inside Forward/Backward into
// log.Fatalf), running an operator synchronously and handing a gradient to an
// operand.
package agfn

import (
	"fmt"

	"github.com/nlpodyssey/spago/ag"
	"github.com/nlpodyssey/spago/mat"
	"github.com/nlpodyssey/spago/mat/float"
)

// Data returns the row-major backing slice of t's value. For a *mat.Dense
// (every value spago and icdcode create) this is the slice itself, not a
// copy, so callers must not write to it.
func Data[T float.DType](t mat.Tensor) []T {
	return mat.Data[T](t.Value())
}

// Dims returns the (rows, cols) shape of t.
func Dims(t mat.Tensor) (int, int) {
	s := t.Value().Shape()
	return s[0], s[1]
}

// NewMatrix wraps s (not copied) as an r×c matrix.
func NewMatrix[T float.DType](r, c int, s []T) *mat.Dense[T] {
	return mat.NewDense[T](mat.WithShape(r, c), mat.WithBacking(s))
}

// CheckType returns an error unless t holds a 2-D matrix of elements of type
// T: mixing float32 and float64 would otherwise panic deep inside spago,
// where errors become log.Fatalf.
func CheckType[T float.DType](name string, t mat.Tensor) error {
	if t == nil {
		return fmt.Errorf("%s is nil", name)
	}
	if _, ok := t.Value().(*mat.Dense[T]); !ok {
		var zero T
		return fmt.Errorf("%s is a %T, want *mat.Dense[%T]", name, t.Value(), zero)
	}
	if len(t.Value().Shape()) != 2 {
		return fmt.Errorf("%s has shape %v, want a matrix", name, t.Value().Shape())
	}
	return nil
}

// Run builds and executes the operator of f synchronously: the kernels do
// their own multi-threading, and a synchronous forward keeps spago from
// starting a goroutine per call.
func Run(f ag.AutoGradFunction) mat.Tensor {
	return ag.NewOperator(f).Run()
}

// AccGrad passes g (r×c, not retained: spago clones it) to t if t needs a
// gradient. Every Backward calls it exactly once per operand that requires
// a gradient, or spago's backward pass waits forever for the missing
// contribution.
func AccGrad[T float.DType](t mat.Tensor, r, c int, g []T) {
	if t.RequiresGrad() {
		t.AccGrad(NewMatrix(r, c, g))
	}
}
