package train

import (
	"encoding/xml"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCurveSVG(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, LogFile)
	lines := `{"epoch":1,"train_loss":0.5,"metrics":{"micro_f1":0.1,"macro_auc":0.6},"best":true}
{"epoch":2,"train_loss":0.3,"metrics":{"micro_f1":0.4,"macro_auc":0.7},"best":true}
{"epoch":3,"train_loss":0.2,"metrics":{"micro_f1":0.3,"macro_auc":0.72},"best":false}
`
	if err := os.WriteFile(log, []byte(lines), 0o644); err != nil {
		t.Fatal(err)
	}
	recs, err := ReadLog(log)
	if err != nil || len(recs) != 3 {
		t.Fatalf("ReadLog: %d records, %v", len(recs), err)
	}
	out := filepath.Join(dir, "curve.svg")
	if err := WriteCurveSVG(out, recs, []string{"micro_f1", "macro_auc", "absent"}); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Polylines []struct {
			Points string `xml:"points,attr"`
		} `xml:"polyline"`
	}
	if err := xml.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("not well-formed SVG: %v", err)
	}
	// Loss, micro_f1 and macro_auc; "absent" is not in the log.
	if len(doc.Polylines) != 3 {
		t.Fatalf("%d polylines, want 3", len(doc.Polylines))
	}
	for _, p := range doc.Polylines {
		if n := len(strings.Fields(p.Points)); n != 3 {
			t.Errorf("a series has %d points, want 3", n)
		}
	}
	if !strings.Contains(string(raw), "best 2") {
		t.Error("the best epoch (2) is not marked")
	}
	if err := os.WriteFile(log, []byte(lines+"{torn"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadLog(log); err == nil || !strings.Contains(err.Error(), "line 4") {
		t.Errorf("torn log: %v", err)
	}
	if err := WriteCurveSVG(out, nil, nil); err == nil {
		t.Error("an empty log was plotted")
	}
}
