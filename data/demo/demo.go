// Package demo generates icdcode's small demo corpus: procedural discharge
// notes whose wording signals their codes (with negated mentions and filler
// so that the task is not trivial), and a terminology file of titles and
// synonyms for the same codes. It lets a new user run the whole pipeline on a
// fresh machine, with no licensed data, in a few minutes.
package demo

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"

	"github.com/icdcode/icdcode/data/fileio"
)

// Options configures the corpus.
type Options struct {
	Docs     int     // number of notes
	Seed     uint64  // same seed, same corpus
	DevFrac  float64 // share of notes in the dev split
	TestFrac float64 // share of notes in the test split
}

// DefaultOptions is the corpus `icdcode demo` uses.
var DefaultOptions = Options{Docs: 900, Seed: 1, DevFrac: 0.15, TestFrac: 0.15}

// Files names the generated files.
type Files struct {
	Notes string // JSON Lines: id, text, diagnoses, procedures, split
	Terms string // code<TAB>term: titles and synonyms
}

// Note is one line of the notes file.
type Note struct {
	ID         string   `json:"id"`
	Text       string   `json:"text"`
	Diagnoses  []string `json:"diagnoses"`
	Procedures []string `json:"procedures"`
	Split      string   `json:"split"`
}

// Write generates the corpus into dir (notes.jsonl and terms.tsv).
func Write(dir string, o Options) (Files, error) {
	if o.Docs < 10 {
		return Files{}, fmt.Errorf("demo corpus: %d documents is too few (at least 10)", o.Docs)
	}
	if o.DevFrac < 0 || o.TestFrac < 0 || o.DevFrac+o.TestFrac >= 1 {
		return Files{}, fmt.Errorf("demo corpus: dev and test fractions must be non-negative and sum below 1")
	}
	f := Files{Notes: filepath.Join(dir, "notes.jsonl"), Terms: filepath.Join(dir, "terms.tsv")}
	g := newGenerator(o.Seed)
	err := fileio.WriteAtomic(f.Notes, func(w io.Writer) error {
		enc := json.NewEncoder(w)
		enc.SetEscapeHTML(false)
		nDev := int(math.Round(o.DevFrac * float64(o.Docs)))
		nTest := int(math.Round(o.TestFrac * float64(o.Docs)))
		for i := 0; i < o.Docs; i++ {
			split := "train"
			switch {
			case i >= o.Docs-nTest:
				split = "test"
			case i >= o.Docs-nTest-nDev:
				split = "dev"
			}
			n := g.note(fmt.Sprintf("demo-%05d", i+1), split)
			if err := enc.Encode(n); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return Files{}, err
	}
	err = fileio.WriteAtomic(f.Terms, func(w io.Writer) error {
		fmt.Fprintln(w, "# icdcode demo terminology: code<TAB>term (titles, synonyms)")
		for _, c := range codes {
			terms := append(append([]string{c.title}, c.phrases...), extraTerms[c.code]...)
			for _, t := range terms {
				if _, err := fmt.Fprintf(w, "%s\t%s\n", c.code, t); err != nil {
					return err
				}
			}
		}
		return nil
	})
	return f, err
}

type generator struct {
	rng     *rand.Rand
	weights []float64
	index   map[string]int
}

func newGenerator(seed uint64) *generator {
	g := &generator{rng: rand.New(rand.NewPCG(seed, 0x1cdc0de)), index: map[string]int{}}
	// Zipf-like code frequencies: a few common codes and a tail of rare ones,
	// as in real coding data.
	for i, c := range codes {
		g.weights = append(g.weights, 1/math.Pow(float64(i+1), 0.8))
		g.index[c.code] = i
	}
	return g
}

func (g *generator) pickWeighted(exclude []int) int {
	total := 0.0
	for i, w := range g.weights {
		if !slices.Contains(exclude, i) {
			total += w
		}
	}
	x := g.rng.Float64() * total
	for i, w := range g.weights {
		if slices.Contains(exclude, i) {
			continue
		}
		if x -= w; x <= 0 {
			return i
		}
	}
	for i := len(g.weights) - 1; ; i-- {
		if !slices.Contains(exclude, i) {
			return i
		}
	}
}

func (g *generator) pick(xs []string) string { return xs[g.rng.IntN(len(xs))] }

var (
	mentionTemplates = []string{
		"Past medical history is significant for %s.",
		"Assessment: %s.",
		"The patient was admitted with %s.",
		"During this admission %s was diagnosed and treated.",
		"Known history of %s, followed in clinic.",
		"Findings were consistent with %s.",
		"Discharge diagnosis: %s.",
		"The patient was managed for %s with good response.",
		"The patient continues treatment for %s.",
	}
	procedureTemplates = []string{
		"Procedure: %s.",
		"The patient underwent %s.",
		"Hospital course included %s.",
		"%s was performed without complication.",
	}
	negationTemplates = []string{
		"No evidence of %s.",
		"Denies any history of %s.",
		"%s was considered and ruled out.",
		"Negative for %s.",
	}
	fillers = []string{
		"Vital signs on arrival: heart rate %d, blood pressure %d/%d.",
		"Labs showed white count %d and creatinine 1.%d.",
		"The patient lives at home with family and ambulates with a cane.",
		"Medications were reconciled at discharge.",
		"Follow up with primary care in %d weeks.",
		"Diet as tolerated; activity as tolerated.",
		"Physical exam notable for clear lungs and a soft abdomen.",
		"Social history: former smoker, %d pack-years.",
		"Allergies: no known drug allergies.",
		"Code status: full code.",
	}
)

func (g *generator) filler() string {
	s := g.pick(fillers)
	switch strings.Count(s, "%d") {
	case 1:
		return fmt.Sprintf(s, 2+g.rng.IntN(40))
	case 2:
		return fmt.Sprintf(s, 4+g.rng.IntN(12), g.rng.IntN(10))
	case 3:
		return fmt.Sprintf(s, 60+g.rng.IntN(60), 100+g.rng.IntN(60), 60+g.rng.IntN(30))
	}
	return s
}

func (g *generator) note(id, split string) Note {
	// 1 to 5 codes; later codes follow earlier ones' companions half the time.
	k := 1 + g.rng.IntN(3) + g.rng.IntN(3)
	var chosen []int
	for len(chosen) < k {
		next := -1
		if len(chosen) > 0 && g.rng.Float64() < 0.5 {
			with := codes[chosen[g.rng.IntN(len(chosen))]].with
			if len(with) > 0 {
				next = g.index[g.pick(with)]
			}
		}
		if next < 0 || slices.Contains(chosen, next) {
			next = g.pickWeighted(chosen)
		}
		chosen = append(chosen, next)
	}
	var sentences []string
	for _, i := range chosen {
		c := codes[i]
		templates := mentionTemplates
		if c.proc {
			templates = procedureTemplates
		}
		for m := 1 + g.rng.IntN(2); m > 0; m-- {
			s := fmt.Sprintf(g.pick(templates), g.pick(c.phrases))
			sentences = append(sentences, strings.ToUpper(s[:1])+s[1:])
		}
	}
	// Negated mentions of codes the note does not have.
	for n := g.rng.IntN(3); n > 0; n-- {
		i := g.pickWeighted(chosen)
		if codes[i].proc {
			continue
		}
		s := fmt.Sprintf(g.pick(negationTemplates), g.pick(codes[i].phrases))
		sentences = append(sentences, strings.ToUpper(s[:1])+s[1:])
	}
	for n := 3 + g.rng.IntN(5); n > 0; n-- {
		sentences = append(sentences, g.filler())
	}
	g.rng.Shuffle(len(sentences), func(a, b int) { sentences[a], sentences[b] = sentences[b], sentences[a] })
	sex := g.pick([]string{"man", "woman"})
	intro := fmt.Sprintf("DISCHARGE SUMMARY\nThe patient is a %d-year-old %s.\n", 25+g.rng.IntN(65), sex)
	n := Note{ID: id, Text: intro + strings.Join(sentences, "\n") + "\n", Split: split, Diagnoses: []string{}, Procedures: []string{}}
	for _, i := range chosen {
		if codes[i].proc {
			n.Procedures = append(n.Procedures, codes[i].code)
		} else {
			n.Diagnoses = append(n.Diagnoses, codes[i].code)
		}
	}
	return n
}
