// Package splits reads the published MIMIC HADM_ID split lists, so icdcode
// evaluates on exactly the admissions the literature uses:
//
//   - CAML (Mullenbach et al.): a folder with {train,dev,test}_{50,full}_hadm_ids.csv,
//     one HADM_ID a line, no header;
//   - Edin et al. (medical-coding-reproducibility): *_splits.feather (Arrow
//     IPC, as published) or a CSV conversion of it (*_splits.csv[.gz]), with
//     columns _id (HADM_ID) and split (train/val/test; val is our dev).
//
// Every list becomes a map HADM_ID → split with counts per split. An id listed
// twice is an error, in one split or across two. Counts that differ from the
// published sizes are reported as warnings by Check, not as errors: a user
// may legitimately prepare a subset.
package splits

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/icdcode/icdcode/data/csvtable"
	"github.com/icdcode/icdcode/data/dataset"
	"github.com/icdcode/icdcode/data/fileio"
)

// Split is one split list.
type Split struct {
	// IDs maps each HADM_ID to "train", "dev" or "test".
	IDs map[int64]string
	// Counts holds the number of ids per split, for all three splits.
	Counts map[string]int
	// Source is the folder (CAML) or file (Edin) read; Files lists the
	// files read.
	Source string
	Files  []string
	// Format is "caml" or "edin".
	Format string
	// Warnings collects what Read found worth telling (size mismatches).
	Warnings []string
	// where records the file and line (or row) of every id, for duplicate
	// errors; formatted only when one occurs.
	where map[int64]place
}

// place is where an id was read: file and line, or row for Arrow files.
type place struct {
	file string
	n    int
	row  bool
}

func (p place) String() string {
	if p.row {
		return fmt.Sprintf("%s row %d", p.file, p.n)
	}
	return fmt.Sprintf("%s line %d", p.file, p.n)
}

// Sizes are the published train/dev/test sizes of a split list.
type Sizes struct{ Train, Dev, Test int }

// Published holds the sizes of the published lists, keyed "caml-50",
// "caml-full", "edin-50", "edin-full", "edin-clean". Edin's full list lacks
// four CAML ids that are absent from MIMIC-III v1.4.
var Published = map[string]Sizes{
	"caml-50":    {8066, 1573, 1729},
	"caml-full":  {47723, 1631, 3372},
	"edin-50":    {8066, 1573, 1729},
	"edin-full":  {47719, 1631, 3372},
	"edin-clean": {38401, 5577, 8734},
}

func newSplit(format string) *Split {
	return &Split{IDs: map[int64]string{}, Counts: map[string]int{"train": 0, "dev": 0, "test": 0}, Format: format, where: map[int64]place{}}
}

// add records one id; at says where it was read, for error messages.
func (s *Split) add(id int64, split string, at place) error {
	if prev, dup := s.IDs[id]; dup {
		if prev == split {
			return fmt.Errorf("%s: HADM_ID %d is listed twice in split %s (first at %s)", at, id, split, s.where[id])
		}
		return fmt.Errorf("%s: HADM_ID %d is in two splits, %s (at %s) and %s", at, id, prev, s.where[id], split)
	}
	s.IDs[id] = split
	s.where[id] = at
	s.Counts[split]++
	return nil
}

// Len returns the number of ids.
func (s *Split) Len() int { return len(s.IDs) }

