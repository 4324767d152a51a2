package labelspace

import (
	"strings"
	"testing"
)

func sample() *Counts {
	c := NewCounts()
	c.AddDoc([]string{"I10", "I50.9", "I10"}, []string{"0BH17EZ"})
	c.AddDoc([]string{"I10", "E11.9"}, nil)
	c.AddDoc([]string{"I10", "I50.9"}, []string{"0BH17EZ", "5A1955Z"})
	c.AddDoc([]string{"J18.9"}, []string{"5A1955Z"})
	return c
}

func TestCountsAreDocumentFrequencies(t *testing.T) {
	c := sample()
	if c.Diag["I10"] != 3 || c.Diag["I50.9"] != 2 || c.Proc["0BH17EZ"] != 2 || c.Docs != 4 {
		t.Fatalf("counts: %+v", c)
	}
}

func TestSelect(t *testing.T) {
	cases := []struct {
		spec Spec
		want string
		d, p int
	}{
		{Spec{Kinds: Both}, "E11.9,I10,I50.9,J18.9,0BH17EZ,5A1955Z", 4, 2},
		{Spec{Kinds: Diagnoses}, "E11.9,I10,I50.9,J18.9", 4, 0},
		{Spec{Kinds: Procedures}, "0BH17EZ,5A1955Z", 0, 2},
		// Top 3 over both kinds: I10 (3), then I50.9, 0BH17EZ, 5A1955Z tie at 2 and
		// the code-string tie-break keeps 0BH17EZ and 5A1955Z ("0" < "5" < "I").
		{Spec{Kinds: Both, Top: 3}, "I10,0BH17EZ,5A1955Z", 1, 2},
		{Spec{Kinds: Both, MinCount: 2}, "I10,I50.9,0BH17EZ,5A1955Z", 2, 2},
		{Spec{Kinds: Diagnoses, MinCount: 2, Top: 1}, "I10", 1, 0},
		{Spec{Fixed: []string{"J18.9", "I10", "Z99.9"}}, "J18.9,I10,Z99.9", 3, 0},
	}
	for _, c := range cases {
		r, err := Select(sample(), c.spec)
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Join(r.Labels, ","); got != c.want || r.Diagnoses != c.d || r.Procedures != c.p {
			t.Errorf("%+v: %s (%d/%d), want %s (%d/%d)", c.spec, got, r.Diagnoses, r.Procedures, c.want, c.d, c.p)
		}
	}
	r, _ := Select(sample(), Spec{Kinds: Both, Top: 3})
	if len(r.Warnings) != 1 || !strings.Contains(r.Warnings[0], "tie") {
		t.Errorf("tie at the cut not reported: %v", r.Warnings)
	}
	r, _ = Select(sample(), Spec{Fixed: []string{"Z99.9"}})
	if len(r.Warnings) != 1 {
		t.Errorf("unseen fixed code not reported: %v", r.Warnings)
	}
}

func TestSelectErrors(t *testing.T) {
	if _, err := Select(sample(), Spec{Kinds: Both, MinCount: 10}); err == nil {
		t.Error("empty label space accepted")
	}
	if _, err := Select(sample(), Spec{Fixed: []string{"I10"}, Top: 2}); err == nil {
		t.Error("fixed list with --top accepted")
	}
	if _, err := Select(sample(), Spec{Fixed: []string{"I10", "I10"}}); err == nil {
		t.Error("repeated fixed code accepted")
	}
	c := NewCounts()
	c.AddDoc([]string{"01"}, []string{"01"})
	if _, err := Select(c, Spec{Kinds: Both}); err == nil {
		t.Error("a code that is both a diagnosis and a procedure was accepted")
	}
	if _, err := ParseKinds("everything"); err == nil {
		t.Error("ParseKinds accepted an unknown name")
	}
}
