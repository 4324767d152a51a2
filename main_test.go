package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/icdcode/icdcode/data/dataset"
	"github.com/icdcode/icdcode/data/synonyms"
)

func TestHelpForEveryCommand(t *testing.T) {
	for _, c := range commands {
		var out, errOut bytes.Buffer
		args := append(strings.Fields(c.name), "--help")
		// flag prints usage to the flag set's output (stderr); only the exit code matters here.
		if code := run(args, &out, &errOut); code != 0 {
			t.Errorf("icdcode %s --help: exit %d", c.name, code)
		}
	}
	var out, errOut bytes.Buffer
	if code := run([]string{"frobnicate"}, &out, &errOut); code != 2 || !strings.Contains(errOut.String(), "unknown command") {
		t.Errorf("unknown command: exit %d, %q", code, errOut.String())
	}
	if code := run([]string{"prepare", "codiesp", "--no-such-flag"}, &out, &errOut); code != 1 {
		t.Errorf("unknown flag: exit %d", code)
	}
	if code := run([]string{"prepare", "codiesp", "--dir", "x", "--out", "y", "stray"}, &out, &errOut); code != 1 {
		t.Errorf("stray argument: exit %d", code)
	}
}

// The README's first command, end to end.
func TestDemo(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "demo")
	var out, errOut bytes.Buffer
	if code := run([]string{"demo", "--out", dir, "--docs", "200"}, &out, &errOut); code != 0 {
		t.Fatalf("demo: exit %d: %s", code, errOut.String())
	}
	ds, err := dataset.Open(filepath.Join(dir, "dataset"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ds.Verify(); err != nil {
		t.Fatal(err)
	}
	sel, err := synonyms.ReadSelections(filepath.Join(dir, "synonyms.jsonl"), ds.Labels, 4)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range sel {
		if !s.Optimal || s.Distinct != 4 {
			t.Errorf("%s: %+v", s.Code, s)
		}
	}
	// Running it again replaces its own outputs.
	if code := run([]string{"demo", "--out", dir, "--docs", "200"}, &out, &errOut); code != 0 {
		t.Fatalf("second demo run: exit %d: %s", code, errOut.String())
	}
	if _, err := os.Stat(filepath.Join(dir, "dataset", dataset.ManifestFile)); err != nil {
		t.Fatal(err)
	}
}
