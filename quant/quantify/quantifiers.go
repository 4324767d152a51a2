package quantify

import (
	"fmt"
	"math"

	"github.com/icdcode/icdcode/quant/metrics"
)

// Quantifier estimates the prevalence of each label in a bag from the bag's
// rows of the probability matrix.
type Quantifier interface {
	Name() string
	// Labels is the number of labels the quantifier was fitted for, 0 when
	// any number goes (CC, PCC).
	Labels() int
	Quantify(bag [][]float64) ([]float64, error)
}

// checkBag validates a bag's probability rows: non-empty, rectangular with
// want labels (any when want is 0), finite values in [0,1].
func checkBag(bag [][]float64, want int) (int, error) {
	if len(bag) == 0 {
		return 0, fmt.Errorf("quantify: empty bag")
	}
	labels := len(bag[0])
	if labels == 0 {
		return 0, fmt.Errorf("quantify: bag rows have no labels")
	}
	if want != 0 && labels != want {
		return 0, fmt.Errorf("quantify: bag has %d labels, the quantifier was fitted for %d", labels, want)
	}
	for i, row := range bag {
		if len(row) != labels {
			return 0, fmt.Errorf("quantify: bag row %d has %d labels, want %d", i, len(row), labels)
		}
		for j, p := range row {
			if math.IsNaN(p) || p < 0 || p > 1 {
				return 0, fmt.Errorf("quantify: probability at bag row %d, label column %d is %v, want a number in [0,1]", i, j, p)
			}
		}
	}
	return labels, nil
}

func checkThreshold(t float64) error {
	if math.IsNaN(t) || t <= 0 || t > 1 {
		return fmt.Errorf("quantify: threshold %v, want a number in (0,1]", t)
	}
	return nil
}

// CC is classify-and-count: the fraction of documents with p >= Threshold.
type CC struct{ Threshold float64 }

func (q CC) Name() string { return "CC" }
func (q CC) Labels() int  { return 0 }

func (q CC) Quantify(bag [][]float64) ([]float64, error) {
	if err := checkThreshold(q.Threshold); err != nil {
		return nil, err
	}
	labels, err := checkBag(bag, 0)
	if err != nil {
		return nil, err
	}
	return countAbove(bag, labels, q.Threshold), nil
}

func countAbove(bag [][]float64, labels int, t float64) []float64 {
	out := make([]float64, labels)
	for _, row := range bag {
		for j, p := range row {
			if p >= t {
				out[j]++
			}
		}
	}
	for j := range out {
		out[j] /= float64(len(bag))
	}
	return out
}

// PCC is probabilistic classify-and-count: the mean probability per label.
type PCC struct{}

func (PCC) Name() string { return "PCC" }
func (PCC) Labels() int  { return 0 }

func (PCC) Quantify(bag [][]float64) ([]float64, error) {
	labels, err := checkBag(bag, 0)
	if err != nil {
		return nil, err
	}
	return meanProb(bag, labels), nil
}

func meanProb(bag [][]float64, labels int) []float64 {
	out := make([]float64, labels)
	for _, row := range bag {
		for j, p := range row {
			out[j] += p
		}
	}
	for j := range out {
		out[j] /= float64(len(bag))
	}
	return out
}

// Adjusted is ACC or PACC: the unadjusted estimate (CC or PCC) corrected with
// per-label true- and false-positive rates estimated on dev.
type Adjusted struct {
	Probabilistic bool      `json:"probabilistic"` // PACC when true
	Threshold     float64   `json:"threshold"`     // ACC's prediction threshold (unused by PACC)
	TPR           []float64 `json:"tpr"`           // per label, NaN-free: 0 when dev has no positives
	FPR           []float64 `json:"fpr"`           // per label, 0 when dev has no negatives
	// Unadjusted lists the labels whose adjustment is undefined (tpr == fpr,
	// or dev lacks positives or negatives); they get the clipped CC/PCC.
	Unadjusted []int `json:"unadjusted"`
}

func (q *Adjusted) Name() string {
	if q.Probabilistic {
		return "PACC"
	}
	return "ACC"
}

func (q *Adjusted) Labels() int { return len(q.TPR) }

// FitACC estimates tpr and fpr at threshold on dev.
func FitACC(devProbs, devTargets [][]float64, threshold float64) (*Adjusted, error) {
	if err := checkThreshold(threshold); err != nil {
		return nil, err
	}
	return fitAdjusted(devProbs, devTargets, false, threshold)
}

