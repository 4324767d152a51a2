package clq

import (
	"math"

	"github.com/icdcode/icdcode/model/agfn"
	"github.com/nlpodyssey/spago/mat"
	"github.com/nlpodyssey/spago/mat/float"
)

// pccFn is the bag's PCC vector y = (base + σ(z))/n: base is the detached
// sum of the bag's earlier probabilities, so the gradient reaches the
// current document's logits only.
type pccFn[T float.DType] struct {
	z    mat.Tensor // 1×L logits
	base []float64  // Σ σ over the bag's earlier documents (constant)
	n    float64    // documents in the bag, this one included
	sig  []float64  // σ(z), kept for the backward and the memory update
}

func (f *pccFn[T]) Operands() []mat.Tensor { return []mat.Tensor{f.z} }

func (f *pccFn[T]) Forward() (mat.Tensor, error) {
	r, c := agfn.Dims(f.z)
	zs := agfn.Data[T](f.z)
	f.sig = make([]float64, len(zs))
	y := make([]T, len(zs))
	for i, v := range zs {
		f.sig[i] = sigmoid(float64(v))
		y[i] = T((f.base[i] + f.sig[i]) / f.n)
	}
	return agfn.NewMatrix(r, c, y), nil
}

func (f *pccFn[T]) Backward(gy mat.Tensor) error {
	if !f.z.RequiresGrad() {
		return nil
	}
	r, c := agfn.Dims(f.z)
	dy := agfn.Data[T](gy)
	dz := make([]T, len(dy))
	for i, s := range f.sig {
		// ∂y/∂z = σ(z)(1 − σ(z))/n
		dz[i] = T(float64(dy[i]) * s * (1 - s) / f.n)
	}
	agfn.AccGrad(f.z, r, c, dz)
	return nil
}

// sigmoid is the logistic function, evaluated through exp(−|x|) so that it
// never overflows.
func sigmoid(x float64) float64 {
	if x >= 0 {
		return 1 / (1 + math.Exp(-x))
	}
	e := math.Exp(x)
	return e / (1 + e)
}

// scaleFn is y = c·x for a scalar x (a loss).
type scaleFn[T float.DType] struct {
	x mat.Tensor
	c float64
}

func (f *scaleFn[T]) Operands() []mat.Tensor { return []mat.Tensor{f.x} }

func (f *scaleFn[T]) Forward() (mat.Tensor, error) {
	return mat.Scalar(T(f.c * f.x.Value().Item().F64())), nil
}

func (f *scaleFn[T]) Backward(gy mat.Tensor) error {
	if f.x.RequiresGrad() {
		f.x.AccGrad(mat.Scalar(T(f.c * gy.Item().F64())))
	}
	return nil
}
