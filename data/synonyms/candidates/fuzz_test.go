package candidates

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzNormalize checks that normalisation never panics, is idempotent (a
// stored candidate normalises to itself, so rebuilding from a candidates file
// changes nothing) and yields only whitelisted characters without
// surrounding or doubled spaces.
func FuzzNormalize(f *testing.F) {
	for _, s := range []string{"Friedländer's bacillus", "[X]Other", "10-19% of body", "0.5 mg.", "a ,, b,", "ﬁbrosis ²", "İstanbul Ǆ"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := Normalize(s)
		if !utf8.ValidString(got) {
			t.Fatalf("Normalize(%q) = %q: invalid UTF-8", s, got)
		}
		if again := Normalize(got); again != got {
			t.Fatalf("Normalize(%q) = %q, but Normalize(%q) = %q", s, got, got, again)
		}
		if got != strings.TrimSpace(got) || strings.Contains(got, "  ") {
			t.Fatalf("Normalize(%q) = %q: stray spaces", s, got)
		}
	})
}
