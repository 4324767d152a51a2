package splits

import (
	"compress/gzip"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/icdcode/icdcode/data/shareddata"
)

// sharedData returns the shared data folder holding the split lists, or skips.
func sharedData(t *testing.T) string {
	t.Helper()
	return filepath.Dir(shareddata.Path(t, "splits"))
}

func wantErr(t *testing.T, err error, parts ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want one mentioning %q", parts)
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Errorf("error %q does not mention %q", err, p)
		}
	}
}

func sameSplit(t *testing.T, a, b *Split, what string) {
	t.Helper()
	if len(a.IDs) != len(b.IDs) {
		t.Fatalf("%s: %d ids vs %d", what, len(a.IDs), len(b.IDs))
	}
	for id, s := range a.IDs {
		if b.IDs[id] != s {
			t.Fatalf("%s: HADM_ID %d is %s in one and %q in the other", what, id, s, b.IDs[id])
		}
	}
}

func TestPublishedSizes(t *testing.T) {
	data := sharedData(t)
	caml := filepath.Join(data, "splits", "caml_mimic3")
	edin := filepath.Join(data, "splits", "edin_mimic")
	bySet := map[string]*Split{}
	for _, set := range []string{"50", "full"} {
		s, err := Read(caml, set)
		if err != nil {
			t.Fatal(err)
		}
		if len(s.Warnings) > 0 {
			t.Errorf("CAML %s: %q", set, s.Warnings)
		}
		want := Published["caml-"+set]
		if s.Counts["train"] != want.Train || s.Counts["dev"] != want.Dev || s.Counts["test"] != want.Test || s.Len() != want.Train+want.Dev+want.Test {
			t.Errorf("CAML %s: counts %v, want %v", set, s.Counts, want)
		}
		if s.Format != "caml" || len(s.Files) != 3 {
			t.Errorf("CAML %s: format %q files %q", set, s.Format, s.Files)
		}
		bySet["caml-"+set] = s
	}
	for _, preset := range []string{"50", "full", "clean"} {
		base := filepath.Join(edin, "mimiciii_"+preset, "mimiciii_"+preset+"_splits")
		feather, err := Read(base+".feather", preset)
		if err != nil {
			t.Fatal(err)
		}
		csv, err := Read(base+".csv", preset)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range []*Split{feather, csv} {
			if len(s.Warnings) > 0 {
				t.Errorf("Edin %s %s: %q", preset, s.Files, s.Warnings)
			}
			want := Published["edin-"+preset]
			if s.Counts["train"] != want.Train || s.Counts["dev"] != want.Dev || s.Counts["test"] != want.Test {
				t.Errorf("Edin %s %s: counts %v, want %v", preset, s.Files, s.Counts, want)
			}
		}
		sameSplit(t, feather, csv, "Edin "+preset+" feather vs csv")
		bySet["edin-"+preset] = feather
	}
	sameSplit(t, bySet["edin-50"], bySet["caml-50"], "Edin 50 vs CAML 50")
	// Every clean id is a CAML-full id; Edin's full list is CAML's minus 4 ids.
	for id := range bySet["edin-clean"].IDs {
		if _, ok := bySet["caml-full"].IDs[id]; !ok {
			t.Fatalf("clean HADM_ID %d is not in CAML full", id)
		}
	}
	missing := 0
	for id, s := range bySet["caml-full"].IDs {
		es, ok := bySet["edin-full"].IDs[id]
		if !ok {
			missing++
		} else if es != s {
			t.Errorf("HADM_ID %d: CAML %s, Edin %s", id, s, es)
		}
	}
	if missing != 4 {
		t.Errorf("%d CAML-full ids missing from Edin full, want 4", missing)
	}
	if ids := bySet["caml-50"].Sorted("dev"); len(ids) != 1573 || ids[0] >= ids[len(ids)-1] {
		t.Errorf("Sorted(dev): %d ids", len(ids))
	}
}

func TestMIMICIVCSVGz(t *testing.T) {
	data := sharedData(t)
	s, err := ReadEdin(filepath.Join(data, "splits", "edin_mimic", "mimiciv_icd9", "mimiciv_icd9_split.csv.gz"))
	if err != nil {
		t.Fatal(err)
	}
	if s.Counts["train"] != 154542 || s.Counts["dev"] != 21980 || s.Counts["test"] != 32804 {
		t.Errorf("MIMIC-IV ICD-9 counts %v", s.Counts)
	}
}

func TestWrongPresetWarns(t *testing.T) {
	data := sharedData(t)
	s, err := Read(filepath.Join(data, "splits", "edin_mimic", "mimiciii_full", "mimiciii_full_splits.feather"), "50")
	if err != nil {
		t.Fatal(err)
	}
	joined := strings.Join(s.Warnings, "\n")
	for _, want := range []string{"looks like the full list but preset 50", "train has 47719 ids, the published edin-50 list has 8066"} {
		if !strings.Contains(joined, want) {
			t.Errorf("warnings %q lack %q", s.Warnings, want)
		}
	}
	_, err = Read(filepath.Join(data, "splits", "caml_mimic3"), "clean")
	wantErr(t, err, "no clean split")
}

