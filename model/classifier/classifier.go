package classifier

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/icdcode/icdcode/data/synonyms"
	"github.com/icdcode/icdcode/model/encoder"
	"github.com/icdcode/icdcode/model/heads"
	"github.com/icdcode/icdcode/model/kernels"
	"github.com/icdcode/icdcode/model/layers"
	"github.com/icdcode/icdcode/model/tokenizer"
	"github.com/nlpodyssey/spago/mat"
	"github.com/nlpodyssey/spago/mat/float"
	"github.com/nlpodyssey/spago/nn"
)

// Head is what the classifier needs of a model/heads head.
type Head[T float.DType] interface {
	Forward(k kernels.Kernels[T], H mat.Tensor, lay heads.Layout) (mat.Tensor, error)
	Params() []*nn.Param
}

// Classifier is an encoder and a head that map the token ids of one
// document to one logit per label.
type Classifier[T float.DType] struct {
	// Config is the configuration with its defaults filled in.
	Config Config
	// Enc is the encoder; for LE the Longformer conversion of the encoder
	// given to New (unless that one already was one).
	Enc  *encoder.Encoder[T]
	Head Head[T]
	// Special holds the tokenizer's [CLS], [SEP] and [PAD] ids.
	Special tokenizer.SpecialTokens
	// Labels are the label codes, in logit order.
	Labels []string
	// Synonyms is the frozen MSAM synonym matrix (L·M × d, row c·M + s);
	// nil for the other heads. It is kept so that it can be saved with
	// the model (reference §14, flaw 3).
	Synonyms *mat.Dense[T]
	// CodeEmbeddings are the label code embeddings (L × Config.CodeDim,
	// zero rows for labels without one) given to SetCodeEmbeddings; nil
	// when the head has no code projection.
	CodeEmbeddings *mat.Dense[T]
}

// SetCodeEmbeddings gives the LAAT or MSAM head a learned projection of
// the label code embeddings emb (L × k, row c for label c, all-zero rows
// for labels without an embedding; see heads.CodeProjection), drawn from
// Config.Seed. Config.CodeDim must be k: it is part of the configuration so
// that a saved model is rebuilt with the same parameters.
func (c *Classifier[T]) SetCodeEmbeddings(emb *mat.Dense[T]) error {
	shape := emb.Shape()
	if shape[0] != len(c.Labels) || shape[1] != c.Config.CodeDim {
		return fmt.Errorf("classifier: code embeddings are %d×%d, want %d labels × CodeDim %d", shape[0], shape[1], len(c.Labels), c.Config.CodeDim)
	}
	type projectable interface {
		SetCodeProjection(*heads.CodeProjection[T]) error
	}
	h, ok := c.Head.(projectable)
	if !ok {
		return fmt.Errorf("classifier: code embeddings need the %q or %q head, not %q", HeadLAAT, HeadMSAM, c.Config.Head)
	}
	width := c.Enc.Config.HiddenSize
	if l, ok := c.Head.(*heads.LAAT[T]); ok {
		width = l.U.Value().Shape()[1]
	}
	p, err := heads.NewCodeProjection[T](emb, width, c.Config.Seed)
	if err != nil {
		return err
	}
	if err := h.SetCodeProjection(p); err != nil {
		return err
	}
	c.CodeEmbeddings = emb
	return nil
}

