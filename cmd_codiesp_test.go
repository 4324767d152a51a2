package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/icdcode/icdcode/data/shareddata"
	runs "github.com/icdcode/icdcode/model/run"
)

// CE-MSAM and LE-MSAM train, resume, test and predict on real CodiEsp notes
// (the 10 most frequent diagnoses, synonyms from the ICD-10-CM tabular list),
// with small encoders so that the test stays short.
func TestCodiEspCEAndLE(t *testing.T) {
	codiesp := shareddata.Path(t, "codiesp")
	tabular := shareddata.Path(t, "icd10cm", "icd10cm_tabular_2021.xml.gz")
	dir := t.TempDir()
	cli(t, false, "prepare", "codiesp", "--dir", codiesp, "--lang", "en", "--codes", "diagnoses", "--top", "10", "--out", filepath.Join(dir, "dataset"))
	cli(t, false, "synonyms", "build", "--dataset", filepath.Join(dir, "dataset"), "--source", "icd10cm-tabular="+tabular, "--out", filepath.Join(dir, "candidates.jsonl"))
	cli(t, false, "synonyms", "select", "--dataset", filepath.Join(dir, "dataset"), "--candidates", filepath.Join(dir, "candidates.jsonl"), "--m", "4", "--out", filepath.Join(dir, "synonyms.jsonl"))

	for _, c := range []struct{ name, model string }{
		{"ce", "encoder = \"ce\"\nmax_len = 128\nstride = 64\nmax_tokens = 1024\n"},
		{"le", "encoder = \"le\"\nmax_tokens = 1024\nwindow = 64\nglobal_cls = true\n"},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(dir, c.name+".toml")
			writeFile(t, path, `[data]
dataset = "dataset"
synonyms = "synonyms.jsonl"

[model]
head = "msam"
`+c.model+`m = 4
mask = true
scale = true
per_chunk = false
tune_synonyms = true
synonym_init_std = 1.0

[model.scratch]
hidden = 16
layers = 1
heads = 4
intermediate = 32
max_positions = 128
vocab_size = 2000

[train]
epochs = 2
lr = 1e-3
grad_accum = 8
metric = "macro_auc"
seed = 5

[run]
dir = "run-`+c.name+`"
`)
			cfg, err := runs.LoadConfig(path)
			if err != nil {
				t.Fatal(err)
			}
			// One epoch, then --resume for the second, as after a kill.
			trainSplit(t, path)
			runDir := filepath.Join(dir, "run-"+c.name)
			m, err := runs.LoadModel(runDir)
			if err != nil {
				t.Fatal(err)
			}
			if got := m.Classifier.Config; got.Encoder != c.name || len(m.Labels) != 10 {
				t.Fatalf("run %s: encoder %q, %d labels", runDir, got.Encoder, len(m.Labels))
			}
			if c.name == "le" && (m.Classifier.Config.Window != 64 || !m.Classifier.Config.GlobalCLS) {
				t.Errorf("LE run: window %d, global [CLS] %v", m.Classifier.Config.Window, m.Classifier.Config.GlobalCLS)
			}
			cli(t, false, "test", "-c", cfg.Path, "--split", "dev")
			preds := jsonLines(t, filepath.Join(runDir, "predictions-dev.jsonl"))
			docs := 0
			for _, l := range jsonLines(t, filepath.Join(dir, "dataset", "docs.jsonl")) {
				if l["split"] == "dev" {
					docs++
				}
			}
			if len(preds) != docs || docs == 0 {
				t.Errorf("%d dev predictions for %d dev notes", len(preds), docs)
			}
			notes := filepath.Join(dir, "notes.jsonl")
			writeFile(t, notes, `{"id":"n1","text":"A 60-year-old man with hypertension and type 2 diabetes presented with chest pain."}`+"\n")
			out := filepath.Join(dir, c.name+"-codes.jsonl")
			cli(t, false, "predict", "--run", runDir, "--in", notes, "--out", out, "--top", "3")
			if raw, err := os.ReadFile(out); err != nil || !strings.Contains(string(raw), `"n1"`) {
				t.Errorf("predict: %s, %v", raw, err)
			}
		})
	}
}
