// Package sources reads the terminology files that candidate synonyms come
// from: one streaming parser per file kind, each turning its file into entries
// {Code, Term, Source}. Codes are canonical (package icd), terms are the file's
// text decoded to UTF-8 but otherwise untouched: normalisation, deduplication
// and the label-space restriction belong to package candidates, so a parser
// can be tested against its file on its own terms.
//
// Parsers stream: memory is bounded by one record (one line, one CSV row, the
// open XML elements of one index path), never by the file size. Structural
// problems (malformed XML, CSV or JSON, a line without the expected fields)
// are errors naming the file, the line (or byte offset) and the field. Values
// that are well-formed but unusable (a code that is not a valid code, a
// hierarchy node, an incomplete index code ending in "-") are skipped and
// counted in Stats, with the first example of each reason kept for the report,
// because real terminology files contain a few of them by design.
package sources

import (
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"

	"github.com/icdcode/icdcode/data/fileio"
	"github.com/icdcode/icdcode/data/icd"
)

// Entry is one candidate string of one code.
type Entry struct {
	Code   string // canonical (icd.Normalize)
	Term   string // UTF-8, as found in the file (index paths joined, see index.go)
	Source string // "kind:field", e.g. "icd10cm-tabular:inclusion"
}

// Kind names, as used on the command line (--source KIND=PATH).
const (
	KindTabular = "icd10cm-tabular"
	KindIndex   = "icd10cm-index"
	KindCMS     = "icd9-cms"
	KindCAML    = "caml"
	KindMIMIC   = "mimic-d-icd"
	KindUMLS    = "umls-json"
	KindTSV     = "tsv"
)

// KindInfo describes a source kind for help texts and checks.
type KindInfo struct {
	Name string
	// System is the code system the kind always yields, or "" when it is
	// given by the build (tsv, umls-json).
	System icd.System
	// Options lists the :OPTION words the kind accepts.
	Options []string
	Help    string
}

// Kinds lists the source kinds in the order help texts show them.
var Kinds = []KindInfo{
	{KindTabular, icd.ICD10, nil, "ICD-10-CM tabular XML (<ICD10CM.tabular>): code titles and inclusion terms"},
	{KindIndex, icd.ICD10, nil, "ICD-10-CM alphabetic index: CDC XML (<ICD10CM.index>, .xml/.xml.gz) or the flattened CSV (RowID,Letter,Level,Term,See,SeeAlso,NonEssModif,Code)"},
	{KindCMS, icd.ICD9, []string{"diagnosis", "procedure"}, "CMS ICD-9-CM title file (code<spaces>title, undotted; Latin-1 or UTF-8); SG files or :procedure for procedures"},
	{KindCAML, icd.ICD9, nil, "CAML ICD9_descriptions TSV (code<TAB>description, dotted; hierarchy nodes skipped)"},
	{KindMIMIC, icd.ICD9, []string{"diagnosis", "procedure"}, "MIMIC-III D_ICD_DIAGNOSES / D_ICD_PROCEDURES CSV (short and long titles; kind from the file name or :procedure)"},
	{KindUMLS, "", []string{"diagnosis", "procedure"}, "JSON object {code: [strings]} in the build's code system (e.g. ICD-MSMN's UMLS synonyms)"},
	{KindTSV, "", []string{"diagnosis", "procedure"}, "any code<TAB>term file in the build's code system (blank lines and # comments skipped)"},
}

// LookupKind returns the description of a kind name.
func LookupKind(name string) (KindInfo, bool) {
	for _, k := range Kinds {
		if k.Name == name {
			return k, true
		}
	}
	return KindInfo{}, false
}

// Options tune a parser.
type Options struct {
	// System is the code system of kinds that do not fix one (tsv, umls-json).
	System icd.System
	// Kind forces diagnosis or procedure codes; "" lets the parser decide
	// from the file name (icd9-cms, mimic-d-icd) or the code's shape.
	Kind icd.Kind
	// Resolve, when set, maps a raw code of a tsv or umls-json file to its
	// canonical form instead of ResolveCode; package candidates uses it to
	// settle codes whose shape fits both diagnoses and procedures by looking
	// them up in the label space.
	Resolve func(raw string) (string, error)
}

