// Package mimic3 builds an icdcode dataset from the MIMIC-III tables
// (NOTEEVENTS, DIAGNOSES_ICD, PROCEDURES_ICD) and a published split list,
// following the reference preparation (MSAM / Edin et al., reference §11) with
// icdcode's fixes (§14):
//
//   - Notes are the NOTEEVENTS rows with CATEGORY "Discharge summary"
//     (reports and addenda); rows with ISERROR set are skipped. An
//     admission's notes are joined in file order with a blank line between
//     them ("\n\n"), so the keep policy still shows where one note ends; the
//     raw and clean policies collapse it to the single space the reference
//     joins with. DESCRIPTIONs are joined by "+" into meta "descriptions".
//   - Codes are ICD9_CODE of DIAGNOSES_ICD and PROCEDURES_ICD, stripped,
//     empty and "nan" skipped (counted), dotted by icd.Normalize exactly as
//     reformat_icd9, deduplicated per admission.
//   - Documents are the split-list admissions with notes and codes; the
//     label space is chosen over all of them (every split), and documents
//     left without a label code are dropped, as the reference does. Each
//     drop is counted per reason in the manifest.
//
// Documents are written by split (train, dev, test), then by HADM_ID
// ascending, so the output is the same on every run.
//
// Memory stays bounded whatever the size of NOTEEVENTS (about 4 GB in the
// full release): the first pass streams it once, copies the text of the
// notes it keeps into a temporary spill file (next to the output, unlinked
// at once on Unix) and holds only, per admission, the offsets and lengths of
// its notes; the output pass reads each admission's notes back by offset.
// What is held grows with the number of split-list admissions and code rows
// (the codes tables are read whole), never with the note text.
package mimic3

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/icdcode/icdcode/data/csvtable"
	"github.com/icdcode/icdcode/data/dataset"
	"github.com/icdcode/icdcode/data/icd"
	"github.com/icdcode/icdcode/data/labelspace"
	"github.com/icdcode/icdcode/data/prepare"
	"github.com/icdcode/icdcode/data/progress"
	"github.com/icdcode/icdcode/data/splits"
	"github.com/icdcode/icdcode/data/textnorm"
)

// Preset holds the defaults of one published MIMIC-III dataset.
type Preset struct {
	Name     string
	Top      int             // keep the Top most frequent codes (0: all)
	MinCount int             // keep codes with at least MinCount documents
	Text     textnorm.Policy // text policy
}

// Presets are the three MIMIC-III datasets of the literature: MIMIC-III-50
// (top 50 codes, raw text), MIMIC-III-full (all codes, raw text) and Edin et
// al.'s MIMIC-III-clean (codes in at least 10 documents, clean text).
var Presets = map[string]Preset{
	"50":    {Name: "50", Top: 50, Text: textnorm.Raw},
	"full":  {Name: "full", Text: textnorm.Raw},
	"clean": {Name: "clean", MinCount: 10, Text: textnorm.Clean},
}

// LookupPreset returns the named preset.
func LookupPreset(name string) (Preset, error) {
	p, ok := Presets[name]
	if !ok {
		return Preset{}, fmt.Errorf("unknown preset %q (want 50, full or clean)", name)
	}
	return p, nil
}