// New builds a classifier over enc (whose parameters it uses, not copies,
// except for the LE conversion) for the given labels. syn holds, for
// MSAM, the M synonym strings of each label in label order (see
// SynonymStrings); tok encodes them and gives the special ids. The head is
// initialised from cfg.Seed; the CE+cls head starts from enc's pooler
// when enc has one, as the reference's pretrained pooler.
func New[T float.DType](cfg Config, enc *encoder.Encoder[T], tok *tokenizer.Tokenizer, labels []string, syn [][]string) (*Classifier[T], error) {
	if enc == nil || tok == nil {
		return nil, fmt.Errorf("classifier: nil encoder or tokenizer")
	}
	if len(labels) == 0 {
		return nil, fmt.Errorf("classifier: no labels")
	}
	window := 0
	if len(enc.Layers) > 0 {
		window = enc.Layers[0].Window
	}
	if cfg.Encoder == EncoderLE && cfg.Window == 0 && window > 0 {
		cfg.Window = window
	}
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	sp := tok.Special()
	if err := checkSpecial(sp); err != nil {
		return nil, err
	}
	if tok.VocabSize() > enc.Config.VocabSize {
		return nil, fmt.Errorf("classifier: the tokenizer has %d tokens but the encoder's vocabulary has %d", tok.VocabSize(), enc.Config.VocabSize)
	}
	if enc.Config.PositionOffset() > 0 && sp.PAD != enc.Config.PadTokenID {
		// RoBERTa positions count non-PAD tokens: another PAD id would
		// give padding positions.
		return nil, fmt.Errorf("classifier: tokenizer PAD id %d differs from the encoder's pad_token_id %d", sp.PAD, enc.Config.PadTokenID)
	}
	positions := len(enc.Embeddings.Position) - enc.Config.PositionOffset()
	switch cfg.Encoder {
	case EncoderCE:
		if window > 0 {
			return nil, fmt.Errorf("classifier: CE needs a full-attention encoder, this one has window %d", window)
		}
		if cfg.MaxLen > positions {
			return nil, fmt.Errorf("classifier: MaxLen %d exceeds the encoder's %d positions", cfg.MaxLen, positions)
		}
	case EncoderLE:
		length := (cfg.MaxTokens + cfg.Window - 1) / cfg.Window * cfg.Window
		if window == 0 {
			long, err := encoder.ToLongformer(enc, length, cfg.Window)
			if err != nil {
				return nil, err
			}
			enc, positions = long, length
		} else if window != cfg.Window {
			return nil, fmt.Errorf("classifier: Window %d, but the Longformer encoder has window %d", cfg.Window, window)
		}
		if length > positions {
			return nil, fmt.Errorf("classifier: MaxTokens %d padded to the window is %d tokens, beyond the encoder's %d positions", cfg.MaxTokens, length, positions)
		}
	}
	c := &Classifier[T]{Config: cfg, Enc: enc, Special: sp, Labels: append([]string(nil), labels...)}
	d := enc.Config.HiddenSize
	var err error
	switch {
	case cfg.Head == HeadCLS && cfg.Encoder == EncoderCE:
		var h *heads.CE[T]
		if h, err = heads.NewCE[T](d, len(labels), cfg.Seed); err == nil && enc.Pooler != nil {
			copy(mat.Data[T](h.PoolerW), mat.Data[T](enc.Pooler.W))
			copy(mat.Data[T](h.PoolerB), mat.Data[T](enc.Pooler.B))
		}
		c.Head = h
	case cfg.Head == HeadCLS:
		c.Head, err = heads.NewLE[T](d, len(labels), cfg.Seed)
	case cfg.Head == HeadLAAT:
		da := cfg.LAATDim
		if da == 0 {
			da = d
		}
		c.Head, err = heads.NewLAAT[T](d, da, len(labels), cfg.Seed)
	case cfg.Head == HeadMSAM:
		if len(syn) != len(labels) {
			return nil, fmt.Errorf("classifier: %d synonym lists for %d labels", len(syn), len(labels))
		}
		if c.Synonyms, err = SynonymMatrix(kernels.CPU[T](), enc, tok, syn, cfg.M); err != nil {
			return nil, err
		}
		c.Head, err = heads.NewMSAM[T](c.Synonyms, len(labels), cfg.M, cfg.MSAM, cfg.Seed)
	}
	if err != nil {
		return nil, err
	}
	return c, nil
}

// SynonymStrings returns the synonym strings of sel in label order,
// checking that every label has exactly one selection of M strings
// (reference §14, flaw 11: a selection file in another order would
// silently pair labels with the wrong synonyms).
func SynonymStrings(sel []synonyms.Selection, labels []string, m int) ([][]string, error) {
	byCode := make(map[string][]string, len(sel))
	for _, s := range sel {
		if _, dup := byCode[s.Code]; dup {
			return nil, fmt.Errorf("classifier: two synonym selections for %s", s.Code)
		}
		byCode[s.Code] = s.Synonyms
	}
	out := make([][]string, len(labels))
	for i, l := range labels {
		s, ok := byCode[l]
		if !ok {
			return nil, fmt.Errorf("classifier: no synonym selection for label %s", l)
		}
		if len(s) != m {
			return nil, fmt.Errorf("classifier: label %s has %d synonyms, want %d", l, len(s), m)
		}
		out[i] = s
	}
	return out, nil
}

