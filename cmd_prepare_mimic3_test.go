package main

import (
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/icdcode/icdcode/data/dataset"
	"github.com/icdcode/icdcode/data/mimic3"
)

// TestPrepareMIMIC3Flags checks the command's flag handling on a small
// synthetic corpus: preset defaults, explicit overrides, a fixed label list,
// and refusals.
func TestPrepareMIMIC3Flags(t *testing.T) {
	dir := t.TempDir()
	syn, err := mimic3.GenerateSynthetic(filepath.Join(dir, "corpus"), mimic3.SynthOptions{NoteBytes: 6 << 20, Seed: 5})
	if err != nil {
		t.Fatal(err)
	}
	base := []string{"prepare", "mimic3", "--dir", syn.Dir, "--splits", syn.SplitsDir}
	prepare := func(args ...string) (int, string) {
		var stderr strings.Builder
		rc := run(append(append([]string(nil), base...), args...), io.Discard, &stderr)
		return rc, stderr.String()
	}

	// Preset full: all codes, raw text; --top and --text override it.
	out := filepath.Join(dir, "top5")
	if rc, msg := prepare("--preset", "full", "--top", "5", "--text", "keep", "--codes", "diagnoses", "--gzip", "--out", out); rc != 0 {
		t.Fatalf("rc %d: %s", rc, msg)
	}
	ds, err := dataset.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	m := ds.Manifest
	if len(ds.Labels) != 5 || m.Labels.Procedures != 0 || m.TextPolicy != "keep" || m.DocsFile != dataset.DocsFileGz {
		t.Errorf("labels %q, manifest %+v", ds.Labels, m)
	}
	if !strings.HasPrefix(m.Build.Command, "icdcode prepare mimic3 --dir ") || !strings.Contains(m.Build.Command, "--top 5") {
		t.Errorf("build.command %q", m.Build.Command)
	}

	// Preset clean's min count applies unless overridden.
	out = filepath.Join(dir, "clean")
	edin := filepath.Join(dir, "mimiciii_clean_splits.csv")
	var b strings.Builder
	b.WriteString("_id,split\n")
	for _, s := range []string{"train", "dev", "test"} {
		raw, _ := os.ReadFile(filepath.Join(syn.SplitsDir, s+"_full_hadm_ids.csv"))
		for _, id := range strings.Fields(string(raw)) {
			b.WriteString(id + "," + s + "\n")
		}
	}
	os.WriteFile(edin, []byte(b.String()), 0o644)
	base[5] = edin
	if rc, msg := prepare("--preset", "clean", "--out", out); rc != 0 {
		t.Fatalf("rc %d: %s", rc, msg)
	}
	ds, _ = dataset.Open(out)
	if ds.Manifest.TextPolicy != "clean" || !strings.Contains(ds.Manifest.Labels.Selection, "at least 10 documents") {
		t.Errorf("clean: %+v", ds.Manifest)
	}

	// A fixed list replaces the preset's top 50.
	base[5] = syn.SplitsDir
	labels := filepath.Join(dir, "labels.txt")
	os.WriteFile(labels, []byte(strings.Join(ds.Labels[:3], "\n")+"\n"), 0o644)
	out = filepath.Join(dir, "fixed")
	if rc, msg := prepare("--preset", "full", "--labels", labels, "--out", out); rc != 0 {
		t.Fatalf("rc %d: %s", rc, msg)
	}
	fixed, _ := dataset.Open(out)
	if !slices.Equal(fixed.Labels, ds.Labels[:3]) || !slices.Contains(fixed.Manifest.Build.Inputs, labels) {
		t.Errorf("fixed labels %q, inputs %q", fixed.Labels, fixed.Manifest.Build.Inputs)
	}

	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--preset", "full", "--labels", labels, "--top", "3", "--out", filepath.Join(dir, "x")}, "cannot be combined"},
		{[]string{"--preset", "100", "--out", filepath.Join(dir, "x")}, "unknown preset"},
		{[]string{"--preset", "full", "--text", "lower", "--out", filepath.Join(dir, "x")}, "unknown text policy"},
		{[]string{"--preset", "clean", "--out", filepath.Join(dir, "x")}, "no clean split"},
		{[]string{"--preset", "full"}, ""}, // usage goes to os.Stderr: only the status is checked
	} {
		rc, msg := prepare(c.args...)
		if rc == 0 || !strings.Contains(msg, c.want) {
			t.Errorf("%q: rc %d, stderr %q, want %q", c.args, rc, msg, c.want)
		}
		if _, err := os.Stat(filepath.Join(dir, "x")); err == nil {
			t.Errorf("%q left an output folder", c.args)
		}
	}
}
