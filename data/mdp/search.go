package mdp

import (
	"math"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// The search enumerates m-subsets as a combination tree over candidates
// renumbered into "positions" by decreasing potential (the sum of a
// candidate's m−1 largest distances): a node holds a selection S of positions
// and a first free position; its children add one free position c and leave
// only positions after c free. Every selection is reached once, and the free
// positions of a node always form a suffix [from, n), which the bounds exploit.
//
// At a node with r = m−|S| candidates still to choose from a suffix P, the
// gain g(T) = Σ_{j∈T} d(j,S) + Σ_{i<j∈T} d_ij of any T ⊆ P with |T| = r is
// bounded two ways, and the smaller bound is used:
//
//   - half bound:  2g(T) ≤ Σ_{j∈T} hw_j, hw_j = 2·d(j,S) + (sum of the r−1
//     largest distances from j to the rest of P), so 2g ≤ the r largest hw_j;
//   - pair bound:  g(T) ≤ (the r largest d(j,S), j ∈ P) + (the r(r−1)/2
//     largest distances among P).
//
// Both only shrink as the suffix shrinks, so once the bound for "all r from
// [c, n)" falls below the incumbent every later child is pruned too (the loop
// breaks). Each child c is also tested on its own, with c forced in and r−1
// more taken from (c, n). d(j,S) is kept per depth and updated in O(n) per
// child. "The t largest distances from j to positions ≥ from" depends on
// (j, from, t) only, so it is tabulated up front (n²·m/2 entries), or, for
// problems too large for the table, found by scanning j's neighbours sorted
// by distance.
//
// With exact integer distances, equal objectives are real ties, broken towards
// the lexicographically smallest sorted index list: a subtree whose bound
// equals the incumbent is pruned only when its lexicographically smallest
// selection cannot precede the incumbent's.

// maxTable caps the entries of search.htab (32 MB); larger problems scan the
// neighbour lists instead. A variable so that tests can cover the scan.
var maxTable = 1 << 22

// search is the shared, read-only problem data plus the shared counters.
type search struct {
	n, m int
	q    []int64 // distances between positions, n×n
	orig []int   // orig[p]: the candidate at position p
	// nbr[p*(n-1):(p+1)*(n-1)]: the other positions, farthest from p first;
	// built only when htab is too large.
	nbr []int32
	// fwd[p*m+t]: sum of the t largest distances from p to positions after p.
	fwd []int64
	// pairTop[p*(npair+1)+t]: sum of the t largest distances among positions ≥ p.
	pairTop []int64
	npair   int
	// htab, when not nil, holds topFrom precomputed, laid out so that the
	// values for one (t, from) are contiguous over j: see hrow.
	htab []int64
	// minOrig[p*m:(p+1)*m]: the m smallest candidates at positions ≥ p,
	// increasing, padded with MaxInt near the end.
	minOrig []int

	inc      *incumbent
	opt      Options
	nodes    atomic.Int64
	stopped  atomic.Bool
	deadline bool
}

func newSearch(qOrig []int64, n, m int, inc *incumbent, opt Options) *search {
	s := &search{n: n, m: m, inc: inc, opt: opt, npair: m * (m - 1) / 2, deadline: !opt.Deadline.IsZero()}

	// Order by decreasing potential, ties by candidate index.
	pot := make([]int64, n)
	top := newTopK(m - 1)
	for i := 0; i < n; i++ {
		top.reset()
		for j := 0; j < n; j++ {
			if j != i {
				top.insert(qOrig[i*n+j])
			}
		}
		pot[i] = top.sum
	}
	s.orig = make([]int, n)
	for i := range s.orig {
		s.orig[i] = i
	}
	sort.SliceStable(s.orig, func(a, b int) bool { return pot[s.orig[a]] > pot[s.orig[b]] })

	s.q = make([]int64, n*n)
	for a := 0; a < n; a++ {
		for b := 0; b < n; b++ {
			s.q[a*n+b] = qOrig[s.orig[a]*n+s.orig[b]]
		}
	}

	s.fwd = make([]int64, n*m)
	for a := 0; a < n; a++ {
		top.reset()
		for b := a + 1; b < n; b++ {
			top.insert(s.q[a*n+b])
		}
		for t := 1; t < m; t++ {
			s.fwd[a*m+t] = s.fwd[a*m+t-1]
			if t <= len(top.vals) {
				s.fwd[a*m+t] += top.vals[t-1]
			}
		}
	}

	w := s.npair + 1
	s.pairTop = make([]int64, (n+1)*w)
	top = newTopK(s.npair)
	for p := n - 1; p >= 0; p-- {
		for b := p + 1; b < n; b++ {
			top.insert(s.q[p*n+b])
		}
		for t, v := range top.vals {
			s.pairTop[p*w+t+1] = s.pairTop[p*w+t] + v
		}
		for t := len(top.vals); t < s.npair; t++ {
			s.pairTop[p*w+t+1] = s.pairTop[p*w+t]
		}
	}

	if h := n * (n + 1) / 2 * (m - 1); h <= maxTable {
		s.htab = make([]int64, h)
		top = newTopK(m - 1)
		for j := 0; j < n; j++ {
			top.reset()
			for from := n - 1; from >= 0; from-- {
				if from != j {
					top.insert(s.q[j*n+from])
				}
				if from <= j {
					var sum int64
					for t := 1; t < m; t++ {
						if t <= len(top.vals) {
							sum += top.vals[t-1]
						}
						s.hrow(from, t)[j-from] = sum
					}
				}
			}
		}
	} else {
		s.nbr = make([]int32, n*(n-1))
		for a := 0; a < n; a++ {
			list := s.nbr[a*(n-1) : (a+1)*(n-1)]
			k := 0
			for b := 0; b < n; b++ {
				if b != a {
					list[k] = int32(b)
					k++
				}
			}
			qa := s.q[a*n : a*n+n]
			slices.SortStableFunc(list, func(x, y int32) int { return cmpDesc(qa[x], qa[y]) })
		}
	}

	s.minOrig = make([]int, (n+1)*m)
	small := make([]int, 0, m+1)
	for t := 0; t < m; t++ {
		s.minOrig[n*m+t] = math.MaxInt
	}
	for p := n - 1; p >= 0; p-- {
		i, _ := slices.BinarySearch(small, s.orig[p])
		small = slices.Insert(small, i, s.orig[p])
		if len(small) > m {
			small = small[:m]
		}
		copy(s.minOrig[p*m:], small)
		for t := len(small); t < m; t++ {
			s.minOrig[p*m+t] = math.MaxInt
		}
	}
	return s
}

func cmpDesc(a, b int64) int {
	switch {
	case a > b:
		return -1
	case a < b:
		return 1
	}
	return 0
}

// pairs returns the sum of the t largest distances among positions ≥ p.
func (s *search) pairs(p, t int) int64 { return s.pairTop[p*(s.npair+1)+t] }

// topFrom returns the sum of the t largest distances from position j to the
// other positions ≥ from, by scanning j's neighbour list.
func (s *search) topFrom(j, from, t int) int64 {
	if t == 0 {
		return 0
	}
	qj := s.q[j*s.n : (j+1)*s.n]
	var sum int64
	for _, p := range s.nbr[j*(s.n-1) : (j+1)*(s.n-1)] {
		if int(p) >= from {
			sum += qj[p]
			if t--; t == 0 {
				break
			}
		}
	}
	return sum
}

// hrow returns topFrom(j, from, t) for j = from, …, n−1 from the table (t ≥ 1),
// or nil without a table. Block t−1 of the table holds the triangle of rows
// from = 0, …, n−1, row from having n − from entries.
func (s *search) hrow(from, t int) []int64 {
	if s.htab == nil {
		return nil
	}
	n := s.n
	start := (t-1)*(n*(n+1)/2) + from*n - from*(from-1)/2
	return s.htab[start : start+n-from]
}

// run searches the whole tree, in parallel when the tree is large enough to
// pay for it: one goroutine walks the top two levels and hands their nodes to
// the workers as tasks.
func (s *search) run() {
	workers := s.opt.workers()
	if workers <= 1 || s.m < 3 || s.n < 32 {
		w := s.newWorker()
		w.node(0, 0, 0)
		w.flush()
		return
	}
	split := 2
	if s.m == 3 {
		split = 1
	}
	tasks := make(chan []int, 2*workers)
	gen := s.newWorker()
	gen.tasks, gen.split = tasks, split
	go func() {
		gen.node(0, 0, 0)
		gen.flush()
		close(tasks)
	}()
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := s.newWorker()
			for t := range tasks {
				if !s.stopped.Load() {
					w.task(t)
				}
			}
			w.flush()
		}()
	}
	wg.Wait()
}

