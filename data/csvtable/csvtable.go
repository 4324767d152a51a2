// Package csvtable streams a CSV table (plain or .gz) that starts with a
// header row, such as the MIMIC-III tables. Columns are looked up by name,
// case-insensitively, because header case differs between MIMIC tables and
// releases (DIAGNOSES_ICD has "icd9_code" in the demo, "ICD9_CODE" in the full
// release).
//
// Parsing is RFC 4180 as implemented by encoding/csv (quoted fields may span
// lines, "" is an escaped quote, CRLF is read as LF), run strictly: a bare or
// unbalanced quote is an error, not guessed around. On top of it the reader
// drops a UTF-8 byte order mark, rejects invalid UTF-8 and records whose field
// count differs from the header's, and names the file, line and column in
// every error. encoding/csv with ReuseRecord reads note-like data at several
// hundred MB/s on one core (see BenchmarkRead), far above what the callers
// need, so no parser of our own is warranted.
//
// Errors never quote field contents (tables may hold patient text); they give
// positions and column names only.
package csvtable

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"unicode/utf8"
)

// Reader streams the records of one table. It is not safe for concurrent use.
type Reader struct {
	path    string
	f       *os.File
	counter *countingReader
	zr      *gzip.Reader
	csv     *csv.Reader
	header  []string
	index   map[string]int // lower-cased column name → position
	line    int            // line where the current record starts
	size    int64          // file size on disk, for progress
	err     error          // sticky: once Next fails it keeps failing
}

// Open opens a table and reads its header row. A ".gz" path (any case) is
// decompressed on the fly. The header must be non-empty, valid UTF-8 and
// have no empty or repeated (case-insensitively) column names.
func Open(path string) (*Reader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	r := &Reader{path: path, f: f, counter: &countingReader{r: f}}
	if st, err := f.Stat(); err == nil {
		r.size = st.Size()
	}
	var src io.Reader = r.counter
	if strings.HasSuffix(strings.ToLower(path), ".gz") {
		r.zr, err = gzip.NewReader(bufio.NewReaderSize(r.counter, 1<<20))
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("%s: not a valid gzip file: %w", path, err)
		}
		src = &gzipErrors{zr: r.zr}
	}
	if err := r.start(src, 1<<20); err != nil {
		r.Close()
		return nil, err
	}
	return r, nil
}

// start reads the header from src through a buffer of bufSize bytes; Open
// and the tests share it (the fuzz test uses a tiny buffer, which both keeps
// it fast and exercises lines longer than the buffer).
func (r *Reader) start(src io.Reader, bufSize int) error {
	path := r.path
	br := bufio.NewReaderSize(src, bufSize)
	// A byte order mark would otherwise stick to the first column's name.
	if bom, err := br.Peek(3); err == nil && bytes.Equal(bom, []byte("\xef\xbb\xbf")) {
		br.Discard(3)
	}
	r.csv = csv.NewReader(br)
	r.csv.ReuseRecord = true
	r.csv.FieldsPerRecord = -1 // counted here, for an error naming the columns
	header, err := r.csv.Read()
	if err == io.EOF {
		return fmt.Errorf("%s: empty file (no header row)", path)
	}
	if err != nil {
		return r.wrap(err)
	}
	r.header = append([]string(nil), header...)
	r.index = make(map[string]int, len(header))
	for i, h := range r.header {
		if !utf8.ValidString(h) {
			return fmt.Errorf("%s line 1: header column %d is not valid UTF-8", path, i+1)
		}
		key := strings.ToLower(strings.TrimSpace(h))
		if key == "" {
			return fmt.Errorf("%s line 1: header column %d has no name", path, i+1)
		}
		if prev, dup := r.index[key]; dup {
			return fmt.Errorf("%s line 1: column %q repeats column %d (%q)", path, h, prev+1, r.header[prev])
		}
		r.index[key] = i
	}
	r.line = 1
	return nil
}

// Path returns the path the table was opened from.
func (r *Reader) Path() string { return r.path }

// Header returns the column names as found in the file. Do not modify it.
func (r *Reader) Header() []string { return r.header }

// Column returns the position of the named column, matched
// case-insensitively and ignoring surrounding spaces. A missing column is an
// error naming the file and listing the columns found.
func (r *Reader) Column(name string) (int, error) {
	if i, ok := r.index[strings.ToLower(strings.TrimSpace(name))]; ok {
		return i, nil
	}
	return -1, fmt.Errorf("%s: no column %q (columns found: %s)", r.path, name, strings.Join(r.header, ", "))
}

