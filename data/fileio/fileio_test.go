package fileio

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestWriteAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "sub", "out.txt")
	if err := WriteAtomic(path, func(w io.Writer) error { _, err := io.WriteString(w, "one"); return err }); err != nil {
		t.Fatal(err)
	}
	// A failing writer leaves the old content and no temp file.
	boom := errors.New("boom")
	err := WriteAtomic(path, func(w io.Writer) error { io.WriteString(w, "half"); return boom })
	if !errors.Is(err, boom) {
		t.Fatalf("error %v", err)
	}
	got, _ := os.ReadFile(path)
	entries, _ := os.ReadDir(filepath.Dir(path))
	if string(got) != "one" || len(entries) != 1 {
		t.Fatalf("after a failed write: content %q, %d entries", got, len(entries))
	}
}

func TestOpenGzip(t *testing.T) {
	dir := t.TempDir()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write([]byte(strings.Repeat("line of text\n", 1000)))
	zw.Close()
	full := filepath.Join(dir, "a.txt.gz")
	os.WriteFile(full, buf.Bytes(), 0o644)
	r, err := Open(full)
	if err != nil {
		t.Fatal(err)
	}
	data, err := io.ReadAll(r)
	r.Close()
	if err != nil || len(data) != 13000 {
		t.Fatalf("read %d bytes, %v", len(data), err)
	}
	cut := filepath.Join(dir, "cut.txt.gz")
	os.WriteFile(cut, buf.Bytes()[:buf.Len()/2], 0o644)
	r, err = Open(cut)
	if err != nil {
		t.Fatal(err)
	}
	_, err = io.ReadAll(r)
	r.Close()
	if err == nil || !strings.Contains(err.Error(), "cut.txt.gz: gzip stream is truncated") {
		t.Fatalf("truncated gzip: %v", err)
	}
	bad := filepath.Join(dir, "bad.gz")
	os.WriteFile(bad, []byte("not gzip at all"), 0o644)
	if _, err := Open(bad); err == nil || !strings.Contains(err.Error(), "not a valid gzip file") {
		t.Fatalf("not gzip: %v", err)
	}
	plain := filepath.Join(dir, "plain.txt")
	os.WriteFile(plain, []byte("x"), 0o644)
	r, err = Open(plain)
	if err != nil {
		t.Fatal(err)
	}
	r.Close()
}
