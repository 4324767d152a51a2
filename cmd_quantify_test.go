package main

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/icdcode/icdcode/data/dataset"
	"github.com/icdcode/icdcode/quant/metrics"
	"github.com/icdcode/icdcode/quant/quantify"
	"github.com/icdcode/icdcode/quant/quantrun"
)

var quantLabels = []string{"I10", "I50.9", "E11.9", "N18.3", "J44.9", "0BH17EZ"}

// quantFixture writes a small dataset and a fake run folder (labels.txt,
// predictions for dev and test, metrics-test.json) as `icdcode test` would,
// with probabilities that are informative but noisy so every quantifier has
// something to do. It returns the temp folder.
func quantFixture(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	w, err := dataset.NewWriter(filepath.Join(dir, "dataset"), quantLabels, false)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	prev := []float64{0.5, 0.3, 0.2, 0.1, 0.4, 0.05}
	type row struct {
		id    string
		probs []float64
		y     []float64
	}
	rows := map[string][]row{}
	for _, split := range []string{"train", "dev", "test"} {
		n := map[string]int{"train": 10, "dev": 80, "test": 60}[split]
		for i := range n {
			id := fmt.Sprintf("%s-%03d", split, i)
			var codes []string
			r := row{id: id, probs: make([]float64, len(quantLabels)), y: make([]float64, len(quantLabels))}
			for j, c := range quantLabels {
				z := -1.5 + rng.NormFloat64()
				if rng.Float64() < prev[j] {
					codes = append(codes, c)
					r.y[j] = 1
					z = 1.5 + rng.NormFloat64()
				}
				r.probs[j] = 1 / (1 + math.Exp(-z))
			}
			if err := w.Write(dataset.Doc{ID: id, Text: "note " + id, Codes: codes, Split: split}); err != nil {
				t.Fatal(err)
			}
			rows[split] = append(rows[split], r)
		}
	}
	if err := w.Commit(dataset.Manifest{Name: "quant", Source: "test", CodeSystem: "icd10", TextPolicy: "keep"}); err != nil {
		t.Fatal(err)
	}
	runDir := filepath.Join(dir, "run")
	if err := os.MkdirAll(runDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := dataset.WriteLabels(filepath.Join(runDir, "labels.txt"), quantLabels); err != nil {
		t.Fatal(err)
	}
	for _, split := range []string{"dev", "test"} {
		var b strings.Builder
		var p, y [][]float64
		for _, r := range rows[split] {
			line, _ := json.Marshal(map[string]any{"id": r.id, "probs": r.probs})
			b.Write(line)
			b.WriteByte('\n')
			p, y = append(p, r.probs), append(y, r.y)
		}
		writeFile(t, filepath.Join(runDir, "predictions-"+split+".jsonl"), b.String())
		rep, err := metrics.Evaluate(p, y, metrics.Options{})
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := json.Marshal(rep)
		writeFile(t, filepath.Join(runDir, "metrics-"+split+".json"), string(raw))
	}
	return dir
}

func writeFile(t *testing.T, path, text string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

// quantConfig writes a config with few bags and epochs so training is quick.
func quantConfig(t *testing.T, dir, name, runDir, extra string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	writeFile(t, path, `run_dir = "`+runDir+`"
dataset = "dataset"
`+extra+`
[bags]
train_count = 300
test_count = 40
max_size = 40

[mlp]
hidden = 8
lr = 1e-2
epochs = 40
patience = 5
`)
	return path
}

func TestQuantifyAndReport(t *testing.T) {
	dir := quantFixture(t)
	cfg := quantConfig(t, dir, "quant.toml", "run", "")
	cli(t, false, "quantify", "train", "-c", cfg)
	qdir := filepath.Join(dir, "run", "quant")
	for _, f := range []string{"standard.json", "mlp.json", "train.json"} {
		if _, err := os.Stat(filepath.Join(qdir, f)); err != nil {
			t.Fatal(err)
		}
	}
	cli(t, false, "quantify", "test", "-c", cfg)
	var table quantify.Table
	raw, err := os.ReadFile(filepath.Join(qdir, "quantification-test.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &table); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, r := range table.Rows {
		names = append(names, r.Quantifier)
		if !(r.AE >= 0 && r.AE <= 1) || math.IsNaN(r.KLD) {
			t.Errorf("%s: implausible scores %+v", r.Quantifier, r.BagScore)
		}
	}
	if got := strings.Join(names, ","); got != "Constant,CC,PCC,ACC,PACC,MLP" || table.Bags != 40 || table.Labels != len(quantLabels) {
		t.Errorf("table: %s, %d bags, %d labels", got, table.Bags, table.Labels)
	}
	// --split dev quantifies on dev bags, drawn from another seed than training.
	cli(t, false, "quantify", "test", "-c", cfg, "--split", "dev")
	if _, err := os.Stat(filepath.Join(qdir, "quantification-dev.json")); err != nil {
		t.Error(err)
	}

	runDir := filepath.Join(dir, "run")
	cli(t, false, "report", runDir)
	md, err := os.ReadFile(filepath.Join(runDir, "report", "report.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"(test split)", "## Metrics", "micro F1", "most frequent labels", "| I10 |",
		"## Calibration", "ECE pooled", "Brier", "reliability.svg", "## Quantification", "| MLP |"} {
		if !strings.Contains(string(md), want) {
			t.Errorf("report.md lacks %q:\n%s", want, md)
		}
	}
	// I10 (prevalence 0.5) must come before 0BH17EZ (0.05) in the frequency table.
	if i, j := strings.Index(string(md), "| I10 |"), strings.Index(string(md), "| 0BH17EZ |"); j >= 0 && i > j {
		t.Error("per-label table not sorted by frequency")
	}
	svg, err := os.ReadFile(filepath.Join(runDir, "report", "reliability.svg"))
	if err != nil || !strings.Contains(string(svg), "<svg") {
		t.Errorf("reliability.svg: %v", err)
	}
	cli(t, false, "report", "--split", "dev", runDir)
	if md, _ := os.ReadFile(filepath.Join(runDir, "report", "report.md")); !strings.Contains(string(md), "(dev split)") {
		t.Error("report --split dev did not report dev")
	}
	if msg := cli(t, true, "report", filepath.Join(dir, "nowhere")); !strings.Contains(msg, "metrics-dev.json") {
		t.Errorf("missing run: %q", msg)
	}
}

func TestShippedQuantConfig(t *testing.T) {
	cfg, err := quantrun.LoadConfig(filepath.Join("configs", "quant.toml"))
	if err != nil {
		t.Fatal(err)
	}
	d := quantrun.Defaults()
	if cfg.Bags != d.Bags || cfg.MLP != d.MLP || cfg.Threshold != d.Threshold {
		t.Errorf("configs/quant.toml drifted from the defaults: %+v", cfg)
	}
	if cfg.OutDir != filepath.Join(cfg.RunDir, "quant") {
		t.Errorf("out_dir %q", cfg.OutDir)
	}
}

func TestQuantifyBadInputs(t *testing.T) {
	dir := quantFixture(t)
	src := filepath.Join(dir, "run")
	// badRun copies the fake run and rewrites one of its files.
	badRun := func(name, file string, edit func(string) string) string {
		t.Helper()
		dst := filepath.Join(dir, name)
		if err := os.MkdirAll(dst, 0o755); err != nil {
			t.Fatal(err)
		}
		for _, f := range []string{"labels.txt", "predictions-dev.jsonl", "predictions-test.jsonl"} {
			raw, err := os.ReadFile(filepath.Join(src, f))
			if err != nil {
				t.Fatal(err)
			}
			text := string(raw)
			if f == file {
				text = edit(text)
			}
			writeFile(t, filepath.Join(dst, f), text)
		}
		return quantConfig(t, dir, name+".toml", name, "")
	}
	replaceLine := func(n int, with func(string) string) func(string) string {
		return func(s string) string {
			lines := strings.Split(s, "\n")
			lines[n-1] = with(lines[n-1])
			return strings.Join(lines, "\n")
		}
	}
	cases := []struct {
		name, cfg string
		want      []string
	}{
		{"unknown key", quantConfig(t, dir, "typo.toml", "run", "thresold = 0.4\n[extra]\nx = 1\n"),
			[]string{"typo.toml", "unknown key", "thresold", "extra"}},
		{"unknown mlp key", quantConfig(t, dir, "typo2.toml", "run", "[mlp.x]\ny = 1\n"),
			[]string{"typo2.toml", "mlp.x"}},
		{"label mismatch", badRun("swapped", "labels.txt", func(s string) string {
			return strings.Replace(s, "I50.9", "I50.1", 1)
		}), []string{"labels.txt", "line 2", `"I50.1"`, `"I50.9"`}},
		{"fewer labels", badRun("fewer", "labels.txt", func(s string) string {
			return strings.Replace(s, "0BH17EZ\n", "", 1)
		}), []string{"labels.txt", "5 labels", "has 6"}},
		{"NaN", badRun("nan", "predictions-dev.jsonl", replaceLine(3, func(l string) string {
			var v struct {
				ID    string    `json:"id"`
				Probs []float64 `json:"probs"`
			}
			json.Unmarshal([]byte(l), &v)
			parts := make([]string, len(v.Probs))
			for j, p := range v.Probs {
				parts[j] = fmt.Sprint(p)
			}
			parts[2] = "NaN"
			return `{"id": "` + v.ID + `", "probs": [` + strings.Join(parts, ", ") + `]}`
		})), []string{"predictions-dev.jsonl", "line 3", "label column 2 (E11.9)", "NaN"}},
		{"out of range", badRun("range", "predictions-dev.jsonl", replaceLine(5, func(l string) string {
			i := strings.Index(l, "[")
			return l[:i+1] + "1.5" + l[i+strings.Index(l[i:], ","):]
		})), []string{"predictions-dev.jsonl", "line 5", "label column 0 (I10)", "1.5"}},
		{"unknown id", badRun("unknown", "predictions-dev.jsonl", replaceLine(4, func(l string) string {
			return strings.Replace(l, "dev-003", "test-003", 1)
		})), []string{"predictions-dev.jsonl", "line 4", `"test-003"`, "not a dev document"}},
		{"duplicate id", badRun("dup", "predictions-dev.jsonl", replaceLine(4, func(l string) string {
			return strings.Replace(l, "dev-003", "dev-001", 1)
		})), []string{"predictions-dev.jsonl", "line 4", `"dev-001"`, "line 2"}},
		{"missing doc", badRun("missing", "predictions-dev.jsonl", func(s string) string {
			lines := strings.SplitAfter(s, "\n")
			return strings.Join(append(lines[:6:6], lines[7:]...), "")
		}), []string{"predictions-dev.jsonl", "1 of the 80", `"dev-006"`}},
		{"short row", badRun("short", "predictions-dev.jsonl", replaceLine(1, func(l string) string {
			return strings.Replace(l, "[", "[0.5,", 1)
		})), []string{"predictions-dev.jsonl", "line 1", "7 values, want 6"}},
	}
	for _, c := range cases {
		msg := cli(t, true, "quantify", "train", "-c", c.cfg)
		for _, w := range c.want {
			if !strings.Contains(msg, w) {
				t.Errorf("%s: error %q lacks %q", c.name, msg, w)
			}
		}
	}
	// quantify test before train says what to run.
	if msg := cli(t, true, "quantify", "test", "-c", quantConfig(t, dir, "fresh.toml", "run", "")); !strings.Contains(msg, "quantify train") {
		t.Errorf("test before train: %q", msg)
	}
}
