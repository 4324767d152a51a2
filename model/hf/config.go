package hf

import (
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"
)

// Model types understood by ReadConfig.
const (
	TypeBERT         = "bert"
	TypeRoBERTa      = "roberta"
	TypeMegatronBERT = "megatron-bert"
	TypeLongformer   = "longformer"
)

// Config is the part of a Hugging Face config.json the encoders need.
// Optional fields carry the transformers defaults of the model type when
// absent from the file.
type Config struct {
	// Path is the file the config was read from ("" when parsed from bytes).
	Path string

	ModelType             string
	Architectures         []string
	VocabSize             int
	HiddenSize            int
	NumHiddenLayers       int
	NumAttentionHeads     int
	IntermediateSize      int
	HiddenAct             string
	MaxPositionEmbeddings int
	TypeVocabSize         int
	LayerNormEps          float64
	PadTokenID            int
	// BOS/EOS ids (-1 when absent; RoBERTa-family configs carry them).
	BOSTokenID, EOSTokenID    int
	PositionEmbeddingType     string
	HiddenDropoutProb         float64
	AttentionProbsDropoutProb float64
	InitializerRange          float64
	// TorchDType is the config's torch_dtype ("" when absent).
	TorchDType string
	// AttentionWindow is the per-layer Longformer window (full width, even);
	// nil for other model types.
	AttentionWindow []int
	// TokenizerClass and TokenizerType are informative (e.g. GatorTron's
	// "BertWordPieceCase").
	TokenizerClass, TokenizerType string
}

// HeadDim is HiddenSize / NumAttentionHeads.
func (c *Config) HeadDim() int { return c.HiddenSize / c.NumAttentionHeads }

// PositionOffset is the number of position rows before the first real
// position: RoBERTa and Longformer number positions from pad_token_id+1;
// BERT and Megatron-BERT from 0.
func (c *Config) PositionOffset() int {
	if c.ModelType == TypeRoBERTa || c.ModelType == TypeLongformer {
		return c.PadTokenID + 1
	}
	return 0
}

// PreLayerNorm reports whether the layers normalise before attention and the
// feed-forward block (Megatron-BERT: encoder.layer.N.attention.ln / .ln and a
// final encoder.ln, no embedding LayerNorm) instead of after (BERT, RoBERTa,
// Longformer).
func (c *Config) PreLayerNorm() bool { return c.ModelType == TypeMegatronBERT }

// knownActivations are the keys of transformers' ACT2FN.
var knownActivations = map[string]bool{
	"gelu": true, "gelu_new": true, "gelu_fast": true, "gelu_pytorch_tanh": true, "gelu_python": true,
	"gelu_accurate": true, "gelu_10": true, "quick_gelu": true, "relu": true, "relu2": true, "relu6": true,
	"leaky_relu": true, "silu": true, "swish": true, "tanh": true, "sigmoid": true, "mish": true,
	"linear": true, "laplace": true,
}

