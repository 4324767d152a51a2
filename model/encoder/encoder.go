// Package encoder holds the transformer encoders of icdcode, configured from
// a Hugging Face config.json: BERT (post-LN), RoBERTa (post-LN, positions
// offset by pad_token_id+1), Megatron-BERT (pre-LN with a final LayerNorm
// and no embedding LayerNorm, as GatorTron uses), and their Longformer
// conversion (sliding-window attention with global tokens).
//
// # Design
//
// An [Encoder] is a plain struct of spago *nn.Param (so spago's optimizers,
// nn.ZeroGrad and nn.ForEachParam work on it), and its forward pass is built
// from the whole-sequence autograd functions of model/layers over a batch of
// equally long (padded) sequences stacked by rows: hidden states are
// (B·L × d). Weights are stored the way the layers consume them: a Linear
// weight is (in × out), the transpose of PyTorch's nn.Linear, and the
// query/key/value projections are fused into one (d × 3d) weight with
// columns [Q | K | V], the layout layers.SelfAttention expects; [Load] does
// the transposes and the fusion.
//
// # Use
//
//	e, err := encoder.Load[float32](dir)            // HF directory or one written by Save
//	e, err := encoder.New[float32](cfg, true, seed)  // random init, for training from scratch
//	out, err := e.Forward(k, ids, tokenTypes, mask)  // out.Hidden (B·L × d), out.Pooled (B × d)
//	out, err := e.Run(k, ids, nil, mask, encoder.Options{Train: true, Rng: rng, Pool: true})
//	err = e.Save(dir)                                // config.json + model.safetensors
//	long, err := encoder.ToLongformer(e, 4096, 512)  // sliding window 512, positions tiled
//	out, err := long.Run(k, ids, nil, mask, encoder.Options{Global: [][]int{{0}}})
//
// The parameters are e.Params() (also reachable through nn.ForEachParam
// and nn.Parameters), so optimizers.New(nn.Parameters(e), adam.New(...))
// trains the encoder; embedding rows a batch did not use have no gradient
// and are skipped by spago's optimizers.
//
// # Determinism
//
// The graph obeys the Fanout rule of model/layers: every parameter is used
// by exactly one function per pass, and every intermediate tensor has at
// most two consumers. The only places where a tensor would have three are
// routed through layers.Fanout: the last hidden state when the pooler also
// reads it, the layer outputs kept for inspection (Options.KeepLayers), and
// the input of a Longformer layer with global tokens (local QKV, global QKV
// and the residual). Two identical forward+backward passes on the CPU
// backend therefore give bit-identical gradients (TestDeterminism).
package encoder

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/icdcode/icdcode/model/hf"
	"github.com/icdcode/icdcode/model/kernels"
	"github.com/icdcode/icdcode/model/layers"
	"github.com/nlpodyssey/spago/mat"
	"github.com/nlpodyssey/spago/mat/float"
	"github.com/nlpodyssey/spago/nn"
)

// Linear is an affine map y = x·W + B.
//
//	W: (in, out); B: (1, out)
type Linear struct {
	W, B *nn.Param
}

// Norm is a LayerNorm's gain and bias.
//
//	Gamma, Beta: (1, d)
type Norm struct {
	Gamma, Beta *nn.Param
}

// Embeddings are the input embedding tables, one (1 × d) Param per row so
// that layers.Embedding gives sparse gradients (only the rows a batch uses).
type Embeddings struct {
	Word      []*nn.Param // vocab rows
	Position  []*nn.Param // max_position_embeddings rows
	TokenType []*nn.Param // type_vocab_size rows (may be empty)
	// Norm is the embedding LayerNorm; nil for Megatron-BERT.
	Norm *Norm
}

