// Package selection chooses, for every code of a candidates file, the M
// synonyms the MSAM model attends to: the M most diverse candidates (an exact
// Maximum Diversity Problem, package mdp, over the distances of a Distancer)
// or M candidates at random. It is the logic of `icdcode synonyms select`,
// which only parses flags and calls SelectFile.
//
// Each pool is first cleaned: repeated strings are dropped (the first is
// kept), then a pool of more than MaxPool distinct candidates keeps its first
// MaxPool in file order. The candidates file lists official titles first
// (package candidates orders by source priority), so the cap keeps them; it
// is deterministic and never repeats a string, unlike the reference's
// random.choices(k=200), which drew with replacement.
//
// Then, with n distinct candidates left:
//
//   - n > M: the criterion chooses M of them;
//   - n = M: all are taken;
//   - 1 ≤ n < M: all n are taken and the M slots are filled by cycling
//     through them in pool order (a, b, a, b for n = 2, M = 4); Distinct = n
//     records it and Note says so (the reference repeated the list the same
//     way);
//   - n = 0: an error naming every such code, unless AllowEmpty is set; then
//     every slot holds the code's own string, "icd " + code (e.g.
//     "icd I50.9"), which at least differs between codes where the
//     reference's "unknown" did not, and Note says so.
//
// Synonyms are written in pool order whatever the criterion. Objective is the
// sum of the pairwise distances of the distinct synonyms chosen for "mdp"
// (computed for every pool of two or more), and 0 for "random", which needs
// no distances. Optimal is false only when the MDP search hit TimeLimit. A
// code's random draw depends only on Seed and the code, so it does not change
// when other codes are added or reordered.
package selection

import (
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/icdcode/icdcode/data/mdp"
	"github.com/icdcode/icdcode/data/progress"
	"github.com/icdcode/icdcode/data/synonyms"
	"github.com/icdcode/icdcode/data/textembed"
)

// Criterion names how M candidates are chosen from a larger pool.
type Criterion string

const (
	// MDP chooses the M candidates with the largest sum of pairwise distances.
	MDP Criterion = "mdp"
	// Random chooses M candidates uniformly without replacement.
	Random Criterion = "random"
)

// ParseCriterion reads a criterion name as given on the command line.
func ParseCriterion(s string) (Criterion, error) {
	switch c := Criterion(strings.ToLower(strings.TrimSpace(s))); c {
	case MDP, Random:
		return c, nil
	}
	return "", fmt.Errorf("unknown criterion %q (want mdp or random)", s)
}

// Distancer measures how different the strings of one pool are: it returns
// their symmetric distance matrix (zero diagonal, non-negative). TFIDF is the
// model-free one; a neural encoder plugs in by returning 1 − cos of its
// embeddings.
type Distancer interface {
	Distances(texts []string) (mdp.Matrix, error)
}

// TFIDF is the Distancer of package textembed: 1 − cos of character n-gram
// TF-IDF vectors, with the IDF computed over the pool.
type TFIDF struct{}

// Distances implements Distancer.
func (TFIDF) Distances(texts []string) (mdp.Matrix, error) {
	return mdp.Matrix{N: len(texts), D: textembed.CosineDistances(texts)}, nil
}

// DefaultMaxPool is the reference's pool cap.
const DefaultMaxPool = 200

// Config says how to select.
type Config struct {
	// M is the number of synonyms per code (≥ 1).
	M         int
	Criterion Criterion
	// Seed drives Random.
	Seed uint64
	// MaxPool caps the distinct candidates of a pool, keeping the first ones
	// in file order; 0 means no cap.
	MaxPool int
	// TimeLimit bounds the MDP search of one code (0: none); on hitting it
	// the best selection found is kept with Optimal = false.
	TimeLimit time.Duration
	// AllowEmpty fills an empty pool with the code's own string instead of
	// failing.
	AllowEmpty bool
	// Distances measures MDP distances; nil means TFIDF.
	Distances Distancer
	// Workers is the number of goroutines of one MDP search (0: GOMAXPROCS).
	Workers int
	// Log, when not nil, receives a progress line every ProgressEvery (codes
	// done, rate, time left) once a run lasts that long, and a warning for
	// each code whose search hit TimeLimit.
	Log           io.Writer
	ProgressEvery time.Duration
}

