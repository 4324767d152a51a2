package encoder

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"github.com/icdcode/icdcode/model/hf"
	"github.com/nlpodyssey/spago/mat"
	"github.com/nlpodyssey/spago/mat/float"
	"github.com/nlpodyssey/spago/nn"
)

// windowMetadata is the safetensors metadata key under which Save records
// the attention windows of a Longformer conversion whose model_type is not
// longformer (config.json's attention_window is only read for longformer).
const windowMetadata = "icdcode.attention_window"

// globalNames are the HF names of the Longformer global projections.
var globalNames = [3]string{"query_global", "key_global", "value_global"}

// expected lists the tensors an encoder of cfg stores: hf.ExpectedTensors
// plus the global projections of a Longformer conversion of a non-longformer
// model type.
func expected(cfg *hf.Config, withPooler bool) []hf.Expected {
	ex := hf.ExpectedTensors(cfg, withPooler)
	if cfg.AttentionWindow != nil && cfg.ModelType != hf.TypeLongformer {
		d := cfg.HiddenSize
		for l := 0; l < cfg.NumHiddenLayers; l++ {
			for _, q := range globalNames {
				p := fmt.Sprintf("encoder.layer.%d.attention.self.%s.", l, q)
				ex = append(ex, hf.Expected{Name: p + "weight", Shape: []int{d, d}}, hf.Expected{Name: p + "bias", Shape: []int{d}})
			}
		}
	}
	return ex
}

// Load reads an encoder from a Hugging Face model directory (config.json and
// model.safetensors or pytorch_model.bin, fp32/fp16/bf16, with or without a
// task-head prefix such as "bert."), or one written by Save. The pooler is
// loaded when the checkpoint has one. Missing, unexpected (other than
// hf.DefaultIgnoreUnexpected) and wrongly shaped tensors are reported
// together in one *hf.CheckError.
func Load[T float.DType](dir string) (*Encoder[T], error) {
	m, err := hf.Open(dir)
	if err != nil {
		return nil, err
	}
	defer m.Close()
	cfg := *m.Config
	if st, ok := m.Tensors.(*hf.Safetensors); ok && cfg.AttentionWindow == nil {
		if s, ok := st.Metadata()[windowMetadata]; ok {
			if err := json.Unmarshal([]byte(s), &cfg.AttentionWindow); err != nil {
				return nil, fmt.Errorf("encoder: %s: metadata %s: %w", dir, windowMetadata, err)
			}
		}
	}
	if err := checkConfig(&cfg); err != nil {
		return nil, fmt.Errorf("%s: %w", dir, err)
	}
	src, err := hf.Normalize(m.Tensors)
	if err != nil {
		return nil, err
	}
	_, withPooler := src.Info("pooler.dense.weight")
	if err := hf.Check(src, expected(&cfg, withPooler), hf.DefaultIgnoreUnexpected); err != nil {
		return nil, err
	}
	e := skeleton[T](&cfg, withPooler, func(string, []T) {})
	if err := e.forEachTensor(func(name string, shape []int, fused int, dst []T, ld, col int) error {
		t, err := src.Load(name)
		if err != nil {
			return err
		}
		if !isFinite(t.Data) {
			return fmt.Errorf("encoder: %s: tensor %s has non-finite values", dir, name)
		}
		if len(shape) == 2 && fused > 0 { // HF (out, in) → ours (in, out), at column col
			out, in := shape[0], shape[1]
			for o := 0; o < out; o++ {
				for i := 0; i < in; i++ {
					dst[i*ld+col+o] = T(t.Data[o*in+i])
				}
			}
			return nil
		}
		for i, v := range t.Data {
			dst[col+i] = T(v)
		}
		return nil
	}); err != nil {
		return nil, err
	}
	return e, nil
}

