package heads

import (
	"fmt"

	"github.com/icdcode/icdcode/model/agfn"
	"github.com/nlpodyssey/spago/mat"
	"github.com/nlpodyssey/spago/mat/float"
)

// Pool is how MSAM pools the M synonym contexts of a label.
type Pool string

const (
	// PoolMean averages over synonyms: the reference's AvgPool3d (§3).
	PoolMean Pool = "mean"
	// PoolMax takes the element-wise maximum: MSMN's default
	// (MultiLabelMultiHeadLAATV2, head_pooling == "max").
	PoolMax Pool = "max"
)

// synonymPool pools groups of m consecutive rows.
type synonymPool[T float.DType] struct {
	x    mat.Tensor
	m    int
	pool Pool
	arg  []int32 // PoolMax: the synonym chosen per output element
}

// SynonymPool pools every group of m consecutive rows of x (the m synonym
// contexts of one (chunk, label) pair, row (g·m + s)) into one row, by the
// mean or the element-wise maximum. The maximum's gradient goes to the
// first maximal synonym, so ties are broken deterministically.
//
//	x: (G·m, d) → y: (G, d)
func SynonymPool[T float.DType](x mat.Tensor, m int, pool Pool) (mat.Tensor, error) {
	if err := agfn.CheckType[T]("SynonymPool: x", x); err != nil {
		return nil, err
	}
	if pool != PoolMean && pool != PoolMax {
		return nil, fmt.Errorf("SynonymPool: pool %q, want %q or %q", pool, PoolMean, PoolMax)
	}
	r, _ := agfn.Dims(x)
	if m < 1 || r == 0 || r%m != 0 {
		return nil, fmt.Errorf("SynonymPool: x has %d rows, not a positive multiple of m = %d", r, m)
	}
	return agfn.Run(&synonymPool[T]{x: x, m: m, pool: pool}), nil
}

func (f *synonymPool[T]) Operands() []mat.Tensor { return []mat.Tensor{f.x} }

func (f *synonymPool[T]) Forward() (mat.Tensor, error) {
	r, d := agfn.Dims(f.x)
	g := r / f.m
	x := agfn.Data[T](f.x)
	y := make([]T, g*d)
	if f.pool == PoolMax {
		f.arg = make([]int32, g*d)
	}
	inv := 1 / T(f.m)
	for i := 0; i < g; i++ {
		yi := y[i*d : (i+1)*d]
		copy(yi, x[i*f.m*d:][:d])
		for s := 1; s < f.m; s++ {
			xs := x[(i*f.m+s)*d:][:d]
			for j, v := range xs {
				if f.pool == PoolMean {
					yi[j] += v
				} else if v > yi[j] {
					yi[j] = v
					f.arg[i*d+j] = int32(s)
				}
			}
		}
		if f.pool == PoolMean {
			for j := range yi {
				yi[j] *= inv
			}
		}
	}
	return agfn.NewMatrix(g, d, y), nil
}

func (f *synonymPool[T]) Backward(gy mat.Tensor) error {
	if !f.x.RequiresGrad() {
		return nil
	}
	r, d := agfn.Dims(f.x)
	dy := agfn.Data[T](gy)
	dx := make([]T, r*d)
	inv := 1 / T(f.m)
	for i := 0; i < r/f.m; i++ {
		for j := 0; j < d; j++ {
			if f.pool == PoolMean {
				for s := 0; s < f.m; s++ {
					dx[(i*f.m+s)*d+j] = dy[i*d+j] * inv
				}
			} else {
				dx[(i*f.m+int(f.arg[i*d+j]))*d+j] = dy[i*d+j]
			}
		}
	}
	agfn.AccGrad(f.x, r, d, dx)
	return nil
}
