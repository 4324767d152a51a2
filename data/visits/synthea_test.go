package visits

import (
	"strings"
	"testing"

	"github.com/icdcode/icdcode/data/shareddata"
)

func TestSyntheaSample(t *testing.T) {
	enc := shareddata.Path(t, "synthea", "encounters.csv")
	cond := shareddata.Path(t, "synthea", "conditions.csv")
	c, sk, err := ReadSynthea(SyntheaOptions{Encounters: enc, Conditions: cond})
	if err != nil {
		t.Fatal(err)
	}
	// med2vec-reference.md §8: 7,584 encounters, 3,116 with ≥ 1 condition,
	// 4,428 condition rows; 110 patients with ≥ 2 such encounters.
	if len(c.Patients) != 110 {
		t.Fatalf("%d patients, want 110", len(c.Patients))
	}
	if got := c.NumVisits() + sk.FewVisitsVisits; got != 3116 {
		t.Errorf("%d non-empty encounters (%d kept + %d of dropped patients), want 3116", got, c.NumVisits(), sk.FewVisitsVisits)
	}
	if sk.EmptyVisits != 7584-3116 {
		t.Errorf("%d empty encounters, want %d", sk.EmptyVisits, 7584-3116)
	}
	if sk.MissingCodes != 0 || sk.UnknownVisit != 0 {
		t.Errorf("skips %+v", sk)
	}
	codes, distinct := 0, map[string]bool{}
	for i, p := range c.Patients {
		if i > 0 && c.Patients[i-1].ID >= p.ID {
			t.Fatal("patients not in id order")
		}
		for j, v := range p.Visits {
			if j > 0 && v.Time.Before(p.Visits[j-1].Time) {
				t.Fatalf("patient %s: visits out of time order", p.ID)
			}
			for _, code := range v.Codes {
				codes++
				distinct[code] = true
				if strings.Trim(code, "0123456789") != "" {
					t.Fatalf("code %q is not a SNOMED CT id", code)
				}
			}
		}
	}
	if codes > 4428 || len(distinct) > 165 || len(distinct) < 100 {
		t.Errorf("%d code occurrences, %d distinct codes", codes, len(distinct))
	}
	ref := c.Reference(nil)
	if ref.Labels != nil || len(ref.Seqs) != c.NumVisits()+109 || len(ref.Types) != len(distinct) {
		t.Errorf("reference: %d rows, %d types", len(ref.Seqs), len(ref.Types))
	}
}

func TestSyntheaBadInput(t *testing.T) {
	dir := t.TempDir()
	cond := writeFile(t, dir, "conditions.csv", "START,STOP,PATIENT,ENCOUNTER,CODE,DESCRIPTION\n2020-01-01,,p1,e1,123,x\n2020-01-01,,p1,e9,456,x\n2020-01-01,,p1,e1,,x\n")
	enc := writeFile(t, dir, "encounters.csv", "Id,START,PATIENT\ne1,2020-01-01T00:00:00Z,p1\ne2,2020-01-02T00:00:00Z,p1\n")
	c, sk, err := ReadSynthea(SyntheaOptions{Encounters: enc, Conditions: cond, MinVisits: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Patients) != 1 || c.NumVisits() != 1 || sk != (Skips{EmptyVisits: 1, MissingCodes: 1, UnknownVisit: 1}) {
		t.Errorf("%d patients, %d visits, skips %+v", len(c.Patients), c.NumVisits(), sk)
	}
	bad := writeFile(t, dir, "bad.csv", "Id,START,PATIENT\ne1,2020-01-01T00:00:00Z,p1\ne2,2020-13-02,p1\n")
	_, _, err = ReadSynthea(SyntheaOptions{Encounters: bad, Conditions: cond})
	if err == nil || !strings.Contains(err.Error(), "bad.csv line 3, column START") {
		t.Errorf("malformed START: %v", err)
	}
	_, _, err = ReadSynthea(SyntheaOptions{Encounters: enc, Conditions: enc})
	if err == nil || !strings.Contains(err.Error(), `no column "ENCOUNTER"`) {
		t.Errorf("wrong table: %v", err)
	}
}
