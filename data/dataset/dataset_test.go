package dataset

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeSample(t *testing.T, dir string, gz bool) {
	t.Helper()
	w, err := NewWriter(dir, []string{"I10", "I50.9", "0BH17EZ"}, gz)
	if err != nil {
		t.Fatal(err)
	}
	docs := []Doc{
		{ID: "a", Text: "hypertension and heart failure", Codes: []string{"I50.9", "I10", "I50.9"}, Split: "train"},
		{ID: "b", Text: "intubated", Codes: []string{"0BH17EZ"}, Split: "dev", Meta: map[string]string{"subject_id": "7"}},
		{ID: "c", Text: "no codes here", Split: "test"},
	}
	for _, d := range docs {
		if err := w.Write(d); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Commit(Manifest{Name: "sample", Source: "test", CodeSystem: "icd10", TextPolicy: "keep"}); err != nil {
		t.Fatal(err)
	}
}

func TestRoundTrip(t *testing.T) {
	for _, gz := range []bool{false, true} {
		dir := filepath.Join(t.TempDir(), "ds")
		writeSample(t, dir, gz)
		ds, err := Open(dir)
		if err != nil {
			t.Fatal(err)
		}
		m := ds.Manifest
		if m.Documents != 3 || m.Counts["train"] != 1 || m.Counts["dev"] != 1 || m.Counts["test"] != 1 || m.Labels.Count != 3 || m.Labels.CodeAssignments != 3 {
			t.Fatalf("manifest counts wrong: %+v", m)
		}
		var got []Doc
		for d, err := range ds.Docs() {
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, d)
		}
		if len(got) != 3 || strings.Join(got[0].Codes, ",") != "I10,I50.9" || got[1].Meta["subject_id"] != "7" {
			t.Fatalf("documents read back wrong: %+v", got)
		}
		n := 0
		for d, err := range ds.Docs("dev") {
			if err != nil || d.ID != "b" {
				t.Fatalf("split filter: %+v %v", d, err)
			}
			n++
		}
		if n != 1 {
			t.Fatalf("dev split: %d documents", n)
		}
		if dev, err := ds.ReadSplit("dev"); err != nil || len(dev) != 1 || dev[0].ID != "b" {
			t.Fatalf("ReadSplit(dev): %+v %v", dev, err)
		}
		if ds.LabelIndex("0BH17EZ") != 2 || ds.LabelIndex("X") != -1 {
			t.Fatal("LabelIndex")
		}
	}
}

func TestWriterRejectsBadDocuments(t *testing.T) {
	w, err := NewWriter(filepath.Join(t.TempDir(), "ds"), []string{"I10"}, false)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Abort()
	bad := map[string]Doc{
		"empty id":      {Text: "x", Split: "train"},
		"unknown split": {ID: "1", Text: "x", Split: "val"},
		"empty text":    {ID: "2", Text: "  \n", Split: "train"},
		"unknown code":  {ID: "3", Text: "x", Split: "train", Codes: []string{"I11"}},
		"bad utf8":      {ID: "4", Text: "x\xff", Split: "train"},
	}
	for name, d := range bad {
		if err := w.Write(d); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if err := w.Write(Doc{ID: "5", Text: "x", Split: "train"}); err != nil {
		t.Fatal(err)
	}
	if err := w.Write(Doc{ID: "5", Text: "y", Split: "dev"}); err == nil || !strings.Contains(err.Error(), "duplicate id") {
		t.Errorf("duplicate id: %v", err)
	}
}

func TestAbortLeavesNothing(t *testing.T) {
	parent := t.TempDir()
	dir := filepath.Join(parent, "ds")
	w, err := NewWriter(dir, []string{"I10"}, false)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(Doc{ID: "1", Text: "x", Split: "train"}); err != nil {
		t.Fatal(err)
	}
	w.Abort()
	entries, _ := os.ReadDir(parent)
	if len(entries) != 0 {
		t.Fatalf("abort left %d entries behind", len(entries))
	}
}

func TestReplaceOnlyDatasets(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "ds")
	writeSample(t, dir, false)
	writeSample(t, dir, true) // replaces the older dataset
	if _, err := os.Stat(filepath.Join(dir, DocsFile)); !os.IsNotExist(err) {
		t.Fatal("old docs file survived the replacement")
	}
	other := t.TempDir()
	os.WriteFile(filepath.Join(other, "notes.txt"), []byte("mine"), 0o644)
	if _, err := NewWriter(other, []string{"I10"}, false); err == nil {
		t.Fatal("writer accepted a non-dataset folder as output")
	}
}

