package tokenizer

import (
	"encoding/json"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// bertNormalizer is Hugging Face's BertNormalizer: clean text (drop NUL,
// U+FFFD and control characters, map white space to ' '), put spaces around
// CJK ideographs, strip accents (NFD, drop non-spacing marks) and lower-case.
type bertNormalizer struct {
	clean, cjk, strip, lower bool
}

func (n bertNormalizer) apply(s string) string {
	if n.clean || n.cjk {
		s = n.cleanAndSpace(s)
	}
	if n.strip {
		s = stripAccents(s)
	}
	if n.lower {
		s = strings.ToLower(s)
	}
	return s
}

func (n bertNormalizer) cleanAndSpace(s string) string {
	// Fast path: printable ASCII and plain spaces need no change.
	clean := true
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x80 || (c < 0x20 && c != ' ') || c == 0x7f {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 16)
	for _, r := range s {
		if n.clean {
			if r == 0 || r == utf8.RuneError || isControl(r) {
				continue
			}
			if isWhitespace(r) {
				b.WriteByte(' ')
				continue
			}
		}
		if n.cjk && isCJK(r) {
			b.WriteByte(' ')
			b.WriteRune(r)
			b.WriteByte(' ')
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// isWhitespace follows BERT: \t \n \r and space, or Unicode White_Space.
func isWhitespace(r rune) bool {
	switch r {
	case ' ', '\t', '\n', '\r':
		return true
	}
	return unicode.IsSpace(r)
}

// isControl follows BERT: Unicode category C except \t \n \r.
func isControl(r rune) bool {
	switch r {
	case '\t', '\n', '\r':
		return false
	}
	return unicode.In(r, unicode.Cc, unicode.Cf, unicode.Co, unicode.Cs)
}

// isPunct follows BERT: ASCII non-alphanumeric printable characters, or
// Unicode category P.
func isPunct(r rune) bool {
	if (r >= 33 && r <= 47) || (r >= 58 && r <= 64) || (r >= 91 && r <= 96) || (r >= 123 && r <= 126) {
		return true
	}
	return r >= 0x80 && unicode.IsPunct(r)
}

func isCJK(r rune) bool {
	return (r >= 0x4E00 && r <= 0x9FFF) || (r >= 0x3400 && r <= 0x4DBF) ||
		(r >= 0x20000 && r <= 0x2A6DF) || (r >= 0x2A700 && r <= 0x2B73F) ||
		(r >= 0x2B740 && r <= 0x2B81F) || (r >= 0x2B820 && r <= 0x2CEAF) ||
		(r >= 0xF900 && r <= 0xFAFF) || (r >= 0x2F800 && r <= 0x2FA1F)
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// stripAccents decomposes (NFD) and drops non-spacing marks (Mn).
func stripAccents(s string) string {
	if isASCII(s) {
		return s
	}
	d := norm.NFD.String(s)
	return strings.Map(func(r rune) rune {
		if unicode.Is(unicode.Mn, r) {
			return -1
		}
		return r
	}, d)
}

// bertPreTokenize splits on white space and isolates every punctuation
// character.
func bertPreTokenize(s string, emit func(string)) {
	start := -1
	for i, r := range s {
		switch {
		case isWhitespace(r):
			if start >= 0 {
				emit(s[start:i])
				start = -1
			}
		case isPunct(r):
			if start >= 0 {
				emit(s[start:i])
				start = -1
			}
			emit(s[i : i+utf8.RuneLen(r)])
		default:
			if start < 0 {
				start = i
			}
		}
	}
	if start >= 0 {
		emit(s[start:])
	}
}

// whitespaceSplit splits on white space only.
func whitespaceSplit(s string, emit func(string)) {
	for _, f := range strings.FieldsFunc(s, isWhitespace) {
		emit(f)
	}
}

// whitespacePreTokenize is Hugging Face's Whitespace: \w+|[^\w\s]+.
func whitespacePreTokenize(s string, emit func(string)) {
	isWord := func(r rune) bool {
		return r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.Mn, r) || unicode.Is(unicode.Mc, r) || unicode.Is(unicode.Nd, r) || unicode.Is(unicode.Pc, r)
	}
	start, cls := -1, 0
	for i, r := range s {
		c := 2
		if isWhitespace(r) {
			c = 0
		} else if isWord(r) {
			c = 1
		}
		if c != cls {
			if start >= 0 && cls != 0 {
				emit(s[start:i])
			}
			start, cls = i, c
		}
	}
	if start >= 0 && cls != 0 {
		emit(s[start:])
	}
}

// byteToUnicode is GPT-2's reversible map from bytes to printable characters.
var byteToUnicode, unicodeToByte = func() ([256]rune, map[rune]byte) {
	var m [256]rune
	inv := map[rune]byte{}
	n := 0
	for b := 0; b < 256; b++ {
		if (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF) {
			m[b] = rune(b)
		} else {
			m[b] = rune(256 + n)
			n++
		}
		inv[m[b]] = byte(b)
	}
	return m, inv
}()

func byteLevelString(s string) string {
	var b strings.Builder
	b.Grow(len(s) * 2)
	for i := 0; i < len(s); i++ {
		b.WriteRune(byteToUnicode[s[i]])
	}
	return b.String()
}

// gpt2Split is the GPT-2 pre-tokenisation regex
// 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
// written out by hand (Go's regexp has no look-ahead).
func gpt2Split(s string, emit func(string)) {
	class := func(r rune) int {
		switch {
		case unicode.IsSpace(r):
			return 0
		case unicode.IsLetter(r):
			return 1
		case unicode.IsNumber(r):
			return 2
		}
		return 3
	}
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == '\'' {
			if m := contraction(s[i+1:]); m > 0 {
				emit(s[i : i+1+m])
				i += 1 + m
				continue
			}
		}
		j, c := i, class(r)
		if r == ' ' && i+1 < len(s) {
			if r2, _ := utf8.DecodeRuneInString(s[i+1:]); class(r2) != 0 {
				j, c = i+1, class(r2)
			}
		}
		if c != 0 {
			k := j
			for k < len(s) {
				r2, n2 := utf8.DecodeRuneInString(s[k:])
				if class(r2) != c {
					break
				}
				k += n2
			}
			emit(s[i:k])
			i = k
			continue
		}
		// A white-space run: all of it at the end of the text, else all but
		// its last character (which may lead the next word), else that one.
		k, last := i+n, i
		for k < len(s) {
			r2, n2 := utf8.DecodeRuneInString(s[k:])
			if class(r2) != 0 {
				break
			}
			last = k
			k += n2
		}
		if k == len(s) || last == i {
			emit(s[i:k])
			i = k
			continue
		}
		emit(s[i:last])
		i = last
	}
}

func contraction(s string) int {
	for _, c := range [...]string{"s", "t", "re", "ve", "m", "ll", "d"} {
		if strings.HasPrefix(s, c) {
			return len(c)
		}
	}
	return 0
}

// pipeline is a compiled normaliser and pre-tokenizer.
type pipeline struct {
	normalize   func(string) string
	pretokenize func(string, func(string))
	byteLevel   bool
	lowercase   bool
}

type jsonObj struct {
	Type string `json:"type"`
	// BertNormalizer
	CleanText          *bool `json:"clean_text"`
	HandleChineseChars *bool `json:"handle_chinese_chars"`
	StripAccents       *bool `json:"strip_accents"`
	Lowercase          *bool `json:"lowercase"`
	// Strip
	StripLeft  *bool `json:"strip_left"`
	StripRight *bool `json:"strip_right"`
	// ByteLevel
	AddPrefixSpace *bool `json:"add_prefix_space"`
	UseRegex       *bool `json:"use_regex"`
	// Sequence
	Normalizers   []json.RawMessage `json:"normalizers"`
	Pretokenizers []json.RawMessage `json:"pretokenizers"`
}

func isNull(raw json.RawMessage) bool {
	s := strings.TrimSpace(string(raw))
	return s == "" || s == "null"
}

func boolOr(p *bool, def bool) bool {
	if p == nil {
		return def
	}
	return *p
}

// compileNormalizer builds a normaliser from its tokenizer.json object.
func compileNormalizer(raw json.RawMessage, p *pipeline) (func(string) string, error) {
	if isNull(raw) {
		return nil, nil
	}
	var o jsonObj
	if err := json.Unmarshal(raw, &o); err != nil {
		return nil, fmt.Errorf("normalizer: %w", err)
	}
	switch o.Type {
	case "BertNormalizer":
		lower := boolOr(o.Lowercase, true)
		n := bertNormalizer{clean: boolOr(o.CleanText, true), cjk: boolOr(o.HandleChineseChars, true),
			strip: boolOr(o.StripAccents, lower), lower: lower}
		p.lowercase = p.lowercase || lower
		return n.apply, nil
	case "Lowercase":
		p.lowercase = true
		return strings.ToLower, nil
	case "StripAccents":
		return func(s string) string {
			if isASCII(s) {
				return s
			}
			return strings.Map(func(r rune) rune {
				if unicode.Is(unicode.Mn, r) {
					return -1
				}
				return r
			}, s)
		}, nil
	case "NFC", "NFD", "NFKC", "NFKD":
		f := map[string]norm.Form{"NFC": norm.NFC, "NFD": norm.NFD, "NFKC": norm.NFKC, "NFKD": norm.NFKD}[o.Type]
		return func(s string) string {
			if isASCII(s) {
				return s
			}
			return f.String(s)
		}, nil
	case "Strip":
		l, r := boolOr(o.StripLeft, true), boolOr(o.StripRight, true)
		return func(s string) string {
			if l {
				s = strings.TrimLeftFunc(s, unicode.IsSpace)
			}
			if r {
				s = strings.TrimRightFunc(s, unicode.IsSpace)
			}
			return s
		}, nil
	case "Sequence":
		var fs []func(string) string
		for _, sub := range o.Normalizers {
			f, err := compileNormalizer(sub, p)
			if err != nil {
				return nil, err
			}
			if f != nil {
				fs = append(fs, f)
			}
		}
		return func(s string) string {
			for _, f := range fs {
				s = f(s)
			}
			return s
		}, nil
	}
	return nil, fmt.Errorf("normalizer type %q is not supported", o.Type)
}

// compilePreTokenizer builds a pre-tokenizer from its tokenizer.json object.
func compilePreTokenizer(raw json.RawMessage, p *pipeline) (func(string, func(string)), error) {
	if isNull(raw) {
		return func(s string, emit func(string)) {
			if s != "" {
				emit(s)
			}
		}, nil
	}
	var o jsonObj
	if err := json.Unmarshal(raw, &o); err != nil {
		return nil, fmt.Errorf("pre_tokenizer: %w", err)
	}
	switch o.Type {
	case "BertPreTokenizer":
		return bertPreTokenize, nil
	case "WhitespaceSplit":
		return whitespaceSplit, nil
	case "Whitespace":
		return whitespacePreTokenize, nil
	case "ByteLevel":
		p.byteLevel = true
		prefix, regex := boolOr(o.AddPrefixSpace, true), boolOr(o.UseRegex, true)
		return func(s string, emit func(string)) {
			if prefix && s != "" && !strings.HasPrefix(s, " ") {
				s = " " + s
			}
			if !regex {
				if s != "" {
					emit(byteLevelString(s))
				}
				return
			}
			gpt2Split(s, func(w string) { emit(byteLevelString(w)) })
		}, nil
	case "Sequence":
		var fs []func(string, func(string))
		for _, sub := range o.Pretokenizers {
			f, err := compilePreTokenizer(sub, p)
			if err != nil {
				return nil, err
			}
			fs = append(fs, f)
		}
		var run func(i int, s string, emit func(string))
		run = func(i int, s string, emit func(string)) {
			if i == len(fs) {
				emit(s)
				return
			}
			fs[i](s, func(w string) { run(i+1, w, emit) })
		}
		return func(s string, emit func(string)) { run(0, s, emit) }, nil
	}
	return nil, fmt.Errorf("pre_tokenizer type %q is not supported", o.Type)
}

// compile builds the pipeline of t from its JSON definitions.
func (t *Tokenizer) compile() error {
	var p pipeline
	var err error
	if p.normalize, err = compileNormalizer(t.normJSON, &p); err != nil {
		return err
	}
	if p.pretokenize, err = compilePreTokenizer(t.preJSON, &p); err != nil {
		return err
	}
	t.normalize, t.pretokenize, t.byteLevel, t.lowercase = p.normalize, p.pretokenize, p.byteLevel, p.lowercase
	return nil
}

// bertNormalizerJSON is the tokenizer.json normaliser of a BERT vocab.txt.
func bertNormalizerJSON(lower bool, strip *bool) json.RawMessage {
	type bn struct {
		Type               string `json:"type"`
		CleanText          bool   `json:"clean_text"`
		HandleChineseChars bool   `json:"handle_chinese_chars"`
		StripAccents       *bool  `json:"strip_accents"`
		Lowercase          bool   `json:"lowercase"`
	}
	b, _ := json.Marshal(bn{"BertNormalizer", true, true, strip, lower})
	return b
}
