package sources

import (
	"encoding/csv"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/icdcode/icdcode/data/icd"
)

// TagIndex tags terms of the ICD-10-CM alphabetic index (main or external
// cause index, CSV or XML).
const TagIndex = "icd10cm-index:term"

// maxIndexDepth bounds the index path (the CDC index goes 9 levels deep); a
// deeper path is malformed input, and the bound keeps memory constant.
const maxIndexDepth = 32

// indexTerm builds the term string of an index path: the main term followed
// by each subterm, in index order, joined by spaces ("Asthenia, asthenic" +
// "cardiac" → "Asthenia, asthenic cardiac"). Index order is kept, rather than
// moving subterms in front as adjectives, because most subterms are not
// adjectives but continuations that only read right after the main term
// ("Asterixis" + "in liver disease", "Accident" + "caused by, due to" +
// "chain hoist"). The word "NEC" (not elsewhere classified) is an index
// instruction, not part of the clinical term, and is removed; nonessential
// modifiers (the NonEssModif column, <nemod> in XML) are left out since
// the term means the same without them. Index notes that the flattened CSV
// lists as terms ("Note: heart failure stages A, B, C, and D are based on …")
// are instructions, not words of the term, and are left out of the path.
func indexTerm(path []string) string {
	parts := make([]string, 0, len(path))
	for _, p := range path {
		if isIndexNote(p) {
			continue
		}
		if p = dropNEC(p); p != "" {
			parts = append(parts, p)
		}
	}
	return strings.Join(parts, " ")
}

func isIndexNote(s string) bool {
	return len(s) >= 5 && strings.EqualFold(s[:5], "note:")
}

func dropNEC(s string) string {
	f := strings.Fields(s)
	out := f[:0]
	for _, w := range f {
		switch w {
		case "NEC":
			continue
		case "NEC,":
			w = ","
		}
		out = append(out, w)
	}
	return strings.TrimRight(strings.Join(out, " "), " ,")
}

// indexCode classifies the code of an index entry: "" when there is none,
// an error reason for codes that are skipped.
func indexCode(raw string) (code, reason string, err error) {
	raw = strings.TrimSpace(raw)
	switch {
	case raw == "":
		return "", "no code", nil
	case strings.HasSuffix(raw, "-"):
		// "I50.-" or "S22.3-": the index points at a subcategory whose
		// complete code needs more characters; no code of its own.
		return "", "incomplete code", nil
	}
	code, err = icd.Normalize(raw, icd.ICD10, icd.Diagnosis)
	if err != nil {
		return "", "invalid code", err
	}
	return code, "", nil
}

