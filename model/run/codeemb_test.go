package run

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/nlpodyssey/spago/mat"

	"github.com/icdcode/icdcode/data/embfile"
)

// A Med2Vec file gives ReLU(W_emb[c]) (+ b_emb with bias) per label,
// matched by code, as D_code or as P_code; other labels get zero rows.
func TestLabelCodeEmbeddingsMed2Vec(t *testing.T) {
	path := filepath.Join(t.TempDir(), "m2v.npz")
	w := embfile.NewMatrix(3, 2)
	copy(w.Data, []float32{1, -2, -3, 4, 0.5, 0.25})
	b := embfile.NewVector(2)
	copy(b.Data, []float32{1, 1})
	arrays := map[string]*embfile.Array{"W_emb": w, "b_emb": b,
		"W_hidden": embfile.NewMatrix(2, 2), "b_hidden": embfile.NewVector(2),
		"W_output": embfile.NewMatrix(2, 3), "b_output": embfile.NewVector(3)}
	if err := embfile.WriteMed2Vec(path, arrays, []string{"D_401.9", "P_39.61", "E11.9"}); err != nil {
		t.Fatal(err)
	}
	labels := []string{"401.9", "E11.9", "I10", "39.61"}
	for _, c := range []struct {
		bias bool
		want []float32
	}{
		{false, []float32{1, 0, 0.5, 0.25, 0, 0, 0, 4}},
		{true, []float32{2, 0, 1.5, 1.25, 0, 0, 0, 5}},
	} {
		e, matched, err := labelCodeEmbeddings(path, "", c.bias, labels)
		if err != nil {
			t.Fatal(err)
		}
		if got := mat.Data[float32](e); matched != 3 || !slices.Equal(got, c.want) {
			t.Errorf("bias %v: %d matched, rows %v; want 3, %v", c.bias, matched, got, c.want)
		}
	}
	if _, _, err := labelCodeEmbeddings(path, "", false, []string{"Z99"}); err == nil || !strings.Contains(err.Error(), "none of the 1 labels") {
		t.Errorf("no match: %v", err)
	}
	json := filepath.Join(t.TempDir(), "h.json")
	if err := os.WriteFile(json, []byte(`{"a": {"I10": [1, 2]}, "b": {"I10": [3, 4]}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := labelCodeEmbeddings(json, "", false, labels); err == nil || !strings.Contains(err.Error(), "a, b") {
		t.Errorf("two sets, none named: %v", err)
	}
	e, _, err := labelCodeEmbeddings(json, "b", false, labels)
	if err != nil || !slices.Equal(mat.Data[float32](e)[4:6], []float32{3, 4}) {
		t.Errorf("set b: %v, %v", e, err)
	}
}
