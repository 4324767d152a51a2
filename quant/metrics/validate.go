package metrics

import (
	"fmt"
	"math"
)

// Validate checks that probs and targets are non-empty rectangular matrices of
// the same shape, that every probability is a finite number in [0,1] and that
// every target is exactly 0 or 1. Errors name the document row and the label
// column so a bad line in a probability file can be found.
func Validate(probs, targets [][]float64) (docs, labels int, err error) {
	if len(probs) == 0 {
		return 0, 0, fmt.Errorf("metrics: probability matrix has no documents")
	}
	if len(targets) != len(probs) {
		return 0, 0, fmt.Errorf("metrics: shape mismatch: %d probability rows, %d target rows", len(probs), len(targets))
	}
	labels = len(probs[0])
	if labels == 0 {
		return 0, 0, fmt.Errorf("metrics: probability matrix has no labels")
	}
	if err := checkProbs(probs, labels, "probability"); err != nil {
		return 0, 0, err
	}
	for i, row := range targets {
		if len(row) != labels {
			return 0, 0, fmt.Errorf("metrics: shape mismatch: target row %d has %d labels, want %d", i, len(row), labels)
		}
		for j, v := range row {
			if v != 0 && v != 1 {
				return 0, 0, fmt.Errorf("metrics: target at document row %d, label column %d is %v, want 0 or 1", i, j, v)
			}
		}
	}
	return len(probs), labels, nil
}

func checkProbs(probs [][]float64, labels int, what string) error {
	for i, row := range probs {
		if len(row) != labels {
			return fmt.Errorf("metrics: shape mismatch: %s row %d has %d labels, want %d", what, i, len(row), labels)
		}
		for j, p := range row {
			if math.IsNaN(p) || p < 0 || p > 1 {
				return fmt.Errorf("metrics: %s at document row %d, label column %d is %v, want a number in [0,1]", what, i, j, p)
			}
		}
	}
	return nil
}

// column returns label j of a matrix as a vector.
func column(m [][]float64, j int) []float64 {
	c := make([]float64, len(m))
	for i := range m {
		c[i] = m[i][j]
	}
	return c
}

// flatten returns the matrix document-major (row after row), the order used
// for micro-AUC and pooled ECE (it matters for equal-mass tie order).
func flatten(m [][]float64) []float64 {
	var out []float64
	for _, r := range m {
		out = append(out, r...)
	}
	return out
}
