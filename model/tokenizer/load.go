package tokenizer

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// File names inside a tokenizer folder.
const (
	TokenizerJSON   = "tokenizer.json"
	VocabTxt        = "vocab.txt"
	VocabJSON       = "vocab.json"
	MergesTxt       = "merges.txt"
	TokenizerConfig = "tokenizer_config.json"
)

// Options adjust Load for files that do not say everything themselves.
type Options struct {
	// Lowercase overrides lower-casing for a vocab.txt (and vocab.json +
	// merges.txt). nil: tokenizer_config.json's do_lower_case when present,
	// else guessed from the vocabulary (uncased when no token but bracketed
	// special tokens contains an upper-case letter). A tokenizer.json's own
	// normaliser always wins.
	Lowercase *bool
}

// Load reads a tokenizer from a tokenizer.json, a vocab.txt (BERT WordPiece),
// a vocab.json (byte-level BPE with merges.txt beside it), or a folder holding
// one of them (tokenizer.json first, then vocab.txt, then vocab.json +
// merges.txt).
func Load(path string) (*Tokenizer, error) { return LoadWithOptions(path, Options{}) }

// LoadWithOptions is Load with options.
func LoadWithOptions(path string, o Options) (*Tokenizer, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("load tokenizer: %w", err)
	}
	dir, file := filepath.Dir(path), filepath.Base(path)
	if st.IsDir() {
		dir, file = path, ""
		for _, name := range []string{TokenizerJSON, VocabTxt, VocabJSON} {
			if _, err := os.Stat(filepath.Join(dir, name)); err == nil {
				file = name
				break
			}
		}
		if file == "" {
			return nil, fmt.Errorf("load tokenizer: %s holds none of %s, %s, %s + %s", path, TokenizerJSON, VocabTxt, VocabJSON, MergesTxt)
		}
	}
	full := filepath.Join(dir, file)
	cfg, err := readConfig(filepath.Join(dir, TokenizerConfig))
	if err != nil {
		return nil, err
	}
	switch {
	case strings.HasSuffix(file, ".json") && file != VocabJSON && !strings.HasSuffix(file, "vocab.json"):
		return loadTokenizerJSON(full)
	case strings.HasSuffix(file, ".json"):
		merges := filepath.Join(dir, MergesTxt)
		if p := strings.TrimSuffix(file, "vocab.json") + "merges.txt"; p != MergesTxt {
			if _, err := os.Stat(filepath.Join(dir, p)); err == nil {
				merges = filepath.Join(dir, p)
			}
		}
		return loadVocabMerges(full, merges, o, cfg)
	default:
		return loadVocabTxt(full, o, cfg)
	}
}

// config is the part of tokenizer_config.json Load honours.
type config struct {
	present      bool
	DoLowerCase  *bool `json:"do_lower_case"`
	StripAccents *bool `json:"strip_accents"`
	UnkToken     any   `json:"unk_token"`
	// AddPrefixSpace applies to vocab.json + merges.txt (RoBERTa: false).
	AddPrefixSpace *bool `json:"add_prefix_space"`
}

func readConfig(path string) (config, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return config{}, nil
	}
	if err != nil {
		return config{}, fmt.Errorf("load tokenizer: %w", err)
	}
	var c config
	if err := json.Unmarshal(b, &c); err != nil {
		return config{}, fmt.Errorf("load tokenizer: %s: %w", path, err)
	}
	c.present = true
	return c, nil
}

// unkName is the configured unknown token, if any ("unk_token" may be a
// string or an AddedToken object with a "content" field).
func (c config) unkName() string {
	switch v := c.UnkToken.(type) {
	case string:
		return v
	case map[string]any:
		if s, ok := v["content"].(string); ok {
			return s
		}
	}
	return ""
}

// lowercase decides lower-casing: the option, then the config, then the guess.
func lowercase(o Options, c config, guess func() bool) bool {
	if o.Lowercase != nil {
		return *o.Lowercase
	}
	if c.DoLowerCase != nil {
		return *c.DoLowerCase
	}
	return guess()
}

// looksUncased reports whether no token other than a bracketed special token
// ([CLS], <s>) has an upper-case ASCII letter (uncased BERT vocabularies do
// hold a few upper-case symbols such as ℝ).
func looksUncased(tokens []string) bool {
	for _, t := range tokens {
		if len(t) > 1 && ((t[0] == '[' && t[len(t)-1] == ']') || (t[0] == '<' && t[len(t)-1] == '>')) {
			continue
		}
		for i := 0; i < len(t); i++ {
			if t[i] >= 'A' && t[i] <= 'Z' {
				return false
			}
		}
	}
	return true
}

