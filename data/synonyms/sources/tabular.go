package sources

import (
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/icdcode/icdcode/data/icd"
)

// Tags of the ICD-10-CM tabular source.
const (
	TagTabularTitle     = "icd10cm-tabular:title"
	TagTabularInclusion = "icd10cm-tabular:inclusion"
)

// maxXMLDepth bounds element nesting in the tabular list (it nests about 10
// deep): deeper input is malformed, and the bound keeps memory constant.
const maxXMLDepth = 64

// tabDiag is one open <diag> element of the tabular list.
type tabDiag struct {
	code       string // canonical; "" until <name> was read
	line       int    // where the element starts, for errors
	items      []tabItem
	inclusions int  // inclusion notes seen
	invalid    bool // the name is not a valid code: its items are skipped
}

type tabItem struct{ text, tag string }

// parseTabular reads the ICD-10-CM tabular list XML. Every <diag>, at any
// depth, gives its <name> (the code) with its <desc> (the title) and the
// <note>s of its <inclusionTerm> blocks; other notes (excludes, code first,
// chapter-level includes, 7th-character definitions) are not synonyms of the
// code and are ignored.
//
// A diag's own items come before its child diags in the file, so they are
// emitted when its first child starts or when it ends: the output stays in
// file order and memory holds one diag per open level.
//
// Counts: "diag" (elements), "diag_with_inclusion", "inclusion_note".
func parseTabular(name string, r io.Reader, st *Stats, emit func(Entry) error) error {
	dec := xml.NewDecoder(r)
	dec.CharsetReader = charsetReader
	var (
		stack []string   // open element names
		diags []*tabDiag // open diag elements
		text  strings.Builder
		// collecting is the stack depth of the element whose text is being
		// read (a diag's name or desc, or an inclusion note), or -1.
		collecting = -1
	)
	where := func() string {
		line, col := dec.InputPos()
		return fmt.Sprintf("%s line %d col %d", name, line, col)
	}
	flush := func(d *tabDiag) error {
		if len(d.items) == 0 {
			return nil
		}
		if d.code == "" && !d.invalid {
			return fmt.Errorf("%s line %d: field diag/name: missing before the diag's desc or notes", name, d.line)
		}
		if !d.invalid {
			for _, it := range d.items {
				st.Entries++
				if err := emit(Entry{Code: d.code, Term: it.text, Source: it.tag}); err != nil {
					return err
				}
			}
		}
		d.items = d.items[:0]
		return nil
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
			if len(stack) == 0 && el != "ICD10CM.tabular" {
				return fmt.Errorf("%s: root element <%s>, want <ICD10CM.tabular>", where(), el)
			}
			parent := ""
			if len(stack) > 0 {
				parent = stack[len(stack)-1]
			}
			stack = append(stack, el)
			if len(stack) > maxXMLDepth {
				return fmt.Errorf("%s: elements nested more than %d deep", where(), maxXMLDepth)
			}
			if collecting >= 0 {
				continue // markup inside a collected text: its text is kept
			}
			switch {
			case el == "diag":
				if n := len(diags); n > 0 {
					if err := flush(diags[n-1]); err != nil {
						return err
					}
				}
				line, _ := dec.InputPos()
				diags = append(diags, &tabDiag{line: line})
				st.Counts["diag"]++
			case parent == "diag" && (el == "name" || el == "desc"):
				collecting = len(stack)
				text.Reset()
			case el == "note" && parent == "inclusionTerm" && len(stack) >= 3 && stack[len(stack)-3] == "diag":
				collecting = len(stack)
				text.Reset()
			}
		case xml.CharData:
			if collecting >= 0 {
				if text.Len()+len(t) > maxLine {
					return fmt.Errorf("%s: text longer than %d bytes", where(), maxLine)
				}
				text.Write(t)
			}
		case xml.EndElement:
			// encoding/xml checks that end tags match their start tags, so
			// the stack is never empty here.
			el := stack[len(stack)-1]
			if collecting == len(stack) {
				collecting = -1
				if err := tabularText(name, dec, st, el, clean(text.String()), diags[len(diags)-1]); err != nil {
					return err
				}
			}
			stack = stack[:len(stack)-1]
			if el == "diag" && collecting < 0 {
				d := diags[len(diags)-1]
				if d.code == "" && !d.invalid {
					return fmt.Errorf("%s line %d: field diag/name: missing", name, d.line)
				}
				if err := flush(d); err != nil {
					return err
				}
				if d.inclusions > 0 {
					st.Counts["diag_with_inclusion"]++
				}
				diags = diags[:len(diags)-1]
			}
		}
	}
	if len(stack) > 0 {
		return fmt.Errorf("%s: unexpected end of file inside <%s>", where(), stack[len(stack)-1])
	}
	if st.Counts["diag"] == 0 {
		return fmt.Errorf("%s: no <diag> elements", name)
	}
	return nil
}

// tabularText files the collected text of a diag's name or desc or of an
// inclusion note.
func tabularText(name string, dec *xml.Decoder, st *Stats, el, s string, d *tabDiag) error {
	line, _ := dec.InputPos()
	switch el {
	case "name":
		if d.code != "" || d.invalid {
			return fmt.Errorf("%s line %d: field diag/name: second name in one diag", name, line)
		}
		code, err := icd.Normalize(s, icd.ICD10, icd.Diagnosis)
		if err != nil {
			// Skip the diag's own items but keep reading its children.
			d.invalid = true
			st.skip("invalid code", fmt.Sprintf("%s line %d: field diag/name: %v", name, line, err))
			return nil
		}
		d.code = code
	case "desc":
		if s != "" {
			d.items = append(d.items, tabItem{s, TagTabularTitle})
		}
	case "note":
		st.Counts["inclusion_note"]++
		d.inclusions++
		if s != "" {
			d.items = append(d.items, tabItem{s, TagTabularInclusion})
		} else {
			st.skip("empty note", fmt.Sprintf("%s line %d: field inclusionTerm/note: empty", name, line))
		}
	}
	return nil
}

// clean collapses the white space of a text (XML titles may be wrapped across
// lines; CSV and TSV fields may carry stray spaces).
func clean(s string) string { return strings.Join(strings.Fields(s), " ") }