// Columns looks up several columns at once, as Column does, in the order
// named.
func (r *Reader) Columns(names ...string) ([]int, error) {
	cols := make([]int, len(names))
	for i, n := range names {
		c, err := r.Column(n)
		if err != nil {
			return nil, err
		}
		cols[i] = c
	}
	return cols, nil
}

// Next returns the next record, with exactly as many fields as the header,
// or io.EOF after the last one. The returned slice is reused by the following
// call (the strings in it are not), so copy the slice to keep it. Any other
// error names the file, the line and, where one is at fault, the column; after
// an error every later call returns the same error.
func (r *Reader) Next() ([]string, error) {
	if r.err != nil {
		return nil, r.err
	}
	rec, err := r.csv.Read()
	if err != nil {
		if err != io.EOF {
			err = r.wrap(err)
		}
		r.err = err
		return nil, err
	}
	r.line, _ = r.csv.FieldPos(0)
	if len(rec) != len(r.header) {
		r.err = fmt.Errorf("%s line %d: record has %d fields, header has %d (%s)", r.path, r.line, len(rec), len(r.header), strings.Join(r.header, ", "))
		return nil, r.err
	}
	for i, field := range rec {
		if utf8.ValidString(field) {
			continue
		}
		// Point at the line of the first bad byte, which may lie inside a
		// multi-line field.
		bad := 0
		for bad < len(field) {
			c, size := utf8.DecodeRuneInString(field[bad:])
			if c == utf8.RuneError && size <= 1 {
				break
			}
			bad += size
		}
		line, _ := r.csv.FieldPos(i)
		line += strings.Count(field[:bad], "\n")
		r.err = fmt.Errorf("%s line %d, column %s: invalid UTF-8 (byte %d of the field)", r.path, line, r.header[i], bad+1)
		return nil, r.err
	}
	return rec, nil
}

// Line returns the line on which the current record starts (1 is the
// header). Quoted fields may span lines, so records and lines differ.
func (r *Reader) Line() int { return r.line }

// Errorf returns an error about field col of the current record, naming the
// file, the field's line and the column. Callers use it for values that parse
// as CSV but are wrong for them (a bad code, a non-numeric id).
func (r *Reader) Errorf(col int, format string, args ...any) error {
	line := r.line
	name := fmt.Sprintf("#%d", col+1)
	if col >= 0 && col < len(r.header) {
		name = r.header[col]
		if r.err == nil {
			line, _ = r.csv.FieldPos(col)
		}
	}
	return fmt.Errorf("%s line %d, column %s: %s", r.path, line, name, fmt.Sprintf(format, args...))
}

// Progress returns how many bytes of the file on disk have been consumed
// (compressed bytes for a .gz file) and the file's size, for progress
// reports. Reading is buffered, so read runs up to a few MB ahead.
func (r *Reader) Progress() (read, size int64) { return r.counter.n, r.size }

// Close releases the file. It is safe to call more than once.
func (r *Reader) Close() error {
	if r.f == nil {
		return nil
	}
	if r.zr != nil {
		r.zr.Close()
	}
	err := r.f.Close()
	r.f = nil
	return err
}

// wrap adds the file name, and turns encoding/csv's positions into ours.
func (r *Reader) wrap(err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		if pe.StartLine != pe.Line {
			return fmt.Errorf("%s line %d, byte %d (record starting at line %d): %v", r.path, pe.Line, pe.Column, pe.StartLine, pe.Err)
		}
		return fmt.Errorf("%s line %d, byte %d: %v", r.path, pe.Line, pe.Column, pe.Err)
	}
	// An I/O error, such as a truncated .gz.
	return fmt.Errorf("%s after line %d: %w", r.path, r.line, err)
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// gzipErrors says plainly when the stream is truncated (the commonest fault
// with multi-GB .gz downloads); wrap adds the file name and line.
type gzipErrors struct {
	zr *gzip.Reader
}

func (g *gzipErrors) Read(p []byte) (int, error) {
	n, err := g.zr.Read(p)
	if err != nil && err != io.EOF {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return n, fmt.Errorf("gzip stream is truncated: %w", err)
		}
		return n, fmt.Errorf("corrupt gzip stream: %w", err)
	}
	return n, err
}
