package metrics

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"
)

// ErrOneClass is returned by ROCAUC when the targets hold a single class, where
// ROC-AUC is undefined (sklearn raises ValueError in that case too).
var ErrOneClass = errors.New("metrics: ROC-AUC undefined: only one class present in the targets")

// ROCAUC is the area under the ROC curve of scores against 0/1 targets: the
// probability that a random positive outscores a random negative, ties counted
// one half. Computed from mid-ranks (Mann–Whitney U), which equals sklearn's
// trapezoidal area over distinct thresholds; rank sums are exact in float64
// (integers and halves far below 2^53), so the only rounding is the final division.
func ROCAUC(scores, targets []float64) (float64, error) {
	if len(scores) != len(targets) {
		return 0, errors.New("metrics: ROC-AUC: scores and targets differ in length")
	}
	for i := range scores {
		// NaN would never compare equal to itself and break the tie grouping.
		if math.IsNaN(scores[i]) {
			return 0, fmt.Errorf("metrics: ROC-AUC: score %d is NaN", i)
		}
		if targets[i] != 0 && targets[i] != 1 {
			return 0, fmt.Errorf("metrics: ROC-AUC: target %d is %v, want 0 or 1", i, targets[i])
		}
	}
	// Only the grouping of equal scores matters, not the order inside a group,
	// so an unstable sort of (score, target) pairs is enough.
	type pair struct {
		s   float64
		pos bool
	}
	ps := make([]pair, len(scores))
	for i, s := range scores {
		ps[i] = pair{s, targets[i] == 1}
	}
	slices.SortFunc(ps, func(a, b pair) int { return cmp.Compare(a.s, b.s) })
	var nPos, nNeg int
	rankSumPos := 0.0
	for start := 0; start < len(ps); {
		end := start
		for end < len(ps) && ps[end].s == ps[start].s {
			end++
		}
		// Ranks start+1..end share the mid-rank (start+1+end)/2.
		mid := float64(start+1+end) / 2
		for _, p := range ps[start:end] {
			if p.pos {
				nPos++
				rankSumPos += mid
			} else {
				nNeg++
			}
		}
		start = end
	}
	if nPos == 0 || nNeg == 0 {
		return 0, ErrOneClass
	}
	u := rankSumPos - float64(nPos)*float64(nPos+1)/2
	return u / (float64(nPos) * float64(nNeg)), nil
}

// AUCResult holds micro and macro ROC-AUC. Values are pointers because they can
// be undefined (one class only), which JSON renders as null.
type AUCResult struct {
	// MicroAUC is over the flattened matrix; nil when it holds one class only.
	MicroAUC *float64 `json:"micro_auc"`
	// MacroAUC is the mean over labels with both classes; nil if there are none.
	MacroAUC *float64 `json:"macro_auc"`
	// LabelAUC is nil for skipped labels.
	LabelAUC []*float64 `json:"label_auc"`
	// SkippedLabels have only positives or only negatives.
	SkippedLabels []int `json:"auc_skipped_labels"`
}

// ROCAUCs computes per-label, macro and micro ROC-AUC (see package doc).
func ROCAUCs(probs, targets [][]float64) (*AUCResult, error) {
	_, labels, err := Validate(probs, targets)
	if err != nil {
		return nil, err
	}
	r := &AUCResult{LabelAUC: make([]*float64, labels), SkippedLabels: []int{}}
	sum, n := 0.0, 0
	for j := 0; j < labels; j++ {
		a, err := ROCAUC(column(probs, j), column(targets, j))
		if errors.Is(err, ErrOneClass) {
			r.SkippedLabels = append(r.SkippedLabels, j)
			continue
		} else if err != nil {
			return nil, err
		}
		r.LabelAUC[j] = &a
		sum += a
		n++
	}
	if n > 0 {
		m := sum / float64(n)
		r.MacroAUC = &m
	}
	if a, err := ROCAUC(flatten(probs), flatten(targets)); err == nil {
		r.MicroAUC = &a
	} else if !errors.Is(err, ErrOneClass) {
		return nil, err
	}
	return r, nil
}
