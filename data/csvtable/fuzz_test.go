package csvtable

import (
	"bytes"
	"encoding/csv"
	"io"
	"strings"
	"testing"
	"unicode/utf8"
)

// fromBytes builds a Reader over data without touching the disk.
func fromBytes(data []byte) (*Reader, error) {
	r := &Reader{path: "fuzz.csv", counter: &countingReader{r: bytes.NewReader(data)}, size: int64(len(data))}
	if err := r.start(r.counter, 16); err != nil {
		return nil, err
	}
	return r, nil
}

type stdRecord struct {
	fields []string
	line   int
}

// stdRead parses data with plain encoding/csv, applying the rules this
// package adds on top (BOM dropped, header names non-empty and unique
// case-insensitively, every record as wide as the header, valid UTF-8). ok is
// false when any rule or the CSV syntax is broken.
func stdRead(data []byte) (header []string, recs []stdRecord, ok bool) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	cr := csv.NewReader(bytes.NewReader(data))
	cr.FieldsPerRecord = 0 // the header's count
	h, err := cr.Read()
	if err != nil {
		return nil, nil, false
	}
	seen := map[string]bool{}
	for _, name := range h {
		key := strings.ToLower(strings.TrimSpace(name))
		if key == "" || seen[key] || !utf8.ValidString(name) {
			return nil, nil, false
		}
		seen[key] = true
	}
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			return h, recs, true
		}
		if err != nil {
			return nil, nil, false
		}
		for _, f := range rec {
			if !utf8.ValidString(f) {
				return nil, nil, false
			}
		}
		line, _ := cr.FieldPos(0)
		recs = append(recs, stdRecord{rec, line})
	}
}

// FuzzCSV checks that the reader never panics, always ends (EOF or an
// error), and on input encoding/csv accepts under this package's rules gives
// the same header, records and record lines; on any other input it must
// report an error that names the file.
func FuzzCSV(f *testing.F) {
	f.Add([]byte(notes))
	f.Add([]byte("\xef\xbb\xbfa,B\r\n1,\"x\r\ny\"\r\n"))
	f.Add([]byte("a,b\n1,\"x\"\"y\"\n\n2,3"))
	f.Add([]byte("a,b\n1,x\xffy\n"))
	f.Add([]byte("a,A\n1,2\n"))
	f.Add([]byte("a,b\n1\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		header, want, ok := stdRead(data)
		r, err := fromBytes(data)
		if err != nil {
			if ok {
				t.Fatalf("Open failed on valid input: %v", err)
			}
			if !strings.Contains(err.Error(), "fuzz.csv") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		if ok && !equalStrings(r.Header(), header) {
			t.Fatalf("header %q, encoding/csv %q", r.Header(), header)
		}
		for _, name := range r.Header() {
			if strings.ToLower(strings.ToUpper(name)) != strings.ToLower(name) {
				continue // special cases such as ß → SS do not round-trip
			}
			if _, err := r.Column(strings.ToUpper(name)); err != nil {
				t.Fatalf("Column(%q): %v", strings.ToUpper(name), err)
			}
		}
		var got []stdRecord
		for n := 0; ; n++ {
			if n > len(data)+1 {
				t.Fatal("more records than bytes: the reader does not end")
			}
			rec, err := r.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				if ok {
					t.Fatalf("error on valid input: %v", err)
				}
				if !strings.Contains(err.Error(), "fuzz.csv") {
					t.Fatalf("error does not name the file: %v", err)
				}
				return
			}
			if len(rec) != len(r.Header()) {
				t.Fatalf("record of %d fields, header %d", len(rec), len(r.Header()))
			}
			got = append(got, stdRecord{append([]string(nil), rec...), r.Line()})
		}
		if !ok {
			t.Fatalf("input rejected by encoding/csv or the table rules was read without error (%d records)", len(got))
		}
		if len(got) != len(want) {
			t.Fatalf("%d records, encoding/csv %d", len(got), len(want))
		}
		for i := range got {
			if !equalStrings(got[i].fields, want[i].fields) || got[i].line != want[i].line {
				t.Fatalf("record %d: %q at line %d, encoding/csv %q at line %d", i, got[i].fields, got[i].line, want[i].fields, want[i].line)
			}
		}
	})
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
