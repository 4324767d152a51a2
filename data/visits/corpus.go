// Package visits reads and writes patient visit sequences for medical-code
// embeddings (Med2Vec, hierarchy-aware Word2Vec): MIMIC-III admissions,
// Synthea encounters, a JSONL visit format of our own, and the pickled files
// of the Med2Vec reference (mp2893/med2vec, process_mimic.py), so that its
// users can switch in either direction.
//
// A Corpus holds patients, each with visits in time order, each visit a list
// of code strings. Reference() turns it into the layout med2vec.py consumes:
// visit rows of integer code ids with a [-1] row between patients, the
// code→id map (.types), and optional grouped label rows (.3digitICD9.seqs).
//
// Conventions:
//
//   - MIMIC-III code strings are exactly process_mimic.py's: "D_" + the ICD-9
//     diagnosis dotted after 3 characters, after 4 for E codes ("4019" →
//     "D_401.9", "E8889" → "D_E888.9", "V4511" → "D_V45.11"); 3-digit labels
//     are "D_" + the first 3 characters (4 for E codes). The reference strips
//     the first and last character of the code field assuming double quotes,
//     which turns the demo's unquoted "99591" into "959"; we read the column
//     by name with encoding/csv and only trim quotes that are really there.
//     Procedures (optional, not in the reference) are "P_" + the ICD-9
//     procedure code dotted after 2 characters ("3605" → "P_36.05").
//   - Patients are ordered by id (numerically for MIMIC SUBJECT_ID, as
//     strings otherwise), visits by time with ties broken by admission or
//     encounter id, codes within a visit in file order with duplicates kept
//     (as the reference keeps them). The reference instead iterates a Python 2
//     dict (hash order) and breaks time ties by comparing code lists; neither
//     is reproducible, so ids are assigned in this deterministic order.
//   - Code ids are assigned in order of first appearance over that order,
//     separately for full codes and labels; label rows are deduplicated
//     keeping first occurrence (the reference uses set(visit), whose order is
//     arbitrary).
//   - Empty visits are dropped before the minimum-visit filter and counted
//     (the reference raises KeyError on an admission without diagnoses);
//     code rows with an empty code or an unknown admission/encounter are
//     counted too (Skips). Malformed ids, dates and codes are errors naming
//     the file, line and column.
//
// File formats:
//
//   - Reference pickles (ReadReferenceFiles, WriteReferenceFiles):
//     <prefix>.seqs, .types, .3digitICD9.seqs, .3digitICD9.types as
//     process_mimic.py writes them (protocol 2); demographics as a pickled
//     list of lists of numbers (ReadPickleMatrix). The writer emits the same
//     bytes as Python 3's pickle.dump(obj, f, 2) for lists of lists of
//     32-bit ints and dicts of two or more entries (tested on the
//     fixtures); Python 2 loads the .types keys as unicode, which compares
//     equal to its str.
//   - JSONL visits (ReadJSONL, WriteJSONL): one patient per line,
//     {"id":"10006","visits":[{"time":"2164-10-23T21:09:00Z","codes":["D_995.91"]}]};
//     id non-empty and unique; visits in time order; time RFC 3339, optional
//     but then omitted for all visits of the patient; codes non-empty
//     strings, at least one per visit; blank lines ignored; ".gz" compressed.
//     No minimum-visit filter is applied on reading.
package visits

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"
)

// Visit is one admission or encounter. Time is zero when the source has none
// (the reference's pickles carry no dates).
type Visit struct {
	Time  time.Time
	Codes []string
}

// Patient is one patient's visits in time order.
type Patient struct {
	ID     string
	Visits []Visit
}

// Corpus is a set of patients in a fixed order.
type Corpus struct {
	Patients []Patient
}

// Skips counts what a reader left out and why, so that a caller can report
// it; none of these is an error because real extracts contain all of them.
type Skips struct {
	FewVisits       int // patients dropped for having fewer than MinVisits non-empty visits
	FewVisitsVisits int // visits those patients had
	EmptyVisits     int // visits (admissions, encounters) with no codes
	MissingCodes    int // code rows with an empty code field
	UnknownVisit    int // code rows whose admission/encounter is not in the visit table
}

func (s Skips) String() string {
	return fmt.Sprintf("%d patients with too few visits (%d visits), %d empty visits, %d rows without a code, %d rows of unknown visits",
		s.FewVisits, s.FewVisitsVisits, s.EmptyVisits, s.MissingCodes, s.UnknownVisit)
}

