package mdp

import (
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/icdcode/icdcode/data/textembed"
)

// bruteForce enumerates every m-subset in lexicographic order and returns the
// first one with the largest Value (so ties go to the lexicographically
// smallest), its value, and how many subsets reach that value.
func bruteForce(d Matrix, m int) ([]int, float64, int) {
	idx := make([]int, m)
	for i := range idx {
		idx[i] = i
	}
	var bestSet []int
	bestV, count := math.Inf(-1), 0
	for {
		v := Value(d, idx)
		switch {
		case v > bestV:
			bestV, bestSet, count = v, slices.Clone(idx), 1
		case v == bestV:
			count++
		}
		// Next combination.
		i := m - 1
		for i >= 0 && idx[i] == d.N-m+i {
			i--
		}
		if i < 0 {
			return bestSet, bestV, count
		}
		idx[i]++
		for j := i + 1; j < m; j++ {
			idx[j] = idx[j-1] + 1
		}
	}
}

func uniformMatrix(n int, rng *rand.Rand) Matrix {
	d := NewMatrix(n)
	for i := 0; i < n; i++ {
		for j := i + 1; j < n; j++ {
			d.Set(i, j, rng.Float64())
		}
	}
	return d
}

// euclidMatrix places n random points in [0,1]^dim.
func euclidMatrix(n, dim int, rng *rand.Rand) Matrix {
	pts := make([][]float64, n)
	for i := range pts {
		pts[i] = make([]float64, dim)
		for k := range pts[i] {
			pts[i][k] = rng.Float64()
		}
	}
	d := NewMatrix(n)
	for i := 0; i < n; i++ {
		for j := i + 1; j < n; j++ {
			var s float64
			for k := range pts[i] {
				s += (pts[i][k] - pts[j][k]) * (pts[i][k] - pts[j][k])
			}
			d.Set(i, j, math.Sqrt(s))
		}
	}
	return d
}

// tieMatrix draws every distance from a few values, so many selections tie.
func tieMatrix(n int, values []float64, rng *rand.Rand) Matrix {
	d := NewMatrix(n)
	for i := 0; i < n; i++ {
		for j := i + 1; j < n; j++ {
			d.Set(i, j, values[rng.IntN(len(values))])
		}
	}
	return d
}

func checkAgainstBruteForce(t *testing.T, name string, d Matrix, m int, opt Options) (unique bool) {
	t.Helper()
	want, wantV, count := bruteForce(d, m)
	got, err := Solve(d, m, opt)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if !got.Optimal {
		t.Errorf("%s: not optimal without limits", name)
	}
	if got.Value != wantV {
		t.Errorf("%s: value %v, brute force %v", name, got.Value, wantV)
	}
	if got.Value != Value(d, got.Indices) {
		t.Errorf("%s: Value %v does not match the indices %v", name, got.Value, got.Indices)
	}
	// With ties the lexicographically smallest optimum is the documented answer,
	// so the indices must match even when the optimum is not unique.
	if !reflect.DeepEqual(got.Indices, want) {
		t.Errorf("%s: indices %v, brute force %v (%d optima)", name, got.Indices, want, count)
	}
	return count == 1
}

func TestSolveAgainstBruteForce(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	sizes := []int{1, 2, 3, 5, 8, 12, 16, 20, 25}
	var instances, unique, ties int
	for _, n := range sizes {
		for m := 1; m <= min(8, n); m++ {
			if n == 25 && m > 6 {
				continue // done below with fewer repetitions
			}
			reps := 4
			if n >= 20 {
				reps = 2
			}
			for r := 0; r < reps; r++ {
				kinds := map[string]Matrix{
					"uniform": uniformMatrix(n, rng),
					"euclid2": euclidMatrix(n, 2, rng),
					"euclid5": euclidMatrix(n, 5, rng),
					"ties":    tieMatrix(n, []float64{0.5, 1, 1.5}, rng),
					"binary":  tieMatrix(n, []float64{0, 1}, rng),
				}
				for _, kind := range []string{"uniform", "euclid2", "euclid5", "ties", "binary"} {
					name := fmt.Sprintf("%s n=%d m=%d #%d", kind, n, m, r)
					if checkAgainstBruteForce(t, name, kinds[kind], m, Options{Workers: 1}) {
						unique++
					} else {
						ties++
					}
					instances++
				}
			}
		}
	}
	// The largest sizes, once per kind and m: C(25,8) ≈ 1.1M subsets each.
	for m := 7; m <= 8; m++ {
		checkAgainstBruteForce(t, fmt.Sprintf("uniform n=25 m=%d", m), uniformMatrix(25, rng), m, Options{})
		checkAgainstBruteForce(t, fmt.Sprintf("euclid2 n=25 m=%d", m), euclidMatrix(25, 2, rng), m, Options{})
		checkAgainstBruteForce(t, fmt.Sprintf("ties n=25 m=%d", m), tieMatrix(25, []float64{1, 2}, rng), m, Options{})
		instances += 3
	}
	if ties == 0 || unique == 0 {
		t.Errorf("%d instances with a unique optimum and %d with ties: the test should cover both", unique, ties)
	}
	t.Logf("%d instances: %d unique optima, %d with ties", instances, unique, ties)
}