// Spec is one --source argument: KIND[:OPTION[,OPTION]]=PATH.
type Spec struct {
	Kind    string
	Path    string
	Options Options
}

// ParseSpec reads a --source argument. The kind part cannot contain "=", so
// the first "=" separates it from the path (which may contain "=").
func ParseSpec(arg string) (Spec, error) {
	left, path, ok := strings.Cut(arg, "=")
	if !ok || path == "" {
		return Spec{}, fmt.Errorf("source %q: want KIND=PATH", arg)
	}
	name, opts, _ := strings.Cut(left, ":")
	info, ok := LookupKind(name)
	if !ok {
		names := make([]string, len(Kinds))
		for i, k := range Kinds {
			names[i] = k.Name
		}
		return Spec{}, fmt.Errorf("source %q: unknown kind %q (want one of %s)", arg, name, strings.Join(names, ", "))
	}
	s := Spec{Kind: name, Path: path}
	if opts != "" {
		for _, o := range strings.Split(opts, ",") {
			if !slices.Contains(info.Options, o) {
				return Spec{}, fmt.Errorf("source %q: kind %s has no option %q (options: %s)", arg, name, o, strings.Join(info.Options, ", "))
			}
			if s.Options.Kind != "" {
				return Spec{}, fmt.Errorf("source %q: more than one of diagnosis/procedure", arg)
			}
			s.Options.Kind = icd.Kind(o)
		}
	}
	return s, nil
}

// Stats counts what a parser saw.
type Stats struct {
	Kind string
	Path string
	// Entries counts the entries emitted.
	Entries int
	// Counts holds kind-specific counts (e.g. "diag", "inclusion_note",
	// "latin1_lines"), reported as they are.
	Counts map[string]int
	// Skipped counts records left out, by reason; Examples keeps the first
	// record of each reason with its location.
	Skipped  map[string]int
	Examples map[string]string
}

func newStats(kind, path string) *Stats {
	return &Stats{Kind: kind, Path: path, Counts: map[string]int{}, Skipped: map[string]int{}, Examples: map[string]string{}}
}

func (s *Stats) skip(reason, example string) {
	if s.Skipped[reason] == 0 {
		s.Examples[reason] = example
	}
	s.Skipped[reason]++
}

// SkippedTotal sums Skipped.
func (s *Stats) SkippedTotal() int {
	n := 0
	for _, v := range s.Skipped {
		n += v
	}
	return n
}

// Parse streams the file of spec, calling emit for every entry; an error
// from emit stops the parse and is returned as is.
func Parse(spec Spec, emit func(Entry) error) (Stats, error) {
	r, err := fileio.Open(spec.Path)
	if err != nil {
		return Stats{Kind: spec.Kind, Path: spec.Path}, err
	}
	defer r.Close()
	return ParseReader(spec.Kind, spec.Path, r, spec.Options, emit)
}

// ParseReader parses r, already decompressed, as a file of the given kind;
// name is used in errors and, for some kinds, to tell the file's layout or
// code kind (a ".xml" index, a PROCEDURES table, a CMS SG file).
func ParseReader(kind, name string, r io.Reader, opt Options, emit func(Entry) error) (Stats, error) {
	st := newStats(kind, name)
	var err error
	switch kind {
	case KindTabular:
		err = parseTabular(name, r, st, emit)
	case KindIndex:
		if isXMLName(name) {
			err = parseIndexXML(name, r, st, emit)
		} else {
			err = parseIndexCSV(name, r, st, emit)
		}
	case KindCMS:
		err = parseCMS(name, r, opt, st, emit)
	case KindCAML:
		err = parseCAML(name, r, st, emit)
	case KindMIMIC:
		err = parseMIMIC(name, r, opt, st, emit)
	case KindUMLS:
		err = parseUMLS(name, r, opt, st, emit)
	case KindTSV:
		err = parseTSV(name, r, opt, st, emit)
	default:
		err = fmt.Errorf("%s: unknown source kind %q", name, kind)
	}
	return *st, err
}

func isXMLName(name string) bool {
	n := strings.ToLower(strings.TrimSuffix(strings.ToLower(name), ".gz"))
	return strings.HasSuffix(n, ".xml")
}