// NumVisits returns the number of visits over all patients.
func (c *Corpus) NumVisits() int {
	n := 0
	for _, p := range c.Patients {
		n += len(p.Visits)
	}
	return n
}

// Reference is the layout of the reference's pickles: Seqs has one row per
// visit and a []int{-1} row between patients (none after the last), Types maps
// a code string to its row in W_emb. Labels and LabelTypes, when present, are
// row-aligned with Seqs (same separators) and hold the grouped codes.
type Reference struct {
	Seqs       [][]int
	Types      map[string]int
	Labels     [][]int
	LabelTypes map[string]int
}

// Grouper maps a code to its label group; ok=false leaves the code out of
// the label row (procedures have no 3-digit ICD-9 diagnosis group).
type Grouper func(code string) (group string, ok bool)

// ICD9ThreeDigit is process_mimic.py's convert_to_3digit_icd9 on code strings
// this package makes: "D_401.9" → "D_401", "D_E888.9" → "D_E888"; codes
// without the "D_" prefix are not grouped.
func ICD9ThreeDigit(code string) (string, bool) {
	c, ok := strings.CutPrefix(code, "D_")
	if !ok || c == "" {
		return "", false
	}
	c = strings.ReplaceAll(c, ".", "")
	n := 3
	if strings.HasPrefix(c, "E") {
		n = 4
	}
	if len(c) > n {
		c = c[:n]
	}
	return "D_" + c, true
}

// Reference builds the reference layout. group may be nil for no labels.
func (c *Corpus) Reference(group Grouper) *Reference {
	ref := &Reference{Types: map[string]int{}}
	if group != nil {
		ref.LabelTypes = map[string]int{}
	}
	id := func(m map[string]int, code string) int {
		i, ok := m[code]
		if !ok {
			i = len(m)
			m[code] = i
		}
		return i
	}
	for pi, p := range c.Patients {
		if pi > 0 {
			ref.Seqs = append(ref.Seqs, []int{-1})
			if group != nil {
				ref.Labels = append(ref.Labels, []int{-1})
			}
		}
		for _, v := range p.Visits {
			row := make([]int, len(v.Codes))
			for i, code := range v.Codes {
				row[i] = id(ref.Types, code)
			}
			ref.Seqs = append(ref.Seqs, row)
			if group == nil {
				continue
			}
			var lab []int
			seen := map[string]bool{}
			for _, code := range v.Codes {
				g, ok := group(code)
				if !ok || seen[g] {
					continue
				}
				seen[g] = true
				lab = append(lab, id(ref.LabelTypes, g))
			}
			ref.Labels = append(ref.Labels, lab)
		}
	}
	return ref
}

// Codes returns the code strings of Types ordered by id, i.e. the row order
// of W_emb. It fails when ids are not exactly 0..len-1.
func Codes(types map[string]int) ([]string, error) {
	out := make([]string, len(types))
	seen := make([]bool, len(types))
	for code, i := range types {
		if i < 0 || i >= len(types) || seen[i] {
			return nil, fmt.Errorf("types: code %q has id %d; ids must be 0..%d, each once", code, i, len(types)-1)
		}
		seen[i] = true
		out[i] = code
	}
	return out, nil
}

