// Package fileio holds the file plumbing every reader and writer shares: atomic
// writes (temp file + rename, so a crash never leaves half an output behind) and
// opening inputs that may be gzip-compressed, with errors that name the file.
package fileio

import (
	"bufio"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// AtomicFile is a file written under a temporary name in the destination's
// folder and renamed over the destination by Commit. Until Commit succeeds the
// destination is untouched; Abort (safe after Commit) removes the temp file.
type AtomicFile struct {
	*os.File
	dest      string
	committed bool
}

// CreateAtomic starts an atomic write of path. Callers must defer Abort and
// call Commit once everything is written.
func CreateAtomic(path string) (*AtomicFile, error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create %s: %w", dir, err)
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return nil, fmt.Errorf("create %s: %w", path, err)
	}
	return &AtomicFile{File: f, dest: path}, nil
}

// Commit flushes the data to disk and renames the temp file over the destination.
func (a *AtomicFile) Commit() error {
	if a.committed {
		return nil
	}
	if err := a.File.Sync(); err != nil {
		a.Abort()
		return fmt.Errorf("write %s: %w", a.dest, err)
	}
	if err := a.File.Close(); err != nil {
		a.Abort()
		return fmt.Errorf("write %s: %w", a.dest, err)
	}
	if err := os.Chmod(a.File.Name(), 0o644); err != nil {
		a.Abort()
		return fmt.Errorf("write %s: %w", a.dest, err)
	}
	if err := os.Rename(a.File.Name(), a.dest); err != nil {
		a.Abort()
		return fmt.Errorf("write %s: %w", a.dest, err)
	}
	a.committed = true
	return nil
}

// Abort discards the temp file; it does nothing after a successful Commit.
func (a *AtomicFile) Abort() {
	if a.committed {
		return
	}
	a.File.Close()
	os.Remove(a.File.Name())
}

// WriteAtomic writes path atomically with the bytes produced by fill.
func WriteAtomic(path string, fill func(w io.Writer) error) error {
	f, err := CreateAtomic(path)
	if err != nil {
		return err
	}
	defer f.Abort()
	bw := bufio.NewWriterSize(f, 1<<20)
	if err := fill(bw); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return f.Commit()
}

// IsGzip reports whether a path names a gzip file by its extension.
func IsGzip(path string) bool { return strings.HasSuffix(strings.ToLower(path), ".gz") }

// Open opens path for streaming; a ".gz" file is decompressed on the fly. A
// truncated or corrupt gzip stream surfaces as a read error naming the file.
func Open(path string) (io.ReadCloser, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	if !IsGzip(path) {
		return f, nil
	}
	br := bufio.NewReaderSize(f, 1<<20)
	zr, err := gzip.NewReader(br)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: not a valid gzip file: %w", path, err)
	}
	return &gzipFile{zr: zr, f: f, path: path}, nil
}

type gzipFile struct {
	zr   *gzip.Reader
	f    *os.File
	path string
}

func (g *gzipFile) Read(p []byte) (int, error) {
	n, err := g.zr.Read(p)
	if err != nil && err != io.EOF {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return n, fmt.Errorf("%s: gzip stream is truncated: %w", g.path, err)
		}
		return n, fmt.Errorf("%s: corrupt gzip stream: %w", g.path, err)
	}
	return n, err
}

func (g *gzipFile) Close() error {
	g.zr.Close()
	return g.f.Close()
}
