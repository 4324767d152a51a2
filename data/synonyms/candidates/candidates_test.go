package candidates

import (
	"bufio"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/icdcode/icdcode/data/icd"
	"github.com/icdcode/icdcode/data/shareddata"
	"github.com/icdcode/icdcode/data/synonyms"
	"github.com/icdcode/icdcode/data/synonyms/sources"
)

func TestNormalize(t *testing.T) {
	cases := map[string]string{
		"Friedländer's bacillus infection":                       "friedlander's bacillus infection",
		"Ménière's disease":                                      "meniere's disease",
		"[X]Other specified anxiety disorders":                   "[x] other specified anxiety disorders",
		"Cholera d/t vib cholerae":                               "cholera d/t vib cholerae",
		"Burns involving 10-19% of body surface":                 "burns involving 10-19% of body surface",
		"Dose 0.5 mg. Next.":                                     "dose 0.5 mg next",
		"  Heart   failure , unspecified ;  ":                    "heart failure, unspecified",
		"Crohn’s disease – ileum":                                "crohn's disease - ileum",
		"Fever of unknown origin [FUO]":                          "fever of unknown origin [fuo]",
		"Vitamin B₁₂ deficiency":                                 "vitamin b12 deficiency", // compatibility digits
		"ﬁbrosis":                                                "fibrosis",
		"Straßburg, Æsculapian":                                  "strassburg, aesculapian",
		"Type 2 diabetes mellitus with or without complications": "type 2 diabetes mellitus with or without complications",
		"Asthenia, asthenic cardiac":                             "asthenia, asthenic cardiac",
		"a ,, b,":                                                "a, b",
		"*** --- ***":                                            "",
		"":                                                       "",
		"()":                                                     "",
		"x\xf3Ǆ":                                                 "x dz", // invalid UTF-8 before a decomposable letter
	}
	for in, want := range cases {
		if got := Normalize(in); got != want {
			t.Errorf("Normalize(%q) = %q, want %q", in, got, want)
		}
	}
	// Idempotent: a normalised string normalises to itself.
	for in := range cases {
		once := Normalize(in)
		if twice := Normalize(once); twice != once {
			t.Errorf("Normalize not idempotent on %q: %q then %q", in, once, twice)
		}
	}
}

