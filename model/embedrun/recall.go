package embedrun

import (
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"

	"github.com/icdcode/icdcode/data/embfile"
	"github.com/icdcode/icdcode/data/visits"
	"github.com/icdcode/icdcode/model/embeval"
	"github.com/icdcode/icdcode/model/med2vec"
)

// Next-visit recall of held-out patients (see embeval.Recall for the
// metric). Two predictors:
//
//   - Med2Vec: the model's own visit-level output, softmax(W_output·v_t +
//     b_output) with v_t the visit representation of visit t, i.e. the
//     distribution its visit objective trains to give the codes of the
//     neighbouring visits; the output space is the model's K output codes
//     (3-digit ICD-9 groups with labels, else the input codes).
//   - any other code vectors (Word2Vec, a Med2Vec hierarchy JSON, published
//     sets): every code is scored by the cosine similarity of its vector to
//     the mean vector of visit t's distinct known codes. A visit t without
//     any known code falls back to the popularity ranking (counted in
//     FallbackPairs).
//
// The popularity baseline ranks the same output space by how many training
// visits hold each code; a useful embedding beats it.

// Method names written to eval.json.
const (
	MethodMed2Vec = "med2vec visit softmax (visit t representation → W_output)"
	MethodCosine  = "cosine similarity to the mean of visit t's code vectors"
)

// RecallReport is the next-visit recall on the held-out patients.
type RecallReport struct {
	Method          string  `json:"method"`
	Output          string  `json:"output"` // what is ranked: "codes" or "3-digit ICD-9 groups"
	OutputCodes     int     `json:"output_codes"`
	HeldoutFraction float64 `json:"heldout_fraction"`
	HeldoutSeed     uint64  `json:"heldout_seed"`
	TrainPatients   int     `json:"train_patients"`
	HeldoutPatients int     `json:"heldout_patients"`
	// Pairs are the consecutive visit pairs (t, t+1) scored; SkippedPairs
	// those whose visit t+1 has no code in the output's terms (e.g. only
	// procedures when 3-digit diagnosis groups are predicted).
	Pairs        int `json:"pairs"`
	SkippedPairs int `json:"skipped_pairs"`
	// TargetCodes are the codes of the visits t+1 summed over pairs, and
	// UnseenTargets those absent from the output space (never in a training
	// visit): they count as misses for every method.
	TargetCodes   int `json:"target_codes"`
	UnseenTargets int `json:"unseen_targets"`
	// FallbackPairs are the pairs whose visit t had no code known to the
	// model (cosine method: scored by popularity instead).
	FallbackPairs int                 `json:"fallback_pairs"`
	Model         []embeval.RecallRow `json:"model"`
	Popularity    []embeval.RecallRow `json:"popularity"`
}

// splitCorpus holds out eval.heldout_fraction of the patients; with a
// fraction of 0 every patient trains and held is nil.
func splitCorpus(e EvalConfig, c *visits.Corpus, log io.Writer) (train, held *visits.Corpus, err error) {
	if e.HeldoutFraction == 0 {
		return c, nil, nil
	}
	train, held, err = c.Split(e.HeldoutFraction, e.HeldoutSeed)
	if err != nil {
		return nil, nil, fmt.Errorf("eval.heldout_fraction: %w", err)
	}
	if len(held.Patients) == 0 || len(train.Patients) == 0 {
		return nil, nil, fmt.Errorf("eval.heldout_fraction %g of %d patients leaves %d held out and %d to train; both need one",
			e.HeldoutFraction, len(c.Patients), len(held.Patients), len(train.Patients))
	}
	if log != nil {
		fmt.Fprintf(log, "split: %d training patients, %d held out (fraction %g, seed %d)\n",
			len(train.Patients), len(held.Patients), e.HeldoutFraction, e.HeldoutSeed)
	}
	return train, held, nil
}

// outputSpace maps visit codes to the ranked output codes.
type outputSpace struct {
	name  string         // "codes" or a grouping's name
	codes []string       // output index → code
	index map[string]int // code → output index
	// target maps a visit code to its output code; ok = false leaves the
	// code out of the targets entirely (as the Med2Vec label rows do).
	target func(string) (string, bool)
}

func newOutputSpace(name string, codes []string, target visits.Grouper) *outputSpace {
	o := &outputSpace{name: name, codes: codes, index: make(map[string]int, len(codes)), target: target}
	for i, c := range codes {
		o.index[c] = i
	}
	if o.target == nil {
		o.target = func(c string) (string, bool) { return c, true }
	}
	return o
}

