package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/icdcode/icdcode/data/dataset"
	"github.com/icdcode/icdcode/data/synonyms"
	"github.com/icdcode/icdcode/model/encoder"
	"github.com/icdcode/icdcode/model/hf"
	"github.com/icdcode/icdcode/model/tokenizer"
)

func TestHelpForEveryCommand(t *testing.T) {
	for _, c := range commands {
		var out, errOut bytes.Buffer
		args := append(strings.Fields(c.name), "--help")
		// flag prints usage to the flag set's output (stderr); only the exit code matters here.
		if code := run(args, &out, &errOut); code != 0 {
			t.Errorf("icdcode %s --help: exit %d", c.name, code)
		}
	}
	var out, errOut bytes.Buffer
	if code := run([]string{"frobnicate"}, &out, &errOut); code != 2 || !strings.Contains(errOut.String(), "unknown command") {
		t.Errorf("unknown command: exit %d, %q", code, errOut.String())
	}
	if code := run([]string{"prepare", "codiesp", "--no-such-flag"}, &out, &errOut); code != 1 {
		t.Errorf("unknown flag: exit %d", code)
	}
	if code := run([]string{"prepare", "codiesp", "--dir", "x", "--out", "y", "stray"}, &out, &errOut); code != 1 {
		t.Errorf("stray argument: exit %d", code)
	}
}

// The README's first command, end to end.
func TestDemo(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "demo")
	var out, errOut bytes.Buffer
	if code := run([]string{"demo", "--out", dir, "--docs", "300", "--epochs", "15"}, &out, &errOut); code != 0 {
		t.Fatalf("demo: exit %d: %s", code, errOut.String())
	}
	// The demo trains, tests and codes new notes: the coder must have learnt
	// the wording that signals codes.
	var rep struct {
		MicroF1  float64  `json:"micro_f1"`
		MacroAUC *float64 `json:"macro_auc"`
	}
	raw, err := os.ReadFile(filepath.Join(dir, "run", "metrics-test.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &rep); err != nil {
		t.Fatal(err)
	}
	// Macro-AUC, because a predictor of label priors alone scores exactly
	// 0.5 on it (micro-AUC rewards priors).
	if rep.MacroAUC == nil {
		t.Fatal("no macro-AUC in metrics-test.json")
	}
	if *rep.MacroAUC < 0.65 {
		t.Errorf("demo coder: test macro-AUC %v, want ≥ 0.65 (chance is 0.5)", *rep.MacroAUC)
	}
	coded, err := os.ReadFile(filepath.Join(dir, "codes.jsonl"))
	if err != nil || strings.Count(string(coded), "\n") != 5 {
		t.Errorf("codes.jsonl: %d lines, %v", strings.Count(string(coded), "\n"), err)
	}
	ds, err := dataset.Open(filepath.Join(dir, "dataset"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ds.Verify(); err != nil {
		t.Fatal(err)
	}
	sel, err := synonyms.ReadSelections(filepath.Join(dir, "synonyms.jsonl"), ds.Labels, 4)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range sel {
		if !s.Optimal || s.Distinct != 4 {
			t.Errorf("%s: %+v", s.Code, s)
		}
	}
	// MSAM has one head per synonym: M must divide the demo's width.
	if code := run([]string{"demo", "--out", dir, "--m", "3"}, &out, &errOut); code == 0 || !strings.Contains(errOut.String(), "divides 32") {
		t.Errorf("demo --m 3: exit %d: %s", code, errOut.String())
	}
	// Running it again replaces its own outputs.
	if code := run([]string{"demo", "--out", dir, "--docs", "200", "--epochs", "1"}, &out, &errOut); code != 0 {
		t.Fatalf("second demo run: exit %d: %s", code, errOut.String())
	}
	if _, err := os.Stat(filepath.Join(dir, "dataset", dataset.ManifestFile)); err != nil {
		t.Fatal(err)
	}
}

// synonyms select --model: MDP distances from an encoder's [CLS] embeddings.
func TestSynonymsSelectWithModel(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "demo")
	var out, errOut bytes.Buffer
	if code := run([]string{"demo", "--out", dir, "--docs", "100", "--train=false"}, &out, &errOut); code != 0 {
		t.Fatalf("demo: exit %d: %s", code, errOut.String())
	}
	ds, err := dataset.Open(filepath.Join(dir, "dataset"))
	if err != nil {
		t.Fatal(err)
	}
	// A tiny random BERT with a tokenizer trained on the demo's notes.
	modelDir := filepath.Join(dir, "model")
	texts := func(yield func(string, error) bool) {
		for d, err := range ds.Docs("train") {
			if !yield(d.Text, err) {
				return
			}
		}
	}
	tok, err := tokenizer.TrainWordPiece(texts, tokenizer.TrainOptions{VocabSize: 300, MinFreq: 2, Lowercase: true})
	if err != nil {
		t.Fatal(err)
	}
	cfg := &hf.Config{ModelType: hf.TypeBERT, VocabSize: tok.VocabSize(), HiddenSize: 16, NumHiddenLayers: 1,
		NumAttentionHeads: 2, IntermediateSize: 32, HiddenAct: "gelu", MaxPositionEmbeddings: 64, TypeVocabSize: 2,
		LayerNormEps: 1e-12, PositionEmbeddingType: "absolute", InitializerRange: 0.5, BOSTokenID: -1, EOSTokenID: -1}
	enc, err := encoder.New[float32](cfg, false, 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := enc.Save(modelDir); err != nil {
		t.Fatal(err)
	}
	if err := tok.Save(modelDir); err != nil {
		t.Fatal(err)
	}
	synPath := filepath.Join(dir, "synonyms_cls.jsonl")
	args := []string{"synonyms", "select", "--dataset", filepath.Join(dir, "dataset"), "--candidates", filepath.Join(dir, "candidates.jsonl"),
		"--m", "4", "--model", modelDir, "--out", synPath}
	if code := run(args, &out, &errOut); code != 0 {
		t.Fatalf("synonyms select --model: exit %d: %s", code, errOut.String())
	}
	sel, err := synonyms.ReadSelections(synPath, ds.Labels, 4)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range sel {
		if !s.Optimal || s.Objective <= 0 {
			t.Errorf("%s: %+v", s.Code, s)
		}
	}
	if code := run([]string{"synonyms", "select", "--dataset", filepath.Join(dir, "dataset"), "--candidates", filepath.Join(dir, "candidates.jsonl"),
		"--model", filepath.Join(dir, "no-such-model"), "--out", synPath}, &out, &errOut); code != 1 {
		t.Errorf("missing model directory: exit %d", code)
	}
}
