package demo

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func readNotes(t *testing.T, path string) []Note {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var notes []Note
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var n Note
		if err := json.Unmarshal(sc.Bytes(), &n); err != nil {
			t.Fatal(err)
		}
		notes = append(notes, n)
	}
	return notes
}

func TestCorpus(t *testing.T) {
	dir := t.TempDir()
	files, err := Write(dir, DefaultOptions)
	if err != nil {
		t.Fatal(err)
	}
	notes := readNotes(t, files.Notes)
	if len(notes) != DefaultOptions.Docs {
		t.Fatalf("%d notes", len(notes))
	}
	splits := map[string]int{}
	used := map[string]int{}
	phrases := map[string][]string{}
	for _, c := range codes {
		phrases[c.code] = c.phrases
	}
	for _, n := range notes {
		splits[n.Split]++
		all := append(append([]string{}, n.Diagnoses...), n.Procedures...)
		if len(all) == 0 {
			t.Fatalf("%s has no code", n.ID)
		}
		for _, code := range all {
			used[code]++
			// The wording signals every code: one of its phrases is in the text.
			found := false
			for _, p := range phrases[code] {
				if strings.Contains(strings.ToLower(n.Text), strings.ToLower(p)) {
					found = true
				}
			}
			if !found {
				t.Fatalf("%s: code %s has no phrase in the text", n.ID, code)
			}
		}
	}
	if splits["train"] != 630 || splits["dev"] != 135 || splits["test"] != 135 {
		t.Errorf("splits: %v", splits)
	}
	if len(used) != len(codes) {
		t.Errorf("%d of %d codes used", len(used), len(codes))
	}

	// Same seed, same corpus; another seed, another one.
	again, _ := Write(filepath.Join(dir, "again"), DefaultOptions)
	a, _ := os.ReadFile(files.Notes)
	b, _ := os.ReadFile(again.Notes)
	if string(a) != string(b) {
		t.Error("same seed gave a different corpus")
	}
	o := DefaultOptions
	o.Seed = 2
	other, _ := Write(filepath.Join(dir, "other"), o)
	c, _ := os.ReadFile(other.Notes)
	if string(a) == string(c) {
		t.Error("another seed gave the same corpus")
	}
	if _, err := Write(dir, Options{Docs: 5}); err == nil {
		t.Error("too small a corpus accepted")
	}
}
