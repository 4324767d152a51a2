package sources

import (
	"slices"
	"strings"
	"testing"

	"github.com/icdcode/icdcode/data/shareddata"
)

// collect parses a file and gathers its entries by code.
func collect(t testing.TB, spec Spec) (Stats, map[string][]Entry) {
	t.Helper()
	byCode := map[string][]Entry{}
	n := 0
	st, err := Parse(spec, func(e Entry) error {
		n++
		byCode[e.Code] = append(byCode[e.Code], e)
		return nil
	})
	if err != nil {
		t.Fatalf("parse %s: %v", spec.Path, err)
	}
	if n != st.Entries {
		t.Fatalf("Stats.Entries = %d, emitted %d", st.Entries, n)
	}
	return st, byCode
}

func terms(es []Entry, tag string) []string {
	var out []string
	for _, e := range es {
		if tag == "" || e.Source == tag {
			out = append(out, e.Term)
		}
	}
	return out
}

func TestTabularReal(t *testing.T) {
	st, byCode := collect(t, Spec{Kind: KindTabular, Path: shareddata.Path(t, "icd10cm", "icd10cm_tabular_2021.xml.gz")})
	// Counts from the shared data README.
	if st.Counts["diag"] != 45017 || st.Counts["diag_with_inclusion"] != 6265 || st.Counts["inclusion_note"] != 11612 {
		t.Errorf("counts = %v, want diag 45017, diag_with_inclusion 6265, inclusion_note 11612", st.Counts)
	}
	if st.SkippedTotal() != 0 {
		t.Errorf("skipped %v (%v)", st.Skipped, st.Examples)
	}
	if st.Entries != 45017+11612 {
		t.Errorf("entries = %d, want one title per diag plus every inclusion note (%d)", st.Entries, 45017+11612)
	}
	cases := []struct {
		code, title string
		inclusion   []string
	}{
		{"I50.9", "Heart failure, unspecified", []string{"Cardiac, heart or myocardial failure NOS", "Congestive heart disease", "Congestive heart failure NOS"}},
		{"J45.909", "Unspecified asthma, uncomplicated", []string{"Asthma NOS"}},
		{"A01.02", "Typhoid fever with heart involvement", []string{"Typhoid endocarditis", "Typhoid myocarditis"}},
		{"A00", "Cholera", nil}, // a category: its title, no inclusion terms
	}
	for _, c := range cases {
		es := byCode[c.code]
		if got := terms(es, TagTabularTitle); !slices.Equal(got, []string{c.title}) {
			t.Errorf("%s titles = %q, want %q", c.code, got, c.title)
		}
		if got := terms(es, TagTabularInclusion); !slices.Equal(got, c.inclusion) {
			t.Errorf("%s inclusion terms = %q, want %q", c.code, got, c.inclusion)
		}
	}
	// Excludes notes are not synonyms: "fluid overload unrelated to
	// congestive heart failure" is an excludes2 note of I50.9.
	for _, s := range terms(byCode["I50.9"], "") {
		if strings.Contains(s, "fluid overload") {
			t.Errorf("I50.9 got an excludes note: %q", s)
		}
	}
}

func TestIndexCSVReal(t *testing.T) {
	st, byCode := collect(t, Spec{Kind: KindIndex, Path: shareddata.Path(t, "icd10cm", "ICD10CM_2025_Index.csv")})
	// README: 81,024 rows, 62,721 with a code.
	if st.Counts["rows"] != 81024 || st.Counts["rows_with_code"] != 62721 {
		t.Errorf("counts = %v, want rows 81024, rows_with_code 62721", st.Counts)
	}
	// 81,024 rows = 55,791 used + 6,930 incomplete + 18,299 without code
	// + 4 index notes listed as terms.
	if st.Skipped["incomplete code"] != 6930 || st.Skipped["no code"] != 18299 || st.Skipped["index note"] != 4 {
		t.Errorf("skipped = %v, want 6930 incomplete, 18299 without code, 4 index notes", st.Skipped)
	}
	if st.Skipped["invalid code"] != 0 {
		t.Errorf("invalid codes: %s", st.Examples["invalid code"])
	}
	if st.Entries != 62721-6930 {
		t.Errorf("entries = %d, want %d", st.Entries, 62721-6930)
	}
	want := map[string][]string{
		"I50.9":  {"Asthenia, asthenic cardiac", "Failure, failed heart congestive"},
		"F45.8":  {"Asthenia, asthenic cardiac psychogenic"},
		"Q28.1":  {"Aberrant artery basilar"},          // "basilar NEC": NEC dropped
		"F45.41": {"Disorder persistent (somatoform)"}, // a term made of its modifier only
		"I50.20": {"Failure, failed heart systolic"},   // below an index note
		"I50.84": {"Failure, failed heart stage D"},
	}
	for code, ws := range want {
		got := terms(byCode[code], TagIndex)
		for _, w := range ws {
			if !slices.Contains(got, w) {
				t.Errorf("%s: no index term %q among %q", code, w, got)
			}
		}
	}
	for code, es := range byCode {
		for _, e := range es {
			if strings.Contains(strings.ToLower(e.Term), "note:") || slices.Contains(strings.Fields(e.Term), "NEC") {
				t.Errorf("%s: index instruction left in term %q", code, e.Term)
			}
		}
	}
}