// parseIndexCSV reads the flattened alphabetic index, one index line a row
// with columns RowID, Letter, Level, Term, See, SeeAlso, NonEssModif, Code
// (found by name, case-insensitively; only Level, Term and Code are
// required). The path of a row is rebuilt from Level: a row at level L
// replaces the path from L on. Rows without a code (cross-references, headings
// of subterms) and incomplete codes are skipped and counted.
//
// Counts: "rows", "rows_with_code" (including incomplete ones).
func parseIndexCSV(name string, r io.Reader, st *Stats, emit func(Entry) error) error {
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
	cols, err := findColumns(name, header, "level", "term", "code")
	if err != nil {
		return err
	}
	cr.FieldsPerRecord = len(header)
	level, term, codeCol := cols[0], cols[1], cols[2]
	nemod := -1 // optional: the text of an otherwise empty term
	if c, err := findColumns(name, header, "nonessmodif"); err == nil {
		nemod = c[0]
	}
	var path []string
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("%s: %w", name, err) // csv.ParseError names the line
		}
		line, _ := cr.FieldPos(0)
		st.Counts["rows"]++
		lv, err := strconv.Atoi(strings.TrimSpace(rec[level]))
		if err != nil || lv < 0 {
			return fmt.Errorf("%s line %d: field %s: %q is not a level", name, line, header[level], rec[level])
		}
		if lv > len(path) || lv >= maxIndexDepth {
			return fmt.Errorf("%s line %d: field %s: level %d follows a path of depth %d", name, line, header[level], lv, len(path))
		}
		t := clean(rec[term])
		if isIndexNote(t) {
			// The flattening lists the index notes of a term as terms one
			// level down ("Failure, failed > heart" then "Note: heart
			// failure stages …" at the level of "heart"), while the rows
			// after it continue the term the note belongs to: the note
			// must not enter the path.
			st.skip("index note", fmt.Sprintf("%s line %d: field %s: %.40q…", name, line, header[term], t))
			continue
		}
		if t == "" && nemod >= 0 {
			// A few index lines consist of a nonessential modifier only
			// ("Disorder > persistent > (somatoform)" → F45.41): then the
			// modifier is the term.
			t = clean(rec[nemod])
		}
		// An empty term keeps its level so that deeper rows still line up.
		path = append(path[:lv], t)
		code, reason, cerr := indexCode(rec[codeCol])
		if reason != "no code" {
			st.Counts["rows_with_code"]++
		}
		if reason != "" {
			ex := fmt.Sprintf("%s line %d: field %s: %q", name, line, header[codeCol], rec[codeCol])
			if cerr != nil {
				ex = fmt.Sprintf("%s line %d: field %s: %v", name, line, header[codeCol], cerr)
			}
			st.skip(reason, ex)
			continue
		}
		full := indexTerm(path)
		if t == "" || full == "" {
			st.skip("empty term", fmt.Sprintf("%s line %d: field %s: empty", name, line, header[term]))
			continue
		}
		st.Entries++
		if err := emit(Entry{Code: code, Term: full, Source: TagIndex}); err != nil {
			return err
		}
	}
	return nil
}

// findColumns returns the positions of the wanted columns, matched by name
// case-insensitively (MIMIC releases differ in header case).
func findColumns(name string, header []string, want ...string) ([]int, error) {
	pos := make([]int, len(want))
	for i, w := range want {
		pos[i] = -1
		for j, h := range header {
			if strings.EqualFold(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")), w) {
				pos[i] = j
				break
			}
		}
		if pos[i] < 0 {
			return nil, fmt.Errorf("%s line 1: no column %q in header %q", name, w, strings.Join(header, ","))
		}
	}
	return pos, nil
}

