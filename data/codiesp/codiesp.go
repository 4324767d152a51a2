// Package codiesp reads the CodiEsp corpus (CLEF eHealth 2020: Spanish clinical
// case reports coded with CIE-10-ES, the Spanish ICD-10-CM/PCS, with an English
// machine translation) in its published layout:
//
//	DIR/{train,dev,test}/text_files/<id>.txt      Spanish text
//	DIR/{train,dev,test}/text_files_en/<id>.txt   English text (one sentence a line)
//	DIR/{train,dev,test}/{train,dev,test}D.tsv    id<TAB>diagnosis code
//	DIR/{train,dev,test}/{train,dev,test}P.tsv    id<TAB>procedure code
//
// Split folders that are absent are skipped (the public copy here has no test
// split). Codes are upper-cased and dotted (icd.Normalize); the X files with
// evidence spans are not needed for coding and are not read.
package codiesp

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/icdcode/icdcode/data/icd"
)

// Split is one split folder: its documents and their codes.
type Split struct {
	Name    string
	TextDir string
	IDs     []string // documents with a text file, sorted
	Diag    map[string][]string
	Proc    map[string][]string
	// Rows counts the TSV rows read per kind.
	DiagRows, ProcRows int
}

// Corpus is the splits found in a CodiEsp folder.
type Corpus struct {
	Dir    string
	Lang   string
	Splits []*Split
}

// Open reads the code files and lists the text files of every split present.
// Text is read later, one document at a time, by Text.
func Open(dir, lang string) (*Corpus, error) {
	textDir := map[string]string{"en": "text_files_en", "es": "text_files"}[lang]
	if textDir == "" {
		return nil, fmt.Errorf("unknown language %q (want en or es)", lang)
	}
	c := &Corpus{Dir: dir, Lang: lang}
	for _, name := range []string{"train", "dev", "test"} {
		sdir := filepath.Join(dir, name)
		if _, err := os.Stat(sdir); os.IsNotExist(err) {
			continue
		}
		s, err := openSplit(sdir, name, textDir)
		if err != nil {
			return nil, err
		}
		c.Splits = append(c.Splits, s)
	}
	if len(c.Splits) == 0 {
		return nil, fmt.Errorf("%s: no train, dev or test folder: is this a CodiEsp folder?", dir)
	}
	return c, nil
}

func openSplit(sdir, name, textDir string) (*Split, error) {
	s := &Split{Name: name, TextDir: filepath.Join(sdir, textDir)}
	entries, err := os.ReadDir(s.TextDir)
	if err != nil {
		return nil, fmt.Errorf("split %s: %w", name, err)
	}
	known := map[string]bool{}
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".txt") {
			continue
		}
		id := strings.TrimSuffix(e.Name(), ".txt")
		s.IDs = append(s.IDs, id)
		known[id] = true
	}
	sort.Strings(s.IDs)
	if len(s.IDs) == 0 {
		return nil, fmt.Errorf("%s: no .txt files", s.TextDir)
	}
	if s.Diag, s.DiagRows, err = readCodes(filepath.Join(sdir, name+"D.tsv"), icd.Diagnosis, known); err != nil {
		return nil, err
	}
	if s.Proc, s.ProcRows, err = readCodes(filepath.Join(sdir, name+"P.tsv"), icd.Procedure, known); err != nil {
		return nil, err
	}
	return s, nil
}

// readCodes reads an id<TAB>code file. Every id must have a text file, so a
// TSV from another split or corpus is caught instead of silently ignored.
func readCodes(path string, kind icd.Kind, known map[string]bool) (map[string][]string, int, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, err
	}
	defer f.Close()
	codes := map[string][]string{}
	rows := 0
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimRight(sc.Text(), "\r")
		if strings.TrimSpace(text) == "" {
			continue
		}
		if !utf8.ValidString(text) {
			return nil, 0, fmt.Errorf("%s line %d: invalid UTF-8", path, line)
		}
		fields := strings.Split(text, "\t")
		if len(fields) != 2 {
			return nil, 0, fmt.Errorf("%s line %d: %d fields, want 2 (id, code)", path, line, len(fields))
		}
		id := strings.TrimSpace(fields[0])
		if !known[id] {
			return nil, 0, fmt.Errorf("%s line %d: field id: document %q has no text file", path, line, id)
		}
		code, err := icd.Normalize(fields[1], icd.ICD10, kind)
		if err != nil {
			return nil, 0, fmt.Errorf("%s line %d: field code: %w", path, line, err)
		}
		if !contains(codes[id], code) {
			codes[id] = append(codes[id], code)
		}
		rows++
	}
	if err := sc.Err(); err != nil {
		return nil, 0, fmt.Errorf("%s: %w", path, err)
	}
	return codes, rows, nil
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

// Text reads one document's text, checking it is non-empty valid UTF-8.
func (s *Split) Text(id string) (string, error) {
	path := filepath.Join(s.TextDir, id+".txt")
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	raw, err := io.ReadAll(f)
	if err != nil {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	if !utf8.Valid(raw) {
		line := 1 + strings.Count(string(raw[:firstInvalid(raw)]), "\n")
		return "", fmt.Errorf("%s line %d: invalid UTF-8", path, line)
	}
	if strings.TrimSpace(string(raw)) == "" {
		return "", fmt.Errorf("%s: empty note", path)
	}
	return string(raw), nil
}

func firstInvalid(b []byte) int {
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size <= 1 {
			return i
		}
		i += size
	}
	return len(b)
}
