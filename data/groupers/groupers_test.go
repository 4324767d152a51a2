package groupers

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/icdcode/icdcode/data/shareddata"
)

func TestReadCCSReal(t *testing.T) {
	g, err := ReadCCS(shareddata.Path(t, "groupers", "ccs_dxref_2015.csv"))
	if err != nil {
		t.Fatal(err)
	}
	if len(g.Category) != 15072 || g.NumCategories() != 283 {
		t.Fatalf("codes %d categories %d, want 15072 and 283", len(g.Category), g.NumCategories())
	}
	for code, want := range map[string]string{"010.00": "1", "401.9": "98", "E888.9": "2603", "V45.11": "158"} {
		if got, ok := g.Lookup(code); !ok || got != want {
			t.Errorf("%s → %q %v, want %q", code, got, ok, want)
		}
	}
	if g.Description["1"] != "Tuberculosis" {
		t.Errorf("description of 1 = %q", g.Description["1"])
	}
	if tok, _ := g.Token("401.9"); tok != "CCS_98" {
		t.Errorf("token %q", tok)
	}
	strip := StripPrefix("D_", g.Lookup)
	if c, ok := strip("D_401.9"); !ok || c != "98" {
		t.Errorf("D_401.9 → %q %v", c, ok)
	}
	if _, ok := strip("P_36.05"); ok {
		t.Error("procedure code grouped")
	}
}

func TestReadCCSRReal(t *testing.T) {
	g, st, err := ReadCCSR(shareddata.Path(t, "groupers", "DXCCSR_v2023-1_mapping.csv.gz"))
	if err != nil {
		t.Fatal(err)
	}
	if len(g.Category) != 74549 || st.Rows != 86288 {
		t.Fatalf("codes %d rows %d", len(g.Category), st.Rows)
	}
	if st.InpatientDefault != 63982 || st.InpatientDefault+st.OutpatientFallback+st.FirstFallback != 74549 {
		t.Fatalf("stats %+v", st)
	}
	if c, _ := g.Lookup("A00.0"); c != "DIG001" {
		t.Errorf("A00.0 → %q", c)
	}
	// B60.13 has no inpatient default ('X'); its outpatient default is EYE001.
	if c, _ := g.Lookup("B60.13"); c != "EYE001" {
		t.Errorf("B60.13 → %q", c)
	}
	cats, err := ReadCCSRCategories(shareddata.Path(t, "groupers", "DXCCSR_v2023-1_categories.csv"))
	if err != nil {
		t.Fatal(err)
	}
	if len(cats) != 547 {
		t.Fatalf("%d categories", len(cats))
	}
	for code, c := range g.Category {
		if _, ok := cats[c]; !ok {
			t.Fatalf("%s → %s, not in the categories file", code, c)
		}
	}
}

func write(t *testing.T, name, body string) string {
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestReadCCSErrors(t *testing.T) {
	const head = "note\n'ICD-9-CM CODE','CCS CATEGORY','CCS CATEGORY DESCRIPTION'\n"
	for name, tc := range map[string]struct{ body, want string }{
		"no column": {"note\n'CODE','CCS CATEGORY','CCS CATEGORY DESCRIPTION'\n", `no column "ICD-9-CM CODE"`},
		"bad code":  {head + "'4019 ','98 ','Hypertension'\n'X!9','1','a'\n", ":4: field \"ICD-9-CM CODE\""},
		"dup":       {head + "'4019','98','a'\n'4019','99','b'\n", ":4: code 401.9 in categories 98 and 99"},
		"empty cat": {head + "'4019','  ','a'\n", ":3: field \"CCS CATEGORY\": empty"},
		"short":     {head + "'4019','98'\n", ":3: 2 fields"},
	} {
		_, err := ReadCCS(write(t, "ccs.csv", tc.body))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want %q", name, err, tc.want)
		}
	}
}

func TestReadCCSRFallbacks(t *testing.T) {
	const head = "ICD-10-CM Code,ICD-10-CM Code Description,CCSR Category,CCSR Category Description,Inpatient Default CCSR (Y/N/X),Outpatient Default CCSR (Y/N/X)\n"
	p := write(t, "m.csv", head+
		"A000,d,DIG001,a,N,N\nA000,d,INF003,b,Y,Y\n"+ // inpatient default second
		"B6013,d,INF009,c,X,N\nB6013,d,EYE001,e,X,Y\n"+ // outpatient fallback
		"B950,d,INF003,b,X,X\nB950,d,INF004,f,X,X\n") // first listed
	g, st, err := ReadCCSR(p)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"A00.0": "INF003", "B60.13": "EYE001", "B95.0": "INF003"}
	for c, w := range want {
		if g.Category[c] != w {
			t.Errorf("%s → %s, want %s", c, g.Category[c], w)
		}
	}
	if st != (CCSRStats{Rows: 6, InpatientDefault: 1, OutpatientFallback: 1, FirstFallback: 1}) {
		t.Errorf("stats %+v", st)
	}
	_, _, err = ReadCCSR(write(t, "b.csv", head+"A000,d,DIG001,a,Q,N\n"))
	if err == nil || !strings.Contains(err.Error(), `b.csv:2: field "Inpatient Default CCSR (Y/N/X)"`) {
		t.Errorf("bad flag: %v", err)
	}
	_, _, err = ReadCCSR(write(t, "c.csv", head+"A000,d,DIG001,a,Y,N\nA000,d,DIG002,a,Y,N\n"))
	if err == nil || !strings.Contains(err.Error(), "c.csv:3: code A00.0 has two inpatient defaults") {
		t.Errorf("two defaults: %v", err)
	}
}
