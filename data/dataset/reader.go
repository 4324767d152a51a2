package dataset

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"iter"
	"os"
	"path/filepath"
	"strings"
	"unicode/utf8"

	"github.com/BurntSushi/toml"

	"github.com/icdcode/icdcode/data/fileio"
)

// Dataset is an opened dataset folder: its manifest and label space. The
// documents are streamed with Docs.
type Dataset struct {
	Dir      string
	Manifest Manifest
	Labels   []string
	index    map[string]int
}

// Open reads and checks a dataset folder's manifest and labels.
func Open(dir string) (*Dataset, error) {
	mpath := filepath.Join(dir, ManifestFile)
	m, err := ReadManifest(mpath)
	if err != nil {
		return nil, err
	}
	labels, err := ReadLabels(filepath.Join(dir, LabelsFile))
	if err != nil {
		return nil, err
	}
	if m.Labels.Count != len(labels) {
		return nil, fmt.Errorf("%s: labels.count = %d but %s has %d labels", mpath, m.Labels.Count, LabelsFile, len(labels))
	}
	if m.DocsFile != DocsFile && m.DocsFile != DocsFileGz {
		return nil, fmt.Errorf("%s: docs_file = %q, want %q or %q", mpath, m.DocsFile, DocsFile, DocsFileGz)
	}
	ds := &Dataset{Dir: dir, Manifest: m, Labels: labels, index: make(map[string]int, len(labels))}
	for i, l := range labels {
		ds.index[l] = i
	}
	return ds, nil
}

// ReadManifest decodes dataset.toml strictly: unknown keys are errors.
func ReadManifest(path string) (Manifest, error) {
	var m Manifest
	md, err := toml.DecodeFile(path, &m)
	if err != nil {
		return m, fmt.Errorf("%s: %w", path, err)
	}
	if und := md.Undecoded(); len(und) > 0 {
		keys := make([]string, len(und))
		for i, k := range und {
			keys[i] = k.String()
		}
		return m, fmt.Errorf("%s: unknown key(s) %s", path, strings.Join(keys, ", "))
	}
	if m.Format != FormatVersion {
		return m, fmt.Errorf("%s: format = %q, want %q", path, m.Format, FormatVersion)
	}
	return m, nil
}

// LabelIndex returns the position of a code in the label space, or -1.
func (ds *Dataset) LabelIndex(code string) int {
	if i, ok := ds.index[code]; ok {
		return i
	}
	return -1
}

// DocsPath is the path of the documents file.
func (ds *Dataset) DocsPath() string { return filepath.Join(ds.Dir, ds.Manifest.DocsFile) }

// Docs streams the documents of the given splits (all when none are named),
// checking every line: known fields only, a non-empty unique id, a known
// split, non-empty valid UTF-8 text, codes in the label space. The first bad
// line ends the sequence with an error naming the file, line and field.
func (ds *Dataset) Docs(splits ...string) iter.Seq2[Doc, error] {
	return func(yield func(Doc, error) bool) {
		path := ds.DocsPath()
		r, err := fileio.Open(path)
		if err != nil {
			yield(Doc{}, err)
			return
		}
		defer r.Close()
		want := map[string]bool{}
		for _, s := range splits {
			want[s] = true
		}
		seen := map[string]int{}
		br := bufio.NewReaderSize(r, 1<<20)
		for line := 1; ; line++ {
			raw, rerr := br.ReadBytes('\n')
			if len(bytes.TrimSpace(raw)) > 0 {
				d, err := ds.decodeLine(raw, seen, line)
				if err != nil {
					yield(Doc{}, fmt.Errorf("%s line %d: %w", path, line, err))
					return
				}
				if len(want) == 0 || want[d.Split] {
					if !yield(d, nil) {
						return
					}
				}
			}
			if rerr == io.EOF {
				return
			}
			if rerr != nil {
				yield(Doc{}, fmt.Errorf("%s line %d: %w", path, line, rerr))
				return
			}
		}
	}
}

func (ds *Dataset) decodeLine(raw []byte, seen map[string]int, line int) (Doc, error) {
	var d Doc
	if !utf8.Valid(raw) {
		return d, fmt.Errorf("invalid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&d); err != nil {
		return d, describeJSONError(err)
	}
	if dec.More() {
		return d, fmt.Errorf("more than one JSON value on the line")
	}
	if d.ID == "" {
		return d, fmt.Errorf("field id: missing or empty")
	}
	if prev, dup := seen[d.ID]; dup {
		return d, fmt.Errorf("field id: %q repeats line %d", d.ID, prev)
	}
	seen[d.ID] = line
	if !ValidSplit(d.Split) {
		return d, fmt.Errorf("field split: %q is not one of %s (document %s)", d.Split, strings.Join(Splits, ", "), d.ID)
	}
	if strings.TrimSpace(d.Text) == "" {
		return d, fmt.Errorf("field text: empty (document %s)", d.ID)
	}
	for _, c := range d.Codes {
		if ds.LabelIndex(c) < 0 {
			return d, fmt.Errorf("field codes: %q is not in %s (document %s)", c, LabelsFile, d.ID)
		}
	}
	return d, nil
}

// describeJSONError names the field of a JSON type error.
func describeJSONError(err error) error {
	if te, ok := err.(*json.UnmarshalTypeError); ok {
		return fmt.Errorf("field %s: %s where %s was expected", te.Field, te.Value, te.Type)
	}
	return fmt.Errorf("malformed JSON: %w", err)
}

// Exists reports whether dir looks like a dataset folder.
func Exists(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, ManifestFile))
	return err == nil
}

// ReadSplit reads all documents of one split into memory, in file order,
// with the checks of Docs.
func (ds *Dataset) ReadSplit(split string) ([]Doc, error) {
	var out []Doc
	for d, err := range ds.Docs(split) {
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, nil
}
