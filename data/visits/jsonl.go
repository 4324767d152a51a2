package visits

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/icdcode/icdcode/data/fileio"
)

// jsonPatient is one line of the JSONL visit format (package comment).
type jsonPatient struct {
	ID     string      `json:"id"`
	Visits []jsonVisit `json:"visits"`
}

type jsonVisit struct {
	Time  string   `json:"time,omitempty"`
	Codes []string `json:"codes"`
}

// WriteJSONL writes the corpus atomically in the JSONL visit format.
func WriteJSONL(path string, c *Corpus) error {
	return fileio.WriteAtomic(path, func(w io.Writer) error {
		var zw io.WriteCloser
		if fileio.IsGzip(path) {
			gz := gzip.NewWriter(w)
			zw, w = gz, gz
		}
		enc := json.NewEncoder(w)
		enc.SetEscapeHTML(false)
		for _, p := range c.Patients {
			jp := jsonPatient{ID: p.ID, Visits: make([]jsonVisit, len(p.Visits))}
			for i, v := range p.Visits {
				jp.Visits[i].Codes = v.Codes
				if !v.Time.IsZero() {
					jp.Visits[i].Time = v.Time.Format(time.RFC3339Nano)
				}
			}
			if err := enc.Encode(jp); err != nil {
				return fmt.Errorf("write %s: patient %s: %w", path, p.ID, err)
			}
		}
		if zw != nil {
			if err := zw.Close(); err != nil {
				return fmt.Errorf("write %s: %w", path, err)
			}
		}
		return nil
	})
}

// ReadJSONL reads a file in the JSONL visit format. Errors name the file,
// line and field.
func ReadJSONL(path string) (*Corpus, error) {
	f, err := fileio.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	br := bufio.NewReaderSize(f, 1<<20)
	c := &Corpus{}
	seen := map[string]int{}
	for line := 1; ; line++ {
		b, err := br.ReadBytes('\n')
		if err != nil && err != io.EOF {
			return nil, fmt.Errorf("%s line %d: %w", path, line, err)
		}
		if len(bytes.TrimSpace(b)) > 0 {
			p, perr := parsePatient(b)
			if perr != nil {
				return nil, fmt.Errorf("%s line %d: %w", path, line, perr)
			}
			if prev, dup := seen[p.ID]; dup {
				return nil, fmt.Errorf("%s line %d, field id: patient %q already on line %d", path, line, p.ID, prev)
			}
			seen[p.ID] = line
			c.Patients = append(c.Patients, p)
		}
		if err == io.EOF {
			return c, nil
		}
	}
}

func parsePatient(b []byte) (Patient, error) {
	var jp jsonPatient
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&jp); err != nil {
		return Patient{}, fmt.Errorf("not a patient object: %w", err)
	}
	if strings.TrimSpace(jp.ID) == "" {
		return Patient{}, fmt.Errorf("field id: missing or empty")
	}
	if len(jp.Visits) == 0 {
		return Patient{}, fmt.Errorf("field visits: missing or empty")
	}
	p := Patient{ID: jp.ID, Visits: make([]Visit, len(jp.Visits))}
	timed := jp.Visits[0].Time != ""
	for i, v := range jp.Visits {
		if (v.Time != "") != timed {
			return Patient{}, fmt.Errorf("field visits[%d].time: give a time for all visits of a patient or for none", i)
		}
		if timed {
			t, err := time.Parse(time.RFC3339Nano, v.Time)
			if err != nil {
				return Patient{}, fmt.Errorf("field visits[%d].time: malformed time %q (want RFC 3339)", i, v.Time)
			}
			if i > 0 && t.Before(p.Visits[i-1].Time) {
				return Patient{}, fmt.Errorf("field visits[%d].time: visit is earlier than the one before it; visits must be in time order", i)
			}
			p.Visits[i].Time = t
		}
		if len(v.Codes) == 0 {
			return Patient{}, fmt.Errorf("field visits[%d].codes: empty visit", i)
		}
		for j, code := range v.Codes {
			if strings.TrimSpace(code) == "" {
				return Patient{}, fmt.Errorf("field visits[%d].codes[%d]: empty code", i, j)
			}
		}
		p.Visits[i].Codes = v.Codes
	}
	return p, nil
}
