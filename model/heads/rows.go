package heads

import (
	"fmt"

	"github.com/icdcode/icdcode/model/agfn"
	"github.com/nlpodyssey/spago/mat"
	"github.com/nlpodyssey/spago/mat/float"
)

// rows gathers rows of a matrix.
type rows[T float.DType] struct {
	x   mat.Tensor
	idx []int
}

// Rows returns the rows idx of x, in that order: the [CLS] row of every
// chunk for the CE pooler, row 0 for the LE head. Indices must be distinct
// so that the backward scatter writes each gradient row once.
//
//	x: (m, d); idx: n distinct indices in [0, m) → y: (n, d)
func Rows[T float.DType](x mat.Tensor, idx []int) (mat.Tensor, error) {
	if err := agfn.CheckType[T]("Rows: x", x); err != nil {
		return nil, err
	}
	m, _ := agfn.Dims(x)
	if len(idx) == 0 {
		return nil, fmt.Errorf("Rows: no indices")
	}
	seen := make(map[int]bool, len(idx))
	for _, i := range idx {
		if i < 0 || i >= m {
			return nil, fmt.Errorf("Rows: index %d out of range for %d rows", i, m)
		}
		if seen[i] {
			return nil, fmt.Errorf("Rows: index %d repeated", i)
		}
		seen[i] = true
	}
	return agfn.Run(&rows[T]{x: x, idx: append([]int(nil), idx...)}), nil
}

func (f *rows[T]) Operands() []mat.Tensor { return []mat.Tensor{f.x} }

func (f *rows[T]) Forward() (mat.Tensor, error) {
	_, d := agfn.Dims(f.x)
	x := agfn.Data[T](f.x)
	y := make([]T, len(f.idx)*d)
	for o, i := range f.idx {
		copy(y[o*d:(o+1)*d], x[i*d:(i+1)*d])
	}
	return agfn.NewMatrix(len(f.idx), d, y), nil
}

func (f *rows[T]) Backward(gy mat.Tensor) error {
	if !f.x.RequiresGrad() {
		return nil
	}
	m, d := agfn.Dims(f.x)
	dy := agfn.Data[T](gy)
	dx := make([]T, m*d)
	for o, i := range f.idx {
		copy(dx[i*d:(i+1)*d], dy[o*d:(o+1)*d])
	}
	agfn.AccGrad(f.x, m, d, dx)
	return nil
}
