// Package table builds a dataset from a user's own table of notes: a CSV file
// with a header row or a JSON Lines file (either may be gzip-compressed),
// with columns for the id, the text, the codes (diagnoses, and optionally
// procedures in a column of their own) and optionally the split.
//
// Codes in a CSV cell are separated by Options.Sep (";" by default); in JSON
// Lines a codes field may be an array of strings or one string split the same
// way. Without a split column, each document's split is drawn from a hash of
// its id and the seed, so it does not depend on row order. The file is read
// twice (once to check it and count codes, once to write), so memory does not
// grow with the size of the text.
package table

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/icdcode/icdcode/data/csvtable"
	"github.com/icdcode/icdcode/data/dataset"
	"github.com/icdcode/icdcode/data/fileio"
	"github.com/icdcode/icdcode/data/icd"
	"github.com/icdcode/icdcode/data/labelspace"
	"github.com/icdcode/icdcode/data/prepare"
	"github.com/icdcode/icdcode/data/textnorm"
)

// Options configures Prepare.
type Options struct {
	In     string
	Format string // "csv" or "jsonl"; "" decides by the file extension
	// Column (CSV) or field (JSONL) names. DiagCol is required; ProcCol,
	// SplitCol and MetaCols are optional.
	IDCol, TextCol, DiagCol, ProcCol, SplitCol string
	MetaCols                                   []string
	Sep                                        string
	System                                     icd.System
	// Used when there is no split column.
	DevFrac, TestFrac float64
	Seed              uint64

	Labels  prepare.Labels
	CountOn string // "train" or "all"
	Text    textnorm.Policy
	Gzip    bool
	Out     string
	Command string
}

// row is one input document before the label space is applied.
type row struct {
	line             int
	id, text, split  string
	diagRaw, procRaw []string
	meta             map[string]string
}

// Prepare builds a dataset folder from a table.
func Prepare(o Options) (prepare.Summary, error) {
	if err := o.check(); err != nil {
		return prepare.Summary{}, err
	}
	counts := labelspace.NewCounts()
	seen := map[string]int{}
	// Pass 1: check every row and count codes.
	err := o.scan(func(r row) error {
		if prev, dup := seen[r.id]; dup {
			return fmt.Errorf("%s line %d, field %s: id %q repeats line %d", o.In, r.line, o.IDCol, r.id, prev)
		}
		seen[r.id] = r.line
		diag, proc, err := o.codes(r)
		if err != nil {
			return err
		}
		if o.CountOn == "all" || r.split == o.CountOn {
			counts.AddDoc(diag, proc)
		}
		return nil
	})
	if err != nil {
		return prepare.Summary{}, err
	}
	if counts.Docs == 0 {
		return prepare.Summary{}, fmt.Errorf("%s: no %s documents to count codes on", o.In, o.CountOn)
	}
	seen = nil
	o.Labels.Spec.CountOn = map[string]string{"all": "every split", "train": "the train split"}[o.CountOn]
	m := dataset.Manifest{
		Name:       "table",
		Source:     "table",
		CodeSystem: string(o.System),
		TextPolicy: string(o.Text),
		Build:      dataset.BuildInfo{Command: o.Command, Inputs: []string{o.In}},
	}
	// Pass 2: write.
	return prepare.Write(o.Out, o.Gzip, counts, o.Labels, m, func(put func(prepare.Doc) error) error {
		return o.scan(func(r row) error {
			diag, proc, err := o.codes(r)
			if err != nil {
				return err
			}
			return put(prepare.Doc{ID: r.id, Text: textnorm.Apply(o.Text, r.text), Split: r.split, Meta: r.meta, Diag: diag, Proc: proc})
		})
	})
}