// Sorted returns the ids of one split in increasing order.
func (s *Split) Sorted(split string) []int64 {
	var ids []int64
	for id, sp := range s.IDs {
		if sp == split {
			ids = append(ids, id)
		}
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	return ids
}

// Check compares the counts with the published sizes under key (see
// Published) and returns a warning per differing split; an unknown key is
// itself a warning.
func (s *Split) Check(key string) []string {
	want, ok := Published[key]
	if !ok {
		return []string{fmt.Sprintf("no published sizes known for %q", key)}
	}
	var warnings []string
	for _, c := range []struct {
		split string
		n     int
	}{{"train", want.Train}, {"dev", want.Dev}, {"test", want.Test}} {
		if got := s.Counts[c.split]; got != c.n {
			warnings = append(warnings, fmt.Sprintf("split list %s: %s has %d ids, the published %s list has %d", s.Source, c.split, got, key, c.n))
		}
	}
	return warnings
}

// CAMLFiles returns the three files of a CAML set ("50" or "full") in dir,
// in train, dev, test order.
func CAMLFiles(dir, set string) ([]string, error) {
	if set != "50" && set != "full" {
		return nil, fmt.Errorf("CAML split lists exist for 50 and full, not %q", set)
	}
	files := make([]string, len(dataset.Splits))
	for i, sp := range dataset.Splits {
		files[i] = filepath.Join(dir, sp+"_"+set+"_hadm_ids.csv")
	}
	return files, nil
}

// ReadCAML reads the CAML lists of one set ("50" or "full") from dir.
func ReadCAML(dir, set string) (*Split, error) {
	files, err := CAMLFiles(dir, set)
	if err != nil {
		return nil, err
	}
	s := newSplit("caml")
	s.Source = dir
	for i, path := range files {
		if err := readIDList(s, path, dataset.Splits[i]); err != nil {
			return nil, err
		}
		s.Files = append(s.Files, path)
	}
	s.where = nil // only needed while reading
	return s, nil
}

// readIDList reads one id a line; surrounding space and blank lines are
// tolerated (a trailing newline or two), anything else not an integer is an
// error naming the line.
func readIDList(s *Split, path, split string) error {
	f, err := fileio.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" {
			continue
		}
		id, err := strconv.ParseInt(text, 10, 64)
		if err != nil || id < 0 {
			return fmt.Errorf("%s line %d: %q is not a HADM_ID", path, line, clip(text))
		}
		if err := s.add(id, split, place{file: path, n: line}); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// ReadEdin reads an Edin et al. split file: Arrow IPC (.feather, .arrow) or
// CSV (.csv, .csv.gz) with columns _id and split.
func ReadEdin(path string) (*Split, error) {
	s := newSplit("edin")
	lower := strings.ToLower(path)
	var err error
	switch {
	case strings.HasSuffix(lower, ".feather") || strings.HasSuffix(lower, ".arrow"):
		err = readFeather(s, path)
	case strings.HasSuffix(lower, ".csv") || strings.HasSuffix(lower, ".csv.gz"):
		err = readEdinCSV(s, path)
	default:
		err = fmt.Errorf("%s: unknown split file type (want .feather, .csv or .csv.gz)", path)
	}
	if err != nil {
		return nil, err
	}
	s.Source, s.Files = path, []string{path}
	s.where = nil // only needed while reading
	return s, nil
}

func readEdinCSV(s *Split, path string) error {
	r, err := csvtable.Open(path)
	if err != nil {
		return err
	}
	defer r.Close()
	idCol, err := r.Column("_id")
	if err != nil {
		return err
	}
	splitCol, err := r.Column("split")
	if err != nil {
		return err
	}
	for {
		rec, err := r.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		id, err := strconv.ParseInt(strings.TrimSpace(rec[idCol]), 10, 64)
		if err != nil || id < 0 {
			return r.Errorf(idCol, "%q is not a HADM_ID", clip(rec[idCol]))
		}
		split, err := dataset.NormalizeSplit(strings.ToLower(strings.TrimSpace(rec[splitCol])))
		if err != nil {
			return r.Errorf(splitCol, "%v", err)
		}
		if err := s.add(id, split, place{file: path, n: r.Line()}); err != nil {
			return err
		}
	}
}

// Read reads the split list at path for a preset ("50", "full" or
// "clean"): a folder is read as CAML lists of that preset, a file as an Edin
// split file. The counts are checked against the published sizes of the
// matching list, and a file whose name says another preset
// (mimiciii_full_splits for preset 50) is warned about too.
func Read(path, preset string) (*Split, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("split list: %w", err)
	}
	var s *Split
	if st.IsDir() {
		if preset == "clean" {
			return nil, fmt.Errorf("split list %s: CAML published no clean split; give Edin et al.'s mimiciii_clean_splits.feather (or .csv) file", path)
		}
		if s, err = ReadCAML(path, preset); err != nil {
			return nil, err
		}
		s.Warnings = append(s.Warnings, s.Check("caml-"+preset)...)
		return s, nil
	}
	if s, err = ReadEdin(path); err != nil {
		return nil, err
	}
	base := strings.ToLower(filepath.Base(path))
	for _, p := range []string{"50", "full", "clean"} {
		if strings.Contains(base, "mimiciii_"+p+"_") && p != preset {
			s.Warnings = append(s.Warnings, fmt.Sprintf("split file %s looks like the %s list but preset %s was asked for", path, p, preset))
		}
	}
	s.Warnings = append(s.Warnings, s.Check("edin-"+preset)...)
	return s, nil
}

// clip shortens a bad value for an error message.
func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}
