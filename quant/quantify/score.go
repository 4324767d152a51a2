package quantify

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strings"

	"github.com/icdcode/icdcode/data/fileio"
	"github.com/icdcode/icdcode/quant/metrics"
)

// BagScore holds the error measures of one bag, each averaged over labels.
type BagScore struct {
	AE  float64 `json:"ae"`
	RAE float64 `json:"rae"`
	KLD float64 `json:"kld"`
}

// Score compares a bag's true prevalence with an estimate for a bag of size
// documents (size sets the smoothing ε = 1/(2·size); see the package doc).
func Score(truth, est []float64, size int) (BagScore, error) {
	if len(truth) == 0 || len(truth) != len(est) {
		return BagScore{}, fmt.Errorf("quantify: score: %d true prevalences, %d estimates", len(truth), len(est))
	}
	if size < 1 {
		return BagScore{}, fmt.Errorf("quantify: score: bag size %d, want at least 1", size)
	}
	for j := range truth {
		for _, v := range [2]float64{truth[j], est[j]} {
			if math.IsNaN(v) || v < 0 || v > 1 {
				return BagScore{}, fmt.Errorf("quantify: score: prevalence %v at label %d, want a number in [0,1]", v, j)
			}
		}
	}
	eps := 1 / (2 * float64(size))
	s := func(x float64) float64 { return (eps + x) / (2*eps + 1) }
	var out BagScore
	for j, p := range truth {
		q := est[j]
		sp, sq := s(p), s(q)
		sp1, sq1 := s(1-p), s(1-q)
		out.AE += math.Abs(p - q)
		out.RAE += 0.5 * (math.Abs(sp-sq)/sp + math.Abs(sp1-sq1)/sp1)
		out.KLD += sp*math.Log(sp/sq) + sp1*math.Log(sp1/sq1)
	}
	n := float64(len(truth))
	out.AE /= n
	out.RAE /= n
	out.KLD /= n
	return out, nil
}

// Evaluate runs q on every bag (rows of probs picked by the bag's indices) and
// returns the per-bag scores and their means.
func Evaluate(q Quantifier, probs [][]float64, bags []Bag) ([]BagScore, BagScore, error) {
	if len(bags) == 0 {
		return nil, BagScore{}, fmt.Errorf("quantify: no bags to evaluate")
	}
	per := make([]BagScore, len(bags))
	var mean BagScore
	for b, bag := range bags {
		for _, i := range bag.Indices {
			if i < 0 || i >= len(probs) {
				return nil, BagScore{}, fmt.Errorf("quantify: bag %d: document index %d outside the %d rows", b, i, len(probs))
			}
		}
		est, err := q.Quantify(rows(probs, bag.Indices))
		if err != nil {
			return nil, BagScore{}, fmt.Errorf("quantify: %s on bag %d: %w", q.Name(), b, err)
		}
		sc, err := Score(bag.Prevalence, est, len(bag.Indices))
		if err != nil {
			return nil, BagScore{}, fmt.Errorf("quantify: %s on bag %d: %w", q.Name(), b, err)
		}
		per[b] = sc
		mean.AE += sc.AE
		mean.RAE += sc.RAE
		mean.KLD += sc.KLD
	}
	n := float64(len(bags))
	mean.AE /= n
	mean.RAE /= n
	mean.KLD /= n
	return per, mean, nil
}

// Row is one quantifier's line of the comparison table.
type Row struct {
	Quantifier string `json:"quantifier"`
	BagScore
}

// Table is quantifier × metric, averaged over the same test bags.
type Table struct {
	Bags    int      `json:"bags"`
	Labels  int      `json:"labels"`
	Metrics []string `json:"metrics"`
	Rows    []Row    `json:"rows"`
}

// Compare validates the test matrices, then scores every quantifier on the
// same bags (sampled from the test targets, e.g. with SampleBags).
func Compare(qs []Quantifier, testProbs, testTargets [][]float64, bags []Bag) (*Table, error) {
	if len(qs) == 0 {
		return nil, fmt.Errorf("quantify: no quantifiers to compare")
	}
	_, labels, err := metrics.Validate(testProbs, testTargets)
	if err != nil {
		return nil, fmt.Errorf("quantify: test: %w", err)
	}
	// Each bag's stored prevalence must be that of the test targets: bags drawn
	// from another pool (dev) of the same size would otherwise score silently.
	for b, bag := range bags {
		if len(bag.Prevalence) != labels {
			return nil, fmt.Errorf("quantify: bag %d has %d prevalences, the test matrices %d labels", b, len(bag.Prevalence), labels)
		}
		if len(bag.Indices) == 0 {
			return nil, fmt.Errorf("quantify: bag %d: empty bag", b)
		}
		for _, i := range bag.Indices {
			if i < 0 || i >= len(testTargets) {
				return nil, fmt.Errorf("quantify: bag %d: document index %d outside the %d rows", b, i, len(testTargets))
			}
		}
		for j, v := range prevalence(testTargets, bag.Indices, labels) {
			if math.Abs(v-bag.Prevalence[j]) > 1e-12 {
				return nil, fmt.Errorf("quantify: bag %d: prevalence of label %d is %v, the test targets give %v (bags from another pool?)", b, j, bag.Prevalence[j], v)
			}
		}
	}
	t := &Table{Bags: len(bags), Labels: labels, Metrics: []string{"AE", "RAE", "KLD"}}
	for _, q := range qs {
		if n := q.Labels(); n != 0 && n != labels {
			return nil, fmt.Errorf("quantify: %s was fitted for %d labels, the test matrices have %d", q.Name(), n, labels)
		}
		_, mean, err := Evaluate(q, testProbs, bags)
		if err != nil {
			return nil, err
		}
		t.Rows = append(t.Rows, Row{Quantifier: q.Name(), BagScore: mean})
	}
	return t, nil
}

// Format writes the table as aligned text.
func (t *Table) Format(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%-12s %12s %12s %12s\n", "quantifier", "AE", "RAE", "KLD")
	for _, r := range t.Rows {
		fmt.Fprintf(&b, "%-12s %12.6f %12.6f %12.6f\n", r.Quantifier, r.AE, r.RAE, r.KLD)
	}
	fmt.Fprintf(&b, "(%d bags, %d labels; RAE and KLD smoothed with eps = 1/(2*bag size))\n", t.Bags, t.Labels)
	_, err := io.WriteString(w, b.String())
	return err
}

// SaveJSON writes the table atomically as indented JSON.
func (t *Table) SaveJSON(path string) error {
	return fileio.WriteAtomic(path, func(w io.Writer) error {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(t)
	})
}
