package layers

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/icdcode/icdcode/model/kernels"
	"github.com/nlpodyssey/spago/ag"
	"github.com/nlpodyssey/spago/mat"
	"github.com/nlpodyssey/spago/mat/float"
)

func dense[T float.DType](r, c int, v []float64) *mat.Dense[T] {
	s := make([]T, len(v))
	for i, x := range v {
		s[i] = T(x)
	}
	return mat.NewDense[T](mat.WithShape(r, c), mat.WithBacking(s))
}

func values(t mat.Tensor) []float64 {
	return mat.Data[float64](t.Value())
}

func assertClose(t *testing.T, name string, got, want []float64, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", name, len(got), len(want))
	}
	for i := range got {
		if d := math.Abs(got[i] - want[i]); !(d <= tol*math.Max(1, math.Abs(want[i]))) {
			t.Fatalf("%s[%d] = %.12g, want %.12g", name, i, got[i], want[i])
		}
	}
}

func TestForwardLinearLayerNormGELU(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 1))
	x, w, b := randSlice(rng, 3*4, -1, 1), randSlice(rng, 4*2, -1, 1), randSlice(rng, 2, -1, 1)
	g, be := randSlice(rng, 4, 0.5, 1.5), randSlice(rng, 4, -1, 1)
	for _, k := range backends64() {
		y, err := Linear(k, dense[float64](3, 4, x), dense[float64](4, 2, w), dense[float64](1, 2, b))
		if err != nil {
			t.Fatal(err)
		}
		want := make([]float64, 3*2)
		for i := 0; i < 3; i++ {
			for j := 0; j < 2; j++ {
				want[i*2+j] = b[j]
				for p := 0; p < 4; p++ {
					want[i*2+j] += x[i*4+p] * w[p*2+j]
				}
			}
		}
		assertClose(t, "Linear", values(y), want, 1e-14)

		y, err = LayerNorm(k, dense[float64](3, 4, x), dense[float64](1, 4, g), dense[float64](1, 4, be), 1e-5)
		if err != nil {
			t.Fatal(err)
		}
		want = make([]float64, 3*4)
		for i := 0; i < 3; i++ {
			row := x[i*4 : i*4+4]
			var mean, v float64
			for _, a := range row {
				mean += a / 4
			}
			for _, a := range row {
				v += (a - mean) * (a - mean) / 4
			}
			for j, a := range row {
				want[i*4+j] = (a-mean)/math.Sqrt(v+1e-5)*g[j] + be[j]
			}
		}
		assertClose(t, "LayerNorm", values(y), want, 1e-12)

		y, err = GELU(k, dense[float64](3, 4, x))
		if err != nil {
			t.Fatal(err)
		}
		for i, a := range x {
			want[i] = 0.5 * a * (1 + math.Erf(a/math.Sqrt2))
		}
		assertClose(t, "GELU", values(y), want, 1e-14)
	}
}

// naiveAttention is the textbook per-query computation of SelfAttention.
func naiveAttention(qkv []float64, batch, n, d, heads int, mask []int) []float64 {
	dh := d / heads
	y := make([]float64, batch*n*d)
	for b := 0; b < batch; b++ {
		for h := 0; h < heads; h++ {
			for i := 0; i < n; i++ {
				q := qkv[(b*n+i)*3*d+h*dh:]
				s := make([]float64, n)
				mx := math.Inf(-1)
				for j := 0; j < n; j++ {
					s[j] = math.Inf(-1)
					if mask == nil || mask[b*n+j] == 1 {
						kk := qkv[(b*n+j)*3*d+d+h*dh:]
						s[j] = 0
						for p := 0; p < dh; p++ {
							s[j] += q[p] * kk[p]
						}
						s[j] /= math.Sqrt(float64(dh))
					}
					mx = math.Max(mx, s[j])
				}
				var z float64
				for j := range s {
					s[j] = math.Exp(s[j] - mx)
					z += s[j]
				}
				for j := 0; j < n; j++ {
					v := qkv[(b*n+j)*3*d+2*d+h*dh:]
					for p := 0; p < dh; p++ {
						y[(b*n+i)*d+h*dh+p] += s[j] / z * v[p]
					}
				}
			}
		}
	}
	return y
}

