// Package synonyms defines the two files of icdcode's synonym pipeline and
// reads and writes them:
//
//   - a candidates file (`icdcode synonyms build`): per code of the label space,
//     every candidate string with the sources it came from;
//   - a synonyms file (`icdcode synonyms select`): per code, exactly M strings
//     chosen from its candidates, in label order, which `icdcode train` consumes.
//
// Both are JSON Lines, one code a line, in label order, so a file can be checked
// against a label list line by line (the reference system once shipped a
// synonyms file in the wrong order; icdcode refuses one).
package synonyms

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"unicode/utf8"

	"github.com/icdcode/icdcode/data/fileio"
)

// Candidate is one candidate string of a code and where it came from.
type Candidate struct {
	Text    string   `json:"text"`
	Sources []string `json:"sources"`
}

// Pool is the candidate set of one code.
type Pool struct {
	Code       string      `json:"code"`
	Candidates []Candidate `json:"candidates"`
	// Note explains how the pool was filled when the code's own sources had
	// nothing, e.g. "from parent S22.3"; empty otherwise.
	Note string `json:"note,omitempty"`
}

// Selection is the chosen synonyms of one code.
type Selection struct {
	Code     string   `json:"code"`
	Synonyms []string `json:"synonyms"`
	// Distinct counts distinct strings in Synonyms: below M when the pool was
	// smaller than M and strings were repeated to fill the M slots.
	Distinct  int     `json:"distinct"`
	PoolSize  int     `json:"pool"`
	Criterion string  `json:"criterion"`
	Objective float64 `json:"objective"`
	// Optimal is true when the MDP solution is proven optimal (always true for
	// random selection, where there is nothing to prove).
	Optimal bool   `json:"optimal"`
	Note    string `json:"note,omitempty"`
}

// WritePools writes a candidates file atomically.
func WritePools(path string, pools []Pool) error {
	return writeJSONL(path, len(pools), func(i int) any { return pools[i] })
}

// WriteSelections writes a synonyms file atomically.
func WriteSelections(path string, sel []Selection) error {
	return writeJSONL(path, len(sel), func(i int) any { return sel[i] })
}

func writeJSONL(path string, n int, item func(int) any) error {
	return fileio.WriteAtomic(path, func(w io.Writer) error {
		enc := json.NewEncoder(w)
		enc.SetEscapeHTML(false)
		for i := 0; i < n; i++ {
			if err := enc.Encode(item(i)); err != nil {
				return fmt.Errorf("write %s: %w", path, err)
			}
		}
		return nil
	})
}

// ReadPools reads a candidates file. When labels is non-nil the file must hold
// exactly those codes in that order.
func ReadPools(path string, labels []string) ([]Pool, error) {
	var pools []Pool
	err := readJSONL(path, func(line int, raw []byte) error {
		var p Pool
		if err := strictUnmarshal(raw, &p); err != nil {
			return err
		}
		if p.Code == "" {
			return fmt.Errorf("field code: missing")
		}
		for j, c := range p.Candidates {
			if c.Text == "" {
				return fmt.Errorf("field candidates[%d].text: empty", j)
			}
		}
		pools = append(pools, p)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return pools, checkOrder(path, labels, len(pools), func(i int) string { return pools[i].Code })
}

// ReadSelections reads a synonyms file and checks that every code has exactly
// m synonyms (m <= 0 accepts any common M) and, when labels is non-nil, that
// the codes are exactly labels in order.
func ReadSelections(path string, labels []string, m int) ([]Selection, error) {
	var sel []Selection
	err := readJSONL(path, func(line int, raw []byte) error {
		var s Selection
		if err := strictUnmarshal(raw, &s); err != nil {
			return err
		}
		if s.Code == "" {
			return fmt.Errorf("field code: missing")
		}
		want := m
		if want <= 0 && len(sel) > 0 {
			want = len(sel[0].Synonyms)
		}
		if len(s.Synonyms) == 0 || (want > 0 && len(s.Synonyms) != want) {
			return fmt.Errorf("field synonyms: %d strings, want %d", len(s.Synonyms), want)
		}
		for j, t := range s.Synonyms {
			if t == "" {
				return fmt.Errorf("field synonyms[%d]: empty", j)
			}
		}
		sel = append(sel, s)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return sel, checkOrder(path, labels, len(sel), func(i int) string { return sel[i].Code })
}

func checkOrder(path string, labels []string, n int, code func(int) string) error {
	if labels == nil {
		return nil
	}
	for i := 0; i < n && i < len(labels); i++ {
		if code(i) != labels[i] {
			return fmt.Errorf("%s line %d: code %q but label %d is %q: the file does not follow the label order", path, i+1, code(i), i, labels[i])
		}
	}
	if n != len(labels) {
		return fmt.Errorf("%s: %d codes, but the label space has %d", path, n, len(labels))
	}
	return nil
}

func strictUnmarshal(raw []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return fmt.Errorf("more than one JSON value on the line")
	}
	return nil
}

// readJSONL streams a JSON Lines file (gzip by extension), calling fn for each
// non-blank line and wrapping its error with the file and line.
func readJSONL(path string, fn func(line int, raw []byte) error) error {
	r, err := fileio.Open(path)
	if err != nil {
		return err
	}
	defer r.Close()
	br := bufio.NewReaderSize(r, 1<<20)
	for line := 1; ; line++ {
		raw, err := br.ReadBytes('\n')
		if len(raw) > 0 {
			if !utf8.Valid(raw) {
				return fmt.Errorf("%s line %d: invalid UTF-8", path, line)
			}
			if trimmed := bytes.TrimSpace(raw); len(trimmed) > 0 {
				if ferr := fn(line, trimmed); ferr != nil {
					return fmt.Errorf("%s line %d: %w", path, line, ferr)
				}
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s line %d: %w", path, line, err)
		}
	}
}
