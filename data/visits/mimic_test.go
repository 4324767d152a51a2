package visits

import (
	"bufio"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/icdcode/icdcode/data/shareddata"
)

// processMIMIC re-implements process_mimic.py step by step, independently
// of ReadMIMIC (plain line splitting, as the reference does), with the three
// documented departures: the code field's quotes are trimmed only when
// present (the reference's tokens[4][1:-1] turns 99591 into 959), patients
// go in SUBJECT_ID order and time ties by HADM_ID (the reference uses
// Python 2 dict order and compares code lists), and 3-digit rows keep
// first-occurrence order instead of set() order.
func processMIMIC(t *testing.T, admPath, dxPath string) *Reference {
	lines := func(path string) [][]string {
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		var out [][]string
		sc := bufio.NewScanner(f)
		sc.Buffer(nil, 1<<20)
		sc.Scan() // header
		for sc.Scan() {
			out = append(out, strings.Split(strings.TrimSpace(sc.Text()), ","))
		}
		return out
	}
	atoi := func(s string) int {
		n, err := strconv.Atoi(s)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	convert := func(dx string) string {
		if strings.HasPrefix(dx, "E") {
			if len(dx) > 4 {
				return dx[:4] + "." + dx[4:]
			}
			return dx
		}
		if len(dx) > 3 {
			return dx[:3] + "." + dx[3:]
		}
		return dx
	}
	convert3 := func(dx string) string {
		if strings.HasPrefix(dx, "E") {
			if len(dx) > 4 {
				return dx[:4]
			}
			return dx
		}
		if len(dx) > 3 {
			return dx[:3]
		}
		return dx
	}
	pidAdm := map[int][]int{}
	admDate := map[int]time.Time{}
	for _, tok := range lines(admPath) {
		pid, adm := atoi(tok[1]), atoi(tok[2])
		tm, err := time.Parse("2006-01-02 15:04:05", tok[3])
		if err != nil {
			t.Fatal(err)
		}
		admDate[adm] = tm
		pidAdm[pid] = append(pidAdm[pid], adm)
	}
	admDx := map[int][]string{}
	for _, tok := range lines(dxPath) {
		adm := atoi(tok[2])
		code := strings.Trim(tok[4], `"`)
		admDx[adm] = append(admDx[adm], "D_"+convert(code)+"\x00D_"+convert3(code))
	}
	var pids []int
	for pid, adms := range pidAdm {
		if len(adms) >= 2 {
			pids = append(pids, pid)
		}
	}
	slices.Sort(pids)
	ref := &Reference{Types: map[string]int{}, LabelTypes: map[string]int{}}
	for i, pid := range pids {
		if i > 0 {
			ref.Seqs = append(ref.Seqs, []int{-1})
			ref.Labels = append(ref.Labels, []int{-1})
		}
		adms := slices.Clone(pidAdm[pid])
		slices.SortFunc(adms, func(a, b int) int {
			if c := admDate[a].Compare(admDate[b]); c != 0 {
				return c
			}
			return a - b
		})
		for _, adm := range adms {
			var row, lab []int
			for _, pair := range admDx[adm] {
				full, three, _ := strings.Cut(pair, "\x00")
				if _, ok := ref.Types[full]; !ok {
					ref.Types[full] = len(ref.Types)
				}
				row = append(row, ref.Types[full])
				if _, ok := ref.LabelTypes[three]; !ok {
					ref.LabelTypes[three] = len(ref.LabelTypes)
				}
				if id := ref.LabelTypes[three]; !slices.Contains(lab, id) {
					lab = append(lab, id)
				}
			}
			ref.Seqs = append(ref.Seqs, row)
			ref.Labels = append(ref.Labels, lab)
		}
	}
	return ref
}

func TestMIMICDemo(t *testing.T) {
	adm := shareddata.Path(t, "mimic3_demo", "ADMISSIONS.csv")
	dx := shareddata.Path(t, "mimic3_demo", "DIAGNOSES_ICD.csv")
	c, sk, err := ReadMIMIC(MIMICOptions{Admissions: adm, Diagnoses: dx})
	if err != nil {
		t.Fatal(err)
	}
	// Reference facts (med2vec-reference.md §8): 100 patients, 86 with one
	// admission; 14 with ≥ 2 → 43 visits, 56 rows with separators, 259 full
	// and 150 3-digit codes.
	if len(c.Patients) != 14 || c.NumVisits() != 43 {
		t.Fatalf("%d patients, %d visits; want 14, 43", len(c.Patients), c.NumVisits())
	}
	if want := (Skips{FewVisits: 86, FewVisitsVisits: 86}); sk != want {
		t.Errorf("skips %+v, want %+v", sk, want)
	}
	ref := c.Reference(ICD9ThreeDigit)
	if len(ref.Seqs) != 56 || len(ref.Types) != 259 || len(ref.LabelTypes) != 150 {
		t.Fatalf("%d rows, %d codes, %d 3-digit codes; want 56, 259, 150", len(ref.Seqs), len(ref.Types), len(ref.LabelTypes))
	}
	want := processMIMIC(t, adm, dx)
	if !reflect.DeepEqual(ref, want) {
		t.Fatalf("reference layout differs from process_mimic.py's logic")
	}
	// The unquoted-code bug: 99591 must stay D_995.91 (the reference would
	// make it D_959).
	if _, ok := ref.Types["D_995.91"]; !ok {
		t.Errorf("D_995.91 missing from types")
	}
	for p := range c.Patients {
		for i := 1; i < len(c.Patients[p].Visits); i++ {
			if c.Patients[p].Visits[i].Time.Before(c.Patients[p].Visits[i-1].Time) {
				t.Fatalf("patient %s: visits out of time order", c.Patients[p].ID)
			}
		}
	}

	// The pickles round-trip through the reference file layout.
	prefix := filepath.Join(t.TempDir(), "mimic")
	if err := WriteReferenceFiles(prefix, ref); err != nil {
		t.Fatal(err)
	}
	back, err := ReadReferenceFiles(prefix)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, ref) {
		t.Fatal("reference files do not round-trip")
	}

	// Procedures add P_ codes to the same visits and leave labels alone.
	pr := shareddata.Path(t, "mimic3_demo", "PROCEDURES_ICD.csv")
	cp, _, err := ReadMIMIC(MIMICOptions{Admissions: adm, Diagnoses: dx, Procedures: pr})
	if err != nil {
		t.Fatal(err)
	}
	if cp.NumVisits() != 43 {
		t.Fatalf("with procedures: %d visits, want 43", cp.NumVisits())
	}
	refP := cp.Reference(ICD9ThreeDigit)
	if !reflect.DeepEqual(refP.Labels, ref.Labels) {
		t.Error("procedures changed the 3-digit label rows")
	}
	nP := 0
	for code := range refP.Types {
		if strings.HasPrefix(code, "P_") {
			nP++
			if !procCode.MatchString(code) {
				t.Errorf("procedure code %q not dotted after 2 characters", code)
			}
		}
	}
	if nP == 0 || len(refP.Types) != 259+nP {
		t.Errorf("%d procedure codes, %d codes in all", nP, len(refP.Types))
	}
}

