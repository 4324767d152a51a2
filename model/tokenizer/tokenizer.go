// Package tokenizer turns clinical text into the token ids a transformer
// encoder reads. It loads Hugging Face tokenizers (tokenizer.json, a BERT
// vocab.txt, or a GPT-2/RoBERTa vocab.json + merges.txt pair), trains
// WordPiece and byte-level BPE vocabularies, and saves them in a form Load
// reads back identically.
//
// It is a focused implementation of its own rather than a wrapper around
// github.com/sugarme/tokenizer v0.3.0, whose WordPiece trainer and
// Tokenizer.Save are broken (see docs/spago-notes.md §6). Supported pipeline
// pieces:
//
//   - normalizers: BertNormalizer (clean text, CJK spacing, accent stripping,
//     lower-casing), Lowercase, StripAccents, NFC/NFD/NFKC/NFKD, Strip and
//     Sequence;
//   - pre-tokenizers: BertPreTokenizer (split on white space, isolate
//     punctuation), Whitespace, WhitespaceSplit, ByteLevel (GPT-2 split and
//     byte-to-unicode mapping) and Sequence;
//   - models: WordPiece (greedy longest match, "##" continuation, at most
//     max_input_chars_per_word characters per word) and BPE (merge ranks,
//     optional continuing-subword prefix and end-of-word suffix).
//
// Encode never adds special tokens and never matches special tokens written
// in the input text: a note containing the characters "[SEP]" is tokenised as
// text, so patient text cannot inject control tokens. Adding [CLS]/[SEP] and
// windowing is the model's job; it finds their ids with Special.
package tokenizer

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"unicode/utf8"
)

// Kind is the subword model of a tokenizer.
type Kind string

const (
	WordPiece Kind = "wordpiece"
	BPE       Kind = "bpe"
)

// SpecialTokens holds the ids of the special tokens, looked up by name in the
// vocabulary ([CLS] or <s>, [SEP] or </s>, [PAD] or <pad>, [UNK] or <unk>,
// [MASK] or <mask>); -1 marks one the vocabulary lacks.
type SpecialTokens struct {
	CLS, SEP, PAD, UNK, MASK int
}

// specialNames lists, per special token, the names tried in order.
var specialNames = struct{ CLS, SEP, PAD, UNK, MASK []string }{
	CLS:  []string{"[CLS]", "<s>"},
	SEP:  []string{"[SEP]", "</s>"},
	PAD:  []string{"[PAD]", "<pad>"},
	UNK:  []string{"[UNK]", "<unk>"},
	MASK: []string{"[MASK]", "<mask>"},
}

// Tokenizer encodes text into token ids. It is safe for concurrent use.
type Tokenizer struct {
	kind   Kind
	tokens []string       // id → token
	vocab  map[string]int // token → id
	unk    int            // id of the unknown token, -1 when none
	unkTok string
	// special lists the special (added) tokens, in id order.
	special []string

	// Pipeline definitions, as tokenizer.json objects (kept verbatim for Save).
	normJSON, preJSON, decJSON, postJSON json.RawMessage
	normalize                            func(string) string        // nil: identity
	pretokenize                          func(string, func(string)) // splits normalised text into words
	byteLevel                            bool                       // pre-tokenizer maps bytes to GPT-2 unicode chars
	lowercase                            bool                       // normaliser lower-cases (informational, tokenizer_config.json)

	// WordPiece.
	prefix   string         // continuing-subword prefix, "##"
	cont     map[string]int // continuation pieces, keyed without the prefix
	maxChars int

	// BPE.
	merges    [][2]string
	ranks     map[[2]int]merge
	bpePrefix string // continuing_subword_prefix, usually ""
	suffix    string // end_of_word_suffix, usually ""
	fuseUnk   bool
	cacheMu   sync.RWMutex
	cache     map[string][]int
}

type merge struct{ rank, id int }

// Kind reports the subword model.
func (t *Tokenizer) Kind() Kind { return t.kind }

// VocabSize is the number of ids (model vocabulary plus added tokens).
func (t *Tokenizer) VocabSize() int { return len(t.tokens) }

// Lowercase reports whether the normaliser lower-cases text.
func (t *Tokenizer) Lowercase() bool { return t.lowercase }

// IDToToken returns the token of id, or "" when id is out of range.
func (t *Tokenizer) IDToToken(id int) string {
	if id < 0 || id >= len(t.tokens) {
		return ""
	}
	return t.tokens[id]
}

// TokenToID returns the id of a token string.
func (t *Tokenizer) TokenToID(tok string) (int, bool) {
	id, ok := t.vocab[tok]
	return id, ok
}

// Special returns the special-token ids, looked up by name.
func (t *Tokenizer) Special() SpecialTokens {
	find := func(names []string) int {
		for _, n := range names {
			if id, ok := t.vocab[n]; ok {
				return id
			}
		}
		return -1
	}
	s := SpecialTokens{
		CLS: find(specialNames.CLS), SEP: find(specialNames.SEP), PAD: find(specialNames.PAD),
		UNK: find(specialNames.UNK), MASK: find(specialNames.MASK),
	}
	if t.unk >= 0 {
		s.UNK = t.unk
	}
	return s
}

