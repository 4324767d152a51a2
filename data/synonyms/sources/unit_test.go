package sources

import (
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/icdcode/icdcode/data/icd"
)

// parseString runs a parser on an in-memory file.
func parseString(t *testing.T, kind, name, content string, opt Options) (Stats, []Entry, error) {
	t.Helper()
	var out []Entry
	st, err := ParseReader(kind, name, strings.NewReader(content), opt, func(e Entry) error {
		out = append(out, e)
		return nil
	})
	return st, out, err
}

func TestParseSpec(t *testing.T) {
	good := []struct {
		arg  string
		want Spec
	}{
		{"caml=a.tsv", Spec{Kind: KindCAML, Path: "a.tsv"}},
		{"icd9-cms:procedure=/x/CMS32_DESC_LONG_SG.txt", Spec{Kind: KindCMS, Path: "/x/CMS32_DESC_LONG_SG.txt", Options: Options{Kind: icd.Procedure}}},
		{"tsv:diagnosis=dir/a=b.tsv", Spec{Kind: KindTSV, Path: "dir/a=b.tsv", Options: Options{Kind: icd.Diagnosis}}},
	}
	for _, c := range good {
		got, err := ParseSpec(c.arg)
		if err != nil || got.Kind != c.want.Kind || got.Path != c.want.Path || got.Options.Kind != c.want.Options.Kind {
			t.Errorf("ParseSpec(%q) = %+v, %v; want %+v", c.arg, got, err, c.want)
		}
	}
	bad := map[string]string{
		"caml":                       "KIND=PATH",
		"caml=":                      "KIND=PATH",
		"snomed=x":                   "unknown kind",
		"caml:procedure=x":           "no option",
		"tsv:procedure,diagnosis=x":  "more than one",
		"icd10cm-tabular:icd9=a.xml": "no option",
	}
	for arg, want := range bad {
		if _, err := ParseSpec(arg); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseSpec(%q) error = %v, want it to mention %q", arg, err, want)
		}
	}
}

func TestResolveCode(t *testing.T) {
	good := []struct {
		raw  string
		sys  icd.System
		kind icd.Kind
		want string
	}{
		{"38.93", icd.ICD9, "", "38.93"},
		{"038.9", icd.ICD9, "", "038.9"},
		{"v58.61", icd.ICD9, "", "V58.61"},
		{"E8497", icd.ICD9, "", "E849.7"},
		{"99591", icd.ICD9, "", "995.91"},
		{"38", icd.ICD9, "", "38"},
		{"4019", icd.ICD9, icd.Diagnosis, "401.9"},
		{"4019", icd.ICD9, icd.Procedure, "40.19"},
		{"i50.9", icd.ICD10, "", "I50.9"},
		{"I509", icd.ICD10, "", "I50.9"},
		{"0BH17EZ", icd.ICD10, "", "0BH17EZ"},
		{"bw03zzz", icd.ICD10, "", "BW03ZZZ"},
		{"B24BZZ4", icd.ICD10, icd.Procedure, "B24BZZ4"},
	}
	for _, c := range good {
		got, err := ResolveCode(c.raw, c.sys, c.kind)
		if err != nil || got != c.want {
			t.Errorf("ResolveCode(%q, %s, %q) = %q, %v; want %q", c.raw, c.sys, c.kind, got, err, c.want)
		}
	}
	bad := []struct {
		raw, want string
		sys       icd.System
	}{
		{"4019", "ambiguous", icd.ICD9}, // 401.9 or 40.19
		{"401", "may be a diagnosis or a procedure", icd.ICD9},
		{"40.19.", "not", icd.ICD9},
		{"4.019", "not a canonical", icd.ICD9}, // misplaced dot is not moved
		{"I5.09", "not a canonical", icd.ICD10},
		{"@", "not an ICD-9-CM diagnosis", icd.ICD9},
		{"", "empty", icd.ICD10},
	}
	for _, c := range bad {
		_, err := ResolveCode(c.raw, c.sys, "")
		if err == nil || !(strings.Contains(err.Error(), c.want) || (c.want == "ambiguous" && strings.Contains(err.Error(), "may be"))) {
			t.Errorf("ResolveCode(%q) error = %v, want %q", c.raw, err, c.want)
		}
	}
}