// Options say what to prepare. Top, MinCount and Text are final values: the
// caller applies the preset's defaults and any explicit overrides.
type Options struct {
	Dir      string // folder with the tables, as .csv or .csv.gz, any case of name
	Splits   string // a CAML split folder or an Edin split file
	Preset   string // "50", "full" or "clean": picks the CAML files and the published sizes
	Kinds    labelspace.Kinds
	Top      int
	MinCount int
	// Labels is a fixed label list (Top and MinCount must then be 0);
	// LabelsFile is where it came from, for the manifest.
	Labels     []string
	LabelsFile string
	// CountOn is "all" (every split, as the reference pipelines count; the
	// default) or "train".
	CountOn string
	// KeepUnlabelled keeps admissions with no code in the label space.
	KeepUnlabelled bool
	Text           textnorm.Policy
	Gzip           bool   // write docs.jsonl.gz
	Out            string // dataset folder to write
	Name           string // manifest name; default "mimic3-" + Preset
	Command        string // the command line, recorded in the manifest
	// TempDir holds the spill file of note text (as large as the kept notes,
	// about 0.6 GB for the full release). Default: Out's parent folder,
	// which must have room for the output anyway; /tmp may be in memory.
	TempDir string
	// Progress receives progress lines for long runs; nil for none.
	Progress io.Writer
	// ProgressEvery is the interval between progress lines (default 5s).
	ProgressEvery time.Duration
}

// Result reports a prepared dataset.
type Result struct {
	Manifest dataset.Manifest
	// NoteBytes is the size of NOTEEVENTS on disk.
	NoteBytes int64
	// Notes is the number of notes kept (joined into documents).
	Notes int
}

// Tables names the MIMIC-III tables read.
var Tables = []string{"NOTEEVENTS", "DIAGNOSES_ICD", "PROCEDURES_ICD"}

// FindTable returns the path of table (e.g. "NOTEEVENTS") in dir: a file
// named table.csv or table.csv.gz in any letter case. Both present, or
// two spellings, is an error rather than a guess.
func FindTable(dir, table string) (string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return "", fmt.Errorf("tables folder: %w", err)
	}
	var found []string
	for _, e := range entries {
		name := strings.ToLower(e.Name())
		if !e.IsDir() && (name == strings.ToLower(table)+".csv" || name == strings.ToLower(table)+".csv.gz") {
			found = append(found, filepath.Join(dir, e.Name()))
		}
	}
	switch len(found) {
	case 0:
		return "", fmt.Errorf("missing table: no %s.csv or %s.csv.gz (any case) in %s", table, table, dir)
	case 1:
		return found[0], nil
	}
	return "", fmt.Errorf("table %s is there more than once in %s (%s); keep one", table, dir, strings.Join(found, ", "))
}

// admission is what the first pass keeps of one split-list admission.
type admission struct {
	id      int64
	subject int64
	notes   []noteRef
	diag    []string
	proc    []string
}

// noteRef locates one note's text in the spill file.
type noteRef struct {
	off  int64
	n    int
	desc string // DESCRIPTION, interned
	line int    // NOTEEVENTS line, for error messages
}