// procCode is an ICD-9 procedure dotted after 2 digits, as FormatICD9 does.
var procCode = regexp.MustCompile(`^P_[0-9]{2}(\.[0-9]{1,2})?$`)

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestMIMICSkipsAndConventions(t *testing.T) {
	dir := t.TempDir()
	// Upper-case header (full release), quoted codes, an admission without
	// diagnoses, a one-visit patient, an empty code, a diagnosis of an
	// unknown admission, and a time tie broken by HADM_ID.
	adm := writeFile(t, dir, "ADMISSIONS.csv", `ROW_ID,SUBJECT_ID,HADM_ID,ADMITTIME
1,7,102,2100-01-02 00:00:00
2,7,101,2100-01-02 00:00:00
3,7,103,2101-05-01 10:00:00
4,5,201,2100-01-01 00:00:00
5,5,202,2099-01-01 00:00:00
6,9,301,2100-01-01 00:00:00
`)
	dx := writeFile(t, dir, "DIAGNOSES_ICD.csv", `ROW_ID,SUBJECT_ID,HADM_ID,SEQ_NUM,ICD9_CODE
1,7,101,1,"4019"
2,7,101,2,E8889
3,7,102,1,V4511
4,7,102,2,
5,5,201,1,401
6,5,202,1,25000
7,5,202,2,4019
8,9,301,1,4019
9,8,999,1,4019
`)
	c, sk, err := ReadMIMIC(MIMICOptions{Admissions: adm, Diagnoses: dx})
	if err != nil {
		t.Fatal(err)
	}
	want := []Patient{
		{ID: "5", Visits: []Visit{
			{Time: time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC), Codes: []string{"D_250.00", "D_401.9"}},
			{Time: time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC), Codes: []string{"D_401"}},
		}},
		{ID: "7", Visits: []Visit{
			{Time: time.Date(2100, 1, 2, 0, 0, 0, 0, time.UTC), Codes: []string{"D_401.9", "D_E888.9"}},
			{Time: time.Date(2100, 1, 2, 0, 0, 0, 0, time.UTC), Codes: []string{"D_V45.11"}},
		}},
	}
	if !reflect.DeepEqual(c.Patients, want) {
		t.Fatalf("patients\n%+v\nwant\n%+v", c.Patients, want)
	}
	if wantSk := (Skips{FewVisits: 1, FewVisitsVisits: 1, EmptyVisits: 1, MissingCodes: 1, UnknownVisit: 1}); sk != wantSk {
		t.Errorf("skips %+v, want %+v", sk, wantSk)
	}
	ref := c.Reference(ICD9ThreeDigit)
	wantRef := &Reference{
		Seqs:       [][]int{{0, 1}, {2}, {-1}, {1, 3}, {4}},
		Types:      map[string]int{"D_250.00": 0, "D_401.9": 1, "D_401": 2, "D_E888.9": 3, "D_V45.11": 4},
		Labels:     [][]int{{0, 1}, {1}, {-1}, {1, 2}, {3}},
		LabelTypes: map[string]int{"D_250": 0, "D_401": 1, "D_E888": 2, "D_V45": 3},
	}
	if !reflect.DeepEqual(ref, wantRef) {
		t.Fatalf("reference %+v\nwant %+v", ref, wantRef)
	}
	// MinVisits 1 keeps the one-visit patient.
	c1, _, err := ReadMIMIC(MIMICOptions{Admissions: adm, Diagnoses: dx, MinVisits: 1})
	if err != nil || len(c1.Patients) != 3 {
		t.Fatalf("MinVisits 1: %v patients, err %v", len(c1.Patients), err)
	}
}