// worker is one goroutine's search state.
type worker struct {
	s   *search
	dS  [][]int64 // dS[k][j]: Σ distances from j to the k selected positions
	sel []int     // selected positions by depth
	lvl []level
	buf []int // scratch for candidate sets
	// local counts nodes not yet added to s.nodes.
	local int64
	// tasks, when set, receives the nodes at depth split instead of searching them.
	tasks chan<- []int
	split int
}

// level is the scratch of one depth, indexed by position.
type level struct {
	hw                []int64 // half-bound weights
	sufHalf, sufHalf1 []int64 // sums of the r and r−1 largest hw in [p, n)
	sufD, sufD1       []int64 // sums of the r and r−1 largest d(j,S) in [p, n)
	topHalf, topD     topK
}

func (s *search) newWorker() *worker {
	n, m := s.n, s.m
	w := &worker{s: s, sel: make([]int, m), buf: make([]int, 0, m), dS: make([][]int64, m), lvl: make([]level, m)}
	for k := range w.dS {
		w.dS[k] = make([]int64, n)
		w.lvl[k] = level{
			hw: make([]int64, n), sufHalf: make([]int64, n+1), sufHalf1: make([]int64, n+1),
			sufD: make([]int64, n+1), sufD1: make([]int64, n+1),
			topHalf: newTopK(m - k), topD: newTopK(m - k),
		}
	}
	return w
}