// readVocabTxt reads one token a line (id = line number − 1), rejecting empty
// and duplicate tokens with the file and line.
func readVocabTxt(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("load tokenizer: %w", err)
	}
	defer f.Close()
	var tokens []string
	first := map[string]int{}
	br := bufio.NewReaderSize(f, 1<<16)
	for line := 1; ; line++ {
		s, rerr := br.ReadString('\n')
		if rerr != nil && rerr != io.EOF {
			return nil, fmt.Errorf("%s line %d: %w", path, line, rerr)
		}
		if rerr == io.EOF && s == "" {
			break
		}
		s = strings.TrimSuffix(strings.TrimSuffix(s, "\n"), "\r")
		if s == "" {
			return nil, fmt.Errorf("%s line %d: empty token", path, line)
		}
		if prev, dup := first[s]; dup {
			return nil, fmt.Errorf("%s line %d: duplicate token %q (first on line %d)", path, line, s, prev)
		}
		first[s] = line
		tokens = append(tokens, s)
		if rerr == io.EOF {
			break
		}
	}
	if len(tokens) == 0 {
		return nil, fmt.Errorf("%s: empty vocabulary", path)
	}
	return tokens, nil
}

func loadVocabTxt(path string, o Options, c config) (*Tokenizer, error) {
	tokens, err := readVocabTxt(path)
	if err != nil {
		return nil, err
	}
	lower := lowercase(o, c, func() bool { return looksUncased(tokens) })
	strip := c.StripAccents
	if o.Lowercase != nil || c.DoLowerCase == nil {
		strip = nil // follows lower-casing, as in BERT
	}
	unk := c.unkName()
	if unk == "" {
		unk = "[UNK]"
	}
	t, err := newWordPiece(tokens, unk, "##", 100, bertNormalizerJSON(lower, strip), json.RawMessage(`{"type":"BertPreTokenizer"}`), nil)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return t, nil
}

// newWordPiece builds a WordPiece tokenizer over tokens (id = index).
func newWordPiece(tokens []string, unk, prefix string, maxChars int, normJSON, preJSON, decJSON json.RawMessage) (*Tokenizer, error) {
	t := &Tokenizer{kind: WordPiece, tokens: tokens, prefix: prefix, maxChars: maxChars,
		normJSON: normJSON, preJSON: preJSON, decJSON: decJSON}
	if err := t.index(); err != nil {
		return nil, err
	}
	id, ok := t.vocab[unk]
	if !ok {
		return nil, fmt.Errorf("the vocabulary has no unknown token %s", unk)
	}
	t.unk, t.unkTok = id, unk
	t.cont = make(map[string]int)
	for i, tok := range tokens {
		if rest, ok := strings.CutPrefix(tok, prefix); ok && rest != "" {
			t.cont[rest] = i
		}
	}
	if err := t.compile(); err != nil {
		return nil, err
	}
	return t, nil
}

// index builds the token → id map and the special-token list.
func (t *Tokenizer) index() error {
	if len(t.tokens) == 0 {
		return errors.New("empty vocabulary")
	}
	t.vocab = make(map[string]int, len(t.tokens))
	for i, tok := range t.tokens {
		if prev, dup := t.vocab[tok]; dup {
			return fmt.Errorf("duplicate token %q (ids %d and %d)", tok, prev, i)
		}
		t.vocab[tok] = i
	}
	t.special = t.special[:0]
	for _, names := range [][]string{specialNames.CLS, specialNames.SEP, specialNames.PAD, specialNames.UNK, specialNames.MASK} {
		for _, n := range names {
			if _, ok := t.vocab[n]; ok && !slices.Contains(t.special, n) {
				t.special = append(t.special, n)
			}
		}
	}
	slices.SortFunc(t.special, func(a, b string) int { return t.vocab[a] - t.vocab[b] })
	return nil
}

