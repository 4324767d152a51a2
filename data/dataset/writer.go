package dataset

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/BurntSushi/toml"
)

// Writer writes a dataset folder. Everything goes into a hidden sibling
// folder first and is moved into place by Commit, so an interrupted prepare
// never leaves a half-written dataset (nor damages an older one at the path).
type Writer struct {
	dir, tmp   string
	labels     []string
	labelIndex map[string]int
	f          *os.File
	buf        *bufio.Writer
	gz         *gzip.Writer
	enc        *json.Encoder
	seen       map[string]struct{}
	counts     map[string]int
	assigned   int
	docsFile   string
	done       bool
}

// NewWriter starts a dataset at dir with the given label space. dir must not
// exist, be empty, or hold an older dataset (which Commit replaces); any other
// folder is refused so that a mistyped --out never deletes user files.
func NewWriter(dir string, labels []string, gz bool) (*Writer, error) {
	if len(labels) == 0 {
		return nil, fmt.Errorf("dataset %s: empty label space", dir)
	}
	if err := checkReplaceable(dir); err != nil {
		return nil, err
	}
	parent := filepath.Dir(filepath.Clean(dir))
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return nil, err
	}
	removeStalePartials(parent, filepath.Base(dir))
	tmp, err := os.MkdirTemp(parent, partialPrefix(dir)+"*")
	if err != nil {
		return nil, err
	}
	w := &Writer{dir: dir, tmp: tmp, labels: labels, labelIndex: map[string]int{},
		seen: map[string]struct{}{}, counts: map[string]int{}, docsFile: DocsFile}
	for i, l := range labels {
		if _, dup := w.labelIndex[l]; dup {
			w.Abort()
			return nil, fmt.Errorf("dataset %s: label %q appears twice", dir, l)
		}
		w.labelIndex[l] = i
	}
	if gz {
		w.docsFile = DocsFileGz
	}
	w.f, err = os.Create(filepath.Join(tmp, w.docsFile))
	if err != nil {
		w.Abort()
		return nil, err
	}
	w.buf = bufio.NewWriterSize(w.f, 1<<20)
	var out io.Writer = w.buf
	if gz {
		w.gz = gzip.NewWriter(w.buf)
		out = w.gz
	}
	w.enc = json.NewEncoder(out)
	w.enc.SetEscapeHTML(false)
	return w, nil
}

// partialPrefix names the temporary folders of a dataset being written.
func partialPrefix(dir string) string { return "." + filepath.Base(dir) + ".partial-" }

// removeStalePartials deletes temporary folders left by an earlier prepare of
// the same output that was killed before it could clean up (SIGKILL, power
// loss). Only folders with our own prefix holding our own files are removed.
func removeStalePartials(parent, base string) {
	matches, _ := filepath.Glob(filepath.Join(parent, partialPrefix(base)+"*"))
	for _, m := range matches {
		entries, err := os.ReadDir(m)
		if err != nil {
			continue
		}
		ours := true
		for _, e := range entries {
			switch e.Name() {
			case DocsFile, DocsFileGz, LabelsFile, ManifestFile:
			default:
				ours = false
			}
		}
		if ours {
			os.RemoveAll(m)
		}
	}
}

func checkReplaceable(dir string) error {
	entries, err := os.ReadDir(dir)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("output %s: %w", dir, err)
	}
	if len(entries) == 0 {
		return nil
	}
	if _, err := os.Stat(filepath.Join(dir, ManifestFile)); err != nil {
		return fmt.Errorf("output %s exists and is not a dataset folder (no %s): refusing to replace it", dir, ManifestFile)
	}
	return nil
}

