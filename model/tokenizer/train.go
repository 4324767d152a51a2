package tokenizer

import (
	"container/heap"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"slices"
	"strings"
	"time"

	"github.com/icdcode/icdcode/data/progress"
)

// TrainOptions configure TrainWordPiece and TrainBPE.
type TrainOptions struct {
	// VocabSize is the target vocabulary size, special tokens and the
	// alphabet included. Training stops earlier when no pair reaches MinFreq.
	VocabSize int
	// MinFreq is the minimum corpus count of a pair to be merged (default 2).
	MinFreq int
	// Lowercase lower-cases (and, for WordPiece, strips accents from) text.
	Lowercase bool
	// Progress receives progress lines for long corpora (nil: silent).
	Progress io.Writer
}

// Special tokens of trained vocabularies, at ids 0–4 in this order.
var (
	WordPieceSpecials = []string{"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"}
	BPESpecials       = []string{"<s>", "<pad>", "</s>", "<unk>", "<mask>"}
)

// TrainWordPiece builds a WordPiece vocabulary with BERT normalisation and
// pre-tokenisation, the way Hugging Face does: BPE merges over words split
// into characters (non-initial ones prefixed "##"), the merged tokens
// becoming the vocabulary. Layout: [PAD] [UNK] [CLS] [SEP] [MASK] (ids 0–4),
// every character seen, both plain and "##"-prefixed, in string order, then
// the merged tokens in merge order. Deterministic: the most frequent pair is
// merged first, ties broken by the pair's strings.
func TrainWordPiece(corpus iter.Seq2[string, error], o TrainOptions) (*Tokenizer, error) {
	o = o.withDefaults()
	skel := &Tokenizer{normJSON: bertNormalizerJSON(o.Lowercase, nil), preJSON: json.RawMessage(`{"type":"BertPreTokenizer"}`)}
	if err := skel.compile(); err != nil {
		return nil, err
	}
	counts, err := countWords(skel, corpus, o.Progress)
	if err != nil {
		return nil, err
	}
	chars := map[string]bool{}
	tr := newMerger(func(a, b string) string { return a + strings.TrimPrefix(b, "##") })
	for w, c := range sortedWords(counts) {
		syms := make([]string, 0, len(w))
		for i, r := range w {
			s := string(r)
			chars[s] = true
			if i > 0 {
				s = "##" + s
			}
			syms = append(syms, s)
		}
		tr.addWord(syms, c)
	}
	alphabet := make([]string, 0, 2*len(chars))
	for c := range chars {
		alphabet = append(alphabet, c, "##"+c)
	}
	slices.Sort(alphabet)
	tokens, err := tr.train(WordPieceSpecials, alphabet, o)
	if err != nil {
		return nil, err
	}
	t, err := newWordPiece(tokens, "[UNK]", "##", 100, skel.normJSON, skel.preJSON, nil)
	if err != nil {
		return nil, fmt.Errorf("train wordpiece: %w", err)
	}
	return t, nil
}

// TrainBPE builds a byte-level BPE vocabulary (GPT-2/RoBERTa style: NFC
// normalisation, optional lower-casing, GPT-2 pre-tokenisation with a prefix
// space, bytes mapped to printable characters, so no text is ever unknown).
// Layout: <s> <pad> </s> <unk> <mask> (ids 0–4), the 256 byte characters,
// then the merged tokens in merge order. Deterministic as TrainWordPiece.
func TrainBPE(corpus iter.Seq2[string, error], o TrainOptions) (*Tokenizer, error) {
	o = o.withDefaults()
	norm := json.RawMessage(`{"type":"NFC"}`)
	if o.Lowercase {
		norm = json.RawMessage(`{"type":"Sequence","normalizers":[{"type":"NFC"},{"type":"Lowercase"}]}`)
	}
	skel := &Tokenizer{normJSON: norm, preJSON: byteLevelJSON(true)}
	if err := skel.compile(); err != nil {
		return nil, err
	}
	counts, err := countWords(skel, corpus, o.Progress)
	if err != nil {
		return nil, err
	}
	tr := newMerger(func(a, b string) string { return a + b })
	for w, c := range sortedWords(counts) {
		syms := make([]string, 0, len(w))
		for _, r := range w {
			syms = append(syms, string(r))
		}
		tr.addWord(syms, c)
	}
	alphabet := make([]string, 256)
	for b := range 256 {
		alphabet[b] = string(byteToUnicode[b])
	}
	slices.Sort(alphabet)
	tokens, err := tr.train(BPESpecials, alphabet, o)
	if err != nil {
		return nil, err
	}
	t := &Tokenizer{kind: BPE, tokens: tokens, merges: tr.merges, unk: -1, normJSON: skel.normJSON, preJSON: skel.preJSON}
	if err := t.finishBPE("", func(i int) string { return fmt.Sprintf("merge %d", i+1) }); err != nil {
		return nil, fmt.Errorf("train bpe: %w", err)
	}
	return t, nil
}