// Layer is one transformer layer.
type Layer struct {
	// PreNorm is Megatron-BERT's attention.ln, applied before attention;
	// nil for post-LN layers.
	PreNorm *Norm
	// QKV is the fused query/key/value projection: W (d, 3d), B (1, 3d).
	QKV Linear
	// GlobalQKV is the Longformer's fused query_global/key_global/
	// value_global projection, nil for a full-attention layer.
	GlobalQKV *Linear
	// Out is attention.output.dense: W (d, d).
	Out Linear
	// AttnNorm is attention.output.LayerNorm (post-LN) or Megatron's ln
	// before the feed-forward block (pre-LN).
	AttnNorm Norm
	// FF1 is intermediate.dense (d, ffn); FF2 is output.dense (ffn, d).
	FF1, FF2 Linear
	// OutNorm is output.LayerNorm (post-LN); nil for pre-LN layers.
	OutNorm *Norm
	// Window is the Longformer attention window (full width, even, as HF's
	// attention_window); 0 means full self-attention.
	Window int
}

// Encoder is a BERT-family transformer encoder.
type Encoder[T float.DType] struct {
	nn.Module
	// Config describes the architecture. ModelType is bert, roberta,
	// megatron-bert or longformer; a Longformer conversion keeps the
	// base model type and sets AttentionWindow (see ToLongformer).
	Config     hf.Config
	Embeddings Embeddings
	Layers     []*Layer
	// FinalNorm is Megatron-BERT's encoder.ln; nil for post-LN encoders.
	FinalNorm *Norm
	// Pooler is tanh(CLS·W + B); nil when the encoder has none.
	Pooler *Linear
}

var _ nn.Model = &Encoder[float32]{}

// TraverseParams implements nn.ParamsTraverser: every parameter, in a fixed
// order (embeddings, layers, final norm, pooler), including all embedding
// rows.
func (e *Encoder[T]) TraverseParams(fn func(*nn.Param)) {
	for _, p := range e.Params() {
		fn(p)
	}
}

// Params returns every parameter in the order of TraverseParams.
func (e *Encoder[T]) Params() []*nn.Param {
	var ps []*nn.Param
	lin := func(l *Linear) {
		if l != nil {
			ps = append(ps, l.W, l.B)
		}
	}
	norm := func(n *Norm) {
		if n != nil {
			ps = append(ps, n.Gamma, n.Beta)
		}
	}
	ps = append(ps, e.Embeddings.Word...)
	ps = append(ps, e.Embeddings.Position...)
	ps = append(ps, e.Embeddings.TokenType...)
	norm(e.Embeddings.Norm)
	for _, l := range e.Layers {
		norm(l.PreNorm)
		lin(&l.QKV)
		lin(l.GlobalQKV)
		lin(&l.Out)
		norm(&l.AttnNorm)
		lin(&l.FF1)
		lin(&l.FF2)
		norm(l.OutNorm)
	}
	norm(e.FinalNorm)
	lin(e.Pooler)
	return ps
}

// preLN reports whether the layers are pre-LN (Megatron-BERT).
func (e *Encoder[T]) preLN() bool { return e.Config.PreLayerNorm() }

// checkConfig rejects configurations the encoder cannot run.
func checkConfig(cfg *hf.Config) error {
	switch cfg.ModelType {
	case hf.TypeBERT, hf.TypeRoBERTa, hf.TypeMegatronBERT, hf.TypeLongformer:
	default:
		return fmt.Errorf("encoder: model_type %q is not supported", cfg.ModelType)
	}
	if cfg.HiddenAct != "gelu" {
		// The layers implement the exact (erf) GELU only; gelu_new and
		// relu checkpoints would silently give different outputs.
		return fmt.Errorf("encoder: hidden_act %q is not supported (only \"gelu\")", cfg.HiddenAct)
	}
	if cfg.PositionEmbeddingType != "" && cfg.PositionEmbeddingType != "absolute" {
		return fmt.Errorf("encoder: position_embedding_type %q is not supported (only \"absolute\")", cfg.PositionEmbeddingType)
	}
	if cfg.HiddenSize <= 0 || cfg.NumAttentionHeads <= 0 || cfg.HiddenSize%cfg.NumAttentionHeads != 0 {
		return fmt.Errorf("encoder: hidden_size %d is not a positive multiple of num_attention_heads %d", cfg.HiddenSize, cfg.NumAttentionHeads)
	}
	if cfg.VocabSize <= 0 || cfg.IntermediateSize <= 0 || cfg.NumHiddenLayers < 0 || cfg.TypeVocabSize < 0 {
		return fmt.Errorf("encoder: invalid sizes (vocab %d, intermediate %d, layers %d, type vocab %d)", cfg.VocabSize, cfg.IntermediateSize, cfg.NumHiddenLayers, cfg.TypeVocabSize)
	}
	if cfg.MaxPositionEmbeddings <= cfg.PositionOffset() {
		return fmt.Errorf("encoder: max_position_embeddings %d leaves no position after the offset %d", cfg.MaxPositionEmbeddings, cfg.PositionOffset())
	}
	if cfg.AttentionWindow != nil {
		if len(cfg.AttentionWindow) != cfg.NumHiddenLayers {
			return fmt.Errorf("encoder: attention_window has %d entries for %d layers", len(cfg.AttentionWindow), cfg.NumHiddenLayers)
		}
		for i, w := range cfg.AttentionWindow {
			if w <= 0 || w%2 != 0 {
				return fmt.Errorf("encoder: attention_window[%d] = %d, want a positive even number", i, w)
			}
		}
	}
	return nil
}

