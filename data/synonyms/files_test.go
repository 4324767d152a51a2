package synonyms

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRoundTripAndOrder(t *testing.T) {
	dir := t.TempDir()
	pools := []Pool{
		{Code: "I10", Candidates: []Candidate{{Text: "essential hypertension", Sources: []string{"tsv:x"}}}},
		{Code: "I50.9", Candidates: nil, Note: "empty"},
	}
	pp := filepath.Join(dir, "candidates.jsonl")
	if err := WritePools(pp, pools); err != nil {
		t.Fatal(err)
	}
	got, err := ReadPools(pp, []string{"I10", "I50.9"})
	if err != nil || len(got) != 2 || got[0].Candidates[0].Text != "essential hypertension" || got[1].Note != "empty" {
		t.Fatalf("pools: %+v %v", got, err)
	}
	if _, err := ReadPools(pp, []string{"I50.9", "I10"}); err == nil || !strings.Contains(err.Error(), "line 1: code \"I10\" but label 0 is \"I50.9\"") {
		t.Errorf("order: %v", err)
	}
	if _, err := ReadPools(pp, []string{"I10", "I50.9", "E11.9"}); err == nil || !strings.Contains(err.Error(), "2 codes, but the label space has 3") {
		t.Errorf("count: %v", err)
	}

	sel := []Selection{
		{Code: "I10", Synonyms: []string{"a", "b"}, Distinct: 2, Criterion: "mdp", Optimal: true},
		{Code: "I50.9", Synonyms: []string{"c", "c"}, Distinct: 1, Criterion: "mdp", Optimal: true},
	}
	sp := filepath.Join(dir, "synonyms.jsonl")
	if err := WriteSelections(sp, sel); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadSelections(sp, []string{"I10", "I50.9"}, 2); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadSelections(sp, nil, 3); err == nil || !strings.Contains(err.Error(), "line 1: field synonyms: 2 strings, want 3") {
		t.Errorf("M mismatch: %v", err)
	}
}

func TestReadErrors(t *testing.T) {
	dir := t.TempDir()
	cases := map[string]struct{ content, want string }{
		"unknown field": {`{"code":"I10","candidates":[],"extra":1}`, `line 1: json: unknown field "extra"`},
		"missing code":  {`{"candidates":[]}`, "line 1: field code: missing"},
		"empty text":    {`{"code":"I10","candidates":[{"text":"","sources":[]}]}`, "line 1: field candidates[0].text: empty"},
		"bad utf8":      {"{\"code\":\"I10\xff\"}", "line 1: invalid UTF-8"},
	}
	for name, c := range cases {
		p := filepath.Join(dir, name+".jsonl")
		os.WriteFile(p, []byte(c.content), 0o644)
		if _, err := ReadPools(p, nil); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", name, err, c.want)
		}
	}
	p := filepath.Join(dir, "ragged.jsonl")
	os.WriteFile(p, []byte(`{"code":"I10","synonyms":["a","b"]}`+"\n"+`{"code":"I11","synonyms":["a"]}`), 0o644)
	if _, err := ReadSelections(p, nil, 0); err == nil || !strings.Contains(err.Error(), "line 2: field synonyms: 1 strings, want 2") {
		t.Errorf("ragged M: %v", err)
	}
}