// TestSolveWithoutTable covers the neighbour-list scan that replaces the
// precomputed table on large problems.
func TestSolveWithoutTable(t *testing.T) {
	defer func(v int) { maxTable = v }(maxTable)
	maxTable = 0
	rng := rand.New(rand.NewPCG(11, 12))
	for _, n := range []int{9, 16, 22} {
		for m := 2; m <= 7; m++ {
			checkAgainstBruteForce(t, fmt.Sprintf("uniform n=%d m=%d", n, m), uniformMatrix(n, rng), m, Options{Workers: 1})
			checkAgainstBruteForce(t, fmt.Sprintf("ties n=%d m=%d", n, m), tieMatrix(n, []float64{1, 2, 3}, rng), m, Options{Workers: 1})
		}
	}
	checkAgainstBruteForce(t, "uniform n=40 m=5 parallel", uniformMatrix(40, rng), 5, Options{Workers: 2})
}

// TestSolveParallel covers the parallel search (used from n = 32): it must
// find the brute-force optimum, and the same indices as one worker.
func TestSolveParallel(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for r := 0; r < 3; r++ {
		for m := 3; m <= 5; m++ {
			checkAgainstBruteForce(t, fmt.Sprintf("uniform n=40 m=%d #%d", m, r), uniformMatrix(40, rng), m, Options{Workers: 2})
			checkAgainstBruteForce(t, fmt.Sprintf("ties n=40 m=%d #%d", m, r), tieMatrix(40, []float64{1, 2}, rng), m, Options{Workers: 2})
		}
	}
	for _, d := range []Matrix{uniformMatrix(70, rng), euclidMatrix(70, 3, rng), tieMatrix(70, []float64{0, 1}, rng)} {
		one, err := Solve(d, 7, Options{Workers: 1})
		if err != nil {
			t.Fatal(err)
		}
		for rep := 0; rep < 3; rep++ {
			par, err := Solve(d, 7, Options{Workers: 2})
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(par.Indices, one.Indices) || par.Value != one.Value || !par.Optimal {
				t.Fatalf("2 workers: %v %v (optimal %v); 1 worker: %v %v", par.Indices, par.Value, par.Optimal, one.Indices, one.Value)
			}
		}
	}
}

