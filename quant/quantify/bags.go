package quantify

import (
	"fmt"
	"math/rand/v2"
)

// bagStream is the PCG stream constant: fixed so that a seed alone decides the
// bags (the reference's CLQ bags used time.time(), §14 flaw 12).
const bagStream = 0x6963646261677321 // "icdbags!"

// BagConfig says how to draw bags from a pool of documents.
type BagConfig struct {
	Count       int    `json:"count"`       // number of bags
	MinSize     int    `json:"min_size"`    // smallest bag size, at least 1
	MaxSize     int    `json:"max_size"`    // largest bag size; equal to MinSize for fixed-size bags
	Replacement bool   `json:"replacement"` // draw documents with replacement (the reference does not)
	Seed        uint64 `json:"seed"`        // seed of the PCG source
}

// DefaultBagConfig is the reference's bag scheme for a pool of n documents:
// sizes uniform in [1, n], no replacement, seed 888, count bags.
func DefaultBagConfig(count, n int) BagConfig {
	return BagConfig{Count: count, MinSize: 1, MaxSize: n, Seed: 888}
}

// Bag is one sample of documents: row indices into the pool and the true
// prevalence of each label over those rows.
type Bag struct {
	Indices    []int     `json:"indices"`
	Prevalence []float64 `json:"prevalence"`
}

func (c BagConfig) validate(pool int) error {
	switch {
	case pool <= 0:
		return fmt.Errorf("quantify: cannot sample bags from an empty pool")
	case c.Count <= 0:
		return fmt.Errorf("quantify: bag count %d, want at least 1", c.Count)
	case c.MinSize < 1:
		return fmt.Errorf("quantify: minimum bag size %d, want at least 1 (empty bags have no prevalence)", c.MinSize)
	case c.MaxSize < c.MinSize:
		return fmt.Errorf("quantify: maximum bag size %d is below the minimum %d", c.MaxSize, c.MinSize)
	case !c.Replacement && c.MaxSize > pool:
		return fmt.Errorf("quantify: maximum bag size %d exceeds the pool of %d documents, impossible without replacement", c.MaxSize, pool)
	}
	return nil
}

// SampleBags draws cfg.Count bags from the documents of targets (documents ×
// labels, 0/1) and computes each bag's true prevalence. The same cfg gives the
// same bags.
func SampleBags(targets [][]float64, cfg BagConfig) ([]Bag, error) {
	n := len(targets)
	if err := cfg.validate(n); err != nil {
		return nil, err
	}
	labels, err := checkTargets(targets)
	if err != nil {
		return nil, err
	}
	rng := rand.New(rand.NewPCG(cfg.Seed, bagStream))
	// perm persists across bags: a partial Fisher–Yates shuffle of any
	// permutation yields a uniform k-subset, so each bag costs O(k) not O(n).
	perm := make([]int, n)
	for i := range perm {
		perm[i] = i
	}
	bags := make([]Bag, cfg.Count)
	for b := range bags {
		size := cfg.MinSize + rng.IntN(cfg.MaxSize-cfg.MinSize+1)
		idx := make([]int, size)
		if cfg.Replacement {
			for k := range idx {
				idx[k] = rng.IntN(n)
			}
		} else {
			for k := range idx {
				r := k + rng.IntN(n-k)
				perm[k], perm[r] = perm[r], perm[k]
				idx[k] = perm[k]
			}
		}
		bags[b] = Bag{Indices: idx, Prevalence: prevalence(targets, idx, labels)}
	}
	return bags, nil
}

// prevalence is the mean target per label over the rows idx (non-empty).
func prevalence(targets [][]float64, idx []int, labels int) []float64 {
	p := make([]float64, labels)
	for _, i := range idx {
		for j, v := range targets[i] {
			p[j] += v
		}
	}
	for j := range p {
		p[j] /= float64(len(idx))
	}
	return p
}

// rows selects the rows idx of m without copying them.
func rows(m [][]float64, idx []int) [][]float64 {
	out := make([][]float64, len(idx))
	for k, i := range idx {
		out[k] = m[i]
	}
	return out
}

func checkTargets(targets [][]float64) (int, error) {
	if len(targets) == 0 {
		return 0, fmt.Errorf("quantify: target matrix has no documents")
	}
	labels := len(targets[0])
	if labels == 0 {
		return 0, fmt.Errorf("quantify: target matrix has no labels")
	}
	for i, row := range targets {
		if len(row) != labels {
			return 0, fmt.Errorf("quantify: target row %d has %d labels, want %d", i, len(row), labels)
		}
		for j, v := range row {
			if v != 0 && v != 1 {
				return 0, fmt.Errorf("quantify: target at document row %d, label column %d is %v, want 0 or 1", i, j, v)
			}
		}
	}
	return labels, nil
}