// writeFile writes a test input file in a temp folder.
func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestBuildRules(t *testing.T) {
	a := writeFile(t, "a.tsv", strings.Join([]string{
		"I50.9\tHeart failure, unspecified",
		"I50.9\theart  failure, UNSPECIFIED", // same after normalisation
		"I50.9\tCongestive heart failure NOS",
		"I50.9\tCardiac failure", // shared with I50.1 below: dropped
		"I50.1\tCardiac failure", //
		"I50.1\tLeft ventricular failure",
		"I50.1\t" + strings.Repeat("x", 31), // overlong with MaxChars 30
		"I50.1\t***",                        // empty after normalisation
		"S22.3\tFracture of one rib",        // ancestor of S22.39X and S22.31X
		"S22.3\tRib fracture",
		"S22\tFracture of rib(s), sternum and thoracic spine", // overlong
		"Z99.9\tnot in the label space",
		"J45.90\tUnspecified asthma", // ancestor of J45.909, which has its own
		"J45.909\tAsthma NOS",
	}, "\n")+"\n")
	b := writeFile(t, "b.tsv", "I50.9\tHeart failure, unspecified\nI50.9\tAsthenia cardiac\n")
	labels := []string{"I50.9", "I50.1", "S22.39X", "J45.909", "Q99.9"}
	pools, rep, err := Build(Config{
		Labels:   labels,
		System:   icd.ICD10,
		MaxChars: 30,
		Sources: []sources.Spec{
			{Kind: sources.KindTSV, Path: a},
			{Kind: sources.KindTSV, Path: b},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []synonyms.Pool{
		{Code: "I50.9", Candidates: []synonyms.Candidate{
			// priority ties (all tsv), so by text; both files' tags kept
			{Text: "asthenia cardiac", Sources: []string{"tsv:b"}},
			{Text: "congestive heart failure nos", Sources: []string{"tsv:a"}},
			{Text: "heart failure, unspecified", Sources: []string{"tsv:a", "tsv:b"}},
		}},
		{Code: "I50.1", Candidates: []synonyms.Candidate{{Text: "left ventricular failure", Sources: []string{"tsv:a"}}}},
		{Code: "S22.39X", Note: "from parent S22.3", Candidates: []synonyms.Candidate{
			{Text: "fracture of one rib", Sources: []string{"parent:tsv:a"}},
			{Text: "rib fracture", Sources: []string{"parent:tsv:a"}},
		}},
		{Code: "J45.909", Candidates: []synonyms.Candidate{{Text: "asthma nos", Sources: []string{"tsv:a"}}}},
		{Code: "Q99.9", Candidates: []synonyms.Candidate{}},
	}
	if len(pools) != len(want) {
		t.Fatalf("%d pools", len(pools))
	}
	for i := range want {
		if !poolEqual(pools[i], want[i]) {
			t.Errorf("pool %d = %+v\nwant %+v", i, pools[i], want[i])
		}
	}
	if rep.SharedStrings != 1 || rep.SharedPairs != 2 {
		t.Errorf("shared = %d strings, %d pairs; want 1, 2", rep.SharedStrings, rep.SharedPairs)
	}
	if rep.DroppedOverlong != 2 || rep.DroppedEmpty != 1 {
		t.Errorf("overlong %d, empty %d; want 2, 1", rep.DroppedOverlong, rep.DroppedEmpty)
	}
	if rep.WithCandidates != 3 || !slices.Equal(rep.FromParent, []string{"S22.39X"}) || !slices.Equal(rep.Empty, []string{"Q99.9"}) {
		t.Errorf("with %d, from parent %q, empty %q", rep.WithCandidates, rep.FromParent, rep.Empty)
	}
	if rep.PoolMin != 0 || rep.PoolMax != 3 || rep.PoolMedian != 1 {
		t.Errorf("pool sizes %d/%g/%d", rep.PoolMin, rep.PoolMedian, rep.PoolMax)
	}
	if s := rep.Sources[0]; s.Read != 14 || s.Matched != 9 || s.Ancestor != 4 {
		t.Errorf("source a: read %d, matched %d, ancestor %d; want 14, 9, 4", s.Read, s.Matched, s.Ancestor)
	}
	var out strings.Builder
	if err := rep.Write(&out); err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"codes filled from a parent: 1 (S22.39X)", "codes without candidates: 1 (Q99.9)", "1 shared by several labels"} {
		if !strings.Contains(out.String(), w) {
			t.Errorf("report lacks %q:\n%s", w, out.String())
		}
	}

	// Deterministic: the same build gives the same file, byte for byte.
	dir := t.TempDir()
	for i, name := range []string{"1.jsonl", "2.jsonl"} {
		p, _, err := Build(Config{Labels: labels, System: icd.ICD10, MaxChars: 30, Sources: []sources.Spec{{Kind: sources.KindTSV, Path: a}, {Kind: sources.KindTSV, Path: b}}})
		if err != nil {
			t.Fatal(err)
		}
		if err := synonyms.WritePools(filepath.Join(dir, name), p); err != nil {
			t.Fatal(err)
		}
		if i == 1 {
			x, _ := os.ReadFile(filepath.Join(dir, "1.jsonl"))
			y, _ := os.ReadFile(filepath.Join(dir, "2.jsonl"))
			if string(x) != string(y) {
				t.Errorf("two builds differ")
			}
		}
	}
	if _, err := synonyms.ReadPools(filepath.Join(dir, "1.jsonl"), labels); err != nil {
		t.Errorf("candidates file does not read back in label order: %v", err)
	}
}

func poolEqual(a, b synonyms.Pool) bool {
	if a.Code != b.Code || a.Note != b.Note || len(a.Candidates) != len(b.Candidates) {
		return false
	}
	for i := range a.Candidates {
		if a.Candidates[i].Text != b.Candidates[i].Text || !slices.Equal(a.Candidates[i].Sources, b.Candidates[i].Sources) {
			return false
		}
	}
	return true
}

func TestOrderBySourcePriority(t *testing.T) {
	p := map[string]*candidate{
		"a index term":  {sources: map[string]struct{}{sources.TagIndex: {}}},
		"z title":       {sources: map[string]struct{}{sources.TagTabularTitle: {}}},
		"b inclusion":   {sources: map[string]struct{}{sources.TagTabularInclusion: {}, sources.TagIndex: {}}},
		"a inclusion":   {sources: map[string]struct{}{sources.TagTabularInclusion: {}}},
		"a short title": {sources: map[string]struct{}{sources.TagMIMICShort: {}}},
	}
	got := ordered(p, "")
	var texts []string
	for _, c := range got {
		texts = append(texts, c.Text)
	}
	want := []string{"z title", "a inclusion", "b inclusion", "a index term", "a short title"}
	if !slices.Equal(texts, want) {
		t.Errorf("order = %q, want %q", texts, want)
	}
	if !slices.Equal(got[2].Sources, []string{sources.TagTabularInclusion, sources.TagIndex}) {
		t.Errorf("sources of %q = %q", got[2].Text, got[2].Sources)
	}
}

func TestLabelResolver(t *testing.T) {
	// Undotted 4019 is 401.9 or 40.19: the label space decides.
	f := writeFile(t, "u.tsv", "4019\tessential hypertension\n3893\tvenous catheter\n")
	pools, _, err := Build(Config{Labels: []string{"401.9", "38.93"}, System: icd.ICD9, Sources: []sources.Spec{{Kind: sources.KindTSV, Path: f}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(pools[0].Candidates) != 1 || pools[0].Candidates[0].Text != "essential hypertension" ||
		len(pools[1].Candidates) != 1 || pools[1].Candidates[0].Text != "venous catheter" {
		t.Errorf("pools = %+v", pools)
	}
	// Both readings in the label space: ambiguous, skipped and reported.
	_, rep, err := Build(Config{Labels: []string{"401.9", "40.19", "38.93"}, System: icd.ICD9, Sources: []sources.Spec{{Kind: sources.KindTSV, Path: f}}})
	if err != nil {
		t.Fatal(err)
	}
	if st := rep.Sources[0].Stats; st.Skipped["invalid code"] != 1 || !strings.Contains(st.Examples["invalid code"], "both 401.9 and 40.19") {
		t.Errorf("stats = %+v", st)
	}
}

func TestBuildErrors(t *testing.T) {
	f := writeFile(t, "u.tsv", "I50.9\theart failure\n")
	cases := []struct {
		cfg  Config
		want string
	}{
		{Config{Labels: []string{"i50.9"}, System: icd.ICD10, Sources: []sources.Spec{{Kind: sources.KindTSV, Path: f}}}, "not a canonical icd10 code"},
		{Config{Labels: []string{"401.9"}, System: icd.ICD9, Sources: []sources.Spec{{Kind: sources.KindTabular, Path: f}}}, "gives icd10 codes but the label space is icd9"},
		{Config{Labels: []string{"I50.9"}, System: icd.ICD10}, "no sources"},
		{Config{Labels: []string{"I50.9"}, System: icd.ICD10, Sources: []sources.Spec{{Kind: sources.KindTSV, Path: writeFile(t, "e.tsv", "# nothing\n")}}}, "no entries"},
		{Config{Labels: []string{"I50.9"}, System: icd.ICD10, Sources: []sources.Spec{{Kind: sources.KindTSV, Path: f + ".missing"}}}, "no such file"},
	}
	for _, c := range cases {
		if _, _, err := Build(c.cfg); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("error %v, want %q", err, c.want)
		}
	}
}

func TestLabelSpace(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "labels.txt"), []byte("I50.9\nS22.39X\n0BH17EZ\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "dataset.toml"), []byte("format = \"icdcode-dataset/1\"\ncode_system = \"icd10\"\n"), 0o644)
	labels, sys, err := LabelSpace("", dir, "")
	if err != nil || sys != icd.ICD10 || !slices.Equal(labels, []string{"I50.9", "S22.39X", "0BH17EZ"}) {
		t.Errorf("dataset: %q %s %v", labels, sys, err)
	}
	if _, sys, err := LabelSpace(filepath.Join(dir, "labels.txt"), "", "icd10"); err != nil || sys != icd.ICD10 {
		t.Errorf("labels file: %s %v", sys, err)
	}
	for _, c := range []struct{ labels, dir, sys, want string }{
		{"", "", "", "required"},
		{"x", dir, "", "not both"},
		{filepath.Join(dir, "labels.txt"), "", "", "--system"},
		{filepath.Join(dir, "labels.txt"), "", "icd9", "line 1"}, // I50.9 is not ICD-9
		{"", t.TempDir(), "", "dataset.toml"},
	} {
		if _, _, err := LabelSpace(c.labels, c.dir, c.sys); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("LabelSpace(%q, %q, %q) error %v, want %q", c.labels, c.dir, c.sys, err, c.want)
		}
	}
}

// TestCodiEspTop50 builds candidates for the 50 most frequent CodiEsp
// training diagnosis codes from the ICD-10-CM tabular list and index.
func TestCodiEspTop50(t *testing.T) {
	f, err := os.Open(shareddata.Path(t, "codiesp", "train", "trainD.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	freq := map[string]int{}
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		_, raw, ok := strings.Cut(sc.Text(), "\t")
		if !ok {
			t.Fatalf("trainD.tsv line %d: no tab", line)
		}
		code, err := icd.Normalize(raw, icd.ICD10, icd.Diagnosis)
		if err != nil {
			t.Fatalf("trainD.tsv line %d: %v", line, err)
		}
		freq[code]++
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	codes := make([]string, 0, len(freq))
	for c := range freq {
		codes = append(codes, c)
	}
	sort.Slice(codes, func(i, j int) bool {
		if freq[codes[i]] != freq[codes[j]] {
			return freq[codes[i]] > freq[codes[j]]
		}
		return codes[i] < codes[j]
	})
	labels := codes[:50]
	pools, rep, err := Build(Config{Labels: labels, System: icd.ICD10, Sources: []sources.Spec{
		{Kind: sources.KindTabular, Path: shareddata.Path(t, "icd10cm", "icd10cm_tabular_2021.xml.gz")},
		{Kind: sources.KindIndex, Path: shareddata.Path(t, "icd10cm", "ICD10CM_2025_Index.csv")},
	}})
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	rep.Write(&out)
	t.Logf("CodiEsp top-50 build:\n%s", out.String())
	// Measured: all 50 have candidates of their own; allow a little slack
	// for data revisions but not a broken parser.
	if rep.WithCandidates < 48 || len(rep.Empty) > 0 {
		t.Errorf("only %d of 50 codes with candidates, %d empty (%q)", rep.WithCandidates, len(rep.Empty), rep.Empty)
	}
	if rep.PoolMedian < 3 {
		t.Errorf("median pool size %g, want at least 3 (title, inclusion and index terms)", rep.PoolMedian)
	}
	for _, p := range pools {
		if p.Code == "R52" { // pain, unspecified: the most frequent code
			if len(p.Candidates) == 0 || p.Candidates[0].Text != "pain, unspecified" || p.Candidates[0].Sources[0] != sources.TagTabularTitle {
				t.Errorf("R52 pool starts with %+v, want the tabular title first", p.Candidates[:min(1, len(p.Candidates))])
			}
		}
	}
	if labels[0] != "R52" {
		t.Errorf("most frequent code %s, want R52", labels[0])
	}
}
