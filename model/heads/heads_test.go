package heads

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/icdcode/icdcode/model/agfn"
	"github.com/icdcode/icdcode/model/kernels"
	"github.com/nlpodyssey/spago/ag"
	"github.com/nlpodyssey/spago/mat"
	"github.com/nlpodyssey/spago/mat/float"
	"github.com/nlpodyssey/spago/nn"
)

// The sizes of the brief: d = 6, L = 4 labels, M = 3 synonyms (d_k = 2),
// 2 chunks of 5 tokens with padding at the end of the last.
const (
	tD, tL, tM, tChunks, tLen = 6, 4, 3, 2, 5
	tRows                     = tChunks * tLen
)

var testLayout = Layout{Chunks: tChunks, ChunkLen: tLen, Mask: chunkMask}

// allConfigs are the 16 combinations of MSAM's switches.
func allConfigs() []MSAMConfig {
	var cs []MSAMConfig
	for i := 0; i < 16; i++ {
		pool := PoolMean
		if i&4 != 0 {
			pool = PoolMax
		}
		cs = append(cs, MSAMConfig{Mask: i&1 != 0, Scale: i&2 != 0, Pool: pool, PerChunk: i&8 != 0})
	}
	return cs
}

func (c MSAMConfig) String() string {
	return fmt.Sprintf("mask=%v scale=%v pool=%s perChunk=%v", c.Mask, c.Scale, c.Pool, c.PerChunk)
}

// testData returns the synonym matrix and encoder states of the tests.
func testData(seed uint64) (syn, h []float64) {
	rng := rand.New(rand.NewPCG(seed, 3))
	return randSlice(rng, tL*tM*tD, -1, 1), randSlice(rng, tRows*tD, -1.5, 1.5)
}

// dense converts float64 values to a T matrix without gradient.
func dense[T float.DType](r, c int, v []float64) *mat.Dense[T] {
	s := make([]T, len(v))
	for i, x := range v {
		s[i] = T(x)
	}
	return agfn.NewMatrix(r, c, s)
}

// paramsOf names a head's parameters for gradCheck.
func paramsOf(names []string, ps []*nn.Param) []named {
	out := make([]named, len(ps))
	for i, p := range ps {
		out[i] = named{names[i], p}
	}
	return out
}

// perturbParams adds small noise to every parameter so that zero biases
// and tiny initial weights do not make a gradient check degenerate.
func perturbParams(ps []*nn.Param, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 9))
	for _, p := range ps {
		for i := range mat.Data[float64](p.Value()) {
			mat.Data[float64](p.Value())[i] += 0.3 * (2*rng.Float64() - 1)
		}
	}
}

func TestGradHeads(t *testing.T) {
	syn, hv := testData(1)
	for _, k := range backends64() {
		H := leaf(tRows, tD, hv)
		ce, _ := NewCE[float64](tD, tL, 1)
		le, _ := NewLE[float64](tD, tL, 2)
		laat, _ := NewLAAT[float64](tD, 5, tL, 3)
		for _, c := range []struct {
			name   string
			params []named
			f      func() (mat.Tensor, error)
		}{
			{"CE", paramsOf([]string{"PoolerW", "PoolerB", "OutW", "OutB"}, ce.Params()), func() (mat.Tensor, error) { return ce.Forward(k, H, testLayout) }},
			{"LE", paramsOf([]string{"DenseW", "DenseB", "OutW", "OutB"}, le.Params()), func() (mat.Tensor, error) { return le.Forward(k, H, testLayout) }},
			{"LAAT", paramsOf([]string{"W", "U", "OutW", "OutB"}, laat.Params()), func() (mat.Tensor, error) { return laat.Forward(k, H, testLayout) }},
		} {
			ps := make([]*nn.Param, len(c.params))
			for i, p := range c.params {
				ps[i] = p.t.(*nn.Param)
			}
			perturbParams(ps, 5)
			e := gradCheck(t, append(c.params, named{"H", H}), c.f)
			t.Logf("%s %s: max relative error %.2e", c.name, k.Name(), e)
		}
		for _, cfg := range []MSAMConfig{FaithfulMSAM(), {Mask: true, Scale: true, Pool: PoolMax}, {Mask: true, Pool: PoolMean, PerChunk: true}, {Scale: true, Pool: PoolMax, PerChunk: true}} {
			m, err := NewMSAM[float64](dense[float64](tL*tM, tD, syn), tL, tM, cfg, 4)
			if err != nil {
				t.Fatal(err)
			}
			perturbParams(m.Params(), 6)
			ps := paramsOf([]string{"WQ", "BQ", "WK", "BK", "WV", "BV"}, m.Params())
			e := gradCheck(t, append(ps, named{"H", H}), func() (mat.Tensor, error) { return m.Forward(k, H, testLayout) })
			t.Logf("MSAM %s (%v): max relative error %.2e", k.Name(), cfg, e)
		}
	}
}

