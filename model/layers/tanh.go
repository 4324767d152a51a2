package layers

import (
	"math"

	"github.com/icdcode/icdcode/model/agfn"
	"github.com/nlpodyssey/spago/mat"
	"github.com/nlpodyssey/spago/mat/float"
)

// tanh keeps its output y, since dx = dy·(1 − y²).
type tanh[T float.DType] struct {
	x mat.Tensor
	y []T
}

// Tanh returns y = tanh(x) elementwise (a plain Go loop: see the package
// documentation for the kernels still to add).
//
//	x: (m, n) → y: (m, n)
func Tanh[T float.DType](x mat.Tensor) (mat.Tensor, error) {
	if err := agfn.CheckType[T]("Tanh: x", x); err != nil {
		return nil, err
	}
	return agfn.Run(&tanh[T]{x: x}), nil
}

func (f *tanh[T]) Operands() []mat.Tensor { return []mat.Tensor{f.x} }

func (f *tanh[T]) Forward() (mat.Tensor, error) {
	m, n := agfn.Dims(f.x)
	xs := agfn.Data[T](f.x)
	f.y = make([]T, len(xs))
	for i, v := range xs {
		f.y[i] = T(math.Tanh(float64(v)))
	}
	return agfn.NewMatrix(m, n, f.y), nil
}

func (f *tanh[T]) Backward(gy mat.Tensor) error {
	if !f.x.RequiresGrad() {
		return nil
	}
	m, n := agfn.Dims(f.x)
	dy := agfn.Data[T](gy)
	dx := make([]T, len(dy))
	for i, y := range f.y {
		dx[i] = dy[i] * (1 - y*y)
	}
	agfn.AccGrad(f.x, m, n, dx)
	return nil
}
