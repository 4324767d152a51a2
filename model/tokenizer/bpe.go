package tokenizer

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// maxCache bounds the per-tokenizer cache of BPE word encodings.
const maxCache = 1 << 17

// bpeWord appends the BPE encoding of one pre-tokenised word.
func (t *Tokenizer) bpeWord(ids []int, w string) ([]int, error) {
	t.cacheMu.RLock()
	hit, ok := t.cache[w]
	t.cacheMu.RUnlock()
	if ok {
		return append(ids, hit...), nil
	}
	enc, err := t.bpeMerge(w)
	if err != nil {
		return ids, err
	}
	t.cacheMu.Lock()
	if t.cache == nil || len(t.cache) >= maxCache {
		t.cache = make(map[string][]int)
	}
	t.cache[strings.Clone(w)] = enc
	t.cacheMu.Unlock()
	return append(ids, enc...), nil
}

// bpeMerge splits w into characters (prefix/suffix decorated) and applies
// merges, lowest rank first, until none applies.
func (t *Tokenizer) bpeMerge(w string) ([]int, error) {
	n := utf8.RuneCountInString(w)
	syms := make([]int, 0, n)
	i := 0
	for pos, r := range w {
		s := w[pos : pos+utf8.RuneLen(r)]
		if i > 0 && t.bpePrefix != "" {
			s = t.bpePrefix + s
		}
		if i == n-1 && t.suffix != "" {
			s += t.suffix
		}
		i++
		id, ok := t.vocab[s]
		if !ok {
			if t.unk < 0 {
				return nil, fmt.Errorf("BPE: character U+%04X is not in the vocabulary and the model has no unknown token", r)
			}
			if t.fuseUnk && len(syms) > 0 && syms[len(syms)-1] == t.unk {
				continue
			}
			id = t.unk
		}
		syms = append(syms, id)
	}
	for len(syms) > 1 {
		best, at := merge{rank: -1}, -1
		for k := 0; k+1 < len(syms); k++ {
			if m, ok := t.ranks[[2]int{syms[k], syms[k+1]}]; ok && (at < 0 || m.rank < best.rank) {
				best, at = m, k
			}
		}
		if at < 0 {
			break
		}
		// Merge every occurrence of the best pair, left to right.
		a, b := syms[at], syms[at+1]
		out := syms[:at]
		for k := at; k < len(syms); {
			if k+1 < len(syms) && syms[k] == a && syms[k+1] == b {
				out = append(out, best.id)
				k += 2
			} else {
				out = append(out, syms[k])
				k++
			}
		}
		syms = out
	}
	return syms, nil
}

// buildRanks resolves the merges list against the vocabulary.
func (t *Tokenizer) buildRanks(where func(i int) string) error {
	t.ranks = make(map[[2]int]merge, len(t.merges))
	for i, m := range t.merges {
		a, okA := t.vocab[m[0]]
		b, okB := t.vocab[m[1]]
		joined := m[0] + strings.TrimPrefix(m[1], t.bpePrefix)
		id, okC := t.vocab[joined]
		switch {
		case !okA:
			return fmt.Errorf("%s: merge token %q is not in the vocabulary", where(i), m[0])
		case !okB:
			return fmt.Errorf("%s: merge token %q is not in the vocabulary", where(i), m[1])
		case !okC:
			return fmt.Errorf("%s: merged token %q is not in the vocabulary", where(i), joined)
		}
		if _, dup := t.ranks[[2]int{a, b}]; !dup {
			t.ranks[[2]int{a, b}] = merge{rank: i, id: id}
		}
	}
	return nil
}