// SynonymMatrix returns the frozen MSAM synonym matrix (L·M × d, row
// c·M + s): the last-layer [CLS] state of "[CLS] synonym [SEP]" under enc in
// eval mode (no dropout), one label's M synonyms per batch. As in the
// reference (§3) the values are constants: they are copied out of the
// graph, so training never changes them. Synonyms longer than the encoder's
// positions are truncated.
func SynonymMatrix[T float.DType](k kernels.Kernels[T], enc *encoder.Encoder[T], tok *tokenizer.Tokenizer, syn [][]string, m int) (*mat.Dense[T], error) {
	sp := tok.Special()
	if err := checkSpecial(sp); err != nil {
		return nil, err
	}
	d := enc.Config.HiddenSize
	maxLen := len(enc.Embeddings.Position) - enc.Config.PositionOffset()
	if maxLen < 2 {
		return nil, fmt.Errorf("classifier: the encoder has %d positions", maxLen)
	}
	out := make([]T, 0, len(syn)*m*d)
	for c, strs := range syn {
		if len(strs) != m {
			return nil, fmt.Errorf("classifier: label %d has %d synonyms, want %d", c, len(strs), m)
		}
		ids := make([][]int, m)
		longest := 0
		for s, str := range strs {
			t, err := tok.Encode(str)
			if err != nil {
				return nil, fmt.Errorf("classifier: synonym %q: %w", str, err)
			}
			ids[s] = t[:min(len(t), maxLen-2)]
			longest = max(longest, len(ids[s])+2)
		}
		batch, mask := make([][]int, m), make([][]int, m)
		for s := range ids {
			batch[s], mask[s] = sequence(ids[s], longest, sp)
		}
		res, err := enc.Run(k, batch, nil, mask, encoder.Options{})
		if err != nil {
			return nil, err
		}
		h := mat.Data[T](res.Hidden.Value())
		for s := range m {
			out = append(out, h[s*longest*d:s*longest*d+d]...)
		}
	}
	return mat.NewDense[T](mat.WithShape(len(syn)*m, d), mat.WithBacking(out)), nil
}

// Logits returns the (1 × L) logits of the document with token ids ids
// (without special tokens): all its chunks go through the encoder as one
// batch, then the head. With train, encoder dropout and cfg.Dropout are
// drawn from rng, which must then be non-nil.
func (c *Classifier[T]) Logits(k kernels.Kernels[T], ids []int, train bool, rng *rand.Rand) (mat.Tensor, error) {
	batch, mask, err := Chunk(ids, c.Config, c.Special)
	if err != nil {
		return nil, err
	}
	o := encoder.Options{Train: train, Rng: rng}
	if c.Config.Encoder == EncoderLE && c.Config.GlobalCLS {
		o.Global = [][]int{{0}}
	}
	out, err := c.Enc.Run(k, batch, nil, mask, o)
	if err != nil {
		return nil, err
	}
	h := out.Hidden
	if h, err = layers.Dropout[T](h, c.Config.Dropout, train, rng); err != nil {
		return nil, err
	}
	lay := heads.Layout{Chunks: len(batch), ChunkLen: len(batch[0]), Mask: make([]int, 0, len(batch)*len(batch[0]))}
	for _, m := range mask {
		lay.Mask = append(lay.Mask, m...)
	}
	return c.Head.Forward(k, h, lay)
}

// Predict returns the label probabilities (sigmoid of the eval-mode
// logits) of one document.
func (c *Classifier[T]) Predict(k kernels.Kernels[T], ids []int) ([]float64, error) {
	z, err := c.Logits(k, ids, false, nil)
	if err != nil {
		return nil, err
	}
	zs := mat.Data[T](z.Value())
	p := make([]float64, len(zs))
	for i, v := range zs {
		p[i] = 1 / (1 + math.Exp(-float64(v)))
	}
	return p, nil
}

// NamedParam is a parameter with a stable name.
type NamedParam = encoder.NamedParam

// Params returns the trainable parameters, encoder first then head, with
// names that depend only on the architecture (checkpoints match them). The
// encoder's pooler is left out: the classifier never runs it (CE+cls
// starts its own pooler from it), and a parameter that never gets a
// gradient has no place in the optimiser.
func (c *Classifier[T]) Params() ([]NamedParam, error) {
	ps, err := c.Enc.NamedParams()
	if err != nil {
		return nil, err
	}
	hp := c.Head.Params()
	var names []string
	switch h := c.Head.(type) {
	case *heads.CE[T]:
		names = []string{"pooler.weight", "pooler.bias", "out.weight", "out.bias"}
	case *heads.LE[T]:
		names = []string{"dense.weight", "dense.bias", "out_proj.weight", "out_proj.bias"}
	case *heads.LAAT[T]:
		names = []string{"first.weight", "second.weight", "third.weight", "third.bias"}
		if h.Code != nil {
			names = append(names, "code_proj.weight")
		}
	case *heads.MSAM[T]:
		names = []string{"wq.weight", "wq.bias", "wk.weight", "wk.bias", "wv.weight", "wv.bias"}
		if h.Delta != nil {
			names = append(names, "synonym_delta")
		}
		if h.Code != nil {
			names = append(names, "code_proj.weight")
		}
	}
	if len(names) != len(hp) {
		return nil, fmt.Errorf("classifier: head %T has %d parameters, %d names", c.Head, len(hp), len(names))
	}
	for i, p := range hp {
		ps = append(ps, NamedParam{Name: "head." + c.Config.Head + "." + names[i], P: p})
	}
	return ps, nil
}