// naiveMSAM computes MSAM's document logits with plain loops written from
// the equations of reference §3, independently of the package's functions.
func naiveMSAM(m *MSAM[float64], hv []float64, lay Layout) []float64 {
	d, L, M := tD, m.labels, m.m
	dk := d / M
	cfg := m.cfg
	val := func(p *nn.Param) []float64 { return mat.Data[float64](p.Value()) }
	lin := func(x []float64, rows int, w, b []float64) []float64 {
		y := make([]float64, rows*d)
		for i := 0; i < rows; i++ {
			for j := 0; j < d; j++ {
				s := b[j]
				for h := 0; h < d; h++ {
					s += x[i*d+h] * w[h*d+j]
				}
				y[i*d+j] = s
			}
		}
		return y
	}
	rows := len(hv) / d
	q := lin(mat.Data[float64](m.syn), L*M, val(m.WQ), val(m.BQ))
	kt := lin(hv, rows, val(m.WK), val(m.BK))
	vt := make([]float64, len(hv))
	for i := range kt {
		kt[i] = math.Tanh(kt[i])
		vt[i] = math.Tanh(hv[i])
	}
	g := lin(mat.Data[float64](m.qbar), L, val(m.WV), val(m.BV))
	B, T := 1, rows
	if cfg.PerChunk {
		B, T = lay.Chunks, lay.ChunkLen
	}
	sigma := 1.0
	if cfg.Scale {
		sigma = 1 / math.Sqrt(float64(dk))
	}
	doc := make([]float64, L)
	for c := range doc {
		doc[c] = math.Inf(-1)
	}
	for b := 0; b < B; b++ {
		for c := 0; c < L; c++ {
			pooled := make([]float64, d)
			for s := 0; s < M; s++ {
				ctx := make([]float64, d)
				for z := 0; z < M; z++ {
					score := make([]float64, T)
					mx := math.Inf(-1)
					for t := 0; t < T; t++ {
						if cfg.Mask && lay.Mask[b*T+t] == 0 {
							score[t] = math.Inf(-1)
							continue
						}
						for h := 0; h < dk; h++ {
							score[t] += kt[(b*T+t)*d+z*dk+h] * q[(c*M+s)*d+z*dk+h]
						}
						score[t] *= sigma
						mx = math.Max(mx, score[t])
					}
					var sum float64
					for t := range score {
						score[t] = math.Exp(score[t] - mx)
						sum += score[t]
					}
					for t := range score {
						for h := 0; h < dk; h++ {
							ctx[z*dk+h] += score[t] / sum * vt[(b*T+t)*d+z*dk+h]
						}
					}
				}
				for j := range pooled {
					switch {
					case cfg.Pool == PoolMean:
						pooled[j] += ctx[j] / float64(M)
					case s == 0 || ctx[j] > pooled[j]:
						pooled[j] = ctx[j]
					}
				}
			}
			var logit float64
			for j := range pooled {
				logit += pooled[j] * g[c*d+j]
			}
			doc[c] = math.Max(doc[c], logit)
		}
	}
	return doc
}

// forward64 returns the logits of a head on constant H values.
func forward64(t *testing.T, f func(H mat.Tensor) (mat.Tensor, error), hv []float64) []float64 {
	t.Helper()
	y, err := f(dense[float64](tRows, tD, hv))
	if err != nil {
		t.Fatal(err)
	}
	return append([]float64(nil), mat.Data[float64](y.Value())...)
}

func maxAbsDiff(a, b []float64) float64 {
	var m float64
	for i := range a {
		m = math.Max(m, math.Abs(a[i]-b[i]))
	}
	return m
}

