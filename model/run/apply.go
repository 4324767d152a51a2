package run

import (
	"bufio"
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/icdcode/icdcode/data/dataset"
	"github.com/icdcode/icdcode/data/fileio"
	"github.com/icdcode/icdcode/model/classifier"
	"github.com/icdcode/icdcode/model/kernels"
	"github.com/icdcode/icdcode/quant/metrics"
)

// TestOptions select the checkpoint and split Test evaluates.
type TestOptions struct {
	// Checkpoint is "best" (default), "last" or a checkpoint folder.
	Checkpoint string
	// Split is "dev" or "test" (default).
	Split string
	// Threshold is the fixed decision threshold (0: 0.5) of ThresholdMode
	// "fixed" (default); "global_dev" and "per_label_dev" tune thresholds
	// for F1 on the predictions of TuneSplit.
	ThresholdMode metrics.ThresholdMode
	Threshold     float64
	// Temperature fits a temperature on TuneSplit and rescales the
	// probabilities with it before anything else (quant/metrics).
	Temperature bool
	// TuneSplit is the split the tuned thresholds and the temperature are
	// fitted on: "dev" (default) or "train". Tuning on the split that is
	// evaluated gives optimistic numbers; Test says so in the report's
	// warnings.
	TuneSplit string
	Log       io.Writer
}

// TestResult names Test's outputs.
type TestResult struct {
	Report      *metrics.Report
	Checkpoint  string
	Predictions string
	Metrics     string
}

// Open loads a trained run: its model and the weights of a checkpoint.
func Open(runDir, checkpoint string) (*Model, string, error) {
	m, err := LoadModel(runDir)
	if err != nil {
		return nil, "", err
	}
	ck, err := ResolveCheckpoint(runDir, checkpoint)
	if err != nil {
		return nil, "", err
	}
	if err := m.LoadCheckpoint(ck); err != nil {
		return nil, "", err
	}
	return m, ck, nil
}

