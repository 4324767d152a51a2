package probs

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReadFile(t *testing.T) {
	labels := []string{"A", "B"}
	dir := t.TempDir()
	read := func(text string) ([]string, [][]float64, error) {
		path := filepath.Join(dir, "p.jsonl")
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return ReadFile(path, labels)
	}
	// No final newline, an id that contains a non-finite word: both fine.
	ids, rows, err := read(`{"id":"NaN-Infinity","probs":[0,1]}` + "\n" + `{"id":"x","probs":[0.25,0.5]}`)
	if err != nil || len(ids) != 2 || ids[0] != "NaN-Infinity" || rows[1][1] != 0.5 {
		t.Fatalf("%v %v %v", ids, rows, err)
	}
	for text, want := range map[string]string{
		`{"id":"a","probs":[0.1,Infinity]}`:     "line 1: id \"a\": label column 1 (B): probability +Inf",
		`{"id":"a","probs":[-Infinity,0]}`:      "label column 0 (A): probability -Inf",
		`{"id":"a","probs":[0.1,0.2]}` + "\n\n": "line 2: empty line",
		`{"probs":[0.1,0.2]}`:                   `missing or empty "id"`,
		`{"id":"a","probs":[0.1,"x"]}`:          `label column 1 (B): "x" is not a number`,
		`{"id":"a","probs":[0.1,0.2]`:           "line 1: invalid JSON",
		`{"id":"a","probs":[0.1,-0.2]}`:         "label column 1 (B): probability -0.2, want a number in [0,1]",
		`{"id":"a","probs":[0.1]}`:              "1 values, want 2",
		`{"id":"a","probs":[0.1,"0.2"]}`:        `label column 1 (B): "0.2" is not a number`,
		"":                                      "no predictions",
		`{"id":"a","probs":[0,0]}` + "\n" + `{"id":"a","probs":[0,0]}`: `line 2: id "a" already on line 1`,
	} {
		if _, _, err := read(text); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: error %v, want %q", text, err, want)
		}
	}
}