// baseName is the file name without folders and without ".gz" and one more
// extension, used to label tsv sources and to read hints from file names.
func baseName(name string) string {
	b := filepath.Base(name)
	b = strings.TrimSuffix(b, ".gz")
	return strings.TrimSuffix(b, filepath.Ext(b))
}

// ResolveCode returns the canonical form of a raw code in sys. With kind set
// it is icd.Normalize; with kind "" the code's shape decides:
//
//   - ICD-9: a dotted code is a procedure when 2 digits precede the dot
//     (38.93) and a diagnosis otherwise (038.9, V58.61, E849.7); undotted, V
//     and E codes and 5-digit codes are diagnoses, 2-digit codes procedures,
//     and 3- or 4-digit codes are ambiguous (401 or 40.1, 4019 or 40.19) and
//     rejected: dot them or give the kind.
//   - ICD-10: a dotted code or one starting with a letter followed by a digit
//     is ICD-10-CM (PCS codes have no dot and almost all start with a digit
//     or a letter-letter pair); anything else is ICD-10-PCS. Files of PCS
//     codes starting with a letter and a digit need the procedure kind.
//
// A dotted input must already carry its dot where icdcode puts it, so that a
// misplaced dot (40.19 read as a diagnosis) is reported instead of silently
// moved.
func ResolveCode(raw string, sys icd.System, kind icd.Kind) (string, error) {
	c := strings.ToUpper(strings.TrimSpace(raw))
	if kind == "" {
		var err error
		if kind, err = shapeKind(c, sys); err != nil {
			return "", err
		}
	}
	code, err := icd.Normalize(c, sys, kind)
	if err != nil {
		return "", err
	}
	if strings.Contains(c, ".") && code != c {
		return "", fmt.Errorf("%q is not a canonical %s %s code (want %s)", raw, sys, kind, code)
	}
	return code, nil
}

func shapeKind(c string, sys icd.System) (icd.Kind, error) {
	switch sys {
	case icd.ICD9:
		if before, _, dotted := strings.Cut(c, "."); dotted {
			if len(before) == 2 && allDigits(before) {
				return icd.Procedure, nil
			}
			return icd.Diagnosis, nil
		}
		switch {
		case c != "" && (c[0] == 'V' || c[0] == 'E'):
			return icd.Diagnosis, nil
		case allDigits(c) && len(c) == 2:
			return icd.Procedure, nil
		case allDigits(c) && len(c) == 5:
			return icd.Diagnosis, nil
		case allDigits(c) && (len(c) == 3 || len(c) == 4):
			return "", fmt.Errorf("%q: an undotted 3- or 4-digit ICD-9 code may be a diagnosis or a procedure; dot it or give the kind", c)
		}
		return icd.Diagnosis, nil // Normalize rejects it with the right message
	case icd.ICD10:
		if strings.Contains(c, ".") || (len(c) >= 2 && c[0] >= 'A' && c[0] <= 'Z' && c[1] >= '0' && c[1] <= '9') {
			return icd.Diagnosis, nil
		}
		return icd.Procedure, nil
	}
	return "", fmt.Errorf("unknown code system %q", sys)
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// Priority ranks source tags for ordering candidates within a pool (lower
// first): official titles before inclusion terms, index paths and other
// synonym lists, abbreviated short titles after full ones, user files last,
// and everything inherited from a parent after the code's own strings. A
// deterministic cap on a pool then keeps the most authoritative strings.
func Priority(tag string) int {
	base := 0
	if rest, ok := strings.CutPrefix(tag, "parent:"); ok {
		base, tag = 100, rest
	}
	switch tag {
	case "icd10cm-tabular:title":
		return base + 0
	case "icd9-cms:long_title", "icd9-cms:title", "mimic:long_title", "caml:description":
		return base + 1
	case "icd10cm-tabular:inclusion":
		return base + 2
	case "icd10cm-index:term":
		return base + 3
	case "umls-json:term":
		return base + 4
	case "icd9-cms:short_title", "mimic:short_title":
		return base + 5
	}
	if strings.HasPrefix(tag, "tsv:") {
		return base + 6
	}
	return base + 7
}