// Summary counts what SelectAll did.
type Summary struct {
	Codes int
	// Small counts pools with 1 ≤ n < M distinct candidates (cycled).
	Small int
	// Empty counts pools with no candidate (filled with the code's string).
	Empty int
	// Solved counts MDP searches (pools with n > M); Optimal those proven
	// optimal, the rest hit TimeLimit.
	Solved, Optimal int
	// Capped counts pools cut to MaxPool; Duplicates the repeated strings dropped.
	Capped, Duplicates int
	// Nodes sums the branch-and-bound nodes of all searches.
	Nodes   int64
	Elapsed time.Duration
}

// EmptyPoolsError lists the codes with no candidate when AllowEmpty is off.
type EmptyPoolsError struct{ Codes []string }

func (e *EmptyPoolsError) Error() string {
	const show = 20
	list := e.Codes
	more := ""
	if len(list) > show {
		list, more = list[:show], fmt.Sprintf(" and %d more", len(e.Codes)-show)
	}
	if len(e.Codes) == 1 {
		return fmt.Sprintf("code %s has no candidate synonym", e.Codes[0])
	}
	return fmt.Sprintf("%d codes have no candidate synonym: %s%s", len(e.Codes), strings.Join(list, ", "), more)
}

// EmptyFill is the string that fills every slot of an empty pool.
func EmptyFill(code string) string { return "icd " + code }

func (c *Config) check() error {
	if c.M < 1 {
		return fmt.Errorf("M must be at least 1, got %d", c.M)
	}
	if c.Criterion != MDP && c.Criterion != Random {
		return fmt.Errorf("unknown criterion %q (want mdp or random)", c.Criterion)
	}
	if c.MaxPool < 0 {
		return fmt.Errorf("negative max pool %d", c.MaxPool)
	}
	if c.MaxPool > 0 && c.MaxPool < c.M {
		return fmt.Errorf("max pool %d is below M = %d", c.MaxPool, c.M)
	}
	if c.TimeLimit < 0 {
		return fmt.Errorf("negative time limit %v", c.TimeLimit)
	}
	return nil
}

// SelectFile reads the candidates file at candidatesPath, which must hold
// exactly labels in order, selects M synonyms per code and writes the
// synonyms file at outPath atomically.
func SelectFile(candidatesPath, outPath string, labels []string, cfg Config) (Summary, error) {
	if labels == nil {
		return Summary{}, errors.New("no label list: the candidates file is checked against it")
	}
	pools, err := synonyms.ReadPools(candidatesPath, labels)
	if err != nil {
		return Summary{}, err
	}
	sel, sum, err := SelectAll(pools, cfg)
	if err != nil {
		return sum, err
	}
	return sum, synonyms.WriteSelections(outPath, sel)
}

// SelectAll selects M synonyms for every pool, in order. Empty pools are
// checked first, so that a run fails before any search when AllowEmpty is off.
func SelectAll(pools []synonyms.Pool, cfg Config) ([]synonyms.Selection, Summary, error) {
	start := time.Now()
	sum := Summary{Codes: len(pools)}
	if err := cfg.check(); err != nil {
		return nil, sum, err
	}
	if !cfg.AllowEmpty {
		var empty []string
		for _, p := range pools {
			if len(p.Candidates) == 0 {
				empty = append(empty, p.Code)
			}
		}
		if len(empty) > 0 {
			return nil, sum, &EmptyPoolsError{Codes: empty}
		}
	}
	prog := progress.New(cfg.Log, cfg.ProgressEvery)
	prog.Start("synonyms select")
	out := make([]synonyms.Selection, len(pools))
	for i, p := range pools {
		s, st, err := selectPool(p, cfg)
		if err != nil {
			return nil, sum, fmt.Errorf("code %s: %w", p.Code, err)
		}
		out[i] = s
		sum.add(st, cfg.M)
		if st.searched && !s.Optimal && cfg.Log != nil {
			fmt.Fprintf(cfg.Log, "warning: code %s: MDP search stopped at the time limit (%v) after %d nodes; keeping the best selection found (objective %.6g), not proven optimal\n",
				p.Code, cfg.TimeLimit, st.nodes, s.Objective)
		}
		prog.Tick(int64(i+1), int64(len(pools)), "codes")
	}
	sum.Elapsed = time.Since(start)
	return out, sum, nil
}

// stats is what one pool adds to the Summary.
type stats struct {
	distinct, duplicates int
	capped, searched     bool
	optimal              bool
	nodes                int64
}

func (s *Summary) add(st stats, m int) {
	switch {
	case st.distinct == 0:
		s.Empty++
	case st.distinct < m:
		s.Small++
	}
	if st.capped {
		s.Capped++
	}
	s.Duplicates += st.duplicates
	if st.searched {
		s.Solved++
		if st.optimal {
			s.Optimal++
		}
		s.Nodes += st.nodes
	}
}

