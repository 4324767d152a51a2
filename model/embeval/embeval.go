// Package embeval scores code embeddings the way Finch et al. (JAMIA Open
// 2021) do: k-means clusters of the code vectors compared with grouper
// categories (CCS for ICD-9, CCSR for ICD-10) by normalised and adjusted
// mutual information, plus a 2-D PCA map of the code space drawn as SVG.
//
// NMI and AMI follow scikit-learn (normalized_mutual_info_score and
// adjusted_mutual_info_score with average_method='arithmetic', the default
// since 0.22), including their special cases, and are checked against it on
// fixtures made by scripts/make_cluster_fixtures.py.
//
// Recall accumulates Med2Vec's visit-level metric, next-visit Recall@k
// (recall.go).
package embeval

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
)

// Encode turns string labels into dense ints in order of first appearance,
// returning the names by id.
func Encode(labels []string) ([]int, []string) {
	ids := make(map[string]int)
	out := make([]int, len(labels))
	var names []string
	for i, l := range labels {
		id, ok := ids[l]
		if !ok {
			id = len(names)
			ids[l] = id
			names = append(names, l)
		}
		out[i] = id
	}
	return out, names
}

// contingency returns the non-zero cells of the contingency table of a and b
// with the row and column sums; labels are arbitrary ints.
type cell struct{ i, j, n int }

func contingency(a, b []int) (cells []cell, rows, cols []int) {
	ra, rb := relabel(a), relabel(b)
	idx := make(map[[2]int]int)
	for k := range ra {
		key := [2]int{ra[k], rb[k]}
		c, ok := idx[key]
		if !ok {
			c = len(cells)
			idx[key] = c
			cells = append(cells, cell{i: ra[k], j: rb[k]})
		}
		cells[c].n++
	}
	rows, cols = make([]int, maxOf(ra)+1), make([]int, maxOf(rb)+1)
	for _, c := range cells {
		rows[c.i] += c.n
		cols[c.j] += c.n
	}
	if len(a) == 0 {
		rows, cols = nil, nil
	}
	return cells, rows, cols
}

func relabel(a []int) []int {
	ids := make(map[int]int)
	out := make([]int, len(a))
	for k, v := range a {
		id, ok := ids[v]
		if !ok {
			id = len(ids)
			ids[v] = id
		}
		out[k] = id
	}
	return out
}

func maxOf(a []int) int {
	m := -1
	for _, v := range a {
		m = max(m, v)
	}
	return m
}

// entropy is sklearn's entropy(labels) in nats from the class sizes.
func entropy(sizes []int, n int) float64 {
	h := 0.0
	for _, s := range sizes {
		if s > 0 {
			p := float64(s) / float64(n)
			h -= p * (math.Log(float64(s)) - math.Log(float64(n)))
		}
	}
	return h
}

// mutualInfo is sklearn's mutual_info_score (nats), clipped at 0 as it does.
func mutualInfo(cells []cell, rows, cols []int, n int) float64 {
	N := float64(n)
	mi := 0.0
	for _, c := range cells {
		nij := float64(c.n)
		mi += nij / N * (math.Log(nij) - math.Log(N) - math.Log(float64(rows[c.i])) - math.Log(float64(cols[c.j])) + 2*math.Log(N))
	}
	return math.Max(mi, 0)
}

func check(truth, pred []int) error {
	if len(truth) != len(pred) {
		return fmt.Errorf("embeval: %d true labels but %d predicted", len(truth), len(pred))
	}
	return nil
}

// trivial reports sklearn's special case: both labelings have one class
// (or none), a perfect match scored 1.
func trivial(rows, cols []int) bool {
	return len(rows) == len(cols) && len(rows) <= 1
}

// NMI is normalized_mutual_info_score(truth, pred) with arithmetic
// normalisation: MI / ((H(truth)+H(pred))/2).
func NMI(truth, pred []int) (float64, error) {
	if err := check(truth, pred); err != nil {
		return 0, err
	}
	cells, rows, cols := contingency(truth, pred)
	if trivial(rows, cols) {
		return 1, nil
	}
	n := len(truth)
	mi := mutualInfo(cells, rows, cols, n)
	if mi == 0 {
		return 0, nil
	}
	return mi / ((entropy(rows, n) + entropy(cols, n)) / 2), nil
}