func TestForwardSelfAttention(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 2))
	const n, heads, d = 5, 3, 6
	qkv := randSlice(rng, 2*n*3*d, -2, 2)
	for _, k := range backends64() {
		for _, mask := range [][]int{nil, attentionMask} {
			y, err := SelfAttention(k, dense[float64](2*n, 3*d, qkv), heads, n, mask)
			if err != nil {
				t.Fatal(err)
			}
			assertClose(t, "SelfAttention "+k.Name(), values(y), naiveAttention(qkv, 2, n, d, heads, mask), 1e-13)
		}
		// The second sequence has 3 real tokens: its real rows must equal
		// attention over those 3 tokens alone, without padding.
		y, err := SelfAttention(k, dense[float64](2*n, 3*d, qkv), heads, n, attentionMask)
		if err != nil {
			t.Fatal(err)
		}
		alone, err := SelfAttention(k, dense[float64](3, 3*d, qkv[n*3*d:(n+3)*3*d]), heads, 3, nil)
		if err != nil {
			t.Fatal(err)
		}
		assertClose(t, "padding invariance", values(y)[n*d:(n+3)*d], values(alone), 1e-14)

		// A sequence that is all padding gives zero outputs and zero,
		// finite gradients instead of NaNs.
		x := dense[float64](2*n, 3*d, qkv)
		x.SetRequiresGrad(true)
		y, err = SelfAttention(k, x, heads, n, []int{1, 1, 0, 0, 0, 0, 0, 0, 0, 0})
		if err != nil {
			t.Fatal(err)
		}
		y.AccGrad(dense[float64](2*n, d, randSlice(rng, 2*n*d, -1, 1)))
		if err := ag.Backward(y); err != nil {
			t.Fatal(err)
		}
		for i, v := range values(y)[n*d:] {
			if v != 0 {
				t.Fatalf("all-padding sequence: output %d = %g, want 0", i, v)
			}
		}
		for i, v := range mat.Data[float64](x.Grad())[n*3*d:] {
			if v != 0 {
				t.Fatalf("all-padding sequence: gradient %d = %g, want 0", i, v)
			}
		}
	}
}

func TestForwardElementwiseAndLosses(t *testing.T) {
	x := []float64{-800, -3, -0.5, 0, 0.25, 2, 30, 800}
	y := []float64{0, 1, 0.5, 1, 0, 1, 0, 1}
	xt, yt := dense[float64](2, 4, x), dense[float64](2, 4, y)

	th, _ := Tanh[float64](xt)
	sg, _ := Sigmoid[float64](xt)
	for i, v := range x {
		if got := values(th)[i]; got != math.Tanh(v) {
			t.Errorf("Tanh(%g) = %g", v, got)
		}
		if got, want := values(sg)[i], 1/(1+math.Exp(-v)); math.Abs(got-want) > 1e-16 || math.IsNaN(got) {
			t.Errorf("Sigmoid(%g) = %g, want %g", v, got, want)
		}
	}

	for _, r := range []Reduction{Mean, Sum} {
		l, err := BCEWithLogits[float64](xt, yt, r)
		if err != nil {
			t.Fatal(err)
		}
		var want float64
		for i, z := range x {
			// log σ(z) and log(1 − σ(z)) written to stay finite at ±800.
			logSig := -math.Log1p(math.Exp(-z))
			log1mSig := -math.Log1p(math.Exp(z))
			if z < 0 {
				logSig = z - math.Log1p(math.Exp(z))
			} else {
				log1mSig = -z - math.Log1p(math.Exp(-z))
			}
			want += -(y[i]*logSig + (1-y[i])*log1mSig)
		}
		if r == Mean {
			want /= float64(len(x))
		}
		assertClose(t, "BCEWithLogits/"+r.String(), []float64{l.Value().Item().F64()}, []float64{want}, 1e-14)

		h, err := Huber[float64](xt, yt, 1.5, r)
		if err != nil {
			t.Fatal(err)
		}
		want = 0
		for i, p := range x {
			d := math.Abs(p - y[i])
			if d <= 1.5 {
				want += d * d / 2
			} else {
				want += 1.5 * (d - 0.75)
			}
		}
		if r == Mean {
			want /= float64(len(x))
		}
		assertClose(t, "Huber/"+r.String(), []float64{h.Value().Item().F64()}, []float64{want}, 1e-14)
	}
}

