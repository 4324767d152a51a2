package hf

import (
	"encoding/json"
	"fmt"
	"os"
)

// Reference is a reference.json written by scripts/make_hf_fixture.py next to
// the tiny fixture models in model/hf/testdata: the outputs of a plain PyTorch
// implementation of the architecture, computed in float64 from the fp32
// weights, for encoder tests.
type Reference struct {
	ModelType    string          `json:"model_type"`
	LayerNormEps float64         `json:"layer_norm_eps"`
	Cases        []ReferenceCase `json:"cases"`
}

// ReferenceCase is one input sequence and its outputs. HiddenStates[0] is the
// embedding output and HiddenStates[l] the output of layer l (for
// megatron-bert the last entry is after the final encoder.ln, equal to
// LastHiddenState). Rows of positions with AttentionMask 0 are not meaningful.
type ReferenceCase struct {
	Name            string        `json:"name"`
	InputIDs        []int         `json:"input_ids"`
	TokenTypeIDs    []int         `json:"token_type_ids"`
	AttentionMask   []int         `json:"attention_mask"`
	PositionIDs     []int         `json:"position_ids"`
	HiddenStates    [][][]float64 `json:"hidden_states"`
	LastHiddenState [][]float64   `json:"last_hidden_state"`
	PoolerOutput    []float64     `json:"pooler_output"`
	// MaxAbsDiffFloat32 is how far the same computation in float32 strays
	// from the float64 reference (unmasked rows): a floor for tolerances.
	MaxAbsDiffFloat32 float64 `json:"max_abs_diff_float32"`
}

// ReadReference reads a reference.json.
func ReadReference(path string) (*Reference, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var r Reference
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &r, nil
}
