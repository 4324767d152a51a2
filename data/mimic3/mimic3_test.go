package mimic3

import (
	"bytes"
	"compress/gzip"
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/icdcode/icdcode/data/shareddata"

	"github.com/icdcode/icdcode/data/dataset"
	"github.com/icdcode/icdcode/data/labelspace"
	"github.com/icdcode/icdcode/data/textnorm"
)

// demoDir returns the MIMIC-III demo folder, read in place, or skips.
func demoDir(t testing.TB) string {
	t.Helper()
	return filepath.Dir(shareddata.Path(t, "mimic3_demo", "DIAGNOSES_ICD.csv"))
}

// demoCodes reads a demo codes table with encoding/csv: hadm → raw codes in
// file order, and hadm → subject.
func demoCodes(t *testing.T, path string) (map[int64][]string, map[int64]int64) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	codes, subj := map[int64][]string{}, map[int64]int64{}
	for _, r := range recs[1:] {
		h, _ := strconv.ParseInt(r[2], 10, 64)
		s, _ := strconv.ParseInt(r[1], 10, 64)
		codes[h] = append(codes[h], r[4])
		subj[h] = s
	}
	return codes, subj
}

// dot is reformat_icd9 written out again, independently of package icd.
func dot(code string, proc bool) string {
	at := 3
	if proc {
		at = 2
	} else if code[0] == 'E' {
		at = 4
	}
	if len(code) > at {
		return code[:at] + "." + code[at:]
	}
	return code
}

// fixture is a tables folder (the demo's real codes tables, linked, and a
// NOTEEVENTS written here) and a CAML split folder over the demo admissions.
type fixture struct {
	tables, splits string
	hadms          []int64 // the demo admissions, ascending
	split          map[int64]string
	subject        map[int64]int64
	diag, proc     map[int64][]string // raw codes per admission
	report         map[int64]string   // discharge report text per admission
	addendum       map[int64]string   // addendum text, for some
	noNotes        int64              // an admission with codes but no notes
	ghosts         []int64            // split ids absent from every table
}

const (
	noteHeader = "ROW_ID,SUBJECT_ID,HADM_ID,CHARTDATE,CHARTTIME,STORETIME,CATEGORY,DESCRIPTION,CGID,ISERROR,TEXT\n"
	outsideID  = 555555 // a discharge summary of an admission not in the split list
)

func newFixture(t *testing.T) *fixture {
	t.Helper()
	demo := demoDir(t)
	root := t.TempDir()
	fx := &fixture{tables: filepath.Join(root, "tables"), splits: filepath.Join(root, "splits"),
		split: map[int64]string{}, report: map[int64]string{}, addendum: map[int64]string{}}
	os.MkdirAll(fx.tables, 0o755)
	os.MkdirAll(fx.splits, 0o755)
	// The real codes tables, read in place through links (never copied).
	for _, name := range []string{"DIAGNOSES_ICD.csv", "PROCEDURES_ICD.csv"} {
		if err := os.Symlink(filepath.Join(demo, name), filepath.Join(fx.tables, name)); err != nil {
			t.Fatal(err)
		}
	}
	var subjP map[int64]int64
	fx.diag, fx.subject = demoCodes(t, filepath.Join(demo, "DIAGNOSES_ICD.csv"))
	fx.proc, subjP = demoCodes(t, filepath.Join(demo, "PROCEDURES_ICD.csv"))
	for h, s := range subjP {
		fx.subject[h] = s
	}
	for h := range fx.subject {
		fx.hadms = append(fx.hadms, h)
	}
	slices.Sort(fx.hadms)
	if len(fx.hadms) != 129 {
		t.Fatalf("demo has %d admissions with codes, want 129", len(fx.hadms))
	}
	// Splits: 1 in 9 dev, 1 in 9 test, the rest train; two ids that no table has.
	fx.ghosts = []int64{900001, 900002}
	lists := map[string][]int64{"train": {fx.ghosts[0]}, "test": {fx.ghosts[1]}}
	for i, h := range fx.hadms {
		s := "train"
		switch i % 9 {
		case 1:
			s = "dev"
		case 2:
			s = "test"
		}
		fx.split[h] = s
		lists[s] = append(lists[s], h)
	}
	for s, ids := range lists {
		var b strings.Builder
		for _, id := range ids {
			fmt.Fprintf(&b, "%d\n", id)
		}
		for _, set := range []string{"50", "full"} {
			os.WriteFile(filepath.Join(fx.splits, s+"_"+set+"_hadm_ids.csv"), []byte(b.String()), 0o644)
		}
	}
	fx.noNotes = fx.hadms[5]
	fx.writeNotes(t, "noteevents.csv")
	return fx
}

