package layers

import (
	"fmt"

	"github.com/icdcode/icdcode/model/agfn"
	"github.com/nlpodyssey/spago/mat"
	"github.com/nlpodyssey/spago/mat/float"
)

// embedding gathers rows of a table given as one tensor per row.
type embedding[T float.DType] struct {
	used []mat.Tensor // distinct rows, in order of first use
	slot []int        // slot[i]: index in used of the row of token i
	d    int
}

// Embedding returns the matrix whose i-th row is table[ids[i]], with
// sparse gradients: the operands are only the distinct rows used, each of
// which receives one d-element gradient (the sum over its tokens, added in
// token order), so no dense vocab×d gradient is ever built. Rows may be
// 1×d or d×1 (spago's nn/embedding stores d×1 column Params); each gets its
// gradient in its own shape. See "Sparse embedding gradients" in the
// package documentation for how an optimizer sees them.
//
//	table: vocab rows of (1, d) or (d, 1); ids: (m), 0 ≤ ids[i] < vocab → y: (m, d)
func Embedding[T float.DType](table []mat.Tensor, ids []int) (mat.Tensor, error) {
	if len(table) == 0 {
		return nil, fmt.Errorf("Embedding: empty table")
	}
	if len(ids) == 0 {
		return nil, fmt.Errorf("Embedding: no ids")
	}
	f := &embedding[T]{slot: make([]int, len(ids)), d: -1}
	index := make(map[int]int) // row id → slot
	for i, id := range ids {
		if id < 0 || id >= len(table) {
			return nil, fmt.Errorf("Embedding: ids[%d] = %d outside the table of %d rows", i, id, len(table))
		}
		s, ok := index[id]
		if !ok {
			row := table[id]
			if err := agfn.CheckType[T](fmt.Sprintf("Embedding: table[%d]", id), row); err != nil {
				return nil, err
			}
			r, c := agfn.Dims(row)
			if r != 1 && c != 1 {
				return nil, fmt.Errorf("Embedding: table[%d] is %d×%d, want a vector", id, r, c)
			}
			if f.d < 0 {
				f.d = r * c
			} else if r*c != f.d {
				return nil, fmt.Errorf("Embedding: table[%d] has %d elements, earlier rows have %d", id, r*c, f.d)
			}
			s = len(f.used)
			index[id] = s
			f.used = append(f.used, row)
		}
		f.slot[i] = s
	}
	return agfn.Run(f), nil
}

func (f *embedding[T]) Operands() []mat.Tensor { return f.used }

func (f *embedding[T]) Forward() (mat.Tensor, error) {
	m, d := len(f.slot), f.d
	y := make([]T, m*d)
	for i, s := range f.slot {
		copy(y[i*d:(i+1)*d], agfn.Data[T](f.used[s]))
	}
	return agfn.NewMatrix(m, d, y), nil
}

func (f *embedding[T]) Backward(gy mat.Tensor) error {
	d := f.d
	dy := agfn.Data[T](gy)
	grads := make([]T, len(f.used)*d)
	for i, s := range f.slot {
		g := grads[s*d : (s+1)*d]
		for j, v := range dy[i*d : (i+1)*d] {
			g[j] += v
		}
	}
	for s, row := range f.used {
		r, c := agfn.Dims(row)
		agfn.AccGrad(row, r, c, grads[s*d:(s+1)*d])
	}
	return nil
}
