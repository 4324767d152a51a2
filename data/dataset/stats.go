package dataset

import (
	"fmt"
	"sort"
)

// Stats summarises a dataset read end to end.
type Stats struct {
	Docs       map[string]int // documents per split
	Codes      map[string]int // code assignments per split
	Chars      map[string]int // text characters (bytes) per split
	LabelDocs  []int          // training documents per label, in label order
	Unlabelled map[string]int // documents with no code, per split
}

// Verify streams every document (so every line is checked) and checks the
// counts against the manifest.
func (ds *Dataset) Verify() (Stats, error) {
	st := Stats{Docs: map[string]int{}, Codes: map[string]int{}, Chars: map[string]int{},
		LabelDocs: make([]int, len(ds.Labels)), Unlabelled: map[string]int{}}
	total, assigned := 0, 0
	for d, err := range ds.Docs() {
		if err != nil {
			return st, err
		}
		st.Docs[d.Split]++
		st.Codes[d.Split] += len(d.Codes)
		st.Chars[d.Split] += len(d.Text)
		if len(d.Codes) == 0 {
			st.Unlabelled[d.Split]++
		}
		if d.Split == "train" {
			for _, c := range d.Codes {
				st.LabelDocs[ds.index[c]]++
			}
		}
		total++
		assigned += len(d.Codes)
	}
	m := ds.Manifest
	for _, s := range Splits {
		if m.Counts[s] != st.Docs[s] {
			return st, fmt.Errorf("%s: counts.%s = %d but %s holds %d %s documents", ManifestFile, s, m.Counts[s], m.DocsFile, st.Docs[s], s)
		}
	}
	if m.Documents != total || m.Labels.CodeAssignments != assigned {
		return st, fmt.Errorf("%s: documents = %d, code_assignments = %d, but %s holds %d and %d", ManifestFile, m.Documents, m.Labels.CodeAssignments, m.DocsFile, total, assigned)
	}
	return st, nil
}

// Quantiles returns the minimum, median and maximum of xs (zeros when empty).
func Quantiles(xs []int) (lo, med, hi int) {
	if len(xs) == 0 {
		return 0, 0, 0
	}
	s := append([]int(nil), xs...)
	sort.Ints(s)
	return s[0], s[len(s)/2], s[len(s)-1]
}
