package mimic3

import (
	"bufio"
	"compress/gzip"
	"encoding/csv"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/icdcode/icdcode/data/dataset"
	"github.com/icdcode/icdcode/data/labelspace"
	"github.com/icdcode/icdcode/data/textnorm"
)

// TestSyntheticMatchesInMemory runs Prepare on a generated corpus (gzipped,
// so the .gz path is covered at some size) and compares every document with
// a naive preparation that holds all text in memory, which the spill file
// must reproduce exactly.
func TestSyntheticMatchesInMemory(t *testing.T) {
	dir := t.TempDir()
	syn, err := GenerateSynthetic(dir, SynthOptions{NoteBytes: 4 << 20, Seed: 42, Gzip: true})
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	var progress strings.Builder
	res, err := Prepare(Options{Dir: syn.Dir, Splits: syn.SplitsDir, Preset: "full", Kinds: labelspace.Both,
		Text: textnorm.Keep, Out: out, Progress: &progress, ProgressEvery: time.Nanosecond})
	if err != nil {
		t.Fatal(err)
	}
	// Progress lines: amounts, rates and time left, never note text.
	lines := strings.Split(strings.TrimSpace(progress.String()), "\n")
	if len(lines) < 3 || !strings.HasPrefix(lines[0], "NOTEEVENTS.csv.gz: ") || !strings.Contains(lines[0], "MB/s, about") ||
		!strings.Contains(progress.String(), "documents/s") || strings.Contains(progress.String(), "Admission") {
		t.Errorf("progress:\n%s", progress.String())
	}

	// The naive way: split ids, all discharge text in memory.
	split := map[string]string{}
	for _, s := range dataset.Splits {
		raw, _ := os.ReadFile(filepath.Join(syn.SplitsDir, s+"_full_hadm_ids.csv"))
		for _, id := range strings.Fields(string(raw)) {
			split[id] = s
		}
	}
	text := map[string][]string{}
	f, _ := os.Open(syn.NoteEvents)
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	cr := csv.NewReader(bufio.NewReader(zr))
	cr.Read()
	for {
		r, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if r[6] == "Discharge summary" && r[9] == "" && split[r[2]] != "" {
			text[r[2]] = append(text[r[2]], r[10])
		}
	}
	ds, err := dataset.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	n, prev := 0, int64(-1)
	for d, err := range ds.Docs("train") {
		if err != nil {
			t.Fatal(err)
		}
		n++
		id, _ := strconv.ParseInt(d.ID, 10, 64)
		if id <= prev {
			t.Errorf("document %d after %d", id, prev)
		}
		prev = id
		want := strings.TrimSpace(strings.Join(text[d.ID], "\n\n"))
		if d.Text != want {
			t.Fatalf("document %s: text differs from the in-memory join (%d vs %d bytes)", d.ID, len(d.Text), len(want))
		}
	}
	withText := map[string]int{}
	for id := range text {
		withText[split[id]]++
	}
	for _, s := range dataset.Splits {
		if ds.Manifest.Counts[s] != withText[s] {
			t.Errorf("%s: %d documents, %d admissions with discharge text", s, ds.Manifest.Counts[s], withText[s])
		}
	}
	if n != withText["train"] || res.Notes == 0 || ds.Manifest.Build.Skipped["discharge_notes_outside_split_list"] == 0 {
		t.Errorf("train %d, notes %d, skipped %v", n, res.Notes, ds.Manifest.Build.Skipped)
	}
}
