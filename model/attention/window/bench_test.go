package window

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/icdcode/icdcode/model/kernels"
)

// dense is the baseline the benchmarks compare against: the same attention
// (shared global projections) as full n×n matrices through the backend's
// Gemm and Softmax, with the equivalent additive n×n mask.
type dense[T Float] struct {
	n, d        int
	scale       T
	q, k, v     []T
	mask, p, dp []T // (n, n)
}

func newDense[T Float](cfg Config, in Inputs[T]) *dense[T] {
	n := cfg.N
	ds := &dense[T]{n: n, d: cfg.D, scale: T(1 / math.Sqrt(float64(cfg.D))), q: in.Q, k: in.K, v: in.V,
		mask: make([]T, n*n), p: make([]T, n*n), dp: make([]T, n*n)}
	c := &denseCase{cfg: cfg}
	isG := make([]bool, n)
	for _, j := range cfg.Global {
		isG[j] = true
	}
	for i := range n {
		for j := range n {
			if !c.allowed(i, j, isG) {
				ds.mask[i*n+j] = T(math.Inf(-1))
			}
		}
	}
	return ds
}

// out: (n, d)
func (ds *dense[T]) forward(kern kernels.Kernels[T], out []T) {
	n, d := ds.n, ds.d
	kern.Gemm(false, true, n, n, d, ds.scale, ds.q, d, ds.k, d, 0, ds.p, n)
	kern.Softmax(n, n, ds.p, n, ds.mask, n, ds.p, n)
	kern.Gemm(false, false, n, d, n, 1, ds.p, n, ds.v, d, 0, out, d)
}

// dO, dq, dk, dv: (n, d)
func (ds *dense[T]) backward(kern kernels.Kernels[T], dO, dq, dk, dv []T) {
	n, d := ds.n, ds.d
	kern.Gemm(false, true, n, n, d, 1, dO, d, ds.v, d, 0, ds.dp, n)
	kern.SoftmaxBackward(n, n, ds.p, n, ds.dp, n, ds.dp, n)
	kern.Gemm(false, false, n, d, n, ds.scale, ds.dp, n, ds.k, d, 0, dq, d)
	kern.Gemm(true, false, n, d, n, ds.scale, ds.dp, n, ds.q, d, 0, dk, d)
	kern.Gemm(true, false, n, d, n, 1, ds.p, n, dO, d, 0, dv, d)
}

// TestDenseBaseline checks that the benchmark's dense baseline computes the
// same attention as the reference, so that the speed ratio compares equals.
func TestDenseBaseline(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	for _, gs := range [][]int{nil, {0}, {0, 30}} {
		c := newCase(r, 70, 5, 8, gs, "tail", false)
		wantOut, wantGr := denseRef(c)
		ds := newDense(c.cfg, c.in)
		k := kernels.CPU[float64]()
		out, dq, dk, dv := make([]float64, 70*8), make([]float64, 70*8), make([]float64, 70*8), make([]float64, 70*8)
		ds.forward(k, out)
		ds.backward(k, c.dO, dq, dk, dv)
		for name, e := range map[string]float64{"O": maxAbsDiff(out, wantOut), "dQ": maxAbsDiff(dq, wantGr.DQ),
			"dK": maxAbsDiff(dk, wantGr.DK), "dV": maxAbsDiff(dv, wantGr.DV)} {
			if e > 1e-12 {
				t.Errorf("global=%v: dense baseline %s max error %.3g", gs, name, e)
			}
		}
	}
}

// benchInputs is the LE setting of one head: n = 4096, w = 256 (Longformer
// attention_window 512), d_head = 64, the [CLS] token global.
func benchInputs() (Config, Inputs[float32], []float32) {
	const n, d = 4096, 64
	r := rand.New(rand.NewPCG(11, 12))
	rnd := func() []float32 {
		s := make([]float32, n*d)
		for i := range s {
			s[i] = float32(r.NormFloat64())
		}
		return s
	}
	return Config{N: n, D: d, W: 256, Global: []int{0}}, Inputs[float32]{Q: rnd(), K: rnd(), V: rnd()}, rnd()
}

// Window forward; "saved-B" is the memory held by the State for Backward.
func BenchmarkWindowForward(b *testing.B) {
	cfg, in, _ := benchInputs()
	k := kernels.CPU[float32]()
	out := make([]float32, cfg.N*cfg.D)
	var st *State[float32]
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if st, err = Forward(k, cfg, in, out); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(4*(len(st.p)+len(st.pg)+len(st.pq)+len(st.kg)+len(st.vg))), "saved-B")
}

func BenchmarkWindowBackward(b *testing.B) {
	cfg, in, dO := benchInputs()
	k := kernels.CPU[float32]()
	st, err := Forward(k, cfg, in, make([]float32, cfg.N*cfg.D))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Backward(k, st, dO); err != nil {
			b.Fatal(err)
		}
	}
}

// Dense n×n forward; "saved-B" is the probability matrix kept for Backward
// (the n×n mask and the dP buffer come on top).
func BenchmarkDenseForward(b *testing.B) {
	cfg, in, _ := benchInputs()
	k := kernels.CPU[float32]()
	ds := newDense(cfg, in)
	out := make([]float32, cfg.N*cfg.D)
	b.ReportAllocs()
	for b.Loop() {
		ds.forward(k, out)
	}
	b.ReportMetric(float64(4*len(ds.p)), "saved-B")
}

func BenchmarkDenseBackward(b *testing.B) {
	cfg, in, dO := benchInputs()
	k := kernels.CPU[float32]()
	ds := newDense(cfg, in)
	nd := cfg.N * cfg.D
	ds.forward(k, make([]float32, nd))
	dq, dk, dv := make([]float32, nd), make([]float32, nd), make([]float32, nd)
	b.ReportAllocs()
	for b.Loop() {
		ds.backward(k, dO, dq, dk, dv)
	}
}