func TestTSV(t *testing.T) {
	in := "# comment\n\n401.9\tEssential hypertension, unspecified\r\n38.93\t Venous  catheterization \n" +
		"XYZ\tnot a code\n428.0\t\n041.3\tFriedl\xe4nder's bacillus\n"
	st, es, err := parseString(t, KindTSV, "dir/my_terms.tsv", in, Options{System: icd.ICD9})
	if err != nil {
		t.Fatal(err)
	}
	want := []Entry{
		{"401.9", "Essential hypertension, unspecified", "tsv:my_terms"},
		{"38.93", "Venous catheterization", "tsv:my_terms"},
		{"041.3", "Friedländer's bacillus", "tsv:my_terms"}, // Latin-1 line decoded
	}
	if !slices.Equal(es, want) {
		t.Errorf("entries = %q, want %q", es, want)
	}
	if st.Skipped["invalid code"] != 1 || st.Skipped["empty term"] != 1 || st.Counts["latin1_lines"] != 1 {
		t.Errorf("stats = %+v", st)
	}
	if !strings.Contains(st.Examples["invalid code"], "dir/my_terms.tsv line 5: field code") {
		t.Errorf("example %q does not name file, line and field", st.Examples["invalid code"])
	}

	_, _, err = parseString(t, KindTSV, "t.tsv", "401.9\tok\n401.1 no tab\n", Options{System: icd.ICD9})
	if err == nil || !strings.Contains(err.Error(), "t.tsv line 2: field term") {
		t.Errorf("line without tab: error %v", err)
	}
	_, _, err = parseString(t, KindTSV, "t.tsv", "401.9\tok\n", Options{})
	if err == nil {
		t.Errorf("no code system: no error")
	}
}

func TestUMLSJSON(t *testing.T) {
	in := `{"401.9": ["hypertension", "high blood pressure"], "bad": ["x"], "38.93": [], "401.9": ["htn"]}`
	st, es, err := parseString(t, KindUMLS, "u.json", in, Options{System: icd.ICD9})
	if err != nil {
		t.Fatal(err)
	}
	want := []Entry{{"401.9", "hypertension", TagUMLS}, {"401.9", "high blood pressure", TagUMLS}, {"401.9", "htn", TagUMLS}}
	if !slices.Equal(es, want) {
		t.Errorf("entries = %q", es)
	}
	if st.Counts["codes"] != 4 || st.Skipped["invalid code"] != 1 {
		t.Errorf("stats = %+v", st)
	}
	for in, want := range map[string]string{
		`["a"]`:                   "want a JSON object",
		`{"401.9": "x"}`:          "want an array",
		`{"401.9": [1]}`:          `field "401.9"[0]: 1 is not a string`,
		`{"401.9": ["a"]`:         "unexpected EOF",
		`{"401.9": ["a"]} {}`:     "data after",
		`{"401.9": ["a", {"b"}]}`: "offset",
	} {
		_, _, err := parseString(t, KindUMLS, "u.json", in, Options{System: icd.ICD9})
		if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "u.json") {
			t.Errorf("%s: error %v, want %q", in, err, want)
		}
	}
}

func TestCMSKindAndErrors(t *testing.T) {
	in := "3893  Venous cath NEC\n0010  Therap ultrasound vessels\n"
	_, es, err := parseString(t, KindCMS, "CMS32_DESC_SHORT_SG.txt", in, Options{})
	if err != nil || len(es) != 2 || es[0].Code != "38.93" || es[1].Code != "00.10" || es[0].Source != TagCMSShort {
		t.Errorf("SG file: %v %+v", err, es)
	}
	_, es, err = parseString(t, KindCMS, "titles.txt", in, Options{Kind: icd.Procedure})
	if err != nil || es[0].Code != "38.93" || es[0].Source != TagCMSTitle {
		t.Errorf("procedure option: %v %+v", err, es)
	}
	_, es, _ = parseString(t, KindCMS, "titles.txt", in, Options{})
	if es[0].Code != "389.3" {
		t.Errorf("default kind is diagnosis: %+v", es)
	}
	_, _, err = parseString(t, KindCMS, "x.txt", "0010  Cholera\n0011\n", Options{})
	if err == nil || !strings.Contains(err.Error(), "x.txt line 2: field title") {
		t.Errorf("missing title: %v", err)
	}
}

func TestMIMICKindFromName(t *testing.T) {
	in := "ROW_ID,ICD9_CODE,SHORT_TITLE,LONG_TITLE\n1,3893,Venous cath NEC,\"Venous catheterization, not elsewhere classified\"\n"
	if _, _, err := parseString(t, KindMIMIC, "titles.csv", in, Options{}); err == nil || !strings.Contains(err.Error(), "mimic-d-icd:procedure") {
		t.Errorf("unnamed file without option: %v", err)
	}
	_, es, err := parseString(t, KindMIMIC, "titles.csv", in, Options{Kind: icd.Procedure})
	if err != nil || len(es) != 2 || es[0].Code != "38.93" {
		t.Errorf("with option: %v %+v", err, es)
	}
	_, _, err = parseString(t, KindMIMIC, "D_ICD_PROCEDURES.csv", "row_id,code,short_title,long_title\n", Options{})
	if err == nil || !strings.Contains(err.Error(), `no column "icd9_code"`) {
		t.Errorf("missing column: %v", err)
	}
	_, _, err = parseString(t, KindMIMIC, "D_ICD_PROCEDURES.csv", in+"2,3894,a\n", Options{})
	if err == nil || !strings.Contains(err.Error(), "line 3") {
		t.Errorf("short row: %v", err)
	}
}