// Test predicts every document of a split of the configured dataset with a
// trained run and writes RUN_DIR/predictions-SPLIT.jsonl and
// RUN_DIR/metrics-SPLIT.json (the quant/metrics report).
func Test(cfg *Config, opt TestOptions) (*TestResult, error) {
	split := cmp.Or(opt.Split, "test")
	if split != "dev" && split != "test" {
		return nil, fmt.Errorf("split %q, want dev or test", split)
	}
	logw := opt.Log
	if logw == nil {
		logw = io.Discard
	}
	ds, err := dataset.Open(cfg.Data.Dataset)
	if err != nil {
		return nil, fmt.Errorf("data.dataset in %s: %w", cfg.Path, err)
	}
	m, ck, err := Open(cfg.Run.Dir, opt.Checkpoint)
	if err != nil {
		return nil, err
	}
	if !slices.Equal(m.Labels, ds.Labels) {
		return nil, fmt.Errorf("run %s was trained on %d labels but dataset %s has %d (or another order): its probabilities would pair with the wrong codes", cfg.Run.Dir, len(m.Labels), ds.Dir, len(ds.Labels))
	}
	docs, err := ds.ReadSplit(split)
	if err != nil {
		return nil, err
	}
	if len(docs) == 0 {
		return nil, fmt.Errorf("dataset %s has no %s documents", ds.Dir, split)
	}
	ex, err := classifier.Prepare(m.Tokenizer, docs, m.Labels)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(logw, "predicting %d %s documents with %s\n", len(docs), split, ck)
	probs, err := m.predictAll(kernels.CPU[float32](), ex.IDs)
	if err != nil {
		return nil, err
	}
	mopt := metrics.Options{Mode: opt.ThresholdMode, Threshold: opt.Threshold, Temperature: opt.Temperature}
	tuneSplit := cmp.Or(opt.TuneSplit, "dev")
	if mopt.Mode != "" && mopt.Mode != metrics.FixedThreshold || mopt.Temperature {
		if tuneSplit != "dev" && tuneSplit != "train" {
			return nil, fmt.Errorf("tune split %q, want dev or train", tuneSplit)
		}
		tdocs, err := ds.ReadSplit(tuneSplit)
		if err != nil {
			return nil, err
		}
		if len(tdocs) == 0 {
			return nil, fmt.Errorf("dataset %s has no %s documents to tune thresholds or the temperature on", ds.Dir, tuneSplit)
		}
		tex, err := classifier.Prepare(m.Tokenizer, tdocs, m.Labels)
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(logw, "predicting %d %s documents to tune on\n", len(tdocs), tuneSplit)
		if mopt.DevProbs, err = m.predictAll(kernels.CPU[float32](), tex.IDs); err != nil {
			return nil, err
		}
		mopt.DevTargets = targets64(tex)
	}
	rep, err := metrics.Evaluate(probs, targets64(ex), mopt)
	if err != nil {
		return nil, err
	}
	if mopt.DevProbs != nil && tuneSplit == split {
		rep.Warnings = append(rep.Warnings, fmt.Sprintf("thresholds or temperature were tuned on the evaluated split (%s): the numbers are optimistic", split))
	}
	res := &TestResult{Report: rep, Checkpoint: ck,
		Predictions: filepath.Join(cfg.Run.Dir, "predictions-"+split+".jsonl"),
		Metrics:     filepath.Join(cfg.Run.Dir, "metrics-"+split+".json")}
	if err := fileio.WriteAtomic(res.Predictions, func(w io.Writer) error {
		e := json.NewEncoder(w)
		for i, d := range docs {
			if err := e.Encode(struct {
				ID    string    `json:"id"`
				Probs []float64 `json:"probs"`
			}{d.ID, probs[i]}); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		return nil, err
	}
	if err := fileio.WriteAtomic(res.Metrics, func(w io.Writer) error {
		e := json.NewEncoder(w)
		e.SetIndent("", "  ")
		return e.Encode(rep)
	}); err != nil {
		return nil, err
	}
	return res, nil
}

// Note is one text to code.
type Note struct {
	ID   string `json:"id"`
	Text string `json:"text"`
}

// ReadNotes reads notes from a JSONL file (optionally gzipped) of
// {"id", "text"} objects, or from a folder of .txt files (the id is the file
// name without .txt).
func ReadNotes(path string) ([]Note, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if fi.IsDir() {
		files, err := filepath.Glob(filepath.Join(path, "*.txt"))
		if err != nil {
			return nil, err
		}
		if len(files) == 0 {
			return nil, fmt.Errorf("%s: no .txt files", path)
		}
		slices.Sort(files)
		notes := make([]Note, len(files))
		for i, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				return nil, err
			}
			if strings.TrimSpace(string(b)) == "" {
				return nil, fmt.Errorf("%s: empty note", f)
			}
			notes[i] = Note{ID: strings.TrimSuffix(filepath.Base(f), ".txt"), Text: string(b)}
		}
		return notes, nil
	}
	r, err := fileio.Open(path)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	var notes []Note
	seen := map[string]bool{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<30)
	for line := 1; sc.Scan(); line++ {
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 {
			continue
		}
		// Other fields are ignored, so that a dataset's docs.jsonl (with
		// codes and split) can be coded as it is.
		var n Note
		if err := json.Unmarshal(b, &n); err != nil {
			return nil, fmt.Errorf("%s:%d: %w (want {\"id\": ..., \"text\": ...})", path, line, err)
		}
		switch {
		case n.ID == "":
			return nil, fmt.Errorf("%s:%d: missing id", path, line)
		case strings.TrimSpace(n.Text) == "":
			return nil, fmt.Errorf("%s:%d: missing or empty text", path, line)
		case seen[n.ID]:
			return nil, fmt.Errorf("%s:%d: duplicate id %q", path, line, n.ID)
		}
		seen[n.ID] = true
		notes = append(notes, n)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(notes) == 0 {
		return nil, fmt.Errorf("%s: no notes", path)
	}
	return notes, nil
}

// PredictOptions filter the codes Predict writes per note.
type PredictOptions struct {
	// Threshold keeps codes with probability ≥ Threshold.
	Threshold float64
	// Top, if positive, keeps at most the Top most probable codes.
	Top int
}

// Coded is one line of Predict's output.
type Coded struct {
	ID    string      `json:"id"`
	Codes []CodedItem `json:"codes"`
}

// CodedItem is a code and its probability.
type CodedItem struct {
	Code string  `json:"code"`
	Prob float64 `json:"prob"`
}

// Predict codes notes with a trained model and writes one Coded per line
// to out, atomically. Codes are sorted by falling probability.
func (m *Model) Predict(notes []Note, out string, opt PredictOptions) error {
	docs := make([]dataset.Doc, len(notes))
	for i, n := range notes {
		docs[i] = dataset.Doc{ID: n.ID, Text: n.Text}
	}
	ex, err := classifier.Prepare(m.Tokenizer, docs, m.Labels)
	if err != nil {
		return err
	}
	probs, err := m.predictAll(kernels.CPU[float32](), ex.IDs)
	if err != nil {
		return err
	}
	return fileio.WriteAtomic(out, func(w io.Writer) error {
		e := json.NewEncoder(w)
		for i, n := range notes {
			c := Coded{ID: n.ID, Codes: []CodedItem{}}
			for j, p := range probs[i] {
				if p >= opt.Threshold {
					c.Codes = append(c.Codes, CodedItem{m.Labels[j], p})
				}
			}
			slices.SortStableFunc(c.Codes, func(a, b CodedItem) int { return cmp.Compare(b.Prob, a.Prob) })
			if opt.Top > 0 && len(c.Codes) > opt.Top {
				c.Codes = c.Codes[:opt.Top]
			}
			if err := e.Encode(c); err != nil {
				return err
			}
		}
		return nil
	})
}