// TestMSAMMatchesEquations checks every switch combination against the
// loop implementation of §3, so each switch does what it says (scaling by
// 1/√d_k, mean or max pooling, masking, per-chunk or concatenated).
func TestMSAMMatchesEquations(t *testing.T) {
	syn, hv := testData(2)
	k := kernels.CPU[float64]()
	for _, cfg := range allConfigs() {
		m, err := NewMSAM[float64](dense[float64](tL*tM, tD, syn), tL, tM, cfg, 7)
		if err != nil {
			t.Fatal(err)
		}
		// Larger weights than the init make the softmaxes far from
		// uniform, so scaling and masking matter in the comparison.
		for _, p := range m.Params() {
			for i := range mat.Data[float64](p.Value()) {
				mat.Data[float64](p.Value())[i] *= 4
			}
		}
		got := forward64(t, func(H mat.Tensor) (mat.Tensor, error) { return m.Forward(k, H, testLayout) }, hv)
		want := naiveMSAM(m, hv, testLayout)
		if e := maxAbsDiff(got, want); e > 1e-12 || math.IsNaN(e) {
			t.Errorf("%v: logits %v, equations give %v", cfg, got, want)
		}
	}
}

// TestMSAMSwitchesChangeOutput checks that every switch changes the
// logits on the test document (a switch that did nothing would pass the
// equation test only if the naive code shared its bug).
func TestMSAMSwitchesChangeOutput(t *testing.T) {
	syn, hv := testData(3)
	k := kernels.CPU[float64]()
	logits := func(cfg MSAMConfig) []float64 {
		m, err := NewMSAM[float64](dense[float64](tL*tM, tD, syn), tL, tM, cfg, 8)
		if err != nil {
			t.Fatal(err)
		}
		return forward64(t, func(H mat.Tensor) (mat.Tensor, error) { return m.Forward(k, H, testLayout) }, hv)
	}
	base := logits(FaithfulMSAM())
	for name, cfg := range map[string]MSAMConfig{
		"Mask":      {Mask: true, Pool: PoolMean, PerChunk: true},
		"Scale":     {Scale: true, Pool: PoolMean, PerChunk: true},
		"Pool=max":  {Pool: PoolMax, PerChunk: true},
		"!PerChunk": {Pool: PoolMean},
	} {
		if e := maxAbsDiff(base, logits(cfg)); e < 1e-6 {
			t.Errorf("switch %s changes the logits by only %.2g", name, e)
		}
	}
}

// TestMSAMOneChunk: with a single chunk (LE_MSAM), per-chunk and
// concatenated attention are the same computation (§2: "chunk max is a
// no-op").
func TestMSAMOneChunk(t *testing.T) {
	syn, hv := testData(9)
	k := kernels.CPU[float64]()
	one := Layout{Chunks: 1, ChunkLen: tRows, Mask: chunkMask}
	var out [2][]float64
	for i, perChunk := range []bool{true, false} {
		m, err := NewMSAM[float64](dense[float64](tL*tM, tD, syn), tL, tM, MSAMConfig{Mask: true, Pool: PoolMean, PerChunk: perChunk}, 10)
		if err != nil {
			t.Fatal(err)
		}
		out[i] = forward64(t, func(H mat.Tensor) (mat.Tensor, error) { return m.Forward(k, H, one) }, hv)
	}
	if e := maxAbsDiff(out[0], out[1]); e != 0 {
		t.Errorf("one chunk: per-chunk and concatenated logits differ by %.3g", e)
	}
}

