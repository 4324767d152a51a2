package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/icdcode/icdcode/model/kernels"
	runs "github.com/icdcode/icdcode/model/run"
	"github.com/icdcode/icdcode/quant/quantify"
)

// withSections adds keys to the [train] table of a tinyConfig file and
// appends more tables.
func withSections(t *testing.T, path, trainKeys, tables string) string {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Replace(string(raw), "[train]\n", "[train]\n"+trainKeys, 1) + tables
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// trainLog trains cfgPath as `icdcode train` does and returns its log.
func trainLog(t *testing.T, cfgPath string) string {
	t.Helper()
	cfg, err := runs.LoadConfig(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	if _, err := runs.Train(context.Background(), cfg, runs.TrainOptions{Log: &log}); err != nil {
		t.Fatal(err)
	}
	return log.String()
}

// trainSplit trains cfgPath for one epoch, then resumes it to the end.
func trainSplit(t *testing.T, cfgPath string) {
	t.Helper()
	cfg, err := runs.LoadConfig(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := runs.Train(context.Background(), cfg, runs.TrainOptions{StopAfter: 1}); err != nil {
		t.Fatal(err)
	}
	cli(t, false, "train", "-c", cfgPath, "--resume")
}

// The CLQ joint loss trains, checkpoints its quantifier with the model,
// changes the weights, selects on mean ECE, resumes exactly, saves a
// quantifier that quant/quantify loads, and test reads its checkpoints.
func TestTrainCLQ(t *testing.T) {
	dir := demoDir(t)
	nLabels := len(strings.Fields(string(readFile(t, filepath.Join(dir, "dataset", "labels.txt")))))
	clq := "\n[clq]\nenabled = true\nlambda = 100\ndelta = 0.5\nhidden = 8\nseed = 3\n"
	straight := withSections(t, tinyConfig(t, dir, "clq.toml", "msam", "run-clq", ""), "metric = \"mean_ece\"\n", clq)
	log := trainLog(t, straight)
	if !strings.Contains(log, "CLQ joint loss") {
		t.Errorf("train log does not announce CLQ: %q", log)
	}
	runDir := filepath.Join(dir, "run-clq")
	state := string(readFile(t, filepath.Join(runDir, "checkpoints", "ckpt-epoch-002", "state.json")))
	if !strings.Contains(state, `"clq.mlp.w1"`) {
		t.Error("checkpoint does not hold the CLQ quantifier")
	}
	for _, l := range jsonLines(t, filepath.Join(runDir, "checkpoints", "train.jsonl")) {
		if m, _ := l["metrics"].(map[string]any); m["mean_ece"] == nil {
			t.Errorf("train.jsonl line without mean_ece: %v", l)
		}
	}
	mlp, err := quantify.LoadMLP(filepath.Join(runDir, runs.CLQQuantifierFile))
	if err != nil {
		t.Fatal(err)
	}
	if mlp.L != nLabels || mlp.H != 8 {
		t.Errorf("CLQ quantifier is %d→%d, want %d labels, hidden 8", mlp.L, mlp.H, nLabels)
	}
	cli(t, false, "test", "-c", straight, "--split", "test")
	// quantify compares the jointly trained quantifier with the others.
	cli(t, false, "test", "-c", straight, "--split", "dev")
	qcfg := quantConfig(t, dir, "quant.toml", "run-clq", "")
	writeFile(t, qcfg, strings.Replace(string(readFile(t, qcfg)), "max_size = 40", "max_size = 10", 1))
	cli(t, false, "quantify", "train", "-c", qcfg)
	cli(t, false, "quantify", "test", "-c", qcfg)
	if table := string(readFile(t, filepath.Join(runDir, "quant", "quantification-test.json"))); !strings.Contains(table, "CLQ-MLP") {
		t.Errorf("the quantification table lacks the CLQ quantifier: %.300s", table)
	}

	plain := tinyConfig(t, dir, "plain.toml", "msam", "run-plain", "")
	cli(t, false, "train", "-c", plain)
	w := readFile(t, filepath.Join(runDir, "checkpoints", "ckpt-epoch-002", "weights.bin"))
	p := readFile(t, filepath.Join(dir, "run-plain", "checkpoints", "ckpt-epoch-002", "weights.bin"))
	if bytes.Equal(w[:len(p)], p) {
		t.Error("the CLQ term did not change the classifier's weights")
	}

	split := withSections(t, tinyConfig(t, dir, "clq-split.toml", "msam", "run-clq-split", ""), "metric = \"mean_ece\"\n", clq)
	trainSplit(t, split)
	if !bytes.Equal(w, readFile(t, filepath.Join(dir, "run-clq-split", "checkpoints", "ckpt-epoch-002", "weights.bin"))) {
		t.Error("a resumed CLQ run's weights differ from the straight run's")
	}

	// Starting from the joint quantifier just saved: its size is taken
	// from the file.
	from := withSections(t, tinyConfig(t, dir, "clq-from.toml", "msam", "run-clq-from", ""), "",
		"\n[clq]\nenabled = true\nhidden = 99\nquantifier = \""+filepath.Join(runDir, runs.CLQQuantifierFile)+"\"\n")
	cli(t, false, "train", "-c", from)
}

// A run started from another run's checkpoint (train.init_run) begins at
// exactly that model, keeps its own copy of it, and refuses another
// [model] section.
func TestTrainInitRun(t *testing.T) {
	dir := demoDir(t)
	src := tinyConfig(t, dir, "src.toml", "msam", "run-src", "tune_synonyms = true\n")
	cli(t, false, "train", "-c", src)

	next := withSections(t, tinyConfig(t, dir, "next.toml", "msam", "run-next", "tune_synonyms = true\n"), "init_run = \"run-src\"\ninit_checkpoint = \"best\"\n", "")
	cfg, err := runs.LoadConfig(next)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := runs.Train(context.Background(), cfg, runs.TrainOptions{StopAfter: 1}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "run-next", runs.InitDir, "weights.bin")); err != nil {
		t.Fatalf("the new run has no copy of its starting weights: %v", err)
	}
	// The new run's starting model predicts as the source's best.
	a, err := runs.LoadModel(filepath.Join(dir, "run-next"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := runs.LoadModel(filepath.Join(dir, "run-src"))
	if err != nil {
		t.Fatal(err)
	}
	if err := b.LoadCheckpoint(filepath.Join(dir, "run-src", "checkpoints", "best")); err != nil {
		t.Fatal(err)
	}
	ids, err := a.Tokenizer.Encode("Sepsis with septic shock; chronic obstructive pulmonary disease.")
	if err != nil {
		t.Fatal(err)
	}
	k := kernels.CPU[float32]()
	pa, err := a.Classifier.Predict(k, ids)
	if err != nil {
		t.Fatal(err)
	}
	pb, _ := b.Classifier.Predict(k, ids)
	if fmt.Sprint(pa) != fmt.Sprint(pb) {
		t.Errorf("starting model predicts %v, the source's best %v", pa, pb)
	}
	cli(t, false, "train", "-c", next, "--resume")
	cli(t, false, "test", "-c", next, "--split", "test")

	other := withSections(t, tinyConfig(t, dir, "other.toml", "msam", "run-other", "scale = false\n"), "init_run = \"run-src\"\n", "")
	if msg := cli(t, true, "train", "-c", other); !strings.Contains(msg, "[model]") {
		t.Errorf("another [model] section: %q", msg)
	}
}

// Code embeddings reach the LAAT and MSAM heads by code string, are saved in
// the run, and survive resume, test and predict; bad files are refused.
func TestTrainCodeEmbeddings(t *testing.T) {
	dir := demoDir(t)
	labels := strings.Fields(string(readFile(t, filepath.Join(dir, "dataset", "labels.txt"))))
	set := map[string][]float32{"UNRELATED.1": {1, 1, 1, 1}}
	for i, l := range labels {
		if i%2 == 0 { // half the labels, under the Med2Vec-style D_ prefix
			set["D_"+l] = []float32{float32(i), 1, -1, float32(i % 3)}
		}
	}
	raw, err := json.Marshal(map[string]any{"SG_CO_embeddings_4": set})
	if err != nil {
		t.Fatal(err)
	}
	emb := filepath.Join(dir, "codes.json")
	if err := os.WriteFile(emb, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	withEmb := func(name, head, runDir, model string) string {
		path := tinyConfig(t, dir, name, head, runDir, model)
		text := strings.Replace(string(readFile(t, path)), "[data]\n", "[data]\ncode_embeddings = \"codes.json\"\n", 1)
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	for _, head := range []string{"laat", "msam"} {
		t.Run(head, func(t *testing.T) {
			straight := withEmb(head+".toml", head, "run-"+head, "")
			log := trainLog(t, straight)
			want := fmt.Sprintf("%d of %d labels have a vector of 4 values", (len(labels)+1)/2, len(labels))
			if !strings.Contains(log, want) {
				t.Errorf("train log lacks %q", want)
			}
			runDir := filepath.Join(dir, "run-"+head)
			if _, err := os.Stat(filepath.Join(runDir, runs.CodeEmbeddingsFile)); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(readFile(t, filepath.Join(runDir, "checkpoints", "best", "state.json"))), "code_proj.weight") {
				t.Error("the checkpoint has no code projection")
			}
			split := withEmb(head+"-split.toml", head, "run-"+head+"-split", "")
			trainSplit(t, split)
			if !bytes.Equal(readFile(t, filepath.Join(runDir, "checkpoints", "ckpt-epoch-002", "weights.bin")),
				readFile(t, filepath.Join(dir, "run-"+head+"-split", "checkpoints", "ckpt-epoch-002", "weights.bin"))) {
				t.Error("a resumed run's weights differ from the straight run's")
			}
			cli(t, false, "test", "-c", straight, "--split", "test")
			out := filepath.Join(dir, head+"-codes.jsonl")
			cli(t, false, "predict", "--run", runDir, "--in", filepath.Join(dir, "dataset", "docs.jsonl"), "--out", out, "--top", "2")
		})
	}

	cls := withEmb("cls.toml", "cls", "run-cls", "")
	if msg := cli(t, true, "train", "-c", cls); !strings.Contains(msg, "code_embeddings") {
		t.Errorf("cls head with code embeddings: %q", msg)
	}
	if err := os.WriteFile(emb, []byte(`{"s": {"NOPE.1": [1, 2]}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if msg := cli(t, true, "train", "-c", withEmb("none.toml", "laat", "run-none", "")); !strings.Contains(msg, "none of the") || !strings.Contains(msg, "NOPE.1") {
		t.Errorf("no label matched: %q", msg)
	}
	if _, err := os.Stat(filepath.Join(dir, "run-none")); err == nil {
		t.Error("a refused run left its directory behind")
	}
}

// `icdcode test` tunes thresholds and a temperature on another split and
// warns when they are tuned on the split it evaluates.
func TestTestThresholdsAndTemperature(t *testing.T) {
	dir := demoDir(t)
	cfg := tinyConfig(t, dir, "cls.toml", "cls", "run-cls", "")
	cli(t, false, "train", "-c", cfg)
	metricsOf := func(split string) map[string]any {
		var m map[string]any
		if err := json.Unmarshal(readFile(t, filepath.Join(dir, "run-cls", "metrics-"+split+".json")), &m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	cli(t, false, "test", "-c", cfg, "--split", "test", "--threshold-mode", "global_dev", "--temperature")
	m := metricsOf("test")
	if m["threshold_mode"] != "global_dev" || m["temperature"] == nil || m["global_threshold"] == nil {
		t.Errorf("tuned test: threshold_mode %v, temperature %v, global_threshold %v", m["threshold_mode"], m["temperature"], m["global_threshold"])
	}
	if ws, _ := m["warnings"].([]any); strings.Contains(fmt.Sprint(ws), "optimistic") {
		t.Errorf("tuned on dev, evaluated on test, yet warned: %v", ws)
	}
	cli(t, false, "test", "-c", cfg, "--split", "dev", "--threshold-mode", "per_label_dev")
	if ws, _ := metricsOf("dev")["warnings"].([]any); !strings.Contains(fmt.Sprint(ws), "optimistic") {
		t.Errorf("tuned and evaluated on dev without a warning: %v", ws)
	}
	cli(t, false, "test", "-c", cfg, "--split", "dev", "--threshold-mode", "global_dev", "--tune-split", "train")
	if ws, _ := metricsOf("dev")["warnings"].([]any); strings.Contains(fmt.Sprint(ws), "optimistic") {
		t.Errorf("tuned on train, evaluated on dev, yet warned: %v", ws)
	}
	if msg := cli(t, true, "test", "-c", cfg, "--threshold-mode", "global_dev", "--tune-split", "test"); !strings.Contains(msg, "tune split") {
		t.Errorf("bad tune split: %q", msg)
	}
}
