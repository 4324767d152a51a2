package embeval

import (
	"errors"
	"fmt"
	"slices"
)

// Next-visit Recall@k, the visit-level evaluation of Med2Vec (Choi et al.,
// KDD 2016; reference doc §4): for each pair of consecutive visits (t, t+1)
// of a patient, a model ranks every code of its output space from visit t,
// and
//
//	Recall@k = |top-k ∩ codes of visit t+1| / |codes of visit t+1|,
//
// averaged over the pairs. This is recall_k of sajaddarabi/Med2Vec-Pytorch
// (model/metric.py) with its valid-(t, t+1) masking: pairs never cross
// patients, and a pair whose visit t+1 has no code is left out (its recall
// is undefined). Codes of visit t+1 that the model cannot rank (absent from
// its output space, e.g. never seen in training) stay in the denominator, so
// a model is not rewarded for a small vocabulary.

// RecallRow is Recall@k for one k.
type RecallRow struct {
	K      int     `json:"k"`
	Recall float64 `json:"recall"`
}

// Recall accumulates Recall@k over visit pairs for several k at once.
type Recall struct {
	ks      []int
	sums    []float64
	pairs   int
	skipped int
	unseen  int
	targets int
	top     []int // scratch
}

// NewRecall returns an accumulator for the given k (each ≥ 1).
func NewRecall(ks []int) (*Recall, error) {
	if len(ks) == 0 {
		return nil, errors.New("embeval: recall needs at least one k")
	}
	for _, k := range ks {
		if k < 1 {
			return nil, fmt.Errorf("embeval: recall k %d: must be at least 1", k)
		}
	}
	return &Recall{ks: slices.Clone(ks), sums: make([]float64, len(ks))}, nil
}

// Add scores one pair: scores ranks the output space (higher first, ties by
// lower index), targets are the distinct output indices of visit t+1 and
// unseen the number of its distinct codes outside the output space. A pair
// without any target code is counted as skipped.
func (r *Recall) Add(scores []float64, targets []int, unseen int) error {
	if unseen < 0 {
		return fmt.Errorf("embeval: recall: %d unseen codes", unseen)
	}
	for i, t := range targets {
		if t < 0 || t >= len(scores) {
			return fmt.Errorf("embeval: recall: target %d outside the %d scored codes", t, len(scores))
		}
		if slices.Contains(targets[:i], t) {
			return fmt.Errorf("embeval: recall: target %d repeated", t)
		}
	}
	den := len(targets) + unseen
	if den == 0 {
		r.skipped++
		return nil
	}
	r.top = TopK(scores, slices.Max(r.ks), r.top)
	for j, k := range r.ks {
		hits := 0
		for _, c := range r.top[:min(k, len(r.top))] {
			if slices.Contains(targets, c) {
				hits++
			}
		}
		r.sums[j] += float64(hits) / float64(den)
	}
	r.pairs++
	r.unseen += unseen
	r.targets += den
	return nil
}

// Pairs returns the number of pairs scored; Skipped those without a target
// code; Unseen and Targets the target codes outside the output space and in
// all, summed over the scored pairs.
func (r *Recall) Pairs() int   { return r.pairs }
func (r *Recall) Skipped() int { return r.skipped }
func (r *Recall) Unseen() int  { return r.unseen }
func (r *Recall) Targets() int { return r.targets }

// Rows returns the mean recall per k (0 when no pair was scored).
func (r *Recall) Rows() []RecallRow {
	out := make([]RecallRow, len(r.ks))
	for j, k := range r.ks {
		out[j].K = k
		if r.pairs > 0 {
			out[j].Recall = r.sums[j] / float64(r.pairs)
		}
	}
	return out
}

// TopK returns the indices of the k highest scores (all when k exceeds
// them), highest first, ties broken by lower index so that rankings are
// reproducible; dst is reused when large enough.
func TopK(scores []float64, k int, dst []int) []int {
	k = min(k, len(scores))
	dst = dst[:0]
	// Insertion into a sorted list of at most k: O(n·k), fine for the
	// k ≤ 30 of the protocol and the vocabularies of visit data.
	better := func(a, b int) bool { return scores[a] > scores[b] || (scores[a] == scores[b] && a < b) }
	for i := range scores {
		if len(dst) == k && (k == 0 || !better(i, dst[k-1])) {
			continue
		}
		if len(dst) < k {
			dst = append(dst, i)
		} else {
			dst[k-1] = i
		}
		for j := len(dst) - 1; j > 0 && better(dst[j], dst[j-1]); j-- {
			dst[j], dst[j-1] = dst[j-1], dst[j]
		}
	}
	return dst
}