// task searches the subtree of the node whose selected positions are sel.
func (w *worker) task(sel []int) {
	s := w.s
	var f int64
	for k, c := range sel {
		w.sel[k] = c
		f += w.dS[k][c]
		row := s.q[c*s.n : (c+1)*s.n]
		next, cur := w.dS[k+1], w.dS[k]
		for j := range next {
			next[j] = cur[j] + row[j]
		}
	}
	w.node(len(sel), sel[len(sel)-1]+1, f)
}

// tick counts a node and reports whether the search may go on.
func (w *worker) tick() bool {
	s := w.s
	if w.local++; w.local >= 256 {
		total := s.nodes.Add(w.local)
		w.local = 0
		if s.opt.NodeLimit > 0 && total >= s.opt.NodeLimit || s.deadline && time.Now().After(s.opt.Deadline) {
			s.stopped.Store(true)
		}
	}
	return !s.stopped.Load()
}

func (w *worker) flush() {
	w.s.nodes.Add(w.local)
	w.local = 0
}

// node searches the completions of the selection w.sel[:k], whose objective
// is f, with m−k more positions from [from, n).
func (w *worker) node(k, from int, f int64) {
	s := w.s
	if !w.tick() {
		return
	}
	n, r := s.n, s.m-k
	dS := w.dS[k]
	if r == 1 {
		for j := from; j < n; j++ {
			w.leaf(k, j, f+dS[j])
		}
		return
	}
	L := &w.lvl[k]
	if row := s.hrow(from, r-1); row != nil {
		for j := from; j < n; j++ {
			L.hw[j] = 2*dS[j] + row[j-from]
		}
	} else {
		for j := from; j < n; j++ {
			L.hw[j] = 2*dS[j] + s.topFrom(j, from, r-1)
		}
	}
	th, td := &L.topHalf, &L.topD
	th.reset()
	td.reset()
	L.sufHalf[n], L.sufHalf1[n], L.sufD[n], L.sufD1[n] = 0, 0, 0, 0
	for p := n - 1; p >= from; p-- {
		// Most values are below the current r-th largest: test inline.
		if v := L.hw[p]; len(th.vals) < th.k || v > th.vals[th.k-1] {
			th.insert(v)
		}
		if v := dS[p]; len(td.vals) < td.k || v > td.vals[td.k-1] {
			td.insert(v)
		}
		L.sufHalf[p], L.sufHalf1[p] = th.sum, th.sum1
		L.sufD[p], L.sufD1[p] = td.sum, td.sum1
	}
	pairsR, pairsR1 := r*(r-1)/2, (r-1)*(r-2)/2
	for c := from; c <= n-r; c++ {
		b := s.inc.cur.Load()
		// Every selection taking all r from [c, n): monotone in c.
		ub := f + min(L.sufHalf[c]/2, L.sufD[c]+s.pairs(c, pairsR))
		if ub < b.value || ub == b.value && !w.mayPrecede(k, -1, c, r, b) {
			break
		}
		// Selections taking c and r−1 more from (c, n).
		ub = f + min((L.hw[c]+L.sufHalf1[c+1])/2, dS[c]+L.sufD1[c+1]+s.fwd[c*s.m+r-1]+s.pairs(c+1, pairsR1))
		if ub < b.value || ub == b.value && !w.mayPrecede(k, c, c+1, r-1, b) {
			continue
		}
		w.sel[k] = c
		fc := f + dS[c]
		qc := s.q[c*n : (c+1)*n]
		if r == 2 {
			if !w.tick() {
				return
			}
			for j := c + 1; j < n; j++ {
				w.leaf(k+1, j, fc+dS[j]+qc[j])
			}
			continue
		}
		if w.tasks != nil && k+1 == w.split {
			w.tasks <- slices.Clone(w.sel[:k+1])
			if s.stopped.Load() {
				return
			}
			continue
		}
		next := w.dS[k+1]
		for j := c + 1; j < n; j++ {
			next[j] = dS[j] + qc[j]
		}
		w.node(k+1, c+1, fc)
		if s.stopped.Load() {
			return
		}
	}
}

