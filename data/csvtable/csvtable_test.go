package csvtable

import (
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func gzipBytes(t *testing.T, content string) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	zw.Write([]byte(content))
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// readAll returns every record (copied) and the line each starts on.
func readAll(t *testing.T, r *Reader) ([][]string, []int, error) {
	t.Helper()
	var recs [][]string
	var lines []int
	for {
		rec, err := r.Next()
		if err == io.EOF {
			return recs, lines, nil
		}
		if err != nil {
			return recs, lines, err
		}
		recs = append(recs, append([]string(nil), rec...))
		lines = append(lines, r.Line())
	}
}

func wantErr(t *testing.T, err error, parts ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want one mentioning %q", parts)
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Errorf("error %q does not mention %q", err, p)
		}
	}
}

const notes = "ROW_ID,HADM_ID,Category,TEXT\r\n" +
	"1,100,\"Discharge summary\",\"Admission Date: [**2151-7-16**]\r\n\r\nHe said \"\"no\"\", then, left.\"\r\n" +
	"2,,ECG,short\r\n" +
	"3,101,\"Discharge summary\",\"µg, °C\nline two\"\r\n"

func TestReadQuotedMultilineCRLFBOM(t *testing.T) {
	for _, gz := range []bool{false, true} {
		content := "\xef\xbb\xbf" + notes
		name := "NOTEEVENTS.csv"
		if gz {
			content = string(gzipBytes(t, content))
			name = "noteevents.CSV.GZ"
		}
		p := writeFile(t, name, content)
		r, err := Open(p)
		if err != nil {
			t.Fatal(err)
		}
		if got := r.Header(); !reflect.DeepEqual(got, []string{"ROW_ID", "HADM_ID", "Category", "TEXT"}) {
			t.Errorf("header %q (BOM not stripped?)", got)
		}
		for _, name := range []string{"row_id", "ROW_ID", "category", "CATEGORY", " text "} {
			if _, err := r.Column(name); err != nil {
				t.Errorf("Column(%q): %v", name, err)
			}
		}
		text, _ := r.Column("text")
		recs, lines, err := readAll(t, r)
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) != 3 {
			t.Fatalf("%d records, want 3", len(recs))
		}
		// encoding/csv reads CRLF inside quoted fields as LF.
		if want := "Admission Date: [**2151-7-16**]\n\nHe said \"no\", then, left."; recs[0][text] != want {
			t.Errorf("text 0 = %q, want %q", recs[0][text], want)
		}
		if recs[1][1] != "" || recs[2][text] != "µg, °C\nline two" {
			t.Errorf("records %q", recs)
		}
		if !reflect.DeepEqual(lines, []int{2, 5, 6}) {
			t.Errorf("lines %v, want [2 5 6]", lines)
		}
		read, size := r.Progress()
		if read != size || size == 0 {
			t.Errorf("progress %d of %d at EOF", read, size)
		}
		if _, err := r.Next(); err != io.EOF {
			t.Errorf("after EOF: %v", err)
		}
		if err := r.Close(); err != nil {
			t.Error(err)
		}
		if err := r.Close(); err != nil {
			t.Error("second Close:", err)
		}
	}
}

func TestColumnMissingListsColumns(t *testing.T) {
	p := writeFile(t, "DIAGNOSES_ICD.csv", "row_id,hadm_id,seq_num\n1,2,3\n")
	r, err := Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	_, err = r.Column("ICD9_CODE")
	wantErr(t, err, p, `"ICD9_CODE"`, "row_id, hadm_id, seq_num")
}

