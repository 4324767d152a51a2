package classifier

import (
	"fmt"
	"math/rand/v2"

	"github.com/icdcode/icdcode/data/dataset"
	"github.com/icdcode/icdcode/model/kernels"
	"github.com/icdcode/icdcode/model/layers"
	"github.com/icdcode/icdcode/model/tokenizer"
	"github.com/icdcode/icdcode/model/train"
	"github.com/icdcode/icdcode/quant/clq"
	"github.com/nlpodyssey/spago/mat"
)

// Examples are pre-tokenised documents with their targets.
type Examples struct {
	// IDs are each document's token ids, without special tokens and not
	// truncated (Chunk truncates).
	IDs [][]int
	// Targets are each document's 0/1 label vector, in label order.
	Targets [][]float32
	// Unknown counts document codes outside the label list (ignored: a
	// top-50 label space leaves out most of a document's codes).
	Unknown int
}

// Prepare tokenises docs once and builds their target vectors over labels.
func Prepare(tok *tokenizer.Tokenizer, docs []dataset.Doc, labels []string) (*Examples, error) {
	index := make(map[string]int, len(labels))
	for i, l := range labels {
		index[l] = i
	}
	ex := &Examples{IDs: make([][]int, len(docs)), Targets: make([][]float32, len(docs))}
	for i, d := range docs {
		ids, err := tok.Encode(d.Text)
		if err != nil {
			return nil, fmt.Errorf("classifier: document %s: %w", d.ID, err)
		}
		ex.IDs[i] = ids
		y := make([]float32, len(labels))
		for _, code := range d.Codes {
			if j, ok := index[code]; ok {
				y[j] = 1
			} else {
				ex.Unknown++
			}
		}
		ex.Targets[i] = y
	}
	return ex, nil
}

// Truncated counts the documents of ex that cfg truncates.
func (ex *Examples) Truncated(cfg Config) int {
	n := 0
	for _, ids := range ex.IDs {
		if cfg.Truncated(len(ids)) {
			n++
		}
	}
	return n
}

// TrainModel adapts a float32 classifier and its training examples to
// train.Model (the trainer's AdamW keeps float32 weights).
type TrainModel struct {
	c      *Classifier[float32]
	k      kernels.Kernels[float32]
	ex     *Examples
	params []train.Param
	clq    *clq.Loss[float32]
}

var (
	_ train.Model        = (*TrainModel)(nil)
	_ train.EpochStarter = (*TrainModel)(nil)
)

// NewTrainModel checks that ex fits c and returns the adapter; k runs the
// forward and backward passes.
func NewTrainModel(c *Classifier[float32], k kernels.Kernels[float32], ex *Examples) (*TrainModel, error) {
	if len(ex.IDs) != len(ex.Targets) {
		return nil, fmt.Errorf("classifier: %d documents and %d target vectors", len(ex.IDs), len(ex.Targets))
	}
	for i, y := range ex.Targets {
		if len(y) != len(c.Labels) {
			return nil, fmt.Errorf("classifier: document %d has %d targets for %d labels", i, len(y), len(c.Labels))
		}
	}
	named, err := c.Params()
	if err != nil {
		return nil, err
	}
	ps := make([]train.Param, len(named))
	for i, p := range named {
		ps[i] = train.Param{Name: p.Name, P: p.P}
	}
	return &TrainModel{c: c, k: k, ex: ex, params: ps}, nil
}

// SetCLQ adds q's quantification term to every document's loss (the CLQ
// joint loss, msam-reference §6) and q's MLP parameters after the
// classifier's. Call it before handing the model to a trainer.
func (m *TrainModel) SetCLQ(q *clq.Loss[float32]) error {
	if q.Labels() != len(m.c.Labels) {
		return fmt.Errorf("classifier: the CLQ quantifier has %d labels, the classifier %d", q.Labels(), len(m.c.Labels))
	}
	for _, p := range q.Params() {
		m.params = append(m.params, train.Param{Name: p.Name, P: p.P})
	}
	m.clq = q
	return nil
}

// StartEpoch empties the CLQ bag memory (train.EpochStarter).
func (m *TrainModel) StartEpoch(epoch int) {
	if m.clq != nil {
		m.clq.StartEpoch(epoch)
	}
}

// Params returns the named parameters: encoder, head, then CLQ's MLP.
func (m *TrainModel) Params() []train.Param { return m.params }

// Loss is the BCE-with-logits of document i's training-mode logits, mean
// over the labels (the reference's BCEWithLogitsLoss on [1, C]), plus the
// CLQ term when SetCLQ was called. The logits then feed two functions, the
// BCE and the term, which keeps their gradient deterministic.
func (m *TrainModel) Loss(i int, rng *rand.Rand) (mat.Tensor, error) {
	if i < 0 || i >= len(m.ex.IDs) {
		return nil, fmt.Errorf("classifier: document %d of %d", i, len(m.ex.IDs))
	}
	z, err := m.c.Logits(m.k, m.ex.IDs[i], true, rng)
	if err != nil {
		return nil, err
	}
	t := m.ex.Targets[i]
	y := mat.NewDense[float32](mat.WithShape(1, len(t)), mat.WithBacking(t))
	bce, err := layers.BCEWithLogits[float32](z, y, layers.Mean)
	if err != nil || m.clq == nil {
		return bce, err
	}
	term, err := m.clq.Term(m.k, z, t)
	if err != nil {
		return nil, fmt.Errorf("classifier: document %d: %w", i, err)
	}
	return layers.Add[float32](bce, term)
}