func TestTabularSynthetic(t *testing.T) {
	in := `<?xml version="1.0"?><ICD10CM.tabular><chapter><section>
<diag><name>A01</name><desc>Typhoid</desc>
  <diag><name>A01.0</name><desc>Typhoid fever</desc>
    <inclusionTerm><note>Infection due to <i>Salmonella</i> typhi</note></inclusionTerm>
    <excludes1><note>not this</note></excludes1>
    <diag><name>A01.00</name><desc>Typhoid fever,
       unspecified</desc></diag>
  </diag>
</diag></section></chapter></ICD10CM.tabular>`
	st, es, err := parseString(t, KindTabular, "t.xml", in, Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := []Entry{
		{"A01", "Typhoid", TagTabularTitle},
		{"A01.0", "Typhoid fever", TagTabularTitle},
		{"A01.0", "Infection due to Salmonella typhi", TagTabularInclusion},
		{"A01.00", "Typhoid fever, unspecified", TagTabularTitle},
	}
	if !slices.Equal(es, want) {
		t.Errorf("entries = %q, want %q", es, want)
	}
	if st.Counts["diag"] != 3 || st.Counts["diag_with_inclusion"] != 1 || st.Counts["inclusion_note"] != 1 {
		t.Errorf("counts = %v", st.Counts)
	}
	for in, want := range map[string]string{
		`<ICD10CM.index/>`: "root element <ICD10CM.index>",
		`<ICD10CM.tabular><diag><desc>x</desc></diag></ICD10CM.tabular>`:   "line 1: field diag/name: missing",
		`<ICD10CM.tabular><diag><name>A00</name><desc>x</desc></diag>`:     "unexpected EOF",
		`<ICD10CM.tabular><diag><name>A00</name></desc></ICD10CM.tabular>`: "line 1",
		`<ICD10CM.tabular></ICD10CM.tabular>`:                              "no <diag>",
	} {
		_, _, err := parseString(t, KindTabular, "t.xml", in, Options{})
		if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "t.xml") {
			t.Errorf("%s: error %v, want %q", in, err, want)
		}
	}
	// An XML file declaring Latin-1 is decoded.
	_, es, err = parseString(t, KindTabular, "l.xml", "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><ICD10CM.tabular><diag><name>A41.9</name><desc>Friedl\xe4nder sepsis</desc></diag></ICD10CM.tabular>", Options{})
	if err != nil || len(es) != 1 || es[0].Term != "Friedländer sepsis" {
		t.Errorf("Latin-1 XML: %v %q", err, es)
	}
	// An invalid code skips the diag's items, not its children.
	st, es, err = parseString(t, KindTabular, "t.xml", `<ICD10CM.tabular><diag><name>A-0</name><desc>x</desc><diag><name>A00.1</name><desc>y</desc></diag></diag></ICD10CM.tabular>`, Options{})
	if err != nil || len(es) != 1 || es[0].Code != "A00.1" || st.Skipped["invalid code"] != 1 {
		t.Errorf("invalid code: %v %+v %+v", err, es, st)
	}
}

