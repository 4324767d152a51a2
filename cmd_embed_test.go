package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/icdcode/icdcode/data/embfile"
	"github.com/icdcode/icdcode/data/shareddata"
	"github.com/icdcode/icdcode/model/embedrun"
)

// writeEmbedConfig writes a config into a fresh folder and returns its path;
// out_dir is relative, so the test also checks path resolution.
func writeEmbedConfig(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "embed.toml")
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// runCLI runs the icdcode command line and fails the test on a non-zero exit.
func runCLI(t *testing.T, args ...string) {
	t.Helper()
	var stderr bytes.Buffer
	if code := run(args, &bytes.Buffer{}, &stderr); code != 0 {
		t.Fatalf("icdcode %s: exit %d: %s", strings.Join(args, " "), code, stderr.String())
	}
}

func TestEmbedMed2VecMIMICDemo(t *testing.T) {
	dir := filepath.Dir(shareddata.Path(t, "mimic3_demo", "DIAGNOSES_ICD.csv"))
	cfg := writeEmbedConfig(t, `out_dir = "out"
[input]
kind = "mimic3"
dir = "`+dir+`"
[med2vec]
emb_size = 8
visit_size = 6
batch_size = 50
epochs = 3
seed = 1
`)
	runCLI(t, "embed", "med2vec", "-c", cfg)
	out := filepath.Join(filepath.Dir(cfg), "out")
	arrays, codes, err := embfile.ReadMed2Vec(filepath.Join(out, embedrun.Med2VecNPZ))
	if err != nil {
		t.Fatal(err)
	}
	n := len(codes)
	wEmb, wOut := arrays["W_emb"], arrays["W_output"]
	// Labels are the 3-digit groups, fewer than the full codes.
	if n < 100 || !slices.Equal(wEmb.Shape, []int{n, 8}) || !slices.Equal(arrays["W_hidden"].Shape, []int{8, 6}) ||
		len(wOut.Shape) != 2 || wOut.Shape[0] != 6 || wOut.Shape[1] >= n || wOut.Shape[1] < 10 {
		t.Errorf("shapes: %d codes, W_emb %v, W_hidden %v, W_output %v", n, wEmb.Shape, arrays["W_hidden"].Shape, wOut.Shape)
	}
	sets, err := embfile.ReadHierarchyJSON(filepath.Join(out, embedrun.Med2VecJSON))
	if err != nil {
		t.Fatal(err)
	}
	set := sets["med2vec_embeddings_8"]
	if len(sets) != 1 || len(set) != n {
		t.Errorf("hierarchy JSON: %d sets, %d codes, want 1 set med2vec_embeddings_8 of %d", len(sets), len(set), n)
	}
	for code, v := range set {
		for _, x := range v {
			if x < 0 {
				t.Fatalf("code %s: negative value %g in a ReLU code vector", code, x)
			}
		}
	}
	// eval reads the .npz too, as ReLU(W_emb): the same vectors as the JSON.
	v, err := embedrun.LoadVectors(filepath.Join(out, embedrun.Med2VecNPZ), "")
	if err != nil {
		t.Fatal(err)
	}
	if v.Dim != 8 || len(v.Codes) != n {
		t.Fatalf("npz vectors: %d codes dim %d", len(v.Codes), v.Dim)
	}
	for i, code := range v.Codes {
		if got, want := v.X[i*8:(i+1)*8], set[code]; !slices.Equal(got, want) {
			t.Fatalf("code %s: npz %v, JSON %v", code, got, want)
		}
	}
}

