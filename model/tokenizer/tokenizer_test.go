package tokenizer

import (
	"iter"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/icdcode/icdcode/data/shareddata"
)

const knownText = "Acute systolic heart failure with hypertensive chronic kidney disease."

func bertVocab(t testing.TB) string {
	return shareddata.Path(t, "tokenizer", "bert-base-uncased", "vocab.txt")
}

func mustLoad(t testing.TB, path string) *Tokenizer {
	t.Helper()
	tk, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return tk
}

func mustEncode(t testing.TB, tk *Tokenizer, text string) []int {
	t.Helper()
	ids, err := tk.Encode(text)
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

func TestBertBaseUncasedKnownEncoding(t *testing.T) {
	tk := mustLoad(t, bertVocab(t))
	if tk.VocabSize() != 30522 || tk.Kind() != WordPiece || !tk.Lowercase() {
		t.Fatalf("vocab size %d kind %s lowercase %v", tk.VocabSize(), tk.Kind(), tk.Lowercase())
	}
	s := tk.Special()
	if s != (SpecialTokens{CLS: 101, SEP: 102, PAD: 0, UNK: 100, MASK: 103}) {
		t.Fatalf("special tokens %+v", s)
	}
	ids := append(append([]int{s.CLS}, mustEncode(t, tk, knownText)...), s.SEP)
	want := []int{101, 11325, 25353, 16033, 10415, 2540, 4945, 2007, 23760, 25808, 3512, 11888, 14234, 4295, 1012, 102}
	if !slices.Equal(ids, want) {
		t.Fatalf("ids\n got %v\nwant %v", ids, want)
	}
	toks, _ := tk.Tokens(knownText)
	if got := strings.Join(toks, " "); got != "acute sy ##sto ##lic heart failure with hyper ##tens ##ive chronic kidney disease ." {
		t.Fatalf("tokens %s", got)
	}
	dec, err := tk.Decode(ids)
	if err != nil || dec != "[CLS] acute systolic heart failure with hypertensive chronic kidney disease. [SEP]" {
		t.Fatalf("decode %q %v", dec, err)
	}
	if _, err := tk.Decode([]int{30522}); err == nil {
		t.Fatal("out-of-range id decoded")
	}
}

// TestBertNormalisation checks BERT's basic tokenizer rules by hand-verified
// cases (lower-casing, accent stripping, control characters, CJK spacing,
// punctuation split, the 100-character word limit, special-token text not
// matched).
func TestBertNormalisation(t *testing.T) {
	tk := mustLoad(t, bertVocab(t))
	cases := []struct{ in, want string }{
		{"Café NAÏVE résumé", "cafe naive resume"},
		{"José, Mérida", "jose , mer ##ida"},
		{"pH 7.4\t\x00mg/dL\u200b", "ph 7 . 4 mg / dl"},
		{"(T2-N0)", "( t ##2 - n ##0 )"},
		{"中国肺", "中 国 [UNK]"},
		{"don't", "don ' t"},
		{"[SEP] [CLS]", "[ sep ] [ cl ##s ]"},
		{strings.Repeat("a", 101), "[UNK]"},
		{"\u2014dose\u2014", "— dose —"},
		{"  \n ", ""},
	}
	for _, c := range cases {
		toks, err := tk.Tokens(c.in)
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Join(toks, " "); got != c.want {
			t.Errorf("%q → %q, want %q", c.in, got, c.want)
		}
	}
	// Cased reading of the same vocabulary: capitals are kept and unknown.
	no := false
	cased, err := LoadWithOptions(bertVocab(t), Options{Lowercase: &no})
	if err != nil {
		t.Fatal(err)
	}
	if toks, _ := cased.Tokens("Acute heart"); strings.Join(toks, " ") != "[UNK] heart" {
		t.Errorf("cased tokens %v", toks)
	}
}

func TestByteLevelSplit(t *testing.T) {
	// Expected values from the GPT-2 pattern in Python's regex module.
	cases := []struct {
		in   string
		want []string
	}{
		{"Hello  world", []string{"Hello", " ", " world"}},
		{"she's 12.5mg\n\nok ", []string{"she", "'s", " 12", ".", "5", "mg", "\n", "\n", "ok", " "}},
		{"a\t b", []string{"a", "\t", " b"}},
		{"x  \ny", []string{"x", "  ", "\n", "y"}},
		{" 's 'LL", []string{" '", "s", " '", "LL"}},
		{"Ünïcode—dash", []string{"Ünïcode", "—", "dash"}},
	}
	for _, c := range cases {
		var got []string
		gpt2Split(c.in, func(s string) { got = append(got, s) })
		if !slices.Equal(got, c.want) {
			t.Errorf("%q → %q, want %q", c.in, got, c.want)
		}
	}
}

// codiesp yields the English CodiEsp texts of a split, one file a document.
func codiesp(t testing.TB, split string) []string {
	dir := shareddata.Path(t, "codiesp", split, "text_files_en")
	files, err := filepath.Glob(filepath.Join(dir, "*.txt"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no text files in %s (%v)", dir, err)
	}
	sort.Strings(files)
	var docs []string
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		docs = append(docs, string(b))
	}
	return docs
}

func corpus(docs []string) iter.Seq2[string, error] {
	return func(yield func(string, error) bool) {
		for _, d := range docs {
			if !yield(d, nil) {
				return
			}
		}
	}
}

// assertSameEncoding checks two tokenizers give identical ids on every doc.
func assertSameEncoding(t *testing.T, a, b *Tokenizer, docs []string) {
	t.Helper()
	if a.VocabSize() != b.VocabSize() || a.Special() != b.Special() || a.Kind() != b.Kind() || a.Lowercase() != b.Lowercase() {
		t.Fatalf("reloaded tokenizer differs: size %d/%d special %+v/%+v", a.VocabSize(), b.VocabSize(), a.Special(), b.Special())
	}
	for id := range a.VocabSize() {
		if a.IDToToken(id) != b.IDToToken(id) {
			t.Fatalf("token %d: %q vs %q", id, a.IDToToken(id), b.IDToToken(id))
		}
	}
	for i, d := range docs {
		if x, y := mustEncode(t, a, d), mustEncode(t, b, d); !slices.Equal(x, y) {
			t.Fatalf("doc %d encodes differently after reload", i)
		}
	}
}

func TestSaveLoadRoundTripBert(t *testing.T) {
	tk := mustLoad(t, bertVocab(t))
	docs := codiesp(t, "dev")
	dir := t.TempDir()
	if err := tk.Save(dir); err != nil {
		t.Fatal(err)
	}
	assertSameEncoding(t, tk, mustLoad(t, dir), docs)
	assertSameEncoding(t, tk, mustLoad(t, filepath.Join(dir, TokenizerJSON)), docs[:20])
	assertSameEncoding(t, tk, mustLoad(t, filepath.Join(dir, VocabTxt)), docs[:20])
	// Loading the shared folder (vocab.txt beside config.json) works too.
	assertSameEncoding(t, tk, mustLoad(t, filepath.Dir(bertVocab(t))), docs[:20])
}

func TestTokenizerConfigHonoured(t *testing.T) {
	dir := t.TempDir()
	vocab := "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nHeart\nheart\n"
	if err := os.WriteFile(filepath.Join(dir, VocabTxt), []byte(vocab), 0o644); err != nil {
		t.Fatal(err)
	}
	// Guessed cased (the vocabulary has "Heart").
	if toks, _ := mustLoad(t, dir).Tokens("Heart"); toks[0] != "Heart" {
		t.Fatalf("guess: %v", toks)
	}
	os.WriteFile(filepath.Join(dir, TokenizerConfig), []byte(`{"do_lower_case": true}`), 0o644)
	if toks, _ := mustLoad(t, dir).Tokens("Heart"); toks[0] != "heart" {
		t.Fatalf("do_lower_case: %v", toks)
	}
	if s := mustLoad(t, dir).Special(); s != (SpecialTokens{CLS: 2, SEP: 3, PAD: 0, UNK: 1, MASK: 4}) {
		t.Fatalf("special %+v", s)
	}
}

func TestTrainOnCodiEsp(t *testing.T) {
	train, dev := codiesp(t, "train"), codiesp(t, "dev")
	for _, c := range []struct {
		name  string
		train func(iter.Seq2[string, error], TrainOptions) (*Tokenizer, error)
		want  SpecialTokens
		unk   float64
	}{
		{"wordpiece", TrainWordPiece, SpecialTokens{PAD: 0, UNK: 1, CLS: 2, SEP: 3, MASK: 4}, 0.002},
		{"bpe", TrainBPE, SpecialTokens{CLS: 0, PAD: 1, SEP: 2, UNK: 3, MASK: 4}, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			tk, err := c.train(corpus(train), TrainOptions{VocabSize: 8000, MinFreq: 2, Lowercase: true})
			if err != nil {
				t.Fatal(err)
			}
			if s := tk.Special(); s != c.want {
				t.Fatalf("special %+v, want %+v", s, c.want)
			}
			if tk.VocabSize() != 8000 {
				t.Fatalf("vocab size %d", tk.VocabSize())
			}
			dir := t.TempDir()
			if err := tk.Save(dir); err != nil {
				t.Fatal(err)
			}
			back := mustLoad(t, dir)
			assertSameEncoding(t, tk, back, dev)
			// The plain vocabulary files (with tokenizer_config.json) load identically too.
			plain := filepath.Join(dir, VocabTxt)
			if c.name == "bpe" {
				plain = filepath.Join(dir, VocabJSON)
			}
			assertSameEncoding(t, tk, mustLoad(t, plain), dev[:50])

			var n, unk, chars int
			for _, d := range dev {
				ids := mustEncode(t, back, d)
				n += len(ids)
				chars += len(d)
				for _, id := range ids {
					if id == back.Special().UNK {
						unk++
					}
				}
			}
			rate := float64(unk) / float64(n)
			t.Logf("%s: vocab %d (%d BPE merges); dev: %d tokens (%.2f chars/token), %d unknown (%.3f%%)",
				c.name, tk.VocabSize(), len(tk.merges), n, float64(chars)/float64(n), unk, 100*rate)
			if rate > c.unk {
				t.Fatalf("unknown rate %.4f > %.4f", rate, c.unk)
			}
			toks, _ := back.Tokens(knownText)
			t.Logf("%s: %q", c.name, toks)
			dec, err := back.Decode(mustEncode(t, back, knownText))
			if err != nil {
				t.Fatal(err)
			}
			if want := strings.ToLower(knownText); strings.TrimSpace(dec) != want {
				t.Fatalf("decode %q, want %q", dec, want)
			}
		})
	}
}

