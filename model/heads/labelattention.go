package heads

import (
	"fmt"

	"github.com/icdcode/icdcode/model/agfn"
	"github.com/icdcode/icdcode/model/kernels"
	"github.com/nlpodyssey/spago/mat"
	"github.com/nlpodyssey/spago/mat/float"
)

// labelAttention is multi-head label-wise attention: R fixed query rows
// (labels, or label×synonym pairs) attend over the tokens of each of B
// chunks. It keeps the attention probabilities for Backward.
type labelAttention[T float.DType] struct {
	k                 kernels.Kernels[T]
	q, keys, values   mat.Tensor
	heads, n          int
	scale             T
	mask              []T // (B·n) additive key mask, or nil
	probs             []T // (B·heads) blocks of (R, n)
	r, dq, dv, blocks int
}

// LabelAttention returns, for every chunk b and head z,
//
//	A[b,z] = softmax_t(scale · q[:, z] · keys[b, :, z]ᵀ + mask[b])   (R, n)
//	out[b, :, z] = A[b,z] · values[b, :, z]                           (R, dv/heads)
//
// where [:, z] is the z-th of heads equal column blocks (dq/heads columns
// of q and keys, dv/heads of values) and [b, :] the rows
// [b·n, (b+1)·n) of a chunk. Heads are concatenated along the columns and
// chunks stacked along the rows of the output, row b·R + r.
//
// It is both heads' label attention:
//   - LAAT / PLM-ICD: q = U (L, d_a), keys = tanh(H·W) (T, d_a), values = H,
//     one head, one chunk (all chunks concatenated), scale 1;
//   - MSAM (reference §3): q = W_Q(Q) (L·M, d), keys = tanh(W_K(H)),
//     values = tanh(H), heads = M, one block per chunk (CE) or one for the
//     whole document, scale 1 (faithful) or 1/sqrt(d_k).
//
// Memory: the probabilities kept for Backward are B·heads·R·n values. For
// MSAM (R = L·M, heads = M) that is the reference's own B·C·M²·T scores
// tensor (§3: ≈6.9e8 floats for CE on MIMIC-III-clean), and the output
// B·L·M·d; a fused kernel that pools over synonyms without materialising
// them is the optimisation for full-size label sets.
//
// mask is nil (every token is a key) or a 0/1 token mask of B·n entries;
// a chunk that is all padding gives zeros. Backward is O(n) per softmax row
// through kernels.SoftmaxBackward. The gradient of q sums over the chunks
// in increasing b, sequentially, so it is bit-reproducible.
//
//	q: (R, dq); keys: (B·n, dq); values: (B·n, dv); dq, dv % heads == 0
//	→ out: (B·R, dv)
func LabelAttention[T float.DType](k kernels.Kernels[T], q, keys, values mat.Tensor, heads, n int, mask []int, scale T) (mat.Tensor, error) {
	for _, a := range []struct {
		name string
		t    mat.Tensor
	}{{"q", q}, {"keys", keys}, {"values", values}} {
		if err := agfn.CheckType[T]("LabelAttention: "+a.name, a.t); err != nil {
			return nil, err
		}
	}
	if heads < 1 || n < 1 {
		return nil, fmt.Errorf("LabelAttention: heads = %d and n = %d must be ≥ 1", heads, n)
	}
	r, dq := agfn.Dims(q)
	kr, kc := agfn.Dims(keys)
	vr, dv := agfn.Dims(values)
	if kc != dq {
		return nil, fmt.Errorf("LabelAttention: keys have %d columns, q has %d", kc, dq)
	}
	if vr != kr {
		return nil, fmt.Errorf("LabelAttention: keys have %d rows, values %d", kr, vr)
	}
	if r == 0 || dq == 0 || dv == 0 || dq%heads != 0 || dv%heads != 0 {
		return nil, fmt.Errorf("LabelAttention: q is %d×%d and values have %d columns, want nonzero widths divisible by %d heads", r, dq, dv, heads)
	}
	if kr == 0 || kr%n != 0 {
		return nil, fmt.Errorf("LabelAttention: keys have %d rows, not a positive multiple of n = %d", kr, n)
	}
	if mask != nil {
		if err := (Layout{Chunks: kr / n, ChunkLen: n, Mask: mask}).check("LabelAttention", kr); err != nil {
			return nil, err
		}
	}
	return agfn.Run(&labelAttention[T]{
			k: k, q: q, keys: keys, values: values, heads: heads, n: n, scale: scale,
			mask: additiveMask[T](mask), r: r, dq: dq, dv: dv, blocks: kr / n,
		}),

		nil
}

