// Package textnorm applies a dataset's text policy to note text. One policy is
// chosen per dataset and recorded in its manifest, so training and prediction
// see text prepared the same way.
//
//   - keep: the text as found, only surrounding white space removed;
//   - raw: runs of white space (newlines included) collapsed to one space, as the
//     reference MIMIC-III-50 preprocessing does (TextPreprocessor(lower=False));
//   - clean: the MIMIC-III-clean preprocessing of Edin et al., exactly: lower case,
//     every run of characters outside [A-Za-z0-9] becomes a space, digit-only
//     tokens are removed as the regular expression `(\s\d+)+\s` → " " removes
//     them, then white space is collapsed and stripped.
package textnorm

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Policy names a text policy.
type Policy string

const (
	Keep  Policy = "keep"
	Raw   Policy = "raw"
	Clean Policy = "clean"
)

// Parse reads a policy name.
func Parse(s string) (Policy, error) {
	switch Policy(s) {
	case Keep, Raw, Clean:
		return Policy(s), nil
	}
	return "", fmt.Errorf("unknown text policy %q (want keep, raw or clean)", s)
}

// Apply returns s prepared under policy p.
func Apply(p Policy, s string) string {
	switch p {
	case Raw:
		return CollapseSpace(s)
	case Clean:
		return CleanText(s)
	default:
		return strings.TrimSpace(s)
	}
}

// CollapseSpace replaces every run of Unicode white space by one space and
// strips both ends.
func CollapseSpace(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	space := false
	for i := 0; i < len(s); {
		// ASCII fast path: notes are mostly ASCII, and decoding every rune
		// dominated prepare's profile at gigabyte scale.
		if c := s[i]; c < utf8.RuneSelf {
			i++
			if c == ' ' || (c >= '\t' && c <= '\r') {
				space = true
				continue
			}
			if space && b.Len() > 0 {
				b.WriteByte(' ')
			}
			space = false
			b.WriteByte(c)
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		if unicode.IsSpace(r) {
			space = true
			continue
		}
		if space && b.Len() > 0 {
			b.WriteByte(' ')
		}
		space = false
		b.WriteRune(r)
	}
	return b.String()
}

// CleanText is the "clean" policy. It is written out by hand rather than with
// regular expressions because prepare must keep up with gigabytes of notes;
// a test checks it against the regular expressions on random input.
func CleanText(s string) string {
	// Steps 1–2: lower-case ASCII letters; non-alphanumerics (any rune outside
	// [A-Za-z0-9], so also non-ASCII letters, as Python's [^A-Za-z0-9] does)
	// become one space per run.
	b := make([]byte, 0, len(s))
	inGap := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'A' && c <= 'Z':
			c += 'a' - 'A'
		case (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'):
		default:
			if !inGap {
				b = append(b, ' ')
				inGap = true
			}
			continue
		}
		b = append(b, c)
		inGap = false
	}
	// Step 3: `(\s\d+)+\s` → " ", scanning left to right as the regex engine
	// does. At a space, count the digit-only tokens that follow, each one
	// " digits" ended by a space; k ≥ 1 of them plus the closing space are
	// replaced by one space, and the closing space is consumed (a digit token
	// right after a match has no space of its own left and is kept).
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); {
		if b[i] == ' ' {
			j, k := i, 0
			for {
				d := j + 1
				for d < len(b) && b[d] >= '0' && b[d] <= '9' {
					d++
				}
				if d == j+1 || d >= len(b) || b[d] != ' ' {
					break
				}
				j, k = d, k+1
			}
			if k > 0 {
				out = append(out, ' ')
				i = j + 1
				continue
			}
		}
		out = append(out, b[i])
		i++
	}
	// Steps 4–5: collapse white space and strip.
	return CollapseSpace(string(out))
}
