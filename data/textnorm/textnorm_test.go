package textnorm

import (
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"
)

var (
	nonAlnum  = regexp.MustCompile(`[^A-Za-z0-9]+`)
	digitToks = regexp.MustCompile(`(\s\d+)+\s`)
	spaces    = regexp.MustCompile(`\s+`)
)

// cleanByRegex is the reference pipeline written with its regular expressions.
func cleanByRegex(s string) string {
	s = strings.ToLower(s)
	s = nonAlnum.ReplaceAllString(s, " ")
	s = digitToks.ReplaceAllString(s, " ")
	s = spaces.ReplaceAllString(s, " ")
	return strings.TrimSpace(s)
}

func TestCleanTextMatchesRegexOnRandomInput(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	alphabet := []string{"a", "B", "z", "0", "1", "9", "42", " ", "  ", "\n", "\t", ".", "-", "[**", "**]", "é", "ß", "x1", "1x"}
	for n := 0; n < 20000; n++ {
		var b strings.Builder
		for k := rng.IntN(16); k >= 0; k-- {
			b.WriteString(alphabet[rng.IntN(len(alphabet))])
		}
		s := b.String()
		if got, want := CleanText(s), cleanByRegex(s); got != want {
			t.Fatalf("CleanText(%q) = %q, regex pipeline gives %q", s, got, want)
		}
	}
}

// Values computed with Python's re module (the reference implementation's).
func TestCleanTextPythonValues(t *testing.T) {
	cases := map[string]string{
		"Admission Date: [**2151-7-16**] Discharge 12 34 56 x": "admission date discharge x",
		"12 a 34":         "12 a 34",
		"a 12 34":         "a 34",
		"a 12 34 b":       "a b",
		"a 1 b 2 c":       "a b c",
		"BP 120/80, HR 7": "bp hr 7",
		"Café au lait":    "caf au lait",
	}
	for in, want := range cases {
		if got := CleanText(in); got != want {
			t.Errorf("CleanText(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestRawAndKeep(t *testing.T) {
	if got := Apply(Raw, "  Chest\n\npain \t here "); got != "Chest pain here" {
		t.Errorf("raw: %q", got)
	}
	if got := Apply(Keep, "\n Line one\nLine two \n"); got != "Line one\nLine two" {
		t.Errorf("keep: %q", got)
	}
	if _, err := Parse("lower"); err == nil {
		t.Error("Parse accepted an unknown policy")
	}
}

func BenchmarkCleanText(b *testing.B) {
	s := strings.Repeat("Pt is a 64 yo M w/ hx of CHF (EF 25%), s/p CABG [**2150-3-4**]; BP 120/80.\n", 200)
	b.SetBytes(int64(len(s)))
	for b.Loop() {
		CleanText(s)
	}
}

func TestCollapseSpaceMatchesFields(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	alphabet := []string{"a", "Z", "1", " ", "\n", "\t", "\v", "\r\n", "\u00a0", "\u0085", "\u2003", "é", "中", ","}
	for n := 0; n < 20000; n++ {
		var b strings.Builder
		for k := rng.IntN(12); k >= 0; k-- {
			b.WriteString(alphabet[rng.IntN(len(alphabet))])
		}
		s := b.String()
		if got, want := CollapseSpace(s), strings.Join(strings.Fields(s), " "); got != want {
			t.Fatalf("CollapseSpace(%q) = %q, want %q", s, got, want)
		}
	}
}
