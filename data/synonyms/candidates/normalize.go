package candidates

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Normalize is the normalisation every candidate string goes through, so
// that strings from different sources compare equal when they say the same
// thing. It follows the reference (§4: lower-cased, accents stripped,
// "[x]"→"[x] ", a small character whitelist, spaces collapsed and stripped)
// with two deliberate departures, both to keep meaning the reference throws
// away:
//
//  1. Accents: NFKD decomposition, then combining marks are dropped
//     ("Friedländer" → "friedlander", "Ménière" → "meniere"); compatibility
//     forms decompose too ("ﬁ" → "fi", "²" → "2"). Letters that do not
//     decompose get a small mapping (ß→ss, æ→ae, œ→oe, ø→o, ł→l, đ→d, ı→i,
//     þ→th).
//  2. Lower case, then "[x]" (the UMLS/ICD-10 "[X]" prefix, glued to the
//     next word) is followed by a space.
//  3. Kept: letters (any script, after step 1 nearly always a-z), digits,
//     spaces, ( ) [ ], and the punctuation that carries meaning in titles:
//     hyphen ("salter-harris", "non-st"), apostrophe ("crohn's"), comma
//     (lists and index paths), slash ("and/or"), percent ("10-19% of body
//     surface") and a period between digits ("0.5"). Dashes become "-",
//     typographic apostrophes "'". Everything else becomes a space. The
//     reference keeps only [A-Za-z0-9()[] ].
//  4. The reference also deletes the words "or" and "and"; icdcode does not,
//     since "with or without" and "and" in titles carry meaning.
//  5. White space is collapsed, spaces before a comma removed, repeated
//     commas merged, and leading or trailing spaces and commas stripped.
//
// A string without any letter or digit normalises to "" and is dropped.
func Normalize(s string) string {
	// Invalid UTF-8 first becomes spaces: NFKD passes the bytes after an
	// invalid one through undecomposed, which would make the result depend
	// on its neighbours and break idempotence.
	s = norm.NFKD.String(strings.ToValidUTF8(s, " "))
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		if unicode.Is(unicode.Mn, r) {
			continue // combining accent left by NFKD
		}
		if m, ok := letterMap[r]; ok {
			b.WriteString(m)
			continue
		}
		b.WriteRune(unicode.ToLower(r))
	}
	s = strings.ReplaceAll(b.String(), "[x]", "[x] ")

	b.Reset()
	rs := []rune(s)
	hasWord := false
	for i, r := range rs {
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			hasWord = true
			b.WriteRune(r)
		case strings.ContainsRune("()[]-',/%", r):
			b.WriteRune(r)
		case unicode.Is(unicode.Pd, r):
			b.WriteByte('-')
		case r == '\u2018' || r == '\u2019' || r == '`' || r == '\u00b4':
			b.WriteByte('\'')
		case r == '.' && i > 0 && i+1 < len(rs) && unicode.IsDigit(rs[i-1]) && unicode.IsDigit(rs[i+1]):
			b.WriteByte('.')
		default:
			b.WriteByte(' ')
		}
	}
	if !hasWord {
		return ""
	}
	return tidy(b.String())
}

var letterMap = map[rune]string{
	'ß': "ss", 'ẞ': "ss", 'æ': "ae", 'Æ': "ae", 'œ': "oe", 'Œ': "oe",
	'ø': "o", 'Ø': "o", 'ł': "l", 'Ł': "l", 'đ': "d", 'Đ': "d",
	'ı': "i", 'þ': "th", 'Þ': "th", 'ð': "d", 'Ð': "d",
}

// tidy collapses spaces and commas.
func tidy(s string) string {
	f := strings.Fields(s)
	s = strings.Join(f, " ")
	for strings.Contains(s, " ,") {
		s = strings.ReplaceAll(s, " ,", ",")
	}
	for strings.Contains(s, ",,") {
		s = strings.ReplaceAll(s, ",,", ",")
	}
	return strings.Trim(s, " ,")
}

// charLen is the length limit's measure: characters (code points), as the
// reference's Python len, not bytes.
func charLen(s string) int { return utf8.RuneCountInString(s) }