// Prepare builds the dataset. On any error nothing is left at Out (an older
// dataset there is untouched) and the spill file is removed.
func Prepare(o Options) (*Result, error) {
	if o.Out == "" {
		return nil, errors.New("no output folder")
	}
	if err := checkOut(o.Out); err != nil {
		return nil, err
	}
	if _, err := LookupPreset(o.Preset); err != nil {
		return nil, err
	}
	if o.Kinds == "" {
		o.Kinds = labelspace.Both
	}
	if _, err := textnorm.Parse(string(o.Text)); err != nil {
		return nil, err
	}
	if o.Name == "" {
		o.Name = "mimic3-" + o.Preset
	}
	if o.ProgressEvery <= 0 {
		o.ProgressEvery = 5 * time.Second
	}
	paths := map[string]string{}
	for _, t := range Tables {
		p, err := FindTable(o.Dir, t)
		if err != nil {
			return nil, err
		}
		paths[t] = p
	}
	sp, err := splits.Read(o.Splits, o.Preset)
	if err != nil {
		return nil, err
	}
	warnings := append([]string(nil), sp.Warnings...)
	skipped := map[string]int{}

	adms := make(map[int64]*admission, sp.Len())
	for id := range sp.IDs {
		adms[id] = &admission{id: id, subject: -1}
	}
	if err := readCodes(paths["DIAGNOSES_ICD"], icd.Diagnosis, adms, skipped); err != nil {
		return nil, err
	}
	if err := readCodes(paths["PROCEDURES_ICD"], icd.Procedure, adms, skipped); err != nil {
		return nil, err
	}

	tempDir := o.TempDir
	if tempDir == "" {
		tempDir = filepath.Dir(filepath.Clean(o.Out))
		if err := os.MkdirAll(tempDir, 0o755); err != nil {
			return nil, err
		}
	}
	spill, err := os.CreateTemp(tempDir, ".icdcode-mimic3-notes-*.spill")
	if err != nil {
		return nil, fmt.Errorf("spill file for note text: %w", err)
	}
	// Unlinked at once where the system allows (Unix): the open file stays
	// usable and nothing is left behind even if the process is killed.
	unlinked := os.Remove(spill.Name()) == nil
	defer func() {
		spill.Close()
		if !unlinked {
			os.Remove(spill.Name())
		}
	}()
	res := &Result{}
	prog := progress.New(o.Progress, o.ProgressEvery)
	if res.NoteBytes, res.Notes, err = readNotes(paths["NOTEEVENTS"], adms, spill, skipped, prog); err != nil {
		return nil, err
	}

	// Documents: split-list admissions with notes and codes, in output
	// order (train, dev, test; HADM_ID ascending), counted for the labels.
	type doc struct {
		a     *admission
		split string
	}
	var docs []doc
	counts := labelspace.NewCounts()
	for _, split := range dataset.Splits {
		for _, id := range sp.Sorted(split) {
			a := adms[id]
			hasCodes := len(a.diag)+len(a.proc) > 0
			switch {
			case len(a.notes) == 0 && !hasCodes:
				skipped["admissions_missing_from_tables"]++
			case len(a.notes) == 0:
				skipped["admissions_without_discharge_summary"]++
			case !hasCodes:
				skipped["admissions_without_codes"]++
			default:
				docs = append(docs, doc{a, split})
				if o.CountOn != "train" || split == "train" {
					counts.AddDoc(a.diag, a.proc)
				}
			}
		}
	}
	if len(docs) == 0 {
		return nil, fmt.Errorf("no admission of the split list %s has both a discharge summary in %s and codes", o.Splits, paths["NOTEEVENTS"])
	}
	countOn := fmt.Sprintf("the %d split-list admissions with notes and codes (all splits)", counts.Docs)
	if o.CountOn == "train" {
		countOn = fmt.Sprintf("the %d train admissions with notes and codes", counts.Docs)
	}
	labels := prepare.Labels{
		Spec:           labelspace.Spec{Kinds: o.Kinds, Top: o.Top, MinCount: o.MinCount, Fixed: o.Labels, CountOn: countOn},
		KeepUnlabelled: o.KeepUnlabelled,
	}
	inputs := []string{paths["NOTEEVENTS"], paths["DIAGNOSES_ICD"], paths["PROCEDURES_ICD"]}
	inputs = append(inputs, sp.Files...)
	if o.LabelsFile != "" {
		inputs = append(inputs, o.LabelsFile)
	}
	m := dataset.Manifest{
		Name: o.Name, Source: "mimic3", CodeSystem: string(icd.ICD9), Language: "en",
		TextPolicy: string(o.Text),
		Build:      dataset.BuildInfo{Command: o.Command, Inputs: inputs, Skipped: skipped, Warnings: warnings},
	}
	var buf []byte
	prog.Start(fmt.Sprintf("writing %s", o.Out))
	sum, err := prepare.Write(o.Out, o.Gzip, counts, labels, m, func(put func(prepare.Doc) error) error {
		for i, d := range docs {
			prog.Tick(int64(i), int64(len(docs)), "documents")
			buf = buf[:0]
			descs := make([]string, len(d.a.notes))
			for k, n := range d.a.notes {
				if k > 0 {
					buf = append(buf, '\n', '\n')
				}
				start := len(buf)
				buf = slices.Grow(buf, n.n)[:start+n.n]
				if _, err := spill.ReadAt(buf[start:], n.off); err != nil {
					return fmt.Errorf("read back spill file %s: %w", spill.Name(), err)
				}
				descs[k] = n.desc
			}
			text := textnorm.Apply(o.Text, string(buf))
			if strings.TrimSpace(text) == "" {
				// The clean policy can empty a note made only of numbers
				// and punctuation.
				skipped["admissions_with_empty_text"]++
				continue
			}
			err := put(prepare.Doc{
				ID: strconv.FormatInt(d.a.id, 10), Text: text, Split: d.split, Diag: d.a.diag, Proc: d.a.proc,
				Meta: map[string]string{"subject_id": strconv.FormatInt(d.a.subject, 10), "descriptions": strings.Join(descs, "+")},
			})
			if err != nil {
				return err
			}
		}
		prog.Finish(int64(len(docs)), "documents")
		return nil
	})
	if err != nil {
		return nil, err
	}
	res.Manifest = sum.Manifest
	return res, nil
}

