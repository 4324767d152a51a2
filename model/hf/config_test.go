package hf

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/icdcode/icdcode/data/shareddata"
)

func TestReadConfigBertBaseUncased(t *testing.T) {
	p := shareddata.Path(t, "tokenizer", "bert-base-uncased", "config.json")
	c, err := ReadConfig(p)
	if err != nil {
		t.Fatal(err)
	}
	if c.ModelType != TypeBERT || c.HiddenSize != 768 || c.NumHiddenLayers != 12 || c.NumAttentionHeads != 12 ||
		c.IntermediateSize != 3072 || c.VocabSize != 30522 || c.MaxPositionEmbeddings != 512 ||
		c.TypeVocabSize != 2 || c.LayerNormEps != 1e-12 || c.PadTokenID != 0 || c.HiddenAct != "gelu" ||
		c.PositionEmbeddingType != "absolute" || c.HeadDim() != 64 || c.PositionOffset() != 0 || c.PreLayerNorm() {
		t.Fatalf("unexpected config %+v", c)
	}
	if c.Path != p {
		t.Errorf("Path = %q", c.Path)
	}
}

func TestReadConfigFixtures(t *testing.T) {
	for _, tc := range []struct {
		dir, typ        string
		pad, off, types int
		eps             float64
		pre             bool
	}{
		{"bert", TypeBERT, 0, 0, 2, 1e-12, false},
		{"roberta", TypeRoBERTa, 1, 2, 1, 1e-5, false},
		{"megatron-bert", TypeMegatronBERT, 0, 0, 2, 1e-12, true},
	} {
		c, err := ReadConfig(filepath.Join("testdata", tc.dir, "config.json"))
		if err != nil {
			t.Fatal(err)
		}
		if c.ModelType != tc.typ || c.PadTokenID != tc.pad || c.PositionOffset() != tc.off || c.TypeVocabSize != tc.types ||
			c.LayerNormEps != tc.eps || c.PreLayerNorm() != tc.pre || c.HiddenSize != 12 || c.NumAttentionHeads != 3 ||
			c.NumHiddenLayers != 2 || c.IntermediateSize != 24 || c.VocabSize != 32 || c.MaxPositionEmbeddings != 20 {
			t.Errorf("%s: unexpected config %+v", tc.dir, c)
		}
	}
}

const minimalConfig = `{"model_type": %q, "vocab_size": 100, "hidden_size": 8, "num_hidden_layers": 2,
 "num_attention_heads": 2, "intermediate_size": 16, "max_position_embeddings": 64 %s}`

func cfgJSON(typ, extra string) []byte {
	return []byte(strings.Replace(strings.Replace(minimalConfig, "%q", `"`+typ+`"`, 1), "%s", extra, 1))
}

func TestParseConfigDefaultsAndLongformer(t *testing.T) {
	c, err := ParseConfig(cfgJSON("roberta", `, "some_unknown_field": [1, {"x": 2}]`))
	if err != nil {
		t.Fatal(err)
	}
	if c.PadTokenID != 1 || c.PositionOffset() != 2 || c.HiddenAct != "gelu" || c.LayerNormEps != 1e-12 || c.BOSTokenID != -1 {
		t.Errorf("roberta defaults: %+v", c)
	}
	c, err = ParseConfig(cfgJSON("longformer", `, "attention_window": 4`))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.AttentionWindow) != 2 || c.AttentionWindow[0] != 4 || c.AttentionWindow[1] != 4 {
		t.Errorf("attention_window int: %v", c.AttentionWindow)
	}
	c, err = ParseConfig(cfgJSON("longformer", `, "attention_window": [4, 8]`))
	if err != nil {
		t.Fatal(err)
	}
	if c.AttentionWindow[1] != 8 {
		t.Errorf("attention_window list: %v", c.AttentionWindow)
	}
	c, err = ParseConfig(cfgJSON("longformer", ``))
	if err != nil || c.AttentionWindow[0] != 512 {
		t.Errorf("attention_window default: %v %v", c, err)
	}
	c, err = ParseConfig(cfgJSON("megatron-bert", `, "pad_token_id": null`))
	if err != nil || c.PadTokenID != 0 || !c.PreLayerNorm() {
		t.Errorf("megatron: %+v %v", c, err)
	}
}

func TestParseConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		data []byte
		want string
	}{
		{[]byte(`not json`), "not a valid config.json"},
		{[]byte(`{"hidden_size": 8}`), "missing required field model_type"},
		{cfgJSON("gpt2", ""), `model_type "gpt2" is not supported`},
		{[]byte(`{"model_type": "bert", "hidden_size": 8}`), "missing required field(s) vocab_size, num_hidden_layers, num_attention_heads, intermediate_size, max_position_embeddings"},
		{cfgJSON("bert", `, "num_attention_heads": 3`), "not a multiple of num_attention_heads 3"},
		{cfgJSON("bert", `, "hidden_act": "bogus"`), `hidden_act "bogus" is not a known activation`},
		{cfgJSON("bert", `, "layer_norm_eps": 0`), "layer_norm_eps must be positive"},
		{cfgJSON("bert", `, "pad_token_id": 100`), "pad_token_id 100 is outside the vocabulary"},
		{cfgJSON("bert", `, "position_embedding_type": "rotary"`), `position_embedding_type "rotary"`},
		{cfgJSON("bert", `, "hidden_size": -8`), "field hidden_size must be positive"},
		{cfgJSON("longformer", `, "attention_window": [4]`), "attention_window has 1 entries but num_hidden_layers is 2"},
		{cfgJSON("longformer", `, "attention_window": [4, 5]`), "attention_window[1] = 5 must be positive and even"},
		{cfgJSON("longformer", `, "attention_window": "x"`), "attention_window must be an integer or a list"},
	} {
		_, err := ParseConfig(tc.data)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want %q", tc.data, err, tc.want)
		}
	}
	p := filepath.Join(t.TempDir(), "config.json")
	if err := os.WriteFile(p, []byte(`{"model_type": "bert"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := ReadConfig(p)
	if err == nil || !strings.Contains(err.Error(), p) || !strings.Contains(err.Error(), "hidden_size") {
		t.Errorf("ReadConfig error %v should name the file and the field", err)
	}
}
