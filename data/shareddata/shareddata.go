// Package shareddata locates the public data that tests and benchmarks read
// in place from ../shared/data beside the repository (never copied into it).
package shareddata

import (
	"os"
	"path/filepath"
	"testing"
)

// Root returns the shared data folder, or "" when it is absent. ICDCODE_SHARED_DATA
// overrides the location.
func Root() string {
	if p := os.Getenv("ICDCODE_SHARED_DATA"); p != "" {
		return p
	}
	dir, err := os.Getwd()
	if err != nil {
		return ""
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			p := filepath.Join(dir, "..", "shared", "data")
			if _, err := os.Stat(p); err == nil {
				return p
			}
			return ""
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}

// Path returns a path under the shared data folder, skipping the test with a
// message naming what is missing when the folder or the file is absent.
func Path(tb testing.TB, rel ...string) string {
	tb.Helper()
	root := Root()
	if root == "" {
		tb.Skip("shared data not found: ../shared/data beside the repository (or $ICDCODE_SHARED_DATA) is absent")
	}
	p := filepath.Join(append([]string{root}, rel...)...)
	if _, err := os.Stat(p); err != nil {
		tb.Skipf("shared data file %s is absent", p)
	}
	return p
}
