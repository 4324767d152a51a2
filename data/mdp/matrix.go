package mdp

import (
	"fmt"
	"math"
)

// Matrix is a symmetric n×n distance matrix, row-major: the distance between
// candidates i and j is D[i*N+j]. The diagonal is ignored by the objective.
type Matrix struct {
	N int
	D []float64
}

// NewMatrix returns an n×n matrix of zeros.
func NewMatrix(n int) Matrix { return Matrix{N: n, D: make([]float64, n*n)} }

// At returns the distance between i and j.
func (d Matrix) At(i, j int) float64 { return d.D[i*d.N+j] }

// Set sets the distance between i and j, in both triangles.
func (d Matrix) Set(i, j int, v float64) {
	d.D[i*d.N+j] = v
	d.D[j*d.N+i] = v
}

// Validate reports the first entry that makes d unusable: a size that does not
// match, a NaN, infinite or negative distance, or an asymmetric pair (the two
// triangles must be equal exactly, as they are after (D+Dᵀ)/2).
func (d Matrix) Validate() error {
	if d.N < 0 || len(d.D) != d.N*d.N {
		return fmt.Errorf("distance matrix: %d entries for n = %d, want n×n", len(d.D), d.N)
	}
	for i := 0; i < d.N; i++ {
		for j := 0; j < d.N; j++ {
			v := d.D[i*d.N+j]
			switch {
			case math.IsNaN(v):
				return fmt.Errorf("distance matrix: d(%d,%d) is NaN", i, j)
			case math.IsInf(v, 0):
				return fmt.Errorf("distance matrix: d(%d,%d) is infinite", i, j)
			case v < 0:
				return fmt.Errorf("distance matrix: d(%d,%d) = %g is negative", i, j, v)
			case j > i && v != d.D[j*d.N+i]:
				return fmt.Errorf("distance matrix: d(%d,%d) = %g but d(%d,%d) = %g: not symmetric", i, j, v, j, i, d.D[j*d.N+i])
			}
		}
	}
	return nil
}

// Value returns the objective of a selection: the sum of d over its pairs,
// added in the order the pairs of idx come (a<b by position in idx), so that
// the same sorted selection always gives the same float64.
func Value(d Matrix, idx []int) float64 {
	var s float64
	for a := range idx {
		for b := a + 1; b < len(idx); b++ {
			s += d.D[idx[a]*d.N+idx[b]]
		}
	}
	return s
}