// forEachTensor calls fn for every HF tensor of the encoder with its
// canonical name, its HF shape and where its values live: for a Linear
// weight (fused > 0) the HF (out, in) matrix is the transpose of the
// (in × ld) block of dst starting at column col; for everything else
// (biases, norms, embeddings) the values are dst[col : col+size].
func (e *Encoder[T]) forEachTensor(fn func(name string, shape []int, fused int, dst []T, ld, col int) error) error {
	d := e.Config.HiddenSize
	data := func(p *nn.Param) []T { return mat.Data[T](p) }
	table := func(name string, rows []*nn.Param) error {
		if len(rows) == 0 {
			return nil
		}
		// Rows are backed by one slice (rowParams), but may have been
		// replaced by an optimizer or a caller: go row by row.
		buf := make([]T, len(rows)*d)
		for i, r := range rows {
			copy(buf[i*d:(i+1)*d], data(r))
		}
		if err := fn(name, []int{len(rows), d}, 0, buf, d, 0); err != nil {
			return err
		}
		for i, r := range rows {
			copy(data(r), buf[i*d:(i+1)*d])
		}
		return nil
	}
	lin := func(name string, l *Linear) error {
		s := l.W.Shape()
		if err := fn(name+".weight", []int{s[1], s[0]}, 1, data(l.W), s[1], 0); err != nil {
			return err
		}
		return fn(name+".bias", []int{s[1]}, 0, data(l.B), 0, 0)
	}
	fusedLin := func(prefix string, names [3]string, l *Linear) error {
		for p, q := range names {
			if err := fn(prefix+q+".weight", []int{d, d}, 1, data(l.W), 3*d, p*d); err != nil {
				return err
			}
			if err := fn(prefix+q+".bias", []int{d}, 0, data(l.B), 0, p*d); err != nil {
				return err
			}
		}
		return nil
	}
	norm := func(name string, n *Norm) error {
		if n == nil {
			return nil
		}
		if err := fn(name+".weight", []int{d}, 0, data(n.Gamma), 0, 0); err != nil {
			return err
		}
		return fn(name+".bias", []int{d}, 0, data(n.Beta), 0, 0)
	}
	em := &e.Embeddings
	if err := table("embeddings.word_embeddings.weight", em.Word); err != nil {
		return err
	}
	if err := table("embeddings.position_embeddings.weight", em.Position); err != nil {
		return err
	}
	if err := table("embeddings.token_type_embeddings.weight", em.TokenType); err != nil {
		return err
	}
	if err := norm("embeddings.LayerNorm", em.Norm); err != nil {
		return err
	}
	for i, ly := range e.Layers {
		p := "encoder.layer." + strconv.Itoa(i) + "."
		if err := norm(p+"attention.ln", ly.PreNorm); err != nil {
			return err
		}
		if err := fusedLin(p+"attention.self.", [3]string{"query", "key", "value"}, &ly.QKV); err != nil {
			return err
		}
		if ly.GlobalQKV != nil {
			if err := fusedLin(p+"attention.self.", globalNames, ly.GlobalQKV); err != nil {
				return err
			}
		}
		if err := lin(p+"attention.output.dense", &ly.Out); err != nil {
			return err
		}
		attnNorm := p + "attention.output.LayerNorm"
		if ly.PreNorm != nil {
			attnNorm = p + "ln"
		}
		if err := norm(attnNorm, &ly.AttnNorm); err != nil {
			return err
		}
		if err := lin(p+"intermediate.dense", &ly.FF1); err != nil {
			return err
		}
		if err := lin(p+"output.dense", &ly.FF2); err != nil {
			return err
		}
		if err := norm(p+"output.LayerNorm", ly.OutNorm); err != nil {
			return err
		}
	}
	if err := norm("encoder.ln", e.FinalNorm); err != nil {
		return err
	}
	if e.Pooler != nil {
		return lin("pooler.dense", e.Pooler)
	}
	return nil
}

// Save writes the encoder as a Hugging Face model directory: config.json
// and model.safetensors in float32 under the canonical base-model names
// (HF layouts: (out, in) weights, separate query/key/value), so Load (and
// transformers' AutoModel, for the bert, roberta and megatron-bert types)
// reads it back. A float32 encoder round-trips exactly; a float64 one is
// rounded to float32. The attention windows of a Longformer conversion of a
// non-longformer type are kept in config.json (attention_window, ignored by
// transformers for those types) and in the safetensors metadata, from
// which Load restores them.
func (e *Encoder[T]) Save(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	var ts []*hf.Tensor
	if err := e.forEachTensor(func(name string, shape []int, fused int, src []T, ld, col int) error {
		n := 1
		for _, s := range shape {
			n *= s
		}
		t := &hf.Tensor{Name: name, Shape: append([]int(nil), shape...), Data: make([]float32, n)}
		if len(shape) == 2 && fused > 0 {
			out, in := shape[0], shape[1]
			for o := 0; o < out; o++ {
				for i := 0; i < in; i++ {
					t.Data[o*in+i] = float32(src[i*ld+col+o])
				}
			}
		} else {
			for i := range t.Data {
				t.Data[i] = float32(src[col+i])
			}
		}
		ts = append(ts, t)
		return nil
	}); err != nil {
		return err
	}
	var meta map[string]string
	cfg := &e.Config
	if cfg.AttentionWindow != nil && cfg.ModelType != hf.TypeLongformer {
		b, err := json.Marshal(cfg.AttentionWindow)
		if err != nil {
			return err
		}
		meta = map[string]string{windowMetadata: string(b)}
	}
	if err := hf.WriteSafetensors(filepath.Join(dir, hf.SafetensorsFile), ts, hf.F32, meta); err != nil {
		return err
	}
	return writeConfig(filepath.Join(dir, hf.ConfigFile), cfg)
}

// writeConfig writes cfg as config.json with the transformers field names.
func writeConfig(path string, cfg *hf.Config) error {
	m := map[string]any{
		"model_type":                   cfg.ModelType,
		"vocab_size":                   cfg.VocabSize,
		"hidden_size":                  cfg.HiddenSize,
		"num_hidden_layers":            cfg.NumHiddenLayers,
		"num_attention_heads":          cfg.NumAttentionHeads,
		"intermediate_size":            cfg.IntermediateSize,
		"hidden_act":                   cfg.HiddenAct,
		"max_position_embeddings":      cfg.MaxPositionEmbeddings,
		"type_vocab_size":              cfg.TypeVocabSize,
		"layer_norm_eps":               cfg.LayerNormEps,
		"pad_token_id":                 cfg.PadTokenID,
		"position_embedding_type":      cfg.PositionEmbeddingType,
		"hidden_dropout_prob":          cfg.HiddenDropoutProb,
		"attention_probs_dropout_prob": cfg.AttentionProbsDropoutProb,
		"initializer_range":            cfg.InitializerRange,
		"torch_dtype":                  "float32",
	}
	if len(cfg.Architectures) > 0 {
		m["architectures"] = cfg.Architectures
	}
	if cfg.BOSTokenID >= 0 {
		m["bos_token_id"] = cfg.BOSTokenID
	}
	if cfg.EOSTokenID >= 0 {
		m["eos_token_id"] = cfg.EOSTokenID
	}
	if cfg.AttentionWindow != nil {
		m["attention_window"] = cfg.AttentionWindow
	}
	if cfg.TokenizerClass != "" {
		m["tokenizer_class"] = cfg.TokenizerClass
	}
	if cfg.TokenizerType != "" {
		m["tokenizer_type"] = cfg.TokenizerType
	}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