// newParam wraps v (not copied) as an r×c parameter.
func newParam[T float.DType](r, c int, v []T) *nn.Param {
	p := &nn.Param{Matrix: mat.NewDense[T](mat.WithShape(r, c), mat.WithBacking(v))}
	p.SetRequiresGrad(true)
	return p
}

// rowParams returns n (1 × d) parameters backed by consecutive slices of v
// (n·d): one allocation for a whole table.
func rowParams[T float.DType](n, d int, v []T) []*nn.Param {
	ps := make([]*nn.Param, n)
	for i := range ps {
		ps[i] = newParam(1, d, v[i*d:(i+1)*d:(i+1)*d])
	}
	return ps
}

// skeleton builds an encoder for cfg with every parameter allocated and
// filled by fill (called once per parameter tensor with its HF role: "w"
// for weights and embeddings, "b" for biases, "g" for LayerNorm gains).
func skeleton[T float.DType](cfg *hf.Config, withPooler bool, fill func(kind string, v []T)) *Encoder[T] {
	d, f := cfg.HiddenSize, cfg.IntermediateSize
	vec := func(kind string, n int) []T {
		v := make([]T, n)
		fill(kind, v)
		return v
	}
	lin := func(in, out int) Linear {
		return Linear{W: newParam(in, out, vec("w", in*out)), B: newParam(1, out, vec("b", out))}
	}
	norm := func() *Norm {
		return &Norm{Gamma: newParam(1, d, vec("g", d)), Beta: newParam(1, d, vec("b", d))}
	}
	e := &Encoder[T]{Config: *cfg}
	e.Config.AttentionWindow = append([]int(nil), cfg.AttentionWindow...)
	if cfg.AttentionWindow == nil {
		e.Config.AttentionWindow = nil
	}
	e.Embeddings.Word = rowParams(cfg.VocabSize, d, vec("w", cfg.VocabSize*d))
	e.Embeddings.Position = rowParams(cfg.MaxPositionEmbeddings, d, vec("w", cfg.MaxPositionEmbeddings*d))
	e.Embeddings.TokenType = rowParams(cfg.TypeVocabSize, d, vec("w", cfg.TypeVocabSize*d))
	pre := cfg.PreLayerNorm()
	if !pre {
		e.Embeddings.Norm = norm()
	}
	for l := 0; l < cfg.NumHiddenLayers; l++ {
		ly := &Layer{}
		if pre {
			ly.PreNorm = norm()
		}
		ly.QKV = lin(d, 3*d)
		if cfg.AttentionWindow != nil {
			g := lin(d, 3*d)
			ly.GlobalQKV = &g
			ly.Window = cfg.AttentionWindow[l]
		}
		ly.Out = lin(d, d)
		ly.AttnNorm = *norm()
		ly.FF1 = lin(d, f)
		ly.FF2 = lin(f, d)
		if !pre {
			ly.OutNorm = norm()
		}
		e.Layers = append(e.Layers, ly)
	}
	if pre {
		e.FinalNorm = norm()
	}
	if withPooler {
		p := lin(d, d)
		e.Pooler = &p
	}
	return e
}

