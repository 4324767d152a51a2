// Package candidates builds the candidate pools of `icdcode synonyms build`:
// for every code of a label space, the normalised strings that terminology
// sources (package sources) give for it, deduplicated, with the sources each
// string came from.
//
// The rules, in the order they apply:
//
//  1. Only entries of the label space and of the labels' ancestors are kept
//     (ancestors for the parent fallback), so memory follows the label space,
//     not the size of the sources, which are streamed.
//  2. Every string is normalised (Normalize); strings that come out empty or
//     longer than MaxChars characters are dropped and counted.
//  3. Per code, equal strings merge and keep every source tag.
//  4. A string found for two or more codes of the label space says nothing
//     that tells them apart (e.g. an index path that points at two codes) and
//     is dropped from every pool, as the reference drops Wikipedia items
//     shared between codes; the strings and pairs removed are counted.
//  5. A code left without strings takes those of its nearest ancestor that
//     has some (icd.Parent: S22.39X → S22.39 → S22.3 → S22), with the note
//     "from parent S22.3" and every tag prefixed "parent:"; a code with no
//     such ancestor keeps an empty pool, reported, for the select step to
//     handle.
//  6. Candidates are ordered by source priority (sources.Priority: the best
//     of the candidate's tags), then by text; tags within a candidate the
//     same way. A later deterministic cap on the pool size therefore keeps
//     the official titles first.
package candidates

import (
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/icdcode/icdcode/data/dataset"
	"github.com/icdcode/icdcode/data/icd"
	"github.com/icdcode/icdcode/data/synonyms"
	"github.com/icdcode/icdcode/data/synonyms/sources"
)

// DefaultMaxChars is the reference's length limit on a candidate (§4).
// Strings of more than MaxChars characters (code points, after
// normalisation, since that is what is stored) are dropped; the reference
// kept strings strictly shorter than 512 characters, one character less; no
// string of the public terminology files comes near either (the longest, an
// ICD-10-CM tabular title, has 331).
const DefaultMaxChars = 512

// Config says what to build.
type Config struct {
	// Labels is the label space, in label order; every label must be a
	// canonical code of System.
	Labels []string
	System icd.System
	// MaxChars drops longer strings (characters after normalisation);
	// 0 means DefaultMaxChars.
	MaxChars int
	Sources  []sources.Spec
}

// SourceReport is what one source contributed.
type SourceReport struct {
	Kind string
	Path string
	// Read counts entries the parser produced; Matched those whose code is
	// in the label space; Ancestor those kept for a label's ancestor.
	Read, Matched, Ancestor int
	Stats                   sources.Stats
}

// Report summarises a build.
type Report struct {
	Labels  int
	Sources []SourceReport
	// WithCandidates counts labels with strings of their own; FromParent
	// those filled from an ancestor; Empty those with none.
	WithCandidates int
	FromParent     []string
	Empty          []string
	// DroppedEmpty and DroppedOverlong count (code, string) entries
	// dropped at normalisation; SharedStrings counts distinct strings
	// found for several labels and SharedPairs the (label, string) pairs
	// that removed.
	DroppedEmpty    int
	DroppedOverlong int
	SharedStrings   int
	SharedPairs     int
	MaxChars        int
	// Pool sizes over all labels (an empty pool counts as 0).
	PoolMin, PoolMax int
	PoolMedian       float64
}

// candidate is a string of one code under construction.
type candidate struct {
	sources map[string]struct{}
}

