package sources

import (
	"bytes"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/icdcode/icdcode/data/icd"
)

// fuzzParse runs one parser on arbitrary bytes and checks what every
// successful or failed parse must guarantee: no panic (the fuzzer reports
// it), entries with a canonical code of the expected system, a non-empty
// valid UTF-8 term and a tag, and Stats.Entries equal to what was emitted.
// Seed corpora live in testdata/fuzz/<FuzzName>/.
func fuzzParse(t *testing.T, kind, name string, data []byte, opt Options, sys icd.System) {
	n := 0
	st, err := ParseReader(kind, name, bytes.NewReader(data), opt, func(e Entry) error {
		n++
		if e.Code == "" || e.Term == "" || e.Source == "" {
			t.Fatalf("incomplete entry %+v", e)
		}
		if !utf8.ValidString(e.Term) {
			t.Fatalf("term %q is not valid UTF-8", e.Term)
		}
		if e.Term != strings.TrimSpace(e.Term) {
			t.Fatalf("term %q has surrounding space", e.Term)
		}
		d, derr := icd.Normalize(e.Code, sys, icd.Diagnosis)
		p, perr := icd.Normalize(e.Code, sys, icd.Procedure)
		if !(derr == nil && d == e.Code) && !(perr == nil && p == e.Code) {
			t.Fatalf("code %q is not a canonical %s code", e.Code, sys)
		}
		return nil
	})
	if n != st.Entries {
		t.Fatalf("emitted %d entries, Stats.Entries = %d (err %v)", n, st.Entries, err)
	}
	if err != nil && !strings.Contains(err.Error(), name) {
		t.Fatalf("error %q does not name the file", err)
	}
}

func FuzzTabularXML(f *testing.F) {
	f.Add([]byte(`<ICD10CM.tabular><diag><name>A00</name><desc>Cholera</desc><diag><name>A00.0</name><desc>x</desc><inclusionTerm><note>Classical cholera</note></inclusionTerm></diag></diag></ICD10CM.tabular>`))
	f.Add([]byte(`<ICD10CM.tabular><diag><desc>x</desc></diag></ICD10CM.tabular>`))
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzParse(t, KindTabular, "f.xml", data, Options{}, icd.ICD10)
	})
}

func FuzzIndexXML(f *testing.F) {
	f.Add([]byte(`<ICD10CM.index><letter><title>A</title><mainTerm><title>Struck<nemod>(x)</nemod> by</title><term level="1"><title>airbag</title><code>W22.10</code></term></mainTerm></letter></ICD10CM.index>`))
	f.Add([]byte(`<ICD10CM.index><letter><mainTerm><title>a NEC</title><subcat>T75.0</subcat><code>I50.-</code></mainTerm></letter></ICD10CM.index>`))
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzParse(t, KindIndex, "f.xml", data, Options{}, icd.ICD10)
	})
}

func FuzzIndexCSV(f *testing.F) {
	f.Add([]byte("RowID,Letter,Level,Term,See,SeeAlso,NonEssModif,Code\n1,A,0,\"Asthenia, asthenic\",,,,R53.1\n2,A,1,cardiac,,,,I50.9\n3,A,1,,,,(mood),F34.9\n"))
	f.Add([]byte("Level,Term,Code\n0,Note: x,\n1,b,A01.-\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzParse(t, KindIndex, "f.csv", data, Options{}, icd.ICD10)
	})
}

func FuzzCMS(f *testing.F) {
	f.Add([]byte("0010  Cholera due to vibrio cholerae\n0413  Friedl\xe4nder's bacillus\nE8497  Accident\n"))
	f.Add([]byte("V5861 Long-term (current) use of anticoagulants\r\n\n   \n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzParse(t, KindCMS, "CMS32_DESC_LONG_DX.txt", data, Options{}, icd.ICD9)
	})
}

func FuzzCAML(f *testing.F) {
	f.Add([]byte("@\tRoot\n00-99.99\tPROCEDURES\n38.93\tVenous cath\n401\tEssential hypertension\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzParse(t, KindCAML, "caml.tsv", data, Options{}, icd.ICD9)
	})
}

func FuzzTSV(f *testing.F) {
	f.Add([]byte("# comment\n\nI50.9\tHeart failure\n0BH17EZ\tinsertion\nbad\tx\n"), false)
	f.Add([]byte("401.9\thypertension\n4019\tambiguous\n"), true)
	f.Fuzz(func(t *testing.T, data []byte, icd9 bool) {
		sys := icd.ICD10
		if icd9 {
			sys = icd.ICD9
		}
		fuzzParse(t, KindTSV, "f.tsv", data, Options{System: sys}, sys)
	})
}

func FuzzMIMIC(f *testing.F) {
	f.Add([]byte("row_id,icd9_code,short_title,long_title\n1,01716,Erythem nod tb-oth test,\"Erythema nodosum, with \"\"x\"\"\"\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzParse(t, KindMIMIC, "D_ICD_DIAGNOSES.csv", data, Options{}, icd.ICD9)
	})
}

func FuzzUMLSJSON(f *testing.F) {
	f.Add([]byte(`{"401.9": ["hypertension", "htn"], "38.93": []}`))
	f.Add([]byte(`{"401.9": [1]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzParse(t, KindUMLS, "u.json", data, Options{System: icd.ICD9}, icd.ICD9)
	})
}
