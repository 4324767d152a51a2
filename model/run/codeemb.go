package run

import (
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"

	"github.com/nlpodyssey/spago/mat"

	"github.com/icdcode/icdcode/data/embfile"
	"github.com/icdcode/icdcode/model/hf"
)

// Names of the saved label code embeddings inside a run directory.
const (
	CodeEmbeddingsFile = "code_embeddings.safetensors"
	codeEmbTensor      = "code_embeddings"
)

// codeVectors reads code vectors from a Med2Vec .npz (with its .types map;
// the vector of code c is ReLU(W_emb[c]), or ReLU(W_emb[c] + b_emb) with
// bias, med2vec-reference §1.8) or a hierarchy-embedding JSON file (set: the
// set to use; may be empty when the file has exactly one).
func codeVectors(path, set string, bias bool) (map[string][]float32, error) {
	if strings.HasSuffix(strings.ToLower(path), ".npz") {
		arrays, codes, err := embfile.ReadMed2Vec(path)
		if err != nil {
			return nil, err
		}
		w, b := arrays["W_emb"], arrays["b_emb"]
		out := make(map[string][]float32, len(codes))
		for i, code := range codes {
			v := slices.Clone(w.Row(i))
			for j := range v {
				if bias {
					v[j] += b.Data[j]
				}
				v[j] = max(v[j], 0)
			}
			out[code] = v
		}
		return out, nil
	}
	var only []string
	if set != "" {
		only = []string{set}
	}
	sets, err := embfile.ReadHierarchyJSON(path, only...)
	if err != nil {
		return nil, err
	}
	if set == "" {
		if len(sets) != 1 {
			return nil, fmt.Errorf("%s holds the sets %s: name one with data.code_embedding_set", path, strings.Join(slices.Sorted(maps.Keys(sets)), ", "))
		}
		for name := range sets {
			set = name
		}
	}
	return sets[set], nil
}

// labelCodeEmbeddings returns the code embedding of every label (L × k, row
// c for labels[c]) and how many labels have one; rows of labels without one
// are zero, which the heads treat as "no embedding" (heads.CodeProjection).
// A label matches the code string itself, else "D_"+label, else
// "P_"+label: Med2Vec files written from MIMIC prefix diagnoses with D_
// and procedures with P_ (med2vec-reference §1.9).
func labelCodeEmbeddings(path, set string, bias bool, labels []string) (*mat.Dense[float32], int, error) {
	vecs, err := codeVectors(path, set, bias)
	if err != nil {
		return nil, 0, err
	}
	k := -1
	for code, v := range vecs {
		if k >= 0 && len(v) != k {
			return nil, 0, fmt.Errorf("%s: code %s has %d values, others %d", path, code, len(v), k)
		}
		k = len(v)
	}
	if k <= 0 {
		return nil, 0, fmt.Errorf("%s: no code vectors", path)
	}
	e := make([]float32, len(labels)*k)
	matched := 0
	for c, l := range labels {
		for _, key := range []string{l, "D_" + l, "P_" + l} {
			if v, ok := vecs[key]; ok {
				copy(e[c*k:], v)
				matched++
				break
			}
		}
	}
	if matched == 0 {
		some := slices.Sorted(maps.Keys(vecs))[:min(3, len(vecs))]
		return nil, 0, fmt.Errorf("%s: none of the %d labels (e.g. %s) has a vector; its codes look like %s", path, len(labels), labels[0], strings.Join(some, ", "))
	}
	return mat.NewDense[float32](mat.WithShape(len(labels), k), mat.WithBacking(e)), matched, nil
}

// saveCodeEmbeddings writes the label code embeddings into the run.
func saveCodeEmbeddings(dir string, e *mat.Dense[float32]) error {
	sh := e.Shape()
	t := &hf.Tensor{Name: codeEmbTensor, Shape: []int{sh[0], sh[1]}, Data: slices.Clone(mat.Data[float32](e))}
	return hf.WriteSafetensors(filepath.Join(dir, CodeEmbeddingsFile), []*hf.Tensor{t}, hf.F32, nil)
}

// loadCodeEmbeddings reads the label code embeddings of a run (L × k).
func loadCodeEmbeddings(dir string, labels, k int) (*mat.Dense[float32], error) {
	path := filepath.Join(dir, CodeEmbeddingsFile)
	t, err := loadTensor(path, codeEmbTensor, labels, k)
	if err != nil {
		return nil, err
	}
	return mat.NewDense[float32](mat.WithShape(labels, k), mat.WithBacking(t.Data)), nil
}

// loadTensor reads one rows×cols tensor from a safetensors file.
func loadTensor(path, name string, rows, cols int) (*hf.Tensor, error) {
	st, err := hf.OpenSafetensors(path)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	t, err := st.Load(name)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(t.Shape) != 2 || t.Shape[0] != rows || t.Shape[1] != cols {
		return nil, fmt.Errorf("%s: tensor %q has shape %v, want [%d %d]", path, name, t.Shape, rows, cols)
	}
	return t, nil
}