// New returns an encoder for cfg with BERT's random initialisation from
// seed, for training from scratch: weights and embeddings normal(0,
// initializer_range) (0.02 when the config has none), biases 0, LayerNorm
// gains 1, and the pad_token_id row of the word embeddings 0 (as HF's
// _init_weights).
func New[T float.DType](cfg *hf.Config, withPooler bool, seed uint64) (*Encoder[T], error) {
	if err := checkConfig(cfg); err != nil {
		return nil, err
	}
	std := cfg.InitializerRange
	if std <= 0 {
		std = 0.02
	}
	rng := rand.New(rand.NewPCG(seed, 0x1cdc0de))
	e := skeleton[T](cfg, withPooler, func(kind string, v []T) {
		switch kind {
		case "w":
			for i := range v {
				v[i] = T(rng.NormFloat64() * std)
			}
		case "g":
			for i := range v {
				v[i] = 1
			}
		}
	})
	if p := cfg.PadTokenID; p >= 0 && p < len(e.Embeddings.Word) {
		clear(mat.Data[T](e.Embeddings.Word[p]))
	}
	return e, nil
}

// Options control a forward pass.
type Options struct {
	// Train enables hidden dropout (hidden_dropout_prob after the
	// embeddings, the attention output and the feed-forward output) with
	// masks drawn from Rng, which must then be non-nil. Attention-probability
	// dropout is not applied.
	Train bool
	Rng   *rand.Rand
	// Pool computes Output.Pooled (the encoder must have a Pooler).
	Pool bool
	// KeepLayers keeps the embedding output and every layer's output in
	// Output.Layers (through Fanout, so they may be used in a loss).
	KeepLayers bool
	// Global lists per sequence the positions with global attention
	// (Longformer layers only; e.g. {0} for CLS), strictly increasing.
	Global [][]int
}

// Output is the result of a forward pass over B sequences of L tokens.
type Output struct {
	B, L int
	// Hidden is the last hidden state: (B·L, d), rows [b·L, (b+1)·L)
	// sequence b. Rows of padding are not meaningful.
	Hidden mat.Tensor
	// Pooled is tanh(CLS·W + B) per sequence: (B, d); nil unless
	// Options.Pool.
	Pooled mat.Tensor
	// Layers are the embedding output and each layer's output (B·L, d),
	// as HF's hidden_states (for Megatron-BERT the last one is before the
	// final LayerNorm, Hidden after it); nil unless Options.KeepLayers.
	Layers []mat.Tensor
}

// Forward runs the encoder over a batch of sequences of equal length L
// (padded): ids (B × L) token ids, tokenTypes (B × L, nil for all 0) and
// attentionMask (B × L of 0/1, nil for all 1). It returns the last hidden
// state (B·L × d) and, when the encoder has a pooler, the pooled output.
func (e *Encoder[T]) Forward(k kernels.Kernels[T], ids, tokenTypes, attentionMask [][]int) (*Output, error) {
	return e.Run(k, ids, tokenTypes, attentionMask, Options{Pool: e.Pooler != nil})
}

