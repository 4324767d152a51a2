// Package groupers reads the AHRQ HCUP diagnosis groupers that label ICD
// codes with clinical categories: single-level CCS for ICD-9-CM
// (ccs_dxref_2015.csv) and CCSR for ICD-10-CM (DXCCSR mapping and category
// files). They serve two purposes in icdcode: category tokens co-trained with
// code embeddings (Finch et al.) and the reference labels against which
// k-means clusters of code vectors are scored (NMI, AMI).
//
// Codes are keyed by icdcode's spelling from data/icd (dotted: "401.9",
// "I50.9"), so that a grouper can be applied to any corpus that went through
// icd.Normalize. MIMIC corpora of data/visits prefix codes with "D_"; wrap a
// grouper with StripPrefix for those.
package groupers

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/icdcode/icdcode/data/fileio"
	"github.com/icdcode/icdcode/data/icd"
)

// Grouper maps codes to categories.
type Grouper struct {
	// Name is the grouper's short name, used as the prefix of category
	// tokens ("CCS", "CCSR").
	Name string
	// Category maps a dotted code to its category id ("101", "CIR007").
	Category map[string]string
	// Description maps a category id to its description.
	Description map[string]string
}

// Lookup returns the category of code. Its signature matches
// visits.Grouper, so g.Lookup can be passed wherever one is expected.
func (g *Grouper) Lookup(code string) (string, bool) {
	c, ok := g.Category[code]
	return c, ok
}

// Token returns the category token of code, Name + "_" + category
// ("CCS_101"), the form inserted into Word2Vec sentences. The prefix keeps
// category tokens from colliding with code strings.
func (g *Grouper) Token(code string) (string, bool) {
	c, ok := g.Category[code]
	if !ok {
		return "", false
	}
	return g.Name + "_" + c, true
}

// NumCategories returns the number of distinct categories codes map to.
func (g *Grouper) NumCategories() int {
	seen := make(map[string]struct{})
	for _, c := range g.Category {
		seen[c] = struct{}{}
	}
	return len(seen)
}

// StripPrefix adapts f to code strings that carry a prefix, such as the "D_"
// of MIMIC corpora ("D_401.9" → f("401.9")). Codes without the prefix are
// not grouped (procedures "P_…" have no diagnosis category).
func StripPrefix(prefix string, f func(string) (string, bool)) func(string) (string, bool) {
	return func(code string) (string, bool) {
		rest, ok := strings.CutPrefix(code, prefix)
		if !ok {
			return "", false
		}
		return f(rest)
	}
}

// unquote removes the single quotes and padding the CCS files put around
// every value ("'01000'" → "01000", "'1    '" → "1").
func unquote(s string) string {
	s = strings.TrimSpace(s)
	if len(s) >= 2 && s[0] == '\'' && s[len(s)-1] == '\'' {
		s = s[1 : len(s)-1]
	}
	return strings.TrimSpace(s)
}

// header maps column names (compared after unquoting, case-insensitively) to
// indexes and checks that the wanted ones exist.
func header(path string, line int, rec []string, want ...string) ([]int, error) {
	idx := make(map[string]int, len(rec))
	for i, h := range rec {
		idx[strings.ToUpper(unquote(strings.TrimPrefix(h, "\ufeff")))] = i
	}
	out := make([]int, len(want))
	for i, w := range want {
		j, ok := idx[strings.ToUpper(w)]
		if !ok {
			return nil, fmt.Errorf("%s:%d: header has no column %q", path, line, w)
		}
		out[i] = j
	}
	return out, nil
}

// ReadCCS reads the single-level CCS diagnosis file (ccs_dxref_2015.csv):
// line 1 is a note, line 2 the header, values are quoted with ' and padded.
// The blank-code row (category 0, "No DX") is skipped because it labels no
// code. Codes are normalised with icd.Normalize (ICD-9 diagnosis), so "4019"
// becomes "401.9". A code listed twice with different categories is an error.
func ReadCCS(path string) (*Grouper, error) {
	f, err := fileio.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	br := bufio.NewReader(f)
	// The note on line 1 is free text, not CSV; skip it as a raw line.
	if _, err := br.ReadString('\n'); err != nil {
		return nil, fmt.Errorf("%s:1: %v", path, err)
	}
	r := csv.NewReader(br)
	r.FieldsPerRecord = -1
	g := &Grouper{Name: "CCS", Category: make(map[string]string), Description: make(map[string]string)}
	var cols []int
	for line := 2; ; line++ {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %v", path, line, err)
		}
		if cols == nil {
			if cols, err = header(path, line, rec, "ICD-9-CM CODE", "CCS CATEGORY", "CCS CATEGORY DESCRIPTION"); err != nil {
				return nil, err
			}
			continue
		}
		for _, c := range cols {
			if c >= len(rec) {
				return nil, fmt.Errorf("%s:%d: %d fields, need at least %d", path, line, len(rec), c+1)
			}
		}
		raw, cat, desc := unquote(rec[cols[0]]), unquote(rec[cols[1]]), unquote(rec[cols[2]])
		if raw == "" {
			continue // the "No DX" row for invalid codes in user data
		}
		if cat == "" {
			return nil, fmt.Errorf("%s:%d: field %q: empty category for code %q", path, line, "CCS CATEGORY", raw)
		}
		code, err := icd.Normalize(raw, icd.ICD9, icd.Diagnosis)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: field %q: %v", path, line, "ICD-9-CM CODE", err)
		}
		if old, dup := g.Category[code]; dup && old != cat {
			return nil, fmt.Errorf("%s:%d: code %s in categories %s and %s", path, line, code, old, cat)
		}
		g.Category[code] = cat
		g.Description[cat] = desc
	}
	if len(g.Category) == 0 {
		return nil, fmt.Errorf("%s: no codes", path)
	}
	return g, nil
}

