package encoder

import (
	"fmt"

	"github.com/icdcode/icdcode/model/hf"
	"github.com/nlpodyssey/spago/mat"
	"github.com/nlpodyssey/spago/mat/float"
	"github.com/nlpodyssey/spago/nn"
)

// cloneParam returns a new parameter with a copy of p's value.
func cloneParam[T float.DType](p *nn.Param) *nn.Param {
	s := p.Shape()
	return newParam(s[0], s[1], append([]T(nil), mat.Data[T](p)...))
}

func cloneLinear[T float.DType](l *Linear) *Linear {
	if l == nil {
		return nil
	}
	return &Linear{W: cloneParam[T](l.W), B: cloneParam[T](l.B)}
}

func cloneNorm[T float.DType](n *Norm) *Norm {
	if n == nil {
		return nil
	}
	return &Norm{Gamma: cloneParam[T](n.Gamma), Beta: cloneParam[T](n.Beta)}
}

func cloneRows[T float.DType](rows []*nn.Param) []*nn.Param {
	out := make([]*nn.Param, len(rows))
	for i, r := range rows {
		out[i] = cloneParam[T](r)
	}
	return out
}

// ToLongformer returns the Longformer conversion of a BERT-family encoder
// (bert, roberta or megatron-bert, full attention) for sequences of up to
// maxLen tokens, as allenai's convert_model_to_long.ipynb does, on copies
// of enc's parameters (enc is not modified):
//
//   - position embeddings tiled over the whole new length: the offset rows
//     (pad_token_id+1 = 2 for RoBERTa, none for BERT) are kept, and the
//     max_position_embeddings−offset original rows are copied repeatedly,
//     the last copy truncated, so that every row is initialised (the
//     notebook leaves the rows after the last whole copy uninitialised);
//   - global query/key/value projections initialised from the local ones;
//   - window (full width, even, HF's attention_window) on every layer.
//
// The result keeps enc's model type (so its layer structure and position
// offset are unchanged) and records the windows in Config.AttentionWindow;
// Save and Load preserve them.
func ToLongformer[T float.DType](enc *Encoder[T], maxLen, window int) (*Encoder[T], error) {
	cfg := enc.Config
	switch cfg.ModelType {
	case hf.TypeBERT, hf.TypeRoBERTa, hf.TypeMegatronBERT:
	default:
		return nil, fmt.Errorf("encoder: ToLongformer needs a bert, roberta or megatron-bert encoder, not %s", cfg.ModelType)
	}
	if cfg.AttentionWindow != nil {
		return nil, fmt.Errorf("encoder: the encoder already has windowed attention")
	}
	if window <= 0 || window%2 != 0 {
		return nil, fmt.Errorf("encoder: attention window %d, want a positive even number", window)
	}
	if maxLen < 1 {
		return nil, fmt.Errorf("encoder: maximum length %d", maxLen)
	}
	off := cfg.PositionOffset()
	old := enc.Embeddings.Position
	period := len(old) - off
	if period < 1 {
		return nil, fmt.Errorf("encoder: %d position rows leave none after the offset %d", len(old), off)
	}
	cfg.MaxPositionEmbeddings = maxLen + off
	cfg.AttentionWindow = make([]int, cfg.NumHiddenLayers)
	for i := range cfg.AttentionWindow {
		cfg.AttentionWindow[i] = window
	}
	cfg.Architectures = nil
	d := cfg.HiddenSize
	pos := make([]T, cfg.MaxPositionEmbeddings*d)
	for i := 0; i < cfg.MaxPositionEmbeddings; i++ {
		src := i
		if i >= off {
			src = off + (i-off)%period
		}
		copy(pos[i*d:(i+1)*d], mat.Data[T](old[src]))
	}
	e := &Encoder[T]{Config: cfg}
	e.Embeddings = Embeddings{
		Word:      cloneRows[T](enc.Embeddings.Word),
		Position:  rowParams(cfg.MaxPositionEmbeddings, d, pos),
		TokenType: cloneRows[T](enc.Embeddings.TokenType),
		Norm:      cloneNorm[T](enc.Embeddings.Norm),
	}
	for i, ly := range enc.Layers {
		e.Layers = append(e.Layers, &Layer{
			PreNorm:   cloneNorm[T](ly.PreNorm),
			QKV:       *cloneLinear[T](&ly.QKV),
			GlobalQKV: cloneLinear[T](&ly.QKV),
			Out:       *cloneLinear[T](&ly.Out),
			AttnNorm:  *cloneNorm[T](&ly.AttnNorm),
			FF1:       *cloneLinear[T](&ly.FF1),
			FF2:       *cloneLinear[T](&ly.FF2),
			OutNorm:   cloneNorm[T](ly.OutNorm),
			Window:    cfg.AttentionWindow[i],
		})
	}
	e.FinalNorm = cloneNorm[T](enc.FinalNorm)
	e.Pooler = cloneLinear[T](enc.Pooler)
	return e, nil
}