func TestEmbedWord2VecSynthea(t *testing.T) {
	dir := filepath.Dir(shareddata.Path(t, "synthea", "conditions.csv"))
	shareddata.Path(t, "synthea", "encounters.csv")
	cfg := writeEmbedConfig(t, `out_dir = "out"
[input]
kind = "synthea"
dir = "`+dir+`"
[word2vec]
dim = 12
epochs = 2
`)
	runCLI(t, "embed", "word2vec", "-c", cfg)
	out := filepath.Join(filepath.Dir(cfg), "out")
	sets, err := embfile.ReadHierarchyJSON(filepath.Join(out, embedrun.Word2VecJSON))
	if err != nil {
		t.Fatal(err)
	}
	// SEP: no category tokens, as Finch et al. name such sets.
	set := sets["SG_SEP_embeddings_12"]
	if len(sets) != 1 || len(set) < 10 {
		t.Fatalf("%d sets, %d codes", len(sets), len(set))
	}
	v, err := embedrun.LoadVectors(filepath.Join(out, embedrun.Word2VecNPZ), "")
	if err != nil {
		t.Fatal(err)
	}
	if len(v.Codes) != len(set) || v.Dim != 12 || len(v.X) != len(set)*12 {
		t.Errorf("npz: %d codes dim %d, JSON %d codes", len(v.Codes), v.Dim, len(set))
	}
}

// TestEmbedEvalMIMICDemo trains Word2Vec with CCS tokens on the MIMIC demo
// (Synthea's SNOMED codes have no CCS category) and scores it: a smoke test,
// as 100 patients give weak embeddings, so only the ranges are checked.
func TestEmbedEvalMIMICDemo(t *testing.T) {
	dir := filepath.Dir(shareddata.Path(t, "mimic3_demo", "DIAGNOSES_ICD.csv"))
	ccs := shareddata.Path(t, "groupers", "ccs_dxref_2015.csv")
	cfg := writeEmbedConfig(t, `out_dir = "out"
[input]
kind = "mimic3"
dir = "`+dir+`"
min_visits = 1
[word2vec]
dim = 16
epochs = 3
categories = "ccs"
grouper = "`+ccs+`"
strip_prefix = "D_"
[eval]
k = [5, 10]
grouper = "`+ccs+`"
strip_prefix = "D_"
restarts = 2
map = true
`)
	runCLI(t, "embed", "word2vec", "-c", cfg)
	runCLI(t, "embed", "eval", "-c", cfg)
	out := filepath.Join(filepath.Dir(cfg), "out")
	raw, err := os.ReadFile(filepath.Join(out, embedrun.EvalJSON))
	if err != nil {
		t.Fatal(err)
	}
	var res embedrun.EvalResult
	if err := json.Unmarshal(raw, &res); err != nil {
		t.Fatal(err)
	}
	if len(res.Rows) != 2 {
		t.Fatalf("eval.json: %s", raw)
	}
	for i, r := range res.Rows {
		t.Logf("k=%d: %d codes (%d unlabelled), %d categories, NMI %.4f AMI %.4f", r.K, r.Codes, r.Unlabelled, r.Categories, r.NMI, r.AMI)
		if r.K != []int{5, 10}[i] || r.Codes < 100 || r.Categories < 10 ||
			r.NMI < 0 || r.NMI > 1 || r.AMI < -0.5 || r.AMI > 1 {
			t.Errorf("row %+v", r)
		}
	}
	if _, err := os.Stat(filepath.Join(out, embedrun.EvalMap)); err != nil {
		t.Error(err)
	}
}

func TestEmbedConfigUnknownKey(t *testing.T) {
	cfg := writeEmbedConfig(t, `[input]
kind = "jsonl"
path = "v.jsonl"
[med2vec]
emb_sise = 8
`)
	_, err := embedrun.LoadConfig(cfg)
	if err == nil || !strings.Contains(err.Error(), "med2vec.emb_sise") || !strings.Contains(err.Error(), cfg) {
		t.Errorf("unknown key: got %v", err)
	}
	if code := run([]string{"embed", "med2vec", "-c", cfg}, &bytes.Buffer{}, &bytes.Buffer{}); code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
}

