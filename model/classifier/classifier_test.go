package classifier

import (
	"context"
	"fmt"
	"iter"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/icdcode/icdcode/data/dataset"
	"github.com/icdcode/icdcode/data/synonyms"
	"github.com/icdcode/icdcode/model/encoder"
	"github.com/icdcode/icdcode/model/hf"
	"github.com/icdcode/icdcode/model/kernels"
	"github.com/icdcode/icdcode/model/layers"
	"github.com/icdcode/icdcode/model/tokenizer"
	"github.com/icdcode/icdcode/model/train"
	"github.com/nlpodyssey/spago/ag"
	"github.com/nlpodyssey/spago/mat"
)

var (
	labels = []string{"I10", "N18", "E11", "J18"}
	// Each label's signal word, and its M = 2 synonyms.
	signal = []string{"hypertension", "kidney", "diabetes", "pneumonia"}
	syns   = [][]string{
		{"essential hypertension", "high blood pressure"},
		{"chronic kidney disease", "renal failure"},
		{"type 2 diabetes", "diabetes mellitus"},
		{"pneumonia", "lung infection"},
	}
	filler = []string{"patient", "admitted", "with", "history", "of", "and", "was", "treated", "stable", "discharged"}
)

// docs returns 24 short notes: filler words and the signal words of the
// note's labels (labels i%4 and, for every third note, (i+1)%4).
func docs() []dataset.Doc {
	out := make([]dataset.Doc, 24)
	for i := range out {
		codes := []string{labels[i%4]}
		text := fmt.Sprintf("%s %s %s %s", filler[i%10], filler[(i+3)%10], signal[i%4], filler[(i+7)%10])
		if i%3 == 0 {
			codes = append(codes, labels[(i+1)%4])
			text += " " + signal[(i+1)%4]
		}
		out[i] = dataset.Doc{ID: fmt.Sprint(i), Text: text, Codes: codes}
	}
	return out
}

func lines(xs []string) iter.Seq2[string, error] {
	return func(yield func(string, error) bool) {
		for _, x := range xs {
			if !yield(x, nil) {
				return
			}
		}
	}
}

// tiny returns a WordPiece tokenizer trained on the test texts and a tiny
// random BERT over its vocabulary.
func tiny(t *testing.T) (*tokenizer.Tokenizer, *encoder.Encoder[float32]) {
	t.Helper()
	corpus := append([]string(nil), filler...)
	corpus = append(corpus, signal...)
	for _, s := range syns {
		corpus = append(corpus, s...)
	}
	for _, d := range docs() {
		corpus = append(corpus, d.Text)
	}
	tok, err := tokenizer.TrainWordPiece(lines(corpus), tokenizer.TrainOptions{VocabSize: 150, MinFreq: 1, Lowercase: true})
	if err != nil {
		t.Fatal(err)
	}
	cfg := &hf.Config{ModelType: hf.TypeBERT, VocabSize: tok.VocabSize(), HiddenSize: 16, NumHiddenLayers: 2,
		NumAttentionHeads: 2, IntermediateSize: 32, HiddenAct: "gelu", MaxPositionEmbeddings: 32, TypeVocabSize: 2,
		LayerNormEps: 1e-12, PositionEmbeddingType: "absolute", InitializerRange: 0.1, HiddenDropoutProb: 0.1,
		BOSTokenID: -1, EOSTokenID: -1}
	enc, err := encoder.New[float32](cfg, true, 3)
	if err != nil {
		t.Fatal(err)
	}
	return tok, enc
}

// tinyConfig is a CE or LE configuration small enough that the test notes
// span several chunks (CE) or windows (LE).
func tinyConfig(enc, head string) Config {
	return Config{Encoder: enc, Head: head, MaxLen: 6, Stride: 2, MaxTokens: 16, Window: 4, LAATDim: 8, M: 2, Dropout: 0.1, Seed: 11}
}

func build(t *testing.T, cfg Config) (*Classifier[float32], *tokenizer.Tokenizer) {
	t.Helper()
	tok, enc := tiny(t)
	var s [][]string
	if cfg.Head == HeadMSAM {
		s = syns
	}
	c, err := New(cfg, enc, tok, labels, s)
	if err != nil {
		t.Fatal(err)
	}
	return c, tok
}

