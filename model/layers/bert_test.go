package layers

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"testing"
	"time"

	"github.com/icdcode/icdcode/model/agfn"
	"github.com/icdcode/icdcode/model/kernels"
	"github.com/nlpodyssey/spago/ag"
	"github.com/nlpodyssey/spago/mat"
	"github.com/nlpodyssey/spago/mat/float"
)

// bertNames are the parameters of one post-LN BERT layer, in the order
// bertLayer takes them.
var bertNames = []string{"Wqkv", "Bqkv", "Wo", "Bo", "G1", "B1", "W1", "C1", "W2", "C2", "G2", "B2"}

// bertRaw holds a BERT layer's parameter values in float64.
type bertRaw struct {
	d, ffn int
	vals   [][]float64
}

func (p bertRaw) shapes() [][2]int {
	d, f := p.d, p.ffn
	return [][2]int{{d, 3 * d}, {1, 3 * d}, {d, d}, {1, d}, {1, d}, {1, d}, {d, f}, {1, f}, {f, d}, {1, d}, {1, d}, {1, d}}
}

func newBertParams(rng *rand.Rand, d, ffn int) bertRaw {
	p := bertRaw{d: d, ffn: ffn}
	for i, s := range p.shapes() {
		size := s[0] * s[1]
		switch bertNames[i][0] {
		case 'W': // uniform with variance 1/fan_in, as a trained layer's scale
			a := math.Sqrt(3 / float64(s[0]))
			p.vals = append(p.vals, randSlice(rng, size, -a, a))
		case 'G':
			p.vals = append(p.vals, randSlice(rng, size, 0.8, 1.2))
		default:
			p.vals = append(p.vals, randSlice(rng, size, -0.1, 0.1))
		}
	}
	return p
}

// tensors returns the parameters as T matrices that require gradients.
func tensors[T float.DType](p bertRaw) []mat.Tensor {
	var ts []mat.Tensor
	for i, s := range p.shapes() {
		m := dense[T](s[0], s[1], p.vals[i])
		m.SetRequiresGrad(true)
		ts = append(ts, m)
	}
	return ts
}

// bertLayer is one post-LN transformer layer as the encoders assemble it:
//
//	h = LN1(x + Attn(x·Wqkv + bqkv)·Wo + bo)
//	y = LN2(h + GELU(h·W1 + c1)·W2 + c2)
//
//	x: (B·seqLen, d) → y: (B·seqLen, d)
func bertLayer[T float.DType](k kernels.Kernels[T], x mat.Tensor, ps []mat.Tensor, heads, seqLen int, mask []int) (mat.Tensor, error) {
	if len(ps) != len(bertNames) {
		return nil, fmt.Errorf("%d parameters, want %d", len(ps), len(bertNames))
	}
	qkv, err := Linear(k, x, ps[0], ps[1])
	if err != nil {
		return nil, err
	}
	a, err := SelfAttention(k, qkv, heads, seqLen, mask)
	if err != nil {
		return nil, err
	}
	o, err := Linear(k, a, ps[2], ps[3])
	if err != nil {
		return nil, err
	}
	r1, err := Add[T](x, o)
	if err != nil {
		return nil, err
	}
	h, err := LayerNorm(k, r1, ps[4], ps[5], 1e-12)
	if err != nil {
		return nil, err
	}
	f1, err := Linear(k, h, ps[6], ps[7])
	if err != nil {
		return nil, err
	}
	g, err := GELU(k, f1)
	if err != nil {
		return nil, err
	}
	f2, err := Linear(k, g, ps[8], ps[9])
	if err != nil {
		return nil, err
	}
	r2, err := Add[T](h, f2)
	if err != nil {
		return nil, err
	}
	return LayerNorm(k, r2, ps[10], ps[11], 1e-12)
}

func TestGradBertLayer(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 1))
	const n, d, heads, ffn = 5, 8, 2, 16
	p := newBertParams(rng, d, ffn)
	ins := []input{in("x", 2*n, d, randSlice(rng, 2*n*d, -1, 1))}
	for i, s := range p.shapes() {
		ins = append(ins, in(bertNames[i], s[0], s[1], p.vals[i]))
	}
	for _, k := range backends64() {
		e := gradCheck(t, ins, func(xs []mat.Tensor) (mat.Tensor, error) {
			return bertLayer(k, xs[0], xs[1:], heads, n, attentionMask)
		})
		t.Logf("BERT layer %s: max relative error %.2e over x and all 12 parameters", k.Name(), e)
	}
}

// bertStep runs one forward+backward pass of a BERT layer on fresh
// gradients and returns copies of the gradients of x and of every
// parameter.
func bertStep[T float.DType](t testing.TB, k kernels.Kernels[T], x mat.Tensor, ps []mat.Tensor, heads, seqLen int, mask []int, dy []T) [][]T {
	bertPass(t, k, x, ps, heads, seqLen, mask, dy)
	var gs [][]T
	for _, p := range append([]mat.Tensor{x}, ps...) {
		gs = append(gs, append([]T(nil), mat.Data[T](p.Grad())...))
	}
	return gs
}

// bertPass runs one forward+backward pass of a BERT layer on fresh
// gradients, with dy as the gradient of the output.
func bertPass[T float.DType](t testing.TB, k kernels.Kernels[T], x mat.Tensor, ps []mat.Tensor, heads, seqLen int, mask []int, dy []T) {
	for _, p := range append([]mat.Tensor{x}, ps...) {
		p.ZeroGrad()
	}
	y, err := bertLayer(k, x, ps, heads, seqLen, mask)
	if err != nil {
		t.Fatal(err)
	}
	r, c := agfn.Dims(y)
	y.AccGrad(agfn.NewMatrix(r, c, dy))
	if err := ag.Backward(y); err != nil {
		t.Fatal(err)
	}
}