func TestDamagedFeather(t *testing.T) {
	data := sharedData(t)
	raw, err := os.ReadFile(filepath.Join(data, "splits", "edin_mimic", "mimiciii_50", "mimiciii_50_splits.feather"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	// Truncations at many points and a flipped byte region must give
	// errors, never a panic or a silently short list.
	for _, cut := range []int{0, 6, 100, len(raw) / 2, len(raw) - 10} {
		p := filepath.Join(dir, "cut.feather")
		os.WriteFile(p, raw[:cut], 0o644)
		if _, err := ReadEdin(p); err == nil {
			t.Errorf("truncated at %d: no error", cut)
		}
	}
	bad := append([]byte(nil), raw...)
	for i := len(bad) - 400; i < len(bad)-100; i++ {
		bad[i] ^= 0x5a
	}
	p := filepath.Join(dir, "flipped.feather")
	os.WriteFile(p, bad, 0o644)
	if _, err := ReadEdin(p); err == nil {
		t.Error("damaged footer: no error")
	}
	// Random damage anywhere, most of it in the footer where the counts
	// are: the reader may succeed (a flipped id is still an id) but must
	// never crash or allocate without bound.
	rng := rand.New(rand.NewPCG(3, 4))
	for n := range 200 {
		bad := append([]byte(nil), raw...)
		for k := 1 + rng.IntN(6); k > 0; k-- {
			i := rng.IntN(len(bad))
			if n%4 != 0 {
				i = len(bad) - 1 - rng.IntN(700)
			}
			bad[i] = byte(rng.Uint32())
		}
		os.WriteFile(p, bad, 0o644)
		if s, err := ReadEdin(p); err == nil && s.Len() > 11368 {
			t.Errorf("variant %d: %d ids from a file of 11,368 rows", n, s.Len())
		}
	}
}

func write(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func camlDir(t *testing.T, train, dev, test string) string {
	dir := t.TempDir()
	write(t, dir, "train_50_hadm_ids.csv", train)
	write(t, dir, "dev_50_hadm_ids.csv", dev)
	write(t, dir, "test_50_hadm_ids.csv", test)
	return dir
}

func TestCAMLSmall(t *testing.T) {
	dir := camlDir(t, "3\n1\n 2 \n\n", "10\n", "20\n21")
	s, err := Read(dir, "50")
	if err != nil {
		t.Fatal(err)
	}
	if s.Counts["train"] != 3 || s.Counts["dev"] != 1 || s.Counts["test"] != 2 || s.IDs[2] != "train" || s.IDs[21] != "test" {
		t.Errorf("counts %v ids %v", s.Counts, s.IDs)
	}
	// Sizes differ from the published ones: warnings, one per split.
	if len(s.Warnings) != 3 || !strings.Contains(s.Warnings[0], "train has 3 ids, the published caml-50 list has 8066") {
		t.Errorf("warnings %q", s.Warnings)
	}
	if got := s.Sorted("train"); len(got) != 3 || got[0] != 1 || got[2] != 3 {
		t.Errorf("Sorted(train) = %v", got)
	}
}

func TestCAMLErrors(t *testing.T) {
	_, err := ReadCAML(camlDir(t, "1\n2\n", "3\n2\n", "4\n"), "50")
	wantErr(t, err, "dev_50_hadm_ids.csv line 2", "HADM_ID 2 is in two splits, train", "train_50_hadm_ids.csv line 2")
	_, err = ReadCAML(camlDir(t, "1\n1\n", "3\n", "4\n"), "50")
	wantErr(t, err, "train_50_hadm_ids.csv line 2", "listed twice")
	_, err = ReadCAML(camlDir(t, "1\n12a\n", "3\n", "4\n"), "50")
	wantErr(t, err, "train_50_hadm_ids.csv line 2", `"12a" is not a HADM_ID`)
	_, err = ReadCAML(camlDir(t, "1\n", "3\n", "4\n"), "full")
	wantErr(t, err, "train_full_hadm_ids.csv")
	_, err = ReadCAML(t.TempDir(), "clean")
	wantErr(t, err, "50 and full")
	_, err = Read(filepath.Join(t.TempDir(), "absent"), "50")
	wantErr(t, err, "absent")
}

func TestEdinCSV(t *testing.T) {
	dir := t.TempDir()
	p := write(t, dir, "x_splits.csv", "\xef\xbb\xbf_ID,Split\r\n5,train\r\n6,val\r\n7,test\r\n8,VAL\r\n")
	s, err := ReadEdin(p)
	if err != nil {
		t.Fatal(err)
	}
	if s.IDs[6] != "dev" || s.IDs[8] != "dev" || s.Counts["dev"] != 2 || s.Format != "edin" {
		t.Errorf("ids %v counts %v", s.IDs, s.Counts)
	}
	// The same list gzipped.
	gz := filepath.Join(dir, "x_splits.csv.gz")
	f, _ := os.Create(gz)
	zw := gzip.NewWriter(f)
	zw.Write([]byte("_id,split\n5,train\n"))
	zw.Close()
	f.Close()
	if s, err := ReadEdin(gz); err != nil || s.Len() != 1 {
		t.Errorf("gz: %v, %v", s, err)
	}

	cases := []struct{ content, want string }{
		{"_id,split\n5,train\n5,test\n", "line 3: HADM_ID 5 is in two splits, train (at " + filepath.Join(dir, "bad.csv") + " line 2) and test"},
		{"_id,split\n5,train\nx,test\n", `line 3, column _id: "x" is not a HADM_ID`},
		{"_id,split\n5,holdout\n", `line 2, column split: unknown split "holdout"`},
		{"id,split\n5,train\n", `no column "_id" (columns found: id, split)`},
		{"_id,split\n5\n", "line 2: record has 1 fields"},
	}
	for _, c := range cases {
		p := write(t, dir, "bad.csv", c.content)
		_, err := ReadEdin(p)
		wantErr(t, err, p, c.want)
	}
	_, err = ReadEdin(write(t, dir, "splits.parquet", ""))
	wantErr(t, err, "unknown split file type")
}