// TestHeadsBackward: every encoding × head gives (1 × L) logits, and the
// gradient of the loss reaches the encoder and every head parameter.
func TestHeadsBackward(t *testing.T) {
	k := kernels.CPU[float32]()
	for _, e := range []string{EncoderCE, EncoderLE} {
		for _, h := range []string{HeadCLS, HeadLAAT, HeadMSAM} {
			for _, global := range []bool{false, true} {
				if global && e == EncoderCE {
					continue
				}
				name := fmt.Sprintf("%s+%s/global=%v", e, h, global)
				cfg := tinyConfig(e, h)
				cfg.GlobalCLS = global
				c, tok := build(t, cfg)
				ids, err := tok.Encode(docs()[3].Text)
				if err != nil {
					t.Fatal(err)
				}
				if b, _, err := Chunk(ids, c.Config, c.Special); err != nil || (e == EncoderCE && len(b) < 2) || (e == EncoderLE && len(b[0]) != 8) {
					t.Fatalf("%s: test note is not multi-chunk / multi-window: %v %v", name, b, err)
				}
				z, err := c.Logits(k, ids, true, rand.New(rand.NewPCG(1, 2)))
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				if s := z.Value().Shape(); len(s) != 2 || s[0] != 1 || s[1] != len(labels) {
					t.Fatalf("%s: logits shape %v", name, s)
				}
				y := mat.NewDense[float32](mat.WithShape(1, 4), mat.WithBacking([]float32{1, 0, 0, 1}))
				loss, err := layers.BCEWithLogits[float32](z, y, layers.Mean)
				if err != nil {
					t.Fatal(err)
				}
				ag.Backward(loss)
				ps, err := c.Params()
				if err != nil {
					t.Fatal(err)
				}
				for _, p := range ps {
					enc := p.Name[:8] == "encoder."
					if enc && p.Name != "encoder.layer.0.qkv.weight" && p.Name != "encoder.embeddings.norm.gamma" {
						continue // embedding rows of unused tokens have no gradient
					}
					if !p.P.HasGrad() || nonzero(p.P.Grad()) == 0 {
						t.Errorf("%s: no gradient on %s", name, p.Name)
					}
				}
				if probs, err := c.Predict(k, ids); err != nil || len(probs) != 4 || !(probs[0] > 0 && probs[0] < 1) {
					t.Errorf("%s: Predict = %v, %v", name, probs, err)
				}
			}
		}
	}
}

func nonzero(g mat.Tensor) int {
	n := 0
	for _, v := range mat.Data[float32](g.Value()) {
		if v != 0 {
			n++
		}
	}
	return n
}

// meanLoss is the eval-mode loss over the examples.
func meanLoss(t *testing.T, c *Classifier[float32], ex *Examples) float64 {
	t.Helper()
	k := kernels.CPU[float32]()
	s := 0.0
	for i, ids := range ex.IDs {
		p, err := c.Predict(k, ids)
		if err != nil {
			t.Fatal(err)
		}
		for j, y := range ex.Targets[i] {
			q := min(max(p[j], 1e-7), 1-1e-7)
			s -= float64(y)*math.Log(q) + (1-float64(y))*math.Log(1-q)
		}
	}
	return s / float64(len(ex.IDs)*len(labels))
}

// fit trains a fresh classifier for a few epochs and returns it with the
// eval loss before and after.
func fit(t *testing.T, cfg Config) (*Classifier[float32], float64, float64) {
	t.Helper()
	c, tok := build(t, cfg)
	ex, err := Prepare(tok, docs(), labels)
	if err != nil {
		t.Fatal(err)
	}
	m, err := NewTrainModel(c, kernels.CPU[float32](), ex)
	if err != nil {
		t.Fatal(err)
	}
	before := meanLoss(t, c, ex)
	tr, err := train.New(m, len(ex.IDs), train.Config{Dir: t.TempDir(), Epochs: 30, LR: 1e-2, GradAccum: 2, Seed: 5})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tr.Train(context.Background()); err != nil {
		t.Fatal(err)
	}
	return c, before, meanLoss(t, c, ex)
}

// TestLossFalls: training beats the best constant predictor (every label
// is positive in a third of the notes: entropy H(1/3) ≈ 0.637), so the
// model reads the signal words, not only the label frequencies.
func TestLossFalls(t *testing.T) {
	prior := -(math.Log(1.0/3)/3 + 2*math.Log(2.0/3)/3)
	for _, h := range []string{HeadCLS, HeadMSAM} {
		_, before, after := fit(t, tinyConfig(EncoderCE, h))
		t.Logf("ce+%s: eval loss %.4f → %.4f (constant predictor %.4f)", h, before, after, prior)
		if !(after < before && after < 0.9*prior) {
			t.Errorf("ce+%s: loss did not fall enough: %.4f → %.4f (constant predictor %.4f)", h, before, after, prior)
		}
	}
}

// TestDeterminism: two identical training runs give bit-identical weights.
func TestDeterminism(t *testing.T) {
	a, _, _ := fit(t, tinyConfig(EncoderCE, HeadMSAM))
	b, _, _ := fit(t, tinyConfig(EncoderCE, HeadMSAM))
	pa, _ := a.Params()
	pb, _ := b.Params()
	for i := range pa {
		va, vb := mat.Data[float32](pa[i].P), mat.Data[float32](pb[i].P)
		for j := range va {
			if math.Float32bits(va[j]) != math.Float32bits(vb[j]) {
				t.Fatalf("%s[%d]: %v vs %v", pa[i].Name, j, va[j], vb[j])
			}
		}
	}
}