// targets returns the distinct output indices of a visit's codes and the
// number of its distinct output codes outside the space.
func (o *outputSpace) targets(codes []string) (idx []int, unseen int) {
	seen := make(map[string]bool)
	for _, c := range codes {
		g, ok := o.target(c)
		if !ok || seen[g] {
			continue
		}
		seen[g] = true
		if i, ok := o.index[g]; ok {
			idx = append(idx, i)
		} else {
			unseen++
		}
	}
	return idx, unseen
}

// popularity scores each output code by the number of training visits that
// hold it, plus a fraction below 1 that breaks ties by code string (earlier
// first), so that the baseline does not depend on a model's code order.
func (o *outputSpace) popularity(train *visits.Corpus) []float64 {
	pop := make([]float64, len(o.codes))
	for _, p := range train.Patients {
		for _, v := range p.Visits {
			idx, _ := o.targets(v.Codes)
			for _, i := range idx {
				pop[i]++
			}
		}
	}
	order := make([]int, len(o.codes))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return strings.Compare(o.codes[a], o.codes[b]) })
	n := float64(len(order) + 1)
	for rank, i := range order {
		pop[i] += (n - 1 - float64(rank)) / n
	}
	return pop
}

// visitScorer fills scores (one per output code) from visit t's codes; it
// returns false when it cannot score the visit (no known code).
type visitScorer func(codes []string, scores []float64) (bool, error)

// nextVisitRecall scores every consecutive visit pair of the held-out
// patients with the model and with the popularity baseline.
func nextVisitRecall(train, held *visits.Corpus, out *outputSpace, score visitScorer, ks []int) (*RecallReport, error) {
	model, err := embeval.NewRecall(ks)
	if err != nil {
		return nil, err
	}
	base, _ := embeval.NewRecall(ks)
	pop := out.popularity(train)
	scores := make([]float64, len(out.codes))
	rep := &RecallReport{Output: out.name, OutputCodes: len(out.codes), TrainPatients: len(train.Patients), HeldoutPatients: len(held.Patients)}
	for _, p := range held.Patients {
		for t := 0; t+1 < len(p.Visits); t++ {
			idx, unseen := out.targets(p.Visits[t+1].Codes)
			if len(idx)+unseen == 0 {
				rep.SkippedPairs++
				continue
			}
			ok, err := score(p.Visits[t].Codes, scores)
			if err != nil {
				return nil, fmt.Errorf("patient %s visit %d: %w", p.ID, t, err)
			}
			if !ok {
				copy(scores, pop)
				rep.FallbackPairs++
			}
			if err := model.Add(scores, idx, unseen); err != nil {
				return nil, err
			}
			if err := base.Add(pop, idx, unseen); err != nil {
				return nil, err
			}
		}
	}
	if model.Pairs() == 0 {
		return nil, fmt.Errorf("next-visit recall: the %d held-out patients have no pair of consecutive visits with codes to predict", len(held.Patients))
	}
	rep.Pairs, rep.TargetCodes, rep.UnseenTargets = model.Pairs(), model.Targets(), model.Unseen()
	rep.Model, rep.Popularity = model.Rows(), base.Rows()
	return rep, nil
}

// med2vecScorer predicts with a Med2Vec model whose input rows are codes.
func med2vecScorer(m *med2vec.Model, codes []string) visitScorer {
	index := make(map[string]int, len(codes))
	for i, c := range codes {
		index[c] = i
	}
	var ids []int
	return func(visit []string, scores []float64) (bool, error) {
		ids = ids[:0]
		for _, c := range visit {
			if i, ok := index[c]; ok {
				ids = append(ids, i)
			}
		}
		// A visit without a known code still has the model's prediction
		// from the biases alone: Med2Vec's own answer, kept.
		_, err := m.VisitScores(ids, nil, scores)
		return true, err
	}
}

// cosineScorer scores every output code (out.codes, rows of x) by cosine
// similarity to the mean vector of the visit's distinct known codes.
func cosineScorer(x []float32, dim int, out *outputSpace) visitScorer {
	n := len(out.codes)
	norms := make([]float64, n)
	for i := range n {
		var s float64
		for _, v := range x[i*dim : (i+1)*dim] {
			s += float64(v) * float64(v)
		}
		norms[i] = math.Sqrt(s)
	}
	mean := make([]float64, dim)
	seen := make(map[int]bool)
	return func(visit []string, scores []float64) (bool, error) {
		clear(mean)
		clear(seen)
		for _, c := range visit {
			i, ok := out.index[c]
			if !ok || seen[i] {
				continue
			}
			seen[i] = true
			for j, v := range x[i*dim : (i+1)*dim] {
				mean[j] += float64(v)
			}
		}
		if len(seen) == 0 {
			return false, nil
		}
		var mn float64
		for _, v := range mean {
			mn += v * v
		}
		mn = math.Sqrt(mn) // the 1/|codes| of the mean cancels in the cosine
		for i := range n {
			if mn == 0 || norms[i] == 0 {
				scores[i] = 0
				continue
			}
			var d float64
			for j, v := range x[i*dim : (i+1)*dim] {
				d += float64(v) * mean[j]
			}
			scores[i] = d / (mn * norms[i])
		}
		return true, nil
	}
}

