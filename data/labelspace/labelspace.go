// Package labelspace chooses a dataset's label space from code frequencies:
// the K most frequent codes, codes seen at least N times, diagnoses,
// procedures or both, or a fixed list. Frequencies are document frequencies
// (a code counts once per document).
//
// Order: diagnoses sorted by code string, then procedures sorted by code
// string; the reference MSAM system's label encoder for MIMIC-III-50 has this
// order. A fixed list keeps the order it is given in.
package labelspace

import (
	"fmt"
	"sort"
	"strings"
)

// Kinds says which kinds of code enter the label space.
type Kinds string

const (
	Diagnoses  Kinds = "diagnoses"
	Procedures Kinds = "procedures"
	Both       Kinds = "both"
)

// ParseKinds reads --codes.
func ParseKinds(s string) (Kinds, error) {
	switch strings.ToLower(s) {
	case "diagnoses", "diag", "d":
		return Diagnoses, nil
	case "procedures", "proc", "p":
		return Procedures, nil
	case "both", "all":
		return Both, nil
	}
	return "", fmt.Errorf("unknown code kinds %q (want diagnoses, procedures or both)", s)
}

// Counts holds document frequencies per code, by kind.
type Counts struct {
	Diag, Proc map[string]int
	Docs       int
}

// NewCounts returns empty counts.
func NewCounts() *Counts { return &Counts{Diag: map[string]int{}, Proc: map[string]int{}} }

// AddDoc counts one document's codes; repeats within the document count once.
func (c *Counts) AddDoc(diag, proc []string) {
	c.Docs++
	addOnce(c.Diag, diag)
	addOnce(c.Proc, proc)
}

func addOnce(m map[string]int, codes []string) {
	for i, code := range codes {
		repeated := false
		for _, prev := range codes[:i] {
			if prev == code {
				repeated = true
				break
			}
		}
		if !repeated {
			m[code]++
		}
	}
}

// Spec describes the label space wanted.
type Spec struct {
	Kinds    Kinds
	Top      int      // keep the Top most frequent codes (0: no limit)
	MinCount int      // keep codes with at least MinCount documents (0: no limit)
	Fixed    []string // a fixed list (Top and MinCount must then be 0)
	CountOn  string   // which documents were counted, for the description
}

// Result is the chosen label space.
type Result struct {
	Labels     []string
	Diagnoses  int
	Procedures int
	Selection  string // a sentence saying how the labels were chosen
	Order      string // a sentence saying how they are ordered
	Warnings   []string
}

type coded struct {
	code  string
	count int
	proc  bool
}

// Select applies spec to counts.
func Select(c *Counts, spec Spec) (Result, error) {
	if spec.Top < 0 || spec.MinCount < 0 {
		return Result{}, fmt.Errorf("--top and --min-count must not be negative")
	}
	if len(spec.Fixed) > 0 {
		if spec.Top > 0 || spec.MinCount > 0 {
			return Result{}, fmt.Errorf("a fixed label list cannot be combined with --top or --min-count")
		}
		return fixed(c, spec)
	}
	var pool []coded
	if spec.Kinds != Procedures {
		for code, n := range c.Diag {
			pool = append(pool, coded{code, n, false})
		}
	}
	if spec.Kinds != Diagnoses {
		for code, n := range c.Proc {
			if _, clash := c.Diag[code]; clash && spec.Kinds == Both {
				return Result{}, fmt.Errorf("code %q occurs both as a diagnosis and as a procedure", code)
			}
			pool = append(pool, coded{code, n, true})
		}
	}
	kept := pool[:0]
	for _, p := range pool {
		if p.count >= spec.MinCount {
			kept = append(kept, p)
		}
	}
	pool = kept
	// Rank by frequency, ties by code, so the top-K cut is deterministic.
	sort.Slice(pool, func(i, j int) bool {
		if pool[i].count != pool[j].count {
			return pool[i].count > pool[j].count
		}
		return pool[i].code < pool[j].code
	})
	var warnings []string
	if spec.Top > 0 && len(pool) > spec.Top {
		if pool[spec.Top-1].count == pool[spec.Top].count {
			warnings = append(warnings, fmt.Sprintf("the top-%d cut falls inside a tie at %d documents; ties were broken by code string", spec.Top, pool[spec.Top].count))
		}
		pool = pool[:spec.Top]
	}
	if len(pool) == 0 {
		return Result{}, fmt.Errorf("the label space is empty: no %s code meets the selection", spec.Kinds)
	}
	sort.Slice(pool, func(i, j int) bool {
		if pool[i].proc != pool[j].proc {
			return !pool[i].proc
		}
		return pool[i].code < pool[j].code
	})
	res := Result{Warnings: warnings, Order: "diagnoses sorted by code, then procedures sorted by code"}
	for _, p := range pool {
		res.Labels = append(res.Labels, p.code)
		if p.proc {
			res.Procedures++
		} else {
			res.Diagnoses++
		}
	}
	res.Selection = describe(spec, len(pool))
	return res, nil
}

func describe(spec Spec, n int) string {
	var parts []string
	if spec.Top > 0 {
		parts = append(parts, fmt.Sprintf("the %d most frequent", spec.Top))
	} else {
		parts = append(parts, "all")
	}
	parts = append(parts, map[Kinds]string{Diagnoses: "diagnoses", Procedures: "procedures", Both: "diagnosis and procedure codes"}[spec.Kinds])
	if spec.MinCount > 0 {
		parts = append(parts, fmt.Sprintf("with at least %d documents", spec.MinCount))
	}
	s := strings.Join(parts, " ") + fmt.Sprintf(" (%d codes), by document frequency", n)
	if spec.CountOn != "" {
		s += " over " + spec.CountOn
	}
	return s
}

func fixed(c *Counts, spec Spec) (Result, error) {
	res := Result{Order: "as given in the label list", Selection: fmt.Sprintf("a fixed list of %d codes", len(spec.Fixed))}
	seen := map[string]bool{}
	unseen := 0
	for _, code := range spec.Fixed {
		if seen[code] {
			return Result{}, fmt.Errorf("label list repeats %q", code)
		}
		seen[code] = true
		_, d := c.Diag[code]
		_, p := c.Proc[code]
		switch {
		case p && !d:
			res.Procedures++
		case d:
			res.Diagnoses++
		default:
			unseen++
			res.Diagnoses++ // a code never seen counts with the diagnoses unless it looks otherwise
		}
	}
	if unseen > 0 {
		res.Warnings = append(res.Warnings, fmt.Sprintf("%d of the %d listed codes occur in no document", unseen, len(spec.Fixed)))
	}
	res.Labels = append([]string(nil), spec.Fixed...)
	return res, nil
}