// Write appends one document. Its codes must be in the label space; they are
// deduplicated and stored in label order. Ids must be unique.
func (w *Writer) Write(d Doc) error {
	if d.ID == "" {
		return fmt.Errorf("document with empty id")
	}
	if _, dup := w.seen[d.ID]; dup {
		return fmt.Errorf("document %s: duplicate id", d.ID)
	}
	if !ValidSplit(d.Split) {
		return fmt.Errorf("document %s: unknown split %q", d.ID, d.Split)
	}
	if strings.TrimSpace(d.Text) == "" {
		return fmt.Errorf("document %s: empty text", d.ID)
	}
	if !utf8.ValidString(d.Text) {
		return fmt.Errorf("document %s: text is not valid UTF-8", d.ID)
	}
	codes, err := w.orderCodes(d.Codes)
	if err != nil {
		return fmt.Errorf("document %s: %w", d.ID, err)
	}
	d.Codes = codes
	if err := w.enc.Encode(d); err != nil {
		return fmt.Errorf("write %s: %w", w.docsFile, err)
	}
	w.seen[d.ID] = struct{}{}
	w.counts[d.Split]++
	w.assigned += len(codes)
	return nil
}

func (w *Writer) orderCodes(codes []string) ([]string, error) {
	idx := make([]int, 0, len(codes))
	for _, c := range codes {
		i, ok := w.labelIndex[c]
		if !ok {
			return nil, fmt.Errorf("code %q is not in the label space", c)
		}
		idx = append(idx, i)
	}
	slices.Sort(idx)
	idx = slices.Compact(idx)
	out := make([]string, len(idx))
	for k, i := range idx {
		out[k] = w.labels[i]
	}
	return out, nil
}

// Count returns how many documents were written to a split so far.
func (w *Writer) Count(split string) int { return w.counts[split] }

// Commit finishes the documents file, writes labels.txt and dataset.toml
// (counts and label numbers filled in from what was written) and moves the
// folder into place.
func (w *Writer) Commit(m Manifest) error {
	if w.done {
		return fmt.Errorf("dataset %s: already committed", w.dir)
	}
	defer w.Abort()
	total := 0
	for _, n := range w.counts {
		total += n
	}
	if total == 0 {
		return fmt.Errorf("dataset %s: no documents to write", w.dir)
	}
	if w.gz != nil {
		if err := w.gz.Close(); err != nil {
			return err
		}
	}
	if err := w.buf.Flush(); err != nil {
		return err
	}
	if err := w.f.Sync(); err != nil {
		return err
	}
	if err := w.f.Close(); err != nil {
		return err
	}
	if err := WriteLabels(filepath.Join(w.tmp, LabelsFile), w.labels); err != nil {
		return err
	}
	m.Format = FormatVersion
	m.DocsFile = w.docsFile
	m.Documents = total
	m.Counts = map[string]int{}
	for _, s := range Splits {
		m.Counts[s] = w.counts[s]
	}
	m.Labels.Count = len(w.labels)
	m.Labels.CodeAssignments = w.assigned
	var buf bytes.Buffer
	if err := toml.NewEncoder(&buf).Encode(m); err != nil {
		return fmt.Errorf("encode %s: %w", ManifestFile, err)
	}
	if err := os.WriteFile(filepath.Join(w.tmp, ManifestFile), buf.Bytes(), 0o644); err != nil {
		return err
	}
	if err := os.Chmod(w.tmp, 0o755); err != nil {
		return err
	}
	if err := replaceDir(w.dir, w.tmp); err != nil {
		return err
	}
	w.done = true
	return nil
}

// replaceDir moves tmp to dir; an existing dataset at dir is moved aside
// first and removed only once the new one is in place.
func replaceDir(dir, tmp string) error {
	if err := checkReplaceable(dir); err != nil {
		return err
	}
	old := ""
	if _, err := os.Stat(dir); err == nil {
		old = tmp + ".old"
		if err := os.Rename(dir, old); err != nil {
			return fmt.Errorf("replace %s: %w", dir, err)
		}
	}
	if err := os.Rename(tmp, dir); err != nil {
		if old != "" {
			os.Rename(old, dir)
		}
		return fmt.Errorf("replace %s: %w", dir, err)
	}
	if old != "" {
		return os.RemoveAll(old)
	}
	return nil
}

// Abort discards everything written; it does nothing after Commit.
func (w *Writer) Abort() {
	if w.done {
		return
	}
	if w.f != nil {
		w.f.Close()
	}
	os.RemoveAll(w.tmp)
}
