package selection

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/icdcode/icdcode/data/mdp"
	"github.com/icdcode/icdcode/data/synonyms"
	"github.com/icdcode/icdcode/data/textembed"
)

// The hand-made candidates file: one code per pool situation.
//   - I50.9: 5 candidates, three of them wordings of "congestive heart
//     failure": M = 3 must keep "chf", "cardiac insufficiency" and one wording.
//   - E11.9: exactly M candidates.
//   - J45: "asthma" twice, so 2 distinct candidates for 3 slots.
//   - Z99: no candidate.
//   - K21.9: 8 candidates, capped by MaxPool in some tests.
const candidates = `{"code":"I50.9","candidates":[{"text":"congestive heart failure","sources":["icd10cm"]},{"text":"heart failure, congestive","sources":["umls"]},{"text":"chf","sources":["umls"]},{"text":"congestive heart failure nos","sources":["umls"]},{"text":"cardiac insufficiency","sources":["umls"]}]}
{"code":"E11.9","candidates":[{"text":"type 2 diabetes mellitus without complications","sources":["icd10cm"]},{"text":"t2dm","sources":["umls"]},{"text":"adult onset diabetes","sources":["umls"]}]}
{"code":"J45","candidates":[{"text":"asthma","sources":["icd10cm"]},{"text":"asthma","sources":["umls"]},{"text":"bronchial asthma","sources":["umls"]}]}
{"code":"Z99","candidates":[],"note":"no source has it"}
{"code":"K21.9","candidates":[{"text":"gastro-esophageal reflux disease without esophagitis","sources":["icd10cm"]},{"text":"gerd","sources":["umls"]},{"text":"acid reflux","sources":["umls"]},{"text":"reflux oesophageal","sources":["umls"]},{"text":"heartburn disease","sources":["umls"]},{"text":"gord","sources":["umls"]},{"text":"gastroesophageal reflux","sources":["umls"]},{"text":"oesophageal reflux disease","sources":["umls"]}]}
`

var labels = []string{"I50.9", "E11.9", "J45", "Z99", "K21.9"}

