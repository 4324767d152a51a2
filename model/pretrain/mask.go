package pretrain

import (
	"errors"
	"fmt"
	"math/rand/v2"

	"github.com/icdcode/icdcode/model/tokenizer"
)

// Masked is one window prepared for the MLM loss.
type Masked struct {
	// Input is the window with the chosen positions replaced (BERT's rule).
	Input []int
	// Positions are the chosen positions, increasing; Targets their
	// original ids.
	Positions, Targets []int
}

// Masker applies BERT's masking rule to windows.
type Masker struct {
	prob    float64
	mask    int
	vocab   int
	special map[int]bool
}

// NewMasker returns a masker that chooses each non-special token with
// probability prob and replaces it by the [MASK] id of sp (80 %), a token
// drawn uniformly from [0, vocab) (10 %, as Hugging Face's
// DataCollatorForLanguageModeling draws it), or leaves it (10 %). The
// special tokens of sp that exist are never chosen.
func NewMasker(sp tokenizer.SpecialTokens, vocab int, prob float64) (*Masker, error) {
	if sp.MASK < 0 {
		return nil, errors.New("pretrain: the tokenizer has no [MASK] (or <mask>) token")
	}
	if !(prob > 0 && prob <= 1) {
		return nil, fmt.Errorf("pretrain: mask probability %g, want 0 < p ≤ 1", prob)
	}
	if vocab < 1 {
		return nil, fmt.Errorf("pretrain: vocabulary of %d", vocab)
	}
	m := &Masker{prob: prob, mask: sp.MASK, vocab: vocab, special: map[int]bool{}}
	for _, id := range []int{sp.CLS, sp.SEP, sp.PAD, sp.UNK, sp.MASK} {
		if id >= 0 {
			m.special[id] = true
		}
	}
	return m, nil
}

// Maskable reports whether a window has a token that may be chosen.
func (m *Masker) Maskable(ids []int) bool {
	for _, id := range ids {
		if !m.special[id] {
			return true
		}
	}
	return false
}

// Apply masks ids (not modified) with draws from rng, in a fixed order so
// that the same generator state gives the same result: one uniform per
// maskable position for the choice, then per chosen position one uniform
// for the rule and, for a random replacement, one draw of the token. When
// no position was chosen one maskable position is drawn, so every window
// has a loss. A window without a maskable token is an error (windows are
// built so that this does not happen).
func (m *Masker) Apply(ids []int, rng *rand.Rand) (Masked, error) {
	var cand, pos []int
	for i, id := range ids {
		if m.special[id] {
			continue
		}
		cand = append(cand, i)
		if rng.Float64() < m.prob {
			pos = append(pos, i)
		}
	}
	if len(cand) == 0 {
		return Masked{}, errors.New("pretrain: window has no maskable token")
	}
	if len(pos) == 0 {
		pos = append(pos, cand[rng.IntN(len(cand))])
	}
	out := Masked{Input: append([]int(nil), ids...), Positions: pos, Targets: make([]int, len(pos))}
	for j, i := range pos {
		out.Targets[j] = ids[i]
		switch r := rng.Float64(); {
		case r < 0.8:
			out.Input[i] = m.mask
		case r < 0.9:
			out.Input[i] = rng.IntN(m.vocab)
		}
	}
	return out, nil
}

// Windows cuts each document's token ids into consecutive windows of at
// most seqLen − 2 tokens framed by cls and sep. Windows without a maskable
// token (e.g. only [UNK]) are left out and counted in skipped.
func Windows(docs [][]int, seqLen, cls, sep int, m *Masker) (windows [][]int, skipped int, err error) {
	if seqLen < 3 {
		return nil, 0, fmt.Errorf("pretrain: sequence length %d, want ≥ 3", seqLen)
	}
	if cls < 0 || sep < 0 {
		return nil, 0, errors.New("pretrain: the tokenizer lacks [CLS] or [SEP] (<s>, </s>)")
	}
	body := seqLen - 2
	for _, ids := range docs {
		for start := 0; start < len(ids); start += body {
			part := ids[start:min(start+body, len(ids))]
			if !m.Maskable(part) {
				skipped++
				continue
			}
			w := make([]int, 0, len(part)+2)
			w = append(w, cls)
			w = append(w, part...)
			windows = append(windows, append(w, sep))
		}
	}
	return windows, skipped, nil
}