func (f *labelAttention[T]) Operands() []mat.Tensor {
	return []mat.Tensor{f.q, f.keys, f.values}
}

// keyMask returns the additive mask of chunk b (shared by all query rows:
// ldmask 0), or nil.
func (f *labelAttention[T]) keyMask(b int) []T {
	if f.mask == nil {
		return nil
	}
	return f.mask[b*f.n : (b+1)*f.n]
}

func (f *labelAttention[T]) Forward() (mat.Tensor, error) {
	r, n, dq, dv := f.r, f.n, f.dq, f.dv
	hq, hv := dq/f.heads, dv/f.heads
	q, kx, vx := agfn.Data[T](f.q), agfn.Data[T](f.keys), agfn.Data[T](f.values)
	out := make([]T, f.blocks*r*dv)
	f.probs = make([]T, f.blocks*f.heads*r*n)
	for b := 0; b < f.blocks; b++ {
		for z := 0; z < f.heads; z++ {
			p := f.probs[(b*f.heads+z)*r*n:][:r*n]
			// S = scale·q_z·K_bzᵀ: (r, hq)·(hq, n)
			f.k.Gemm(false, true, r, n, hq, f.scale, q[z*hq:], dq, kx[b*n*dq+z*hq:], dq, 0, p, n)
			// A = softmax(S + mask_b), in place
			f.k.Softmax(r, n, p, n, f.keyMask(b), 0, p, n)
			// out_bz = A·V_bz: (r, n)·(n, hv)
			f.k.Gemm(false, false, r, hv, n, 1, p, n, vx[b*n*dv+z*hv:], dv, 0, out[b*r*dv+z*hv:], dv)
		}
	}
	return agfn.NewMatrix(f.blocks*r, dv, out), nil
}

func (f *labelAttention[T]) Backward(gy mat.Tensor) error {
	r, n, dq, dv := f.r, f.n, f.dq, f.dv
	hq, hv := dq/f.heads, dv/f.heads
	q, kx, vx := agfn.Data[T](f.q), agfn.Data[T](f.keys), agfn.Data[T](f.values)
	dy := agfn.Data[T](gy)
	rows := f.blocks * n
	dQ := make([]T, r*dq)
	dK := make([]T, rows*dq)
	dV := make([]T, rows*dv)
	ds := make([]T, r*n)
	for z := 0; z < f.heads; z++ {
		for b := 0; b < f.blocks; b++ {
			p := f.probs[(b*f.heads+z)*r*n:][:r*n]
			dyb := dy[b*r*dv+z*hv:]
			// dV_bz = Aᵀ·dY_bz: (n, r)·(r, hv)
			f.k.Gemm(true, false, n, hv, r, 1, p, n, dyb, dv, 0, dV[b*n*dv+z*hv:], dv)
			// dA = dY_bz·V_bzᵀ: (r, hv)·(hv, n)
			f.k.Gemm(false, true, r, n, hv, 1, dyb, dv, vx[b*n*dv+z*hv:], dv, 0, ds, n)
			// dS = A ⊙ (dA − rowsum(dA ⊙ A)), in place; masked keys have
			// A = 0 and so get no gradient.
			f.k.SoftmaxBackward(r, n, p, n, ds, n, ds, n)
			// dq_z += scale·dS·K_bz: (r, n)·(n, hq), summed over b in order
			beta := T(1)
			if b == 0 {
				beta = 0
			}
			f.k.Gemm(false, false, r, hq, n, f.scale, ds, n, kx[b*n*dq+z*hq:], dq, beta, dQ[z*hq:], dq)
			// dK_bz = scale·dSᵀ·q_z: (n, r)·(r, hq)
			f.k.Gemm(true, false, n, hq, r, f.scale, ds, n, q[z*hq:], dq, 0, dK[b*n*dq+z*hq:], dq)
		}
	}
	agfn.AccGrad(f.q, r, dq, dQ)
	agfn.AccGrad(f.keys, rows, dq, dK)
	agfn.AccGrad(f.values, rows, dv, dV)
	return nil
}