// TestMaskIgnoresPadding changes the padded rows of H: with the mask on,
// neither the logits nor the gradient of the real rows may change, and
// the padded rows get no gradient; in faithful mode the logits change.
func TestMaskIgnoresPadding(t *testing.T) {
	syn, hv := testData(4)
	changed := append([]float64(nil), hv...)
	for i := 8 * tD; i < tRows*tD; i++ {
		changed[i] = -3 * changed[i]
	}
	k := kernels.CPU[float64]()
	run := func(f func(H mat.Tensor) (mat.Tensor, error), v []float64) (y, g []float64) {
		H := leaf(tRows, tD, v)
		out, err := f(H)
		if err != nil {
			t.Fatal(err)
		}
		out.AccGrad(mat.NewDense[float64](mat.WithShape(1, tL), mat.WithBacking([]float64{1, -2, 0.5, 1.5})))
		if err := ag.Backward(out); err != nil {
			t.Fatal(err)
		}
		return append([]float64(nil), mat.Data[float64](out.Value())...), mat.Data[float64](H.Grad())
	}
	laat, _ := NewLAAT[float64](tD, 5, tL, 1)
	heads := map[string]func(H mat.Tensor) (mat.Tensor, error){
		"LAAT": func(H mat.Tensor) (mat.Tensor, error) { return laat.Forward(k, H, testLayout) },
	}
	for _, cfg := range allConfigs() {
		m, err := NewMSAM[float64](dense[float64](tL*tM, tD, syn), tL, tM, cfg, 9)
		if err != nil {
			t.Fatal(err)
		}
		heads["MSAM "+cfg.String()] = func(H mat.Tensor) (mat.Tensor, error) { return m.Forward(k, H, testLayout) }
	}
	for name, f := range heads {
		y0, g0 := run(f, hv)
		y1, g1 := run(f, changed)
		masked := name == "LAAT" || maskedMSAM(name)
		if !masked {
			if maxAbsDiff(y0, y1) < 1e-6 {
				t.Errorf("%s: unmasked logits ignore the padding", name)
			}
			continue
		}
		if e := maxAbsDiff(y0, y1); e != 0 {
			t.Errorf("%s: changing padded rows changed the logits by %.3g", name, e)
		}
		if e := maxAbsDiff(g0[:8*tD], g1[:8*tD]); e != 0 {
			t.Errorf("%s: changing padded rows changed the real rows' gradient by %.3g", name, e)
		}
		for i, v := range g0[8*tD:] {
			if v != 0 {
				t.Errorf("%s: padded element %d has gradient %g", name, i, v)
				break
			}
		}
	}
}

// maskedMSAM reports whether a test head name is an MSAM with the mask on.
func maskedMSAM(name string) bool {
	return len(name) > 14 && name[:15] == "MSAM mask=true "
}

// TestAllPaddingChunk: a chunk that is entirely padding attends to
// nothing, giving zero context rather than NaN.
func TestAllPaddingChunk(t *testing.T) {
	k := kernels.CPU[float64]()
	rng := rand.New(rand.NewPCG(5, 5))
	q, kv := leaf(2, 4, randSlice(rng, 8, -1, 1)), leaf(6, 4, randSlice(rng, 24, -1, 1))
	y, err := LabelAttention(k, q, kv, kv, 2, 3, []int{1, 1, 0, 0, 0, 0}, 1)
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range mat.Data[float64](y.Value()) {
		if (i >= 8 && v != 0) || math.IsNaN(v) {
			t.Fatalf("output %d = %g, want zeros for the padded chunk", i, v)
		}
	}
}

// gradsOf runs forward+backward of a float32 head on the CPU backend and
// returns copies of the parameter and input gradients.
func gradsOf(t *testing.T, ps []*nn.Param, f func(H mat.Tensor) (mat.Tensor, error), hv []float64) [][]float32 {
	t.Helper()
	for _, p := range ps {
		p.ZeroGrad()
	}
	H := mat.NewDense[float32](mat.WithShape(tRows, tD), mat.WithBacking(mat.Data[float32](dense[float32](tRows, tD, hv))), mat.WithGrad(true))
	y, err := f(H)
	if err != nil {
		t.Fatal(err)
	}
	y.AccGrad(dense[float32](1, tL, []float64{1, -2, 0.5, 1.5}))
	if err := ag.Backward(y); err != nil {
		t.Fatal(err)
	}
	var out [][]float32
	for _, p := range append(append([]mat.Tensor(nil), tensors(ps)...), H) {
		out = append(out, append([]float32(nil), mat.Data[float32](p.Grad())...))
	}
	return out
}

func tensors(ps []*nn.Param) []mat.Tensor {
	out := make([]mat.Tensor, len(ps))
	for i, p := range ps {
		out[i] = p
	}
	return out
}

