// Package clsembed embeds short strings, such as code synonyms, with an
// encoder's [CLS] hidden state, and measures their distances as the
// reference MSAM system does for its Maximum Diversity selection: the last
// hidden state of [CLS] for "[CLS] text [SEP]", D_ij = 1 − cos(e_i, e_j),
// symmetrised. It implements selection.Distancer, so `icdcode synonyms
// select --model DIR` can use a pretrained encoder instead of the model-free
// TF-IDF distances.
package clsembed

import (
	"fmt"
	"math"

	"github.com/nlpodyssey/spago/mat"

	"github.com/icdcode/icdcode/data/mdp"
	"github.com/icdcode/icdcode/model/encoder"
	"github.com/icdcode/icdcode/model/kernels"
	"github.com/icdcode/icdcode/model/tokenizer"
)

// batchSize bounds how many strings go through the encoder at once: pools
// hold up to a few hundred short strings, and one batch is padded to its
// longest member.
const batchSize = 32

// Embedder holds an encoder and its tokenizer.
type Embedder struct {
	enc      *encoder.Encoder[float32]
	tok      *tokenizer.Tokenizer
	k        kernels.Kernels[float32]
	cls, sep int
	pad      int
	maxLen   int
}

// Load reads a model directory holding both the encoder (config.json with
// model.safetensors or pytorch_model.bin) and its tokenizer (tokenizer.json,
// vocab.txt, or vocab.json + merges.txt).
func Load(dir string) (*Embedder, error) {
	enc, err := encoder.Load[float32](dir)
	if err != nil {
		return nil, err
	}
	tok, err := tokenizer.Load(dir)
	if err != nil {
		return nil, err
	}
	return New(enc, tok)
}

// New pairs an encoder with its tokenizer, checking that they agree.
func New(enc *encoder.Encoder[float32], tok *tokenizer.Tokenizer) (*Embedder, error) {
	sp := tok.Special()
	if sp.CLS < 0 || sp.SEP < 0 {
		return nil, fmt.Errorf("the tokenizer has no [CLS]/<s> or [SEP]/</s> token")
	}
	if tok.VocabSize() > enc.Config.VocabSize {
		return nil, fmt.Errorf("the tokenizer has %d tokens but the encoder's vocabulary has %d", tok.VocabSize(), enc.Config.VocabSize)
	}
	pad := sp.PAD
	if pad < 0 {
		pad = max(enc.Config.PadTokenID, 0) // masked out anyway
	}
	return &Embedder{enc: enc, tok: tok, k: kernels.CPU[float32](), cls: sp.CLS, sep: sp.SEP, pad: pad,
		maxLen: enc.Config.MaxPositionEmbeddings - enc.Config.PositionOffset()}, nil
}

// Embed returns the [CLS] embedding of each text; texts longer than the
// encoder's positions are truncated.
func (e *Embedder) Embed(texts []string) ([][]float32, error) {
	out := make([][]float32, 0, len(texts))
	for start := 0; start < len(texts); start += batchSize {
		batch := texts[start:min(start+batchSize, len(texts))]
		seqs := make([][]int, len(batch))
		longest := 0
		for i, t := range batch {
			ids, err := e.tok.Encode(t)
			if err != nil {
				return nil, fmt.Errorf("text %d: %w", start+i, err)
			}
			ids = ids[:min(len(ids), e.maxLen-2)]
			seqs[i] = append(append([]int{e.cls}, ids...), e.sep)
			longest = max(longest, len(seqs[i]))
		}
		mask := make([][]int, len(seqs))
		for i, s := range seqs {
			mask[i] = make([]int, longest)
			for j := range s {
				mask[i][j] = 1
			}
			for len(seqs[i]) < longest {
				seqs[i] = append(seqs[i], e.pad)
			}
		}
		res, err := e.enc.Forward(e.k, seqs, nil, mask)
		if err != nil {
			return nil, err
		}
		hidden := mat.Data[float32](res.Hidden.Value())
		d := e.enc.Config.HiddenSize
		for b := range seqs {
			row := hidden[b*longest*d : b*longest*d+d]
			out = append(out, append([]float32(nil), row...))
		}
	}
	return out, nil
}

// Distances returns 1 − cosine of the texts' [CLS] embeddings, clamped to
// [0, 2], exactly 0 on the diagonal and between equal texts, and exactly
// symmetric.
func (e *Embedder) Distances(texts []string) (mdp.Matrix, error) {
	vecs, err := e.Embed(texts)
	if err != nil {
		return mdp.Matrix{}, err
	}
	norms := make([]float64, len(vecs))
	for i, v := range vecs {
		norms[i] = math.Sqrt(dot(v, v))
	}
	d := mdp.NewMatrix(len(texts))
	for i := range vecs {
		for j := i + 1; j < len(vecs); j++ {
			dist := 0.0
			if texts[i] != texts[j] {
				cos := 0.0
				if norms[i] > 0 && norms[j] > 0 {
					cos = dot(vecs[i], vecs[j]) / (norms[i] * norms[j])
				}
				dist = min(max(1-cos, 0), 2)
			}
			d.Set(i, j, dist)
		}
	}
	return d, nil
}

func dot(a, b []float32) float64 {
	s := 0.0
	for i := range a {
		s += float64(a[i]) * float64(b[i])
	}
	return s
}
