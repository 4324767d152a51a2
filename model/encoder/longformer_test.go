package encoder

import (
	"math"
	"math/rand/v2"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/icdcode/icdcode/model/hf"
	"github.com/icdcode/icdcode/model/kernels"
	"github.com/nlpodyssey/spago/ag"
	"github.com/nlpodyssey/spago/mat"
	"github.com/nlpodyssey/spago/mat/float"
	"github.com/nlpodyssey/spago/nn"
)

// equalParams fails unless a and b have bit-identical parameters.
func equalParams[T float.DType](t *testing.T, a, b *Encoder[T]) {
	t.Helper()
	pa, pb := a.Params(), b.Params()
	if len(pa) != len(pb) {
		t.Fatalf("%d parameters, want %d", len(pb), len(pa))
	}
	for i := range pa {
		if !reflect.DeepEqual(pa[i].Shape(), pb[i].Shape()) {
			t.Fatalf("parameter %d: shape %v, want %v", i, pb[i].Shape(), pa[i].Shape())
		}
		x, y := mat.Data[T](pa[i]), mat.Data[T](pb[i])
		for j := range x {
			if x[j] != y[j] {
				t.Fatalf("parameter %d element %d: %g, want %g", i, j, y[j], x[j])
			}
		}
	}
}

func TestSaveLoad(t *testing.T) {
	for _, arch := range archs {
		t.Run(arch, func(t *testing.T) {
			fromHF, err := Load[float32](fixture(arch))
			if err != nil {
				t.Fatal(err)
			}
			random, err := New[float32](tinyConfig(arch), false, 9)
			if err != nil {
				t.Fatal(err)
			}
			long, err := ToLongformer(fromHF, 40, 4)
			if err != nil {
				t.Fatal(err)
			}
			encs := map[string]*Encoder[float32]{"hf": fromHF, "random": random, "longformer": long}
			if arch == hf.TypeRoBERTa {
				// A RoBERTa conversion saved as model_type longformer is an
				// HF Longformer checkpoint (same position offset): Load reads
				// the windows from config.json and the global projections.
				asHF, err := ToLongformer(fromHF, 40, 4)
				if err != nil {
					t.Fatal(err)
				}
				asHF.Config.ModelType = hf.TypeLongformer
				encs["hf-longformer"] = asHF
			}
			for name, e := range encs {
				dir := t.TempDir()
				if err := e.Save(dir); err != nil {
					t.Fatal(err)
				}
				back, err := Load[float32](dir)
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				equalParams(t, e, back)
				if (e.Pooler == nil) != (back.Pooler == nil) {
					t.Errorf("%s: pooler lost", name)
				}
				want, got := e.Config, back.Config
				want.Path, got.Path, want.TorchDType, got.TorchDType = "", "", "", ""
				if !reflect.DeepEqual(want, got) {
					t.Errorf("%s: config\n%+v\nwant\n%+v", name, got, want)
				}
				for i := range e.Layers {
					if e.Layers[i].Window != back.Layers[i].Window {
						t.Errorf("%s: layer %d window %d, want %d", name, i, back.Layers[i].Window, e.Layers[i].Window)
					}
				}
				k := kernels.CPU[float32]()
				ids := [][]int{{2, 10, 11, 3}}
				o1, err := e.Forward(k, ids, nil, nil)
				if err != nil {
					t.Fatal(err)
				}
				o2, err := back.Forward(k, ids, nil, nil)
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(mat.Data[float32](o1.Hidden.Value()), mat.Data[float32](o2.Hidden.Value())) {
					t.Errorf("%s: outputs differ after the round trip", name)
				}
			}
		})
	}
}

func TestToLongformerPositions(t *testing.T) {
	for _, arch := range archs {
		e, err := Load[float32](fixture(arch))
		if err != nil {
			t.Fatal(err)
		}
		const maxLen = 47 // not a multiple of the period: the last copy is partial
		long, err := ToLongformer(e, maxLen, 8)
		if err != nil {
			t.Fatal(err)
		}
		off := e.Config.PositionOffset()
		if got := len(long.Embeddings.Position); got != maxLen+off || long.Config.MaxPositionEmbeddings != got {
			t.Fatalf("%s: %d position rows (config %d), want %d", arch, got, long.Config.MaxPositionEmbeddings, maxLen+off)
		}
		period := len(e.Embeddings.Position) - off
		for i, row := range long.Embeddings.Position {
			src := i
			if i >= off {
				src = off + (i-off)%period
			}
			if !reflect.DeepEqual(mat.Data[float32](row), mat.Data[float32](e.Embeddings.Position[src])) {
				t.Fatalf("%s: position row %d is not original row %d", arch, i, src)
			}
		}
		for l, ly := range long.Layers {
			if ly.Window != 8 || ly.GlobalQKV == nil {
				t.Fatalf("%s: layer %d: window %d, global %v", arch, l, ly.Window, ly.GlobalQKV != nil)
			}
			if !reflect.DeepEqual(mat.Data[float32](ly.GlobalQKV.W), mat.Data[float32](ly.QKV.W)) ||
				!reflect.DeepEqual(mat.Data[float32](ly.GlobalQKV.B), mat.Data[float32](ly.QKV.B)) {
				t.Fatalf("%s: layer %d: global projections differ from the local ones", arch, l)
			}
			if ly.GlobalQKV.W == ly.QKV.W {
				t.Fatalf("%s: layer %d: global projection shares the local parameter", arch, l)
			}
		}
		// The original must be untouched and independent.
		mat.Data[float32](long.Embeddings.Word[3])[0] += 1
		if mat.Data[float32](e.Embeddings.Word[3])[0] == mat.Data[float32](long.Embeddings.Word[3])[0] {
			t.Fatalf("%s: conversion shares parameters with the original", arch)
		}
	}
	e, _ := Load[float32](fixture("bert"))
	if _, err := ToLongformer(e, 10, 3); err == nil {
		t.Error("odd window: no error")
	}
	long, _ := ToLongformer(e, 10, 4)
	if _, err := ToLongformer(long, 10, 4); err == nil {
		t.Error("converting twice: no error")
	}
	if _, err := long.Forward(kernels.CPU[float32](), [][]int{make([]int, 11)}, nil, nil); err == nil {
		t.Error("sequence longer than the new length: no error")
	}
}