func writeCandidates(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "candidates.jsonl")
	if err := os.WriteFile(p, []byte(candidates), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// run selects from the hand-made file and reads the result back, checking M
// strings per code in label order.
func run(t *testing.T, cfg Config) ([]synonyms.Selection, Summary, []byte) {
	t.Helper()
	out := filepath.Join(t.TempDir(), "synonyms.jsonl")
	sum, err := SelectFile(writeCandidates(t), out, labels, cfg)
	if err != nil {
		t.Fatal(err)
	}
	sel, err := synonyms.ReadSelections(out, labels, cfg.M)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return sel, sum, raw
}

func byCode(sel []synonyms.Selection) map[string]synonyms.Selection {
	m := map[string]synonyms.Selection{}
	for _, s := range sel {
		m[s.Code] = s
	}
	return m
}

func TestSelectMDP(t *testing.T) {
	cfg := Config{M: 3, Criterion: MDP, MaxPool: 6, AllowEmpty: true, TimeLimit: time.Minute}
	sel, sum, _ := run(t, cfg)
	got := byCode(sel)

	chf := got["I50.9"]
	if !slices.Contains(chf.Synonyms, "chf") || !slices.Contains(chf.Synonyms, "cardiac insufficiency") {
		t.Errorf("I50.9: %q, want chf and cardiac insufficiency with one wording of congestive heart failure", chf.Synonyms)
	}
	// The choice is the brute-force optimum of the TF-IDF distances, in pool order.
	pool := []string{"congestive heart failure", "heart failure, congestive", "chf", "congestive heart failure nos", "cardiac insufficiency"}
	d := mdp.Matrix{N: len(pool), D: textembed.CosineDistances(pool)}
	best, bestV := []string(nil), -1.0
	for a := 0; a < 5; a++ {
		for b := a + 1; b < 5; b++ {
			for c := b + 1; c < 5; c++ {
				if v := mdp.Value(d, []int{a, b, c}); v > bestV {
					best, bestV = []string{pool[a], pool[b], pool[c]}, v
				}
			}
		}
	}
	if !reflect.DeepEqual(chf.Synonyms, best) || chf.Objective != bestV || !chf.Optimal || chf.Distinct != 3 || chf.PoolSize != 5 || chf.Criterion != "mdp" {
		t.Errorf("I50.9: %+v, want %q with objective %v", chf, best, bestV)
	}

	e11 := got["E11.9"]
	if !reflect.DeepEqual(e11.Synonyms, []string{"type 2 diabetes mellitus without complications", "t2dm", "adult onset diabetes"}) || e11.Distinct != 3 || e11.Note != "" || e11.Objective <= 0 {
		t.Errorf("E11.9 (n = M): %+v", e11)
	}

	j45 := got["J45"]
	if !reflect.DeepEqual(j45.Synonyms, []string{"asthma", "bronchial asthma", "asthma"}) || j45.Distinct != 2 || j45.PoolSize != 3 || !strings.Contains(j45.Note, "repeated") {
		t.Errorf("J45 (2 distinct < M): %+v", j45)
	}

	z99 := got["Z99"]
	if !reflect.DeepEqual(z99.Synonyms, []string{"icd Z99", "icd Z99", "icd Z99"}) || z99.Distinct != 1 || z99.PoolSize != 0 ||
		!strings.Contains(z99.Note, "no source has it") || !strings.Contains(z99.Note, "empty pool") {
		t.Errorf("Z99 (empty): %+v", z99)
	}

	k21 := got["K21.9"]
	firstSix := []string{"gastro-esophageal reflux disease without esophagitis", "gerd", "acid reflux", "reflux oesophageal", "heartburn disease", "gord"}
	for _, s := range k21.Synonyms {
		if !slices.Contains(firstSix, s) {
			t.Errorf("K21.9: %q is beyond the first %d candidates", s, cfg.MaxPool)
		}
	}
	if !strings.Contains(k21.Note, "capped at its first 6 of 8") || k21.PoolSize != 8 {
		t.Errorf("K21.9 (capped): %+v", k21)
	}

	want := Summary{Codes: 5, Small: 1, Empty: 1, Solved: 2, Optimal: 2, Capped: 1, Duplicates: 1}
	sum.Elapsed, sum.Nodes = 0, 0
	if sum != want {
		t.Errorf("summary %+v, want %+v", sum, want)
	}
}

func TestSelectRandom(t *testing.T) {
	cfg := Config{M: 3, Criterion: Random, Seed: 1, AllowEmpty: true}
	sel, sum, raw1 := run(t, cfg)
	_, _, raw1again := run(t, cfg)
	if !bytes.Equal(raw1, raw1again) {
		t.Error("same seed, different files")
	}
	cfg.Seed = 2
	_, _, raw2 := run(t, cfg)
	if bytes.Equal(raw1, raw2) {
		t.Error("seeds 1 and 2 give the same file")
	}
	k21 := byCode(sel)["K21.9"]
	pool, _ := distinct(mustPools(t)[4].Candidates)
	last := -1
	for _, s := range k21.Synonyms {
		i := slices.Index(pool, s)
		if i <= last {
			t.Errorf("K21.9: %q not distinct candidates in pool order", k21.Synonyms)
		}
		last = i
	}
	if k21.Criterion != "random" || k21.Objective != 0 || !k21.Optimal || k21.Distinct != 3 {
		t.Errorf("K21.9: %+v", k21)
	}
	// A code's draw depends on the seed and the code only, not on its position.
	pools := mustPools(t)
	alone, err := Select(pools[4], Config{M: 3, Criterion: Random, Seed: 1})
	if err != nil || !reflect.DeepEqual(alone, k21) {
		t.Errorf("K21.9 alone: %+v, %v; in the file: %+v", alone, err, k21)
	}
	if sum.Solved != 0 || sum.Small != 1 || sum.Empty != 1 {
		t.Errorf("summary %+v", sum)
	}
}

func mustPools(t *testing.T) []synonyms.Pool {
	t.Helper()
	pools, err := synonyms.ReadPools(writeCandidates(t), labels)
	if err != nil {
		t.Fatal(err)
	}
	return pools
}

func TestSelectFileErrors(t *testing.T) {
	cands := writeCandidates(t)
	out := filepath.Join(t.TempDir(), "synonyms.jsonl")

	// Empty pools without AllowEmpty: an error naming the code, no file.
	_, err := SelectFile(cands, out, labels, Config{M: 3, Criterion: MDP})
	var empty *EmptyPoolsError
	if !errors.As(err, &empty) || !reflect.DeepEqual(empty.Codes, []string{"Z99"}) || !strings.Contains(err.Error(), "Z99") {
		t.Errorf("empty pool: %v", err)
	}
	if _, statErr := os.Stat(out); !os.IsNotExist(statErr) {
		t.Errorf("output written despite the error: %v", statErr)
	}

	// The candidates file must follow the label order.
	swapped := slices.Clone(labels)
	swapped[0], swapped[1] = swapped[1], swapped[0]
	if _, err := SelectFile(cands, out, swapped, Config{M: 3, Criterion: MDP, AllowEmpty: true}); err == nil || !strings.Contains(err.Error(), "label order") {
		t.Errorf("wrong order: %v", err)
	}
	if _, err := SelectFile(cands, out, labels[:4], Config{M: 3, Criterion: MDP, AllowEmpty: true}); err == nil || !strings.Contains(err.Error(), "label space has 4") {
		t.Errorf("extra code: %v", err)
	}
	if _, err := SelectFile(cands, out, nil, Config{M: 3, Criterion: MDP}); err == nil {
		t.Error("no labels: no error")
	}

	for _, cfg := range []Config{
		{M: 0, Criterion: MDP},
		{M: 3, Criterion: "best"},
		{M: 3, Criterion: MDP, MaxPool: 2},
		{M: 3, Criterion: MDP, TimeLimit: -time.Second},
	} {
		if _, err := SelectFile(cands, out, labels, cfg); err == nil {
			t.Errorf("%+v: no error", cfg)
		}
	}
	// A Distancer's bad matrix is reported, not used.
	bad := fixed{mdp.Matrix{N: 5, D: make([]float64, 25)}}
	bad.d.D[1] = -1
	if _, err := Select(mustPools(t)[0], Config{M: 2, Criterion: MDP, Distances: bad}); err == nil || !strings.Contains(err.Error(), "negative") {
		t.Errorf("negative distance: %v", err)
	}
}

// fixed is a Distancer returning a given matrix, standing in for an encoder.
type fixed struct{ d mdp.Matrix }

func (f fixed) Distances(texts []string) (mdp.Matrix, error) {
	if len(texts) != f.d.N {
		return mdp.Matrix{}, fmt.Errorf("%d texts for a %d×%d matrix", len(texts), f.d.N, f.d.N)
	}
	return f.d, nil
}

func TestSelectDistancer(t *testing.T) {
	// Everything close except "heart failure, congestive" and
	// "congestive heart failure nos": the swapped-in distances decide.
	d := mdp.NewMatrix(5)
	for i := 0; i < 5; i++ {
		for j := i + 1; j < 5; j++ {
			d.Set(i, j, 0.1)
		}
	}
	d.Set(1, 3, 0.9)
	s, err := Select(mustPools(t)[0], Config{M: 2, Criterion: MDP, Distances: fixed{d}})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(s.Synonyms, []string{"heart failure, congestive", "congestive heart failure nos"}) || s.Objective != 0.9 {
		t.Errorf("%+v", s)
	}
}

// TestSelectTimeLimit runs a search that cannot finish within a nanosecond:
// the best selection found is kept, marked not optimal, with a warning.
func TestSelectTimeLimit(t *testing.T) {
	words := []string{"acute", "chronic", "left", "right", "heart", "renal", "failure", "disease", "insufficiency", "syndrome", "nos", "unspecified"}
	var cands []synonyms.Candidate
	for i := 0; i < len(words); i++ {
		for j := 0; j < len(words); j++ {
			if i != j && (i*7+j*3)%5 == 0 {
				cands = append(cands, synonyms.Candidate{Text: words[i] + " " + words[j], Sources: []string{"test"}})
			}
		}
	}
	var log bytes.Buffer
	pool := synonyms.Pool{Code: "N18.9", Candidates: cands}
	sel, sum, err := SelectAll([]synonyms.Pool{pool}, Config{M: 8, Criterion: MDP, TimeLimit: time.Nanosecond, Workers: 1, Log: &log, ProgressEvery: time.Nanosecond})
	if err != nil {
		t.Fatal(err)
	}
	s := sel[0]
	if s.Optimal || len(s.Synonyms) != 8 || s.Distinct != 8 || !strings.Contains(s.Note, "time limit") || sum.Solved != 1 || sum.Optimal != 0 {
		t.Errorf("%d candidates: %+v, summary %+v", len(cands), s, sum)
	}
	if !strings.Contains(log.String(), "warning: code N18.9") || !strings.Contains(log.String(), "1 of 1 codes") {
		t.Errorf("log:\n%s", log.String())
	}
	// Without a limit the same pool is solved to optimality, never worse.
	full, err := Select(pool, Config{M: 8, Criterion: MDP})
	if err != nil || !full.Optimal || full.Objective < s.Objective {
		t.Errorf("unlimited: %+v, %v", full, err)
	}
}

func TestParseCriterion(t *testing.T) {
	for in, want := range map[string]Criterion{"mdp": MDP, " MDP ": MDP, "random": Random} {
		if got, err := ParseCriterion(in); err != nil || got != want {
			t.Errorf("ParseCriterion(%q) = %q, %v", in, got, err)
		}
	}
	if _, err := ParseCriterion("greedy"); err == nil {
		t.Error("greedy: no error")
	}
}
