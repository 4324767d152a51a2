package layers

import (
	"github.com/icdcode/icdcode/model/agfn"
	"github.com/icdcode/icdcode/model/kernels"
	"github.com/nlpodyssey/spago/mat"
	"github.com/nlpodyssey/spago/mat/float"
)

// gelu is the exact (erf) GELU used by BERT and Hugging Face, not spago's
// tanh approximation.
type gelu[T float.DType] struct {
	k kernels.Kernels[T]
	x mat.Tensor
}

// GELU returns y = x·Φ(x) = 0.5·x·(1 + erf(x/√2)) elementwise.
//
//	x: (m, n) → y: (m, n)
func GELU[T float.DType](k kernels.Kernels[T], x mat.Tensor) (mat.Tensor, error) {
	if err := agfn.CheckType[T]("GELU: x", x); err != nil {
		return nil, err
	}
	return agfn.Run(&gelu[T]{k: k, x: x}), nil
}

func (f *gelu[T]) Operands() []mat.Tensor { return []mat.Tensor{f.x} }

func (f *gelu[T]) Forward() (mat.Tensor, error) {
	m, n := agfn.Dims(f.x)
	y := make([]T, m*n)
	f.k.GELU(m, n, agfn.Data[T](f.x), n, y, n)
	return agfn.NewMatrix(m, n, y), nil
}

func (f *gelu[T]) Backward(gy mat.Tensor) error {
	if !f.x.RequiresGrad() {
		return nil
	}
	m, n := agfn.Dims(f.x)
	dx := make([]T, m*n)
	f.k.GELUBackward(m, n, agfn.Data[T](f.x), n, agfn.Data[T](gy), n, dx, n)
	agfn.AccGrad(f.x, m, n, dx)
	return nil
}