// TestLongformerEqualsFull checks that with a window covering the whole
// sequence and no global tokens the Longformer forward (and its
// gradients) equals the original encoder's.
func TestLongformerEqualsFull(t *testing.T) {
	for _, arch := range archs {
		t.Run(arch, func(t *testing.T) {
			ref, err := hf.ReadReference(filepath.Join(fixture(arch), "reference.json"))
			if err != nil {
				t.Fatal(err)
			}
			for _, tc := range []struct {
				name string
				run  func(t *testing.T) float64
			}{
				{"float32", func(t *testing.T) float64 { return compareFull[float32](t, arch, ref) }},
				{"float64", func(t *testing.T) float64 { return compareFull[float64](t, arch, ref) }},
			} {
				diff := tc.run(t)
				t.Logf("%s %s: max abs diff of outputs and gradients %.2e", arch, tc.name, diff)
				tol := 1e-5
				if tc.name == "float64" {
					tol = 1e-12
				}
				if diff > tol {
					t.Errorf("%s: max abs diff %.2e > %.0e", tc.name, diff, tol)
				}
			}
			// Negative control: a narrow window must change the outputs,
			// so the equality above is not an accident of a shared path.
			e, err := Load[float64](fixture(arch))
			if err != nil {
				t.Fatal(err)
			}
			narrow, err := ToLongformer(e, 64, 2)
			if err != nil {
				t.Fatal(err)
			}
			ids, types, mask, _ := refBatch(ref, e.Config.PadTokenID)
			k := kernels.CPU[float64]()
			o1, err := e.Forward(k, ids, types, mask)
			if err != nil {
				t.Fatal(err)
			}
			o2, err := narrow.Forward(k, ids, types, mask)
			if err != nil {
				t.Fatal(err)
			}
			if reflect.DeepEqual(mat.Data[float64](o1.Hidden.Value()), mat.Data[float64](o2.Hidden.Value())) {
				t.Error("a window of 2 gives the same output as full attention")
			}
		})
	}
}

func compareFull[T float.DType](t *testing.T, arch string, ref *hf.Reference) float64 {
	e, err := Load[T](fixture(arch))
	if err != nil {
		t.Fatal(err)
	}
	ids, types, mask, l := refBatch(ref, e.Config.PadTokenID)
	long, err := ToLongformer(e, 64, 2*l) // one-sided window l ≥ l−1
	if err != nil {
		t.Fatal(err)
	}
	k := kernels.CPU[T]()
	run := func(enc *Encoder[T]) ([]T, []T, [][]T) {
		nn.ZeroGrad(enc)
		out, err := enc.Run(k, ids, types, mask, Options{Pool: true})
		if err != nil {
			t.Fatal(err)
		}
		backward[T](t, out, mask)
		var gs [][]T
		for _, ly := range enc.Layers {
			gs = append(gs, mat.Data[T](ly.QKV.W.Grad()), mat.Data[T](ly.FF1.W.Grad()))
		}
		gs = append(gs, mat.Data[T](enc.Embeddings.Word[ids[0][1]].Grad()))
		return mat.Data[T](out.Hidden.Value()), mat.Data[T](out.Pooled.Value()), gs
	}
	h1, p1, g1 := run(e)
	h2, p2, g2 := run(long)
	d := e.Config.HiddenSize
	worst := 0.0
	for r := range h1 {
		if mask[r/d/l][r/d%l] == 1 {
			worst = max(worst, math.Abs(float64(h1[r]-h2[r])))
		}
	}
	for i := range p1 {
		worst = max(worst, math.Abs(float64(p1[i]-p2[i])))
	}
	for i := range g1 {
		for j := range g1[i] {
			worst = max(worst, math.Abs(float64(g1[i][j]-g2[i][j])))
		}
	}
	return worst
}