// Build reads every source and returns one pool per label, in label order.
func Build(cfg Config) ([]synonyms.Pool, Report, error) {
	rep := Report{Labels: len(cfg.Labels), MaxChars: cfg.MaxChars}
	if rep.MaxChars <= 0 {
		rep.MaxChars = DefaultMaxChars
	}
	if len(cfg.Labels) == 0 {
		return nil, rep, fmt.Errorf("empty label space")
	}
	if len(cfg.Sources) == 0 {
		return nil, rep, fmt.Errorf("no sources")
	}
	isLabel := make(map[string]bool, len(cfg.Labels))
	for i, l := range cfg.Labels {
		if err := checkLabel(l, cfg.System); err != nil {
			return nil, rep, fmt.Errorf("label %d: %w", i+1, err)
		}
		isLabel[l] = true
	}
	// wanted: labels and their ancestors (for the parent fallback).
	wanted := make(map[string]bool, 2*len(cfg.Labels))
	for _, l := range cfg.Labels {
		for c := l; c != ""; c = icd.Parent(c) {
			wanted[c] = true
		}
	}
	pools := map[string]map[string]*candidate{}

	for _, spec := range cfg.Sources {
		info, ok := sources.LookupKind(spec.Kind)
		if !ok {
			return nil, rep, fmt.Errorf("source %s: unknown kind %q", spec.Path, spec.Kind)
		}
		if info.System != "" && info.System != cfg.System {
			return nil, rep, fmt.Errorf("source %s=%s gives %s codes but the label space is %s", spec.Kind, spec.Path, info.System, cfg.System)
		}
		if spec.Options.System == "" {
			spec.Options.System = cfg.System
		}
		if info.System == "" && spec.Options.Kind == "" && spec.Options.Resolve == nil {
			spec.Options.Resolve = labelResolver(cfg.System, wanted)
		}
		sr := SourceReport{Kind: spec.Kind, Path: spec.Path}
		st, err := sources.Parse(spec, func(e sources.Entry) error {
			sr.Read++
			if !wanted[e.Code] {
				return nil
			}
			if isLabel[e.Code] {
				sr.Matched++
			} else {
				sr.Ancestor++
			}
			text := Normalize(e.Term)
			switch {
			case text == "":
				rep.DroppedEmpty++
				return nil
			case charLen(text) > rep.MaxChars:
				rep.DroppedOverlong++
				return nil
			}
			p := pools[e.Code]
			if p == nil {
				p = map[string]*candidate{}
				pools[e.Code] = p
			}
			c := p[text]
			if c == nil {
				c = &candidate{sources: map[string]struct{}{}}
				p[text] = c
			}
			c.sources[e.Source] = struct{}{}
			return nil
		})
		sr.Stats = st
		rep.Sources = append(rep.Sources, sr)
		if err != nil {
			return nil, rep, fmt.Errorf("source %s: %w", spec.Kind, err)
		}
		if st.Entries == 0 {
			msg := fmt.Sprintf("source %s=%s: no entries", spec.Kind, spec.Path)
			if st.SkippedTotal() > 0 {
				for _, r := range sortedKeys(st.Examples) {
					msg += fmt.Sprintf("; %d skipped as %s (first: %s)", st.Skipped[r], r, st.Examples[r])
				}
			}
			return nil, rep, fmt.Errorf("%s", msg)
		}
	}

	// Rule 4: strings shared by several labels.
	owners := map[string]int{}
	for _, l := range cfg.Labels {
		for text := range pools[l] {
			owners[text]++
		}
	}
	shared := map[string]bool{}
	for text, n := range owners {
		if n >= 2 {
			shared[text] = true
			rep.SharedStrings++
			rep.SharedPairs += n
		}
	}
	// Ancestor pools lose them too: a string that cannot tell two labels
	// apart should not stand for a label through the parent fallback.
	for _, p := range pools {
		for text := range p {
			if shared[text] {
				delete(p, text)
			}
		}
	}

	out := make([]synonyms.Pool, len(cfg.Labels))
	sizes := make([]int, len(cfg.Labels))
	for i, l := range cfg.Labels {
		out[i] = synonyms.Pool{Code: l, Candidates: []synonyms.Candidate{}}
		switch {
		case len(pools[l]) > 0:
			out[i].Candidates = ordered(pools[l], "")
			rep.WithCandidates++
		default:
			for a := icd.Parent(l); a != ""; a = icd.Parent(a) {
				if len(pools[a]) > 0 {
					out[i].Candidates = ordered(pools[a], "parent:")
					out[i].Note = "from parent " + a
					rep.FromParent = append(rep.FromParent, l)
					break
				}
			}
			if out[i].Note == "" {
				rep.Empty = append(rep.Empty, l)
			}
		}
		sizes[i] = len(out[i].Candidates)
	}
	slices.Sort(sizes)
	rep.PoolMin, rep.PoolMax = sizes[0], sizes[len(sizes)-1]
	if n := len(sizes); n%2 == 1 {
		rep.PoolMedian = float64(sizes[n/2])
	} else {
		rep.PoolMedian = float64(sizes[n/2-1]+sizes[n/2]) / 2
	}
	return out, rep, nil
}

// ordered turns a pool into candidates sorted by priority, then text.
func ordered(p map[string]*candidate, prefix string) []synonyms.Candidate {
	type item struct {
		text string
		srcs []string
		prio int
	}
	items := make([]item, 0, len(p))
	for text, c := range p {
		it := item{text: text, prio: 1 << 30}
		for s := range c.sources {
			s = prefix + s
			it.srcs = append(it.srcs, s)
			it.prio = min(it.prio, sources.Priority(s))
		}
		sort.Slice(it.srcs, func(a, b int) bool {
			pa, pb := sources.Priority(it.srcs[a]), sources.Priority(it.srcs[b])
			if pa != pb {
				return pa < pb
			}
			return it.srcs[a] < it.srcs[b]
		})
		items = append(items, it)
	}
	sort.Slice(items, func(a, b int) bool {
		if items[a].prio != items[b].prio {
			return items[a].prio < items[b].prio
		}
		return items[a].text < items[b].text
	})
	out := make([]synonyms.Candidate, len(items))
	for i, it := range items {
		out[i] = synonyms.Candidate{Text: it.text, Sources: it.srcs}
	}
	return out
}

