// Package probs reads the probability files that `icdcode test` writes,
// RUN_DIR/predictions-SPLIT.jsonl: one JSON object a line,
// {"id": "...", "probs": [p_0, ..., p_{L-1}]}, the probabilities in the order
// of RUN_DIR/labels.txt.
//
// Every consumer (quantification, reports) pairs these rows with a dataset's
// targets, so Read checks everything that would otherwise pair a probability
// with the wrong code or document: the run's label list must equal the
// dataset's, each id must be a document of the split, appear once, and all
// documents of the split must be present; each row has one finite value in
// [0,1] per label. Errors name the file, the line and, for values, the label
// column (0-based) and its code.
package probs

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"

	"github.com/icdcode/icdcode/data/dataset"
)

// LabelsFile is the run's label list, in the column order of the files.
const LabelsFile = "labels.txt"

// Path is the predictions file of split inside runDir.
func Path(runDir, split string) string {
	return filepath.Join(runDir, "predictions-"+split+".jsonl")
}

// Split is a probability file aligned with its dataset split: row i of Probs
// and Targets belongs to document IDs[i] (file order).
type Split struct {
	Path    string
	Split   string
	Labels  []string
	IDs     []string
	Probs   [][]float64 // documents × labels, in [0,1]
	Targets [][]float64 // documents × labels, 0/1
}

// Read reads runDir/predictions-SPLIT.jsonl against the split of ds.
func Read(runDir string, ds *dataset.Dataset, split string) (*Split, error) {
	labelsPath := filepath.Join(runDir, LabelsFile)
	labels, err := dataset.ReadLabels(labelsPath)
	if err != nil {
		return nil, err
	}
	if !slices.Equal(labels, ds.Labels) {
		return nil, labelMismatch(labelsPath, labels, ds)
	}
	path := Path(runDir, split)
	ids, p, err := ReadFile(path, labels)
	if err != nil {
		return nil, err
	}
	// Targets per id from the dataset; the dataset reader already guarantees
	// unique ids and codes inside the label space.
	want := map[string][]string{}
	var order []string
	for d, err := range ds.Docs(split) {
		if err != nil {
			return nil, err
		}
		want[d.ID] = d.Codes
		order = append(order, d.ID)
	}
	if len(want) == 0 {
		return nil, fmt.Errorf("dataset %s has no %s documents to pair with %s", ds.Dir, split, path)
	}
	targets := make([][]float64, len(ids))
	for i, id := range ids {
		codes, ok := want[id]
		if !ok {
			return nil, fmt.Errorf("%s: line %d: id %q is not a %s document of dataset %s", path, i+1, id, split, ds.Dir)
		}
		row := make([]float64, len(labels))
		for _, c := range codes {
			if j := ds.LabelIndex(c); j >= 0 {
				row[j] = 1
			}
		}
		targets[i] = row
	}
	if len(ids) != len(want) {
		seen := make(map[string]bool, len(ids))
		for _, id := range ids {
			seen[id] = true
		}
		for _, id := range order {
			if !seen[id] {
				return nil, fmt.Errorf("%s: %d of the %d %s documents of dataset %s have no line, the first is %q",
					path, len(want)-len(ids), len(want), split, ds.Dir, id)
			}
		}
	}
	return &Split{Path: path, Split: split, Labels: labels, IDs: ids, Probs: p, Targets: targets}, nil
}

// labelMismatch says how the run's labels differ from the dataset's.
func labelMismatch(path string, run []string, ds *dataset.Dataset) error {
	if len(run) != len(ds.Labels) {
		return fmt.Errorf("%s lists %d labels but dataset %s has %d: the probabilities belong to another label space", path, len(run), ds.Dir, len(ds.Labels))
	}
	for i := range run {
		if run[i] != ds.Labels[i] {
			return fmt.Errorf("%s: line %d: label %q, but dataset %s has %q in that position: the probability columns would pair with the wrong codes", path, i+1, run[i], ds.Dir, ds.Labels[i])
		}
	}
	return nil
}

// ReadFile reads a predictions file whose columns are labels, without a
// dataset: ids must be non-empty and unique, rows len(labels) wide with
// values in [0,1]. The ids and rows come back in file order.
func ReadFile(path string, labels []string) (ids []string, rows [][]float64, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	// Lines can be long (one number per label, thousands of labels), so read
	// whole lines rather than use a Scanner with a fixed limit.
	r := bufio.NewReaderSize(f, 1<<20)
	seen := map[string]int{}
	for line := 1; ; line++ {
		b, rerr := r.ReadBytes('\n')
		if rerr != nil && rerr != io.EOF {
			return nil, nil, fmt.Errorf("%s: line %d: %w", path, line, rerr)
		}
		if len(bytes.TrimSpace(b)) == 0 {
			if rerr == io.EOF {
				break
			}
			return nil, nil, fmt.Errorf("%s: line %d: empty line", path, line)
		}
		id, row, perr := parseLine(b, labels)
		if perr != nil {
			return nil, nil, fmt.Errorf("%s: line %d: %w", path, line, perr)
		}
		if prev, dup := seen[id]; dup {
			return nil, nil, fmt.Errorf("%s: line %d: id %q already on line %d", path, line, id, prev)
		}
		seen[id] = line
		ids, rows = append(ids, id), append(rows, row)
		if rerr == io.EOF {
			break
		}
	}
	if len(ids) == 0 {
		return nil, nil, fmt.Errorf("%s: no predictions", path)
	}
	return ids, rows, nil
}