// TestSolveScale checks that the rounding of distances to integers works for
// tiny and huge distances alike: scaling d scales nothing else.
func TestSolveScale(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	d := euclidMatrix(18, 3, rng)
	ref, err := Solve(d, 5, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, scale := range []float64{1e-300, 1e-5, 1e5, 1e300} {
		s := NewMatrix(d.N)
		for i := range d.D {
			s.D[i] = d.D[i] * scale
		}
		got, err := Solve(s, 5, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got.Indices, ref.Indices) || math.Abs(got.Value/scale-ref.Value) > 1e-12*ref.Value {
			t.Errorf("scale %g: %v %v, want %v %v", scale, got.Indices, got.Value/scale, ref.Indices, ref.Value)
		}
	}
	// All distances zero: every selection ties at 0.
	got, err := Solve(NewMatrix(6), 3, Options{})
	if err != nil || !reflect.DeepEqual(got.Indices, []int{0, 1, 2}) || got.Value != 0 || !got.Optimal {
		t.Errorf("zero matrix: %+v, %v", got, err)
	}
	// m = n takes everything.
	got, err = Solve(d, d.N, Options{})
	if err != nil || len(got.Indices) != d.N || got.Indices[d.N-1] != d.N-1 || !got.Optimal {
		t.Errorf("m = n: %+v, %v", got, err)
	}
}

func TestSolveLimits(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	d := uniformMatrix(150, rng)
	for _, opt := range []Options{
		{NodeLimit: 1, Workers: 1},
		{NodeLimit: 1, Workers: 2},
		{Deadline: time.Now().Add(-time.Second)},
	} {
		got, err := Solve(d, 8, opt)
		if err != nil {
			t.Fatal(err)
		}
		if got.Optimal {
			t.Errorf("%+v: stopped search claims optimality", opt)
		}
		if len(got.Indices) != 8 || !slices.IsSorted(got.Indices) || got.Value != Value(d, got.Indices) {
			t.Errorf("%+v: bad best-so-far %v value %v", opt, got.Indices, got.Value)
		}
		if got.Nodes > 2000 {
			t.Errorf("%+v: %d nodes after the limit", opt, got.Nodes)
		}
	}
	// The same node limit with one worker is reproducible.
	a, _ := Solve(d, 8, Options{NodeLimit: 5000, Workers: 1})
	b, _ := Solve(d, 8, Options{NodeLimit: 5000, Workers: 1})
	if !reflect.DeepEqual(a, b) {
		t.Errorf("node-limited runs differ: %+v vs %+v", a, b)
	}
}

func TestSolveErrors(t *testing.T) {
	good := NewMatrix(3)
	good.Set(0, 1, 1)
	good.Set(0, 2, 2)
	good.Set(1, 2, 3)
	bad := func(edit func(d Matrix)) Matrix {
		d := Matrix{N: 3, D: slices.Clone(good.D)}
		edit(d)
		return d
	}
	cases := []struct {
		name string
		d    Matrix
		m    int
		want string
	}{
		{"NaN", bad(func(d Matrix) { d.Set(0, 1, math.NaN()) }), 2, "NaN"},
		{"infinite", bad(func(d Matrix) { d.Set(0, 2, math.Inf(1)) }), 2, "infinite"},
		{"negative", bad(func(d Matrix) { d.Set(1, 2, -0.5) }), 2, "negative"},
		{"negative diagonal", bad(func(d Matrix) { d.D[4] = -1 }), 2, "negative"},
		{"asymmetric", bad(func(d Matrix) { d.D[1*3+2] = 3.0000001 }), 2, "not symmetric"},
		{"wrong size", Matrix{N: 3, D: make([]float64, 8)}, 2, "entries"},
		{"m = 0", good, 0, "cannot choose 0 of 3"},
		{"m > n", good, 4, "cannot choose 4 of 3"},
		{"empty", NewMatrix(0), 1, "cannot choose 1 of 0"},
	}
	for _, c := range cases {
		_, err := Solve(c.d, c.m, Options{})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one mentioning %q", c.name, err, c.want)
		}
	}
	if got, err := Solve(good, 2, Options{}); err != nil || !reflect.DeepEqual(got.Indices, []int{1, 2}) || got.Value != 3 {
		t.Errorf("valid 3×3: %+v, %v", got, err)
	}
}

func TestRandom(t *testing.T) {
	const n, m, draws = 10, 3, 30000
	rng := rand.New(rand.NewPCG(9, 10))
	freq := make([]int, n)
	for r := 0; r < draws; r++ {
		got, err := Random(n, m, rng)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != m || !slices.IsSorted(got) || got[0] < 0 || got[m-1] >= n {
			t.Fatalf("draw %v", got)
		}
		for i := 1; i < m; i++ {
			if got[i] == got[i-1] {
				t.Fatalf("draw %v repeats a candidate", got)
			}
		}
		for _, i := range got {
			freq[i]++
		}
	}
	// Each candidate is drawn with probability m/n: 9000 times of 30000, give or
	// take about 80 (one standard deviation).
	for i, f := range freq {
		if math.Abs(float64(f)-draws*m/n) > 500 {
			t.Errorf("candidate %d drawn %d times, want about %d", i, f, draws*m/n)
		}
	}
	seq := func(seed uint64) [][]int {
		rng := rand.New(rand.NewPCG(seed, 0))
		var out [][]int
		for r := 0; r < 5; r++ {
			got, _ := Random(50, 8, rng)
			out = append(out, got)
		}
		return out
	}
	if !reflect.DeepEqual(seq(1), seq(1)) {
		t.Error("same seed, different draws")
	}
	if reflect.DeepEqual(seq(1), seq(2)) {
		t.Error("different seeds, same draws")
	}
	if got, err := Random(4, 4, rng); err != nil || !reflect.DeepEqual(got, []int{0, 1, 2, 3}) {
		t.Errorf("m = n: %v, %v", got, err)
	}
	for _, c := range [][2]int{{3, 0}, {3, 4}, {0, 1}} {
		if _, err := Random(c[0], c[1], rng); err == nil {
			t.Errorf("Random(%d, %d): no error", c[0], c[1])
		}
	}
}

