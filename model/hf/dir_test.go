package hf

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestOpenDirAndCheck(t *testing.T) {
	for _, dir := range []string{"bert", "roberta", "megatron-bert", "bert-fp16", "bert-bf16"} {
		m, err := Open(filepath.Join("testdata", dir))
		if err != nil {
			t.Fatal(err)
		}
		if m.Tensors.Format() != "safetensors" {
			t.Errorf("%s: opened %s, want safetensors preferred", dir, m.Tensors.Format())
		}
		n, err := Normalize(m.Tensors)
		if err != nil {
			t.Fatal(err)
		}
		if err := Check(n, ExpectedTensors(m.Config, true), DefaultIgnoreUnexpected); err != nil {
			t.Errorf("%s: %v", dir, err)
		}
		if _, err := n.Load("encoder.layer.1.output.dense.weight"); err != nil {
			t.Error(err)
		}
		m.Close()
	}
}

func TestNormalizeName(t *testing.T) {
	for in, want := range map[string]string{
		"bert.embeddings.LayerNorm.gamma":                   "embeddings.LayerNorm.weight",
		"bert.encoder.layer.0.output.LayerNorm.beta":        "encoder.layer.0.output.LayerNorm.bias",
		"roberta.encoder.layer.3.attention.self.query.bias": "encoder.layer.3.attention.self.query.bias",
		"longformer.embeddings.position_ids":                "embeddings.position_ids",
		"encoder.ln.weight":                                 "encoder.ln.weight",
		"cls.predictions.transform.LayerNorm.gamma":         "cls.predictions.transform.LayerNorm.weight",
		"bert.encoder.layer.0.attention.ln.gamma":           "encoder.layer.0.attention.ln.weight",
		"classifier.gamma":                                  "classifier.gamma",
	} {
		if got := NormalizeName(in); got != want {
			t.Errorf("NormalizeName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestCheckReportsEverything(t *testing.T) {
	m, err := Open(filepath.Join("testdata", "bert"))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	n, err := Normalize(m.Tensors)
	if err != nil {
		t.Fatal(err)
	}
	exp := ExpectedTensors(m.Config, false) // pooler not expected → unexpected
	exp = append(exp, Expected{Name: "encoder.layer.2.output.dense.weight", Shape: []int{12, 24}})
	for i := range exp {
		if exp[i].Name == "embeddings.word_embeddings.weight" {
			exp[i].Shape = []int{30522, 12}
		}
	}
	err = Check(n, exp, DefaultIgnoreUnexpected)
	var ce *CheckError
	if !errors.As(err, &ce) {
		t.Fatalf("error %v", err)
	}
	if len(ce.Missing) != 1 || len(ce.Unexpected) != 2 || len(ce.Shapes) != 1 {
		t.Fatalf("report %+v", ce)
	}
	msg := err.Error()
	for _, s := range []string{"missing 1 tensor(s): encoder.layer.2.output.dense.weight",
		"unexpected 2 tensor(s): pooler.dense.bias, pooler.dense.weight",
		"shape mismatch for embeddings.word_embeddings.weight: checkpoint [32 12], model [30522 12]",
		filepath.Join("testdata", "bert", SafetensorsFile)} {
		if !strings.Contains(msg, s) {
			t.Errorf("message %q lacks %q", msg, s)
		}
	}
	// Without the ignore patterns the MLM head is reported too.
	err = Check(n, ExpectedTensors(m.Config, true), nil)
	if !errors.As(err, &ce) || len(ce.Unexpected) != 2 || ce.Unexpected[0] != "cls.predictions.bias" {
		t.Errorf("unexpected head: %v", err)
	}
}

func TestOpenFallsBackToPyTorch(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{ConfigFile, PyTorchFile} {
		b, err := os.ReadFile(filepath.Join("testdata", "megatron-bert", f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	m, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if m.Tensors.Format() != "pytorch" {
		t.Errorf("format %s", m.Tensors.Format())
	}
	if err := Check(m.Tensors, ExpectedTensors(m.Config, true), DefaultIgnoreUnexpected); err != nil {
		t.Error(err)
	}
	os.Remove(filepath.Join(dir, PyTorchFile))
	if _, err := Open(dir); err == nil || !strings.Contains(err.Error(), "no model.safetensors or pytorch_model.bin") {
		t.Errorf("empty dir: %v", err)
	}
	os.WriteFile(filepath.Join(dir, "model.safetensors.index.json"), []byte("{}"), 0o644)
	if _, err := Open(dir); err == nil || !strings.Contains(err.Error(), "sharded") {
		t.Errorf("sharded: %v", err)
	}
	if _, err := Open(t.TempDir()); err == nil || !strings.Contains(err.Error(), "config.json") {
		t.Errorf("no config: %v", err)
	}
}

func TestNormalizeCollision(t *testing.T) {
	p := filepath.Join(t.TempDir(), "m.safetensors")
	ts := []*Tensor{{Name: "bert.a.LayerNorm.gamma", Shape: []int{1}, Data: []float32{1}}, {Name: "a.LayerNorm.weight", Shape: []int{1}, Data: []float32{1}}}
	if err := WriteSafetensors(p, ts, F32, nil); err != nil {
		t.Fatal(err)
	}
	s, err := OpenSafetensors(p)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := Normalize(s); err == nil || !strings.Contains(err.Error(), "both normalise to") {
		t.Errorf("collision: %v", err)
	}
}

func TestReferenceFiles(t *testing.T) {
	for _, dir := range []string{"bert", "roberta", "megatron-bert"} {
		r, err := ReadReference(filepath.Join("testdata", dir, "reference.json"))
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := ReadConfig(filepath.Join("testdata", dir, ConfigFile))
		if err != nil {
			t.Fatal(err)
		}
		if r.ModelType != cfg.ModelType || r.LayerNormEps != cfg.LayerNormEps || len(r.Cases) != 2 {
			t.Fatalf("%s: %s %g %d cases", dir, r.ModelType, r.LayerNormEps, len(r.Cases))
		}
		for _, c := range r.Cases {
			S := len(c.InputIDs)
			if len(c.TokenTypeIDs) != S || len(c.AttentionMask) != S || len(c.PositionIDs) != S ||
				len(c.HiddenStates) != cfg.NumHiddenLayers+1 || len(c.LastHiddenState) != S ||
				len(c.LastHiddenState[0]) != cfg.HiddenSize || len(c.PoolerOutput) != cfg.HiddenSize {
				t.Errorf("%s %s: inconsistent shapes", dir, c.Name)
			}
			if c.MaxAbsDiffFloat32 <= 0 || c.MaxAbsDiffFloat32 > 1e-4 {
				t.Errorf("%s %s: float32 deviation %g", dir, c.Name, c.MaxAbsDiffFloat32)
			}
			if c.PositionIDs[0] != cfg.PositionOffset() {
				t.Errorf("%s %s: first position %d, offset %d", dir, c.Name, c.PositionIDs[0], cfg.PositionOffset())
			}
		}
	}
}

// TestReferenceEmbeddings recomputes the embedding output (hidden_states[0])
// of every reference case from the weights as read here, tying the readers,
// the name normalisation and the reference files together.
func TestReferenceEmbeddings(t *testing.T) {
	for _, dir := range []string{"bert", "roberta", "megatron-bert"} {
		m, err := Open(filepath.Join("testdata", dir))
		if err != nil {
			t.Fatal(err)
		}
		n, err := Normalize(m.Tensors)
		if err != nil {
			t.Fatal(err)
		}
		load := func(name string) []float32 {
			x, err := n.Load(name)
			if err != nil {
				t.Fatal(err)
			}
			return x.Data
		}
		H := m.Config.HiddenSize
		word, pos, typ := load("embeddings.word_embeddings.weight"), load("embeddings.position_embeddings.weight"), load("embeddings.token_type_embeddings.weight")
		r, err := ReadReference(filepath.Join("testdata", dir, "reference.json"))
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range r.Cases {
			for i := range c.InputIDs {
				x := make([]float64, H)
				for j := range x {
					x[j] = float64(word[c.InputIDs[i]*H+j]) + float64(pos[c.PositionIDs[i]*H+j]) + float64(typ[c.TokenTypeIDs[i]*H+j])
				}
				if !m.Config.PreLayerNorm() {
					g, b := load("embeddings.LayerNorm.weight"), load("embeddings.LayerNorm.bias")
					var mu, v float64
					for _, e := range x {
						mu += e / float64(H)
					}
					for _, e := range x {
						v += (e - mu) * (e - mu) / float64(H)
					}
					for j := range x {
						x[j] = (x[j]-mu)/math.Sqrt(v+m.Config.LayerNormEps)*float64(g[j]) + float64(b[j])
					}
				}
				for j := range x {
					if d := math.Abs(x[j] - c.HiddenStates[0][i][j]); d > 1e-8 {
						t.Fatalf("%s %s: embedding[%d][%d] = %v, reference %v", dir, c.Name, i, j, x[j], c.HiddenStates[0][i][j])
					}
				}
			}
		}
		m.Close()
	}
}
