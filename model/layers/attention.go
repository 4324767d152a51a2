package layers

import (
	"fmt"
	"math"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/icdcode/icdcode/model/agfn"
	"github.com/icdcode/icdcode/model/kernels"
	"github.com/nlpodyssey/spago/mat"
	"github.com/nlpodyssey/spago/mat/float"
)

// attention is multi-head scaled-dot-product self-attention over a batch of
// equal-length (padded) sequences stacked in one matrix. It keeps the
// attention probabilities of every (sequence, head) for Backward.
type attention[T float.DType] struct {
	k        kernels.Kernels[T]
	qkv      mat.Tensor
	heads, n int
	mask     []T // (B·n) additive key mask, 0 or −Inf; nil if no padding
	probs    []T // (B·heads) blocks of (n, n), softmax(Q·Kᵀ·scale + mask)
}

// SelfAttention returns softmax(Q·Kᵀ/sqrt(dh) + mask)·V for every head and
// every sequence of a batch, heads concatenated along the columns (the
// output projection Wo is a separate Linear).
//
// The input is the fused projection qkv = x·[Wq|Wk|Wv] + [bq|bk|bv] (one
// Linear with a (d, 3d) weight): columns [0, d) are Q, [d, 2d) K, [2d, 3d)
// V, and head h uses columns [h·dh, (h+1)·dh) of each, dh = d/heads (the
// layout of Hugging Face's BERT weights when concatenated). Fusing them
// makes one large Gemm instead of three and leaves x with two consumers
// (this Linear and the residual), which keeps backward bit-reproducible
// (package documentation, "Determinism").
//
// A batch is B sequences of seqLen rows each, stacked: rows
// [b·seqLen, (b+1)·seqLen) are sequence b, and attention never crosses a
// sequence. Shorter sequences are padded to seqLen; mask (nil: no padding)
// holds a 0/1 attention mask per row as in Hugging Face (1 real token,
// 0 padding), turned into an additive key mask (0 or −Inf), so no query
// attends to padding. Padding rows still produce (ignored) outputs; a
// sequence that is all padding produces zeros.
//
// The backward is O(n) per softmax row (kernels.SoftmaxBackward), with no
// n×n Jacobian and no per-token operators. The attention probabilities are
// kept from forward to backward: B·heads·seqLen² values (12.6 MB per
// 512-token sequence with 12 heads in float32), the price of not
// recomputing Q·Kᵀ in backward.
//
//	qkv: (B·seqLen, 3d); d % heads == 0; mask: nil or (B·seqLen) → y: (B·seqLen, d)
func SelfAttention[T float.DType](k kernels.Kernels[T], qkv mat.Tensor, heads, seqLen int, mask []int) (mat.Tensor, error) {
	if err := agfn.CheckType[T]("SelfAttention: qkv", qkv); err != nil {
		return nil, err
	}
	rows, c := agfn.Dims(qkv)
	if heads < 1 || seqLen < 1 {
		return nil, fmt.Errorf("SelfAttention: heads = %d and seqLen = %d must be ≥ 1", heads, seqLen)
	}
	if c%3 != 0 || (c/3)%heads != 0 || c == 0 {
		return nil, fmt.Errorf("SelfAttention: qkv has %d columns, want 3·d with d a positive multiple of %d heads", c, heads)
	}
	if rows%seqLen != 0 {
		return nil, fmt.Errorf("SelfAttention: qkv has %d rows, not a multiple of seqLen %d", rows, seqLen)
	}
	f := &attention[T]{k: k, qkv: qkv, heads: heads, n: seqLen}
	if mask != nil {
		if len(mask) != rows {
			return nil, fmt.Errorf("SelfAttention: mask has %d entries for %d rows", len(mask), rows)
		}
		f.mask = make([]T, rows)
		for i, v := range mask {
			switch v {
			case 1:
			case 0:
				f.mask[i] = T(math.Inf(-1))
			default:
				return nil, fmt.Errorf("SelfAttention: mask[%d] = %d, want 0 or 1", i, v)
			}
		}
	}
	return agfn.Run(f), nil
}

func (f *attention[T]) Operands() []mat.Tensor { return []mat.Tensor{f.qkv} }