// med2vecGrouper is the label grouping a Med2Vec config trains with (nil:
// the input codes are predicted).
func med2vecGrouper(cfg *Config) visits.Grouper {
	if cfg.Med2Vec.Labels && cfg.Input.Kind == "mimic3" {
		return visits.ICD9ThreeDigit
	}
	return nil
}

// med2vecRecall scores a Med2Vec model given as its six arrays (float32,
// as saved, so that training and `embed eval` give the same numbers) and
// input codes; train must be the corpus it was trained on.
func med2vecRecall(cfg *Config, arrays map[string]*embfile.Array, codes []string, train, held *visits.Corpus) (*RecallReport, error) {
	ts := make(map[string]med2vec.Tensor, len(arrays))
	for name, a := range arrays {
		ts[name] = med2vec.Tensor{Name: name, Shape: a.Shape, Data: a.Float64()}
	}
	m, err := med2vec.FromTensors(ts)
	if err != nil {
		return nil, err
	}
	if m.D != 0 {
		return nil, fmt.Errorf("med2vec model has %d demographic inputs; next-visit recall has none to give", m.D)
	}
	group := med2vecGrouper(cfg)
	ref := train.Reference(group)
	want, err := visits.Codes(ref.Types)
	if err != nil {
		return nil, err
	}
	if m.N != len(codes) || !slices.Equal(codes, want) {
		return nil, errors.New("the model's codes are not those of this config's training patients: was it trained with this [input] and heldout_fraction/heldout_seed?")
	}
	name, outCodes := "codes", want
	if group != nil {
		if outCodes, err = visits.Codes(ref.LabelTypes); err != nil {
			return nil, err
		}
		name = "3-digit ICD-9 groups"
	}
	if m.K != len(outCodes) {
		return nil, fmt.Errorf("the model has %d output codes, this config's training patients %d %s", m.K, len(outCodes), name)
	}
	out := newOutputSpace(name, outCodes, group)
	rep, err := nextVisitRecall(train, held, out, med2vecScorer(m, codes), cfg.Eval.RecallK)
	if err != nil {
		return nil, err
	}
	rep.Method = MethodMed2Vec
	rep.HeldoutFraction, rep.HeldoutSeed = cfg.Eval.HeldoutFraction, cfg.Eval.HeldoutSeed
	return rep, nil
}

// cosineRecall scores code vectors (rows of x, codes[i] owning row i).
func cosineRecall(cfg *Config, x []float32, dim int, codes []string, train, held *visits.Corpus) (*RecallReport, error) {
	out := newOutputSpace("codes", codes, nil)
	rep, err := nextVisitRecall(train, held, out, cosineScorer(x, dim, out), cfg.Eval.RecallK)
	if err != nil {
		return nil, err
	}
	rep.Method = MethodCosine
	rep.HeldoutFraction, rep.HeldoutSeed = cfg.Eval.HeldoutFraction, cfg.Eval.HeldoutSeed
	return rep, nil
}

// logRecall writes the recall table.
func logRecall(w io.Writer, r *RecallReport) {
	if w == nil {
		return
	}
	fmt.Fprintf(w, "next-visit recall on %d held-out patients, %d visit pairs (%d skipped), %s over %d %s:\n",
		r.HeldoutPatients, r.Pairs, r.SkippedPairs, r.Method, r.OutputCodes, r.Output)
	fmt.Fprint(w, recallTable(r))
}

// recallTable is a Markdown table of the recall per k, model against the
// popularity baseline.
func recallTable(r *RecallReport) string {
	var b strings.Builder
	b.WriteString("| k | recall | popularity baseline |\n| ---: | ---: | ---: |\n")
	for i, row := range r.Model {
		fmt.Fprintf(&b, "| %d | %.4f | %.4f |\n", row.K, row.Recall, r.Popularity[i].Recall)
	}
	return b.String()
}
