package layers

import (
	"fmt"
	"math/rand/v2"

	"github.com/icdcode/icdcode/model/agfn"
	"github.com/nlpodyssey/spago/mat"
	"github.com/nlpodyssey/spago/mat/float"
)

// dropout multiplies by a fixed mask of 0 and 1/(1−p) drawn in Forward.
type dropout[T float.DType] struct {
	x    mat.Tensor
	mask []T
}

// Dropout zeroes each element of x with probability p and scales the rest
// by 1/(1−p) (inverted dropout, as in PyTorch), with the mask drawn from
// rng, which the caller seeds and owns: the same rng state gives the same
// mask, and no global generator is touched. One uniform draw is taken per
// element in row-major order. With train false or p == 0, Dropout returns x
// itself (no operator, no draws).
//
//	x: (m, n) → y: (m, n); 0 ≤ p < 1
func Dropout[T float.DType](x mat.Tensor, p float64, train bool, rng *rand.Rand) (mat.Tensor, error) {
	if err := agfn.CheckType[T]("Dropout: x", x); err != nil {
		return nil, err
	}
	if !(p >= 0 && p < 1) {
		return nil, fmt.Errorf("Dropout: p = %g, want 0 ≤ p < 1", p)
	}
	if !train || p == 0 {
		return x, nil
	}
	if rng == nil {
		return nil, fmt.Errorf("Dropout: nil rng in training mode")
	}
	m, n := agfn.Dims(x)
	mask := make([]T, m*n)
	scale := T(1 / (1 - p))
	for i := range mask {
		if rng.Float64() >= p {
			mask[i] = scale
		}
	}
	return agfn.Run(&dropout[T]{x: x, mask: mask}), nil
}

func (f *dropout[T]) Operands() []mat.Tensor { return []mat.Tensor{f.x} }

func (f *dropout[T]) Forward() (mat.Tensor, error) {
	m, n := agfn.Dims(f.x)
	xs := agfn.Data[T](f.x)
	y := make([]T, len(xs))
	for i, v := range xs {
		y[i] = v * f.mask[i]
	}
	return agfn.NewMatrix(m, n, y), nil
}

func (f *dropout[T]) Backward(gy mat.Tensor) error {
	if !f.x.RequiresGrad() {
		return nil
	}
	m, n := agfn.Dims(f.x)
	dy := agfn.Data[T](gy)
	dx := make([]T, len(dy))
	for i, v := range dy {
		dx[i] = v * f.mask[i]
	}
	agfn.AccGrad(f.x, m, n, dx)
	return nil
}
