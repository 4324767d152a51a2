package table

import (
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/icdcode/icdcode/data/dataset"
	"github.com/icdcode/icdcode/data/icd"
	"github.com/icdcode/icdcode/data/labelspace"
	"github.com/icdcode/icdcode/data/prepare"
	"github.com/icdcode/icdcode/data/textnorm"
)

func options(in, out string) Options {
	return Options{In: in, IDCol: "id", TextCol: "note", DiagCol: "dx", ProcCol: "px", SplitCol: "split", Sep: ";",
		System: icd.ICD10, CountOn: "all", Text: textnorm.Raw, Out: out,
		Labels: prepare.Labels{Spec: labelspace.Spec{Kinds: labelspace.Both}}}
}

func write(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

const goodCSV = "ID,Note,DX,PX,Split,Ward\n" +
	"1,\"Chest pain,\nhypertension\",i10;I50.9,,train,A\n" +
	"2,Intubated.,J96.00,0bh17ez,val,B\n" +
	"3,Heart failure.,I50.9; I10 ;,,test,A\n"

func readAll(t *testing.T, dir string) []dataset.Doc {
	t.Helper()
	ds, err := dataset.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	var docs []dataset.Doc
	for d, err := range ds.Docs() {
		if err != nil {
			t.Fatal(err)
		}
		docs = append(docs, d)
	}
	return docs
}

func TestCSV(t *testing.T) {
	out := filepath.Join(t.TempDir(), "ds")
	o := options(write(t, "notes.csv", goodCSV), out)
	o.MetaCols = []string{"ward"}
	s, err := Prepare(o)
	if err != nil {
		t.Fatal(err)
	}
	if s.Manifest.Labels.Count != 4 || s.Manifest.Labels.Procedures != 1 {
		t.Fatalf("labels: %+v", s.Manifest.Labels)
	}
	docs := readAll(t, out)
	if len(docs) != 3 || docs[0].Text != "Chest pain, hypertension" || strings.Join(docs[0].Codes, ",") != "I10,I50.9" ||
		docs[1].Split != "dev" || strings.Join(docs[1].Codes, ",") != "J96.00,0BH17EZ" || docs[2].Meta["ward"] != "A" {
		t.Fatalf("documents: %+v", docs)
	}
}

func TestJSONLAndHashSplit(t *testing.T) {
	var b strings.Builder
	for i := 0; i < 400; i++ {
		codes := `["I10"]`
		if i%2 == 0 {
			codes = `"I10;E11.9"`
		}
		b.WriteString(`{"doc": ` + string(rune('0'+i%10)) + `, "id": "n` + strings.Repeat("x", i%7) + string(rune('a'+i%26)) + string(rune('a'+i/26)) + `", "body": "text ` + string(rune('a'+i%26)) + `", "codes": ` + codes + "}\n")
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte(b.String()))
	zw.Close()
	in := write(t, "notes.jsonl.gz", gz.String())
	run := func() []dataset.Doc {
		out := filepath.Join(t.TempDir(), "ds")
		o := Options{In: in, IDCol: "id", TextCol: "body", DiagCol: "codes", Sep: ";", System: icd.ICD10,
			DevFrac: 0.2, TestFrac: 0.1, Seed: 7, CountOn: "train", Text: textnorm.Keep, Out: out,
			Labels: prepare.Labels{Spec: labelspace.Spec{Kinds: labelspace.Diagnoses}}}
		if _, err := Prepare(o); err != nil {
			t.Fatal(err)
		}
		return readAll(t, out)
	}
	docs := run()
	n := map[string]int{}
	for _, d := range docs {
		n[d.Split]++
	}
	if len(docs) != 400 || n["dev"] < 50 || n["dev"] > 110 || n["test"] < 20 || n["test"] > 65 {
		t.Fatalf("hash split: %v of %d", n, len(docs))
	}
	again := run()
	for i := range docs {
		if docs[i].Split != again[i].Split {
			t.Fatal("hash split differs between runs")
		}
	}
}

func TestBadInput(t *testing.T) {
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte(goodCSV + strings.Repeat("4,more text,I10,,train,A\n", 50)))
	zw.Close()
	cases := map[string]struct{ name, content, want string }{
		"missing column": {"a.csv", "id,text,dx\n1,x,I10\n", `no column "note"`},
		"malformed row":  {"a.csv", goodCSV + "4,only,three\n", "line 6: record has 3 fields, header has 6"},
		"bad code":       {"a.csv", goodCSV + "4,text,I10;XYZ,,train,A\n", `line 6, field dx: "XYZ" is not an ICD-10-CM diagnosis code`},
		"bad procedure":  {"a.csv", goodCSV + "4,text,I10,0BH1.7EZ,train,A\n", "line 6, field px"},
		"empty note":     {"a.csv", goodCSV + "4,  ,I10,,train,A\n", "line 6, field note: empty note"},
		"duplicate id":   {"a.csv", goodCSV + "2,again,I10,,train,A\n", `line 6, field id: id "2" repeats line 4`},
		"bad split":      {"a.csv", goodCSV + "4,text,I10,,holdout,A\n", `line 6, field split: unknown split "holdout"`},
		"invalid utf8":   {"a.csv", goodCSV + "4,bad \xff,I10,,train,A\n", "line 6, column Note: invalid UTF-8"},
		"truncated gz":   {"a.csv.gz", gz.String()[:gz.Len()-20], "truncated"},
		"jsonl missing":  {"a.jsonl", `{"id":"1","note":"x","split":"train"}`, "line 1: missing field dx"},
		"jsonl type":     {"a.jsonl", `{"id":"1","note":"x","dx":[1],"px":[],"split":"train"}`, "line 1, field dx: want an array of strings"},
		"jsonl broken":   {"a.jsonl", `{"id":"1","note":"x","dx":[],"px":[],"split":"train"}` + "\n{\"id\":", "line 2: malformed JSON"},
		"unknown format": {"a.txt", "x", "cannot tell the format"},
	}
	for name, c := range cases {
		out := filepath.Join(t.TempDir(), "ds")
		_, err := Prepare(options(write(t, c.name, c.content), out))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one containing %q", name, err, c.want)
		}
		if _, statErr := os.Stat(out); !os.IsNotExist(statErr) {
			t.Errorf("%s: a failed prepare left %s behind", name, out)
		}
	}
}

func FuzzTableJSONL(f *testing.F) {
	f.Add([]byte(`{"id":"1","note":"x","dx":["I10"],"px":"0BH17EZ","split":"train"}`))
	f.Add([]byte(`{"id":2,"note":"y","dx":"I10;E11.9","px":null,"split":"val"}` + "\n\n"))
	f.Add([]byte(`{"id":"1","note":"x","dx":[1],"split":"train"}`))
	f.Fuzz(func(t *testing.T, content []byte) {
		dir := t.TempDir()
		in := filepath.Join(dir, "in.jsonl")
		os.WriteFile(in, content, 0o644)
		out := filepath.Join(dir, "ds")
		if _, err := Prepare(options(in, out)); err != nil {
			if _, statErr := os.Stat(out); !os.IsNotExist(statErr) {
				t.Fatal("failed prepare left output behind")
			}
			return
		}
		readAll(t, out)
	})
}
