package metrics

import "fmt"

// DefaultKs are the cut-offs of the evaluation (CAML/MSAM report 5, 8 and 15).
var DefaultKs = []int{5, 8, 15}

// AtK holds precision, recall and F1 at a cut-off k (see package doc).
type AtK struct {
	K int `json:"k"`
	// EffectiveK is min(K, labels), the number of labels taken and the P@k denominator.
	EffectiveK int     `json:"effective_k"`
	Precision  float64 `json:"precision"`
	// Recall averages over documents with at least one true label; NaN-free:
	// 0 if no document has one.
	Recall float64 `json:"recall"`
	// F1FromMeans is the harmonic mean of the averaged Precision and Recall.
	F1FromMeans float64 `json:"f1_from_means"`
	// DocsWithoutPositives were excluded from Recall.
	DocsWithoutPositives int `json:"docs_without_positives"`
}

// TopK computes P@k, R@k and F1@k for each k in ks.
func TopK(probs, targets [][]float64, ks []int) ([]AtK, error) {
	docs, labels, err := Validate(probs, targets)
	if err != nil {
		return nil, err
	}
	maxK := 0
	for _, k := range ks {
		if k <= 0 {
			return nil, fmt.Errorf("metrics: k must be positive, got %d", k)
		}
		maxK = max(maxK, min(k, labels))
	}
	out := make([]AtK, len(ks))
	for n, k := range ks {
		out[n] = AtK{K: k, EffectiveK: min(k, labels)}
	}
	recallDocs := 0
	top := make([]int, 0, maxK)
	for i := 0; i < docs; i++ {
		top = topLabels(probs[i], maxK, top[:0])
		pos := 0
		for _, y := range targets[i] {
			if y == 1 {
				pos++
			}
		}
		if pos > 0 {
			recallDocs++
		}
		for n := range out {
			hits := 0
			for _, j := range top[:out[n].EffectiveK] {
				if targets[i][j] == 1 {
					hits++
				}
			}
			out[n].Precision += float64(hits) / float64(out[n].EffectiveK)
			if pos > 0 {
				out[n].Recall += float64(hits) / float64(pos)
			}
		}
	}
	for n := range out {
		out[n].Precision /= float64(docs)
		if recallDocs > 0 {
			out[n].Recall /= float64(recallDocs)
		}
		out[n].DocsWithoutPositives = docs - recallDocs
		out[n].F1FromMeans = harmonic(out[n].Precision, out[n].Recall)
	}
	return out, nil
}

// topLabels appends to buf the indices of the k highest scores of row, best
// first, equal scores by lower label index. An insertion buffer of size k costs
// O(labels·k) with k ≤ 15, far cheaper than sorting thousands of labels per document.
func topLabels(row []float64, k int, buf []int) []int {
	for j, s := range row {
		if len(buf) == k && s <= row[buf[k-1]] {
			// Not above the current k-th: an equal score loses on its higher index.
			continue
		}
		if len(buf) < k {
			buf = append(buf, j)
		}
		// Shift worse entries down; j is the highest index so far, so it goes
		// after every entry with an equal score.
		pos := len(buf) - 1
		for pos > 0 && row[buf[pos-1]] < s {
			buf[pos] = buf[pos-1]
			pos--
		}
		buf[pos] = j
	}
	return buf
}