// readVocabJSON reads a {"token": id} object into an id-ordered slice,
// rejecting duplicate keys, duplicate ids and gaps.
func readVocabJSON(path string, raw []byte) ([]string, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	tok, err := dec.Token()
	if err != nil || tok != json.Delim('{') {
		return nil, fmt.Errorf("%s: vocabulary is not a JSON object", path)
	}
	byID := map[int]string{}
	seen := map[string]bool{}
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		key := k.(string)
		var id int
		if err := dec.Decode(&id); err != nil {
			return nil, fmt.Errorf("%s: token %q: id: %w", path, key, err)
		}
		if seen[key] {
			return nil, fmt.Errorf("%s: duplicate token %q", path, key)
		}
		seen[key] = true
		if prev, dup := byID[id]; dup {
			return nil, fmt.Errorf("%s: tokens %q and %q share id %d", path, prev, key, id)
		}
		if id < 0 {
			return nil, fmt.Errorf("%s: token %q has negative id %d", path, key, id)
		}
		byID[id] = key
	}
	if len(byID) == 0 {
		return nil, fmt.Errorf("%s: empty vocabulary", path)
	}
	tokens := make([]string, len(byID))
	for id, key := range byID {
		if id >= len(tokens) {
			return nil, fmt.Errorf("%s: ids are not contiguous: token %q has id %d but there are %d tokens", path, key, id, len(byID))
		}
		tokens[id] = key
	}
	return tokens, nil
}

// readMerges reads merges.txt: "a b" per line, an optional "#version" first line.
func readMerges(path string) ([][2]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load tokenizer: %w", err)
	}
	var merges [][2]string
	for i, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSuffix(line, "\r")
		if line == "" || (i == 0 && strings.HasPrefix(line, "#version")) {
			continue
		}
		a, c, ok := strings.Cut(line, " ")
		if !ok || a == "" || c == "" || strings.Contains(c, " ") {
			return nil, fmt.Errorf("%s line %d: want two tokens separated by one space", path, i+1)
		}
		merges = append(merges, [2]string{a, c})
	}
	return merges, nil
}

func loadVocabMerges(vocabPath, mergesPath string, o Options, c config) (*Tokenizer, error) {
	raw, err := os.ReadFile(vocabPath)
	if err != nil {
		return nil, fmt.Errorf("load tokenizer: %w", err)
	}
	tokens, err := readVocabJSON(vocabPath, raw)
	if err != nil {
		return nil, err
	}
	merges, err := readMerges(mergesPath)
	if err != nil {
		return nil, err
	}
	var norm json.RawMessage
	if lowercase(o, c, func() bool { return false }) {
		norm = json.RawMessage(`{"type":"Lowercase"}`)
	}
	// GPT-2 and RoBERTa files: byte-level, no prefix space added unless
	// tokenizer_config.json says so.
	t := &Tokenizer{kind: BPE, tokens: tokens, merges: merges, unk: -1, normJSON: norm,
		preJSON: byteLevelJSON(boolOr(c.AddPrefixSpace, false)),
		decJSON: json.RawMessage(`{"type":"ByteLevel","add_prefix_space":true,"trim_offsets":true,"use_regex":true}`)}
	if err := t.finishBPE(c.unkName(), func(i int) string { return fmt.Sprintf("%s merge %d", mergesPath, i+1) }); err != nil {
		return nil, fmt.Errorf("%s: %w", vocabPath, err)
	}
	return t, nil
}

// finishBPE indexes the vocabulary, resolves merges and compiles the pipeline.
func (t *Tokenizer) finishBPE(unk string, where func(int) string) error {
	if err := t.index(); err != nil {
		return err
	}
	t.unk = -1
	if unk != "" {
		id, ok := t.vocab[unk]
		if !ok {
			return fmt.Errorf("unknown token %s is not in the vocabulary", unk)
		}
		t.unk, t.unkTok = id, unk
	}
	if err := t.buildRanks(where); err != nil {
		return err
	}
	return t.compile()
}

// hfFile is the part of a Hugging Face tokenizer.json that Load reads.
type hfFile struct {
	AddedTokens []struct {
		ID      int    `json:"id"`
		Content string `json:"content"`
		Special bool   `json:"special"`
	} `json:"added_tokens"`
	Normalizer    json.RawMessage `json:"normalizer"`
	PreTokenizer  json.RawMessage `json:"pre_tokenizer"`
	Decoder       json.RawMessage `json:"decoder"`
	PostProcessor json.RawMessage `json:"post_processor"`
	Model         struct {
		Type                    string          `json:"type"`
		UnkToken                *string         `json:"unk_token"`
		ContinuingSubwordPrefix *string         `json:"continuing_subword_prefix"`
		EndOfWordSuffix         *string         `json:"end_of_word_suffix"`
		MaxInputCharsPerWord    *int            `json:"max_input_chars_per_word"`
		FuseUnk                 bool            `json:"fuse_unk"`
		ByteFallback            bool            `json:"byte_fallback"`
		Dropout                 *float64        `json:"dropout"`
		Vocab                   json.RawMessage `json:"vocab"`
		Merges                  json.RawMessage `json:"merges"`
	} `json:"model"`
}

