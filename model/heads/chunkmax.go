package heads

import (
	"fmt"

	"github.com/icdcode/icdcode/model/agfn"
	"github.com/nlpodyssey/spago/mat"
	"github.com/nlpodyssey/spago/mat/float"
)

// chunkMax is the column-wise maximum over chunks.
type chunkMax[T float.DType] struct {
	x   mat.Tensor
	arg []int // chunk chosen per label
}

// ChunkMax returns y[c] = max_b x[b, c], the document logit of label c as
// the maximum of its chunk logits (the reference's nn.MaxPool1d(n_chunks)
// in CE and CE_MSAM, §1). The gradient goes to the first maximal chunk, so
// ties are broken deterministically.
//
//	x: (B, L) → y: (1, L)
func ChunkMax[T float.DType](x mat.Tensor) (mat.Tensor, error) {
	if err := agfn.CheckType[T]("ChunkMax: x", x); err != nil {
		return nil, err
	}
	if r, c := agfn.Dims(x); r == 0 || c == 0 {
		return nil, fmt.Errorf("ChunkMax: x is %d×%d, want a nonempty matrix", r, c)
	}
	return agfn.Run(&chunkMax[T]{x: x}), nil
}

func (f *chunkMax[T]) Operands() []mat.Tensor { return []mat.Tensor{f.x} }

func (f *chunkMax[T]) Forward() (mat.Tensor, error) {
	r, l := agfn.Dims(f.x)
	x := agfn.Data[T](f.x)
	y := append([]T(nil), x[:l]...)
	f.arg = make([]int, l)
	for b := 1; b < r; b++ {
		for c, v := range x[b*l : (b+1)*l] {
			if v > y[c] {
				y[c], f.arg[c] = v, b
			}
		}
	}
	return agfn.NewMatrix(1, l, y), nil
}

func (f *chunkMax[T]) Backward(gy mat.Tensor) error {
	if !f.x.RequiresGrad() {
		return nil
	}
	r, l := agfn.Dims(f.x)
	dy := agfn.Data[T](gy)
	dx := make([]T, r*l)
	for c, b := range f.arg {
		dx[b*l+c] = dy[c]
	}
	agfn.AccGrad(f.x, r, l, dx)
	return nil
}
