// Package mdp solves the Maximum Diversity Problem exactly: from n candidates
// with pairwise distances d, choose m maximising the sum of the distances
// between the chosen ones,
//
//	max Σ_{i<j} d_ij x_i x_j   subject to Σ x_i = m, x ∈ {0,1}ⁿ.
//
// icdcode uses it to pick the m most diverse synonyms of each ICD code, where
// the reference system called Gurobi. Solve proves optimality by depth-first
// branch and bound, started from a greedy + 1-swap local-search solution; the
// bounds are described in search.go.
//
// Exactness and ties. Distances are first rounded to integers on a power-of-two
// grid as fine as int64 allows for the given m (for distances up to 2 and
// m = 8 the grid step is 2⁻⁵⁴, below float64 resolution near 1), so sums and
// comparisons in the search are exact and the answer is well defined: the
// selection with the largest rounded objective and, among equal ones, the
// lexicographically smallest sorted index list. That answer does not depend on
// the search order, so the parallel search returns the same indices as the
// sequential one whenever it finishes (Optimal = true).
package mdp

import (
	"fmt"
	"math"
	"math/bits"
	"runtime"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// Options bound the search. The zero value searches to the end on all CPUs.
type Options struct {
	// Deadline stops the search at this time (zero: no deadline).
	Deadline time.Time
	// NodeLimit stops the search after about this many nodes (0: no limit).
	// Workers check it in batches, so a few hundred more nodes may be visited.
	NodeLimit int64
	// Workers is the number of goroutines sharing the search (0: GOMAXPROCS).
	// A limited search (Deadline or NodeLimit hit) returns the best selection
	// found so far, which depends on timing unless Workers is 1.
	Workers int
}

// Result is the selection found.
type Result struct {
	// Indices are the chosen candidates, increasing.
	Indices []int
	// Value is the objective of Indices computed in float64 (see Value).
	Value float64
	// Optimal is true when the search finished, proving Indices optimal; false
	// when a limit of Options stopped it first.
	Optimal bool
	// Nodes counts the branch-and-bound nodes visited. With several workers
	// it varies a little from run to run (pruning depends on when each
	// worker sees a better incumbent); Indices and Value do not.
	Nodes int64
}

// Solve chooses m of the d.N candidates maximising the sum of their pairwise
// distances. It returns an error for an invalid matrix (see Matrix.Validate)
// or m outside [1, n].
func Solve(d Matrix, m int, opt Options) (Result, error) {
	if err := d.Validate(); err != nil {
		return Result{}, err
	}
	n := d.N
	if m < 1 || m > n {
		return Result{}, fmt.Errorf("mdp: cannot choose %d of %d candidates", m, n)
	}
	if m == n {
		all := make([]int, n)
		for i := range all {
			all[i] = i
		}
		return Result{Indices: all, Value: Value(d, all), Optimal: true}, nil
	}
	q := quantize(d, m)
	inc := &incumbent{}
	inc.cur.Store(localSearch(q, n, m))

	s := newSearch(q, n, m, inc, opt)
	s.run()
	b := inc.cur.Load()
	return Result{
		Indices: b.set,
		Value:   Value(d, b.set),
		Optimal: !s.stopped.Load(),
		Nodes:   s.nodes.Load(),
	}, nil
}

// quantize rounds the distances to multiples of 2^-s, with s the largest shift
// keeping m²·max q below 2⁶¹: every objective value and every bound the search
// adds up (each at most m² distances) then fits in an int64 exactly. The
// diagonal is set to 0 so that sums over a selection may include it.
func quantize(d Matrix, m int) []int64 {
	n := d.N
	var dmax float64
	for i := 0; i < n; i++ {
		for j := 0; j < n; j++ {
			if i != j {
				dmax = max(dmax, d.D[i*n+j])
			}
		}
	}
	q := make([]int64, n*n)
	if dmax == 0 {
		return q
	}
	_, exp := math.Frexp(dmax) // dmax < 2^exp
	shift := 61 - exp - bits.Len(uint(m*m))
	for i := 0; i < n; i++ {
		for j := 0; j < n; j++ {
			if i != j {
				q[i*n+j] = int64(math.Round(math.Ldexp(d.D[i*n+j], shift)))
			}
		}
	}
	return q
}

// best is an incumbent: its rounded objective and sorted original indices.
// It is never modified once published.
type best struct {
	value int64
	set   []int
}

// beats reports whether (v, set) is a better answer than b: a larger value,
// or the same value and a lexicographically smaller set.
func (b *best) beats(v int64, set []int) bool {
	return v > b.value || v == b.value && slices.Compare(set, b.set) < 0
}

// incumbent is the best selection found, shared by the workers: readers load
// it without locking, writers replace it under mu.
type incumbent struct {
	mu  sync.Mutex
	cur atomic.Pointer[best]
}

// offer publishes (v, set) if it beats the incumbent; set is copied.
func (in *incumbent) offer(v int64, set []int) {
	if !in.cur.Load().beats(v, set) {
		return
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.cur.Load().beats(v, set) {
		in.cur.Store(&best{value: v, set: slices.Clone(set)})
	}
}

// localSearch is the starting incumbent: from every candidate in turn, build a
// selection greedily (add the candidate farthest in total from those chosen)
// and improve it by the best 1-swap until no swap improves; keep the best.
func localSearch(q []int64, n, m int) *best {
	var top *best
	in := make([]bool, n)
	dS := make([]int64, n) // Σ distance to the selection
	sel := make([]int, 0, m)
	for start := 0; start < n; start++ {
		clear(in)
		clear(dS)
		sel = sel[:0]
		add := func(j int) {
			in[j] = true
			sel = append(sel, j)
			row := q[j*n : j*n+n]
			for x := range dS {
				dS[x] += row[x]
			}
		}
		add(start)
		for len(sel) < m {
			pick := -1
			for j := 0; j < n; j++ {
				if !in[j] && (pick < 0 || dS[j] > dS[pick]) {
					pick = j
				}
			}
			add(pick)
		}
		for {
			// Swapping out i for j changes the objective by dS[j] − q_ij − dS[i].
			var gain int64
			out, inn := -1, -1
			for a, i := range sel {
				row := q[i*n : i*n+n]
				for j := 0; j < n; j++ {
					if !in[j] {
						if g := dS[j] - row[j] - dS[i]; g > gain {
							gain, out, inn = g, a, j
						}
					}
				}
			}
			if out < 0 {
				break
			}
			i := sel[out]
			in[i], in[inn] = false, true
			sel[out] = inn
			ri, rj := q[i*n:i*n+n], q[inn*n:inn*n+n]
			for x := range dS {
				dS[x] += rj[x] - ri[x]
			}
		}
		var v int64
		for _, i := range sel {
			v += dS[i]
		}
		v /= 2
		set := slices.Clone(sel)
		sort.Ints(set)
		if top == nil || top.beats(v, set) {
			top = &best{value: v, set: set}
		}
	}
	return top
}

// workers resolves Options.Workers.
func (o Options) workers() int {
	if o.Workers > 0 {
		return o.Workers
	}
	return runtime.GOMAXPROCS(0)
}
