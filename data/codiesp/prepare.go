package codiesp

import (
	"fmt"

	"github.com/icdcode/icdcode/data/dataset"
	"github.com/icdcode/icdcode/data/labelspace"
	"github.com/icdcode/icdcode/data/prepare"
	"github.com/icdcode/icdcode/data/textnorm"
)

// Options configures Prepare.
type Options struct {
	Dir, Lang string
	Labels    prepare.Labels
	// CountOn is "train" (label frequencies from the training split only, so
	// dev and test stay unseen) or "all" (every split present).
	CountOn string
	Text    textnorm.Policy
	Gzip    bool
	Out     string
	Command string // the command line, recorded in the manifest
}

// Prepare builds a dataset folder from a CodiEsp folder.
func Prepare(o Options) (prepare.Summary, error) {
	c, err := Open(o.Dir, o.Lang)
	if err != nil {
		return prepare.Summary{}, err
	}
	counts := labelspace.NewCounts()
	counted := 0
	for _, s := range c.Splits {
		if o.CountOn == "all" || s.Name == o.CountOn {
			for _, id := range s.IDs {
				counts.AddDoc(s.Diag[id], s.Proc[id])
			}
			counted++
		}
	}
	if counted == 0 {
		return prepare.Summary{}, fmt.Errorf("%s: no %s split to count codes on", o.Dir, o.CountOn)
	}
	o.Labels.Spec.CountOn = map[string]string{"all": "every split", "train": "the train split"}[o.CountOn]
	m := dataset.Manifest{
		Name:       "codiesp-" + o.Lang,
		Source:     "codiesp",
		CodeSystem: "icd10",
		Language:   o.Lang,
		TextPolicy: string(o.Text),
		Build:      dataset.BuildInfo{Command: o.Command, Inputs: []string{o.Dir}},
	}
	return prepare.Write(o.Out, o.Gzip, counts, o.Labels, m, func(put func(prepare.Doc) error) error {
		for _, s := range c.Splits {
			for _, id := range s.IDs {
				text, err := s.Text(id)
				if err != nil {
					return err
				}
				err = put(prepare.Doc{ID: id, Text: textnorm.Apply(o.Text, text), Split: s.Name, Diag: s.Diag[id], Proc: s.Proc[id]})
				if err != nil {
					return err
				}
			}
		}
		return nil
	})
}
