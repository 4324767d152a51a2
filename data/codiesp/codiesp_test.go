package codiesp

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/icdcode/icdcode/data/dataset"
	"github.com/icdcode/icdcode/data/labelspace"
	"github.com/icdcode/icdcode/data/prepare"
	"github.com/icdcode/icdcode/data/shareddata"
	"github.com/icdcode/icdcode/data/textnorm"
)

// The published counts of the CodiEsp train and dev splits (shared data README).
func TestRealCorpusCounts(t *testing.T) {
	dir := shareddata.Path(t, "codiesp")
	c, err := Open(dir, "en")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][3]int{"train": {500, 5639, 1550}, "dev": {250, 2677, 817}}
	if len(c.Splits) != 2 {
		t.Fatalf("%d splits", len(c.Splits))
	}
	for _, s := range c.Splits {
		w := want[s.Name]
		if len(s.IDs) != w[0] || s.DiagRows != w[1] || s.ProcRows != w[2] {
			t.Errorf("%s: %d docs, %d D rows, %d P rows; want %v", s.Name, len(s.IDs), s.DiagRows, s.ProcRows, w)
		}
	}
	distinct := map[string]bool{}
	for _, codes := range c.Splits[0].Diag {
		for _, code := range codes {
			distinct[code] = true
		}
	}
	if len(distinct) != 1767 {
		t.Errorf("train: %d distinct diagnosis codes, want 1767", len(distinct))
	}
}

func TestPrepareRealCorpus(t *testing.T) {
	dir := shareddata.Path(t, "codiesp")
	out := filepath.Join(t.TempDir(), "all")
	// Every code, every document: the dataset must hold all 750 documents and all rows.
	s, err := Prepare(Options{Dir: dir, Lang: "en", CountOn: "all", Text: textnorm.Raw, Out: out,
		Labels: prepare.Labels{Spec: labelspace.Spec{Kinds: labelspace.Both}, KeepUnlabelled: true}})
	if err != nil {
		t.Fatal(err)
	}
	m := s.Manifest
	if m.Counts["train"] != 500 || m.Counts["dev"] != 250 || m.Labels.CodeAssignments != 5639+1550+2677+817 {
		t.Fatalf("manifest: %+v", m)
	}
	if m.Labels.Diagnoses != 2194 || m.Labels.Procedures != 727 {
		t.Errorf("labels: %d diagnoses, %d procedures; want 2194 and 727", m.Labels.Diagnoses, m.Labels.Procedures)
	}
	ds, err := dataset.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ds.Verify(); err != nil {
		t.Fatal(err)
	}

	// The top-50 diagnoses of train, as the classifier issue uses them.
	out50 := filepath.Join(t.TempDir(), "top50")
	s, err = Prepare(Options{Dir: dir, Lang: "es", CountOn: "train", Text: textnorm.Keep, Out: out50,
		Labels: prepare.Labels{Spec: labelspace.Spec{Kinds: labelspace.Diagnoses, Top: 50}}})
	if err != nil {
		t.Fatal(err)
	}
	if s.Manifest.Labels.Count != 50 || s.Manifest.Labels.Procedures != 0 {
		t.Fatalf("top 50: %+v", s.Manifest.Labels)
	}
	ds, err = dataset.Open(out50)
	if err != nil {
		t.Fatal(err)
	}
	st, err := ds.Verify()
	if err != nil {
		t.Fatal(err)
	}
	lo, _, _ := dataset.Quantiles(st.LabelDocs)
	if lo < 10 {
		t.Errorf("the least frequent top-50 code has %d training documents", lo)
	}
	dropped := s.Manifest.Build.Skipped["documents_without_label_codes"]
	if dropped+s.Manifest.Documents != 750 {
		t.Errorf("%d written + %d dropped != 750", s.Manifest.Documents, dropped)
	}
	if ds.Labels[0] >= ds.Labels[49] {
		t.Error("labels are not in code order")
	}
}

// writeCorpus makes a tiny CodiEsp-shaped folder with one bad element.
func writeCorpus(t *testing.T, dtsv, text string) string {
	dir := t.TempDir()
	td := filepath.Join(dir, "train", "text_files_en")
	os.MkdirAll(td, 0o755)
	os.WriteFile(filepath.Join(td, "doc1.txt"), []byte(text), 0o644)
	os.WriteFile(filepath.Join(td, "doc2.txt"), []byte("Second case.\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "train", "trainD.tsv"), []byte(dtsv), 0o644)
	os.WriteFile(filepath.Join(dir, "train", "trainP.tsv"), []byte("doc1\tbw03zzz\n"), 0o644)
	return dir
}

func TestBadInput(t *testing.T) {
	good := "doc1\tn44.8\ndoc2\tr69\n"
	cases := map[string]struct{ dtsv, text, want string }{
		"bad code":      {"doc1\tn44.8\ndoc2\tnot-a-code\n", "A case.", "trainD.tsv line 2: field code"},
		"missing field": {"doc1\tn44.8\ndoc2\n", "A case.", "trainD.tsv line 2: 1 fields, want 2"},
		"unknown doc":   {good + "doc9\tr69\n", "A case.", `trainD.tsv line 3: field id: document "doc9" has no text file`},
		"empty note":    {good, " \n", "doc1.txt: empty note"},
		"invalid utf8":  {good, "line one\nbad \xff byte", "doc1.txt line 2: invalid UTF-8"},
	}
	for name, c := range cases {
		dir := writeCorpus(t, c.dtsv, c.text)
		out := filepath.Join(t.TempDir(), "out")
		_, err := Prepare(Options{Dir: dir, Lang: "en", CountOn: "train", Text: textnorm.Raw, Out: out,
			Labels: prepare.Labels{Spec: labelspace.Spec{Kinds: labelspace.Both}}})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one containing %q", name, err, c.want)
		}
		if _, statErr := os.Stat(out); !os.IsNotExist(statErr) {
			t.Errorf("%s: a failed prepare left %s behind", name, out)
		}
	}
	dir := writeCorpus(t, good, "A case.")
	if _, err := Open(dir, "fr"); err == nil {
		t.Error("unknown language accepted")
	}
}

func TestCodesNormalisedAndDeduplicated(t *testing.T) {
	dir := writeCorpus(t, "doc1\tn44.8\ndoc1\tN44.8\ndoc2\ts22.39x\n", "A case.")
	c, err := Open(dir, "en")
	if err != nil {
		t.Fatal(err)
	}
	s := c.Splits[0]
	if strings.Join(s.Diag["doc1"], ",") != "N44.8" || strings.Join(s.Diag["doc2"], ",") != "S22.39X" || strings.Join(s.Proc["doc1"], ",") != "BW03ZZZ" {
		t.Fatalf("codes: %v %v", s.Diag, s.Proc)
	}
}