// synonymPool generates n distinct strings that look like the synonyms of one
// code: a few words from a shared medical vocabulary, some qualifiers and
// abbreviations, so that TF-IDF distances spread the way real pools do.
func synonymPool(n int, rng *rand.Rand) []string {
	heads := []string{"heart failure", "cardiac failure", "cardiac insufficiency", "heart decompensation", "chf", "hf", "ccf", "myocardial failure"}
	mods := []string{"congestive", "chronic", "acute", "acute on chronic", "left", "right", "biventricular", "systolic", "diastolic",
		"decompensated", "compensated", "unspecified", "nos", "with reduced ejection fraction", "with preserved ejection fraction",
		"hypertensive", "rheumatic", "end stage", "refractory", "due to hypertension", "in pregnancy", "postoperative", "of newborn"}
	seen := map[string]bool{}
	var out []string
	for len(out) < n {
		words := []string{heads[rng.IntN(len(heads))]}
		for k := rng.IntN(4); k > 0; k-- {
			m := mods[rng.IntN(len(mods))]
			if rng.IntN(2) == 0 {
				words = append([]string{m}, words...)
			} else {
				words = append(words, m)
			}
		}
		s := strings.Join(words, " ")
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

func tfidfMatrix(n int, seed uint64) Matrix {
	texts := synonymPool(n, rand.New(rand.NewPCG(seed, 11)))
	return Matrix{N: n, D: textembed.CosineDistances(texts)}
}

// cosinePointsMatrix is 1 − cos of n random points with non-negative
// coordinates in dim dimensions, like embeddings of related strings.
func cosinePointsMatrix(n, dim int, seed uint64) Matrix {
	rng := rand.New(rand.NewPCG(seed, 12))
	pts := make([][]float64, n)
	for i := range pts {
		pts[i] = make([]float64, dim)
		var norm float64
		for k := range pts[i] {
			pts[i][k] = rng.Float64()
			norm += pts[i][k] * pts[i][k]
		}
		for k := range pts[i] {
			pts[i][k] /= math.Sqrt(norm)
		}
	}
	d := NewMatrix(n)
	for i := 0; i < n; i++ {
		for j := i + 1; j < n; j++ {
			var dot float64
			for k := range pts[i] {
				dot += pts[i][k] * pts[j][k]
			}
			d.Set(i, j, min(max(1-dot, 0), 2))
		}
	}
	return d
}

func benchSolve(b *testing.B, m int) {
	for _, c := range []struct {
		name string
		d    func(seed uint64) Matrix
	}{
		{"tfidf", func(seed uint64) Matrix { return tfidfMatrix(200, seed) }},
		{"cosine8d", func(seed uint64) Matrix { return cosinePointsMatrix(200, 8, seed) }},
	} {
		b.Run(c.name, func(b *testing.B) {
			const instances = 4
			ds := make([]Matrix, instances)
			for i := range ds {
				ds[i] = c.d(uint64(i + 1))
			}
			var nodes int64
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				res, err := Solve(ds[i%instances], m, Options{})
				if err != nil || !res.Optimal {
					b.Fatalf("%v, optimal %v", err, res.Optimal)
				}
				nodes += res.Nodes
			}
			b.ReportMetric(float64(nodes)/float64(b.N), "nodes/op")
		})
	}
}

func BenchmarkSolve200M4(b *testing.B) { benchSolve(b, 4) }
func BenchmarkSolve200M8(b *testing.B) { benchSolve(b, 8) }