// TestDeterminism checks that repeated forward+backward passes give
// bit-identical gradients on the CPU backend despite spago's
// goroutine-per-operator backward (see the package documentation), and
// that the gradients do not depend on GOMAXPROCS.
func TestDeterminism(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 2))
	const n, d, heads, ffn = 32, 64, 4, 128
	p := newBertParams(rng, d, ffn)
	ps := tensors[float32](p)
	x := dense[float32](2*n, d, randSlice(rng, 2*n*d, -1, 1))
	x.SetRequiresGrad(true)
	mask := make([]int, 2*n)
	for i := range mask {
		if i < n+20 {
			mask[i] = 1
		}
	}
	dy := make([]float32, 2*n*d)
	for i := range dy {
		dy[i] = float32(rng.NormFloat64())
	}
	k := kernels.CPU[float32]()
	first := bertStep(t, k, x, ps, heads, n, mask, dy)
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	for run := 1; run < 8; run++ {
		runtime.GOMAXPROCS(1 + run%4)
		again := bertStep(t, k, x, ps, heads, n, mask, dy)
		for i := range first {
			for j := range first[i] {
				if math.Float32bits(first[i][j]) != math.Float32bits(again[i][j]) {
					t.Fatalf("run %d: gradient %d element %d differs: %g vs %g", run, i, j, first[i][j], again[i][j])
				}
			}
		}
	}
}

// fanoutGraph feeds x to one Linear layer per weight through Fanout and
// sums them.
func fanoutGraph(k kernels.Kernels[float64], x mat.Tensor, ws []mat.Tensor) (mat.Tensor, error) {
	outs, err := Fanout[float64](x, len(ws))
	if err != nil {
		return nil, err
	}
	var sum mat.Tensor
	for i, w := range ws {
		y, err := Linear(k, outs[i], w, nil)
		if err != nil {
			return nil, err
		}
		if sum == nil {
			sum = y
		} else if sum, err = Add[float64](sum, y); err != nil {
			return nil, err
		}
	}
	return sum, nil
}

func TestFanout(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	k := kernels.CPU[float64]()
	ins := []input{in("x", 3, 4, randSlice(rng, 12, -1, 1))}
	// Six consumers with weights of very different magnitudes: without
	// Fanout, 300 passes gave 20–23 distinct gradients of x (package
	// documentation, "Determinism").
	for i := 0; i < 6; i++ {
		a := math.Pow(10, float64(i-2))
		ins = append(ins, in("w", 4, 2, randSlice(rng, 8, -a, a)))
	}
	// The loss is O(1e3) here, so the rounding error of the differences,
	// about 1e-16·1e3/eps, is 1e-7 absolute: expect ~1e-8 relative, not 1e-10.
	e := gradCheck(t, ins, func(xs []mat.Tensor) (mat.Tensor, error) { return fanoutGraph(k, xs[0], xs[1:]) })
	t.Logf("Fanout: max relative error %.2e", e)

	// The gradient of x must be summed in a fixed order.
	x := dense[float64](3, 4, ins[0].v)
	x.SetRequiresGrad(true)
	var ws []mat.Tensor
	for _, a := range ins[1:] {
		ws = append(ws, dense[float64](4, 2, a.v))
	}
	// x already holds a gradient, as a parameter does when gradients are
	// accumulated over several passes: it must still get one contribution.
	var first []float64
	for run := 0; run < 100; run++ {
		x.ZeroGrad()
		x.AccGrad(dense[float64](3, 4, []float64{1, -2, 3e-3, 4e3, 5, 6e-5, 7, 8, 9, 1e-9, 11, 12}))
		y, err := fanoutGraph(k, x, ws)
		if err != nil {
			t.Fatal(err)
		}
		y.AccGrad(dense[float64](3, 2, []float64{1e-3, 1, 1e3, 7, 1e-7, 3}))
		if err := ag.Backward(y); err != nil {
			t.Fatal(err)
		}
		g := append([]float64(nil), mat.Data[float64](x.Grad())...)
		if first == nil {
			first = g
			continue
		}
		for j := range g {
			if math.Float64bits(g[j]) != math.Float64bits(first[j]) {
				t.Fatalf("run %d: gradient element %d differs", run, j)
			}
		}
	}
}

// BenchmarkBertLayer times forward+backward of one BERT-base layer (hidden
// 768, 12 heads, FFN 3072, one sequence of 512 tokens, float32) on the CPU
// backend. scripts/bench_torch.sh compares it with PyTorch.
func BenchmarkBertLayer(b *testing.B) {
	const n, d, heads, ffn = 512, 768, 12, 3072
	rng := rand.New(rand.NewPCG(4, 1))
	p := newBertParams(rng, d, ffn)
	ps := tensors[float32](p)
	x := dense[float32](n, d, randSlice(rng, n*d, -1, 1))
	x.SetRequiresGrad(true)
	dy := make([]float32, n*d)
	for i := range dy {
		dy[i] = float32(rng.NormFloat64())
	}
	k := kernels.CPU[float32]()
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		bertPass(b, k, x, ps, heads, n, nil, dy)
	}
	b.ReportMetric(time.Since(start).Seconds()/float64(b.N), "s/iter")
}
