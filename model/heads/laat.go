package heads

import (
	"fmt"

	"github.com/icdcode/icdcode/model/agfn"
	"github.com/icdcode/icdcode/model/kernels"
	"github.com/icdcode/icdcode/model/layers"
	"github.com/nlpodyssey/spago/mat"
	"github.com/nlpodyssey/spago/mat/float"
	"github.com/nlpodyssey/spago/nn"
)

// laatInitStd is the standard deviation of LAAT's (and PLM-ICD's) weight
// init: normal_(mean=0, std=0.03) on the three linear layers.
const laatInitStd = 0.03

// LAAT is the label-wise attention head of LAAT (Vu et al. 2020) as PLM-ICD
// applies it to the concatenated chunks of a document:
//
//	Z = tanh(H·W)                     (T, d_a)   W is LAAT's (d_a × d) weight, stored transposed
//	A = softmax_t(U·Zᵀ + mask)        (L, T)
//	C = A·H                           (L, d)
//	logit[c] = Σ_h C[c,h]·Wout[c,h] + bout[c]   (1, L)
//
// The padding mask is the layout's: pass a Layout with Mask nil to
// reproduce PLM-ICD, whose label attention sees padding.
type LAAT[T float.DType] struct {
	W    *nn.Param // (d, d_a), no bias
	U    *nn.Param // (L, d_a), no bias
	OutW *nn.Param // (L, d)
	OutB *nn.Param // (1, L)
	// Code, when set (SetCodeProjection), is added to U: the attention
	// vector of label c is U[c] + E[c]·P.
	Code *CodeProjection[T]
}

// NewLAAT returns a LAAT head for width d, attention width da and L
// labels: W, U, OutW from N(0, 0.03²) (LAAT's init), OutB from PyTorch's
// nn.Linear default U(−1/√d, 1/√d), which LAAT's init leaves in place;
// one seeded stream per parameter.
func NewLAAT[T float.DType](d, da, labels int, seed uint64) (*LAAT[T], error) {
	if d < 1 || da < 1 || labels < 1 {
		return nil, fmt.Errorf("NewLAAT: d = %d, da = %d and labels = %d must be ≥ 1", d, da, labels)
	}
	return &LAAT[T]{
		W:    normalParam[T](initRNG(seed, 0), d, da, laatInitStd),
		U:    normalParam[T](initRNG(seed, 1), labels, da, laatInitStd),
		OutW: normalParam[T](initRNG(seed, 2), labels, d, laatInitStd),
		OutB: uniformParam[T](initRNG(seed, 3), 1, labels, 1/sqrt(d)),
	}, nil
}

// Params returns the trainable parameters.
func (h *LAAT[T]) Params() []*nn.Param {
	ps := []*nn.Param{h.W, h.U, h.OutW, h.OutB}
	if h.Code != nil {
		ps = append(ps, h.Code.P)
	}
	return ps
}

// SetCodeProjection adds p's projected code embeddings to the label
// attention vectors U; p must project the head's L labels to d_a.
func (h *LAAT[T]) SetCodeProjection(p *CodeProjection[T]) error {
	l, da := agfn.Dims(h.U)
	if p.Labels() != l || p.Width() != da {
		return fmt.Errorf("LAAT: code projection gives %d×%d, want %d labels × d_a %d", p.Labels(), p.Width(), l, da)
	}
	h.Code = p
	return nil
}

// Forward returns the document logits, attending over all chunks'
// tokens at once (concatenated). H feeds two functions (the W projection
// and the attention values), which keeps its gradient deterministic.
//
//	H: (Chunks·ChunkLen, d) → logits: (1, L)
func (h *LAAT[T]) Forward(k kernels.Kernels[T], H mat.Tensor, lay Layout) (mat.Tensor, error) {
	d, _ := agfn.Dims(h.W)
	if err := checkInput[T]("LAAT", H, d, lay); err != nil {
		return nil, err
	}
	rows, _ := agfn.Dims(H)
	z, err := layers.Linear(k, H, h.W, nil) // (T, d_a)
	if err != nil {
		return nil, err
	}
	if z, err = layers.Tanh[T](z); err != nil {
		return nil, err
	}
	u := mat.Tensor(h.U)
	if h.Code != nil {
		ep, err := h.Code.Forward(k)
		if err != nil {
			return nil, err
		}
		if u, err = layers.Add[T](u, ep); err != nil {
			return nil, err
		}
	}
	c, err := LabelAttention(k, u, z, H, 1, rows, lay.Mask, 1) // (L, d)
	if err != nil {
		return nil, err
	}
	return LabelDot[T](c, h.OutW, h.OutB)
}
