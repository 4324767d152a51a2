package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	runs "github.com/icdcode/icdcode/model/run"
)

// demoDir builds the demo dataset and synonyms (120 notes) in a temp folder.
func demoDir(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "demo")
	var out, errOut bytes.Buffer
	if code := run([]string{"demo", "--out", dir, "--docs", "120", "--train=false"}, &out, &errOut); code != 0 {
		t.Fatalf("demo: exit %d: %s", code, errOut.String())
	}
	return dir
}

// tinyConfig writes a scratch config small enough to train in about a second.
func tinyConfig(t *testing.T, dir, name, head, runDir, extra string) string {
	t.Helper()
	text := `[data]
dataset = "dataset"
synonyms = "synonyms.jsonl"

[model]
encoder = "ce"
head = "` + head + `"
max_len = 64
stride = 32
m = 4
` + extra + `
[model.scratch]
hidden = 16
layers = 1
heads = 4
intermediate = 32
max_positions = 64
vocab_size = 300

[train]
epochs = 2
lr = 1e-3
seed = 7

[run]
dir = "` + runDir + `"
`
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// cli runs a command and returns its error output; a non-zero exit fails
// the test unless wantFail.
func cli(t *testing.T, wantFail bool, args ...string) string {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(args, &out, &errOut)
	if (code != 0) != wantFail {
		t.Fatalf("icdcode %s: exit %d: %s", strings.Join(args, " "), code, errOut.String())
	}
	return errOut.String()
}

// jsonLines decodes every line of a JSONL file.
func jsonLines(t *testing.T, path string) []map[string]any {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []map[string]any
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<24)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		out = append(out, m)
	}
	return out
}