// ReadConfig reads and validates a config.json.
func ReadConfig(path string) (*Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	c, err := ParseConfig(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	c.Path = path
	return c, nil
}

// ParseConfig parses and validates config.json text. Unknown fields are
// ignored; missing required fields and invalid values are errors naming the
// field.
func ParseConfig(data []byte) (*Config, error) {
	var raw struct {
		ModelType             *string          `json:"model_type"`
		Architectures         []string         `json:"architectures"`
		VocabSize             *int             `json:"vocab_size"`
		HiddenSize            *int             `json:"hidden_size"`
		NumHiddenLayers       *int             `json:"num_hidden_layers"`
		NumAttentionHeads     *int             `json:"num_attention_heads"`
		IntermediateSize      *int             `json:"intermediate_size"`
		HiddenAct             *string          `json:"hidden_act"`
		MaxPositionEmbeddings *int             `json:"max_position_embeddings"`
		TypeVocabSize         *int             `json:"type_vocab_size"`
		LayerNormEps          *float64         `json:"layer_norm_eps"`
		PadTokenID            *int             `json:"pad_token_id"`
		BOSTokenID            *int             `json:"bos_token_id"`
		EOSTokenID            *int             `json:"eos_token_id"`
		PositionEmbeddingType *string          `json:"position_embedding_type"`
		HiddenDropoutProb     *float64         `json:"hidden_dropout_prob"`
		AttentionDropoutProb  *float64         `json:"attention_probs_dropout_prob"`
		InitializerRange      *float64         `json:"initializer_range"`
		TorchDType            *string          `json:"torch_dtype"`
		AttentionWindow       *json.RawMessage `json:"attention_window"`
		TokenizerClass        *string          `json:"tokenizer_class"`
		TokenizerType         *string          `json:"tokenizer_type"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("not a valid config.json: %w", err)
	}
	if raw.ModelType == nil {
		return nil, fmt.Errorf("missing required field model_type")
	}
	c := &Config{ModelType: *raw.ModelType, Architectures: raw.Architectures}
	switch c.ModelType {
	case TypeBERT, TypeRoBERTa, TypeMegatronBERT, TypeLongformer:
	default:
		return nil, fmt.Errorf("model_type %q is not supported (want %s, %s, %s or %s)", c.ModelType, TypeBERT, TypeRoBERTa, TypeMegatronBERT, TypeLongformer)
	}
	required := []struct {
		name string
		v    *int
		dst  *int
	}{
		{"vocab_size", raw.VocabSize, &c.VocabSize},
		{"hidden_size", raw.HiddenSize, &c.HiddenSize},
		{"num_hidden_layers", raw.NumHiddenLayers, &c.NumHiddenLayers},
		{"num_attention_heads", raw.NumAttentionHeads, &c.NumAttentionHeads},
		{"intermediate_size", raw.IntermediateSize, &c.IntermediateSize},
		{"max_position_embeddings", raw.MaxPositionEmbeddings, &c.MaxPositionEmbeddings},
	}
	var missing []string
	for _, r := range required {
		if r.v == nil {
			missing = append(missing, r.name)
			continue
		}
		if *r.v <= 0 {
			return nil, fmt.Errorf("field %s must be positive, got %d", r.name, *r.v)
		}
		*r.dst = *r.v
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("missing required field(s) %s for model_type %q", strings.Join(missing, ", "), c.ModelType)
	}
	// Defaults of the transformers configuration classes.
	c.HiddenAct = strOr(raw.HiddenAct, "gelu")
	c.TypeVocabSize = intOr(raw.TypeVocabSize, 2)
	c.LayerNormEps = floatOr(raw.LayerNormEps, 1e-12)
	padDefault := 0
	if c.ModelType == TypeRoBERTa || c.ModelType == TypeLongformer {
		padDefault = 1
	}
	c.PadTokenID = intOr(raw.PadTokenID, padDefault)
	c.BOSTokenID = intOr(raw.BOSTokenID, -1)
	c.EOSTokenID = intOr(raw.EOSTokenID, -1)
	c.PositionEmbeddingType = strOr(raw.PositionEmbeddingType, "absolute")
	c.HiddenDropoutProb = floatOr(raw.HiddenDropoutProb, 0.1)
	c.AttentionProbsDropoutProb = floatOr(raw.AttentionDropoutProb, 0.1)
	c.InitializerRange = floatOr(raw.InitializerRange, 0.02)
	c.TorchDType = strOr(raw.TorchDType, "")
	c.TokenizerClass = strOr(raw.TokenizerClass, "")
	c.TokenizerType = strOr(raw.TokenizerType, "")

	if c.HiddenSize%c.NumAttentionHeads != 0 {
		return nil, fmt.Errorf("hidden_size %d is not a multiple of num_attention_heads %d", c.HiddenSize, c.NumAttentionHeads)
	}
	if !knownActivations[c.HiddenAct] {
		return nil, fmt.Errorf("hidden_act %q is not a known activation (want one of %s)", c.HiddenAct, strings.Join(sortedKeys(knownActivations), ", "))
	}
	switch c.PositionEmbeddingType {
	case "absolute", "relative_key", "relative_key_query":
	default:
		return nil, fmt.Errorf("position_embedding_type %q is not absolute, relative_key or relative_key_query", c.PositionEmbeddingType)
	}
	if c.TypeVocabSize < 0 {
		return nil, fmt.Errorf("field type_vocab_size must not be negative, got %d", c.TypeVocabSize)
	}
	if !(c.LayerNormEps > 0) {
		return nil, fmt.Errorf("field layer_norm_eps must be positive, got %g", c.LayerNormEps)
	}
	if c.PadTokenID < 0 || c.PadTokenID >= c.VocabSize {
		return nil, fmt.Errorf("pad_token_id %d is outside the vocabulary (vocab_size %d)", c.PadTokenID, c.VocabSize)
	}
	if off := c.PositionOffset(); off >= c.MaxPositionEmbeddings {
		return nil, fmt.Errorf("max_position_embeddings %d leaves no positions after the offset pad_token_id+1 = %d", c.MaxPositionEmbeddings, off)
	}
	if c.ModelType == TypeLongformer {
		w, err := parseAttentionWindow(raw.AttentionWindow, c.NumHiddenLayers)
		if err != nil {
			return nil, err
		}
		c.AttentionWindow = w
	}
	return c, nil
}

// parseAttentionWindow accepts an int (every layer) or a list with one even,
// positive window per layer; absent means transformers' default 512.
func parseAttentionWindow(raw *json.RawMessage, layers int) ([]int, error) {
	w := make([]int, layers)
	if raw == nil {
		for i := range w {
			w[i] = 512
		}
		return w, nil
	}
	var one int
	if err := json.Unmarshal(*raw, &one); err == nil {
		for i := range w {
			w[i] = one
		}
	} else {
		var list []int
		if err := json.Unmarshal(*raw, &list); err != nil {
			return nil, fmt.Errorf("field attention_window must be an integer or a list of integers: %s", string(*raw))
		}
		if len(list) != layers {
			return nil, fmt.Errorf("field attention_window has %d entries but num_hidden_layers is %d", len(list), layers)
		}
		copy(w, list)
	}
	for i, v := range w {
		if v <= 0 || v%2 != 0 {
			return nil, fmt.Errorf("field attention_window[%d] = %d must be positive and even", i, v)
		}
	}
	return w, nil
}

func strOr(p *string, d string) string {
	if p == nil {
		return d
	}
	return *p
}

func intOr(p *int, d int) int {
	if p == nil {
		return d
	}
	return *p
}

func floatOr(p *float64, d float64) float64 {
	if p == nil {
		return d
	}
	return *p
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
