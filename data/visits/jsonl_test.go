package visits

import (
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func sampleCorpus() *Corpus {
	t0 := time.Date(2164, 10, 23, 21, 9, 0, 0, time.UTC)
	return &Corpus{Patients: []Patient{
		{ID: "10006", Visits: []Visit{
			{Time: t0, Codes: []string{"D_995.91", "D_996.62", "D_995.91"}},
			{Time: t0.Add(48 * time.Hour), Codes: []string{"D_401.9"}},
		}},
		{ID: "p<&>2", Visits: []Visit{
			{Codes: []string{"D_E888.9"}},
			{Codes: []string{"D_V45.11", "P_36.05"}},
			{Codes: []string{"D_401.9"}},
		}},
	}}
}

func TestJSONLRoundTrip(t *testing.T) {
	for _, name := range []string{"v.jsonl", "v.jsonl.gz"} {
		path := filepath.Join(t.TempDir(), name)
		c := sampleCorpus()
		if err := WriteJSONL(path, c); err != nil {
			t.Fatal(err)
		}
		back, err := ReadJSONL(path)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(back, c) {
			t.Fatalf("%s: round trip\n%+v\nwant\n%+v", name, back, c)
		}
	}
}

func TestJSONLBadInput(t *testing.T) {
	dir := t.TempDir()
	good := `{"id":"a","visits":[{"time":"2100-01-01T00:00:00Z","codes":["x"]}]}`
	cases := []struct{ body, want string }{
		{good + "\n" + `{"id":"b","visits":[{"time":"2100-01-32","codes":["x"]}]}`, "line 2: field visits[0].time: malformed time"},
		{good + "\n\n" + `{"id":"a","visits":[{"codes":["x"]}]}`, "line 3, field id: patient \"a\" already on line 1"},
		{`{"id":"a","visits":[{"codes":["x"]},{"time":"2100-01-01T00:00:00Z","codes":["y"]}]}`, "line 1: field visits[1].time: give a time for all visits"},
		{`{"id":"a","visits":[{"time":"2100-01-02T00:00:00Z","codes":["x"]},{"time":"2100-01-01T00:00:00Z","codes":["y"]}]}`, "visits[1].time: visit is earlier"},
		{`{"id":"a","visits":[{"codes":[]}]}`, "line 1: field visits[0].codes: empty visit"},
		{`{"id":"a","visits":[{"codes":["x",""]}]}`, "visits[0].codes[1]: empty code"},
		{`{"id":"a","visit":[]}`, "line 1: not a patient object"},
		{`{"id":"","visits":[{"codes":["x"]}]}`, "line 1: field id: missing or empty"},
		{`{"id":"a","visits":[]}`, "field visits: missing or empty"},
	}
	for i, tc := range cases {
		path := writeFile(t, dir, "bad.jsonl", tc.body)
		_, err := ReadJSONL(path)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "bad.jsonl") {
			t.Errorf("case %d: error %v, want %q", i, err, tc.want)
		}
	}
}
