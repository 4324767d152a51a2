package metrics

import (
	"cmp"
	"fmt"
	"math"
	"slices"
)

// Binning selects how ECE and reliability bins are formed.
type Binning string

const (
	// EqualWidth bins are [b/B, (b+1)/B), the last one closed at 1.
	EqualWidth Binning = "equal_width"
	// EqualMass bins hold (nearly) the same number of values: the stably sorted
	// values are cut at floor(b·N/B).
	EqualMass Binning = "equal_mass"
)

// DefaultECEBins is the bin count of the reference (torchmetrics n_bins=20).
const DefaultECEBins = 20

// Bin is one reliability-diagram bin. Lower/Upper are the nominal edges for
// equal-width bins and the smallest/largest member for equal-mass bins.
type Bin struct {
	Lower          float64 `json:"lower"`
	Upper          float64 `json:"upper"`
	Count          int     `json:"count"`
	MeanConfidence float64 `json:"mean_confidence"` // mean p in the bin (0 when empty)
	Accuracy       float64 `json:"accuracy"`        // mean y in the bin (0 when empty)
}

// ReliabilityBins groups (p, y) pairs into bins; p must be in [0,1] and y 0/1
// (callers inside the package validate first; exported callers get errors).
func ReliabilityBins(p, y []float64, bins int, binning Binning) ([]Bin, error) {
	if len(p) != len(y) {
		return nil, fmt.Errorf("metrics: %d probabilities and %d targets", len(p), len(y))
	}
	if len(p) == 0 {
		return nil, fmt.Errorf("metrics: no values to bin")
	}
	if bins <= 0 {
		return nil, fmt.Errorf("metrics: bin count must be positive, got %d", bins)
	}
	for i := range p {
		if math.IsNaN(p[i]) || p[i] < 0 || p[i] > 1 {
			return nil, fmt.Errorf("metrics: probability %d is %v, want a number in [0,1]", i, p[i])
		}
		if y[i] != 0 && y[i] != 1 {
			return nil, fmt.Errorf("metrics: target %d is %v, want 0 or 1", i, y[i])
		}
	}
	out := make([]Bin, bins)
	sumP := make([]float64, bins)
	sumY := make([]float64, bins)
	switch binning {
	case EqualWidth, "":
		for b := range out {
			out[b].Lower, out[b].Upper = float64(b)/float64(bins), float64(b+1)/float64(bins)
		}
		for i, v := range p {
			b := min(int(math.Floor(v*float64(bins))), bins-1)
			out[b].Count++
			sumP[b] += v
			sumY[b] += y[i]
		}
	case EqualMass:
		order := make([]int, len(p))
		for i := range order {
			order[i] = i
		}
		// Ties ordered by position: the same order as a stable sort, but pdqsort
		// is O(n log n) where sort.SliceStable is O(n log² n).
		slices.SortFunc(order, func(a, b int) int {
			if c := cmp.Compare(p[a], p[b]); c != 0 {
				return c
			}
			return cmp.Compare(a, b)
		})
		n := len(p)
		for b := range out {
			members := order[b*n/bins : (b+1)*n/bins]
			out[b].Count = len(members)
			for _, i := range members {
				sumP[b] += p[i]
				sumY[b] += y[i]
			}
			if len(members) > 0 {
				out[b].Lower, out[b].Upper = p[members[0]], p[members[len(members)-1]]
			}
		}
	default:
		return nil, fmt.Errorf("metrics: unknown binning %q (want %q or %q)", binning, EqualWidth, EqualMass)
	}
	for b := range out {
		if out[b].Count > 0 {
			out[b].MeanConfidence = sumP[b] / float64(out[b].Count)
			out[b].Accuracy = sumY[b] / float64(out[b].Count)
		}
	}
	return out, nil
}

// eceFromBins is Σ_b (n_b/N)·|acc_b − conf_b|.
func eceFromBins(bins []Bin) float64 {
	n := 0
	for _, b := range bins {
		n += b.Count
	}
	e := 0.0
	for _, b := range bins {
		if b.Count > 0 {
			e += float64(b.Count) / float64(n) * math.Abs(b.Accuracy-b.MeanConfidence)
		}
	}
	return e
}

// ECE is the expected calibration error of probabilities p against 0/1 targets y.
func ECE(p, y []float64, bins int, binning Binning) (float64, error) {
	b, err := ReliabilityBins(p, y, bins, binning)
	if err != nil {
		return 0, err
	}
	return eceFromBins(b), nil
}

// Brier is the mean squared difference between p and y (sklearn brier_score_loss).
func Brier(p, y []float64) (float64, error) {
	if len(p) != len(y) || len(p) == 0 {
		return 0, fmt.Errorf("metrics: Brier needs equal, non-empty vectors, got %d and %d", len(p), len(y))
	}
	return brier(p, y), nil
}

func brier(p, y []float64) float64 {
	s := 0.0
	for i := range p {
		d := p[i] - y[i]
		s += d * d
	}
	return s / float64(len(p))
}

// Calibration summarises calibration over a matrix, over all labels (msam
// flaw 6: the reference only looked at the first 50).
type Calibration struct {
	Bins         int       `json:"bins"`
	Binning      Binning   `json:"binning"`
	LabelECE     []float64 `json:"label_ece"`
	MeanLabelECE float64   `json:"mean_label_ece"`
	// PooledECE bins all N·L (document, label) pairs together.
	PooledECE  float64   `json:"pooled_ece"`
	LabelBrier []float64 `json:"label_brier"`
	Brier      float64   `json:"brier"`
	// PooledBins are the reliability-diagram data of the pooled ECE.
	PooledBins []Bin `json:"pooled_bins"`
}

// Calibrate computes per-label, mean and pooled ECE and the Brier scores.
func Calibrate(probs, targets [][]float64, bins int, binning Binning) (*Calibration, error) {
	_, labels, err := Validate(probs, targets)
	if err != nil {
		return nil, err
	}
	if binning == "" {
		binning = EqualWidth
	}
	c := &Calibration{Bins: bins, Binning: binning, LabelECE: make([]float64, labels), LabelBrier: make([]float64, labels)}
	for j := 0; j < labels; j++ {
		p, y := column(probs, j), column(targets, j)
		if c.LabelECE[j], err = ECE(p, y, bins, binning); err != nil {
			return nil, err
		}
		c.MeanLabelECE += c.LabelECE[j]
		c.LabelBrier[j] = brier(p, y)
	}
	c.MeanLabelECE /= float64(labels)
	fp, fy := flatten(probs), flatten(targets)
	if c.PooledBins, err = ReliabilityBins(fp, fy, bins, binning); err != nil {
		return nil, err
	}
	c.PooledECE = eceFromBins(c.PooledBins)
	c.Brier = brier(fp, fy)
	return c, nil
}