// CCSRStats says how ReadCCSR chose each code's single category.
type CCSRStats struct {
	Rows               int // code→category rows read
	InpatientDefault   int // codes whose inpatient default ('Y') was taken
	OutpatientFallback int // codes with no inpatient default, outpatient 'Y' taken
	FirstFallback      int // codes with neither, first listed category taken
}

// ReadCCSR reads the CCSR v2023.1 code→category mapping (CSV, optionally
// gzipped; columns "ICD-10-CM Code", "CCSR Category", "CCSR Category
// Description", "Inpatient Default CCSR (Y/N/X)", "Outpatient Default CCSR
// (Y/N/X)"). A code may belong to up to six categories; clustering scores
// need one label, so each code gets its default inpatient category, as in
// the protocol reproduced from Finch et al. Codes whose inpatient flag is 'X'
// (not acceptable as a principal diagnosis, so no inpatient default exists)
// fall back to the outpatient default, and failing that to the first row
// listed; the counts are returned so callers can report them.
func ReadCCSR(path string) (*Grouper, CCSRStats, error) {
	var st CCSRStats
	f, err := fileio.Open(path)
	if err != nil {
		return nil, st, err
	}
	defer f.Close()
	r := csv.NewReader(f)
	type choice struct{ in, out, first string }
	chosen := make(map[string]*choice)
	g := &Grouper{Name: "CCSR", Category: make(map[string]string), Description: make(map[string]string)}
	var cols []int
	for line := 1; ; line++ {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, st, fmt.Errorf("%s:%d: %v", path, line, err)
		}
		if cols == nil {
			if cols, err = header(path, line, rec, "ICD-10-CM Code", "CCSR Category", "CCSR Category Description",
				"Inpatient Default CCSR (Y/N/X)", "Outpatient Default CCSR (Y/N/X)"); err != nil {
				return nil, st, err
			}
			continue
		}
		raw, cat := strings.TrimSpace(rec[cols[0]]), strings.TrimSpace(rec[cols[1]])
		if cat == "" {
			return nil, st, fmt.Errorf("%s:%d: field %q is empty", path, line, "CCSR Category")
		}
		code, err := icd.Normalize(raw, icd.ICD10, icd.Diagnosis)
		if err != nil {
			return nil, st, fmt.Errorf("%s:%d: field %q: %v", path, line, "ICD-10-CM Code", err)
		}
		in, out := strings.TrimSpace(rec[cols[3]]), strings.TrimSpace(rec[cols[4]])
		for i, v := range []string{in, out} {
			if v != "Y" && v != "N" && v != "X" {
				return nil, st, fmt.Errorf("%s:%d: field %q: %q is not Y, N or X", path, line, []string{"Inpatient Default CCSR (Y/N/X)", "Outpatient Default CCSR (Y/N/X)"}[i], v)
			}
		}
		st.Rows++
		c := chosen[code]
		if c == nil {
			c = &choice{first: cat}
			chosen[code] = c
		}
		if in == "Y" {
			if c.in != "" {
				return nil, st, fmt.Errorf("%s:%d: code %s has two inpatient defaults (%s, %s)", path, line, code, c.in, cat)
			}
			c.in = cat
		}
		if out == "Y" && c.out == "" {
			c.out = cat
		}
		g.Description[cat] = strings.TrimSpace(rec[cols[2]])
	}
	if len(chosen) == 0 {
		return nil, st, fmt.Errorf("%s: no codes", path)
	}
	for code, c := range chosen {
		switch {
		case c.in != "":
			g.Category[code] = c.in
			st.InpatientDefault++
		case c.out != "":
			g.Category[code] = c.out
			st.OutpatientFallback++
		default:
			g.Category[code] = c.first
			st.FirstFallback++
		}
	}
	return g, st, nil
}

// ReadCCSRCategories reads DXCCSR_v2023-1_categories.csv: header
// "CCSR Category,CCSR Category Description", one category per line.
func ReadCCSRCategories(path string) (map[string]string, error) {
	f, err := fileio.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r := csv.NewReader(f)
	out := make(map[string]string)
	var cols []int
	for line := 1; ; line++ {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %v", path, line, err)
		}
		if cols == nil {
			if cols, err = header(path, line, rec, "CCSR Category", "CCSR Category Description"); err != nil {
				return nil, err
			}
			continue
		}
		cat := strings.TrimSpace(rec[cols[0]])
		if cat == "" {
			return nil, fmt.Errorf("%s:%d: field %q is empty", path, line, "CCSR Category")
		}
		if _, dup := out[cat]; dup {
			return nil, fmt.Errorf("%s:%d: category %s listed twice", path, line, cat)
		}
		out[cat] = strings.TrimSpace(rec[cols[1]])
	}
	if len(out) == 0 {
		return nil, errors.New(path + ": no categories")
	}
	return out, nil
}
