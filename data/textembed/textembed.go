// Package textembed embeds short strings without a neural model, so that
// synonym selection can tell how different two candidate strings are when no
// encoder is available.
//
// A string becomes a TF-IDF vector over its character n-grams (n = MinGram to
// MaxGram): the string is lower-cased, runs of white space are collapsed to one
// space, it is trimmed and then padded with one space on each side, so that
// n-grams at a word's start or end differ from those inside it. The term
// frequency is the raw count of an n-gram in the string. The inverse document
// frequency is computed over the texts given together (one code's candidate
// pool), with the smoothed form
//
//	idf(g) = ln((1+N)/(1+df(g))) + 1
//
// where N is the number of texts and df(g) the number of texts containing g.
// The "+1" keeps an n-gram shared by every text from vanishing: without it two
// strings whose only common n-grams occur everywhere in the pool would look
// unrelated. Vectors are L2-normalised, so cosine similarity is a dot product.
//
// Because weights are non-negative, the cosine lies in [0, 1]: two strings with
// no n-gram in common have distance 1 and identical strings distance 0.
package textembed

import (
	"math"
	"sort"
	"strings"
	"unicode"
)

// MinGram and MaxGram bound the character n-gram lengths.
const (
	MinGram = 2
	MaxGram = 4
)

// Vector is a sparse L2-normalised vector: Index is strictly increasing and
// Value[k] is the weight of dimension Index[k]. A text with no n-grams (empty
// after normalisation) has an empty vector.
type Vector struct {
	Index []int32
	Value []float64
}

// Normalize lower-cases s, collapses runs of white space into one space and
// trims it: the form the n-grams are taken from.
func Normalize(s string) string {
	return strings.Join(strings.FieldsFunc(strings.ToLower(s), unicode.IsSpace), " ")
}

// Grams returns the character n-grams of the normalised, space-padded s, in
// order of appearance, shorter n first; repeats are kept (they are the term
// frequency). The empty string has none.
func Grams(s string) []string {
	norm := Normalize(s)
	if norm == "" {
		return nil
	}
	r := []rune(" " + norm + " ")
	var grams []string
	for n := MinGram; n <= MaxGram; n++ {
		for i := 0; i+n <= len(r); i++ {
			grams = append(grams, string(r[i:i+n]))
		}
	}
	return grams
}

// Embed returns the TF-IDF vectors of texts, with the IDF computed over texts
// themselves (see the package doc). Dimensions are numbered in order of first
// appearance, so the result depends only on texts.
func Embed(texts []string) []Vector {
	ids := map[string]int32{}
	counts := make([]map[int32]int, len(texts))
	var df []int
	for i, t := range texts {
		c := map[int32]int{}
		for _, g := range Grams(t) {
			id, ok := ids[g]
			if !ok {
				id = int32(len(ids))
				ids[g] = id
				df = append(df, 0)
			}
			if c[id] == 0 {
				df[id]++
			}
			c[id]++
		}
		counts[i] = c
	}
	n := float64(len(texts))
	vecs := make([]Vector, len(texts))
	for i, c := range counts {
		v := Vector{Index: make([]int32, 0, len(c)), Value: make([]float64, 0, len(c))}
		for id := range c {
			v.Index = append(v.Index, id)
		}
		sort.Slice(v.Index, func(a, b int) bool { return v.Index[a] < v.Index[b] })
		// Summing in index order keeps the norm, hence every weight, independent
		// of map iteration order.
		var norm float64
		for _, id := range v.Index {
			w := float64(c[id]) * (math.Log((1+n)/(1+float64(df[id]))) + 1)
			v.Value = append(v.Value, w)
			norm += w * w
		}
		if norm > 0 {
			norm = math.Sqrt(norm)
			for k := range v.Value {
				v.Value[k] /= norm
			}
		}
		vecs[i] = v
	}
	return vecs
}

// Cosine returns the dot product of two normalised vectors: their cosine
// similarity, 0 when either is empty.
func Cosine(a, b Vector) float64 {
	var s float64
	for i, j := 0, 0; i < len(a.Index) && j < len(b.Index); {
		switch {
		case a.Index[i] < b.Index[j]:
			i++
		case a.Index[i] > b.Index[j]:
			j++
		default:
			s += a.Value[i] * b.Value[j]
			i++
			j++
		}
	}
	return s
}

// CosineDistances returns the n×n distance matrix of texts, row-major
// (D[i*n+j]), with D_ij = 1 − cos(e_i, e_j) over the TF-IDF vectors of Embed,
// clamped to [0, 2] and symmetrised as (D + Dᵀ)/2 the way the reference system
// treats its encoder's distances. Texts equal after normalisation, and every
// text with itself, are at distance exactly 0 (rounding would otherwise leave
// about 1e-16).
func CosineDistances(texts []string) []float64 {
	n := len(texts)
	vecs := Embed(texts)
	norm := make([]string, n)
	for i, t := range texts {
		norm[i] = Normalize(t)
	}
	raw := make([]float64, n*n)
	for i := 0; i < n; i++ {
		for j := 0; j < n; j++ {
			if i == j || norm[i] == norm[j] {
				continue
			}
			raw[i*n+j] = min(max(1-Cosine(vecs[i], vecs[j]), 0), 2)
		}
	}
	d := make([]float64, n*n)
	for i := 0; i < n; i++ {
		for j := 0; j < n; j++ {
			d[i*n+j] = (raw[i*n+j] + raw[j*n+i]) / 2
		}
	}
	return d
}
