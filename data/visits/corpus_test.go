package visits

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
)

func TestICD9ThreeDigit(t *testing.T) {
	for in, want := range map[string]string{
		"D_401.9": "D_401", "D_E888.9": "D_E888", "D_V45.11": "D_V45", "D_401": "D_401", "D_E88": "D_E88",
	} {
		if got, ok := ICD9ThreeDigit(in); !ok || got != want {
			t.Errorf("%s → %s, want %s", in, got, want)
		}
	}
	for _, in := range []string{"P_36.05", "401.9", "D_"} {
		if g, ok := ICD9ThreeDigit(in); ok {
			t.Errorf("%s grouped as %s", in, g)
		}
	}
}

func TestFromReference(t *testing.T) {
	c := sampleCorpus()
	ref := c.Reference(ICD9ThreeDigit)
	if !reflect.DeepEqual(ref.Seqs, [][]int{{0, 1, 0}, {2}, {-1}, {3}, {4, 5}, {2}}) {
		t.Fatalf("seqs %v", ref.Seqs)
	}
	// P_36.05 has no 3-digit diagnosis group; duplicates are dropped.
	if !reflect.DeepEqual(ref.Labels, [][]int{{0, 1}, {2}, {-1}, {3}, {4}, {2}}) {
		t.Fatalf("labels %v", ref.Labels)
	}
	back, err := FromReference(ref.Seqs, ref.Types)
	if err != nil {
		t.Fatal(err)
	}
	if len(back.Patients) != 2 {
		t.Fatalf("%d patients", len(back.Patients))
	}
	for i, p := range back.Patients {
		if p.ID != fmt.Sprint(i) || len(p.Visits) != len(c.Patients[i].Visits) {
			t.Fatalf("patient %d: %+v", i, p)
		}
		for j, v := range p.Visits {
			if !slices.Equal(v.Codes, c.Patients[i].Visits[j].Codes) || !v.Time.IsZero() {
				t.Fatalf("patient %d visit %d: %+v", i, j, v)
			}
		}
	}
	types := map[string]int{"a": 0, "b": 1}
	for _, tc := range []struct {
		seqs [][]int
		want string
	}{
		{[][]int{{0}, {2}}, "seqs row 1, item 0: code id 2 is not in types"},
		{[][]int{{0}, {-1}, {-1}, {1}}, "seqs row 2: patient 1 has no visits"},
		{[][]int{{0}, {-1}}, "seqs row 2: patient 1 has no visits"},
		{[][]int{{0}, {}}, "seqs row 1: empty visit"},
	} {
		if _, err := FromReference(tc.seqs, types); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: %v, want %q", tc.seqs, err, tc.want)
		}
	}
	if _, err := FromReference(nil, map[string]int{"a": 0, "b": 2}); err == nil || !strings.Contains(err.Error(), "ids must be 0..1") {
		t.Errorf("gapped types: %v", err)
	}
}

func TestSplit(t *testing.T) {
	c := &Corpus{}
	for i := range 100 {
		c.Patients = append(c.Patients, Patient{ID: fmt.Sprint(i), Visits: []Visit{{Codes: []string{"x"}}}})
	}
	ids := func(c *Corpus) []string {
		var out []string
		for _, p := range c.Patients {
			out = append(out, p.ID)
		}
		return out
	}
	tr, ho, err := c.Split(0.2, 7)
	if err != nil {
		t.Fatal(err)
	}
	if len(tr.Patients) != 80 || len(ho.Patients) != 20 {
		t.Fatalf("%d/%d", len(tr.Patients), len(ho.Patients))
	}
	all := append(ids(tr), ids(ho)...)
	slices.Sort(all)
	if len(slices.Compact(all)) != 100 {
		t.Fatal("split loses or repeats patients")
	}
	_, ho2, _ := c.Split(0.2, 7)
	_, ho3, _ := c.Split(0.2, 8)
	if !slices.Equal(ids(ho), ids(ho2)) {
		t.Error("same seed, different split")
	}
	if slices.Equal(ids(ho), ids(ho3)) {
		t.Error("different seeds, same split")
	}
	if _, _, err := c.Split(1.5, 1); err == nil {
		t.Error("fraction 1.5 accepted")
	}
}

func TestEncodeWith(t *testing.T) {
	c := sampleCorpus()
	// A model trained on the first patient only knows its codes.
	trained := (&Corpus{Patients: c.Patients[:1]}).Reference(ICD9ThreeDigit)
	ref, sk := c.EncodeWith(trained.Types, trained.LabelTypes, ICD9ThreeDigit)
	// Patient 2: visits [E888.9], [V45.11, P_36.05], [401.9] → only the
	// last is known.
	if !reflect.DeepEqual(ref.Seqs, [][]int{{0, 1, 0}, {2}, {-1}, {2}}) ||
		!reflect.DeepEqual(ref.Labels, [][]int{{0, 1}, {2}, {-1}, {2}}) {
		t.Fatalf("seqs %v labels %v", ref.Seqs, ref.Labels)
	}
	if want := (EncodeSkips{UnknownCodes: 3, EmptyVisits: 2}); sk != want {
		t.Errorf("skips %+v, want %+v", sk, want)
	}
	// Without labels: no label rows at all.
	ref, sk = c.EncodeWith(map[string]int{"D_401.9": 0}, nil, nil)
	if !reflect.DeepEqual(ref.Seqs, [][]int{{0}, {-1}, {0}}) || ref.Labels != nil || sk.EmptyPatients != 0 {
		t.Fatalf("seqs %v, skips %+v", ref.Seqs, sk)
	}
	// Patient 1 has no known code (4 unknown occurrences, patient 2 has 3):
	// it disappears with its separator; an unknown label leaves an empty
	// label row for a visit that stays.
	ref, sk = c.EncodeWith(map[string]int{"D_V45.11": 0}, map[string]int{"D_999": 0}, ICD9ThreeDigit)
	if !reflect.DeepEqual(ref.Seqs, [][]int{{0}}) || !reflect.DeepEqual(ref.Labels, [][]int{{}}) ||
		sk != (EncodeSkips{UnknownCodes: 7, UnknownLabels: 1, EmptyVisits: 4, EmptyPatients: 1}) {
		t.Fatalf("seqs %v labels %v, skips %+v", ref.Seqs, ref.Labels, sk)
	}
}
