package heads

import (
	"fmt"

	"github.com/icdcode/icdcode/model/agfn"
	"github.com/nlpodyssey/spago/mat"
	"github.com/nlpodyssey/spago/mat/float"
)

// labelDot is the per-label dot product of label-wise contexts with
// per-label output vectors.
type labelDot[T float.DType] struct {
	x, w, b mat.Tensor // b may be nil
}

// LabelDot returns y[b, c] = Σ_h x[b·L + c, h]·w[c, h] + bias[c]: every
// label's context (one per chunk b) scored by that label's own output
// vector. LAAT's output layer (Σ over d of W_out ⊙ C, plus bias) and
// MSAM's 'bch,ch->bc' (no bias) are both this. It is a batched row-wise
// dot, not a matrix product, so there is no Gemm for it; it is a plain Go
// loop, O(B·L·d) like the data it reads. The gradient of w sums over the
// chunks in increasing b.
//
//	x: (B·L, d); w: (L, d); b: (1, L) or nil → y: (B, L)
func LabelDot[T float.DType](x, w, b mat.Tensor) (mat.Tensor, error) {
	if err := agfn.CheckType[T]("LabelDot: x", x); err != nil {
		return nil, err
	}
	if err := agfn.CheckType[T]("LabelDot: w", w); err != nil {
		return nil, err
	}
	xr, xd := agfn.Dims(x)
	l, d := agfn.Dims(w)
	if d != xd || l == 0 || d == 0 || xr == 0 || xr%l != 0 {
		return nil, fmt.Errorf("LabelDot: x is %d×%d and w %d×%d, want x (B·L)×d for w L×d", xr, xd, l, d)
	}
	if b != nil {
		if err := checkShape[T]("LabelDot: b", b, 1, l); err != nil {
			return nil, err
		}
	}
	return agfn.Run(&labelDot[T]{x: x, w: w, b: b}), nil
}

func (f *labelDot[T]) Operands() []mat.Tensor {
	if f.b == nil {
		return []mat.Tensor{f.x, f.w}
	}
	return []mat.Tensor{f.x, f.w, f.b}
}

func (f *labelDot[T]) Forward() (mat.Tensor, error) {
	xr, d := agfn.Dims(f.x)
	l, _ := agfn.Dims(f.w)
	x, w := agfn.Data[T](f.x), agfn.Data[T](f.w)
	y := make([]T, xr)
	for i := range y {
		c := i % l
		var s T
		for h, v := range x[i*d : (i+1)*d] {
			s += v * w[c*d+h]
		}
		if f.b != nil {
			s += agfn.Data[T](f.b)[c]
		}
		y[i] = s
	}
	return agfn.NewMatrix(xr/l, l, y), nil
}

func (f *labelDot[T]) Backward(gy mat.Tensor) error {
	xr, d := agfn.Dims(f.x)
	l, _ := agfn.Dims(f.w)
	x, w, dy := agfn.Data[T](f.x), agfn.Data[T](f.w), agfn.Data[T](gy)
	if f.x.RequiresGrad() {
		dx := make([]T, xr*d)
		for i := 0; i < xr; i++ {
			c := i % l
			for h := 0; h < d; h++ {
				dx[i*d+h] = dy[i] * w[c*d+h]
			}
		}
		agfn.AccGrad(f.x, xr, d, dx)
	}
	if f.w.RequiresGrad() {
		dw := make([]T, l*d)
		for i := 0; i < xr; i++ { // chunks in increasing order
			c := i % l
			for h := 0; h < d; h++ {
				dw[c*d+h] += dy[i] * x[i*d+h]
			}
		}
		agfn.AccGrad(f.w, l, d, dw)
	}
	if f.b != nil && f.b.RequiresGrad() {
		db := make([]T, l)
		for i := 0; i < xr; i++ {
			db[i%l] += dy[i]
		}
		agfn.AccGrad(f.b, 1, l, db)
	}
	return nil
}