func (o *Options) check() error {
	if o.Format == "" {
		name := strings.TrimSuffix(strings.ToLower(o.In), ".gz")
		switch {
		case strings.HasSuffix(name, ".csv"):
			o.Format = "csv"
		case strings.HasSuffix(name, ".jsonl"), strings.HasSuffix(name, ".ndjson"):
			o.Format = "jsonl"
		default:
			return fmt.Errorf("%s: cannot tell the format from the name; give --format csv or jsonl", o.In)
		}
	}
	if o.Format != "csv" && o.Format != "jsonl" {
		return fmt.Errorf("unknown format %q (want csv or jsonl)", o.Format)
	}
	if o.IDCol == "" || o.TextCol == "" || o.DiagCol == "" {
		return fmt.Errorf("the id, text and codes columns must be named")
	}
	if o.Sep == "" {
		return fmt.Errorf("the code separator must not be empty")
	}
	if o.SplitCol == "" && (o.DevFrac < 0 || o.TestFrac < 0 || o.DevFrac+o.TestFrac >= 1) {
		return fmt.Errorf("dev and test fractions must be non-negative and sum below 1")
	}
	if o.CountOn != "train" && o.CountOn != "all" {
		return fmt.Errorf("count-on %q: want train or all", o.CountOn)
	}
	return nil
}

// codes normalises a row's codes; a bad code names the file, line and field.
func (o *Options) codes(r row) (diag, proc []string, err error) {
	norm := func(raw []string, kind icd.Kind, field string) ([]string, error) {
		var out []string
		for _, c := range raw {
			code, err := icd.Normalize(c, o.System, kind)
			if err != nil {
				return nil, fmt.Errorf("%s line %d, field %s: %w (document %s)", o.In, r.line, field, err, r.id)
			}
			out = append(out, code)
		}
		return out, nil
	}
	if diag, err = norm(r.diagRaw, icd.Diagnosis, o.DiagCol); err != nil {
		return nil, nil, err
	}
	if proc, err = norm(r.procRaw, icd.Procedure, o.ProcCol); err != nil {
		return nil, nil, err
	}
	return diag, proc, nil
}

// split assigns a split from the id when the table has no split column.
func (o *Options) split(id string) string {
	h := fnv.New64a()
	var seed [8]byte
	for i := range seed {
		seed[i] = byte(o.Seed >> (8 * i))
	}
	h.Write(seed[:])
	h.Write([]byte(id))
	// FNV's high bits mix poorly for short, similar ids: finish with the
	// splitmix64 finaliser before taking the top 53 bits as a uniform draw.
	x := h.Sum64()
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	u := float64(x>>11) / float64(1<<53)
	switch {
	case u < o.TestFrac:
		return "test"
	case u < o.TestFrac+o.DevFrac:
		return "dev"
	}
	return "train"
}

func (o *Options) splitCodes(cell string) []string {
	var out []string
	for _, c := range strings.Split(cell, o.Sep) {
		if c = strings.TrimSpace(c); c != "" {
			out = append(out, c)
		}
	}
	return out
}

// finish checks the fields every format shares and fills the split.
func (o *Options) finish(r *row) error {
	if r.id == "" {
		return fmt.Errorf("%s line %d, field %s: empty id", o.In, r.line, o.IDCol)
	}
	if strings.TrimSpace(r.text) == "" {
		return fmt.Errorf("%s line %d, field %s: empty note (document %s)", o.In, r.line, o.TextCol, r.id)
	}
	if o.SplitCol == "" {
		r.split = o.split(r.id)
		return nil
	}
	s, err := dataset.NormalizeSplit(strings.ToLower(strings.TrimSpace(r.split)))
	if err != nil {
		return fmt.Errorf("%s line %d, field %s: %w (document %s)", o.In, r.line, o.SplitCol, err, r.id)
	}
	r.split = s
	return nil
}

func (o *Options) scan(fn func(row) error) error {
	if o.Format == "csv" {
		return o.scanCSV(fn)
	}
	return o.scanJSONL(fn)
}

