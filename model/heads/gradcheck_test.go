package heads

import (
	"math/rand/v2"
	"testing"

	"github.com/icdcode/icdcode/model/agfn/gradcheck"
	"github.com/icdcode/icdcode/model/kernels"
	"github.com/nlpodyssey/spago/mat"
)

// backends64 are the float64 backends every function is checked with.
func backends64() []kernels.Kernels[float64] {
	return []kernels.Kernels[float64]{kernels.Reference[float64](), kernels.CPU[float64]()}
}

// randSlice returns n values uniform in [lo, hi).
func randSlice(rng *rand.Rand, n int, lo, hi float64) []float64 {
	s := make([]float64, n)
	for i := range s {
		s[i] = lo + (hi-lo)*rng.Float64()
	}
	return s
}

// leaf returns an r×c float64 matrix that requires a gradient.
func leaf(r, c int, v []float64) *mat.Dense[float64] {
	return mat.NewDense[float64](mat.WithShape(r, c), mat.WithBacking(append([]float64(nil), v...)), mat.WithGrad(true))
}

// named is a tensor under a gradient check (gradcheck.Tensor, short to
// write unkeyed).
type named struct {
	name string
	t    mat.Tensor
}

// gradCheck is gradcheck.Check over named tensors.
func gradCheck(t *testing.T, ts []named, f func() (mat.Tensor, error)) float64 {
	t.Helper()
	gs := make([]gradcheck.Tensor, len(ts))
	for i, x := range ts {
		gs[i] = gradcheck.Tensor{Name: x.name, T: x.t}
	}
	return gradcheck.Check(t, gs, f)
}

// chunkMask is the layout of the tests: 2 chunks of 5 tokens, the last
// two tokens of chunk 2 padding.
var chunkMask = []int{1, 1, 1, 1, 1, 1, 1, 1, 0, 0}

func TestGradLabelAttention(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 1))
	const r, n, dq, dv, heads = 4, 5, 6, 4, 2
	q, kx, vx := randSlice(rng, r*dq, -1.5, 1.5), randSlice(rng, 2*n*dq, -1.5, 1.5), randSlice(rng, 2*n*dv, -1, 1)
	for _, k := range backends64() {
		for _, c := range []struct {
			heads, n int
			mask     []int
			scale    float64
		}{{heads, n, nil, 1}, {heads, n, chunkMask, 0.7}, {1, 2 * n, chunkMask, 1}, {heads, 2 * n, nil, 0.5}} {
			Q, K, V := leaf(r, dq, q), leaf(2*n, dq, kx), leaf(2*n, dv, vx)
			e := gradCheck(t, []named{{"q", Q}, {"keys", K}, {"values", V}}, func() (mat.Tensor, error) {
				return LabelAttention(k, Q, K, V, c.heads, c.n, c.mask, c.scale)
			})
			t.Logf("LabelAttention %s heads=%d n=%d mask=%v scale=%g: max relative error %.2e", k.Name(), c.heads, c.n, c.mask != nil, c.scale, e)
		}
	}
}

func TestGradSmallFunctions(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 2))
	x12 := randSlice(rng, 12*6, -1, 1)
	x8 := randSlice(rng, 8*6, -1, 1)
	w := randSlice(rng, 4*6, -1, 1)
	b := randSlice(rng, 4, -1, 1)
	for _, pool := range []Pool{PoolMean, PoolMax} {
		X := leaf(12, 6, x12)
		e := gradCheck(t, []named{{"x", X}}, func() (mat.Tensor, error) { return SynonymPool[float64](X, 3, pool) })
		t.Logf("SynonymPool %s: max relative error %.2e", pool, e)
	}
	X, W, B := leaf(8, 6, x8), leaf(4, 6, w), leaf(1, 4, b)
	e := gradCheck(t, []named{{"x", X}, {"w", W}, {"b", B}}, func() (mat.Tensor, error) { return LabelDot[float64](X, W, B) })
	t.Logf("LabelDot: max relative error %.2e", e)
	e = gradCheck(t, []named{{"x", X}, {"w", W}}, func() (mat.Tensor, error) { return LabelDot[float64](X, W, nil) })
	t.Logf("LabelDot (no bias): max relative error %.2e", e)
	C := leaf(3, 4, x12[:12])
	e = gradCheck(t, []named{{"x", C}}, func() (mat.Tensor, error) { return ChunkMax[float64](C) })
	t.Logf("ChunkMax: max relative error %.2e", e)
	R := leaf(5, 3, x8[:15])
	e = gradCheck(t, []named{{"x", R}}, func() (mat.Tensor, error) { return Rows[float64](R, []int{3, 0}) })
	t.Logf("Rows: max relative error %.2e", e)
}