// AMI is adjusted_mutual_info_score(truth, pred, average_method='arithmetic'):
// (MI − E[MI]) / (mean(H(truth), H(pred)) − E[MI]), with E[MI] under the
// hypergeometric model of random labelings with the same class sizes
// (Vinh, Epps and Bailey 2010). Unlike NMI it is ≈0 for random clusterings
// however many clusters there are, which matters with k = 200 or 400
// clusters over a few thousand codes.
func AMI(truth, pred []int) (float64, error) {
	if err := check(truth, pred); err != nil {
		return 0, err
	}
	cells, rows, cols := contingency(truth, pred)
	if trivial(rows, cols) {
		return 1, nil
	}
	n := len(truth)
	mi := mutualInfo(cells, rows, cols, n)
	emi := expectedMI(rows, cols, n)
	den := (entropy(rows, n)+entropy(cols, n))/2 - emi
	// As sklearn: keep the sign but avoid 0/0 when E[MI] equals the maximum.
	const eps = 2.220446049250313e-16
	if den < 0 {
		den = math.Min(den, -eps)
	} else {
		den = math.Max(den, eps)
	}
	return (mi - emi) / den, nil
}

// expectedMI is sklearn's expected_mutual_information: the sum over cells
// (i, j) and possible counts nij of (nij/N)·log(N·nij/(ai·bj)) times the
// hypergeometric probability of nij, the latter from log-factorials.
func expectedMI(a, b []int, n int) float64 {
	lf := make([]float64, n+2) // lf[k] = log k!
	for k := 2; k <= n+1; k++ {
		lf[k] = lf[k-1] + math.Log(float64(k))
	}
	N := float64(n)
	emi := 0.0
	for _, ai := range a {
		for _, bj := range b {
			start := max(1, ai+bj-n)
			end := min(ai, bj)
			base := lf[ai] + lf[bj] + lf[n-ai] + lf[n-bj] - lf[n]
			for nij := start; nij <= end; nij++ {
				term1 := float64(nij) / N
				term2 := math.Log(N) + math.Log(float64(nij)) - math.Log(float64(ai)) - math.Log(float64(bj))
				gln := base - lf[nij] - lf[ai-nij] - lf[bj-nij] - lf[n-ai-bj+nij]
				emi += term1 * term2 * math.Exp(gln)
			}
		}
	}
	return emi
}

// KMeansOptions configure KMeans.
type KMeansOptions struct {
	K        int
	Restarts int     // independent k-means++ starts, best inertia kept; 0 → 10 (sklearn's n_init before 1.4)
	MaxIter  int     // Lloyd iterations per start; 0 → 300 (sklearn)
	Tol      float64 // stop when no centre moves more than Tol (squared Euclidean); 0 → 1e-10
	Seed     uint64
}

// KMeansResult is the best of the restarts.
type KMeansResult struct {
	Labels    []int       // cluster of each row
	Centroids [][]float64 // K centres
	Inertia   float64     // sum of squared distances to the assigned centre
	Iter      int         // Lloyd iterations of the kept start
}

// KMeans clusters the rows of x (n×dim, row-major) into K clusters:
// k-means++ seeding (with sklearn's 2+⌊ln K⌋ greedy candidates per centre),
// Lloyd iterations, several seeded restarts keeping the lowest inertia.
// Deterministic for a seed; an empty cluster is re-seeded with the point
// farthest from its centre so that K clusters always remain. Single-threaded
// and exact: each Lloyd iteration costs n·K·dim, the seeding about
// n·K·dim·(2+ln K) per restart, so CCSR-sized runs (~20K codes, K = 400,
// dim 100) take minutes; use fewer Restarts for quick looks.
func KMeans(x []float32, dim int, opt KMeansOptions) (*KMeansResult, error) {
	if dim <= 0 || len(x)%dim != 0 {
		return nil, fmt.Errorf("embeval: %d values are not rows of dimension %d", len(x), dim)
	}
	n := len(x) / dim
	if opt.K <= 0 || opt.K > n {
		return nil, fmt.Errorf("embeval: k = %d with %d points", opt.K, n)
	}
	if opt.Restarts == 0 {
		opt.Restarts = 10
	}
	if opt.MaxIter == 0 {
		opt.MaxIter = 300
	}
	if opt.Tol == 0 {
		opt.Tol = 1e-10
	}
	if opt.Restarts < 0 || opt.MaxIter < 0 || opt.Tol < 0 {
		return nil, errors.New("embeval: negative k-means option")
	}
	pts := make([][]float64, n)
	for i := range pts {
		pts[i] = make([]float64, dim)
		for d := range dim {
			pts[i][d] = float64(x[i*dim+d])
		}
	}
	rng := rand.New(rand.NewPCG(opt.Seed, 0x6b6d65616e73))
	var best *KMeansResult
	for r := 0; r < opt.Restarts; r++ {
		res := lloyd(pts, plusPlus(pts, opt.K, rng), opt)
		if best == nil || res.Inertia < best.Inertia {
			best = res
		}
	}
	return best, nil
}

