package layers

import (
	"math"

	"github.com/icdcode/icdcode/model/agfn"
	"github.com/nlpodyssey/spago/mat"
	"github.com/nlpodyssey/spago/mat/float"
)

// sigmoid keeps its output y, since dx = dy·y·(1 − y).
type sigmoid[T float.DType] struct {
	x mat.Tensor
	y []T
}

// Sigmoid returns y = 1/(1 + exp(−x)) elementwise, computed without
// overflow for large |x| (a plain Go loop: see the package documentation).
//
//	x: (m, n) → y: (m, n)
func Sigmoid[T float.DType](x mat.Tensor) (mat.Tensor, error) {
	if err := agfn.CheckType[T]("Sigmoid: x", x); err != nil {
		return nil, err
	}
	return agfn.Run(&sigmoid[T]{x: x}), nil
}

// sigmoid64 is the logistic function, evaluated through exp(−|z|) so that
// it never overflows.
func sigmoid64(z float64) float64 {
	if z >= 0 {
		return 1 / (1 + math.Exp(-z))
	}
	e := math.Exp(z)
	return e / (1 + e)
}

func (f *sigmoid[T]) Operands() []mat.Tensor { return []mat.Tensor{f.x} }

func (f *sigmoid[T]) Forward() (mat.Tensor, error) {
	m, n := agfn.Dims(f.x)
	xs := agfn.Data[T](f.x)
	f.y = make([]T, len(xs))
	for i, v := range xs {
		f.y[i] = T(sigmoid64(float64(v)))
	}
	return agfn.NewMatrix(m, n, f.y), nil
}

func (f *sigmoid[T]) Backward(gy mat.Tensor) error {
	if !f.x.RequiresGrad() {
		return nil
	}
	m, n := agfn.Dims(f.x)
	dy := agfn.Data[T](gy)
	dx := make([]T, len(dy))
	for i, y := range f.y {
		dx[i] = dy[i] * y * (1 - y)
	}
	agfn.AccGrad(f.x, m, n, dx)
	return nil
}