func TestIndexXMLReal(t *testing.T) {
	st, byCode := collect(t, Spec{Kind: KindIndex, Path: shareddata.Path(t, "icd10cm", "icd-10-cm-eindex-2025.xml.gz")})
	// The CSV flattening of the same index has 6,650 codes, 238 ending in
	// "-"; the XML adds 11 <subcat> and 3 <seecat> references.
	if st.Counts["codes"] != 6650 || st.Counts["terms"] != 8064 {
		t.Errorf("counts = %v, want codes 6650, terms 8064", st.Counts)
	}
	if st.Skipped["incomplete code"] != 238+11 || st.Skipped["cross-reference"] != 3 {
		t.Errorf("skipped = %v", st.Skipped)
	}
	if st.Entries != 6650-238 {
		t.Errorf("entries = %d, want %d", st.Entries, 6650-238)
	}
	want := map[string]string{
		"W22.11": "Struck by airbag driver side", // text after <nemod> kept ("by")
		"X58":    "Abandonment",                  // "NEC" dropped, <nemod> left out
		"V94.11": "Accident boat, boating striking swimmer powered",
	}
	for code, w := range want {
		if got := terms(byCode[code], TagIndex); !slices.Contains(got, w) {
			t.Errorf("%s: no index term %q among %q", code, w, got)
		}
	}

	// The CSV of the same index yields as many entries.
	st2, _ := collect(t, Spec{Kind: KindIndex, Path: shareddata.Path(t, "icd10cm", "ICD10CM_2025_ExternalIndex.csv")})
	if st2.Counts["rows"] != 8064 || st2.Entries != st.Entries {
		t.Errorf("ExternalIndex.csv: rows %d, entries %d; want 8064 rows and %d entries as the XML", st2.Counts["rows"], st2.Entries, st.Entries)
	}
}

func TestCMSReal(t *testing.T) {
	st, byCode := collect(t, Spec{Kind: KindCMS, Path: shareddata.Path(t, "icd9cm", "CMS32_DESC_LONG_DX.txt")})
	if st.Counts["lines"] != 14567 || st.Entries != 14567 {
		t.Errorf("lines %d, entries %d, want 14567", st.Counts["lines"], st.Entries)
	}
	if st.Counts["latin1_lines"] == 0 {
		t.Errorf("no line decoded as Latin-1 in the Latin-1 file")
	}
	want := "Friedländer's bacillus infection in conditions classified elsewhere and of unspecified site"
	if got := terms(byCode["041.3"], TagCMSLong); !slices.Equal(got, []string{want}) {
		t.Errorf("041.3 = %q, want %q", got, want)
	}
	if got := terms(byCode["E849.7"], ""); len(got) != 1 {
		t.Errorf("E849.7 (an E code, dotted after 4) = %q", got)
	}

	st, byCode = collect(t, Spec{Kind: KindCMS, Path: shareddata.Path(t, "icd9cm", "CMS32_DESC_SHORT_DX.txt")})
	if st.Entries != 14567 || st.Counts["latin1_lines"] != 0 {
		t.Errorf("short file: entries %d, latin1 lines %d", st.Entries, st.Counts["latin1_lines"])
	}
	if got := terms(byCode["001.9"], TagCMSShort); !slices.Equal(got, []string{"Cholera NOS"}) {
		t.Errorf("001.9 short = %q", got)
	}
}

func TestCAMLReal(t *testing.T) {
	st, byCode := collect(t, Spec{Kind: KindCAML, Path: shareddata.Path(t, "icd9cm", "caml_ICD9_descriptions.tsv")})
	if st.Counts["lines"] != 21164 {
		t.Errorf("lines = %d, want 21164", st.Counts["lines"])
	}
	// 1 root "@" and 190 ranges.
	if st.Skipped["hierarchy node"] != 191 || st.Skipped["invalid code"] != 0 {
		t.Errorf("skipped = %v (%v)", st.Skipped, st.Examples)
	}
	if st.Entries != 21164-191 {
		t.Errorf("entries = %d", st.Entries)
	}
	want := map[string]string{
		"038.9":  "Unspecified septicemia",                           // diagnosis
		"38.93":  "Venous catheterization, not elsewhere classified", // procedure
		"401":    "Essential hypertension",                           // diagnosis category
		"00":     "Procedures and interventions, Not Elsewhere Classified",
		"995.91": "Sepsis",
	}
	for code, w := range want {
		if got := terms(byCode[code], TagCAML); !slices.Equal(got, []string{w}) {
			t.Errorf("%s = %q, want %q", code, got, w)
		}
	}
}

func TestMIMICReal(t *testing.T) {
	st, byCode := collect(t, Spec{Kind: KindMIMIC, Path: shareddata.Path(t, "mimic3_demo", "D_ICD_DIAGNOSES.csv")})
	if st.Counts["rows"] != 14567 || st.Entries != 2*14567 {
		t.Errorf("diagnoses: rows %d, entries %d", st.Counts["rows"], st.Entries)
	}
	if got := terms(byCode["995.91"], ""); !slices.Equal(got, []string{"Sepsis", "Sepsis"}) {
		t.Errorf("995.91 = %q", got)
	}
	if got := terms(byCode["360.54"], TagMIMICLong); !slices.Equal(got, []string{"Foreign body, magnetic, in vitreous"}) {
		t.Errorf("360.54 = %q", got)
	}

	// Upper-case header; procedures from the file name.
	st, byCode = collect(t, Spec{Kind: KindMIMIC, Path: shareddata.Path(t, "mimic3_demo", "D_ICD_PROCEDURES.csv")})
	if st.Counts["rows"] != 3882 || st.Entries != 2*3882 {
		t.Errorf("procedures: rows %d, entries %d", st.Counts["rows"], st.Entries)
	}
	got := byCode["38.93"]
	if len(got) != 2 || got[0] != (Entry{"38.93", "Venous catheterization, not elsewhere classified", TagMIMICLong}) ||
		got[1] != (Entry{"38.93", "Venous cath NEC", TagMIMICShort}) {
		t.Errorf("38.93 = %+v", got)
	}
}