func loadTokenizerJSON(path string) (*Tokenizer, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load tokenizer: %w", err)
	}
	var f hfFile
	if err := json.Unmarshal(raw, &f); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			line := 1 + bytes.Count(raw[:min(int(se.Offset), len(raw))], []byte("\n"))
			return nil, fmt.Errorf("%s line %d: %w", path, line, err)
		}
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	fail := func(err error) (*Tokenizer, error) { return nil, fmt.Errorf("%s: %w", path, err) }
	if isNull(f.Model.Vocab) {
		return fail(errors.New("model has no vocab"))
	}
	tokens, err := readVocabJSON(path+" model.vocab", f.Model.Vocab)
	if err != nil {
		return nil, err
	}
	// Added tokens outside the model vocabulary extend the id range.
	for _, a := range f.AddedTokens {
		switch {
		case a.ID < len(tokens) && tokens[a.ID] == a.Content:
		case a.ID < len(tokens):
			return fail(fmt.Errorf("added token %q has id %d, which the model gives to %q", a.Content, a.ID, tokens[a.ID]))
		default:
			for len(tokens) <= a.ID {
				tokens = append(tokens, "")
			}
			tokens[a.ID] = a.Content
		}
	}
	for id, tok := range tokens {
		if tok == "" {
			return fail(fmt.Errorf("no token has id %d", id))
		}
	}
	str := func(p *string, def string) string {
		if p == nil {
			return def
		}
		return *p
	}
	switch f.Model.Type {
	case "WordPiece", "":
		if f.Model.Type == "" && !isNull(f.Model.Merges) {
			break
		}
		maxChars := 100
		if f.Model.MaxInputCharsPerWord != nil {
			maxChars = *f.Model.MaxInputCharsPerWord
		}
		t, err := newWordPiece(tokens, str(f.Model.UnkToken, "[UNK]"), str(f.Model.ContinuingSubwordPrefix, "##"), maxChars,
			f.Normalizer, f.PreTokenizer, f.Decoder)
		if err != nil {
			return fail(err)
		}
		t.postJSON = f.PostProcessor
		return t, nil
	}
	if f.Model.Type != "BPE" && f.Model.Type != "" {
		return fail(fmt.Errorf("model type %q is not supported (WordPiece and BPE are)", f.Model.Type))
	}
	if f.Model.Dropout != nil && *f.Model.Dropout > 0 {
		return fail(errors.New("BPE dropout is not supported"))
	}
	if f.Model.ByteFallback {
		return fail(errors.New("BPE byte_fallback is not supported"))
	}
	merges, err := parseMerges(f.Model.Merges)
	if err != nil {
		return fail(err)
	}
	t := &Tokenizer{kind: BPE, tokens: tokens, merges: merges, unk: -1,
		bpePrefix: str(f.Model.ContinuingSubwordPrefix, ""), suffix: str(f.Model.EndOfWordSuffix, ""), fuseUnk: f.Model.FuseUnk,
		normJSON: f.Normalizer, preJSON: f.PreTokenizer, decJSON: f.Decoder, postJSON: f.PostProcessor}
	if err := t.finishBPE(str(f.Model.UnkToken, ""), func(i int) string { return fmt.Sprintf("model.merges[%d]", i) }); err != nil {
		return fail(err)
	}
	return t, nil
}

// parseMerges accepts both merges forms: ["a b", ...] and [["a","b"], ...].
func parseMerges(raw json.RawMessage) ([][2]string, error) {
	if isNull(raw) {
		return nil, nil
	}
	var strs []string
	if err := json.Unmarshal(raw, &strs); err == nil {
		out := make([][2]string, len(strs))
		for i, s := range strs {
			a, b, ok := strings.Cut(s, " ")
			if !ok || a == "" || b == "" {
				return nil, fmt.Errorf("model.merges[%d]: want two tokens separated by a space", i)
			}
			out[i] = [2]string{a, b}
		}
		return out, nil
	}
	var pairs [][]string
	if err := json.Unmarshal(raw, &pairs); err != nil {
		return nil, fmt.Errorf("model.merges: %w", err)
	}
	out := make([][2]string, len(pairs))
	for i, p := range pairs {
		if len(p) != 2 {
			return nil, fmt.Errorf("model.merges[%d]: want a pair", i)
		}
		out[i] = [2]string{p[0], p[1]}
	}
	return out, nil
}
