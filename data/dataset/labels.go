package dataset

import (
	"bufio"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/icdcode/icdcode/data/fileio"
)

// LabelsFile is the name of the label-space file inside a dataset folder.
const LabelsFile = "labels.txt"

// ReadLabels reads a label list: one code a line, in label order. Blank lines,
// duplicate codes and codes with inner spaces are errors naming the line.
func ReadLabels(path string) ([]string, error) {
	r, err := fileio.Open(path)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	var labels []string
	seen := map[string]int{}
	sc := bufio.NewScanner(r)
	for line := 1; sc.Scan(); line++ {
		text := sc.Text()
		if !utf8.ValidString(text) {
			return nil, fmt.Errorf("%s line %d: invalid UTF-8", path, line)
		}
		code := strings.TrimSpace(text)
		if code == "" {
			return nil, fmt.Errorf("%s line %d: empty label", path, line)
		}
		if strings.ContainsAny(code, " \t") {
			return nil, fmt.Errorf("%s line %d: label %q contains a space", path, line, code)
		}
		if prev, dup := seen[code]; dup {
			return nil, fmt.Errorf("%s line %d: label %q repeats line %d", path, line, code, prev)
		}
		seen[code] = line
		labels = append(labels, code)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(labels) == 0 {
		return nil, fmt.Errorf("%s: no labels", path)
	}
	return labels, nil
}

// WriteLabels writes a label list atomically, one code a line.
func WriteLabels(path string, labels []string) error {
	return fileio.WriteAtomic(path, func(w io.Writer) error {
		for _, l := range labels {
			if _, err := io.WriteString(w, l+"\n"); err != nil {
				return err
			}
		}
		return nil
	})
}
