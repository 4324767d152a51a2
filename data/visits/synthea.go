package visits

import (
	"io"
	"slices"
	"strings"
	"time"

	"github.com/icdcode/icdcode/data/csvtable"
)

// SyntheaOptions names the Synthea CSV tables to read.
type SyntheaOptions struct {
	Encounters string // encounters.csv: Id, START, PATIENT
	Conditions string // conditions.csv: ENCOUNTER, CODE
	MinVisits  int    // 0 means 2, as for MIMIC
}

type encounter struct {
	key     visitKey
	patient string
	codes   []string
}

// ReadSynthea reads Synthea encounters and the conditions recorded at them:
// one visit per encounter with at least one condition, ordered by START
// (RFC 3339, as Synthea writes it) and then encounter Id; patients ordered by
// Id as strings. Codes are the SNOMED CT CODE strings as written, in file
// order. Encounters without conditions are counted as empty visits.
func ReadSynthea(opt SyntheaOptions) (*Corpus, Skips, error) {
	var sk Skips
	minVisits := opt.MinVisits
	if minVisits == 0 {
		minVisits = 2
	}
	encs := map[string]*encounter{}
	r, err := csvtable.Open(opt.Encounters)
	if err != nil {
		return nil, sk, err
	}
	defer r.Close()
	cols, err := r.Columns("Id", "START", "PATIENT")
	if err != nil {
		return nil, sk, err
	}
	for {
		rec, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, sk, err
		}
		id := strings.TrimSpace(rec[cols[0]])
		if id == "" {
			return nil, sk, r.Errorf(cols[0], "empty encounter id")
		}
		t, err := time.Parse(time.RFC3339, strings.TrimSpace(rec[cols[1]]))
		if err != nil {
			return nil, sk, r.Errorf(cols[1], "malformed start time (want RFC 3339, e.g. 2022-07-20T07:13:55Z)")
		}
		pat := strings.TrimSpace(rec[cols[2]])
		if pat == "" {
			return nil, sk, r.Errorf(cols[2], "empty patient id")
		}
		if _, dup := encs[id]; dup {
			return nil, sk, r.Errorf(cols[0], "encounter appears twice")
		}
		encs[id] = &encounter{key: visitKey{t: t, id: id}, patient: pat}
	}
	r.Close()

	c, err := csvtable.Open(opt.Conditions)
	if err != nil {
		return nil, sk, err
	}
	defer c.Close()
	ccols, err := c.Columns("ENCOUNTER", "CODE")
	if err != nil {
		return nil, sk, err
	}
	for {
		rec, err := c.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, sk, err
		}
		code := strings.TrimSpace(rec[ccols[1]])
		if code == "" {
			sk.MissingCodes++
			continue
		}
		e, ok := encs[strings.TrimSpace(rec[ccols[0]])]
		if !ok {
			sk.UnknownVisit++
			continue
		}
		e.codes = append(e.codes, code)
	}

	list := make([]*encounter, 0, len(encs))
	for _, e := range encs {
		list = append(list, e)
	}
	slices.SortFunc(list, func(a, b *encounter) int {
		if c := strings.Compare(a.patient, b.patient); c != 0 {
			return c
		}
		return cmpVisitKey(a.key, b.key)
	})
	var ps []Patient
	for i, e := range list {
		if i == 0 || list[i-1].patient != e.patient {
			ps = append(ps, Patient{ID: e.patient})
		}
		p := &ps[len(ps)-1]
		p.Visits = append(p.Visits, Visit{Time: e.key.t, Codes: e.codes})
	}
	return finish(ps, minVisits, &sk), sk, nil
}