func TestTrainingDeterministic(t *testing.T) {
	docs := codiesp(t, "train")[:60]
	for _, train := range []func(iter.Seq2[string, error], TrainOptions) (*Tokenizer, error){TrainWordPiece, TrainBPE} {
		o := TrainOptions{VocabSize: 1500, MinFreq: 2}
		a, err := train(corpus(docs), o)
		if err != nil {
			t.Fatal(err)
		}
		b, err := train(corpus(docs), o)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(a.tokens, b.tokens) || !slices.Equal(a.merges, b.merges) {
			t.Fatalf("%s: two trainings differ", a.Kind())
		}
		if a.Lowercase() {
			t.Fatal("lowercase without asking")
		}
	}
}

func TestTrainSmall(t *testing.T) {
	docs := []string{"low lower lowest", "low lower newest", "widest newest"}
	tk, err := TrainBPE(corpus(docs), TrainOptions{VocabSize: 1000, MinFreq: 2})
	if err != nil {
		t.Fatal(err)
	}
	// The first merges are the most frequent pairs, ties broken by string.
	if got := tk.merges[:3]; !slices.Equal(got, [][2]string{{"l", "o"}, {"lo", "w"}, {"Ġ", "low"}}) {
		t.Fatalf("merges %q", got)
	}
	// Trained to exhaustion: every pair seen twice is merged, so "newest"
	// (seen twice) is one token while "lowest" (seen once) is not.
	if toks, _ := tk.Tokens("lowest newest"); !slices.Equal(toks, []string{"Ġlow", "est", "Ġnewest"}) {
		t.Fatalf("tokens %q", toks)
	}
	wp, err := TrainWordPiece(corpus(docs), TrainOptions{VocabSize: 1000, MinFreq: 2})
	if err != nil {
		t.Fatal(err)
	}
	if toks, _ := wp.Tokens("lowest newest"); !slices.Equal(toks, []string{"low", "##est", "newest"}) {
		t.Fatalf("wordpiece tokens %q", toks)
	}
	if _, err := TrainWordPiece(corpus(docs), TrainOptions{VocabSize: 10}); err == nil || !strings.Contains(err.Error(), "smaller than") {
		t.Fatalf("tiny vocab size: %v", err)
	}
	if _, err := TrainBPE(corpus(nil), TrainOptions{VocabSize: 1000}); err == nil || !strings.Contains(err.Error(), "no text") {
		t.Fatalf("empty corpus: %v", err)
	}
}

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestBadInputs(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		path, want string
	}{
		{filepath.Join(dir, "missing.txt"), "no such file"},
		{writeFile(t, dir, "empty.txt", ""), "empty.txt: empty vocabulary"},
		{writeFile(t, dir, "dup.txt", "[PAD]\n[UNK]\nheart\nlung\nheart\n"), `dup.txt line 5: duplicate token "heart" (first on line 3)`},
		{writeFile(t, dir, "blank.txt", "[UNK]\n\nheart\n"), "blank.txt line 2: empty token"},
		{writeFile(t, dir, "nounk.txt", "[PAD]\nheart\n"), "nounk.txt: the vocabulary has no unknown token [UNK]"},
		{writeFile(t, dir, "syntax.json", "{\n\"model\": {\n\"type\": \"WordPiece\",,\n}}"), "syntax.json line 3"},
		{writeFile(t, dir, "unigram.json", `{"model": {"type": "Unigram", "vocab": {"a": 0}}}`), `model type "Unigram" is not supported`},
		{writeFile(t, dir, "gap.json", `{"model": {"type": "WordPiece", "vocab": {"[UNK]": 0, "a": 2}}}`), "ids are not contiguous"},
		{writeFile(t, dir, "dupid.json", `{"model": {"type": "WordPiece", "vocab": {"[UNK]": 0, "a": 0}}}`), "share id 0"},
		{writeFile(t, dir, "dupkey.json", `{"model": {"type": "WordPiece", "vocab": {"[UNK]": 0, "a": 1, "a": 2}}}`), `duplicate token "a"`},
		{writeFile(t, dir, "badmerge.json", `{"model": {"type": "BPE", "vocab": {"a": 0, "b": 1}, "merges": ["a b"]}}`), `merged token "ab" is not in the vocabulary`},
		{writeFile(t, dir, "norm.json", `{"normalizer": {"type": "Precompiled"}, "model": {"type": "WordPiece", "vocab": {"[UNK]": 0}}}`), `normalizer type "Precompiled" is not supported`},
		{t.TempDir(), "holds none of"},
	}
	for _, c := range cases {
		_, err := Load(c.path)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want %q", filepath.Base(c.path), err, c.want)
		}
	}
	// Bad merges.txt lines name the file and line.
	bdir := t.TempDir()
	writeFile(t, bdir, VocabJSON, `{"a": 0, "b": 1, "ab": 2}`)
	writeFile(t, bdir, MergesTxt, "#version: 0.2\na b\nab\n")
	if _, err := Load(bdir); err == nil || !strings.Contains(err.Error(), "merges.txt line 3") {
		t.Errorf("merges: %v", err)
	}
}

