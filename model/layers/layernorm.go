package layers

import (
	"fmt"

	"github.com/icdcode/icdcode/model/agfn"
	"github.com/icdcode/icdcode/model/kernels"
	"github.com/nlpodyssey/spago/mat"
	"github.com/nlpodyssey/spago/mat/float"
)

// layerNorm normalises each row of x; mean and rstd are saved by Forward
// for Backward.
type layerNorm[T float.DType] struct {
	k              kernels.Kernels[T]
	x, gamma, beta mat.Tensor
	eps            T
	mean, rstd     []T
}

// LayerNorm returns y = (x − mean)/sqrt(var + eps)·gamma + beta over each
// row (biased variance, as in BERT; BERT uses eps = 1e-12).
//
//	x: (m, n); gamma, beta: (1, n) → y: (m, n)
func LayerNorm[T float.DType](k kernels.Kernels[T], x, gamma, beta mat.Tensor, eps float64) (mat.Tensor, error) {
	for _, a := range []struct {
		name string
		t    mat.Tensor
	}{{"x", x}, {"gamma", gamma}, {"beta", beta}} {
		if err := agfn.CheckType[T]("LayerNorm: "+a.name, a.t); err != nil {
			return nil, err
		}
	}
	_, n := agfn.Dims(x)
	for _, p := range []mat.Tensor{gamma, beta} {
		if r, c := agfn.Dims(p); r != 1 || c != n {
			return nil, fmt.Errorf("LayerNorm: gamma and beta must be 1×%d, got %d×%d", n, r, c)
		}
	}
	if !(eps > 0) {
		return nil, fmt.Errorf("LayerNorm: eps = %g, want > 0", eps)
	}
	return agfn.Run(&layerNorm[T]{k: k, x: x, gamma: gamma, beta: beta, eps: T(eps)}), nil
}

func (f *layerNorm[T]) Operands() []mat.Tensor { return []mat.Tensor{f.x, f.gamma, f.beta} }

func (f *layerNorm[T]) Forward() (mat.Tensor, error) {
	m, n := agfn.Dims(f.x)
	y := make([]T, m*n)
	f.mean, f.rstd = make([]T, m), make([]T, m)
	f.k.LayerNorm(m, n, agfn.Data[T](f.x), n, agfn.Data[T](f.gamma), agfn.Data[T](f.beta), f.eps, y, n, f.mean, f.rstd)
	return agfn.NewMatrix(m, n, y), nil
}

func (f *layerNorm[T]) Backward(gy mat.Tensor) error {
	m, n := agfn.Dims(f.x)
	dx := make([]T, m*n)
	dgamma, dbeta := make([]T, n), make([]T, n)
	f.k.LayerNormBackward(m, n, agfn.Data[T](gy), n, agfn.Data[T](f.x), n, agfn.Data[T](f.gamma), f.mean, f.rstd, dx, n, dgamma, dbeta)
	agfn.AccGrad(f.x, m, n, dx)
	agfn.AccGrad(f.gamma, 1, n, dgamma)
	agfn.AccGrad(f.beta, 1, n, dbeta)
	return nil
}