func sqdist(a, b []float64) float64 {
	s := 0.0
	for i := range a {
		d := a[i] - b[i]
		s += d * d
	}
	return s
}

func plusPlus(pts [][]float64, k int, rng *rand.Rand) [][]float64 {
	n := len(pts)
	trials := 2 + int(math.Log(float64(k)))
	cent := [][]float64{append([]float64(nil), pts[rng.IntN(n)]...)}
	closest := make([]float64, n)
	pot := 0.0
	for i, p := range pts {
		closest[i] = sqdist(p, cent[0])
		pot += closest[i]
	}
	cand := make([]float64, n)
	for len(cent) < k {
		bestPot, bestIdx := math.Inf(1), -1
		var bestClosest []float64
		for t := 0; t < trials; t++ {
			// Draw proportionally to the squared distance; when all points
			// coincide with centres (pot 0) fall back to uniform.
			idx := rng.IntN(n)
			if pot > 0 {
				u, acc := rng.Float64()*pot, 0.0
				for i, c := range closest {
					acc += c
					if acc > u {
						idx = i
						break
					}
				}
			}
			p := 0.0
			for i, q := range pts {
				cand[i] = math.Min(closest[i], sqdist(q, pts[idx]))
				p += cand[i]
			}
			if p < bestPot {
				bestPot, bestIdx = p, idx
				bestClosest = append(bestClosest[:0], cand...)
			}
		}
		cent = append(cent, append([]float64(nil), pts[bestIdx]...))
		copy(closest, bestClosest)
		pot = bestPot
	}
	return cent
}

func lloyd(pts [][]float64, cent [][]float64, opt KMeansOptions) *KMeansResult {
	n, k, dim := len(pts), len(cent), len(pts[0])
	labels := make([]int, n)
	dist := make([]float64, n)
	assign := func() float64 {
		in := 0.0
		for i, p := range pts {
			bi, bd := 0, math.Inf(1)
			for c, ce := range cent {
				if d := sqdist(p, ce); d < bd {
					bi, bd = c, d
				}
			}
			labels[i], dist[i] = bi, bd
			in += bd
		}
		return in
	}
	inertia := assign()
	iter := 0
	for iter < opt.MaxIter {
		iter++
		sums := make([][]float64, k)
		cnt := make([]int, k)
		for c := range sums {
			sums[c] = make([]float64, dim)
		}
		for i, p := range pts {
			cnt[labels[i]]++
			for d, v := range p {
				sums[labels[i]][d] += v
			}
		}
		taken := make(map[int]bool)
		shift := 0.0
		for c := range cent {
			if cnt[c] == 0 {
				// Re-seed with the point farthest from its centre.
				far := -1
				for i := range pts {
					if !taken[i] && (far < 0 || dist[i] > dist[far]) {
						far = i
					}
				}
				taken[far] = true
				copy(sums[c], pts[far])
				cnt[c] = 1
			}
			for d := range sums[c] {
				sums[c][d] /= float64(cnt[c])
			}
			shift = math.Max(shift, sqdist(sums[c], cent[c]))
			cent[c] = sums[c]
		}
		inertia = assign()
		if shift <= opt.Tol {
			break
		}
	}
	return &KMeansResult{Labels: labels, Centroids: cent, Inertia: inertia, Iter: iter}
}