// TestTokenizerJSONBPE loads a hand-written byte-level BPE tokenizer.json
// (RoBERTa layout) and checks merges, special ids and decoding.
func TestTokenizerJSONBPE(t *testing.T) {
	dir := t.TempDir()
	vocab := []string{"<s>", "<pad>", "</s>", "<unk>"}
	for b := range 256 {
		vocab = append(vocab, string(byteToUnicode[b]))
	}
	vocab = append(vocab, "Ġh", "Ġhe", "Ġhea", "rt", "Ġheart")
	var sb strings.Builder
	writeVocabObject(&sb, vocab, "")
	js := `{"added_tokens": [{"id": 265, "content": "<mask>", "special": true}],
 "normalizer": null, "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": true},
 "model": {"type": "BPE", "vocab": ` + sb.String() + `, "merges": [["Ġ", "h"], ["Ġh", "e"], ["Ġhe", "a"], ["r", "t"], ["Ġhea", "rt"]]}}`
	writeFile(t, dir, TokenizerJSON, js)
	tk := mustLoad(t, dir)
	if s := tk.Special(); s != (SpecialTokens{CLS: 0, SEP: 2, PAD: 1, UNK: 3, MASK: 265}) {
		t.Fatalf("special %+v", s)
	}
	toks, err := tk.Tokens("heart hearts ♥")
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"Ġheart", "Ġheart", "s", "Ġ", "â", "Ļ", "¥"}; !slices.Equal(toks, want) {
		t.Fatalf("tokens %q, want %q", toks, want)
	}
	ids := mustEncode(t, tk, "heart hearts ♥")
	if dec, _ := tk.Decode(ids); dec != " heart hearts ♥" {
		t.Fatalf("decode %q", dec)
	}
	out := t.TempDir()
	if err := tk.Save(out); err != nil {
		t.Fatal(err)
	}
	assertSameEncoding(t, tk, mustLoad(t, out), []string{"heart hearts ♥", "The heart's rate: 80/min."})
}