// TestDeterminism repeats forward+backward of every head and requires
// bit-identical gradients, with GOMAXPROCS varied as in model/layers.
func TestDeterminism(t *testing.T) {
	syn, hv := testData(6)
	k := kernels.CPU[float32]()
	type head struct {
		ps []*nn.Param
		f  func(H mat.Tensor) (mat.Tensor, error)
	}
	ce, _ := NewCE[float32](tD, tL, 1)
	le, _ := NewLE[float32](tD, tL, 1)
	laat, _ := NewLAAT[float32](tD, 5, tL, 1)
	hs := map[string]head{
		"CE":   {ce.Params(), func(H mat.Tensor) (mat.Tensor, error) { return ce.Forward(k, H, testLayout) }},
		"LE":   {le.Params(), func(H mat.Tensor) (mat.Tensor, error) { return le.Forward(k, H, testLayout) }},
		"LAAT": {laat.Params(), func(H mat.Tensor) (mat.Tensor, error) { return laat.Forward(k, H, testLayout) }},
	}
	for _, cfg := range []MSAMConfig{FaithfulMSAM(), {Mask: true, Scale: true, Pool: PoolMax}} {
		m, err := NewMSAM[float32](dense[float32](tL*tM, tD, syn), tL, tM, cfg, 1)
		if err != nil {
			t.Fatal(err)
		}
		hs["MSAM "+cfg.String()] = head{m.Params(), func(H mat.Tensor) (mat.Tensor, error) { return m.Forward(k, H, testLayout) }}
	}
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	for name, h := range hs {
		var first [][]float32
		for rep := 0; rep < 8; rep++ {
			runtime.GOMAXPROCS(1 + rep%4)
			g := gradsOf(t, h.ps, h.f, hv)
			if first == nil {
				first = g
				continue
			}
			for i := range g {
				for j := range g[i] {
					if math.Float32bits(g[i][j]) != math.Float32bits(first[i][j]) {
						t.Fatalf("%s: repetition %d: gradient %d[%d] = %v, first pass %v", name, rep, i, j, g[i][j], first[i][j])
					}
				}
			}
		}
	}
}

// TestFloat32MatchesFloat64 builds every head in both precisions from the
// same seed and compares logits and gradients.
func TestFloat32MatchesFloat64(t *testing.T) {
	syn, hv := testData(7)
	k32, k64 := kernels.CPU[float32](), kernels.CPU[float64]()
	type pair struct {
		ps32, ps64 []*nn.Param
		f32, f64   func(H mat.Tensor) (mat.Tensor, error)
	}
	ce32, _ := NewCE[float32](tD, tL, 3)
	ce64, _ := NewCE[float64](tD, tL, 3)
	le32, _ := NewLE[float32](tD, tL, 3)
	le64, _ := NewLE[float64](tD, tL, 3)
	la32, _ := NewLAAT[float32](tD, 5, tL, 3)
	la64, _ := NewLAAT[float64](tD, 5, tL, 3)
	ps := map[string]pair{
		"CE": {ce32.Params(), ce64.Params(), func(H mat.Tensor) (mat.Tensor, error) { return ce32.Forward(k32, H, testLayout) },
			func(H mat.Tensor) (mat.Tensor, error) { return ce64.Forward(k64, H, testLayout) }},
		"LE": {le32.Params(), le64.Params(), func(H mat.Tensor) (mat.Tensor, error) { return le32.Forward(k32, H, testLayout) },
			func(H mat.Tensor) (mat.Tensor, error) { return le64.Forward(k64, H, testLayout) }},
		"LAAT": {la32.Params(), la64.Params(), func(H mat.Tensor) (mat.Tensor, error) { return la32.Forward(k32, H, testLayout) },
			func(H mat.Tensor) (mat.Tensor, error) { return la64.Forward(k64, H, testLayout) }},
	}
	for _, cfg := range []MSAMConfig{FaithfulMSAM(), {Mask: true, Scale: true, Pool: PoolMax}} {
		m32, err := NewMSAM[float32](dense[float32](tL*tM, tD, syn), tL, tM, cfg, 3)
		if err != nil {
			t.Fatal(err)
		}
		m64, err := NewMSAM[float64](dense[float64](tL*tM, tD, syn), tL, tM, cfg, 3)
		if err != nil {
			t.Fatal(err)
		}
		ps["MSAM "+cfg.String()] = pair{m32.Params(), m64.Params(),
			func(H mat.Tensor) (mat.Tensor, error) { return m32.Forward(k32, H, testLayout) },
			func(H mat.Tensor) (mat.Tensor, error) { return m64.Forward(k64, H, testLayout) }}
	}
	for name, p := range ps {
		g32 := gradsOf(t, p.ps32, p.f32, hv)
		for _, q := range p.ps64 {
			q.ZeroGrad()
		}
		H := leaf(tRows, tD, hv)
		y, err := p.f64(H)
		if err != nil {
			t.Fatal(err)
		}
		y32, err := p.f32(dense[float32](tRows, tD, hv))
		if err != nil {
			t.Fatal(err)
		}
		for i, v := range mat.Data[float64](y.Value()) {
			if d := math.Abs(v - float64(mat.Data[float32](y32.Value())[i])); d > 1e-5*math.Max(1, math.Abs(v)) {
				t.Errorf("%s: logit %d: float32 %v, float64 %v", name, i, mat.Data[float32](y32.Value())[i], v)
			}
		}
		y.AccGrad(dense[float64](1, tL, []float64{1, -2, 0.5, 1.5}))
		if err := ag.Backward(y); err != nil {
			t.Fatal(err)
		}
		for i, tt := range append(tensors(p.ps64), H) {
			g64 := mat.Data[float64](tt.Grad())
			var diff, norm float64
			for j, v := range g64 {
				diff += (v - float64(g32[i][j])) * (v - float64(g32[i][j]))
				norm += v * v
			}
			if rel := math.Sqrt(diff / norm); rel > 1e-5 || math.IsNaN(rel) {
				t.Errorf("%s: gradient %d: float32 vs float64 relative difference %.2g", name, i, rel)
			}
		}
	}
}