func (o TrainOptions) withDefaults() TrainOptions {
	if o.MinFreq <= 0 {
		o.MinFreq = 2
	}
	return o
}

// countWords runs the pre-tokenisation of skel over the corpus.
func countWords(skel *Tokenizer, corpus iter.Seq2[string, error], w io.Writer) (map[string]int, error) {
	counts := map[string]int{}
	rep := progress.New(w, 5*time.Second)
	rep.Start("tokenizer train: reading corpus")
	var bytes int64
	docs := 0
	for text, err := range corpus {
		if err != nil {
			return nil, err
		}
		docs++
		bytes += int64(len(text))
		skel.words(text, func(word string) {
			if c, ok := counts[word]; ok {
				counts[word] = c + 1
			} else {
				counts[strings.Clone(word)] = 1
			}
		})
		rep.Tick(bytes, 0, "MB")
	}
	rep.Finish(bytes, "MB")
	if docs == 0 || len(counts) == 0 {
		return nil, errors.New("train tokenizer: the corpus has no text")
	}
	return counts, nil
}

// sortedWords yields words in string order, so training is deterministic.
func sortedWords(counts map[string]int) iter.Seq2[string, int] {
	return func(yield func(string, int) bool) {
		keys := make([]string, 0, len(counts))
		for k := range counts {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			if !yield(k, counts[k]) {
				return
			}
		}
	}
}

// merger learns BPE merges with incremental pair counts.
type merger struct {
	join   func(a, b string) string
	syms   []string
	symID  map[string]int32
	words  []tword
	pairs  map[[2]int32]int
	where  map[[2]int32][]int32
	merges [][2]string
}

type tword struct {
	syms  []int32
	count int
}

func newMerger(join func(a, b string) string) *merger {
	return &merger{join: join, symID: map[string]int32{}, pairs: map[[2]int32]int{}, where: map[[2]int32][]int32{}}
}

func (m *merger) intern(s string) int32 {
	if id, ok := m.symID[s]; ok {
		return id
	}
	id := int32(len(m.syms))
	m.syms = append(m.syms, s)
	m.symID[s] = id
	return id
}

func (m *merger) addWord(syms []string, count int) {
	ids := make([]int32, len(syms))
	for i, s := range syms {
		ids[i] = m.intern(s)
	}
	wi := int32(len(m.words))
	m.words = append(m.words, tword{ids, count})
	for i := 0; i+1 < len(ids); i++ {
		p := [2]int32{ids[i], ids[i+1]}
		m.pairs[p] += count
		if l := m.where[p]; len(l) == 0 || l[len(l)-1] != wi {
			m.where[p] = append(l, wi)
		}
	}
}

type pairItem struct {
	p     [2]int32
	count int
}

type pairHeap struct {
	items []pairItem
	syms  []string
}

func (h *pairHeap) Len() int { return len(h.items) }
func (h *pairHeap) Less(i, j int) bool {
	a, b := h.items[i], h.items[j]
	if a.count != b.count {
		return a.count > b.count
	}
	if c := strings.Compare(h.syms[a.p[0]], h.syms[b.p[0]]); c != 0 {
		return c < 0
	}
	return h.syms[a.p[1]] < h.syms[b.p[1]]
}
func (h *pairHeap) Swap(i, j int) { h.items[i], h.items[j] = h.items[j], h.items[i] }
func (h *pairHeap) Push(x any)    { h.items = append(h.items, x.(pairItem)) }
func (h *pairHeap) Pop() any {
	x := h.items[len(h.items)-1]
	h.items = h.items[:len(h.items)-1]
	return x
}