// Encode tokenises text into ids, without special tokens. It fails only when
// a BPE model without an unknown token meets a character outside its
// vocabulary.
func (t *Tokenizer) Encode(text string) ([]int, error) {
	ids := make([]int, 0, len(text)/4+1)
	var err error
	t.words(text, func(w string) {
		if err != nil {
			return
		}
		ids, err = t.encodeWord(ids, w)
	})
	return ids, err
}

// Tokens tokenises text into token strings, without special tokens.
func (t *Tokenizer) Tokens(text string) ([]string, error) {
	ids, err := t.Encode(text)
	if err != nil {
		return nil, err
	}
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = t.tokens[id]
	}
	return out, nil
}

// words normalises text and passes each pre-tokenised word to emit.
func (t *Tokenizer) words(text string, emit func(string)) {
	if !utf8.ValidString(text) {
		text = strings.ToValidUTF8(text, "\uFFFD")
	}
	if t.normalize != nil {
		text = t.normalize(text)
	}
	t.pretokenize(text, emit)
}

func (t *Tokenizer) encodeWord(ids []int, w string) ([]int, error) {
	if w == "" {
		return ids, nil
	}
	if t.kind == WordPiece {
		return t.wordPiece(ids, w), nil
	}
	return t.bpeWord(ids, w)
}

// wordPiece appends the greedy longest-match pieces of w, or the unknown
// token when some part of w matches nothing or w is too long.
func (t *Tokenizer) wordPiece(ids []int, w string) []int {
	if utf8.RuneCountInString(w) > t.maxChars {
		return append(ids, t.unk)
	}
	n0 := len(ids)
	for start := 0; start < len(w); {
		end := len(w)
		found := -1
		for end > start {
			sub := w[start:end]
			var id int
			var ok bool
			if start == 0 {
				id, ok = t.vocab[sub]
			} else {
				id, ok = t.cont[sub]
			}
			if ok {
				found = id
				break
			}
			_, size := utf8.DecodeLastRuneInString(sub)
			end -= size
		}
		if found < 0 {
			return append(ids[:n0], t.unk)
		}
		ids = append(ids, found)
		start = end
	}
	return ids
}

// Decode renders ids as text: WordPiece continuation pieces are glued to the
// previous token (with Hugging Face's clean-up of spaces before punctuation),
// byte-level BPE tokens are mapped back to bytes. Special tokens are rendered
// as their names; out-of-range ids are an error.
func (t *Tokenizer) Decode(ids []int) (string, error) {
	for _, id := range ids {
		if id < 0 || id >= len(t.tokens) {
			return "", fmt.Errorf("decode: id %d out of range [0, %d)", id, len(t.tokens))
		}
	}
	var b strings.Builder
	switch {
	case t.kind == WordPiece:
		for i, id := range ids {
			tok := t.tokens[id]
			if i > 0 {
				if rest, ok := strings.CutPrefix(tok, t.prefix); ok && t.prefix != "" {
					tok = rest
				} else {
					b.WriteByte(' ')
				}
			}
			b.WriteString(tok)
		}
		return cleanup(b.String()), nil
	case t.byteLevel:
		var raw []byte
		for _, id := range ids {
			tok := t.tokens[id]
			if t.isSpecial(tok) {
				raw = append(raw, tok...)
				continue
			}
			for _, r := range tok {
				if c, ok := unicodeToByte[r]; ok {
					raw = append(raw, c)
				} else {
					raw = utf8.AppendRune(raw, r)
				}
			}
		}
		return strings.ToValidUTF8(string(raw), "\uFFFD"), nil
	default:
		for i, id := range ids {
			tok := t.tokens[id]
			if t.suffix != "" {
				if rest, ok := strings.CutSuffix(tok, t.suffix); ok {
					b.WriteString(rest)
					if i < len(ids)-1 {
						b.WriteByte(' ')
					}
					continue
				}
			}
			if t.bpePrefix != "" {
				tok = strings.TrimPrefix(tok, t.bpePrefix)
			}
			b.WriteString(tok)
		}
		return b.String(), nil
	}
}

func (t *Tokenizer) isSpecial(tok string) bool {
	for _, s := range t.special {
		if s == tok {
			return true
		}
	}
	return false
}

// cleanup is Hugging Face's decoder clean-up: no space before punctuation
// and English contractions.
var cleanupReplacer = strings.NewReplacer(
	" .", ".", " ?", "?", " !", "!", " ,", ",", " ' ", "'",
	" n't", "n't", " 'm", "'m", " 's", "'s", " 've", "'ve", " 're", "'re",
)

func cleanup(s string) string { return cleanupReplacer.Replace(s) }