func (o *Options) scanCSV(fn func(row) error) error {
	t, err := csvtable.Open(o.In)
	if err != nil {
		return err
	}
	defer t.Close()
	col := func(name string) (int, error) {
		if name == "" {
			return -1, nil
		}
		return t.Column(name)
	}
	var idx [5]int
	for i, name := range []string{o.IDCol, o.TextCol, o.DiagCol, o.ProcCol, o.SplitCol} {
		if idx[i], err = col(name); err != nil {
			return err
		}
	}
	metaIdx := make([]int, len(o.MetaCols))
	for i, name := range o.MetaCols {
		if metaIdx[i], err = t.Column(name); err != nil {
			return err
		}
	}
	for {
		rec, err := t.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		r := row{line: t.Line(), id: strings.TrimSpace(rec[idx[0]]), text: rec[idx[1]], diagRaw: o.splitCodes(rec[idx[2]])}
		if idx[3] >= 0 {
			r.procRaw = o.splitCodes(rec[idx[3]])
		}
		if idx[4] >= 0 {
			r.split = rec[idx[4]]
		}
		if len(metaIdx) > 0 {
			r.meta = map[string]string{}
			for i, j := range metaIdx {
				r.meta[o.MetaCols[i]] = rec[j]
			}
		}
		if err := o.finish(&r); err != nil {
			return err
		}
		if err := fn(r); err != nil {
			return err
		}
	}
}

func (o *Options) scanJSONL(fn func(row) error) error {
	f, err := fileio.Open(o.In)
	if err != nil {
		return err
	}
	defer f.Close()
	br := bufio.NewReaderSize(f, 1<<20)
	for line := 1; ; line++ {
		raw, rerr := br.ReadBytes('\n')
		if rerr != nil && rerr != io.EOF {
			return fmt.Errorf("%s line %d: %w", o.In, line, rerr)
		}
		if len(bytes.TrimSpace(raw)) > 0 {
			r, err := o.decodeJSON(raw, line)
			if err != nil {
				return err
			}
			if err := o.finish(&r); err != nil {
				return err
			}
			if err := fn(r); err != nil {
				return err
			}
		}
		if rerr == io.EOF {
			return nil
		}
	}
}

func (o *Options) decodeJSON(raw []byte, line int) (row, error) {
	r := row{line: line}
	if !utf8.Valid(raw) {
		return r, fmt.Errorf("%s line %d: invalid UTF-8", o.In, line)
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil {
		return r, fmt.Errorf("%s line %d: malformed JSON: %w", o.In, line, err)
	}
	field := func(name string, required bool) (json.RawMessage, error) {
		v, ok := obj[name]
		if !ok && required {
			return nil, fmt.Errorf("%s line %d: missing field %s", o.In, line, name)
		}
		return v, nil
	}
	str := func(name string, required bool) (string, error) {
		v, err := field(name, required)
		if err != nil || v == nil {
			return "", err
		}
		var s string
		if err := json.Unmarshal(v, &s); err == nil {
			return s, nil
		}
		var n json.Number
		if err := json.Unmarshal(v, &n); err == nil {
			return n.String(), nil
		}
		return "", fmt.Errorf("%s line %d, field %s: not a string", o.In, line, name)
	}
	list := func(name string, required bool) ([]string, error) {
		v, err := field(name, required)
		if err != nil || v == nil || string(v) == "null" {
			return nil, err
		}
		var xs []string
		if err := json.Unmarshal(v, &xs); err == nil {
			return xs, nil
		}
		var s string
		if err := json.Unmarshal(v, &s); err == nil {
			return o.splitCodes(s), nil
		}
		return nil, fmt.Errorf("%s line %d, field %s: want an array of strings or a string", o.In, line, name)
	}
	var err error
	if r.id, err = str(o.IDCol, true); err != nil {
		return r, err
	}
	r.id = strings.TrimSpace(r.id)
	if r.text, err = str(o.TextCol, true); err != nil {
		return r, err
	}
	if r.diagRaw, err = list(o.DiagCol, true); err != nil {
		return r, err
	}
	if o.ProcCol != "" {
		if r.procRaw, err = list(o.ProcCol, true); err != nil {
			return r, err
		}
	}
	if o.SplitCol != "" {
		if r.split, err = str(o.SplitCol, true); err != nil {
			return r, err
		}
	}
	for _, name := range o.MetaCols {
		v, err := str(name, true)
		if err != nil {
			return r, err
		}
		if r.meta == nil {
			r.meta = map[string]string{}
		}
		r.meta[name] = v
	}
	return r, nil
}