type line struct {
	ID    *string   `json:"id"`
	Probs []float64 `json:"probs"`
}

type rawLine struct {
	ID    *string           `json:"id"`
	Probs []json.RawMessage `json:"probs"`
}

// parseLine decodes one line. The fast path decodes straight to float64;
// when that fails the line is decoded again value by value so the error can
// name the label column. Python's json writes NaN and ±Infinity as bare
// words, which are not JSON; they are quoted first so that such a file is
// reported as "NaN in column j" rather than as a syntax error.
func parseLine(b []byte, labels []string) (string, []float64, error) {
	var l line
	if err := json.Unmarshal(b, &l); err == nil {
		if l.ID == nil || *l.ID == "" {
			return "", nil, errors.New(`missing or empty "id"`)
		}
		if err := checkRow(l.Probs, labels); err != nil {
			return "", nil, fmt.Errorf("id %q: %w", *l.ID, err)
		}
		return *l.ID, l.Probs, nil
	}
	var rl rawLine
	if err := json.Unmarshal(quoteNonFinite(b), &rl); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return "", nil, fmt.Errorf("invalid JSON at byte %d: %v", se.Offset, err)
		}
		return "", nil, fmt.Errorf("invalid line: %v", err)
	}
	if rl.ID == nil || *rl.ID == "" {
		return "", nil, errors.New(`missing or empty "id"`)
	}
	row := make([]float64, len(rl.Probs))
	for j, v := range rl.Probs {
		s := string(v)
		uq, uerr := strconv.Unquote(s)
		quoted := uerr == nil
		if quoted {
			s = uq
		}
		x, err := strconv.ParseFloat(s, 64)
		// A quoted value is only expected for the non-finite words quoted
		// above; a number written as a string is a malformed file.
		if err != nil || (quoted && !math.IsNaN(x) && !math.IsInf(x, 0)) {
			return "", nil, fmt.Errorf("id %q: %s: %s is not a number", *rl.ID, column(j, labels), v)
		}
		row[j] = x
	}
	if err := checkRow(row, labels); err != nil {
		return "", nil, fmt.Errorf("id %q: %w", *rl.ID, err)
	}
	// The fast path failed, so something in the line is not plain JSON
	// numbers; every such case is an error above.
	return "", nil, errors.New("invalid line")
}

func checkRow(row []float64, labels []string) error {
	if len(row) != len(labels) {
		return fmt.Errorf(`"probs" has %d values, want %d (one per label of labels.txt)`, len(row), len(labels))
	}
	for j, p := range row {
		if math.IsNaN(p) || p < 0 || p > 1 {
			return fmt.Errorf("%s: probability %v, want a number in [0,1]", column(j, labels), p)
		}
	}
	return nil
}

func column(j int, labels []string) string {
	if j < len(labels) {
		return fmt.Sprintf("label column %d (%s)", j, labels[j])
	}
	return fmt.Sprintf("label column %d", j)
}

// quoteNonFinite quotes the bare words NaN, Infinity and -Infinity outside
// JSON strings.
func quoteNonFinite(b []byte) []byte {
	if !bytes.Contains(b, []byte("NaN")) && !bytes.Contains(b, []byte("Infinity")) {
		return b
	}
	out := make([]byte, 0, len(b)+16)
	inStr, esc := false, false
	for i := 0; i < len(b); i++ {
		c := b[i]
		if inStr {
			out = append(out, c)
			switch {
			case esc:
				esc = false
			case c == '\\':
				esc = true
			case c == '"':
				inStr = false
			}
			continue
		}
		if c == '"' {
			inStr = true
			out = append(out, c)
			continue
		}
		matched := false
		for _, w := range []string{"NaN", "-Infinity", "Infinity"} {
			if bytes.HasPrefix(b[i:], []byte(w)) {
				out = append(out, '"')
				out = append(out, w...)
				out = append(out, '"')
				i += len(w) - 1
				matched = true
				break
			}
		}
		if !matched {
			out = append(out, c)
		}
	}
	return out
}