// FromReference rebuilds a corpus from the reference layout: patients are
// the runs of rows between [-1] separators, named "0", "1", ... in order;
// visits have no time. A code id missing from Types, an empty visit row or
// an empty patient is an error naming the row.
func FromReference(seqs [][]int, types map[string]int) (*Corpus, error) {
	codes, err := Codes(types)
	if err != nil {
		return nil, err
	}
	c := &Corpus{}
	cur := Patient{ID: "0"}
	flush := func(row int) error {
		if len(cur.Visits) == 0 {
			return fmt.Errorf("seqs row %d: patient %s has no visits (two separators in a row, or one at the start or end)", row, cur.ID)
		}
		c.Patients = append(c.Patients, cur)
		cur = Patient{ID: fmt.Sprint(len(c.Patients))}
		return nil
	}
	for r, row := range seqs {
		if len(row) == 1 && row[0] == -1 {
			if err := flush(r); err != nil {
				return nil, err
			}
			continue
		}
		if len(row) == 0 {
			return nil, fmt.Errorf("seqs row %d: empty visit", r)
		}
		v := Visit{Codes: make([]string, len(row))}
		for j, id := range row {
			if id < 0 || id >= len(codes) {
				return nil, fmt.Errorf("seqs row %d, item %d: code id %d is not in types (%d codes)", r, j, id, len(codes))
			}
			v.Codes[j] = codes[id]
		}
		cur.Visits = append(cur.Visits, v)
	}
	if len(seqs) > 0 {
		if err := flush(len(seqs)); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// Split divides the patients into a training and a held-out corpus, holding
// out round(frac × patients) of them chosen by a seeded shuffle, so that
// evaluation (next-visit recall) never sees a training patient. Both parts
// keep the corpus order, so their Reference() ids are reproducible.
func (c *Corpus) Split(frac float64, seed uint64) (train, held *Corpus, err error) {
	if frac < 0 || frac > 1 {
		return nil, nil, fmt.Errorf("split: held-out fraction %g is outside [0, 1]", frac)
	}
	n := len(c.Patients)
	perm := rand.New(rand.NewPCG(seed, 0x6d656432766563)).Perm(n)
	k := int(frac*float64(n) + 0.5)
	out := make([]bool, n)
	for _, i := range perm[:k] {
		out[i] = true
	}
	train, held = &Corpus{}, &Corpus{}
	for i, p := range c.Patients {
		if out[i] {
			held.Patients = append(held.Patients, p)
		} else {
			train.Patients = append(train.Patients, p)
		}
	}
	return train, held, nil
}

// visitKey orders visits of one patient: time, then the source's visit id.
type visitKey struct {
	t  time.Time
	id string
	n  int64 // numeric id, used when both ids are numeric
}

func cmpVisitKey(a, b visitKey) int {
	if c := a.t.Compare(b.t); c != 0 {
		return c
	}
	if a.n != b.n {
		if a.n < b.n {
			return -1
		}
		return 1
	}
	return strings.Compare(a.id, b.id)
}

// finish drops empty visits and patients with fewer than minVisits visits,
// counting both; it keeps the order it is given.
func finish(ps []Patient, minVisits int, sk *Skips) *Corpus {
	c := &Corpus{}
	for _, p := range ps {
		kept := p.Visits[:0]
		for _, v := range p.Visits {
			if len(v.Codes) == 0 {
				sk.EmptyVisits++
				continue
			}
			kept = append(kept, v)
		}
		p.Visits = kept
		if len(p.Visits) < minVisits {
			sk.FewVisits++
			sk.FewVisitsVisits += len(p.Visits)
			continue
		}
		c.Patients = append(c.Patients, p)
	}
	return c
}

// EncodeSkips counts what EncodeWith left out.
type EncodeSkips struct {
	UnknownCodes  int // code occurrences not in the given types
	UnknownLabels int // label groups not in the given label types
	EmptyVisits   int // visits with no known code left
	EmptyPatients int // patients with no visit left
}

// EncodeWith builds the reference layout with fixed code maps, as needed to
// encode held-out patients with the ids of a trained model. Codes absent
// from types are dropped and counted, visits left without codes are dropped
// (with their label rows, so rows stay aligned), and patients left without
// visits disappear with their separator. labelTypes and group may be nil for
// no labels; labels absent from labelTypes are dropped and counted, and a
// label row may end up empty (the visit is still there for its codes).
func (c *Corpus) EncodeWith(types, labelTypes map[string]int, group Grouper) (*Reference, EncodeSkips) {
	var sk EncodeSkips
	withLabels := labelTypes != nil && group != nil
	ref := &Reference{Types: types}
	if withLabels {
		ref.LabelTypes = labelTypes
	}
	for _, p := range c.Patients {
		var rows, labs [][]int
		for _, v := range p.Visits {
			var row, lab []int
			for _, code := range v.Codes {
				if id, ok := types[code]; ok {
					row = append(row, id)
				} else {
					sk.UnknownCodes++
				}
			}
			if len(row) == 0 {
				sk.EmptyVisits++
				continue
			}
			rows = append(rows, row)
			if !withLabels {
				continue
			}
			lab = []int{}
			for _, code := range v.Codes {
				g, ok := group(code)
				if !ok {
					continue
				}
				id, ok := labelTypes[g]
				if !ok {
					sk.UnknownLabels++
					continue
				}
				if !slices.Contains(lab, id) {
					lab = append(lab, id)
				}
			}
			labs = append(labs, lab)
		}
		if len(rows) == 0 {
			sk.EmptyPatients++
			continue
		}
		if len(ref.Seqs) > 0 {
			ref.Seqs = append(ref.Seqs, []int{-1})
			if withLabels {
				ref.Labels = append(ref.Labels, []int{-1})
			}
		}
		ref.Seqs = append(ref.Seqs, rows...)
		ref.Labels = append(ref.Labels, labs...)
	}
	return ref, sk
}