func TestParamNames(t *testing.T) {
	c, _ := build(t, tinyConfig(EncoderLE, HeadLAAT))
	ps, err := c.Params()
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, p := range ps {
		if seen[p.Name] {
			t.Fatalf("duplicate name %s", p.Name)
		}
		seen[p.Name] = true
	}
	for _, n := range []string{"encoder.embeddings.word.0", "encoder.layer.1.global_qkv.weight", "head.laat.third.bias"} {
		if !seen[n] {
			t.Errorf("no parameter %s", n)
		}
	}
	if want := len(c.Enc.Params()) - 2 + 4; len(ps) != want { // pooler out, 4 LAAT params in
		t.Errorf("%d parameters, want %d", len(ps), want)
	}
}

func TestSynonymStrings(t *testing.T) {
	sel := []synonyms.Selection{{Code: "B", Synonyms: []string{"b1", "b2"}}, {Code: "A", Synonyms: []string{"a1", "a2"}}}
	got, err := SynonymStrings(sel, []string{"A", "B"}, 2)
	if err != nil || got[0][0] != "a1" || got[1][1] != "b2" {
		t.Fatalf("got %v, %v", got, err)
	}
	if _, err := SynonymStrings(sel, []string{"A", "C"}, 2); err == nil {
		t.Error("missing label: no error")
	}
	if _, err := SynonymStrings(sel, []string{"A", "B"}, 3); err == nil {
		t.Error("wrong M: no error")
	}
}

// TestSynonymMatrixFrozen: the synonym matrix is the eval-mode [CLS] state
// and training leaves it unchanged.
func TestSynonymMatrixFrozen(t *testing.T) {
	c, tok := build(t, tinyConfig(EncoderCE, HeadMSAM))
	if r, d := c.Synonyms.Shape()[0], c.Synonyms.Shape()[1]; r != 8 || d != 16 {
		t.Fatalf("synonym matrix %d×%d, want 8×16", r, d)
	}
	ids, _ := tok.Encode(syns[1][1])
	out, err := c.Enc.Run(kernels.CPU[float32](), [][]int{append(append([]int{c.Special.CLS}, ids...), c.Special.SEP)}, nil, nil, encoder.Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := mat.Data[float32](out.Hidden.Value())[:16]
	got := mat.Data[float32](c.Synonyms)[3*16 : 4*16]
	for i := range want {
		if math.Abs(float64(want[i]-got[i])) > 1e-5 {
			t.Fatalf("row 3 [%d] = %v, want %v", i, got[i], want[i])
		}
	}
}

func TestPrepare(t *testing.T) {
	tok, _ := tiny(t)
	d := []dataset.Doc{{ID: "a", Text: "kidney " + signal[0], Codes: []string{"N18", "Z99", "I10"}}, {ID: "b", Text: "stable"}}
	ex, err := Prepare(tok, d, labels)
	if err != nil {
		t.Fatal(err)
	}
	if ex.Unknown != 1 || fmt.Sprint(ex.Targets) != "[[1 1 0 0] [0 0 0 0]]" || len(ex.IDs[0]) < 2 {
		t.Fatalf("examples %+v", ex)
	}
	cfg := tinyConfig(EncoderCE, HeadCLS)
	cfg.MaxTokens = len(ex.IDs[0]) + 1 // keeps one token less than note a has
	if n := ex.Truncated(cfg); n != 1 {
		t.Errorf("%d truncated notes, want 1", n)
	}
}

func TestNewErrors(t *testing.T) {
	tok, enc := tiny(t)
	for _, c := range []struct {
		cfg Config
		syn [][]string
	}{
		{Config{Encoder: EncoderCE, Head: HeadCLS}, nil}, // MaxLen 512 > 32 positions
		{tinyConfig(EncoderCE, HeadMSAM), syns[:3]},
		{Config{Encoder: EncoderCE, Head: HeadMSAM, MaxLen: 6, M: 3}, [][]string{{"a", "b", "c"}, {"a", "b", "c"}, {"a", "b", "c"}, {"a", "b", "c"}}}, // 16 % 3 ≠ 0
	} {
		if _, err := New(c.cfg, enc, tok, labels, c.syn); err == nil {
			t.Errorf("%+v: no error", c.cfg)
		}
	}
	// An encoder that already is a Longformer is used as it is: its
	// positions and window must fit the configuration.
	long, err := encoder.ToLongformer(enc, 16, 4)
	if err != nil {
		t.Fatal(err)
	}
	if c, err := New(Config{Encoder: EncoderLE, Head: HeadCLS, MaxTokens: 16}, long, tok, labels, nil); err != nil || c.Config.Window != 4 || c.Enc != long {
		t.Errorf("Longformer encoder: %v", err)
	}
	for _, cfg := range []Config{
		{Encoder: EncoderLE, Head: HeadCLS, MaxTokens: 40},            // beyond 16 positions
		{Encoder: EncoderLE, Head: HeadCLS, MaxTokens: 16, Window: 8}, // not its window
		{Encoder: EncoderCE, Head: HeadCLS, MaxLen: 6},                // CE on windowed attention
	} {
		if _, err := New(cfg, long, tok, labels, nil); err == nil {
			t.Errorf("%+v on a Longformer: no error", cfg)
		}
	}
}
