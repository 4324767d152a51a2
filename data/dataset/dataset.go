// Package dataset defines icdcode's one dataset format and streams it.
//
// A dataset is a folder with three files:
//
//   - docs.jsonl or docs.jsonl.gz: one document per line, a JSON object with
//     "id", "text", "codes" (the document's codes inside the label space, in
//     label order), "split" ("train", "dev" or "test") and optional "meta"
//     (string keys and values, e.g. MIMIC's subject_id);
//   - labels.txt: the label space, one code a line, in label order;
//   - dataset.toml: the manifest (source, code system, counts per split, label
//     selection and order, and how the folder was built).
//
// Readers stream the documents, so memory stays bounded whatever the file
// size (only the set of document ids is kept, to reject duplicates).
package dataset

import (
	"fmt"
	"slices"
)

// File names inside a dataset folder.
const (
	ManifestFile = "dataset.toml"
	DocsFile     = "docs.jsonl"
	DocsFileGz   = "docs.jsonl.gz"
)

// FormatVersion is written to every manifest and checked on open.
const FormatVersion = "icdcode-dataset/1"

// Splits are the split names icdcode uses, in the order datasets are written.
var Splits = []string{"train", "dev", "test"}

// Doc is one document.
type Doc struct {
	ID    string            `json:"id"`
	Text  string            `json:"text"`
	Codes []string          `json:"codes"`
	Split string            `json:"split"`
	Meta  map[string]string `json:"meta,omitempty"`
}

// NormalizeSplit maps the split names found in published split files onto
// icdcode's ("val" and "validation" are "dev").
func NormalizeSplit(s string) (string, error) {
	switch s {
	case "train", "training":
		return "train", nil
	case "dev", "val", "valid", "validation":
		return "dev", nil
	case "test", "testing":
		return "test", nil
	}
	return "", fmt.Errorf("unknown split %q (want train, dev or test)", s)
}

// ValidSplit reports whether s is one of Splits.
func ValidSplit(s string) bool { return slices.Contains(Splits, s) }

// Manifest is the content of dataset.toml.
type Manifest struct {
	Format     string `toml:"format"`
	Name       string `toml:"name"`
	Source     string `toml:"source"`
	CodeSystem string `toml:"code_system"`
	Language   string `toml:"language,omitempty"`
	// TextPolicy says how note text was normalised (see package text).
	TextPolicy string         `toml:"text_policy"`
	DocsFile   string         `toml:"docs_file"`
	Documents  int            `toml:"documents"`
	Counts     map[string]int `toml:"counts"`
	Labels     LabelInfo      `toml:"labels"`
	Build      BuildInfo      `toml:"build"`
}

// LabelInfo describes the label space stored in labels.txt.
type LabelInfo struct {
	Count      int    `toml:"count"`
	Diagnoses  int    `toml:"diagnoses"`
	Procedures int    `toml:"procedures"`
	Selection  string `toml:"selection"`
	Order      string `toml:"order"`
	// CodeAssignments counts (document, code) pairs inside the label space.
	CodeAssignments int `toml:"code_assignments"`
}

// BuildInfo records how the folder was made, so a dataset can be rebuilt.
type BuildInfo struct {
	Command  string         `toml:"command"`
	Inputs   []string       `toml:"inputs"`
	Skipped  map[string]int `toml:"skipped,omitempty"`
	Warnings []string       `toml:"warnings,omitempty"`
}