// FitPACC estimates the expected tpr E[p|y=1] and fpr E[p|y=0] on dev.
func FitPACC(devProbs, devTargets [][]float64) (*Adjusted, error) {
	return fitAdjusted(devProbs, devTargets, true, 0)
}

func fitAdjusted(probs, targets [][]float64, probabilistic bool, t float64) (*Adjusted, error) {
	_, labels, err := metrics.Validate(probs, targets)
	if err != nil {
		return nil, fmt.Errorf("quantify: dev: %w", err)
	}
	q := &Adjusted{Probabilistic: probabilistic, Threshold: t,
		TPR: make([]float64, labels), FPR: make([]float64, labels), Unadjusted: []int{}}
	pos := make([]float64, labels)
	neg := make([]float64, labels)
	for i, row := range probs {
		for j, p := range row {
			v := p
			if !probabilistic {
				v = 0
				if p >= t {
					v = 1
				}
			}
			if targets[i][j] == 1 {
				q.TPR[j] += v
				pos[j]++
			} else {
				q.FPR[j] += v
				neg[j]++
			}
		}
	}
	for j := 0; j < labels; j++ {
		if pos[j] > 0 {
			q.TPR[j] /= pos[j]
		}
		if neg[j] > 0 {
			q.FPR[j] /= neg[j]
		}
		if pos[j] == 0 || neg[j] == 0 || q.TPR[j] == q.FPR[j] {
			q.Unadjusted = append(q.Unadjusted, j)
		}
	}
	return q, nil
}

func (q *Adjusted) Quantify(bag [][]float64) ([]float64, error) {
	if len(q.TPR) == 0 || len(q.FPR) != len(q.TPR) {
		return nil, fmt.Errorf("quantify: %s is not fitted", q.Name())
	}
	if !q.Probabilistic {
		if err := checkThreshold(q.Threshold); err != nil {
			return nil, err
		}
	}
	labels, err := checkBag(bag, len(q.TPR))
	if err != nil {
		return nil, err
	}
	var est []float64
	if q.Probabilistic {
		est = meanProb(bag, labels)
	} else {
		est = countAbove(bag, labels, q.Threshold)
	}
	// The flags are rebuilt per call (O(L)) rather than cached, so a decoded
	// or shared Adjusted is safe for concurrent use.
	undefined := make([]bool, labels)
	for _, j := range q.Unadjusted {
		if j >= 0 && j < labels {
			undefined[j] = true
		}
	}
	for j, e := range est {
		// tpr == fpr is re-checked here for a hand-built or decoded Adjusted
		// whose Unadjusted list is incomplete: dividing by zero would give NaN.
		if !undefined[j] && q.TPR[j] != q.FPR[j] {
			e = (e - q.FPR[j]) / (q.TPR[j] - q.FPR[j])
		}
		est[j] = clip01(e)
	}
	return est, nil
}

func clip01(x float64) float64 { return math.Min(1, math.Max(0, x)) }

// Constant always answers the dev prevalence of each label.
type Constant struct {
	Prevalence []float64 `json:"prevalence"`
}

func (q *Constant) Name() string { return "Constant" }
func (q *Constant) Labels() int  { return len(q.Prevalence) }

// FitConstant takes the per-label prevalence of dev.
func FitConstant(devTargets [][]float64) (*Constant, error) {
	labels, err := checkTargets(devTargets)
	if err != nil {
		return nil, fmt.Errorf("quantify: dev: %w", err)
	}
	all := make([]int, len(devTargets))
	for i := range all {
		all[i] = i
	}
	return &Constant{Prevalence: prevalence(devTargets, all, labels)}, nil
}

func (q *Constant) Quantify(bag [][]float64) ([]float64, error) {
	if len(q.Prevalence) == 0 {
		return nil, fmt.Errorf("quantify: Constant is not fitted")
	}
	if _, err := checkBag(bag, len(q.Prevalence)); err != nil {
		return nil, err
	}
	return append([]float64(nil), q.Prevalence...), nil
}

// FitStandard fits the non-learned quantifiers on dev, in the order of the
// comparison table: Constant, CC, PCC, ACC, PACC (threshold for CC and ACC).
func FitStandard(devProbs, devTargets [][]float64, threshold float64) ([]Quantifier, error) {
	acc, err := FitACC(devProbs, devTargets, threshold)
	if err != nil {
		return nil, err
	}
	pacc, err := FitPACC(devProbs, devTargets)
	if err != nil {
		return nil, err
	}
	cst, err := FitConstant(devTargets)
	if err != nil {
		return nil, err
	}
	return []Quantifier{cst, CC{Threshold: threshold}, PCC{}, acc, pacc}, nil
}
