package encoder

import (
	"fmt"

	"github.com/nlpodyssey/spago/ag"
	"github.com/nlpodyssey/spago/mat"
	"github.com/nlpodyssey/spago/mat/float"
)

// selectRows is y = x[rows], the gather behind the pooler's CLS rows.
type selectRows[T float.DType] struct {
	x    mat.Tensor
	rows []int
}

func (f *selectRows[T]) Operands() []mat.Tensor { return []mat.Tensor{f.x} }

func (f *selectRows[T]) Forward() (mat.Tensor, error) {
	c := f.x.Value().Shape()[1]
	xs := mat.Data[T](f.x.Value())
	y := make([]T, len(f.rows)*c)
	for i, r := range f.rows {
		copy(y[i*c:(i+1)*c], xs[r*c:(r+1)*c])
	}
	return mat.NewDense[T](mat.WithShape(len(f.rows), c), mat.WithBacking(y)), nil
}

// Backward scatters gy into a zero gradient of x's shape (rows selected
// twice get both contributions, added in order).
func (f *selectRows[T]) Backward(gy mat.Tensor) error {
	if !f.x.RequiresGrad() {
		return nil
	}
	s := f.x.Value().Shape()
	c := s[1]
	gs := mat.Data[T](gy)
	g := make([]T, s[0]*c)
	for i, r := range f.rows {
		dst := g[r*c : (r+1)*c]
		for j, v := range gs[i*c : (i+1)*c] {
			dst[j] += v
		}
	}
	f.x.AccGrad(mat.NewDense[T](mat.WithShape(s[0], c), mat.WithBacking(g)))
	return nil
}

// SelectRows returns the matrix of rows rows of x (e.g. the CLS row of
// every sequence of a stacked batch).
//
//	x: (m, c); rows: (r), 0 ≤ rows[i] < m → y: (r, c)
func SelectRows[T float.DType](x mat.Tensor, rows []int) (mat.Tensor, error) {
	if x == nil {
		return nil, fmt.Errorf("SelectRows: x is nil")
	}
	if _, ok := x.Value().(*mat.Dense[T]); !ok {
		var zero T
		return nil, fmt.Errorf("SelectRows: x is a %T, want *mat.Dense[%T]", x.Value(), zero)
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("SelectRows: no rows")
	}
	m := x.Value().Shape()[0]
	for i, r := range rows {
		if r < 0 || r >= m {
			return nil, fmt.Errorf("SelectRows: rows[%d] = %d outside [0, %d)", i, r, m)
		}
	}
	return ag.NewOperator(&selectRows[T]{x: x, rows: append([]int(nil), rows...)}).Run(), nil
}
