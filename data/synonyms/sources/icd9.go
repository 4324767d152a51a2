package sources

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/icdcode/icdcode/data/icd"
)

// Tags of the ICD-9 sources.
const (
	TagCMSLong    = "icd9-cms:long_title"
	TagCMSShort   = "icd9-cms:short_title"
	TagCMSTitle   = "icd9-cms:title" // a CMS file named neither LONG nor SHORT
	TagCAML       = "caml:description"
	TagMIMICLong  = "mimic:long_title"
	TagMIMICShort = "mimic:short_title"
)

// parseCMS reads a CMS ICD-9-CM title file (CMS32_DESC_LONG_DX.txt and
// friends): one code a line, undotted, then spaces, then the title. Codes
// are diagnoses unless opt.Kind says otherwise or the file name is a CMS
// procedure file (…_SG…), which has the same layout. The tag says long or
// short title from the file name. The long-title file is Latin-1 and is
// decoded as described on lineReader.
//
// Counts: "lines".
func parseCMS(name string, r io.Reader, opt Options, st *Stats, emit func(Entry) error) error {
	kind := opt.Kind
	upper := strings.ToUpper(baseName(name))
	if kind == "" {
		kind = icd.Diagnosis
		if strings.Contains(upper, "_SG") || strings.HasSuffix(upper, "SG") {
			kind = icd.Procedure
		}
	}
	tag := TagCMSTitle
	switch {
	case strings.Contains(upper, "LONG"):
		tag = TagCMSLong
	case strings.Contains(upper, "SHORT"):
		tag = TagCMSShort
	}
	lr := newLineReader(name, r, st)
	for {
		s, err := lr.next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if strings.TrimSpace(s) == "" {
			continue
		}
		st.Counts["lines"]++
		rawCode, title, ok := strings.Cut(strings.TrimLeft(s, " \t"), " ")
		if !ok || strings.TrimSpace(title) == "" {
			return fmt.Errorf("%s line %d: field title: missing (want code, spaces, title)", name, lr.line)
		}
		code, err := icd.Normalize(rawCode, icd.ICD9, kind)
		if err != nil {
			st.skip("invalid code", fmt.Sprintf("%s line %d: field code: %v", name, lr.line, err))
			continue
		}
		st.Entries++
		if err := emit(Entry{Code: code, Term: clean(title), Source: tag}); err != nil {
			return err
		}
	}
}

// parseCAML reads CAML's ICD9_descriptions: code<TAB>description, dotted,
// diagnoses and procedures mixed. The kind of each code follows from its
// shape (ResolveCode: 2 digits before the dot make a procedure), which is how
// the MIMIC label spaces tell them apart. Hierarchy nodes (the root "@" and
// ranges such as "00-99.99" or "001-139.99") are skipped and counted; category
// codes (401, 38) are kept, they are codes of the classification.
//
// Counts: "lines".
func parseCAML(name string, r io.Reader, st *Stats, emit func(Entry) error) error {
	lr := newLineReader(name, r, st)
	for {
		s, err := lr.next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if strings.TrimSpace(s) == "" {
			continue
		}
		st.Counts["lines"]++
		rawCode, desc, ok := strings.Cut(s, "\t")
		if !ok {
			return fmt.Errorf("%s line %d: field description: missing (want code<TAB>description)", name, lr.line)
		}
		rawCode = strings.TrimSpace(rawCode)
		if rawCode == "@" || strings.Contains(rawCode, "-") {
			st.skip("hierarchy node", fmt.Sprintf("%s line %d: field code: %q", name, lr.line, rawCode))
			continue
		}
		// CAML dots every code longer than its category, so an undotted
		// code is a category: 2 digits a procedure one (38), otherwise a
		// diagnosis one (401, V01, E800), which ResolveCode would call
		// ambiguous.
		kind := icd.Kind("")
		if !strings.Contains(rawCode, ".") {
			kind = icd.Diagnosis
			if len(rawCode) == 2 && allDigits(rawCode) {
				kind = icd.Procedure
			}
		}
		code, err := ResolveCode(rawCode, icd.ICD9, kind)
		if err != nil {
			st.skip("invalid code", fmt.Sprintf("%s line %d: field code: %v", name, lr.line, err))
			continue
		}
		desc = clean(desc)
		if desc == "" {
			st.skip("empty description", fmt.Sprintf("%s line %d: field description: empty", name, lr.line))
			continue
		}
		st.Entries++
		if err := emit(Entry{Code: code, Term: desc, Source: TagCAML}); err != nil {
			return err
		}
	}
}

// parseMIMIC reads MIMIC-III D_ICD_DIAGNOSES or D_ICD_PROCEDURES: CSV with a
// header naming icd9_code, short_title and long_title in any case (the demo
// has one table lower-case and one upper-case). Codes are undotted; their kind
// comes from opt.Kind, else from the file name (PROCEDURES or DIAGNOSES), and
// a file named neither is an error rather than a guess, because an undotted
// 4-digit code reads differently as a diagnosis or a procedure.
//
// Counts: "rows".
func parseMIMIC(name string, r io.Reader, opt Options, st *Stats, emit func(Entry) error) error {
	kind := opt.Kind
	if kind == "" {
		upper := strings.ToUpper(baseName(name))
		switch {
		case strings.Contains(upper, "PROCEDURES"):
			kind = icd.Procedure
		case strings.Contains(upper, "DIAGNOSES"):
			kind = icd.Diagnosis
		default:
			return fmt.Errorf("%s: cannot tell diagnoses from procedures by the file name; use %s:diagnosis or %s:procedure", name, KindMIMIC, KindMIMIC)
		}
	}
	cr := csv.NewReader(&utf8Reader{lr: newLineReader(name, r, st)})
	cr.ReuseRecord = true
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return fmt.Errorf("%s: empty file", name)
	}
	if err != nil {
		return fmt.Errorf("%s: header: %w", name, err)
	}
	header = slices.Clone(header) // ReuseRecord: the next Read overwrites it
	cols, err := findColumns(name, header, "icd9_code", "short_title", "long_title")
	if err != nil {
		return err
	}
	cr.FieldsPerRecord = len(header)
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		line, _ := cr.FieldPos(0)
		st.Counts["rows"]++
		code, err := icd.Normalize(rec[cols[0]], icd.ICD9, kind)
		if err != nil {
			st.skip("invalid code", fmt.Sprintf("%s line %d: field %s: %v", name, line, header[cols[0]], err))
			continue
		}
		for _, f := range []struct {
			col int
			tag string
		}{{cols[2], TagMIMICLong}, {cols[1], TagMIMICShort}} {
			t := clean(rec[f.col])
			if t == "" {
				st.skip("empty title", fmt.Sprintf("%s line %d: field %s: empty", name, line, header[f.col]))
				continue
			}
			st.Entries++
			if err := emit(Entry{Code: code, Term: t, Source: f.tag}); err != nil {
				return err
			}
		}
	}
}