// shape returns the batch size, model width and head width.
func (f *attention[T]) shape() (batch, d, dh int) {
	rows, c := agfn.Dims(f.qkv)
	d = c / 3
	return rows / f.n, d, d / f.heads
}

// block returns the offsets of head h of sequence b: the first element of
// its Q block in qkv (K is +d, V is +2d), of its output block in y (width
// d), and of its probabilities in probs.
func (f *attention[T]) block(b, h int) (q, o, p int) {
	_, d, dh := f.shape()
	n := f.n
	return b*n*3*d + h*dh, b*n*d + h*dh, (b*f.heads + h) * n * n
}

// keyMask returns the additive mask of sequence b, shared by all its query
// rows (ldmask 0), or nil.
func (f *attention[T]) keyMask(b int) []T {
	if f.mask == nil {
		return nil
	}
	return f.mask[b*f.n : (b+1)*f.n]
}

// forBlocks calls fn for every (sequence, head) block, on up to GOMAXPROCS
// goroutines, each with its own n×n scratch. Blocks write disjoint parts of
// the outputs and every block is computed the same way whichever goroutine
// runs it, so the result does not depend on scheduling.
func (f *attention[T]) forBlocks(batch int, fn func(b, h int, scratch []T)) {
	total := batch * f.heads
	workers := min(runtime.GOMAXPROCS(0), total)
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			scratch := make([]T, f.n*f.n)
			for {
				i := int(next.Add(1) - 1)
				if i >= total {
					return
				}
				fn(i/f.heads, i%f.heads, scratch)
			}
		}()
	}
	wg.Wait()
}

func (f *attention[T]) Forward() (mat.Tensor, error) {
	batch, d, dh := f.shape()
	n, ld := f.n, 3*d
	x := agfn.Data[T](f.qkv)
	y := make([]T, batch*n*d)
	f.probs = make([]T, batch*f.heads*n*n)
	scale := T(1 / math.Sqrt(float64(dh)))
	f.forBlocks(batch, func(b, h int, _ []T) {
		q, o, p := f.block(b, h)
		pr := f.probs[p : p+n*n]
		// S = scale·Q·Kᵀ: (n, dh)·(dh, n)
		f.k.Gemm(false, true, n, n, dh, scale, x[q:], ld, x[q+d:], ld, 0, pr, n)
		// P = softmax(S + mask), in place
		f.k.Softmax(n, n, pr, n, f.keyMask(b), 0, pr, n)
		// Y_h = P·V: (n, n)·(n, dh)
		f.k.Gemm(false, false, n, dh, n, 1, pr, n, x[q+2*d:], ld, 0, y[o:], d)
	})
	return agfn.NewMatrix(batch*n, d, y), nil
}

func (f *attention[T]) Backward(gy mat.Tensor) error {
	if !f.qkv.RequiresGrad() {
		return nil
	}
	batch, d, dh := f.shape()
	n, ld := f.n, 3*d
	x := agfn.Data[T](f.qkv)
	dy := agfn.Data[T](gy)
	dx := make([]T, batch*n*ld)
	scale := T(1 / math.Sqrt(float64(dh)))
	f.forBlocks(batch, func(b, h int, ds []T) {
		q, o, p := f.block(b, h)
		pr := f.probs[p : p+n*n]
		// dV = Pᵀ·dY_h: (n, n)·(n, dh)
		f.k.Gemm(true, false, n, dh, n, 1, pr, n, dy[o:], d, 0, dx[q+2*d:], ld)
		// dP = dY_h·Vᵀ: (n, dh)·(dh, n)
		f.k.Gemm(false, true, n, n, dh, 1, dy[o:], d, x[q+2*d:], ld, 0, ds, n)
		// dS = P ⊙ (dP − rowsum(dP ⊙ P)), in place; masked keys have
		// P = 0 and so get no gradient.
		f.k.SoftmaxBackward(n, n, pr, n, ds, n, ds, n)
		// dQ = scale·dS·K, dK = scale·dSᵀ·Q: (n, n)·(n, dh)
		f.k.Gemm(false, false, n, dh, n, scale, ds, n, x[q+d:], ld, 0, dx[q:], ld)
		f.k.Gemm(true, false, n, dh, n, scale, ds, n, x[q:], ld, 0, dx[q+d:], ld)
	})
	agfn.AccGrad(f.qkv, batch*n, ld, dx)
	return nil
}