// corrupt rewrites the documents file of a fresh sample dataset.
func corrupt(t *testing.T, content string) *Dataset {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "ds")
	writeSample(t, dir, false)
	if err := os.WriteFile(filepath.Join(dir, DocsFile), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	ds, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

func TestReaderErrorsNameLineAndField(t *testing.T) {
	good := `{"id":"a","text":"t","codes":["I10"],"split":"train"}` + "\n"
	cases := map[string]struct{ content, want string }{
		"unknown field": {good + `{"id":"b","text":"t","codes":[],"split":"train","labels":[]}`, `line 2: malformed JSON: json: unknown field "labels"`},
		"wrong type":    {`{"id":"a","text":"t","codes":"I10","split":"train"}`, "line 1: field codes: string"},
		"duplicate id":  {good + good, `line 2: field id: "a" repeats line 1`},
		"bad split":     {`{"id":"a","text":"t","codes":[],"split":"val"}`, "line 1: field split"},
		"bad code":      {`{"id":"a","text":"t","codes":["Z99"],"split":"train"}`, `line 1: field codes: "Z99"`},
		"empty text":    {`{"id":"a","text":"","codes":[],"split":"train"}`, "line 1: field text: empty"},
		"invalid utf8":  {good + "{\"id\":\"\xff\"}\n", "line 2: invalid UTF-8"},
		"truncated":     {`{"id":"a","text":"t"`, "line 1: malformed JSON"},
	}
	for name, c := range cases {
		ds := corrupt(t, c.content)
		var last error
		for _, err := range ds.Docs() {
			last = err
		}
		if last == nil || !strings.Contains(last.Error(), c.want) || !strings.Contains(last.Error(), DocsFile) {
			t.Errorf("%s: error %v, want one containing %q and the file name", name, last, c.want)
		}
	}
}

func TestTruncatedGzip(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "ds")
	writeSample(t, dir, true)
	path := filepath.Join(dir, DocsFileGz)
	raw, _ := os.ReadFile(path)
	os.WriteFile(path, raw[:len(raw)-12], 0o644)
	ds, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	var last error
	for _, err := range ds.Docs() {
		last = err
	}
	if last == nil || !strings.Contains(last.Error(), "truncated") {
		t.Fatalf("truncated gzip: %v", last)
	}
}

func TestManifestUnknownKey(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "ds")
	writeSample(t, dir, false)
	path := filepath.Join(dir, ManifestFile)
	raw, _ := os.ReadFile(path)
	os.WriteFile(path, append([]byte("sorce = \"x\"\n"), raw...), 0o644)
	if _, err := Open(dir); err == nil || !strings.Contains(err.Error(), "unknown key(s) sorce") {
		t.Fatalf("unknown manifest key: %v", err)
	}
}

func FuzzDocsReader(f *testing.F) {
	f.Add([]byte(`{"id":"a","text":"t","codes":["I10"],"split":"train"}` + "\n"))
	f.Add([]byte(`{"id":"a","text":"t","codes":["I10"],"split":"train","meta":{"k":"v"}}`))
	f.Add([]byte("{\"id\":1}\n\n{"))
	dir := filepath.Join(f.TempDir(), "ds")
	w, err := NewWriter(dir, []string{"I10"}, false)
	if err != nil {
		f.Fatal(err)
	}
	w.Write(Doc{ID: "x", Text: "x", Split: "train"})
	if err := w.Commit(Manifest{}); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, content []byte) {
		if err := os.WriteFile(filepath.Join(dir, DocsFile), content, 0o644); err != nil {
			t.Fatal(err)
		}
		ds, err := Open(dir)
		if err != nil {
			t.Fatal(err)
		}
		for d, err := range ds.Docs() {
			if err == nil && (d.ID == "" || !ValidSplit(d.Split)) {
				t.Fatalf("reader yielded an invalid document %+v", d)
			}
		}
	})
}

func TestStalePartialsRemoved(t *testing.T) {
	parent := t.TempDir()
	stale := filepath.Join(parent, ".ds.partial-123")
	os.MkdirAll(stale, 0o755)
	os.WriteFile(filepath.Join(stale, DocsFile), []byte("{}\n"), 0o644)
	foreign := filepath.Join(parent, ".ds.partial-456")
	os.MkdirAll(foreign, 0o755)
	os.WriteFile(filepath.Join(foreign, "thesis.tex"), []byte("mine"), 0o644)
	writeSample(t, filepath.Join(parent, "ds"), false)
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Error("a stale partial folder of a killed prepare was kept")
	}
	if _, err := os.Stat(foreign); err != nil {
		t.Error("a folder with files that are not ours was removed")
	}
}
