package med2vec

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// BenchmarkEpoch times one training epoch at the reference's default sizes
// (E = H = 200, batch 1000, window 1) on synthetic data: N = 5000 codes,
// 5000 patients × 4 visits = 20,000 visits (24,999 rows with separators),
// 10 distinct codes per visit drawn uniformly (the worst case for the number
// of distinct first codes per batch).
//
//	go test -run '^$' -bench Epoch -benchtime 1x ./model/med2vec
func BenchmarkEpoch(b *testing.B) {
	const n, patients, visits, perVisit = 5000, 5000, 4, 10
	r := rand.New(rand.NewPCG(1, 1))
	var seqs [][]int
	for p := 0; p < patients; p++ {
		if p > 0 {
			seqs = append(seqs, []int{-1})
		}
		for v := 0; v < visits; v++ {
			row := make([]int, 0, perVisit)
			for len(row) < perVisit {
				if c := r.IntN(n); !slices.Contains(row, c) {
					row = append(row, c)
				}
			}
			seqs = append(seqs, row)
		}
	}
	cfg := DefaultConfig(n)
	cfg.Epochs = 1
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, _, err := Train(Data{Seqs: seqs}, cfg, nil); err != nil {
			b.Fatal(err)
		}
	}
}