func FuzzEncode(f *testing.F) {
	for _, s := range []string{knownText, "Café 肺炎 don't", "\x00\xff\xfe", strings.Repeat("##", 60), " \t\n", "[CLS] <s>"} {
		f.Add(s)
	}
	docs := []string{knownText, "Chronic kidney disease stage 3, hypertensive heart disease.", "Café naïve 12.5 mg/dL"}
	wp, err := TrainWordPiece(corpus(docs), TrainOptions{VocabSize: 200, MinFreq: 1, Lowercase: true})
	if err != nil {
		f.Fatal(err)
	}
	bpe, err := TrainBPE(corpus(docs), TrainOptions{VocabSize: 320, MinFreq: 1})
	if err != nil {
		f.Fatal(err)
	}
	tks := []*Tokenizer{wp, bpe}
	f.Fuzz(func(t *testing.T, s string) {
		for _, tk := range tks {
			ids, err := tk.Encode(s)
			if err != nil {
				t.Fatalf("%s: %v", tk.Kind(), err)
			}
			for _, id := range ids {
				if id < 0 || id >= tk.VocabSize() {
					t.Fatalf("%s: id %d out of range", tk.Kind(), id)
				}
			}
			if _, err := tk.Decode(ids); err != nil {
				t.Fatal(err)
			}
		}
		// Byte-level BPE is lossless on valid UTF-8, up to NFC and the prefix space.
		if utf8.ValidString(s) && s != "" {
			ids, _ := bpe.Encode(s)
			want := norm.NFC.String(s)
			if !strings.HasPrefix(want, " ") {
				want = " " + want
			}
			if dec, _ := bpe.Decode(ids); dec != want {
				t.Fatalf("byte-level round trip %q → %q", want, dec)
			}
		}
	})
}