// writeNotes writes the NOTEEVENTS fixture under name: per admission other
// notes, a discharge report (with commas, quotes, blank lines) and for one in
// four an addendum written further down the file; an ISERROR report, a
// report outside the split list and one without HADM_ID. A name ending in
// .gz is compressed.
func (fx *fixture) writeNotes(t *testing.T, name string) string {
	t.Helper()
	var b strings.Builder
	b.WriteString(noteHeader)
	row := 0
	add := func(subject, hadm int64, cat, desc, iserr, text string) {
		row++
		h := ""
		if hadm > 0 {
			h = strconv.FormatInt(hadm, 10)
		}
		fmt.Fprintf(&b, "%d,%d,%s,2150-01-01,,,\"%s\",\"%s\",,%s,\"%s\"\n", row, subject, h, cat, desc, iserr, strings.ReplaceAll(text, `"`, `""`))
	}
	var pending []int64
	for i, h := range fx.hadms {
		if h == fx.noNotes {
			add(fx.subject[h], h, "Nursing/other", "Report", "", fmt.Sprintf("NURSING-%d only", h))
			continue
		}
		s := fx.subject[h]
		add(s, h, "Radiology", "CHEST (PORTABLE AP)", "", fmt.Sprintf("RADIOLOGY-%d: no acute process, see \"prior\".", h))
		rep := fmt.Sprintf("Admission Date:  [**2150-1-1**]   Discharge Date: [**2150-1-9**]\n\nService: MEDICINE\n\nHistory of Present Illness:\n%d y/o, \"stable\", admission %d; BP 120/80.\n", 40+i%50, h)
		fx.report[h] = rep
		add(s, h, "Discharge summary", "Report", "", rep)
		add(s, h, "Nursing", "Nursing Progress Note", "", fmt.Sprintf("NURSING-%d, resting", h))
		if i%4 == 0 {
			pending = append(pending, h)
		}
		if len(pending) > 2 {
			p := pending[0]
			pending = pending[1:]
			fx.addendum[p] = fmt.Sprintf("ADDENDUM %d:\r\n  \"late\" result, K 4.1\n", p)
			add(fx.subject[p], p, "Discharge summary", "Addendum", "", fx.addendum[p])
		}
		if i == 7 {
			add(s, h, "Discharge summary", "Report", "1", "ERRONEOUS note, must not appear")
			add(12, outsideID, "Discharge summary", "Report", "", "outside the split list")
			add(13, 0, "Discharge summary", "Report", "", "no admission")
		}
	}
	for _, p := range pending {
		fx.addendum[p] = fmt.Sprintf("ADDENDUM %d:\r\n  \"late\" result, K 4.1\n", p)
		add(fx.subject[p], p, "Discharge summary", "Addendum", "", fx.addendum[p])
	}
	content := b.String()
	// encoding/csv reads CRLF inside quoted fields as LF; so does the
	// reference (pandas in universal-newline mode); expect that.
	for h, a := range fx.addendum {
		fx.addendum[h] = strings.ReplaceAll(a, "\r\n", "\n")
	}
	path := filepath.Join(fx.tables, name)
	if strings.HasSuffix(name, ".gz") {
		var z bytes.Buffer
		zw := gzip.NewWriter(&z)
		zw.Write([]byte(content))
		zw.Close()
		content = z.String()
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func (fx *fixture) options(out, preset string) Options {
	p, _ := LookupPreset(preset)
	return Options{Dir: fx.tables, Splits: fx.splits, Preset: preset, Kinds: labelspace.Both,
		Top: p.Top, MinCount: p.MinCount, Text: p.Text, Out: out, Command: "test"}
}

// expectedCodes is an admission's dotted, deduplicated codes (diagnoses then
// procedures).
func (fx *fixture) expectedCodes(h int64) []string {
	var out []string
	for _, c := range fx.diag[h] {
		if d := dot(c, false); !slices.Contains(out, d) {
			out = append(out, d)
		}
	}
	for _, c := range fx.proc[h] {
		if d := dot(c, true); !slices.Contains(out, d) {
			out = append(out, d)
		}
	}
	return out
}

func readDocs(t *testing.T, dir string) (*dataset.Dataset, []dataset.Doc) {
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
	return ds, docs
}

func TestPrepareDemoFull(t *testing.T) {
	fx := newFixture(t)
	out := filepath.Join(t.TempDir(), "out", "mimic3-full")
	o := fx.options(out, "full")
	o.Text = textnorm.Keep
	res, err := Prepare(o)
	if err != nil {
		t.Fatal(err)
	}
	ds, docs := readDocs(t, out)
	m := ds.Manifest

	// 129 demo admissions, one without notes: 128 documents.
	want := map[string]int{}
	for _, h := range fx.hadms {
		if h != fx.noNotes {
			want[fx.split[h]]++
		}
	}
	for _, s := range dataset.Splits {
		if m.Counts[s] != want[s] {
			t.Errorf("dataset.toml counts[%s] = %d, want %d", s, m.Counts[s], want[s])
		}
	}
	if m.Documents != 128 || len(docs) != 128 || res.Notes != 128+len(fx.addendum) {
		t.Errorf("documents %d, streamed %d, notes %d", m.Documents, len(docs), res.Notes)
	}
	wantSkipped := map[string]int{
		"admissions_missing_from_tables":       2,
		"admissions_without_discharge_summary": 1,
		"discharge_notes_iserror":              1,
		"discharge_notes_outside_split_list":   1,
		"discharge_notes_without_hadm_id":      1,
		"notes_other_category":                 2*128 + 1,
	}
	if !equalMaps(m.Build.Skipped, wantSkipped) {
		t.Errorf("skipped %v, want %v", m.Build.Skipped, wantSkipped)
	}
	if m.Source != "mimic3" || m.CodeSystem != "icd9" || m.TextPolicy != "keep" || m.Name != "mimic3-full" || m.Build.Command != "test" {
		t.Errorf("manifest %+v", m)
	}
	if len(m.Build.Inputs) != 6 || !strings.HasSuffix(m.Build.Inputs[0], "noteevents.csv") {
		t.Errorf("inputs %q", m.Build.Inputs)
	}
	// The split list differs from the published one: warnings say so.
	if len(m.Build.Warnings) != 3 || !strings.Contains(m.Build.Warnings[0], "published caml-full list has 47723") {
		t.Errorf("warnings %q", m.Build.Warnings)
	}

	// All codes: the label space is every code of the 128 documents.
	all := map[string]bool{}
	prevSplit, prevID := -1, int64(-1)
	for _, d := range docs {
		h, _ := strconv.ParseInt(d.ID, 10, 64)
		// Order: by split, then HADM_ID ascending.
		si := slices.Index(dataset.Splits, d.Split)
		if si < prevSplit || (si == prevSplit && h <= prevID) {
			t.Errorf("document %s (%s) out of order", d.ID, d.Split)
		}
		prevSplit, prevID = si, h
		if d.Split != fx.split[h] {
			t.Errorf("document %d in %s, split list says %s", h, d.Split, fx.split[h])
		}
		wantCodes := fx.expectedCodes(h)
		got := append([]string(nil), d.Codes...)
		sort.Strings(got)
		sort.Strings(wantCodes)
		if !slices.Equal(got, wantCodes) {
			t.Errorf("document %d codes %q, want %q", h, got, wantCodes)
		}
		for _, c := range wantCodes {
			all[c] = true
		}
		// The join: report, blank line, addendum; keep trims the ends only.
		wantText := fx.report[h]
		wantDesc := "Report"
		if a, ok := fx.addendum[h]; ok {
			wantText += "\n\n" + a
			wantDesc = "Report+Addendum"
		}
		if d.Text != strings.TrimSpace(wantText) {
			t.Errorf("document %d text %q, want %q", h, d.Text, strings.TrimSpace(wantText))
		}
		if d.Meta["descriptions"] != wantDesc || d.Meta["subject_id"] != strconv.FormatInt(fx.subject[h], 10) {
			t.Errorf("document %d meta %v", h, d.Meta)
		}
		if strings.Contains(d.Text, "NURSING") || strings.Contains(d.Text, "RADIOLOGY") || strings.Contains(d.Text, "ERRONEOUS") {
			t.Errorf("document %d has text of a note it should not", h)
		}
	}
	if len(ds.Labels) != len(all) || m.Labels.Diagnoses+m.Labels.Procedures != len(all) {
		t.Errorf("%d labels (%d+%d), documents have %d distinct codes", len(ds.Labels), m.Labels.Diagnoses, m.Labels.Procedures, len(all))
	}

	// Spot checks on real demo rows: 99591 → 995.91, E8791 → E879.1,
	// V090 → V09.0, procedure 0014 → 00.14; 182839 lists 3893 twice.
	byID := map[string]dataset.Doc{}
	for _, d := range docs {
		byID[d.ID] = d
	}
	for _, c := range []string{"995.91", "038.19", "E879.1", "V09.0", "00.14", "38.93"} {
		if !slices.Contains(byID["142345"].Codes, c) {
			t.Errorf("142345 lacks %s: %q", c, byID["142345"].Codes)
		}
	}
	n := 0
	for _, c := range byID["182839"].Codes {
		if c == "38.93" {
			n++
		}
	}
	if n != 1 {
		t.Errorf("182839 has 38.93 %d times: %q", n, byID["182839"].Codes)
	}
	// Nothing left behind: no spill file, no partial folder.
	assertOnly(t, filepath.Dir(out), "mimic3-full")
}

// TestPrepareDemoLabelSelection checks top K and min count against counts
// made here, the raw and clean policies, gzip output and procedures only.
func TestPrepareDemoLabelSelection(t *testing.T) {
	fx := newFixture(t)
	df := map[string]int{}
	for _, h := range fx.hadms {
		if h == fx.noNotes {
			continue
		}
		for _, c := range fx.expectedCodes(h) {
			df[c]++
		}
	}
	type cc struct {
		code string
		n    int
	}
	var ranked []cc
	for c, n := range df {
		ranked = append(ranked, cc{c, n})
	}
	sort.Slice(ranked, func(i, j int) bool {
		if ranked[i].n != ranked[j].n {
			return ranked[i].n > ranked[j].n
		}
		return ranked[i].code < ranked[j].code
	})

	t.Run("top 10 raw gzip", func(t *testing.T) {
		out := filepath.Join(t.TempDir(), "top10")
		o := fx.options(out, "50")
		o.Top, o.Gzip = 10, true
		if _, err := Prepare(o); err != nil {
			t.Fatal(err)
		}
		ds, docs := readDocs(t, out)
		var want []string
		for _, r := range ranked[:10] {
			want = append(want, r.code)
		}
		got := append([]string(nil), ds.Labels...)
		sort.Strings(got)
		sort.Strings(want)
		if !slices.Equal(got, want) {
			t.Errorf("labels %q, want %q", got, want)
		}
		if ds.Manifest.DocsFile != dataset.DocsFileGz || ds.Manifest.TextPolicy != "raw" {
			t.Errorf("docs file %s, text %s", ds.Manifest.DocsFile, ds.Manifest.TextPolicy)
		}
		dropped := 0
		for _, h := range fx.hadms {
			if h == fx.noNotes {
				continue
			}
			hit := false
			for _, c := range fx.expectedCodes(h) {
				hit = hit || slices.Contains(want, c)
			}
			if !hit {
				dropped++
			}
		}
		if ds.Manifest.Build.Skipped["documents_without_label_codes"] != dropped || len(docs) != 128-dropped {
			t.Errorf("dropped %d (want %d), %d documents", ds.Manifest.Build.Skipped["documents_without_label_codes"], dropped, len(docs))
		}
		for _, d := range docs {
			h, _ := strconv.ParseInt(d.ID, 10, 64)
			want := fx.report[h]
			if a, ok := fx.addendum[h]; ok {
				want += "\n\n" + a
			}
			if d.Text != textnorm.CollapseSpace(want) {
				t.Fatalf("document %d text %q", h, d.Text)
			}
		}
	})

	t.Run("min count 20 clean", func(t *testing.T) {
		out := filepath.Join(t.TempDir(), "min20")
		o := fx.options(out, "clean")
		o.Splits = filepath.Join(fx.splits, "train_full_hadm_ids.csv") // not a folder: refused below
		if _, err := Prepare(o); err == nil {
			t.Fatal("a CAML file given as an Edin split file was accepted")
		}
		// Edin-style CSV over the same ids.
		var b strings.Builder
		b.WriteString("_id,split\n")
		for _, h := range fx.hadms {
			sp := fx.split[h]
			if sp == "dev" {
				sp = "val"
			}
			fmt.Fprintf(&b, "%d,%s\n", h, sp)
		}
		o.Splits = filepath.Join(t.TempDir(), "mimiciii_clean_splits.csv")
		os.WriteFile(o.Splits, []byte(b.String()), 0o644)
		o.MinCount = 20
		res, err := Prepare(o)
		if err != nil {
			t.Fatal(err)
		}
		ds, docs := readDocs(t, out)
		var want []string
		for _, r := range ranked {
			if r.n >= 20 {
				want = append(want, r.code)
			}
		}
		got := append([]string(nil), ds.Labels...)
		sort.Strings(got)
		sort.Strings(want)
		if !slices.Equal(got, want) {
			t.Errorf("labels %q, want %q", got, want)
		}
		if res.Manifest.TextPolicy != "clean" || !strings.Contains(res.Manifest.Labels.Selection, "at least 20") {
			t.Errorf("manifest %+v", res.Manifest.Labels)
		}
		for _, d := range docs {
			if d.Text != strings.ToLower(d.Text) || strings.ContainsAny(d.Text, "\"[*,\n") {
				t.Fatalf("document %s not clean: %q", d.ID, d.Text)
			}
		}
	})

	t.Run("procedures only", func(t *testing.T) {
		out := filepath.Join(t.TempDir(), "proc")
		o := fx.options(out, "full")
		o.Kinds = labelspace.Procedures
		if _, err := Prepare(o); err != nil {
			t.Fatal(err)
		}
		ds, docs := readDocs(t, out)
		withProc := 0
		for _, h := range fx.hadms {
			if h != fx.noNotes && len(fx.proc[h]) > 0 {
				withProc++
			}
		}
		if len(docs) != withProc || ds.Manifest.Labels.Diagnoses != 0 {
			t.Errorf("%d documents, want %d; manifest labels %+v", len(docs), withProc, ds.Manifest.Labels)
		}
	})

	t.Run("fixed list", func(t *testing.T) {
		out := filepath.Join(t.TempDir(), "fixed")
		o := fx.options(out, "50")
		o.Top = 0
		o.Labels = []string{"995.91", "00.14", "401.9"}
		if _, err := Prepare(o); err != nil {
			t.Fatal(err)
		}
		ds, _ := readDocs(t, out)
		if !slices.Equal(ds.Labels, o.Labels) {
			t.Errorf("labels %q", ds.Labels)
		}
	})
}

func equalMaps(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// assertOnly checks that dir holds exactly the named entries (no spill
// file, no partial dataset folder).
func assertOnly(t *testing.T, dir string, names ...string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Name())
	}
	sort.Strings(names)
	if !slices.Equal(got, names) {
		t.Errorf("%s holds %q, want %q", dir, got, names)
	}
}

func TestTableNamesAnyCase(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []string{"NoteEvents.CSV.GZ", "diagnoses_icd.csv", "README"} {
		os.WriteFile(filepath.Join(dir, n), nil, 0o644)
	}
	if p, err := FindTable(dir, "NOTEEVENTS"); err != nil || filepath.Base(p) != "NoteEvents.CSV.GZ" {
		t.Errorf("NOTEEVENTS: %q, %v", p, err)
	}
	if p, err := FindTable(dir, "DIAGNOSES_ICD"); err != nil || filepath.Base(p) != "diagnoses_icd.csv" {
		t.Errorf("DIAGNOSES_ICD: %q, %v", p, err)
	}
	_, err := FindTable(dir, "PROCEDURES_ICD")
	wantErr(t, err, "missing table", "PROCEDURES_ICD.csv", dir)
	os.WriteFile(filepath.Join(dir, "DIAGNOSES_ICD.csv.gz"), nil, 0o644)
	_, err = FindTable(dir, "DIAGNOSES_ICD")
	wantErr(t, err, "more than once")
}

func wantErr(t *testing.T, err error, parts ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want one mentioning %q", parts)
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Errorf("error %q does not mention %q", err, p)
		}
	}
}