func TestEmbeddingForward(t *testing.T) {
	table := []mat.Tensor{dense[float32](1, 2, []float64{1, 2}), dense[float32](2, 1, []float64{3, 4}), dense[float32](1, 2, []float64{5, 6})}
	y, err := Embedding[float32](table, []int{2, 0, 2, 1})
	if err != nil {
		t.Fatal(err)
	}
	got, want := mat.Data[float32](y.Value()), []float32{5, 6, 1, 2, 5, 6, 3, 4}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("Embedding = %v, want %v", got, want)
		}
	}
	if s := y.Value().Shape(); s[0] != 4 || s[1] != 2 {
		t.Errorf("Embedding shape %v, want [4 2]", s)
	}
}

func TestDropout(t *testing.T) {
	const m, n, p = 64, 64, 0.25
	x := dense[float64](m, n, randSlice(rand.New(rand.NewPCG(2, 3)), m*n, 1, 2))
	for _, c := range []struct {
		p     float64
		train bool
	}{{0, true}, {p, false}} {
		y, err := Dropout[float64](x, c.p, c.train, nil)
		if err != nil {
			t.Fatal(err)
		}
		if y != mat.Tensor(x) {
			t.Errorf("Dropout(p=%g, train=%v) is not the identity", c.p, c.train)
		}
	}
	drop := func(seed uint64) []float64 {
		y, err := Dropout[float64](x, p, true, rand.New(rand.NewPCG(seed, 0)))
		if err != nil {
			t.Fatal(err)
		}
		return values(y)
	}
	a, b, c := drop(1), drop(1), drop(2)
	kept, differ := 0, 0
	for i, v := range a {
		if v != b[i] {
			t.Fatalf("same seed, different masks at %d", i)
		}
		if v != c[i] {
			differ++
		}
		if v != 0 {
			kept++
			if xv := values(x)[i]; math.Abs(v-xv/(1-p)) > 1e-15 {
				t.Fatalf("kept element %d = %g, want %g", i, v, xv/(1-p))
			}
		}
	}
	if frac := float64(kept) / (m * n); math.Abs(frac-(1-p)) > 0.03 {
		t.Errorf("kept fraction %.3f, want ≈ %.2f", frac, 1-p)
	}
	if differ == 0 {
		t.Errorf("seeds 1 and 2 gave the same mask")
	}
	if _, err := Dropout[float64](x, 1, true, rand.New(rand.NewPCG(1, 0))); err == nil {
		t.Errorf("p = 1 accepted")
	}
	if _, err := Dropout[float64](x, 0.1, true, nil); err == nil {
		t.Errorf("nil rng accepted in training mode")
	}
}

