package hf

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"
)

// File names inside a Hugging Face model directory.
const (
	ConfigFile      = "config.json"
	SafetensorsFile = "model.safetensors"
	PyTorchFile     = "pytorch_model.bin"
)

// Model is an opened model directory: its config and its weights.
type Model struct {
	Dir     string
	Config  *Config
	Tensors Source
}

// Open reads dir/config.json and opens the weights, preferring
// model.safetensors over pytorch_model.bin. Close the model when done.
func Open(dir string) (*Model, error) {
	cfg, err := ReadConfig(filepath.Join(dir, ConfigFile))
	if err != nil {
		return nil, err
	}
	src, err := OpenTensors(dir)
	if err != nil {
		return nil, err
	}
	return &Model{Dir: dir, Config: cfg, Tensors: src}, nil
}

// Close closes the weights file.
func (m *Model) Close() error { return m.Tensors.Close() }

// OpenTensors opens dir/model.safetensors, or dir/pytorch_model.bin when there
// is no safetensors file. Sharded checkpoints (*.index.json) are refused.
func OpenTensors(dir string) (Source, error) {
	st := filepath.Join(dir, SafetensorsFile)
	if _, err := os.Stat(st); err == nil {
		return OpenSafetensors(st)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	pt := filepath.Join(dir, PyTorchFile)
	if _, err := os.Stat(pt); err == nil {
		return OpenPyTorch(pt)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	for _, idx := range []string{SafetensorsFile + ".index.json", PyTorchFile + ".index.json"} {
		if _, err := os.Stat(filepath.Join(dir, idx)); err == nil {
			return nil, fmt.Errorf("%s: sharded checkpoints (%s) are not supported", dir, idx)
		}
	}
	return nil, fmt.Errorf("%s: no %s or %s", dir, SafetensorsFile, PyTorchFile)
}

// BasePrefixes are the base-model prefixes that task heads (…ForMaskedLM,
// …ForSequenceClassification) put before the encoder's tensor names.
// MegatronBert models use "bert." as HF's base_model_prefix.
var BasePrefixes = []string{"bert.", "roberta.", "longformer.", "megatron_bert.", "megatron-bert.", "megatron."}

// NormalizeName maps a checkpoint tensor name to the canonical name of the
// base encoder: one leading base-model prefix is stripped and the legacy
// LayerNorm names gamma/beta become weight/bias
// ("bert.embeddings.LayerNorm.gamma" → "embeddings.LayerNorm.weight").
func NormalizeName(name string) string {
	for _, p := range BasePrefixes {
		if strings.HasPrefix(name, p) {
			name = name[len(p):]
			break
		}
	}
	if i := strings.LastIndexByte(name, '.'); i >= 0 {
		parent, leaf := name[:i], name[i+1:]
		if isNormName(parent) {
			switch leaf {
			case "gamma":
				name = parent + ".weight"
			case "beta":
				name = parent + ".bias"
			}
		}
	}
	return name
}

func isNormName(parent string) bool {
	last := parent[strings.LastIndexByte(parent, '.')+1:]
	return last == "LayerNorm" || last == "ln" || last == "layer_norm" || last == "layernorm"
}

// Normalized presents a Source under canonical names (NormalizeName).
type Normalized struct {
	Source
	orig  map[string]string // canonical → stored name
	infos []TensorInfo
}

// Normalize wraps src so that its tensors are listed and loaded under
// canonical names. Two stored names mapping to the same canonical name (e.g.
// both "bert.x" and "x") are an error naming both.
func Normalize(src Source) (*Normalized, error) {
	n := &Normalized{Source: src, orig: map[string]string{}}
	for _, ti := range src.Tensors() {
		c := NormalizeName(ti.Name)
		if prev, ok := n.orig[c]; ok {
			return nil, fmt.Errorf("%s: tensors %q and %q both normalise to %q", src.Path(), prev, ti.Name, c)
		}
		n.orig[c] = ti.Name
		ti.Name = c
		n.infos = append(n.infos, ti)
	}
	sort.Slice(n.infos, func(i, j int) bool { return n.infos[i].Name < n.infos[j].Name })
	return n, nil
}

// StoredName returns the name a canonical tensor has in the file.
func (n *Normalized) StoredName(canonical string) (string, bool) {
	s, ok := n.orig[canonical]
	return s, ok
}

// Tensors implements Source.
func (n *Normalized) Tensors() []TensorInfo { return slices.Clone(n.infos) }

// Info implements Source.
func (n *Normalized) Info(name string) (TensorInfo, bool) {
	s, ok := n.orig[name]
	if !ok {
		return TensorInfo{}, false
	}
	ti, ok := n.Source.Info(s)
	ti.Name = name
	return ti, ok
}

// Load implements Source.
func (n *Normalized) Load(name string) (*Tensor, error) {
	s, ok := n.orig[name]
	if !ok {
		return nil, fmt.Errorf("%s: no tensor %q (after name normalisation)", n.Path(), name)
	}
	t, err := n.Source.Load(s)
	if err != nil {
		return nil, err
	}
	t.Name = name
	return t, nil
}

// Expected is a tensor an encoder needs.
type Expected struct {
	Name  string
	Shape []int
}

// DefaultIgnoreUnexpected are path.Match patterns of stored tensors that are
// never reported as unexpected: position-id buffers and the heads of
// pre-training checkpoints (MLM, NSP, Megatron's binary head).
var DefaultIgnoreUnexpected = []string{
	"*position_ids", "cls.*", "lm_head.*", "binary_head.*",
}

// ShapeMismatch is a tensor present with the wrong shape.
type ShapeMismatch struct {
	Name      string
	Want, Got []int
}

// CheckError lists everything wrong between a checkpoint and the tensors an
// encoder expects.
type CheckError struct {
	Path       string
	Missing    []string
	Unexpected []string
	Shapes     []ShapeMismatch
}

func (e *CheckError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: checkpoint does not match the model:", e.Path)
	if len(e.Missing) > 0 {
		fmt.Fprintf(&b, "\n  missing %d tensor(s): %s", len(e.Missing), strings.Join(e.Missing, ", "))
	}
	if len(e.Unexpected) > 0 {
		fmt.Fprintf(&b, "\n  unexpected %d tensor(s): %s", len(e.Unexpected), strings.Join(e.Unexpected, ", "))
	}
	for _, s := range e.Shapes {
		fmt.Fprintf(&b, "\n  shape mismatch for %s: checkpoint %v, model %v", s.Name, s.Got, s.Want)
	}
	return b.String()
}

// Check compares src's tensors (use a Normalized source for canonical names)
// with the expected ones and returns a *CheckError listing all missing,
// unexpected (except names matching an ignore pattern, see
// DefaultIgnoreUnexpected) and wrongly shaped tensors, or nil.
func Check(src Source, expected []Expected, ignoreUnexpected []string) error {
	e := &CheckError{Path: src.Path()}
	want := map[string]bool{}
	for _, x := range expected {
		want[x.Name] = true
		ti, ok := src.Info(x.Name)
		if !ok {
			e.Missing = append(e.Missing, x.Name)
			continue
		}
		if !slices.Equal(ti.Shape, x.Shape) {
			e.Shapes = append(e.Shapes, ShapeMismatch{Name: x.Name, Want: x.Shape, Got: ti.Shape})
		}
	}
	for _, ti := range src.Tensors() {
		if want[ti.Name] || matchesAny(ti.Name, ignoreUnexpected) {
			continue
		}
		e.Unexpected = append(e.Unexpected, ti.Name)
	}
	if len(e.Missing)+len(e.Unexpected)+len(e.Shapes) == 0 {
		return nil
	}
	sort.Strings(e.Missing)
	sort.Strings(e.Unexpected)
	return e
}

func matchesAny(name string, patterns []string) bool {
	for _, p := range patterns {
		if ok, _ := path.Match(p, name); ok {
			return true
		}
	}
	return false
}

// ExpectedTensors lists the canonical tensor names and shapes of the base
// encoder described by cfg (as HF's BertModel, RobertaModel, MegatronBertModel
// and LongformerModel store them), with the pooler when withPooler is set.
func ExpectedTensors(cfg *Config, withPooler bool) []Expected {
	H, I := cfg.HiddenSize, cfg.IntermediateSize
	var out []Expected
	add := func(name string, shape ...int) { out = append(out, Expected{Name: name, Shape: shape}) }
	linear := func(name string, outDim, inDim int) {
		add(name+".weight", outDim, inDim)
		add(name+".bias", outDim)
	}
	norm := func(name string) {
		add(name+".weight", H)
		add(name+".bias", H)
	}
	add("embeddings.word_embeddings.weight", cfg.VocabSize, H)
	add("embeddings.position_embeddings.weight", cfg.MaxPositionEmbeddings, H)
	if cfg.TypeVocabSize > 0 {
		add("embeddings.token_type_embeddings.weight", cfg.TypeVocabSize, H)
	}
	if !cfg.PreLayerNorm() {
		norm("embeddings.LayerNorm")
	}
	for l := 0; l < cfg.NumHiddenLayers; l++ {
		p := fmt.Sprintf("encoder.layer.%d.", l)
		if cfg.PreLayerNorm() {
			norm(p + "attention.ln")
		}
		for _, q := range []string{"query", "key", "value"} {
			linear(p+"attention.self."+q, H, H)
		}
		if cfg.ModelType == TypeLongformer {
			for _, q := range []string{"query_global", "key_global", "value_global"} {
				linear(p+"attention.self."+q, H, H)
			}
		}
		linear(p+"attention.output.dense", H, H)
		if cfg.PreLayerNorm() {
			norm(p + "ln")
		} else {
			norm(p + "attention.output.LayerNorm")
		}
		linear(p+"intermediate.dense", I, H)
		linear(p+"output.dense", H, I)
		if !cfg.PreLayerNorm() {
			norm(p + "output.LayerNorm")
		}
	}
	if cfg.PreLayerNorm() {
		norm("encoder.ln")
	}
	if withPooler {
		linear("pooler.dense", H, H)
	}
	return out
}