func TestShapeErrors(t *testing.T) {
	k := kernels.CPU[float64]()
	syn, hv := testData(8)
	S := dense[float64](tL*tM, tD, syn)
	H := dense[float64](tRows, tD, hv)
	m, err := NewMSAM[float64](S, tL, tM, FaithfulMSAM(), 1)
	if err != nil {
		t.Fatal(err)
	}
	ce, _ := NewCE[float64](tD, tL, 1)
	la, _ := NewLAAT[float64](tD, 5, tL, 1)
	for name, err := range map[string]error{
		"MSAM d % M":          second(NewMSAM[float64](dense[float64](tL*4, tD, make([]float64, tL*4*tD)), tL, 4, FaithfulMSAM(), 1)),
		"MSAM syn rows":       second(NewMSAM[float64](S, tL+1, tM, FaithfulMSAM(), 1)),
		"MSAM pool":           second(NewMSAM[float64](S, tL, tM, MSAMConfig{Pool: "sum"}, 1)),
		"MSAM float32 syn":    second(NewMSAM[float32](S, tL, tM, FaithfulMSAM(), 1)),
		"MSAM layout":         second(m.Forward(k, H, Layout{Chunks: 3, ChunkLen: 5})),
		"MSAM mask length":    second(m.Forward(k, H, Layout{Chunks: 2, ChunkLen: 5, Mask: []int{1}})),
		"MSAM mask value":     second(m.Forward(k, H, Layout{Chunks: 2, ChunkLen: 5, Mask: []int{1, 1, 1, 1, 1, 1, 1, 1, 2, 0}})),
		"MSAM width":          second(m.Forward(k, dense[float64](5, 4, hv[:20]), Layout{Chunks: 1, ChunkLen: 5})),
		"CE width":            second(ce.Forward(k, dense[float64](5, 4, hv[:20]), Layout{Chunks: 1, ChunkLen: 5})),
		"LAAT layout":         second(la.Forward(k, H, Layout{Chunks: 0, ChunkLen: 5})),
		"LabelAttention cols": second(LabelAttention(k, dense[float64](2, 4, hv[:8]), H, H, 2, 5, nil, 1)),
		"LabelAttention n":    second(LabelAttention(k, dense[float64](2, 6, hv[:12]), H, H, 2, 3, nil, 1)),
		"SynonymPool rows":    second(SynonymPool[float64](H, 3, PoolMean)),
		"LabelDot":            second(LabelDot[float64](H, dense[float64](3, 6, hv[:18]), nil)),
		"Rows repeated":       second(Rows[float64](H, []int{1, 1})),
		"Rows range":          second(Rows[float64](H, []int{10})),
		"NewCE":               second(NewCE[float64](0, tL, 1)),
	} {
		if err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func second[A any](_ A, err error) error { return err }
