package sources

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"
)

// maxLine bounds one line of a text source, so a file without newlines (or
// with a runaway quoted CSV field) cannot make a parser hold the whole file.
const maxLine = 1 << 20

// lineReader reads a text file line by line, decoding each line to UTF-8.
//
// Encoding: the CMS ICD-9-CM long titles are Latin-1 while every other source
// is UTF-8 (or plain ASCII, valid as both), and nothing in the files says
// which. A line that is valid UTF-8 is taken as UTF-8; any other line is
// decoded as Latin-1, where every byte is the code point of the same value.
// Deciding per line keeps the reader streaming, and it is safe because Latin-1
// text only looks like valid UTF-8 when it contains sequences such as "Ã¤",
// which do not occur in clinical titles. Lines decoded as Latin-1 are counted
// (Counts["latin1_lines"]).
type lineReader struct {
	br     *bufio.Reader
	name   string
	line   int // number of the line last returned
	st     *Stats
	latin1 int
}

func newLineReader(name string, r io.Reader, st *Stats) *lineReader {
	return &lineReader{br: bufio.NewReaderSize(r, 64<<10), name: name, st: st}
}

// next returns the next line without its line ending, decoded to UTF-8, or
// io.EOF after the last line.
func (l *lineReader) next() (string, error) {
	raw, err := l.readRaw()
	if err != nil {
		return "", err
	}
	raw = trimEOL(raw)
	return l.decode(raw), nil
}

// readRaw returns the next raw line including its "\n" (if any).
func (l *lineReader) readRaw() ([]byte, error) {
	var buf []byte
	for {
		frag, err := l.br.ReadSlice('\n')
		if len(buf)+len(frag) > maxLine {
			return nil, fmt.Errorf("%s line %d: line longer than %d bytes", l.name, l.line+1, maxLine)
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			buf = append(buf, frag...)
			continue
		}
		if len(frag) > 0 || len(buf) > 0 {
			// ReadSlice's buffer is reused by the next call: copy.
			buf = append(buf, frag...)
			l.line++
			if err != nil && err != io.EOF {
				return nil, fmt.Errorf("%s line %d: %w", l.name, l.line, err)
			}
			return buf, nil
		}
		if err == io.EOF {
			return nil, io.EOF
		}
		return nil, fmt.Errorf("%s line %d: %w", l.name, l.line+1, err)
	}
}

func (l *lineReader) decode(raw []byte) string {
	if utf8.Valid(raw) {
		return string(raw)
	}
	l.latin1++
	if l.st != nil {
		l.st.Counts["latin1_lines"]++
	}
	var b strings.Builder
	b.Grow(len(raw) + 16)
	for _, c := range raw {
		b.WriteRune(rune(c))
	}
	return b.String()
}

func trimEOL(b []byte) []byte {
	if n := len(b); n > 0 && b[n-1] == '\n' {
		b = b[:n-1]
	}
	if n := len(b); n > 0 && b[n-1] == '\r' {
		b = b[:n-1]
	}
	return b
}

// utf8Reader is an io.Reader giving the lines of a lineReader re-encoded as
// UTF-8 (line endings kept), so encoding/csv sees the same line numbers as
// the file while Latin-1 lines are decoded as described on lineReader.
type utf8Reader struct {
	lr      *lineReader
	pending []byte
	err     error
}

func (u *utf8Reader) Read(p []byte) (int, error) {
	for len(u.pending) == 0 {
		if u.err != nil {
			return 0, u.err
		}
		raw, err := u.lr.readRaw()
		if err != nil {
			u.err = err
			continue
		}
		body := trimEOL(raw)
		eol := raw[len(body):]
		u.pending = append([]byte(u.lr.decode(body)), eol...)
	}
	n := copy(p, u.pending)
	u.pending = u.pending[n:]
	return n, nil
}

// charsetReader lets encoding/xml read XML files that declare a Latin-1 or
// Windows-1252 encoding (older terminology releases do); UTF-8 needs none.
func charsetReader(label string, input io.Reader) (io.Reader, error) {
	switch strings.ToLower(strings.TrimSpace(label)) {
	case "iso-8859-1", "iso8859-1", "latin1", "latin-1", "l1":
		return charmap.ISO8859_1.NewDecoder().Reader(input), nil
	case "windows-1252", "cp1252":
		return charmap.Windows1252.NewDecoder().Reader(input), nil
	}
	return nil, fmt.Errorf("unsupported XML encoding %q (want UTF-8, ISO-8859-1 or Windows-1252)", label)
}