// parseIndexXML reads the CDC alphabetic index XML (<ICD10CM.index>, the
// schema of the main and external-cause indexes; the neoplasm and drug tables
// have another): letters hold <mainTerm>s, which hold a <title> and optionally
// <code>, <see>, <seeAlso> and nested <term level="n"> elements. Each <code> gives the path
// of titles from the main term down to its term. <nemod> text inside a title
// is left out (see indexTerm). <subcat> and <seecat> point at a subcategory or
// category without naming a complete code and are counted as incomplete or
// cross-references. <manif> (the main index's bracketed manifestation code,
// "E85.4 [G63]") is counted but not used: the term names the etiology, and
// giving it to the manifestation code as well would make it a string shared
// by two codes, which the build then drops from both.
//
// Counts: "terms" (mainTerm and term elements), "codes".
func parseIndexXML(name string, r io.Reader, st *Stats, emit func(Entry) error) error {
	dec := xml.NewDecoder(r)
	dec.CharsetReader = charsetReader
	var (
		stack []string
		// path holds the title of each open mainTerm/term, titled the
		// flags of those whose <title> has been read.
		path      []string
		titled    []bool
		text      strings.Builder
		nemodText strings.Builder
		inText    = -1 // stack depth of the <title> or <code> being read
		nemod     = 0  // depth inside <nemod> within a title
	)
	where := func() string {
		line, col := dec.InputPos()
		return fmt.Sprintf("%s line %d col %d", name, line, col)
	}
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("%s: %w", where(), err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			el := t.Name.Local
			if len(stack) == 0 && el != "ICD10CM.index" {
				return fmt.Errorf("%s: root element <%s>, want <ICD10CM.index>", where(), el)
			}
			parent := ""
			if len(stack) > 0 {
				parent = stack[len(stack)-1]
			}
			stack = append(stack, el)
			if len(stack) > maxIndexDepth*2+8 {
				return fmt.Errorf("%s: elements nested more than %d deep", where(), maxIndexDepth*2+8)
			}
			if inText >= 0 {
				if el == "nemod" {
					nemod++
				}
				continue
			}
			switch {
			case el == "mainTerm" || el == "term":
				if len(path) >= maxIndexDepth {
					return fmt.Errorf("%s: index path deeper than %d", where(), maxIndexDepth)
				}
				path = append(path, "")
				titled = append(titled, false)
				st.Counts["terms"]++
			case el == "title" && (parent == "mainTerm" || parent == "term"):
				inText = len(stack)
				text.Reset()
				nemodText.Reset()
			case (el == "code" || el == "subcat" || el == "seecat" || el == "manif") && (parent == "mainTerm" || parent == "term"):
				inText = len(stack)
				text.Reset()
			}
		case xml.CharData:
			if inText >= 0 {
				if text.Len()+nemodText.Len()+len(t) > maxLine {
					return fmt.Errorf("%s: text longer than %d bytes", where(), maxLine)
				}
				if nemod == 0 {
					text.Write(t)
				} else {
					nemodText.Write(t)
				}
			}
		case xml.EndElement:
			el := stack[len(stack)-1]
			if inText >= 0 && el == "nemod" && len(stack) > inText {
				nemod--
			}
			if inText == len(stack) {
				inText = -1
				s := clean(text.String())
				line, _ := dec.InputPos()
				switch el {
				case "title":
					if titled[len(titled)-1] {
						return fmt.Errorf("%s line %d: field title: second title in one term", name, line)
					}
					if s == "" {
						// A title made of a nonessential modifier only
						// ("<title><nemod>(somatoform)</nemod></title>"):
						// the modifier is the term.
						s = clean(nemodText.String())
					}
					if s == "" {
						st.skip("empty term", fmt.Sprintf("%s line %d: field title: empty", name, line))
					}
					path[len(path)-1] = s
					titled[len(titled)-1] = true
				case "subcat":
					st.skip("incomplete code", fmt.Sprintf("%s line %d: field subcat: %q", name, line, s))
				case "seecat":
					st.skip("cross-reference", fmt.Sprintf("%s line %d: field seecat: %q", name, line, s))
				case "manif":
					st.skip("manifestation code", fmt.Sprintf("%s line %d: field manif: %q", name, line, s))
				case "code":
					st.Counts["codes"]++
					if !titled[len(titled)-1] {
						return fmt.Errorf("%s line %d: field code: %q comes before the term's title", name, line, s)
					}
					if path[len(path)-1] == "" {
						break // counted as an empty term
					}
					code, reason, cerr := indexCode(s)
					if reason != "" {
						ex := fmt.Sprintf("%s line %d: field code: %q", name, line, s)
						if cerr != nil {
							ex = fmt.Sprintf("%s line %d: field code: %v", name, line, cerr)
						}
						st.skip(reason, ex)
						break
					}
					full := indexTerm(path)
					if full == "" { // a path of "NEC" alone
						st.skip("empty term", fmt.Sprintf("%s line %d: field title: empty", name, line))
						break
					}
					st.Entries++
					if err := emit(Entry{Code: code, Term: full, Source: TagIndex}); err != nil {
						return err
					}
				}
			}
			stack = stack[:len(stack)-1]
			if inText < 0 && (el == "mainTerm" || el == "term") {
				if !titled[len(titled)-1] {
					line, _ := dec.InputPos()
					return fmt.Errorf("%s line %d: field title: %s without a title", name, line, el)
				}
				path = path[:len(path)-1]
				titled = titled[:len(titled)-1]
			}
		}
	}
	if len(stack) > 0 {
		return fmt.Errorf("%s: unexpected end of file inside <%s>", where(), stack[len(stack)-1])
	}
	return nil
}