func TestIndexSynthetic(t *testing.T) {
	csvIn := "RowID,Letter,Level,Term,See,SeeAlso,NonEssModif,Code\n" +
		"1,A,0,\"Asthenia, asthenic\",,,,R53.1\n" +
		"2,A,1,cardiac,,\"Failure, heart\",,I50.9\n" +
		"3,A,2,psychogenic NEC,,,,F45.8\n" +
		"4,A,1,Note: read the tabular,,,,\n" +
		"5,A,2,stage B,,,,I50.9\n" +
		"6,A,1,incomplete,,,,I50.-\n" +
		"7,A,1,,,,(mood),F34.9\n" +
		"8,A,1,see only,Asthenia,,,\n"
	st, es, err := parseString(t, KindIndex, "i.csv", csvIn, Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := []Entry{
		{"R53.1", "Asthenia, asthenic", TagIndex},
		{"I50.9", "Asthenia, asthenic cardiac", TagIndex},
		{"F45.8", "Asthenia, asthenic cardiac psychogenic", TagIndex},
		{"I50.9", "Asthenia, asthenic cardiac stage B", TagIndex},
		{"F34.9", "Asthenia, asthenic (mood)", TagIndex},
	}
	if !slices.Equal(es, want) {
		t.Errorf("entries = %q, want %q", es, want)
	}
	if st.Skipped["incomplete code"] != 1 || st.Skipped["no code"] != 1 || st.Skipped["index note"] != 1 {
		t.Errorf("skipped = %v", st.Skipped)
	}
	_, _, err = parseString(t, KindIndex, "i.csv", "Level,Term,Code\n0,a,A00\n2,b,A01\n", Options{})
	if err == nil || !strings.Contains(err.Error(), "i.csv line 3: field Level") {
		t.Errorf("level jump: %v", err)
	}

	xmlIn := `<ICD10CM.index><letter><title>A</title>
<mainTerm><title>Struck<nemod>(accidentally)</nemod> by</title>
  <term level="1"><title>airbag NEC</title><code>W22.10</code>
    <term level="2"><title>driver side</title><code>W22.11</code></term>
  </term>
  <term level="1"><title>lightning</title><subcat>T75.0</subcat></term>
  <term level="1"><title><nemod>(massive)</nemod></title><code>D69.59</code></term>
  <term level="1"><title>with neuropathy</title><code>E85.4</code><manif>G63</manif></term>
</mainTerm></letter></ICD10CM.index>`
	st, es, err = parseString(t, KindIndex, "e.xml.gz", xmlIn, Options{})
	if err != nil {
		t.Fatal(err)
	}
	want = []Entry{
		{"W22.10", "Struck by airbag", TagIndex},
		{"W22.11", "Struck by airbag driver side", TagIndex},
		{"D69.59", "Struck by (massive)", TagIndex},
		{"E85.4", "Struck by with neuropathy", TagIndex},
	}
	if !slices.Equal(es, want) || st.Skipped["incomplete code"] != 1 || st.Skipped["manifestation code"] != 1 {
		t.Errorf("entries = %q (%v), want %q", es, st.Skipped, want)
	}
	_, _, err = parseString(t, KindIndex, "e.xml", `<ICD10CM.index><letter><mainTerm><code>A00</code><title>x</title></mainTerm></letter></ICD10CM.index>`, Options{})
	if err == nil || !strings.Contains(err.Error(), "e.xml line 1: field code") {
		t.Errorf("code before title: %v", err)
	}
}

func TestCAMLSynthetic(t *testing.T) {
	in := "@\tRoot\n00-99.99\tPROCEDURES\n38\tOps on vessels\n38.93\tVenous cath\n001\tCholera\n001.0\tCholera due\n40.19.1\tbad\n"
	st, es, err := parseString(t, KindCAML, "c.tsv", in, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var codes []string
	for _, e := range es {
		codes = append(codes, e.Code)
	}
	if !slices.Equal(codes, []string{"38", "38.93", "001", "001.0"}) || st.Skipped["hierarchy node"] != 2 || st.Skipped["invalid code"] != 1 {
		t.Errorf("codes %q, skipped %v", codes, st.Skipped)
	}
	if _, _, err := parseString(t, KindCAML, "c.tsv", "001 Cholera\n", Options{}); err == nil || !strings.Contains(err.Error(), "c.tsv line 1: field description") {
		t.Errorf("no tab: %v", err)
	}
}

func TestLongLineAndTruncatedGzip(t *testing.T) {
	long := "401.9\t" + strings.Repeat("a", maxLine+10) + "\n"
	if _, _, err := parseString(t, KindTSV, "l.tsv", long, Options{System: icd.ICD9}); err == nil || !strings.Contains(err.Error(), "l.tsv line 1: line longer") {
		t.Errorf("long line: %v", err)
	}
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	for i := 0; i < 2000; i++ {
		zw.Write([]byte("401.9\tEssential hypertension, unspecified, line of a file\n"))
	}
	zw.Close()
	path := filepath.Join(t.TempDir(), "t.tsv.gz")
	if err := os.WriteFile(path, buf.Bytes()[:buf.Len()/2], 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Parse(Spec{Kind: KindTSV, Path: path, Options: Options{System: icd.ICD9}}, func(Entry) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "truncated") {
		t.Errorf("truncated gzip: %v", err)
	}
}

func TestPriority(t *testing.T) {
	order := []string{TagTabularTitle, TagCMSLong, TagTabularInclusion, TagIndex, TagUMLS, TagMIMICShort, "tsv:x", "other:y", "parent:" + TagTabularTitle}
	for i := 1; i < len(order); i++ {
		if Priority(order[i-1]) >= Priority(order[i]) {
			t.Errorf("Priority(%s) = %d not below Priority(%s) = %d", order[i-1], Priority(order[i-1]), order[i], Priority(order[i]))
		}
	}
}