// TestBadInput: every fault gives an error naming the file, line and
// column, and leaves neither the output folder nor a spill file behind.
func TestBadInput(t *testing.T) {
	fx := newFixture(t)
	notes := filepath.Join(fx.tables, "noteevents.csv")
	original, _ := os.ReadFile(notes)
	restore := func() {
		for _, n := range []string{"noteevents.csv.gz", "DIAGNOSES_ICD.csv.bad"} {
			os.Remove(filepath.Join(fx.tables, n))
		}
		os.WriteFile(notes, original, 0o644)
	}
	// lineOf finds the (1-based) line of the first occurrence of s.
	lineOf := func(s string) string {
		i := bytes.Index(original, []byte(s))
		if i < 0 {
			t.Fatalf("fixture lacks %q", s)
		}
		return fmt.Sprintf("line %d", bytes.Count(original[:i], []byte("\n"))+1)
	}
	firstReport := fmt.Sprintf("\"Discharge summary\",\"Report\",,,\"Admission Date:  [**2150-1-1**]   Discharge Date: [**2150-1-9**]\n\nService: MEDICINE\n\nHistory of Present Illness:\n40 y/o, \"\"stable\"\", admission %d;", fx.hadms[0])
	replaceNotes := func(old, new string) {
		s := strings.Replace(string(original), old, new, 1)
		if s == string(original) {
			t.Fatalf("fixture lacks %q", old)
		}
		os.WriteFile(notes, []byte(s), 0o644)
	}
	cases := []struct {
		name  string
		setup func(t *testing.T)
		want  []string
	}{
		{"missing column", func(*testing.T) {
			replaceNotes("CGID,ISERROR,TEXT", "CGID,ERR,TEXT")
		}, []string{notes, `no column "ISERROR"`, "ROW_ID, SUBJECT_ID"}},
		{"malformed row", func(t *testing.T) {
			replaceNotes(`,"Nursing","Nursing Progress Note",,,"NURSING-`, `,"Nursing",Nursing "Progress" Note,,,"NURSING-`)
		}, []string{notes, lineOf(`,"Nursing","Nursing Progress Note",,,"NURSING-`), `bare "`}},
		{"wrong field count", func(t *testing.T) {
			replaceNotes(`"RADIOLOGY-`, `x,"RADIOLOGY-`)
		}, []string{notes, lineOf(`"RADIOLOGY-`), "12 fields, header has 11"}},
		{"invalid UTF-8", func(t *testing.T) {
			replaceNotes("Service: MEDICINE", "Service: MED\xffICINE")
		}, []string{notes, lineOf("Service: MEDICINE"), "column TEXT", "invalid UTF-8"}},
		{"bad HADM_ID", func(t *testing.T) {
			replaceNotes(fmt.Sprintf(",%d,2150-01-01,,,\"Discharge summary\"", fx.hadms[0]), ",12x,2150-01-01,,,\"Discharge summary\"")
		}, []string{notes, lineOf(firstReport[:40]), "column HADM_ID", `"12x" is not a HADM_ID`}},
		{"duplicate note row", func(t *testing.T) {
			i := bytes.Index(original, []byte("\n2,"))
			j := bytes.Index(original[i+1:], []byte("\n3,"))
			dupRow := string(original[i+1 : i+1+j+1])
			os.WriteFile(notes, []byte(string(original)+dupRow), 0o644)
		}, []string{notes, "duplicate row: ROW_ID 2 is also on line 3"}},
		{"truncated gzip", func(t *testing.T) {
			os.Remove(notes)
			fx.writeNotes(t, "noteevents.csv.gz")
			p := filepath.Join(fx.tables, "noteevents.csv.gz")
			raw, _ := os.ReadFile(p)
			os.WriteFile(p, raw[:len(raw)/2], 0o644)
		}, []string{"noteevents.csv.gz", "truncated"}},
		{"bad code", func(t *testing.T) {
			swapTable(t, fx.tables, "DIAGNOSES_ICD.csv", "row_id,subject_id,hadm_id,seq_num,icd9_code\n1,10006,142345,1,99591\n2,10006,142345,2,12A45\n")
		}, []string{"DIAGNOSES_ICD.csv line 3, column icd9_code", `"12A45" is not an ICD-9-CM diagnosis code`}},
		{"duplicate code row", func(t *testing.T) {
			swapTable(t, fx.tables, "DIAGNOSES_ICD.csv", "row_id,subject_id,hadm_id,seq_num,icd9_code\n1,10006,142345,1,99591\n1,10006,142345,1,99591\n")
		}, []string{"DIAGNOSES_ICD.csv line 3, column row_id", "duplicate row: ROW_ID 1 is also on line 2"}},
		{"missing code column", func(t *testing.T) {
			swapTable(t, fx.tables, "PROCEDURES_ICD.csv", "row_id,subject_id,hadm_id,seq_num,icd9\n")
		}, []string{"PROCEDURES_ICD.csv", `no column "ICD9_CODE"`}},
		{"missing table", func(t *testing.T) {
			os.Remove(notes)
		}, []string{"missing table", "NOTEEVENTS"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			defer restore()
			c.setup(t)
			parent := t.TempDir()
			out := filepath.Join(parent, "ds")
			_, err := Prepare(fx.options(out, "full"))
			wantErr(t, err, c.want...)
			if strings.Contains(err.Error(), "stable") || strings.Contains(err.Error(), "MEDICINE") {
				t.Errorf("error quotes note text: %v", err)
			}
			assertOnly(t, parent)
		})
	}
}