// TestEmbedConfigsShipped checks that the example configs parse and resolve
// paths against their own folder.
func TestEmbedConfigsShipped(t *testing.T) {
	for _, name := range []string{"med2vec.toml", "word2vec.toml"} {
		cfg, err := embedrun.LoadConfig(filepath.Join("configs", name))
		if err != nil {
			t.Fatal(err)
		}
		// configs/../../shared → ../shared: resolved against configs/.
		wantOut := strings.TrimSuffix(name, ".toml") + "-run"
		if cfg.Input.Dir != filepath.Join("..", "shared", "data", "mimic3_demo") || cfg.OutDir != wantOut {
			t.Errorf("%s: input.dir %s, out_dir %s", name, cfg.Input.Dir, cfg.OutDir)
		}
	}
}

// TestEmbedRecallResumeSynthea trains Med2Vec with held-out patients through
// the CLI, scores them with `embed eval` (no grouper: recall only, since
// Synthea's SNOMED codes have no CCS category) and checks that --resume
// from the final checkpoint rewrites the same model.
func TestEmbedRecallResumeSynthea(t *testing.T) {
	dir := filepath.Dir(shareddata.Path(t, "synthea", "conditions.csv"))
	shareddata.Path(t, "synthea", "encounters.csv")
	cfg := writeEmbedConfig(t, `out_dir = "out"
[input]
kind = "synthea"
dir = "`+dir+`"
[med2vec]
emb_size = 8
visit_size = 8
batch_size = 100
epochs = 2
[eval]
embeddings = "out/med2vec.npz"
heldout_fraction = 0.2
heldout_seed = 3
recall_k = [5, 30]
`)
	runCLI(t, "embed", "med2vec", "-c", cfg)
	out := filepath.Join(filepath.Dir(cfg), "out")
	first, err := os.ReadFile(filepath.Join(out, embedrun.Med2VecNPZ))
	if err != nil {
		t.Fatal(err)
	}
	runCLI(t, "embed", "eval", "-c", cfg)
	raw, err := os.ReadFile(filepath.Join(out, embedrun.EvalJSON))
	if err != nil {
		t.Fatal(err)
	}
	var res embedrun.EvalResult
	if err := json.Unmarshal(raw, &res); err != nil {
		t.Fatal(err)
	}
	r := res.Recall
	if r == nil || len(r.Model) != 2 || r.Model[1].K != 30 || r.Pairs < 100 || r.HeldoutPatients != 22 || r.TrainPatients != 88 ||
		r.Model[1].Recall <= 0 || r.Model[1].Recall > 1 || r.Popularity[1].Recall <= 0 || len(res.Rows) != 0 {
		t.Fatalf("eval.json: %s", raw)
	}
	runCLI(t, "embed", "med2vec", "-c", cfg, "--resume")
	again, err := os.ReadFile(filepath.Join(out, embedrun.Med2VecNPZ))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(first, again) {
		t.Error("--resume from the last checkpoint changed the model")
	}
	// Over checkpoints a run must be told to resume or start over.
	var stderr bytes.Buffer
	if code := run([]string{"embed", "med2vec", "-c", cfg}, &bytes.Buffer{}, &stderr); code != 1 || !strings.Contains(stderr.String(), "--fresh") {
		t.Errorf("run over checkpoints: exit %d: %s", code, stderr.String())
	}
	runCLI(t, "embed", "med2vec", "-c", cfg, "--fresh")
}

func TestEmbedConfigHeldoutKeys(t *testing.T) {
	cfg := writeEmbedConfig(t, `[input]
kind = "jsonl"
path = "v.jsonl"
[eval]
heldout_fractoin = 0.2
`)
	if _, err := embedrun.LoadConfig(cfg); err == nil || !strings.Contains(err.Error(), "eval.heldout_fractoin") {
		t.Errorf("unknown key: got %v", err)
	}
	cfg = writeEmbedConfig(t, `[input]
kind = "jsonl"
path = "v.jsonl"
[eval]
heldout_fraction = 1
`)
	if _, err := embedrun.LoadConfig(cfg); err == nil || !strings.Contains(err.Error(), "heldout_fraction") {
		t.Errorf("heldout_fraction = 1: got %v", err)
	}
}