func TestTrainTestPredict(t *testing.T) {
	dir := demoDir(t)
	notes := filepath.Join(dir, "notes.jsonl")
	if err := os.WriteFile(notes, []byte(`{"id":"a","text":"Discharge diagnosis: chronic obstructive pulmonary disease."}
{"id":"b","text":"Sepsis with septic shock requiring pressors."}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	txt := filepath.Join(dir, "txt")
	if err := os.MkdirAll(txt, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(txt, "n1.txt"), []byte("Atrial fibrillation with rapid ventricular response."), 0o644); err != nil {
		t.Fatal(err)
	}
	labels, err := os.ReadFile(filepath.Join(dir, "dataset", "labels.txt"))
	if err != nil {
		t.Fatal(err)
	}
	nLabels := len(strings.Fields(string(labels)))
	for _, head := range []string{"msam", "cls"} {
		t.Run(head, func(t *testing.T) {
			cfg := tinyConfig(t, dir, head+".toml", head, "run-"+head, "")
			runDir := filepath.Join(dir, "run-"+head)
			cli(t, false, "train", "-c", cfg)
			for _, f := range []string{runs.ConfigFile, runs.ModelFile, runs.LabelsFile, "tokenizer/tokenizer.json", "encoder/config.json", "checkpoints/best", "checkpoints/ckpt-epoch-002/weights.bin", "checkpoints/train.jsonl", runs.CurveFile} {
				if _, err := os.Stat(filepath.Join(runDir, f)); err != nil {
					t.Errorf("after train: %v", err)
				}
			}
			_, err := os.Stat(filepath.Join(runDir, runs.SynonymsFile))
			if (err == nil) != (head == "msam") {
				t.Errorf("%s: synonym matrix present = %v", head, err == nil)
			}
			// A second train into the same directory is refused.
			if msg := cli(t, true, "train", "-c", cfg); !strings.Contains(msg, "already exists") {
				t.Errorf("retrain: %q", msg)
			}

			cli(t, false, "test", "-c", cfg, "--split", "test")
			preds := jsonLines(t, filepath.Join(runDir, "predictions-test.jsonl"))
			if len(preds) != 18 {
				t.Errorf("%d test predictions, want 18", len(preds))
			}
			for _, p := range preds {
				if ps, _ := p["probs"].([]any); len(ps) != nLabels || p["id"] == "" {
					t.Fatalf("bad prediction line %v", p)
				}
			}
			var rep map[string]any
			raw, err := os.ReadFile(filepath.Join(runDir, "metrics-test.json"))
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(raw, &rep); err != nil {
				t.Fatal(err)
			}
			for _, k := range []string{"micro_f1", "macro_f1_mean_of_label_f1", "micro_auc", "at_k", "calibration"} {
				if _, ok := rep[k]; !ok {
					t.Errorf("metrics-test.json lacks %s", k)
				}
			}

			// Predict reads only the run directory: JSONL notes and a .txt folder.
			for _, in := range []string{notes, txt} {
				out := filepath.Join(dir, head+"-codes.jsonl")
				cli(t, false, "predict", "--run", runDir, "--in", in, "--out", out, "--threshold", "0", "--top", "3")
				lines := jsonLines(t, out)
				if len(lines) == 0 {
					t.Fatalf("predict %s: no output", in)
				}
				for _, l := range lines {
					if cs, _ := l["codes"].([]any); len(cs) != 3 {
						t.Errorf("predict %s: %v, want 3 codes", in, l)
					}
				}
			}
		})
	}
}

// Training 1 of 2 epochs, then --resume, ends with the same weights as
// training 2 epochs straight.
func TestTrainResume(t *testing.T) {
	dir := demoDir(t)
	straight := tinyConfig(t, dir, "straight.toml", "msam", "run-straight", "")
	cli(t, false, "train", "-c", straight)

	split := tinyConfig(t, dir, "split.toml", "msam", "run-split", "")
	cfg, err := runs.LoadConfig(split)
	if err != nil {
		t.Fatal(err)
	}
	res, err := runs.Train(context.Background(), cfg, runs.TrainOptions{StopAfter: 1})
	if err != nil {
		t.Fatal(err)
	}
	if res.Result.Epochs != 1 {
		t.Fatalf("interrupted run completed %d epochs, want 1", res.Result.Epochs)
	}
	cli(t, false, "train", "-c", split, "--resume")

	a, err := os.ReadFile(filepath.Join(dir, "run-straight", "checkpoints", "ckpt-epoch-002", "weights.bin"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "run-split", "checkpoints", "ckpt-epoch-002", "weights.bin"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) {
		t.Error("resumed run's final weights differ from the straight run's")
	}
}

func TestRunConfigErrors(t *testing.T) {
	dir := demoDir(t)

	bad := tinyConfig(t, dir, "typo.toml", "msam", "run-typo", "stirde = 32\n")
	if msg := cli(t, true, "train", "-c", bad); !strings.Contains(msg, "model.stirde") || !strings.Contains(msg, "typo.toml") {
		t.Errorf("unknown key: %q", msg)
	}
	wrongType := tinyConfig(t, dir, "type.toml", "msam", "run-type", "dropout = \"high\"\n")
	if msg := cli(t, true, "train", "-c", wrongType); !strings.Contains(msg, "dropout") {
		t.Errorf("wrong type: %q", msg)
	}

	missing := tinyConfig(t, t.TempDir(), "missing.toml", "cls", "run-missing", "")
	if msg := cli(t, true, "train", "-c", missing); !strings.Contains(msg, "data.dataset") {
		t.Errorf("missing dataset: %q", msg)
	}

	// A run whose labels differ from the dataset's is refused by test.
	cfg := tinyConfig(t, dir, "labels.toml", "cls", "run-labels", "")
	cli(t, false, "train", "-c", cfg)
	lpath := filepath.Join(dir, "run-labels", runs.LabelsFile)
	raw, err := os.ReadFile(lpath)
	if err != nil {
		t.Fatal(err)
	}
	ls := strings.Fields(string(raw))
	ls[0], ls[1] = ls[1], ls[0]
	if err := os.WriteFile(lpath, []byte(strings.Join(ls, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if msg := cli(t, true, "test", "-c", cfg); !strings.Contains(msg, "labels") {
		t.Errorf("label mismatch: %q", msg)
	}

	// A damaged checkpoint is refused, naming the file.
	wpath := filepath.Join(dir, "run-labels", "checkpoints", "ckpt-epoch-002", "weights.bin")
	w, err := os.ReadFile(wpath)
	if err != nil {
		t.Fatal(err)
	}
	w[0] ^= 1
	if err := os.WriteFile(wpath, w, 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "codes.jsonl")
	if msg := cli(t, true, "predict", "--run", filepath.Join(dir, "run-labels"), "--checkpoint", "last", "--in", filepath.Join(dir, "dataset", "docs.jsonl"), "--out", out); !strings.Contains(msg, "weights.bin") {
		t.Errorf("damaged checkpoint: %q", msg)
	}
}

// Every shipped config parses strictly (no misspelled keys) and validates.
func TestShippedConfigs(t *testing.T) {
	files, err := filepath.Glob("configs/*.toml")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"ce_msam", "ce", "le", "le_msam", "ce_msam_clq", "le_msam_clq", "ce_msam_small", "ce_msam_codiesp", "ce_msam_codiesp_clq", "demo"} {
		found := false
		for _, g := range files {
			found = found || g == filepath.Join("configs", f+".toml")
		}
		if !found {
			t.Errorf("configs/%s.toml is missing", f)
		}
	}
	// Configs of other commands have their own loaders and tests
	// (TestShippedQuantConfig, the embed tests).
	other := map[string]bool{"quant.toml": true, "med2vec.toml": true, "word2vec.toml": true, "word2vec_codiesp.toml": true, "pretrain_codiesp.toml": true}
	for _, f := range files {
		if other[filepath.Base(f)] {
			continue
		}
		cfg, err := runs.LoadConfig(f)
		if err != nil {
			t.Error(err)
			continue
		}
		// A config that continues another's run (CLQ from BCE) must be
		// able to: the same [model] section and dataset. The shipped
		// configs name their runs after themselves.
		if cfg.Train.InitRun != "" {
			base := filepath.Join("configs", filepath.Base(cfg.Train.InitRun)+".toml")
			if b, err := runs.LoadConfig(base); err != nil {
				t.Errorf("%s starts from %s: %v", f, base, err)
			} else if !reflect.DeepEqual(b.Model, cfg.Model) || b.Data.Dataset != cfg.Data.Dataset {
				t.Errorf("%s: [model] or data.dataset differ from %s, whose run it starts from", f, base)
			}
		}
	}
}
