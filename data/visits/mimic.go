package visits

import (
	"cmp"
	"errors"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/icdcode/icdcode/data/csvtable"
	"github.com/icdcode/icdcode/data/icd"
)

// MIMICOptions names the MIMIC-III tables to read. Procedures may be empty.
type MIMICOptions struct {
	Admissions string // ADMISSIONS.csv(.gz): SUBJECT_ID, HADM_ID, ADMITTIME
	Diagnoses  string // DIAGNOSES_ICD.csv(.gz): HADM_ID, ICD9_CODE
	Procedures string // optional PROCEDURES_ICD.csv(.gz): HADM_ID, ICD9_CODE
	// MinVisits drops patients with fewer non-empty visits; 0 means 2, the
	// reference's filter (Med2Vec's visit loss needs a neighbouring visit).
	MinVisits int
}

// mimicTime is the MIMIC-III timestamp layout (the reference's strptime
// format '%Y-%m-%d %H:%M:%S').
const mimicTime = "2006-01-02 15:04:05"

type admission struct {
	subject int64
	hadm    int64
	t       time.Time
	codes   []string
}

// ReadMIMIC reads MIMIC-III admissions with their diagnosis (and optionally
// procedure) codes into a corpus, following process_mimic.py minus its
// unquoted-code bug (see the package comment for the code strings and
// orderings). Memory is proportional to the number of admissions and code
// rows. Errors name the file, line and column.
func ReadMIMIC(opt MIMICOptions) (*Corpus, Skips, error) {
	var sk Skips
	minVisits := opt.MinVisits
	if minVisits == 0 {
		minVisits = 2
	}
	adms, err := readAdmissions(opt.Admissions)
	if err != nil {
		return nil, sk, err
	}
	if err := readCodes(opt.Diagnoses, "D_", icd.Diagnosis, adms, &sk); err != nil {
		return nil, sk, err
	}
	if opt.Procedures != "" {
		if err := readCodes(opt.Procedures, "P_", icd.Procedure, adms, &sk); err != nil {
			return nil, sk, err
		}
	}
	list := make([]*admission, 0, len(adms))
	for _, a := range adms {
		list = append(list, a)
	}
	slices.SortFunc(list, func(a, b *admission) int {
		if c := cmp.Compare(a.subject, b.subject); c != 0 {
			return c
		}
		if c := a.t.Compare(b.t); c != 0 {
			return c
		}
		return cmp.Compare(a.hadm, b.hadm)
	})
	var ps []Patient
	for i, a := range list {
		if i == 0 || list[i-1].subject != a.subject {
			ps = append(ps, Patient{ID: strconv.FormatInt(a.subject, 10)})
		}
		p := &ps[len(ps)-1]
		p.Visits = append(p.Visits, Visit{Time: a.t, Codes: a.codes})
	}
	return finish(ps, minVisits, &sk), sk, nil
}

func readAdmissions(path string) (map[int64]*admission, error) {
	r, err := csvtable.Open(path)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	cols, err := r.Columns("SUBJECT_ID", "HADM_ID", "ADMITTIME")
	if err != nil {
		return nil, err
	}
	adms := map[int64]*admission{}
	for {
		rec, err := r.Next()
		if err == io.EOF {
			return adms, nil
		}
		if err != nil {
			return nil, err
		}
		subject, err := parseID(r, rec, cols[0])
		if err != nil {
			return nil, err
		}
		hadm, err := parseID(r, rec, cols[1])
		if err != nil {
			return nil, err
		}
		t, err := time.Parse(mimicTime, strings.TrimSpace(rec[cols[2]]))
		if err != nil {
			return nil, r.Errorf(cols[2], "malformed admission time (want YYYY-MM-DD HH:MM:SS)")
		}
		if _, dup := adms[hadm]; dup {
			return nil, r.Errorf(cols[1], "admission %d appears twice", hadm)
		}
		adms[hadm] = &admission{subject: subject, hadm: hadm, t: t}
	}
}

// readCodes appends the codes of a DIAGNOSES_ICD- or PROCEDURES_ICD-shaped
// table to their admissions, in file order (the reference's order).
func readCodes(path, prefix string, kind icd.Kind, adms map[int64]*admission, sk *Skips) error {
	r, err := csvtable.Open(path)
	if err != nil {
		return err
	}
	defer r.Close()
	cols, err := r.Columns("HADM_ID", "ICD9_CODE")
	if err != nil {
		return err
	}
	for {
		rec, err := r.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		hadm, err := parseID(r, rec, cols[0])
		if err != nil {
			return err
		}
		// Quotes survive only when a file was written with doubled quotes
		// inside a quoted field; the reference assumed they were always there.
		code := strings.TrimSpace(strings.Trim(rec[cols[1]], `"`))
		if code == "" {
			sk.MissingCodes++
			continue
		}
		a, ok := adms[hadm]
		if !ok {
			sk.UnknownVisit++
			continue
		}
		for i := 0; i < len(code); i++ {
			c := code[i]
			if !(c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c == '.') {
				return r.Errorf(cols[1], "code has character %q; want letters, digits and dots", c)
			}
		}
		a.codes = append(a.codes, prefix+icd.FormatICD9(strings.ToUpper(code), kind))
	}
}

func parseID(r *csvtable.Reader, rec []string, col int) (int64, error) {
	v, err := strconv.ParseInt(strings.TrimSpace(rec[col]), 10, 64)
	if err != nil {
		var ne *strconv.NumError
		if errors.As(err, &ne) && ne.Err == strconv.ErrRange {
			return 0, r.Errorf(col, "id out of range")
		}
		return 0, r.Errorf(col, "id is not an integer")
	}
	return v, nil
}