// checkOut refuses early (before a long pass over NOTEEVENTS) an output
// folder that dataset.NewWriter would refuse: one that exists, is not empty
// and holds no dataset.
func checkOut(dir string) error {
	entries, err := os.ReadDir(dir)
	if os.IsNotExist(err) || (err == nil && len(entries) == 0) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("output %s: %w", dir, err)
	}
	if !dataset.Exists(dir) {
		return fmt.Errorf("output %s exists and is not a dataset folder (no %s): refusing to replace it", dir, dataset.ManifestFile)
	}
	return nil
}

// parseID reads a MIMIC id. A trailing ".0" is accepted because pandas
// writes integer columns with missing values as floats.
func parseID(s string) (int64, bool) {
	s = strings.TrimSuffix(strings.TrimSpace(s), ".0")
	id, err := strconv.ParseInt(s, 10, 64)
	return id, err == nil && id >= 0
}

// readCodes reads a codes table into the split-list admissions. A repeated
// ROW_ID is an error (a table concatenated twice); a code repeated within an
// admission is kept once (MIMIC repeats some with different SEQ_NUMs).
func readCodes(path string, kind icd.Kind, adms map[int64]*admission, skipped map[string]int) error {
	r, err := csvtable.Open(path)
	if err != nil {
		return err
	}
	defer r.Close()
	cols, err := r.Columns("ROW_ID", "HADM_ID", "ICD9_CODE")
	if err != nil {
		return err
	}
	rowCol, hadmCol, codeCol := cols[0], cols[1], cols[2]
	name := "diagnoses"
	if kind == icd.Procedure {
		name = "procedures"
	}
	rows := map[int64]int{}
	// One string per distinct code: the full tables have ~900k rows but
	// ~9k distinct codes.
	intern := map[string]string{}
	for {
		rec, err := r.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		row, ok := parseID(rec[rowCol])
		if !ok {
			return r.Errorf(rowCol, "%q is not a row id", rec[rowCol])
		}
		if prev, dup := rows[row]; dup {
			return r.Errorf(rowCol, "duplicate row: ROW_ID %d is also on line %d", row, prev)
		}
		rows[row] = r.Line()
		hadm, ok := parseID(rec[hadmCol])
		if !ok {
			return r.Errorf(hadmCol, "%q is not a HADM_ID", rec[hadmCol])
		}
		raw := strings.TrimSpace(rec[codeCol])
		if raw == "" || strings.EqualFold(raw, "nan") {
			skipped[name+"_rows_without_code"]++
			continue
		}
		code, ok := intern[raw]
		if !ok {
			if code, err = icd.Normalize(raw, icd.ICD9, kind); err != nil {
				return r.Errorf(codeCol, "%v", err)
			}
			intern[strings.Clone(raw)] = code // raw shares the record's memory
		}
		a := adms[hadm]
		if a == nil {
			continue // not in the split list
		}
		list := &a.diag
		if kind == icd.Procedure {
			list = &a.proc
		}
		if !contains(*list, code) {
			*list = append(*list, code)
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// readNotes is the first pass over NOTEEVENTS: the text of every kept note
// goes to spill, and its offset, length and DESCRIPTION to its admission.
func readNotes(path string, adms map[int64]*admission, spill *os.File, skipped map[string]int, prog *progress.Reporter) (size int64, kept int, err error) {
	r, err := csvtable.Open(path)
	if err != nil {
		return 0, 0, err
	}
	defer r.Close()
	cols, err := r.Columns("ROW_ID", "SUBJECT_ID", "HADM_ID", "CATEGORY", "DESCRIPTION", "ISERROR", "TEXT")
	if err != nil {
		return 0, 0, err
	}
	rowCol, subjCol, hadmCol, catCol, descCol, errCol, textCol := cols[0], cols[1], cols[2], cols[3], cols[4], cols[5], cols[6]
	bw := bufio.NewWriterSize(spill, 1<<20)
	var off int64
	descs := map[string]string{} // interned: a handful of distinct values
	rows := map[int64]int{}
	_, size = r.Progress()
	prog.Start(filepath.Base(path))
	for n := 0; ; n++ {
		if n&1023 == 1023 {
			read, _ := r.Progress()
			prog.Tick(read, size, "MB")
		}
		rec, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return size, kept, err
		}
		if !strings.EqualFold(strings.TrimSpace(rec[catCol]), "Discharge summary") {
			skipped["notes_other_category"]++
			continue
		}
		if strings.TrimSpace(rec[hadmCol]) == "" {
			skipped["discharge_notes_without_hadm_id"]++
			continue
		}
		hadm, ok := parseID(rec[hadmCol])
		if !ok {
			return size, kept, r.Errorf(hadmCol, "%q is not a HADM_ID", rec[hadmCol])
		}
		a := adms[hadm]
		if a == nil {
			skipped["discharge_notes_outside_split_list"]++
			continue
		}
		if e := strings.TrimSpace(rec[errCol]); e != "" && e != "0" {
			skipped["discharge_notes_iserror"]++
			continue
		}
		row, ok := parseID(rec[rowCol])
		if !ok {
			return size, kept, r.Errorf(rowCol, "%q is not a row id", rec[rowCol])
		}
		if prev, dup := rows[row]; dup {
			return size, kept, r.Errorf(rowCol, "duplicate row: ROW_ID %d is also on line %d", row, prev)
		}
		rows[row] = r.Line()
		subject, ok := parseID(rec[subjCol])
		if !ok {
			return size, kept, r.Errorf(subjCol, "%q is not a SUBJECT_ID", rec[subjCol])
		}
		if a.subject >= 0 && a.subject != subject {
			return size, kept, r.Errorf(subjCol, "HADM_ID %d has SUBJECT_ID %d here but %d on line %d", hadm, subject, a.subject, a.notes[0].line)
		}
		a.subject = subject
		desc, ok := descs[rec[descCol]]
		if !ok {
			// Cloned: a field shares the memory of its whole record, TEXT
			// included, which must not stay alive.
			desc = strings.Clone(strings.TrimSpace(rec[descCol]))
			descs[strings.Clone(rec[descCol])] = desc
		}
		text := rec[textCol]
		if _, err := bw.WriteString(text); err != nil {
			return size, kept, fmt.Errorf("write spill file %s: %w", spill.Name(), err)
		}
		a.notes = append(a.notes, noteRef{off: off, n: len(text), desc: desc, line: r.Line()})
		off += int64(len(text))
		kept++
	}
	prog.Finish(size, "MB")
	if err := bw.Flush(); err != nil {
		return size, kept, fmt.Errorf("write spill file %s: %w", spill.Name(), err)
	}
	return size, kept, nil
}
