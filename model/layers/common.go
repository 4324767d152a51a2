package layers

import (
	"fmt"

	"github.com/icdcode/icdcode/model/agfn"
	"github.com/nlpodyssey/spago/mat"
	"github.com/nlpodyssey/spago/mat/float"
)

// identity is y = x sharing x's values (zero-copy) with its own gradient.
type identity[T float.DType] struct {
	x mat.Tensor
}

func (f *identity[T]) Operands() []mat.Tensor { return []mat.Tensor{f.x} }

func (f *identity[T]) Forward() (mat.Tensor, error) {
	r, c := agfn.Dims(f.x)
	return agfn.NewMatrix(r, c, agfn.Data[T](f.x)), nil
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
	if err := agfn.CheckType[T]("Fanout: x", x); err != nil {
		return nil, err
	}
	if k < 1 {
		return nil, fmt.Errorf("Fanout: k = %d, want ≥ 1", k)
	}
	outs := make([]mat.Tensor, k)
	cur := x
	for i := range outs {
		cur = agfn.Run(&identity[T]{x: cur})
		outs[i] = cur
	}
	return outs, nil
}