// checkLabel requires a label to be spelled canonically in its system, as
// either a diagnosis or a procedure code; otherwise no source entry could
// ever match it.
func checkLabel(l string, sys icd.System) error {
	for _, k := range []icd.Kind{icd.Diagnosis, icd.Procedure} {
		if c, err := icd.Normalize(l, sys, k); err == nil && c == l {
			return nil
		}
	}
	return fmt.Errorf("%q is not a canonical %s code", l, sys)
}

// labelResolver resolves the raw codes of a tsv or umls-json file without a
// kind option: a code whose shape fits both a diagnosis and a procedure
// ("4019": 401.9 or 40.19; "B24BZZ4") is whichever of the two the label space
// (or its ancestors) holds; otherwise the shape rule of sources.ResolveCode
// decides.
func labelResolver(sys icd.System, wanted map[string]bool) func(string) (string, error) {
	return func(raw string) (string, error) {
		var hits []string
		for _, k := range []icd.Kind{icd.Diagnosis, icd.Procedure} {
			if c, err := sources.ResolveCode(raw, sys, k); err == nil && wanted[c] && !slices.Contains(hits, c) {
				hits = append(hits, c)
			}
		}
		switch len(hits) {
		case 1:
			return hits[0], nil
		case 2:
			return "", fmt.Errorf("%q is both %s and %s in the label space; give the source a :diagnosis or :procedure option", raw, hits[0], hits[1])
		}
		return sources.ResolveCode(raw, sys, "")
	}
}

// LabelSpace reads the label space for a build: from labelsPath, or from
// datasetDir's labels.txt. The code system is system when given, else the
// dataset manifest's code_system.
func LabelSpace(labelsPath, datasetDir, system string) ([]string, icd.System, error) {
	switch {
	case labelsPath != "" && datasetDir != "":
		return nil, "", fmt.Errorf("give --labels or --dataset, not both")
	case labelsPath == "" && datasetDir == "":
		return nil, "", fmt.Errorf("a label space is required: --labels FILE or --dataset DIR")
	}
	if datasetDir != "" {
		labelsPath = filepath.Join(datasetDir, dataset.LabelsFile)
		if system == "" {
			m, err := dataset.ReadManifest(filepath.Join(datasetDir, dataset.ManifestFile))
			if err != nil {
				return nil, "", fmt.Errorf("code system: %w (or give --system)", err)
			}
			system = m.CodeSystem
		}
	}
	if system == "" {
		return nil, "", fmt.Errorf("the code system is required with --labels: --system icd9|icd10")
	}
	sys, err := icd.ParseSystem(system)
	if err != nil {
		return nil, "", err
	}
	labels, err := dataset.ReadLabels(labelsPath)
	if err != nil {
		return nil, "", err
	}
	for i, l := range labels {
		if err := checkLabel(l, sys); err != nil {
			return nil, "", fmt.Errorf("%s line %d: %w", labelsPath, i+1, err)
		}
	}
	return labels, sys, nil
}

// Write prints the report for people.
func (r Report) Write(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "label space: %d codes\n", r.Labels)
	fmt.Fprintf(&b, "sources:\n")
	for _, s := range r.Sources {
		fmt.Fprintf(&b, "  %s %s\n", s.Kind, s.Path)
		fmt.Fprintf(&b, "    entries read %d, matched to labels %d, to ancestors %d\n", s.Read, s.Matched, s.Ancestor)
		if len(s.Stats.Counts) > 0 {
			var parts []string
			for _, k := range sortedKeys(s.Stats.Counts) {
				parts = append(parts, fmt.Sprintf("%s %d", k, s.Stats.Counts[k]))
			}
			fmt.Fprintf(&b, "    counts: %s\n", strings.Join(parts, ", "))
		}
		for _, k := range sortedKeys(s.Stats.Skipped) {
			fmt.Fprintf(&b, "    skipped %d as %s (first: %s)\n", s.Stats.Skipped[k], k, s.Stats.Examples[k])
		}
	}
	fmt.Fprintf(&b, "codes with candidates: %d\n", r.WithCandidates)
	fmt.Fprintf(&b, "codes filled from a parent: %d%s\n", len(r.FromParent), listSome(r.FromParent))
	fmt.Fprintf(&b, "codes without candidates: %d%s\n", len(r.Empty), listSome(r.Empty))
	fmt.Fprintf(&b, "strings dropped: %d shared by several labels (%d label-string pairs), %d longer than %d characters, %d empty after normalisation\n",
		r.SharedStrings, r.SharedPairs, r.DroppedOverlong, r.MaxChars, r.DroppedEmpty)
	fmt.Fprintf(&b, "pool size: min %d, median %g, max %d\n", r.PoolMin, r.PoolMedian, r.PoolMax)
	_, err := io.WriteString(w, b.String())
	return err
}

// listSome shows up to 20 codes after a count.
func listSome(codes []string) string {
	if len(codes) == 0 {
		return ""
	}
	if len(codes) > 20 {
		return " (" + strings.Join(codes[:20], " ") + fmt.Sprintf(" … and %d more)", len(codes)-20)
	}
	return " (" + strings.Join(codes, " ") + ")"
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
