package metrics

import "fmt"

// Counts is a label's confusion counts at its threshold.
type Counts struct {
	TP int `json:"tp"`
	FP int `json:"fp"`
	FN int `json:"fn"`
	TN int `json:"tn"`
}

// PRF holds thresholded precision/recall/F1, micro and macro, with the labels
// whose precision or recall was ill-defined and set to 0 (sklearn zero_division=0).
type PRF struct {
	MicroPrecision           float64   `json:"micro_precision"`
	MicroRecall              float64   `json:"micro_recall"`
	MicroF1                  float64   `json:"micro_f1"`
	MacroPrecision           float64   `json:"macro_precision"`
	MacroRecall              float64   `json:"macro_recall"`
	MacroF1MeanOfLabelF1     float64   `json:"macro_f1_mean_of_label_f1"`
	MacroF1HarmonicOfMacroPR float64   `json:"macro_f1_harmonic_of_macro_pr"`
	LabelCounts              []Counts  `json:"label_counts"`
	LabelPrecision           []float64 `json:"label_precision"`
	LabelRecall              []float64 `json:"label_recall"`
	LabelF1                  []float64 `json:"label_f1"`
	// IllDefinedPrecisionLabels are labels never predicted (TP+FP = 0).
	IllDefinedPrecisionLabels []int `json:"ill_defined_precision_labels"`
	// IllDefinedRecallLabels are labels without positives (TP+FN = 0).
	IllDefinedRecallLabels []int `json:"ill_defined_recall_labels"`
}

// ratio is a/b with sklearn's zero_division=0.
func ratio(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// f1Counts is 2TP/(2TP+FP+FN), 0 when undefined; it equals the harmonic mean of
// precision and recall whenever that is defined, and sklearn's 0 otherwise.
func f1Counts(tp, fp, fn int) float64 { return ratio(2*tp, 2*tp+fp+fn) }

func harmonic(p, r float64) float64 {
	if p+r == 0 {
		return 0
	}
	return 2 * p * r / (p + r)
}

// ClassificationPRF thresholds probs with one threshold per label (len(thresholds)
// equals the label count) and returns micro/macro precision, recall and F1.
func ClassificationPRF(probs, targets [][]float64, thresholds []float64) (*PRF, error) {
	_, labels, err := Validate(probs, targets)
	if err != nil {
		return nil, err
	}
	if len(thresholds) != labels {
		return nil, fmt.Errorf("metrics: %d thresholds for %d labels", len(thresholds), labels)
	}
	return prfFromCounts(countAll(probs, targets, thresholds)), nil
}

// UniformThresholds returns a threshold vector with t for every label.
func UniformThresholds(labels int, t float64) []float64 {
	th := make([]float64, labels)
	for j := range th {
		th[j] = t
	}
	return th
}

func countAll(probs, targets [][]float64, thresholds []float64) []Counts {
	c := make([]Counts, len(thresholds))
	for i, row := range probs {
		for j, p := range row {
			pred, pos := p >= thresholds[j], targets[i][j] == 1
			switch {
			case pred && pos:
				c[j].TP++
			case pred:
				c[j].FP++
			case pos:
				c[j].FN++
			default:
				c[j].TN++
			}
		}
	}
	return c
}

func prfFromCounts(c []Counts) *PRF {
	r := &PRF{
		LabelCounts:               c,
		LabelPrecision:            make([]float64, len(c)),
		LabelRecall:               make([]float64, len(c)),
		LabelF1:                   make([]float64, len(c)),
		IllDefinedPrecisionLabels: []int{},
		IllDefinedRecallLabels:    []int{},
	}
	var tp, fp, fn int
	for j, x := range c {
		tp, fp, fn = tp+x.TP, fp+x.FP, fn+x.FN
		if x.TP+x.FP == 0 {
			r.IllDefinedPrecisionLabels = append(r.IllDefinedPrecisionLabels, j)
		}
		if x.TP+x.FN == 0 {
			r.IllDefinedRecallLabels = append(r.IllDefinedRecallLabels, j)
		}
		r.LabelPrecision[j] = ratio(x.TP, x.TP+x.FP)
		r.LabelRecall[j] = ratio(x.TP, x.TP+x.FN)
		r.LabelF1[j] = f1Counts(x.TP, x.FP, x.FN)
		r.MacroPrecision += r.LabelPrecision[j]
		r.MacroRecall += r.LabelRecall[j]
		r.MacroF1MeanOfLabelF1 += r.LabelF1[j]
	}
	n := float64(len(c))
	r.MacroPrecision /= n
	r.MacroRecall /= n
	r.MacroF1MeanOfLabelF1 /= n
	r.MacroF1HarmonicOfMacroPR = harmonic(r.MacroPrecision, r.MacroRecall)
	r.MicroPrecision = ratio(tp, tp+fp)
	r.MicroRecall = ratio(tp, tp+fn)
	r.MicroF1 = f1Counts(tp, fp, fn)
	return r
}
