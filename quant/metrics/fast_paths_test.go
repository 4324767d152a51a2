package metrics

import (
	"math"
	"math/rand/v2"
	"sort"
	"testing"
)

// The fast paths (grid histograms for tuning, partial selection for top-k)
// must equal the obvious definitions exactly; these tests compare them.

func TestGridIndexMatchesComparison(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	var ps []float64
	for i := 0; i <= 100; i++ {
		g := float64(i) / 100
		ps = append(ps, g, math.Nextafter(g, 0), math.Nextafter(g, 1))
	}
	for i := 0; i < 20000; i++ {
		ps = append(ps, rng.Float64(), math.Round(rng.Float64()*1000)/1000)
	}
	for _, p := range ps {
		if p < 0 || p > 1 {
			continue
		}
		want := 0
		for i := 1; i <= 99; i++ {
			if p >= gridThreshold(i) {
				want = i
			}
		}
		if got := gridIndex(p); got != want {
			t.Fatalf("gridIndex(%.17g) = %d, want %d", p, got, want)
		}
	}
}

func TestTuningMatchesBruteForce(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for trial := 0; trial < 5; trial++ {
		docs, labels := 50+rng.IntN(50), 3+rng.IntN(8)
		p, y := make([][]float64, docs), make([][]float64, docs)
		for i := range p {
			p[i], y[i] = make([]float64, labels), make([]float64, labels)
			for j := range p[i] {
				p[i][j] = math.Round(rng.Float64()*20) / 20 // many values on grid points
				if rng.Float64() < 0.2+0.6*p[i][j] {
					y[i][j] = 1
				}
			}
		}
		bestI, bestF := 0, -1.0
		for i := 1; i <= 99; i++ {
			r, err := ClassificationPRF(p, y, UniformThresholds(labels, gridThreshold(i)))
			if err != nil {
				t.Fatal(err)
			}
			if r.MicroF1 > bestF || (r.MicroF1 == bestF && absInt(i-50) < absInt(bestI-50)) {
				bestI, bestF = i, r.MicroF1
			}
		}
		bestT := gridThreshold(bestI)
		g, f, err := TuneGlobalThreshold(p, y)
		if err != nil {
			t.Fatal(err)
		}
		if g != bestT || math.Abs(f-bestF) > 1e-15 {
			t.Errorf("trial %d: global %v (F1 %v), brute force %v (F1 %v)", trial, g, f, bestT, bestF)
		}
		lt, err := TuneLabelThresholds(p, y)
		if err != nil {
			t.Fatal(err)
		}
		for j := 0; j < labels; j++ {
			bi, bf := 0, -1.0
			for i := 1; i <= 99; i++ {
				r, _ := ClassificationPRF(p, y, UniformThresholds(labels, gridThreshold(i)))
				if f := r.LabelF1[j]; f > bf || (f == bf && absInt(i-50) < absInt(bi-50)) {
					bi, bf = i, f
				}
			}
			if lt[j] != gridThreshold(bi) {
				t.Errorf("trial %d label %d: %v, brute force %v", trial, j, lt[j], gridThreshold(bi))
			}
		}
	}
}

func TestTopLabelsMatchesStableSort(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	for trial := 0; trial < 2000; trial++ {
		n := 1 + rng.IntN(30)
		row := make([]float64, n)
		for j := range row {
			row[j] = float64(rng.IntN(5)) / 4 // heavy ties
		}
		order := make([]int, n)
		for j := range order {
			order[j] = j
		}
		sort.SliceStable(order, func(a, b int) bool { return row[order[a]] > row[order[b]] })
		k := 1 + rng.IntN(n)
		got := topLabels(row, k, nil)
		for i := 0; i < k; i++ {
			if got[i] != order[i] {
				t.Fatalf("row %v k=%d: got %v, want %v", row, k, got, order[:k])
			}
		}
	}
}