// Select chooses the synonyms of one pool (see the package doc).
func Select(p synonyms.Pool, cfg Config) (synonyms.Selection, error) {
	if err := cfg.check(); err != nil {
		return synonyms.Selection{}, err
	}
	s, _, err := selectPool(p, cfg)
	return s, err
}

func selectPool(p synonyms.Pool, cfg Config) (synonyms.Selection, stats, error) {
	texts, dups := distinct(p.Candidates)
	st := stats{duplicates: dups, optimal: true}
	var notes []string
	if p.Note != "" {
		notes = append(notes, p.Note)
	}
	if cfg.MaxPool > 0 && len(texts) > cfg.MaxPool {
		notes = append(notes, fmt.Sprintf("pool capped at its first %d of %d distinct candidates", cfg.MaxPool, len(texts)))
		texts = texts[:cfg.MaxPool]
		st.capped = true
	}
	n, m := len(texts), cfg.M
	st.distinct = n
	sel := synonyms.Selection{Code: p.Code, PoolSize: len(p.Candidates), Criterion: string(cfg.Criterion), Optimal: true}

	if n == 0 {
		if !cfg.AllowEmpty {
			return sel, st, &EmptyPoolsError{Codes: []string{p.Code}}
		}
		fill := EmptyFill(p.Code)
		sel.Synonyms = make([]string, m)
		for i := range sel.Synonyms {
			sel.Synonyms[i] = fill
		}
		sel.Distinct = 1
		sel.Note = strings.Join(append(notes, fmt.Sprintf("empty pool: filled with %q", fill)), "; ")
		return sel, st, nil
	}

	var chosen []int // indices into texts, increasing
	var dist mdp.Matrix
	if cfg.Criterion == MDP && n >= 2 {
		d := cfg.Distances
		if d == nil {
			d = TFIDF{}
		}
		var err error
		if dist, err = d.Distances(texts); err != nil {
			return sel, st, fmt.Errorf("distances: %w", err)
		}
		if dist.N != n {
			return sel, st, fmt.Errorf("distances: %d×%d matrix for %d candidates", dist.N, dist.N, n)
		}
		if err := dist.Validate(); err != nil {
			return sel, st, err
		}
	}
	switch {
	case n <= m:
		chosen = make([]int, n)
		for i := range chosen {
			chosen[i] = i
		}
		if n < m {
			notes = append(notes, fmt.Sprintf("%d distinct %s for %d slots: repeated in pool order", n, plural(n, "candidate"), m))
		}
	case cfg.Criterion == Random:
		var err error
		if chosen, err = mdp.Random(n, m, codeRand(cfg.Seed, p.Code)); err != nil {
			return sel, st, err
		}
	default:
		opt := mdp.Options{Workers: cfg.Workers}
		if cfg.TimeLimit > 0 {
			opt.Deadline = time.Now().Add(cfg.TimeLimit)
		}
		res, err := mdp.Solve(dist, m, opt)
		if err != nil {
			return sel, st, err
		}
		chosen = res.Indices
		st.searched, st.optimal, st.nodes = true, res.Optimal, res.Nodes
		sel.Optimal = res.Optimal
		if !res.Optimal {
			notes = append(notes, fmt.Sprintf("MDP search stopped at the time limit %v: best found, not proven optimal", cfg.TimeLimit))
		}
	}
	if dist.N > 0 {
		sel.Objective = mdp.Value(dist, chosen)
	}
	sel.Distinct = len(chosen)
	sel.Synonyms = make([]string, m)
	for i := range sel.Synonyms {
		sel.Synonyms[i] = texts[chosen[i%len(chosen)]]
	}
	sel.Note = strings.Join(notes, "; ")
	return sel, st, nil
}

func plural(n int, word string) string {
	if n == 1 {
		return word
	}
	return word + "s"
}

// distinct returns the candidate texts without repeats, first occurrence
// first, and how many repeats were dropped.
func distinct(cands []synonyms.Candidate) ([]string, int) {
	seen := make(map[string]bool, len(cands))
	texts := make([]string, 0, len(cands))
	for _, c := range cands {
		if !seen[c.Text] {
			seen[c.Text] = true
			texts = append(texts, c.Text)
		}
	}
	return texts, len(cands) - len(texts)
}

// codeRand returns the random source of one code: PCG seeded with the run's
// seed and a hash of the code, so that each code's draw is independent of the
// others and of their order.
func codeRand(seed uint64, code string) *rand.Rand {
	h := fnv.New64a()
	h.Write([]byte(code))
	return rand.New(rand.NewPCG(seed, h.Sum64()))
}