func BenchmarkEncode(b *testing.B) {
	docs := codiesp(b, "dev")
	text := strings.Join(docs, "\n")
	b.Run("bert-base-uncased", func(b *testing.B) {
		tk := mustLoad(b, bertVocab(b))
		b.SetBytes(int64(len(text)))
		for b.Loop() {
			if _, err := tk.Encode(text); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("bpe-8k", func(b *testing.B) {
		tk, err := TrainBPE(corpus(codiesp(b, "train")), TrainOptions{VocabSize: 8000, MinFreq: 2, Lowercase: true})
		if err != nil {
			b.Fatal(err)
		}
		b.SetBytes(int64(len(text)))
		for b.Loop() {
			tk.cache = nil // measure uncached merging too
			if _, err := tk.Encode(text); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func TestConcurrentEncode(t *testing.T) {
	docs := []string{knownText, "Chronic kidney disease stage 3.", "hypertensive heart disease"}
	tk, err := TrainBPE(corpus(docs), TrainOptions{VocabSize: 320, MinFreq: 1})
	if err != nil {
		t.Fatal(err)
	}
	want := mustEncode(t, tk, knownText)
	done := make(chan []int)
	for range 4 {
		go func() {
			var ids []int
			for range 50 {
				ids, _ = tk.Encode(knownText + " " + docs[1])
			}
			done <- ids[:len(want)]
		}()
	}
	for range 4 {
		if got := <-done; !slices.Equal(got, want) {
			t.Fatalf("concurrent encode %v, want %v", got, want)
		}
	}
}
