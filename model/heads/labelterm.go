package heads

import (
	"fmt"
	"math"

	"github.com/icdcode/icdcode/model/agfn"
	"github.com/icdcode/icdcode/model/kernels"
	"github.com/icdcode/icdcode/model/layers"
	"github.com/nlpodyssey/spago/mat"
	"github.com/nlpodyssey/spago/mat/float"
	"github.com/nlpodyssey/spago/nn"
)

// CodeProjection adds what code embeddings (Med2Vec, hierarchy-aware
// Word2Vec) know about each label to the label representations of a head:
// the fixed per-label vectors E (L × k) go through a learned projection P
// (k × width), and E·P is added to the head's label queries (MSAM: every
// synonym row of the label; LAAT: the label's attention vector).
//
// A label without a code embedding has a zero row in E, so it keeps the
// head's own representation (its synonyms, for MSAM): that is the fallback.
// P is shared by all labels, so what it learns from frequent codes carries
// over to rare codes through their embeddings, which is the point.
//
// The rows of E are scaled to unit length (NewCodeProjection) and P starts
// from N(0, 1): the projected rows then have about unit variance per
// component, the scale of the LayerNorm-ed encoder states that MSAM's
// synonym rows are, whatever the embedding method's own scale.
type CodeProjection[T float.DType] struct {
	// E are the label code embeddings (L × k), constants.
	E *mat.Dense[T]
	// P is the learned projection (k × width).
	P *nn.Param
}

// NewCodeProjection returns a projection of the label embeddings emb
// (L × k, row c for label c; copied, each non-zero row scaled to unit
// length; all-zero rows mark labels without an embedding) to width
// columns, with P drawn from seed.
func NewCodeProjection[T float.DType](emb mat.Tensor, width int, seed uint64) (*CodeProjection[T], error) {
	if err := agfn.CheckType[T]("NewCodeProjection: emb", emb); err != nil {
		return nil, err
	}
	l, k := agfn.Dims(emb)
	if l < 1 || k < 1 || width < 1 {
		return nil, fmt.Errorf("NewCodeProjection: embeddings %d×%d and width %d must be ≥ 1", l, k, width)
	}
	e := append([]T(nil), agfn.Data[T](emb)...)
	for c := range l {
		row := e[c*k : (c+1)*k]
		var ss float64
		for _, v := range row {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				return nil, fmt.Errorf("NewCodeProjection: label %d has a non-finite embedding value", c)
			}
			ss += float64(v) * float64(v)
		}
		if ss > 0 {
			inv := T(1 / math.Sqrt(ss))
			for j := range row {
				row[j] *= inv
			}
		}
	}
	return &CodeProjection[T]{E: agfn.NewMatrix(l, k, e), P: normalParam[T](initRNG(seed, 100), k, width, 1)}, nil
}

// Labels returns L, the number of label rows.
func (p *CodeProjection[T]) Labels() int {
	l, _ := agfn.Dims(p.E)
	return l
}

// Width returns the projection's output width.
func (p *CodeProjection[T]) Width() int {
	_, w := agfn.Dims(p.P)
	return w
}

// Forward returns E·P (L × width).
func (p *CodeProjection[T]) Forward(k kernels.Kernels[T]) (mat.Tensor, error) {
	return layers.Linear(k, p.E, p.P, nil)
}

// repeatRows repeats every row of x m times.
type repeatRows[T float.DType] struct {
	x mat.Tensor
	m int
}

// RepeatRows returns x with every row repeated m times in place: row c·m + s
// of the output is row c of x (a label's vector for each of its M synonym
// rows). The gradient of row c is the sum over its m copies.
//
//	x: (L, d) → y: (L·m, d)
func RepeatRows[T float.DType](x mat.Tensor, m int) (mat.Tensor, error) {
	if err := agfn.CheckType[T]("RepeatRows: x", x); err != nil {
		return nil, err
	}
	if m < 1 {
		return nil, fmt.Errorf("RepeatRows: m = %d, want ≥ 1", m)
	}
	return agfn.Run(&repeatRows[T]{x: x, m: m}), nil
}

func (f *repeatRows[T]) Operands() []mat.Tensor { return []mat.Tensor{f.x} }

func (f *repeatRows[T]) Forward() (mat.Tensor, error) {
	r, d := agfn.Dims(f.x)
	x := agfn.Data[T](f.x)
	y := make([]T, 0, r*f.m*d)
	for c := range r {
		for range f.m {
			y = append(y, x[c*d:(c+1)*d]...)
		}
	}
	return agfn.NewMatrix(r*f.m, d, y), nil
}

func (f *repeatRows[T]) Backward(gy mat.Tensor) error {
	if !f.x.RequiresGrad() {
		return nil
	}
	r, d := agfn.Dims(f.x)
	dy := agfn.Data[T](gy)
	dx := make([]T, r*d)
	for c := range r {
		for s := range f.m {
			src := dy[(c*f.m+s)*d : (c*f.m+s+1)*d]
			for j, v := range src {
				dx[c*d+j] += v
			}
		}
	}
	agfn.AccGrad(f.x, r, d, dx)
	return nil
}
