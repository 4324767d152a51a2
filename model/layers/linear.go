package layers

import (
	"fmt"

	"github.com/icdcode/icdcode/model/agfn"
	"github.com/icdcode/icdcode/model/kernels"
	"github.com/nlpodyssey/spago/mat"
	"github.com/nlpodyssey/spago/mat/float"
)

// linear is y = x·w + b, b broadcast over the rows.
type linear[T float.DType] struct {
	k       kernels.Kernels[T]
	x, w, b mat.Tensor // b may be nil
}

// Linear returns y = x·w + b with the bias added to every row (b may be nil
// for no bias). The weight is stored (in × out) so that the forward is one
// plain Gemm over all tokens of the batch.
//
//	x: (m, in); w: (in, out); b: (1, out) or nil → y: (m, out)
func Linear[T float.DType](k kernels.Kernels[T], x, w, b mat.Tensor) (mat.Tensor, error) {
	if err := agfn.CheckType[T]("Linear: x", x); err != nil {
		return nil, err
	}
	if err := agfn.CheckType[T]("Linear: w", w); err != nil {
		return nil, err
	}
	_, in := agfn.Dims(x)
	wr, out := agfn.Dims(w)
	if wr != in {
		return nil, fmt.Errorf("Linear: x has %d columns but w is %d×%d", in, wr, out)
	}
	if b != nil {
		if err := agfn.CheckType[T]("Linear: b", b); err != nil {
			return nil, err
		}
		if br, bc := agfn.Dims(b); br != 1 || bc != out {
			return nil, fmt.Errorf("Linear: b is %d×%d, want 1×%d", br, bc, out)
		}
	}
	return agfn.Run(&linear[T]{k: k, x: x, w: w, b: b}), nil
}

func (f *linear[T]) Operands() []mat.Tensor {
	if f.b == nil {
		return []mat.Tensor{f.x, f.w}
	}
	return []mat.Tensor{f.x, f.w, f.b}
}

func (f *linear[T]) Forward() (mat.Tensor, error) {
	m, in := agfn.Dims(f.x)
	_, out := agfn.Dims(f.w)
	y := make([]T, m*out)
	f.k.Gemm(false, false, m, out, in, 1, agfn.Data[T](f.x), in, agfn.Data[T](f.w), out, 0, y, out)
	if f.b != nil {
		f.k.AddBias(m, out, agfn.Data[T](f.b), y, out)
	}
	return agfn.NewMatrix(m, out, y), nil
}

func (f *linear[T]) Backward(gy mat.Tensor) error {
	m, in := agfn.Dims(f.x)
	_, out := agfn.Dims(f.w)
	dy := agfn.Data[T](gy)
	if f.x.RequiresGrad() {
		// dx = dy·wᵀ: (m, out)·(out, in)
		dx := make([]T, m*in)
		f.k.Gemm(false, true, m, in, out, 1, dy, out, agfn.Data[T](f.w), out, 0, dx, in)
		agfn.AccGrad(f.x, m, in, dx)
	}
	if f.w.RequiresGrad() {
		// dw = xᵀ·dy: (in, m)·(m, out)
		dw := make([]T, in*out)
		f.k.Gemm(true, false, in, out, m, 1, agfn.Data[T](f.x), in, dy, out, 0, dw, out)
		agfn.AccGrad(f.w, in, out, dw)
	}
	if f.b != nil && f.b.RequiresGrad() {
		db := make([]T, out)
		f.k.ColSum(m, out, dy, out, db)
		agfn.AccGrad(f.b, 1, out, db)
	}
	return nil
}