func TestErrors(t *testing.T) {
	cases := []struct {
		name, content string
		want          []string
	}{
		{"invalid UTF-8 in a multi-line field", "a,TEXT\n1,\"ok\nstill ok\nbad \xff here\"\n", []string{"line 4", "column TEXT", "invalid UTF-8"}},
		{"invalid UTF-8 plain", "a,b\n1,2\n3,x\xc3\n", []string{"line 3", "column b", "invalid UTF-8"}},
		{"too few fields", "a,b,c\n1,2,3\n4,5\n", []string{"line 3", "2 fields", "header has 3", "a, b, c"}},
		{"too many fields", "a,b\n1,2,3\n", []string{"line 2", "3 fields"}},
		{"bare quote", "a,b\n1,x\"y\n", []string{"line 2", "bare \""}},
		{"unterminated quote", "a,b\n1,\"open\nnever closed\n", []string{"line 2", "extraneous or missing \""}},
		{"text after quote", "a,b\n1,\"x\"y\n", []string{"line 2", "extraneous or missing \""}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := writeFile(t, "t.csv", c.content)
			r, err := Open(p)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			_, _, err = readAll(t, r)
			wantErr(t, err, append(c.want, p)...)
			// Errors are sticky.
			if _, err2 := r.Next(); err2 == nil || err2.Error() != err.Error() {
				t.Errorf("second Next: %v", err2)
			}
		})
	}
}

func TestHeaderErrors(t *testing.T) {
	cases := []struct{ name, content, want string }{
		{"empty", "", "empty file"},
		{"only BOM", "\xef\xbb\xbf", "empty file"},
		{"repeated column", "ROW_ID,row_id\n", "repeats column 1"},
		{"unnamed column", "a,,c\n", "column 2 has no name"},
		{"bad UTF-8 header", "a,\xff\n", "not valid UTF-8"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := writeFile(t, "t.csv", c.content)
			r, err := Open(p)
			if err == nil {
				r.Close()
			}
			wantErr(t, err, p, c.want)
		})
	}
	_, err := Open(filepath.Join(t.TempDir(), "absent.csv"))
	wantErr(t, err, "absent.csv")
	p := writeFile(t, "notgzip.csv.gz", "a,b\n")
	_, err = Open(p)
	wantErr(t, err, p, "not a valid gzip file")
}

func TestTruncatedGzip(t *testing.T) {
	var b strings.Builder
	b.WriteString("ROW_ID,TEXT\n")
	for i := range 20000 {
		b.WriteString(strings.Repeat("x", i%97) + ",\"note text, with comma\nand a second line\"\n")
	}
	z := gzipBytes(t, b.String())
	p := writeFile(t, "NOTEEVENTS.csv.gz", string(z[:len(z)*2/3]))
	r, err := Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	recs, _, err := readAll(t, r)
	wantErr(t, err, p, "truncated", "after line")
	if len(recs) == 0 {
		t.Error("no records before the truncation")
	}
}

func TestErrorf(t *testing.T) {
	p := writeFile(t, "d.csv", "hadm_id,icd9_code\n\"1\n\",4019\n2,XYZ\n")
	r, err := Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	r.Next()
	r.Next()
	col, _ := r.Column("ICD9_CODE")
	err = r.Errorf(col, "%q is not a code", "XYZ")
	if want := p + ` line 4, column icd9_code: "XYZ" is not a code`; err.Error() != want {
		t.Errorf("got %q, want %q", err, want)
	}
}

// TestRecordReuse documents that the slice is reused but its strings are not.
func TestRecordReuse(t *testing.T) {
	p := writeFile(t, "t.csv", "a\nfirst\nsecond\n")
	r, err := Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	rec1, _ := r.Next()
	kept := rec1[0]
	rec2, _ := r.Next()
	if kept != "first" || rec2[0] != "second" {
		t.Errorf("kept %q, second %q", kept, rec2[0])
	}
}

func TestColumns(t *testing.T) {
	p := filepath.Join(t.TempDir(), "t.csv")
	os.WriteFile(p, []byte("ROW_ID,hadm_id,Text\n1,2,x\n"), 0o644)
	r, err := Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	cols, err := r.Columns("text", "ROW_ID", "HADM_ID")
	if err != nil || len(cols) != 3 || cols[0] != 2 || cols[1] != 0 || cols[2] != 1 {
		t.Fatalf("Columns: %v %v", cols, err)
	}
	if _, err := r.Columns("ROW_ID", "ICD9_CODE"); err == nil || !strings.Contains(err.Error(), `no column "ICD9_CODE"`) {
		t.Errorf("missing column: %v", err)
	}
}