// swapTable replaces a linked demo table with a small one for the test;
// the cleanup puts the link back.
func swapTable(t *testing.T, dir, name, content string) {
	t.Helper()
	p := filepath.Join(dir, name)
	target, err := os.Readlink(p)
	if err != nil {
		t.Fatal(err)
	}
	os.Remove(p)
	os.WriteFile(p, []byte(content), 0o644)
	t.Cleanup(func() {
		os.Remove(p)
		os.Symlink(target, p)
	})
}

// TestOldDatasetSurvivesFailure: a failed prepare over an existing dataset
// leaves it as it was; a folder that is not a dataset is refused up front.
func TestOldDatasetSurvivesFailure(t *testing.T) {
	fx := newFixture(t)
	out := filepath.Join(t.TempDir(), "ds")
	if _, err := Prepare(fx.options(out, "full")); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(filepath.Join(out, dataset.ManifestFile))
	notes := filepath.Join(fx.tables, "noteevents.csv")
	raw, _ := os.ReadFile(notes)
	os.WriteFile(notes, append(raw, []byte("99,1,2,x\n")...), 0o644)
	_, err := Prepare(fx.options(out, "full"))
	wantErr(t, err, "fields, header has 11")
	after, _ := os.ReadFile(filepath.Join(out, dataset.ManifestFile))
	if !bytes.Equal(before, after) {
		t.Error("the old dataset changed")
	}
	assertOnly(t, filepath.Dir(out), "ds")

	other := t.TempDir()
	os.WriteFile(filepath.Join(other, "notes.txt"), []byte("mine"), 0o644)
	_, err = Prepare(fx.options(other, "full"))
	wantErr(t, err, "not a dataset folder")
	assertOnly(t, other, "notes.txt")
}

func TestPresets(t *testing.T) {
	for name, want := range map[string]Preset{
		"50":    {Name: "50", Top: 50, Text: textnorm.Raw},
		"full":  {Name: "full", Text: textnorm.Raw},
		"clean": {Name: "clean", MinCount: 10, Text: textnorm.Clean},
	} {
		if p, err := LookupPreset(name); err != nil || p != want {
			t.Errorf("%s: %+v, %v", name, p, err)
		}
	}
	if _, err := LookupPreset("100"); err == nil {
		t.Error("preset 100 accepted")
	}
}
