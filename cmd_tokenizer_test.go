package main

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/icdcode/icdcode/data/shareddata"
	"github.com/icdcode/icdcode/model/tokenizer"
)

func TestTokenizerTrainText(t *testing.T) {
	dir := t.TempDir()
	text := filepath.Join(dir, "corpus.txt")
	lines := "Chronic kidney disease, stage 3.\n\nHypertensive heart disease with heart failure.\r\nAcute kidney failure.\n"
	if err := os.WriteFile(text, []byte(strings.Repeat(lines, 20)), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, kind := range []string{"wordpiece", "bpe"} {
		out := filepath.Join(dir, kind)
		var o, e bytes.Buffer
		if code := run([]string{"tokenizer", "train", "--text", text, "--kind", kind, "--vocab-size", "400", "--out", out}, &o, &e); code != 0 {
			t.Fatalf("%s: exit %d: %s", kind, code, e.String())
		}
		tk, err := tokenizer.Load(out)
		if err != nil {
			t.Fatal(err)
		}
		ids, err := tk.Encode("chronic heart failure")
		if err != nil {
			t.Fatal(err)
		}
		if slices.Contains(ids, tk.Special().UNK) || string(tk.Kind()) != kind {
			t.Fatalf("%s: ids %v", kind, ids)
		}
	}
	var o, e bytes.Buffer
	for _, args := range [][]string{
		{"tokenizer", "train", "--out", dir},
		{"tokenizer", "train", "--text", text, "--kind", "unigram", "--out", dir},
		{"tokenizer", "train", "--text", filepath.Join(dir, "missing.txt"), "--out", filepath.Join(dir, "x")},
		{"tokenizer", "train", "--text", text, "--dataset", dir, "--out", dir},
	} {
		if code := run(args, &o, &e); code != 1 {
			t.Errorf("%v: exit %d", args, code)
		}
	}
}

func TestTokenizerTrainDataset(t *testing.T) {
	src := shareddata.Path(t, "codiesp")
	dir := t.TempDir()
	ds := filepath.Join(dir, "ds")
	var o, e bytes.Buffer
	if code := run([]string{"prepare", "codiesp", "--dir", src, "--out", ds}, &o, &e); code != 0 {
		t.Skipf("prepare codiesp: exit %d: %s", code, e.String())
	}
	out := filepath.Join(dir, "tok")
	if code := run([]string{"tokenizer", "train", "--dataset", ds, "--vocab-size", "5000", "--out", out}, &o, &e); code != 0 {
		t.Fatalf("exit %d: %s", code, e.String())
	}
	tk, err := tokenizer.Load(out)
	if err != nil {
		t.Fatal(err)
	}
	if tk.VocabSize() != 5000 || tk.Special().CLS != 2 {
		t.Fatalf("vocab %d special %+v", tk.VocabSize(), tk.Special())
	}
}