// train merges pairs until the vocabulary (specials + alphabet + merged
// tokens) reaches o.VocabSize or no pair occurs o.MinFreq times, and returns
// the vocabulary in id order.
func (m *merger) train(specials, alphabet []string, o TrainOptions) ([]string, error) {
	tokens := slices.Clone(specials)
	inVocab := map[string]bool{}
	for _, s := range tokens {
		inVocab[s] = true
	}
	for _, a := range alphabet {
		if !inVocab[a] {
			inVocab[a] = true
			tokens = append(tokens, a)
		}
	}
	if o.VocabSize < len(tokens) {
		return nil, fmt.Errorf("train tokenizer: vocabulary size %d is smaller than the special tokens and alphabet (%d)", o.VocabSize, len(tokens))
	}
	h := &pairHeap{syms: m.syms}
	for p, c := range m.pairs {
		h.items = append(h.items, pairItem{p, c})
	}
	heap.Init(h)
	rep := progress.New(o.Progress, 5*time.Second)
	rep.Start("tokenizer train: merging")
	stamp := make([]int32, len(m.words))
	for i := range stamp {
		stamp[i] = -1
	}
	recorded := map[[2]int32]bool{}
	step := int32(0)
	for len(tokens) < o.VocabSize && h.Len() > 0 {
		top := heap.Pop(h).(pairItem)
		if cur := m.pairs[top.p]; cur != top.count {
			if cur > 0 {
				heap.Push(h, pairItem{top.p, cur})
			}
			continue
		}
		if top.count < o.MinFreq {
			break
		}
		a, b := top.p[0], top.p[1]
		joined := m.join(m.syms[a], m.syms[b])
		nid := m.intern(joined)
		h.syms = m.syms
		if !recorded[top.p] {
			recorded[top.p] = true
			m.merges = append(m.merges, [2]string{m.syms[a], m.syms[b]})
		}
		if !inVocab[joined] {
			inVocab[joined] = true
			tokens = append(tokens, joined)
		}
		changed := map[[2]int32]bool{}
		for _, wi := range m.where[top.p] {
			if stamp[wi] == step {
				continue
			}
			stamp[wi] = step
			w := &m.words[wi]
			if !containsPair(w.syms, a, b) {
				continue
			}
			for i := 0; i+1 < len(w.syms); i++ {
				m.pairs[[2]int32{w.syms[i], w.syms[i+1]}] -= w.count
			}
			out := w.syms[:0]
			for i := 0; i < len(w.syms); {
				if i+1 < len(w.syms) && w.syms[i] == a && w.syms[i+1] == b {
					out = append(out, nid)
					i += 2
				} else {
					out = append(out, w.syms[i])
					i++
				}
			}
			w.syms = out
			for i := 0; i+1 < len(w.syms); i++ {
				p := [2]int32{w.syms[i], w.syms[i+1]}
				m.pairs[p] += w.count
				if p[0] == nid || p[1] == nid {
					changed[p] = true
					if l := m.where[p]; len(l) == 0 || l[len(l)-1] != wi {
						m.where[p] = append(l, wi)
					}
				}
			}
		}
		delete(m.where, top.p)
		if m.pairs[top.p] <= 0 {
			delete(m.pairs, top.p)
		}
		for p := range changed {
			if c := m.pairs[p]; c > 0 {
				heap.Push(h, pairItem{p, c})
			}
		}
		step++
		rep.Tick(int64(len(tokens)), int64(o.VocabSize), "tokens")
	}
	rep.Finish(int64(len(tokens)), "tokens")
	return tokens, nil
}

func containsPair(s []int32, a, b int32) bool {
	for i := 0; i+1 < len(s); i++ {
		if s[i] == a && s[i+1] == b {
			return true
		}
	}
	return false
}