func TestMIMICBadInput(t *testing.T) {
	dir := t.TempDir()
	dx := writeFile(t, dir, "dx.csv", "hadm_id,icd9_code\n1,4019\n")
	cases := []struct {
		name, adm, dx string
		want          []string
	}{
		{"malformed date", "subject_id,hadm_id,admittime\n1,1,2100-01-01 00:00:00\n1,2,01/02/2100\n", "", []string{"adm.csv line 3, column admittime", "malformed admission time"}},
		{"missing column", "subject_id,hadm_id,admit_time\n1,1,2100-01-01 00:00:00\n", "", []string{"adm.csv", `no column "ADMITTIME"`}},
		{"bad id", "subject_id,hadm_id,admittime\nx,1,2100-01-01 00:00:00\n", "", []string{"adm.csv line 2, column subject_id", "not an integer"}},
		{"duplicate admission", "subject_id,hadm_id,admittime\n1,1,2100-01-01 00:00:00\n1,1,2100-01-01 00:00:00\n", "", []string{"line 3, column hadm_id", "twice"}},
		{"bad code", "subject_id,hadm_id,admittime\n1,1,2100-01-01 00:00:00\n", "hadm_id,icd9_code\n1,40 19\n", []string{"dx2.csv line 2, column icd9_code"}},
		{"ragged row", "subject_id,hadm_id,admittime\n1,1,2100-01-01 00:00:00,x\n", "", []string{"adm.csv line 2", "fields"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := writeFile(t, dir, "adm.csv", tc.adm)
			d := dx
			if tc.dx != "" {
				d = writeFile(t, dir, "dx2.csv", tc.dx)
			}
			_, _, err := ReadMIMIC(MIMICOptions{Admissions: a, Diagnoses: d})
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}
