package encoder

import (
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/icdcode/icdcode/model/hf"
	"github.com/icdcode/icdcode/model/kernels"
	"github.com/icdcode/icdcode/model/layers"
	"github.com/nlpodyssey/spago/ag"
	"github.com/nlpodyssey/spago/mat"
	"github.com/nlpodyssey/spago/mat/float"
	"github.com/nlpodyssey/spago/nn"
)

var archs = []string{"bert", "roberta", "megatron-bert"}

func fixture(arch string) string { return filepath.Join("..", "hf", "testdata", arch) }

// onlyFile copies config.json and one weights file of a fixture into a
// temporary directory, so that Load has to read that format.
func onlyFile(t *testing.T, src, file string) string {
	t.Helper()
	dir := t.TempDir()
	for _, f := range []string{hf.ConfigFile, file} {
		b, err := os.ReadFile(filepath.Join(src, f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// refBatch pads every reference case to the longest one (pad token,
// attention mask 0) and returns the batch.
func refBatch(ref *hf.Reference, pad int) (ids, types, mask [][]int, l int) {
	for _, c := range ref.Cases {
		l = max(l, len(c.InputIDs))
	}
	for _, c := range ref.Cases {
		id, ty, m := make([]int, l), make([]int, l), make([]int, l)
		for i := range id {
			id[i] = pad
		}
		copy(id, c.InputIDs)
		copy(ty, c.TokenTypeIDs)
		copy(m, c.AttentionMask)
		ids, types, mask = append(ids, id), append(types, ty), append(mask, m)
	}
	return ids, types, mask, l
}

// refDiff runs the reference cases as one padded batch and returns the
// largest absolute difference from the PyTorch reference over the rows
// with attention mask 1 of every hidden state, the last hidden state and
// the pooled output.
func refDiff[T float.DType](t *testing.T, k kernels.Kernels[T], e *Encoder[T], ref *hf.Reference) float64 {
	t.Helper()
	ids, types, mask, l := refBatch(ref, e.Config.PadTokenID)
	out, err := e.Run(k, ids, types, mask, Options{Pool: true, KeepLayers: true})
	if err != nil {
		t.Fatal(err)
	}
	d := e.Config.HiddenSize
	worst := 0.0
	cmp := func(got []T, want []float64) {
		if len(got) != len(want) {
			t.Fatalf("length %d, want %d", len(got), len(want))
		}
		for i := range got {
			worst = max(worst, math.Abs(float64(got[i])-want[i]))
		}
	}
	rows := func(x mat.Tensor, b int, want [][]float64, m []int) {
		xs := mat.Data[T](x.Value())
		for i, w := range want {
			if m[i] == 1 {
				cmp(xs[(b*l+i)*d:(b*l+i+1)*d], w)
			}
		}
	}
	if len(out.Layers) != len(e.Layers)+1 {
		t.Fatalf("%d kept layers, want %d", len(out.Layers), len(e.Layers)+1)
	}
	for b, c := range ref.Cases {
		for j, hs := range c.HiddenStates {
			if j < len(out.Layers) && !(e.FinalNorm != nil && j == len(c.HiddenStates)-1) {
				rows(out.Layers[j], b, hs, c.AttentionMask)
			}
		}
		rows(out.Hidden, b, c.LastHiddenState, c.AttentionMask)
		cmp(mat.Data[T](out.Pooled.Value())[b*d:(b+1)*d], c.PoolerOutput)
	}
	return worst
}

func TestReference(t *testing.T) {
	for _, arch := range archs {
		ref, err := hf.ReadReference(filepath.Join(fixture(arch), "reference.json"))
		if err != nil {
			t.Fatal(err)
		}
		for _, file := range []string{hf.SafetensorsFile, hf.PyTorchFile} {
			dir := onlyFile(t, fixture(arch), file)
			t.Run(arch+"/"+file+"/float32", func(t *testing.T) {
				e, err := Load[float32](dir)
				if err != nil {
					t.Fatal(err)
				}
				for _, k := range []kernels.Kernels[float32]{kernels.CPU[float32](), kernels.Reference[float32]()} {
					diff := refDiff(t, k, e, ref)
					t.Logf("%s %s float32 %s: max abs diff %.2e", arch, file, k.Name(), diff)
					if diff > 1e-5 {
						t.Errorf("max abs diff %.2e > 1e-5", diff)
					}
				}
			})
			t.Run(arch+"/"+file+"/float64", func(t *testing.T) {
				e, err := Load[float64](dir)
				if err != nil {
					t.Fatal(err)
				}
				diff := refDiff(t, kernels.CPU[float64](), e, ref)
				t.Logf("%s %s float64: max abs diff %.2e", arch, file, diff)
				if diff > 1e-9 {
					t.Errorf("max abs diff %.2e > 1e-9", diff)
				}
			})
		}
	}
}

// TestHalfPrecision loads the fp16 and bf16 variants of the BERT fixture
// from both formats and checks every parameter against the fp32 weights
// rounded the same way, and the outputs against the reference.
func TestHalfPrecision(t *testing.T) {
	full, err := Load[float32](fixture("bert"))
	if err != nil {
		t.Fatal(err)
	}
	ref, err := hf.ReadReference(filepath.Join(fixture("bert"), "reference.json"))
	if err != nil {
		t.Fatal(err)
	}
	rounders := map[string]func(float32) float32{
		"bert-fp16": func(f float32) float32 { return hf.Float16ToFloat32(hf.Float32ToFloat16(f)) },
		"bert-bf16": func(f float32) float32 { return hf.BFloat16ToFloat32(hf.Float32ToBFloat16(f)) },
	}
	for variant, round := range rounders {
		for _, file := range []string{hf.SafetensorsFile, hf.PyTorchFile} {
			t.Run(variant+"/"+file, func(t *testing.T) {
				e, err := Load[float32](onlyFile(t, fixture(variant), file))
				if err != nil {
					t.Fatal(err)
				}
				want, got := full.Params(), e.Params()
				if len(want) != len(got) {
					t.Fatalf("%d parameters, want %d", len(got), len(want))
				}
				for i := range want {
					w, g := mat.Data[float32](want[i]), mat.Data[float32](got[i])
					for j := range w {
						if round(w[j]) != g[j] {
							t.Fatalf("parameter %d element %d: %g, want %g rounded = %g", i, j, g[j], w[j], round(w[j]))
						}
					}
				}
				diff := refDiff(t, kernels.CPU[float32](), e, ref)
				t.Logf("%s %s: max abs diff from the fp32 reference %.2e (weight rounding)", variant, file, diff)
				if diff > 0.05 {
					t.Errorf("max abs diff %.2e", diff)
				}
			})
		}
	}
}

// TestCheckError writes a checkpoint with a missing, an unexpected and a
// misshapen tensor and checks that Load lists all three.
func TestCheckError(t *testing.T) {
	src, err := hf.OpenTensors(fixture("bert"))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	var ts []*hf.Tensor
	for _, info := range src.Tensors() {
		x, err := src.Load(info.Name)
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case strings.HasSuffix(x.Name, "encoder.layer.1.attention.self.key.bias"):
			continue // missing
		case strings.HasSuffix(x.Name, "encoder.layer.0.output.dense.bias"):
			x.Shape, x.Data = []int{5}, x.Data[:5] // wrong shape
		}
		ts = append(ts, x)
	}
	ts = append(ts, &hf.Tensor{Name: "bert.encoder.layer.0.extra.weight", Shape: []int{2}, Data: []float32{1, 2}})
	dir := onlyFile(t, fixture("bert"), hf.ConfigFile)
	if err := hf.WriteSafetensors(filepath.Join(dir, hf.SafetensorsFile), ts, hf.F32, nil); err != nil {
		t.Fatal(err)
	}
	_, err = Load[float32](dir)
	var ce *hf.CheckError
	if !errors.As(err, &ce) {
		t.Fatalf("error %v, want *hf.CheckError", err)
	}
	msg := err.Error()
	for _, s := range []string{"encoder.layer.1.attention.self.key.bias", "encoder.layer.0.extra.weight", "encoder.layer.0.output.dense.bias"} {
		if !strings.Contains(msg, s) {
			t.Errorf("error does not name %s:\n%s", s, msg)
		}
	}
	t.Logf("error: %v", err)
}

func tinyConfig(modelType string) *hf.Config {
	cfg := &hf.Config{
		ModelType: modelType, VocabSize: 40, HiddenSize: 8, NumHiddenLayers: 2, NumAttentionHeads: 2,
		IntermediateSize: 16, HiddenAct: "gelu", MaxPositionEmbeddings: 16, TypeVocabSize: 2,
		LayerNormEps: 1e-12, PositionEmbeddingType: "absolute", InitializerRange: 0.02,
		HiddenDropoutProb: 0.1, AttentionProbsDropoutProb: 0.1, BOSTokenID: -1, EOSTokenID: -1,
	}
	if modelType == hf.TypeRoBERTa {
		cfg.PadTokenID = 1
		cfg.TypeVocabSize = 1
	}
	return cfg
}

func TestErrors(t *testing.T) {
	e, err := New[float32](tinyConfig(hf.TypeBERT), true, 1)
	if err != nil {
		t.Fatal(err)
	}
	k := kernels.CPU[float32]()
	cases := map[string]struct {
		ids, types, mask [][]int
		want             string
	}{
		"empty":        {ids: nil, want: "empty batch"},
		"ragged":       {ids: [][]int{{1, 2}, {1}}, want: "pad them"},
		"vocab":        {ids: [][]int{{1, 40}}, want: "outside the vocabulary"},
		"negative":     {ids: [][]int{{-1}}, want: "outside the vocabulary"},
		"too long":     {ids: [][]int{make([]int, 17)}, want: "exceeds the 16 positions"},
		"types rows":   {ids: [][]int{{1}}, types: [][]int{{0}, {0}}, want: "token type rows"},
		"type value":   {ids: [][]int{{1}}, types: [][]int{{2}}, want: "token type 2"},
		"mask length":  {ids: [][]int{{1, 2}}, mask: [][]int{{1}}, want: "attention mask of sequence 0"},
		"mask value":   {ids: [][]int{{1, 2}}, mask: [][]int{{1, 2}}, want: "want 0 or 1"},
		"types length": {ids: [][]int{{1, 2}}, types: [][]int{{0}}, want: "token types of sequence 0"},
	}
	for name, c := range cases {
		_, err := e.Forward(k, c.ids, c.types, c.mask)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want %q", name, err, c.want)
		}
	}
	if _, err := e.Run(k, [][]int{{1}}, nil, nil, Options{Train: true}); err == nil {
		t.Error("training forward without Rng: no error")
	}
	bad := tinyConfig(hf.TypeBERT)
	bad.HiddenAct = "relu"
	if _, err := New[float32](bad, false, 1); err == nil {
		t.Error("relu config: no error")
	}
	// RoBERTa: positions start at pad+1, so 16 rows hold 14 tokens.
	r, err := New[float32](tinyConfig(hf.TypeRoBERTa), false, 1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Forward(k, [][]int{make([]int, 15)}, nil, nil); err == nil || !strings.Contains(err.Error(), "exceeds the 14 positions") {
		t.Errorf("roberta length 15: error %v", err)
	}
}

// backward seeds the gradients of the hidden state and the pooled output
// with fixed weights r (those of weightedSum; 0 on padded rows when mask is
// given) and runs ag.Backward: the gradient of Σ y ⊙ r.
func backward[T float.DType](t testing.TB, out *Output, mask [][]int) {
	t.Helper()
	ys := []mat.Tensor{out.Hidden}
	if out.Pooled != nil {
		ys = append(ys, out.Pooled)
	}
	for n, y := range ys {
		s := y.Value().Shape()
		g := make([]T, s[0]*s[1])
		for i := range g {
			g[i] = T(math.Sin(float64(i)*0.7+1) * 0.5)
		}
		if n == 0 && mask != nil {
			for b, row := range mask {
				for i, v := range row {
					if v == 0 {
						clear(g[(b*out.L+i)*s[1] : (b*out.L+i+1)*s[1]])
					}
				}
			}
		}
		y.AccGrad(mat.NewDense[T](mat.WithShape(s[0], s[1]), mat.WithBacking(g)))
	}
	if err := ag.Backward(ys...); err != nil {
		t.Fatal(err)
	}
}

func newRng(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 1)) }

// TestGradientFlow checks that a backward pass gives a non-zero gradient
// to every parameter used by the batch (and none to unused embedding rows)
// for each architecture.
func TestGradientFlow(t *testing.T) {
	for _, arch := range archs {
		t.Run(arch, func(t *testing.T) {
			e, err := Load[float32](fixture(arch))
			if err != nil {
				t.Fatal(err)
			}
			ids := [][]int{{2, 10, 11, 3}, {2, 12, 3, e.Config.PadTokenID}}
			types := [][]int{{0, 0, 1, 1}, {0, 0, 0, 0}}
			if e.Config.TypeVocabSize == 1 {
				types = nil
			}
			mask := [][]int{{1, 1, 1, 1}, {1, 1, 1, 0}}
			out, err := e.Run(kernels.CPU[float32](), ids, types, mask, Options{Pool: true})
			if err != nil {
				t.Fatal(err)
			}
			// A scalar loss over both outputs: BCE of the hidden states
			// against 0 plus BCE of the pooled output against 1.
			zeros := mat.NewDense[float32](mat.WithShape(out.Hidden.Value().Shape()...))
			ones := mat.NewDense[float32](mat.WithShape(out.Pooled.Value().Shape()...))
			for i := range mat.Data[float32](ones) {
				mat.Data[float32](ones)[i] = 1
			}
			l1, err := layers.BCEWithLogits[float32](out.Hidden, zeros, layers.Mean)
			if err != nil {
				t.Fatal(err)
			}
			l2, err := layers.BCEWithLogits[float32](out.Pooled, ones, layers.Sum)
			if err != nil {
				t.Fatal(err)
			}
			loss, err := layers.Add[float32](l1, l2)
			if err != nil {
				t.Fatal(err)
			}
			if err := ag.Backward(loss); err != nil {
				t.Fatal(err)
			}
			used := map[*nn.Param]bool{}
			in, _ := e.prepare(ids, types, mask, Options{})
			for i := range in.ids {
				used[e.Embeddings.Word[in.ids[i]]] = true
				used[e.Embeddings.Position[in.pos[i]]] = true
				if len(e.Embeddings.TokenType) > 0 {
					used[e.Embeddings.TokenType[in.types[i]]] = true
				}
			}
			isRow := map[*nn.Param]bool{}
			for _, tab := range [][]*nn.Param{e.Embeddings.Word, e.Embeddings.Position, e.Embeddings.TokenType} {
				for _, p := range tab {
					isRow[p] = true
				}
			}
			n := 0
			for i, p := range e.Params() {
				want := !isRow[p] || used[p]
				if p.HasGrad() != want {
					t.Errorf("parameter %d (%v): HasGrad %v, want %v", i, p.Shape(), p.HasGrad(), want)
					continue
				}
				if want {
					n++
					nz := false
					for _, v := range mat.Data[float32](p.Grad()) {
						if v != 0 {
							nz = true
						}
					}
					if !nz {
						t.Errorf("parameter %d (%v): gradient all zero", i, p.Shape())
					}
				}
			}
			t.Logf("%d parameters with gradients", n)
		})
	}
}

// TestFiniteDifferences checks the gradients of a few elements of every
// parameter of tiny random float64 encoders against central differences.
func TestFiniteDifferences(t *testing.T) {
	for _, arch := range archs {
		t.Run(arch, func(t *testing.T) {
			cfg := tinyConfig(arch)
			e, err := New[float64](cfg, true, 7)
			if err != nil {
				t.Fatal(err)
			}
			// Larger weights than 0.02 so that nonlinearities matter.
			for i, p := range e.Params() {
				for j := range mat.Data[float64](p) {
					mat.Data[float64](p)[j] += 0.3 * math.Sin(float64(31*i+j))
				}
			}
			ids := [][]int{{2, 5, 7, 9, 3}, {2, 11, 3, cfg.PadTokenID, cfg.PadTokenID}}
			mask := [][]int{{1, 1, 1, 1, 1}, {1, 1, 1, 0, 0}}
			worst := fdCheck(t, e, ids, mask, Options{Pool: true})
			t.Logf("worst relative error %.2e", worst)
		})
	}
}

// fdCheck compares the analytic gradients of weightedSum with central
// differences for three elements (first, middle, last) of every parameter
// that gets a gradient, and returns the worst relative error.
func fdCheck(t *testing.T, e *Encoder[float64], ids, mask [][]int, o Options) float64 {
	t.Helper()
	k := kernels.Reference[float64]()
	loss := func() float64 {
		out, err := e.Run(k, ids, nil, mask, o)
		if err != nil {
			t.Fatal(err)
		}
		return weightedSum(out, mask)
	}
	nn.ZeroGrad(e)
	out, err := e.Run(k, ids, nil, mask, o)
	if err != nil {
		t.Fatal(err)
	}
	backward[float64](t, out, mask)
	checked, worst := 0, 0.0
	for i, p := range e.Params() {
		if !p.HasGrad() {
			continue
		}
		v := mat.Data[float64](p)
		g := mat.Data[float64](p.Grad())
		for _, j := range []int{0, len(v) / 2, len(v) - 1} {
			old := v[j]
			const h = 1e-5
			v[j] = old + h
			lp := loss()
			v[j] = old - h
			lm := loss()
			v[j] = old
			num := (lp - lm) / (2 * h)
			// The floor keeps gradients that are zero in theory (the key
			// bias, to which softmax is invariant) from failing on rounding
			// noise.
			err := math.Abs(num-g[j]) / max(1e-4, math.Abs(num)+math.Abs(g[j]))
			if err > 1e-5 {
				t.Errorf("parameter %d %v element %d: analytic %.10g, numeric %.10g", i, p.Shape(), j, g[j], num)
			}
			worst = max(worst, err)
			checked++
		}
	}
	if checked < 30 {
		t.Errorf("only %d elements checked", checked)
	}
	return worst
}

// weightedSum is the loss whose gradient backward seeds: Σ y ⊙ r over the
// real rows of the hidden state and the pooled output.
func weightedSum(out *Output, mask [][]int) float64 {
	s := 0.0
	h := mat.Data[float64](out.Hidden.Value())
	d := out.Hidden.Value().Shape()[1]
	for b, row := range mask {
		for i, v := range row {
			if v == 0 {
				continue
			}
			for j := 0; j < d; j++ {
				idx := (b*out.L+i)*d + j
				s += h[idx] * math.Sin(float64(idx)*0.7+1) * 0.5
			}
		}
	}
	for i, v := range mat.Data[float64](out.Pooled.Value()) {
		s += v * math.Sin(float64(i)*0.7+1) * 0.5
	}
	return s
}

// TestDeterminism checks bit-identical gradients over repeated
// forward+backward passes on the CPU backend, with pooling, dropout (same
// seed) and kept layers.
func TestDeterminism(t *testing.T) {
	for _, arch := range archs {
		t.Run(arch, func(t *testing.T) {
			cfg := tinyConfig(arch)
			cfg.HiddenSize, cfg.NumAttentionHeads, cfg.IntermediateSize = 32, 4, 64
			e, err := New[float32](cfg, true, 3)
			if err != nil {
				t.Fatal(err)
			}
			k := kernels.CPU[float32]()
			ids := [][]int{{2, 5, 7, 9, 3, 4, 5, 6}, {2, 11, 3, 12, 13, 14, cfg.PadTokenID, cfg.PadTokenID}}
			mask := [][]int{{1, 1, 1, 1, 1, 1, 1, 1}, {1, 1, 1, 1, 1, 1, 0, 0}}
			pass := func() [][]float32 {
				nn.ZeroGrad(e)
				out, err := e.Run(k, ids, nil, mask, Options{Pool: true, Train: true, Rng: newRng(5)})
				if err != nil {
					t.Fatal(err)
				}
				backward[float32](t, out, nil)
				var gs [][]float32
				for _, p := range e.Params() {
					if p.HasGrad() {
						gs = append(gs, append([]float32(nil), mat.Data[float32](p.Grad())...))
					}
				}
				return gs
			}
			first := pass()
			for run := 0; run < 5; run++ {
				again := pass()
				if len(again) != len(first) {
					t.Fatalf("run %d: %d gradients, want %d", run, len(again), len(first))
				}
				for i := range first {
					for j := range first[i] {
						if math.Float32bits(first[i][j]) != math.Float32bits(again[i][j]) {
							t.Fatalf("run %d: gradient %d element %d differs", run, i, j)
						}
					}
				}
			}
		})
	}
}