// TestWindowAttentionGrad checks WindowAttention's gradients (local and
// global projections, padding, two sequences) against float64 central
// differences.
func TestWindowAttentionGrad(t *testing.T) {
	const b, l, d, heads, w = 2, 9, 8, 2, 2
	rng := rand.New(rand.NewPCG(11, 12))
	rnd := func(n int) []float64 {
		v := make([]float64, n)
		for i := range v {
			v[i] = rng.Float64()*2 - 1
		}
		return v
	}
	qkv0, g0 := rnd(b*l*3*d), rnd(b*l*3*d)
	r := rnd(b * l * d)
	valid := make([]bool, b*l)
	for i := range valid {
		valid[i] = i < l+6 // sequence 1 has 3 padded rows
	}
	global := [][]int{{0, 4}, {0}}
	k := kernels.Reference[float64]()
	f := func(qv, gv []float64, grad bool) (float64, *mat.Dense[float64], *mat.Dense[float64]) {
		q := mat.NewDense[float64](mat.WithShape(b*l, 3*d), mat.WithBacking(append([]float64(nil), qv...)), mat.WithGrad(grad))
		g := mat.NewDense[float64](mat.WithShape(b*l, 3*d), mat.WithBacking(append([]float64(nil), gv...)), mat.WithGrad(grad))
		y, err := WindowAttention[float64](k, q, g, heads, l, w, valid, global)
		if err != nil {
			t.Fatal(err)
		}
		s := 0.0
		for i, v := range mat.Data[float64](y.Value()) {
			s += v * r[i]
		}
		if grad {
			y.AccGrad(mat.NewDense[float64](mat.WithShape(b*l, d), mat.WithBacking(r)))
			if err := ag.Backward(y); err != nil {
				t.Fatal(err)
			}
		}
		return s, q, g
	}
	_, q, g := f(qkv0, g0, true)
	worst := 0.0
	for which, vals := range [][]float64{qkv0, g0} {
		an := mat.Data[float64](q.Grad())
		if which == 1 {
			an = mat.Data[float64](g.Grad())
		}
		nz := 0
		for i := range vals {
			old := vals[i]
			const h = 1e-6
			vals[i] = old + h
			lp, _, _ := f(qkv0, g0, false)
			vals[i] = old - h
			lm, _, _ := f(qkv0, g0, false)
			vals[i] = old
			num := (lp - lm) / (2 * h)
			if e := math.Abs(num - an[i]); e > 1e-8 {
				t.Fatalf("input %d element %d: analytic %.10g, numeric %.10g", which, i, an[i], num)
			}
			worst = max(worst, math.Abs(num-an[i]))
			if an[i] != 0 {
				nz++
			}
		}
		if nz == 0 {
			t.Errorf("input %d: all gradients zero", which)
		}
	}
	t.Logf("max abs error %.2e over %d elements", worst, 2*len(qkv0))
	if _, err := WindowAttention[float64](k, q, nil, heads, l, w, valid, global); err == nil {
		t.Error("global tokens without a global projection: no error")
	}
	if _, err := WindowAttention[float64](k, q, g, heads, l, w, valid, [][]int{{3, 1}, nil}); err == nil {
		t.Error("unsorted global positions: no error")
	}
}

// TestLongformerGlobal runs a converted encoder with global tokens: the
// gradients reach the global projections and finite differences agree.
func TestLongformerGlobal(t *testing.T) {
	for _, arch := range archs {
		t.Run(arch, func(t *testing.T) {
			cfg := tinyConfig(arch)
			base, err := New[float64](cfg, true, 5)
			if err != nil {
				t.Fatal(err)
			}
			for i, p := range base.Params() {
				for j := range mat.Data[float64](p) {
					mat.Data[float64](p)[j] += 0.3 * math.Sin(float64(17*i+j))
				}
			}
			e, err := ToLongformer(base, 24, 4)
			if err != nil {
				t.Fatal(err)
			}
			ids := [][]int{{2, 5, 7, 9, 3, 8, 6, 4, 3}, {2, 11, 3, 12, 13, 3, cfg.PadTokenID, cfg.PadTokenID, cfg.PadTokenID}}
			mask := [][]int{{1, 1, 1, 1, 1, 1, 1, 1, 1}, {1, 1, 1, 1, 1, 1, 0, 0, 0}}
			opts := Options{Pool: true, Global: [][]int{{0, 5}, {0}}}
			worst := fdCheck(t, e, ids, mask, opts)
			t.Logf("worst relative error %.2e", worst)
			for l, ly := range e.Layers {
				if !ly.GlobalQKV.W.HasGrad() {
					t.Errorf("layer %d: no gradient for the global projection", l)
				}
			}
			if _, err := e.Run(kernels.CPU[float64](), ids, nil, mask, Options{Global: [][]int{{0}}}); err == nil {
				t.Error("one global list for two sequences: no error")
			}
			if _, err := base.Run(kernels.CPU[float64](), ids, nil, mask, Options{Global: [][]int{{0}, {0}}}); err == nil {
				t.Error("global tokens on a full-attention encoder: no error")
			}
		})
	}
}