// Run is Forward with options (dropout, pooling, kept layers, global
// tokens).
func (e *Encoder[T]) Run(k kernels.Kernels[T], ids, tokenTypes, attentionMask [][]int, o Options) (*Output, error) {
	in, err := e.prepare(ids, tokenTypes, attentionMask, o)
	if err != nil {
		return nil, err
	}
	cfg := &e.Config
	out := &Output{B: in.b, L: in.l}
	x, err := e.embed(k, in)
	if err != nil {
		return nil, err
	}
	if x, err = e.dropout(x, o); err != nil {
		return nil, err
	}
	keep := func(x mat.Tensor) (mat.Tensor, error) {
		if !o.KeepLayers {
			return x, nil
		}
		outs, err := layers.Fanout[T](x, 2)
		if err != nil {
			return nil, err
		}
		out.Layers = append(out.Layers, outs[0])
		return outs[1], nil
	}
	if x, err = keep(x); err != nil {
		return nil, err
	}
	for i, ly := range e.Layers {
		if x, err = e.layer(k, ly, x, in, o); err != nil {
			return nil, fmt.Errorf("encoder: layer %d: %w", i, err)
		}
		if x, err = keep(x); err != nil {
			return nil, err
		}
	}
	if e.FinalNorm != nil {
		if x, err = layers.LayerNorm(k, x, e.FinalNorm.Gamma, e.FinalNorm.Beta, cfg.LayerNormEps); err != nil {
			return nil, err
		}
	}
	out.Hidden = x
	if o.Pool {
		if e.Pooler == nil {
			return nil, fmt.Errorf("encoder: Pool requested but the encoder has no pooler")
		}
		outs, err := layers.Fanout[T](x, 2)
		if err != nil {
			return nil, err
		}
		out.Hidden = outs[0]
		rows := make([]int, in.b)
		for b := range rows {
			rows[b] = b * in.l
		}
		cls, err := SelectRows[T](outs[1], rows)
		if err != nil {
			return nil, err
		}
		p, err := layers.Linear(k, cls, e.Pooler.W, e.Pooler.B)
		if err != nil {
			return nil, err
		}
		if out.Pooled, err = layers.Tanh[T](p); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// input is a validated, flattened batch.
type input struct {
	b, l                 int
	ids, types, pos      []int  // (B·L)
	mask                 []int  // (B·L) 0/1, nil when no padding
	valid                []bool // (B·L), for window attention
	global               [][]int
	hasGlobal, anyWindow bool
}

// prepare validates the batch and computes the position ids: 0…L−1 for
// BERT and Megatron-BERT; for RoBERTa and Longformer HF's
// create_position_ids_from_input_ids, pad_token_id+1+(number of non-pad
// tokens so far) for non-pad tokens and pad_token_id for pad tokens.
func (e *Encoder[T]) prepare(ids, tokenTypes, attentionMask [][]int, o Options) (*input, error) {
	cfg := &e.Config
	in := &input{b: len(ids)}
	if in.b == 0 {
		return nil, fmt.Errorf("encoder: empty batch")
	}
	in.l = len(ids[0])
	if in.l == 0 {
		return nil, fmt.Errorf("encoder: empty sequence")
	}
	off := cfg.PositionOffset()
	if maxLen := len(e.Embeddings.Position) - off; in.l > maxLen {
		return nil, fmt.Errorf("encoder: sequence length %d exceeds the %d positions of the model", in.l, maxLen)
	}
	if tokenTypes != nil && len(tokenTypes) != in.b {
		return nil, fmt.Errorf("encoder: %d token type rows for %d sequences", len(tokenTypes), in.b)
	}
	if attentionMask != nil && len(attentionMask) != in.b {
		return nil, fmt.Errorf("encoder: %d attention mask rows for %d sequences", len(attentionMask), in.b)
	}
	if o.Train && o.Rng == nil && cfg.HiddenDropoutProb > 0 {
		return nil, fmt.Errorf("encoder: training forward needs Options.Rng for dropout")
	}
	n := in.b * in.l
	in.ids, in.types, in.pos = make([]int, n), make([]int, n), make([]int, n)
	in.valid = make([]bool, n)
	padded := false
	for b, seq := range ids {
		if len(seq) != in.l {
			return nil, fmt.Errorf("encoder: sequence %d has %d tokens, sequence 0 has %d (pad them to one length)", b, len(seq), in.l)
		}
		if tokenTypes != nil && len(tokenTypes[b]) != in.l {
			return nil, fmt.Errorf("encoder: token types of sequence %d have %d entries for %d tokens", b, len(tokenTypes[b]), in.l)
		}
		if attentionMask != nil && len(attentionMask[b]) != in.l {
			return nil, fmt.Errorf("encoder: attention mask of sequence %d has %d entries for %d tokens", b, len(attentionMask[b]), in.l)
		}
		count := 0
		for i, id := range seq {
			r := b*in.l + i
			if id < 0 || id >= len(e.Embeddings.Word) {
				return nil, fmt.Errorf("encoder: token %d of sequence %d has id %d outside the vocabulary [0, %d)", i, b, id, len(e.Embeddings.Word))
			}
			in.ids[r] = id
			if tokenTypes != nil {
				t := tokenTypes[b][i]
				if t < 0 || t >= max(len(e.Embeddings.TokenType), 1) {
					return nil, fmt.Errorf("encoder: token %d of sequence %d has token type %d outside [0, %d)", i, b, t, len(e.Embeddings.TokenType))
				}
				in.types[r] = t
			}
			in.valid[r] = true
			if attentionMask != nil {
				switch attentionMask[b][i] {
				case 0:
					in.valid[r] = false
					padded = true
				case 1:
				default:
					return nil, fmt.Errorf("encoder: attention mask of sequence %d token %d is %d, want 0 or 1", b, i, attentionMask[b][i])
				}
			}
			if off == 0 {
				in.pos[r] = i
			} else if id == cfg.PadTokenID {
				in.pos[r] = cfg.PadTokenID
			} else {
				count++
				in.pos[r] = cfg.PadTokenID + count
			}
		}
	}
	if padded {
		in.mask = make([]int, n)
		for r, v := range in.valid {
			if v {
				in.mask[r] = 1
			}
		}
	}
	for _, ly := range e.Layers {
		if ly.Window > 0 {
			in.anyWindow = true
		}
	}
	if o.Global != nil {
		if !in.anyWindow {
			return nil, fmt.Errorf("encoder: global tokens given but the encoder has no Longformer layer")
		}
		if len(o.Global) != in.b {
			return nil, fmt.Errorf("encoder: %d global position lists for %d sequences", len(o.Global), in.b)
		}
		in.global = o.Global
		for b, g := range o.Global {
			for i, p := range g {
				if p < 0 || p >= in.l || (i > 0 && p <= g[i-1]) {
					return nil, fmt.Errorf("encoder: global positions of sequence %d must be strictly increasing in [0, %d): %v", b, in.l, g)
				}
			}
			if len(g) > 0 {
				in.hasGlobal = true
			}
		}
	}
	return in, nil
}

// tensors converts parameters to the operand slice layers.Embedding takes.
func tensors(ps []*nn.Param) []mat.Tensor {
	ts := make([]mat.Tensor, len(ps))
	for i, p := range ps {
		ts[i] = p
	}
	return ts
}

// embed computes word + position (+ token type) embeddings, then the
// embedding LayerNorm (not for Megatron-BERT).
//
//	→ (B·L, d)
func (e *Encoder[T]) embed(k kernels.Kernels[T], in *input) (mat.Tensor, error) {
	x, err := layers.Embedding[T](tensors(e.Embeddings.Word), in.ids)
	if err != nil {
		return nil, err
	}
	p, err := layers.Embedding[T](tensors(e.Embeddings.Position), in.pos)
	if err != nil {
		return nil, err
	}
	if x, err = layers.Add[T](x, p); err != nil {
		return nil, err
	}
	if len(e.Embeddings.TokenType) > 0 {
		t, err := layers.Embedding[T](tensors(e.Embeddings.TokenType), in.types)
		if err != nil {
			return nil, err
		}
		if x, err = layers.Add[T](x, t); err != nil {
			return nil, err
		}
	}
	if n := e.Embeddings.Norm; n != nil {
		return layers.LayerNorm(k, x, n.Gamma, n.Beta, e.Config.LayerNormEps)
	}
	return x, nil
}

// dropout applies hidden dropout in training mode.
func (e *Encoder[T]) dropout(x mat.Tensor, o Options) (mat.Tensor, error) {
	if !o.Train || e.Config.HiddenDropoutProb == 0 {
		return x, nil
	}
	return layers.Dropout[T](x, e.Config.HiddenDropoutProb, true, o.Rng)
}

// attention computes the multi-head attention of one layer from its
// input x (the LayerNorm'd input for pre-LN layers), before the output
// projection. x has exactly one consumer here.
//
//	x: (B·L, d) → (B·L, d)
func (e *Encoder[T]) attention(k kernels.Kernels[T], ly *Layer, x mat.Tensor, in *input) (mat.Tensor, error) {
	heads := e.Config.NumAttentionHeads
	if ly.Window == 0 {
		qkv, err := layers.Linear(k, x, ly.QKV.W, ly.QKV.B)
		if err != nil {
			return nil, err
		}
		return layers.SelfAttention(k, qkv, heads, in.l, in.mask)
	}
	var gqkv mat.Tensor
	if in.hasGlobal {
		if ly.GlobalQKV == nil {
			return nil, fmt.Errorf("global tokens given but the layer has no global projections")
		}
		outs, err := layers.Fanout[T](x, 2)
		if err != nil {
			return nil, err
		}
		x = outs[0]
		if gqkv, err = layers.Linear(k, outs[1], ly.GlobalQKV.W, ly.GlobalQKV.B); err != nil {
			return nil, err
		}
	}
	qkv, err := layers.Linear(k, x, ly.QKV.W, ly.QKV.B)
	if err != nil {
		return nil, err
	}
	return WindowAttention(k, qkv, gqkv, heads, in.l, ly.Window/2, in.valid, in.global)
}

// layer runs one transformer layer.
//
//	post-LN: h = LN1(x + drop(Attn(x)·Wo + bo)); y = LN2(h + drop(FFN(h)))
//	pre-LN:  h = x + drop(Attn(LN1(x))·Wo + bo); y = h + drop(FFN(LN2(h)))
//
//	x: (B·L, d) → y: (B·L, d)
func (e *Encoder[T]) layer(k kernels.Kernels[T], ly *Layer, x mat.Tensor, in *input, o Options) (mat.Tensor, error) {
	eps := e.Config.LayerNormEps
	// x feeds the attention branch and the residual: two consumers.
	a := x
	var err error
	if ly.PreNorm != nil {
		if a, err = layers.LayerNorm(k, x, ly.PreNorm.Gamma, ly.PreNorm.Beta, eps); err != nil {
			return nil, err
		}
	}
	att, err := e.attention(k, ly, a, in)
	if err != nil {
		return nil, err
	}
	att, err = layers.Linear(k, att, ly.Out.W, ly.Out.B)
	if err != nil {
		return nil, err
	}
	if att, err = e.dropout(att, o); err != nil {
		return nil, err
	}
	h, err := layers.Add[T](x, att)
	if err != nil {
		return nil, err
	}
	// h feeds the feed-forward branch and the residual: two consumers.
	f := h
	if ly.OutNorm != nil { // post-LN: normalise the residual sum itself
		if h, err = layers.LayerNorm(k, h, ly.AttnNorm.Gamma, ly.AttnNorm.Beta, eps); err != nil {
			return nil, err
		}
		f = h
	} else if f, err = layers.LayerNorm(k, h, ly.AttnNorm.Gamma, ly.AttnNorm.Beta, eps); err != nil {
		return nil, err
	}
	if f, err = layers.Linear(k, f, ly.FF1.W, ly.FF1.B); err != nil {
		return nil, err
	}
	if f, err = layers.GELU(k, f); err != nil {
		return nil, err
	}
	if f, err = layers.Linear(k, f, ly.FF2.W, ly.FF2.B); err != nil {
		return nil, err
	}
	if f, err = e.dropout(f, o); err != nil {
		return nil, err
	}
	y, err := layers.Add[T](h, f)
	if err != nil {
		return nil, err
	}
	if ly.OutNorm != nil {
		return layers.LayerNorm(k, y, ly.OutNorm.Gamma, ly.OutNorm.Beta, eps)
	}
	return y, nil
}

// isFinite reports whether every element of v is finite.
func isFinite[T float.DType](v []T) bool {
	for _, x := range v {
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return false
		}
	}
	return true
}
