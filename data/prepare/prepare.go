// Package prepare holds the part every `icdcode prepare` source shares: choose
// the label space from code counts, keep each document's codes inside it,
// drop (and count) documents left without codes, and write the dataset folder
// with a complete manifest. Sources (MIMIC-III, CodiEsp, user tables) only
// count codes and stream documents.
package prepare

import (
	"fmt"
	"path/filepath"
	"slices"

	"github.com/icdcode/icdcode/data/dataset"
	"github.com/icdcode/icdcode/data/labelspace"
)

// Labels says how to choose the label space and what to do with documents
// that have none of its codes.
type Labels struct {
	Spec labelspace.Spec
	// KeepUnlabelled keeps documents with no code in the label space (with an
	// empty code list) instead of dropping them. The reference pipelines drop
	// them; keeping them matters when evaluating on every document of a split.
	KeepUnlabelled bool
}

// Doc is a document with all its codes, before the label space is applied.
type Doc struct {
	ID, Text, Split string
	Meta            map[string]string
	Diag, Proc      []string
}

// Summary is what Write did: the manifest as written (warnings and skip
// counts are in its Build section).
type Summary struct {
	Manifest dataset.Manifest
}

// Write selects the label space from counts, streams the documents produced
// by emit into a new dataset folder at out, and commits it with manifest m
// completed (counts, labels, skipped documents; m.Build.Skipped is kept and
// added to, so emit may count skips of its own in it). emit calls put once per
// document and returns put's error, if any. Nothing is left at out on error.
func Write(out string, gz bool, counts *labelspace.Counts, lab Labels, m dataset.Manifest,
	emit func(put func(Doc) error) error) (Summary, error) {
	sel, err := labelspace.Select(counts, lab.Spec)
	if err != nil {
		return Summary{}, err
	}
	w, err := dataset.NewWriter(out, sel.Labels, gz)
	if err != nil {
		return Summary{}, err
	}
	defer w.Abort()
	inSpace := make(map[string]bool, len(sel.Labels))
	for _, l := range sel.Labels {
		inSpace[l] = true
	}
	// The source's own skip counts live in the same map, and a source may
	// keep adding to it from emit.
	skipped := m.Build.Skipped
	if skipped == nil {
		skipped = map[string]int{}
	}
	err = emit(func(d Doc) error {
		var codes []string
		if lab.Spec.Kinds != labelspace.Procedures {
			codes = appendIn(codes, d.Diag, inSpace)
		}
		if lab.Spec.Kinds != labelspace.Diagnoses {
			codes = appendIn(codes, d.Proc, inSpace)
		}
		if len(codes) == 0 && !lab.KeepUnlabelled {
			skipped["documents_without_label_codes"]++
			return nil
		}
		return w.Write(dataset.Doc{ID: d.ID, Text: d.Text, Codes: codes, Split: d.Split, Meta: d.Meta})
	})
	if err != nil {
		return Summary{}, err
	}
	m.Labels = dataset.LabelInfo{Diagnoses: sel.Diagnoses, Procedures: sel.Procedures, Selection: sel.Selection, Order: sel.Order}
	m.Build.Skipped = skipped
	m.Build.Warnings = append(m.Build.Warnings, sel.Warnings...)
	for _, s := range dataset.Splits {
		if w.Count(s) == 0 {
			m.Build.Warnings = append(m.Build.Warnings, fmt.Sprintf("split %s has no documents", s))
		}
	}
	if err := w.Commit(m); err != nil {
		return Summary{}, err
	}
	final, err := dataset.ReadManifest(filepath.Join(out, dataset.ManifestFile))
	if err != nil {
		return Summary{}, err
	}
	return Summary{Manifest: final}, nil
}

func appendIn(dst, codes []string, inSpace map[string]bool) []string {
	for _, c := range codes {
		if inSpace[c] && !slices.Contains(dst, c) {
			dst = append(dst, c)
		}
	}
	return dst
}