// PCA2 projects the rows of x (n×dim) on their first two principal
// components. The dim×dim covariance is diagonalised with the cyclic Jacobi
// method, exact and deterministic for the small dimensions of code vectors
// (≤ a few hundred). Each component's sign is fixed so that its
// largest-magnitude loading is positive (ties: lowest index), so the map does
// not flip between runs or machines. Returns n (x, y) pairs and the fraction
// of variance each component explains.
func PCA2(x []float32, dim int) ([][2]float64, [2]float64, error) {
	var frac [2]float64
	if dim < 2 || len(x)%dim != 0 || len(x) == 0 {
		return nil, frac, fmt.Errorf("embeval: PCA needs rows of dimension ≥ 2, got %d values, dimension %d", len(x), dim)
	}
	n := len(x) / dim
	mean := make([]float64, dim)
	for i := 0; i < n; i++ {
		for d := 0; d < dim; d++ {
			mean[d] += float64(x[i*dim+d])
		}
	}
	for d := range mean {
		mean[d] /= float64(n)
	}
	cov := make([][]float64, dim)
	for a := range cov {
		cov[a] = make([]float64, dim)
	}
	row := make([]float64, dim)
	for i := 0; i < n; i++ {
		for d := range row {
			row[d] = float64(x[i*dim+d]) - mean[d]
		}
		for a := 0; a < dim; a++ {
			for b := a; b < dim; b++ {
				cov[a][b] += row[a] * row[b]
			}
		}
	}
	for a := 0; a < dim; a++ {
		for b := a; b < dim; b++ {
			cov[a][b] /= float64(max(n-1, 1))
			cov[b][a] = cov[a][b]
		}
	}
	vals, vecs := jacobi(cov)
	order := make([]int, dim)
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(i, j int) bool { return vals[order[i]] > vals[order[j]] })
	total := 0.0
	for _, v := range vals {
		total += math.Max(v, 0)
	}
	comps := [2][]float64{}
	for c := 0; c < 2; c++ {
		col := order[c]
		v := make([]float64, dim)
		big := 0
		for d := range v {
			v[d] = vecs[d][col]
			if math.Abs(v[d]) > math.Abs(v[big]) {
				big = d
			}
		}
		if v[big] < 0 {
			for d := range v {
				v[d] = -v[d]
			}
		}
		comps[c] = v
		if total > 0 {
			frac[c] = math.Max(vals[col], 0) / total
		}
	}
	out := make([][2]float64, n)
	for i := 0; i < n; i++ {
		for c := 0; c < 2; c++ {
			s := 0.0
			for d := 0; d < dim; d++ {
				s += (float64(x[i*dim+d]) - mean[d]) * comps[c][d]
			}
			out[i][c] = s
		}
	}
	return out, frac, nil
}

// jacobi diagonalises the symmetric matrix a (destroyed) and returns its
// eigenvalues and the eigenvectors as columns.
func jacobi(a [][]float64) ([]float64, [][]float64) {
	n := len(a)
	v := make([][]float64, n)
	for i := range v {
		v[i] = make([]float64, n)
		v[i][i] = 1
	}
	for sweep := 0; sweep < 100; sweep++ {
		off, diag := 0.0, 0.0
		for p := 0; p < n; p++ {
			diag += a[p][p] * a[p][p]
			for q := p + 1; q < n; q++ {
				off += a[p][q] * a[p][q]
			}
		}
		if off <= 1e-30*diag || off == 0 {
			break
		}
		for p := 0; p < n; p++ {
			for q := p + 1; q < n; q++ {
				if a[p][q] == 0 {
					continue
				}
				theta := (a[q][q] - a[p][p]) / (2 * a[p][q])
				t := 1 / (math.Abs(theta) + math.Sqrt(theta*theta+1))
				if theta < 0 {
					t = -t
				}
				c := 1 / math.Sqrt(t*t+1)
				s := t * c
				for k := 0; k < n; k++ {
					akp, akq := a[k][p], a[k][q]
					a[k][p], a[k][q] = c*akp-s*akq, s*akp+c*akq
				}
				for k := 0; k < n; k++ {
					apk, aqk := a[p][k], a[q][k]
					a[p][k], a[q][k] = c*apk-s*aqk, s*apk+c*aqk
				}
				for k := 0; k < n; k++ {
					vkp, vkq := v[k][p], v[k][q]
					v[k][p], v[k][q] = c*vkp-s*vkq, s*vkp+c*vkq
				}
			}
		}
	}
	vals := make([]float64, n)
	for i := range vals {
		vals[i] = a[i][i]
	}
	return vals, v
}
