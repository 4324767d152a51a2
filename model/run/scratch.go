package run

import (
	"errors"
	"fmt"
	"io"

	"github.com/icdcode/icdcode/data/dataset"
	"github.com/icdcode/icdcode/model/encoder"
	"github.com/icdcode/icdcode/model/hf"
	"github.com/icdcode/icdcode/model/tokenizer"
)

// NewScratch trains the WordPiece vocabulary of s on the training documents
// and builds a BERT encoder of s's architecture (with a pooler) with BERT's
// random initialisation from seed: the "scratch" model source of a
// classifier run, and the starting point of `icdcode pretrain`, which share
// it so that a pretrained encoder has exactly the architecture a scratch run
// of the same [model.scratch] section would have.
func NewScratch(s ScratchConfig, trainDocs []dataset.Doc, seed uint64, logw io.Writer) (*tokenizer.Tokenizer, *encoder.Encoder[float32], error) {
	if logw == nil {
		logw = io.Discard
	}
	fmt.Fprintf(logw, "training a WordPiece vocabulary of %d on %d train documents\n", s.VocabSize, len(trainDocs))
	corpus := func(yield func(string, error) bool) {
		for _, d := range trainDocs {
			if !yield(d.Text, nil) {
				return
			}
		}
	}
	tok, err := tokenizer.TrainWordPiece(corpus, tokenizer.TrainOptions{VocabSize: s.VocabSize, MinFreq: s.MinFreq, Lowercase: s.Lowercase})
	if err != nil {
		return nil, nil, err
	}
	hc := &hf.Config{
		ModelType: "bert", VocabSize: tok.VocabSize(), HiddenSize: s.Hidden, NumHiddenLayers: s.Layers,
		NumAttentionHeads: s.Heads, IntermediateSize: s.Intermediate, HiddenAct: "gelu",
		MaxPositionEmbeddings: s.MaxPositions, TypeVocabSize: 2, LayerNormEps: 1e-12,
		PadTokenID: tok.Special().PAD, BOSTokenID: -1, EOSTokenID: -1, PositionEmbeddingType: "absolute",
		HiddenDropoutProb: s.HiddenDrop, AttentionProbsDropoutProb: s.AttnDrop, InitializerRange: 0.02,
	}
	enc, err := encoder.New[float32](hc, true, seed)
	if err != nil {
		return nil, nil, fmt.Errorf("model.scratch: %w", err)
	}
	return tok, enc, nil
}

// Check reports sizes that NewScratch would only reject late (after a
// vocabulary was trained) or not name by key; the same rules as a run
// configuration's validation of [model.scratch] (Config.validate calls it).
func (s ScratchConfig) Check() error {
	if s.Hidden < 1 || s.Layers < 1 || s.Heads < 1 || s.Intermediate < 1 || s.MaxPositions < 3 || s.VocabSize < 1 {
		return errors.New("model.scratch: hidden, layers, heads, intermediate, vocab_size must be ≥ 1 and max_positions ≥ 3")
	}
	if s.Hidden%s.Heads != 0 {
		return fmt.Errorf("model.scratch.hidden = %d is not a multiple of heads = %d", s.Hidden, s.Heads)
	}
	return nil
}
