package clsembed

import (
	"iter"
	"math"
	"testing"

	"github.com/nlpodyssey/spago/mat"

	"github.com/icdcode/icdcode/data/synonyms"
	"github.com/icdcode/icdcode/data/synonyms/selection"
	"github.com/icdcode/icdcode/model/encoder"
	"github.com/icdcode/icdcode/model/hf"
	"github.com/icdcode/icdcode/model/kernels"
	"github.com/icdcode/icdcode/model/tokenizer"
)

var _ selection.Distancer = (*Embedder)(nil)

var corpus = []string{
	"essential hypertension", "high blood pressure", "heart failure", "congestive heart failure",
	"type 2 diabetes mellitus", "pneumonia unspecified organism", "chronic kidney disease",
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

// tinyModel writes a random tiny BERT and a WordPiece tokenizer trained on
// corpus into one directory, as a user's model directory would hold them.
func tinyModel(t *testing.T) string {
	t.Helper()
	tok, err := tokenizer.TrainWordPiece(lines(corpus), tokenizer.TrainOptions{VocabSize: 120, MinFreq: 1, Lowercase: true})
	if err != nil {
		t.Fatal(err)
	}
	cfg := &hf.Config{ModelType: hf.TypeBERT, VocabSize: tok.VocabSize(), HiddenSize: 16, NumHiddenLayers: 2,
		NumAttentionHeads: 2, IntermediateSize: 32, HiddenAct: "gelu", MaxPositionEmbeddings: 32, TypeVocabSize: 2,
		LayerNormEps: 1e-12, PositionEmbeddingType: "absolute", InitializerRange: 0.5, BOSTokenID: -1, EOSTokenID: -1}
	enc, err := encoder.New[float32](cfg, false, 3)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := enc.Save(dir); err != nil {
		t.Fatal(err)
	}
	if err := tok.Save(dir); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestDistances(t *testing.T) {
	e, err := Load(tinyModel(t))
	if err != nil {
		t.Fatal(err)
	}
	texts := append(append([]string{}, corpus...), "essential hypertension")
	d, err := e.Distances(texts)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Validate(); err != nil {
		t.Fatal(err)
	}
	n := len(texts)
	if d.At(0, n-1) != 0 || d.At(0, 1) <= 0 {
		t.Errorf("equal texts %g, different texts %g", d.At(0, n-1), d.At(0, 1))
	}
	// Each distance is 1 − cos of the CLS rows of a direct forward pass.
	vecs, err := e.Embed(texts)
	if err != nil {
		t.Fatal(err)
	}
	ids, _ := e.tok.Encode(texts[2])
	seq := append(append([]int{e.cls}, ids...), e.sep)
	res, err := e.enc.Forward(kernels.CPU[float32](), [][]int{seq}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	direct := mat.Data[float32](res.Hidden.Value())[:16]
	for i := range direct {
		if math.Abs(float64(direct[i]-vecs[2][i])) > 1e-5 {
			t.Fatalf("CLS from a padded batch differs from a lone forward: %v vs %v", vecs[2], direct)
		}
	}
	cos := dot(vecs[2], vecs[3]) / math.Sqrt(dot(vecs[2], vecs[2])*dot(vecs[3], vecs[3]))
	if math.Abs(d.At(2, 3)-(1-cos)) > 1e-12 {
		t.Errorf("d(2,3) = %g, want %g", d.At(2, 3), 1-cos)
	}
	again, _ := e.Distances(texts)
	for i := range d.D {
		if d.D[i] != again.D[i] {
			t.Fatal("distances differ between runs")
		}
	}
}

func TestSelectionWithEncoder(t *testing.T) {
	e, err := Load(tinyModel(t))
	if err != nil {
		t.Fatal(err)
	}
	pool := synonyms.Pool{Code: "I10"}
	for _, c := range corpus {
		pool.Candidates = append(pool.Candidates, synonyms.Candidate{Text: c, Sources: []string{"test"}})
	}
	sel, err := selection.Select(pool, selection.Config{M: 3, Criterion: selection.MDP, Distances: e})
	if err != nil {
		t.Fatal(err)
	}
	if len(sel.Synonyms) != 3 || !sel.Optimal || sel.Objective <= 0 {
		t.Fatalf("%+v", sel)
	}
}