func TestShapeErrors(t *testing.T) {
	k := kernels.Reference[float64]()
	m := func(r, c int) mat.Tensor { return dense[float64](r, c, make([]float64, r*c)) }
	for name, f := range map[string]func() (mat.Tensor, error){
		"Linear inner":        func() (mat.Tensor, error) { return Linear(k, m(2, 3), m(4, 5), nil) },
		"Linear bias":         func() (mat.Tensor, error) { return Linear(k, m(2, 3), m(3, 5), m(1, 4)) },
		"Linear dtype":        func() (mat.Tensor, error) { return Linear(k, dense[float32](2, 3, make([]float64, 6)), m(3, 5), nil) },
		"LayerNorm gamma":     func() (mat.Tensor, error) { return LayerNorm(k, m(2, 3), m(1, 2), m(1, 3), 1e-12) },
		"LayerNorm eps":       func() (mat.Tensor, error) { return LayerNorm(k, m(2, 3), m(1, 3), m(1, 3), 0) },
		"Attention columns":   func() (mat.Tensor, error) { return SelfAttention(k, m(4, 10), 2, 4, nil) },
		"Attention heads":     func() (mat.Tensor, error) { return SelfAttention(k, m(4, 12), 3, 4, nil) },
		"Attention rows":      func() (mat.Tensor, error) { return SelfAttention(k, m(5, 12), 2, 4, nil) },
		"Attention mask len":  func() (mat.Tensor, error) { return SelfAttention(k, m(4, 12), 2, 4, []int{1, 1, 1}) },
		"Attention mask vals": func() (mat.Tensor, error) { return SelfAttention(k, m(4, 12), 2, 4, []int{1, 1, 2, 0}) },
		"Embedding id":        func() (mat.Tensor, error) { return Embedding[float64]([]mat.Tensor{m(1, 3)}, []int{1}) },
		"Embedding dims":      func() (mat.Tensor, error) { return Embedding[float64]([]mat.Tensor{m(1, 3), m(1, 2)}, []int{0, 1}) },
		"BCE shape":           func() (mat.Tensor, error) { return BCEWithLogits[float64](m(2, 3), m(3, 2), Mean) },
		"BCE reduction":       func() (mat.Tensor, error) { return BCEWithLogits[float64](m(2, 3), m(2, 3), Reduction(7)) },
		"Huber delta":         func() (mat.Tensor, error) { return Huber[float64](m(2, 3), m(2, 3), 0, Mean) },
		"Add shape":           func() (mat.Tensor, error) { return Add[float64](m(2, 3), m(3, 2)) },
		"Fanout k":            func() (mat.Tensor, error) { _, err := Fanout[float64](m(2, 3), 0); return nil, err },
	} {
		if _, err := f(); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

// TestFloat32Backends checks that the CPU backend agrees with the
// reference backend in float32 on the kernel-based functions.
func TestFloat32Backends(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 4))
	const n, d, heads, ffn = 24, 32, 4, 64
	x := randSlice(rng, 2*n*d, -1, 1)
	mask := make([]int, 2*n)
	for i := range mask {
		if i < n+17 {
			mask[i] = 1
		}
	}
	p := newBertParams(rng, d, ffn)
	outs := map[string][][]float64{}
	for _, k := range []kernels.Kernels[float32]{kernels.Reference[float32](), kernels.CPU[float32]()} {
		p32 := tensors[float32](p)
		xt := dense[float32](2*n, d, x)
		lin, err := Linear(k, xt, p32[0], p32[1])
		if err != nil {
			t.Fatal(err)
		}
		att, err := SelfAttention(k, lin, heads, n, mask)
		if err != nil {
			t.Fatal(err)
		}
		ln, err := LayerNorm(k, xt, p32[4], p32[5], 1e-12)
		if err != nil {
			t.Fatal(err)
		}
		ge, err := GELU(k, xt)
		if err != nil {
			t.Fatal(err)
		}
		layer, err := bertLayer(k, xt, p32, heads, n, mask)
		if err != nil {
			t.Fatal(err)
		}
		for name, y := range map[string]mat.Tensor{"Linear": lin, "SelfAttention": att, "LayerNorm": ln, "GELU": ge, "BertLayer": layer} {
			v := make([]float64, y.Value().Size())
			for i, e := range mat.Data[float32](y.Value()) {
				v[i] = float64(e)
			}
			outs[name] = append(outs[name], v)
		}
	}
	for name, o := range outs {
		var worst float64
		for i := range o[0] {
			worst = math.Max(worst, math.Abs(o[0][i]-o[1][i])/math.Max(1, math.Abs(o[0][i])))
		}
		t.Logf("%s: float32 reference vs CPU max difference %.2e", name, worst)
		if worst > 1e-5 {
			t.Errorf("%s: float32 backends differ by %.2e", name, worst)
		}
	}
}