// leaf offers the selection w.sel[:k] plus position j, of objective v.
func (w *worker) leaf(k, j int, v int64) {
	b := w.s.inc.cur.Load()
	if v < b.value {
		return
	}
	set := w.candidates(k, j, -1, 0)
	if b.beats(v, set) {
		w.s.inc.offer(v, set)
	}
}

// mayPrecede reports whether some selection of the subtree could come
// lexicographically before the incumbent b: the subtree's smallest one takes
// w.sel[:k], position c (if c ≥ 0) and the r smallest candidates from [from, n).
func (w *worker) mayPrecede(k, c, from, r int, b *best) bool {
	return slices.Compare(w.candidates(k, c, from, r), b.set) < 0
}

// candidates returns, sorted, the candidates at w.sel[:k], at position c if
// c ≥ 0, and the r smallest at positions ≥ from. The slice is w.buf.
func (w *worker) candidates(k, c, from, r int) []int {
	s := w.s
	set := w.buf[:0]
	for _, p := range w.sel[:k] {
		set = append(set, s.orig[p])
	}
	if c >= 0 {
		set = append(set, s.orig[c])
	}
	if r > 0 {
		set = append(set, s.minOrig[from*s.m:from*s.m+r]...)
	}
	slices.Sort(set)
	w.buf = set
	return set
}

// topK keeps the k largest values inserted, decreasing, the sum of them and
// the sum of the k−1 largest.
type topK struct {
	vals      []int64
	k         int
	sum, sum1 int64
}

func newTopK(k int) topK { return topK{vals: make([]int64, 0, k), k: k} }

func (t *topK) reset() {
	t.vals = t.vals[:0]
	t.sum, t.sum1 = 0, 0
}

func (t *topK) insert(v int64) {
	if t.k == 0 {
		return
	}
	if len(t.vals) == t.k {
		last := t.vals[t.k-1]
		if v <= last {
			return
		}
		t.sum -= last
		t.vals = t.vals[:t.k-1]
	}
	i := len(t.vals)
	t.vals = append(t.vals, v)
	for i > 0 && t.vals[i-1] < v {
		t.vals[i] = t.vals[i-1]
		i--
	}
	t.vals[i] = v
	t.sum += v
	t.sum1 = t.sum
	if len(t.vals) == t.k {
		t.sum1 -= t.vals[t.k-1]
	}
}
