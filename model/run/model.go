package run

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/nlpodyssey/spago/mat"

	"github.com/icdcode/icdcode/data/dataset"
	"github.com/icdcode/icdcode/data/fileio"
	"github.com/icdcode/icdcode/model/classifier"
	"github.com/icdcode/icdcode/model/encoder"
	"github.com/icdcode/icdcode/model/heads"
	"github.com/icdcode/icdcode/model/hf"
	"github.com/icdcode/icdcode/model/tokenizer"
	"github.com/icdcode/icdcode/model/train"
)

// Names inside a run directory.
const (
	ConfigFile     = "config.toml"
	ModelFile      = "model.json"
	LabelsFile     = "labels.txt"
	TokenizerDir   = "tokenizer"
	EncoderDir     = "encoder"
	SynonymsFile   = "synonyms.safetensors"
	CheckpointsDir = "checkpoints"
	// InitDir holds the starting weights of a run begun from another
	// run's checkpoint (train.init_run), as a copy of that checkpoint.
	InitDir         = "init"
	synonymsTensor  = "synonyms"
	modelFileFormat = 1
)

// modelInfo is model.json: what Test and Predict need besides the files.
type modelInfo struct {
	Format     int               `json:"format"`
	Classifier classifier.Config `json:"classifier"`
	Source     string            `json:"source"`
	Dataset    string            `json:"dataset"`
	TrainDocs  int               `json:"train_docs"`
}

// Model is a classifier rebuilt from a run directory.
type Model struct {
	Dir        string
	Classifier *classifier.Classifier[float32]
	Tokenizer  *tokenizer.Tokenizer
	Labels     []string
	info       modelInfo
}

// saveModel writes the run's model files (everything but checkpoints).
func saveModel(dir string, cfg *Config, info modelInfo, c *classifier.Classifier[float32], tok *tokenizer.Tokenizer, initial *encoder.Encoder[float32]) error {
	if err := fileio.WriteAtomic(filepath.Join(dir, ConfigFile), func(w io.Writer) error {
		_, err := w.Write(cfg.Raw)
		return err
	}); err != nil {
		return err
	}
	if err := tok.Save(filepath.Join(dir, TokenizerDir)); err != nil {
		return err
	}
	if err := initial.Save(filepath.Join(dir, EncoderDir)); err != nil {
		return err
	}
	if err := dataset.WriteLabels(filepath.Join(dir, LabelsFile), c.Labels); err != nil {
		return err
	}
	if c.CodeEmbeddings != nil {
		if err := saveCodeEmbeddings(dir, c.CodeEmbeddings); err != nil {
			return err
		}
	}
	if c.Synonyms != nil {
		shape := c.Synonyms.Shape()
		t := &hf.Tensor{Name: synonymsTensor, Shape: []int{shape[0], shape[1]}, Data: slices.Clone(mat.Data[float32](c.Synonyms))}
		meta := map[string]string{"m": fmt.Sprint(info.Classifier.M), "labels": fmt.Sprint(len(c.Labels))}
		if err := hf.WriteSafetensors(filepath.Join(dir, SynonymsFile), []*hf.Tensor{t}, hf.F32, meta); err != nil {
			return err
		}
	}
	// model.json last: its presence marks a complete run directory.
	return fileio.WriteAtomic(filepath.Join(dir, ModelFile), func(w io.Writer) error {
		e := json.NewEncoder(w)
		e.SetIndent("", "  ")
		return e.Encode(info)
	})
}

// LoadModel rebuilds the classifier of a run directory with its initial
// weights; LoadCheckpoint then copies trained weights in.
func LoadModel(dir string) (*Model, error) {
	raw, err := os.ReadFile(filepath.Join(dir, ModelFile))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("run %s: not a complete run directory (no %s)", dir, ModelFile)
		}
		return nil, fmt.Errorf("run %s: %w", dir, err)
	}
	var info modelInfo
	if err := json.Unmarshal(raw, &info); err != nil {
		return nil, fmt.Errorf("run %s: %s: %w", dir, ModelFile, err)
	}
	if info.Format != modelFileFormat {
		return nil, fmt.Errorf("run %s: %s has format %d, want %d", dir, ModelFile, info.Format, modelFileFormat)
	}
	tok, err := tokenizer.Load(filepath.Join(dir, TokenizerDir))
	if err != nil {
		return nil, fmt.Errorf("run %s: %w", dir, err)
	}
	labels, err := dataset.ReadLabels(filepath.Join(dir, LabelsFile))
	if err != nil {
		return nil, fmt.Errorf("run %s: %w", dir, err)
	}
	enc, err := encoder.Load[float32](filepath.Join(dir, EncoderDir))
	if err != nil {
		return nil, fmt.Errorf("run %s: %w", dir, err)
	}
	cc := info.Classifier
	var c *classifier.Classifier[float32]
	if cc.Head != classifier.HeadMSAM {
		if c, err = classifier.New(cc, enc, tok, labels, nil); err != nil {
			return nil, fmt.Errorf("run %s: %w", dir, err)
		}
	} else {
		if c, err = msamFromSaved(dir, cc, enc, tok, labels); err != nil {
			return nil, err
		}
	}
	if cc.CodeDim > 0 {
		e, err := loadCodeEmbeddings(dir, len(labels), cc.CodeDim)
		if err != nil {
			return nil, fmt.Errorf("run %s: %w", dir, err)
		}
		if err := c.SetCodeEmbeddings(e); err != nil {
			return nil, fmt.Errorf("run %s: %w", dir, err)
		}
	}
	m := &Model{Dir: dir, Classifier: c, Tokenizer: tok, Labels: labels, info: info}
	if _, err := os.Stat(filepath.Join(dir, InitDir)); err == nil {
		if err := m.LoadCheckpoint(filepath.Join(dir, InitDir)); err != nil {
			return nil, fmt.Errorf("run %s: starting weights: %w", dir, err)
		}
	}
	return m, nil
}

// copyCheckpoint copies the checkpoint folder src to dst (atomically per
// file, MANIFEST.json last so that an interrupted copy fails its check).
func copyCheckpoint(src, dst string) error {
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return err
	}
	for _, name := range []string{"state.json", "weights.bin", "MANIFEST.json"} {
		raw, err := os.ReadFile(filepath.Join(src, name))
		if err != nil {
			return fmt.Errorf("checkpoint %s: %w", src, err)
		}
		if err := fileio.WriteAtomic(filepath.Join(dst, name), func(w io.Writer) error {
			_, err := w.Write(raw)
			return err
		}); err != nil {
			return err
		}
	}
	return nil
}

// msamFromSaved builds an MSAM classifier over the saved synonym matrix.
// classifier.New would recompute the matrix from synonym strings, which
// Predict does not have; so the classifier is built with the LAAT head (which
// shares New's checks, defaults and LE conversion) and its head replaced.
func msamFromSaved(dir string, cc classifier.Config, enc *encoder.Encoder[float32], tok *tokenizer.Tokenizer, labels []string) (*classifier.Classifier[float32], error) {
	d := enc.Config.HiddenSize
	t, err := loadTensor(filepath.Join(dir, SynonymsFile), synonymsTensor, len(labels)*cc.M, d)
	if err != nil {
		return nil, fmt.Errorf("run %s: %w (%d labels × m %d, hidden %d)", dir, err, len(labels), cc.M, d)
	}
	other := cc
	other.Head, other.M = classifier.HeadLAAT, 0
	c, err := classifier.New(other, enc, tok, labels, nil)
	if err != nil {
		return nil, fmt.Errorf("run %s: %w", dir, err)
	}
	syn := mat.NewDense[float32](mat.WithShape(t.Shape[0], t.Shape[1]), mat.WithBacking(t.Data))
	h, err := heads.NewMSAM[float32](syn, len(labels), cc.M, cc.MSAM, cc.Seed)
	if err != nil {
		return nil, fmt.Errorf("run %s: %w", dir, err)
	}
	c.Config.Head, c.Config.M, c.Config.MSAM = classifier.HeadMSAM, cc.M, cc.MSAM
	c.Head, c.Synonyms = h, syn
	return c, nil
}

// ckptParam mirrors an entry of a checkpoint's state.json parameter list.
type ckptParam struct {
	Name string `json:"name"`
	Rows int    `json:"Rows"`
	Cols int    `json:"Cols"`
}

// LoadCheckpoint copies the weights of a model/train checkpoint directory
// into the model after checking weights.bin against MANIFEST.json and the
// parameter list against the model's. It reads the files directly rather
// than through a Trainer because a Trainer needs the training set's size,
// which Predict does not have.
func (m *Model) LoadCheckpoint(ckpt string) error {
	var man struct {
		Files []struct {
			Name   string `json:"name"`
			Size   int64  `json:"size"`
			SHA256 string `json:"sha256"`
		} `json:"files"`
	}
	if err := readJSON(filepath.Join(ckpt, "MANIFEST.json"), &man); err != nil {
		return fmt.Errorf("checkpoint %s: incomplete or damaged: %w", ckpt, err)
	}
	var st struct {
		Params []ckptParam `json:"params"`
	}
	if err := readJSON(filepath.Join(ckpt, "state.json"), &st); err != nil {
		return fmt.Errorf("checkpoint %s: %w", ckpt, err)
	}
	wpath := filepath.Join(ckpt, "weights.bin")
	data, err := os.ReadFile(wpath)
	if err != nil {
		return fmt.Errorf("checkpoint %s: %w", ckpt, err)
	}
	verified := false
	for _, f := range man.Files {
		if f.Name != "weights.bin" {
			continue
		}
		sum := sha256.Sum256(data)
		if int64(len(data)) != f.Size || hex.EncodeToString(sum[:]) != f.SHA256 {
			return fmt.Errorf("checkpoint file %s does not match MANIFEST.json (size %d, want %d): damaged", wpath, len(data), f.Size)
		}
		verified = true
	}
	if !verified {
		return fmt.Errorf("checkpoint %s: MANIFEST.json does not list weights.bin", ckpt)
	}
	ps, err := m.Classifier.Params()
	if err != nil {
		return err
	}
	// A CLQ run's checkpoints end with its quantifier's parameters (clq.*),
	// which the classifier does not use.
	extra := st.Params[min(len(ps), len(st.Params)):]
	for _, s := range extra {
		if !strings.HasPrefix(s.Name, "clq.") {
			extra = nil
			break
		}
	}
	if len(ps)+len(extra) != len(st.Params) {
		return fmt.Errorf("checkpoint %s has %d parameters, the run's model %d: another model", ckpt, len(st.Params), len(ps))
	}
	total := 0
	for i, p := range ps {
		sh := p.P.Shape()
		if s := st.Params[i]; s.Name != p.Name || s.Rows != sh[0] || s.Cols != sh[1] {
			return fmt.Errorf("checkpoint %s: parameter %d is %s (%d×%d), the model has %s (%d×%d)", ckpt, i, s.Name, s.Rows, s.Cols, p.Name, sh[0], sh[1])
		}
		total += sh[0] * sh[1]
	}
	for _, s := range extra {
		total += s.Rows * s.Cols
	}
	if len(data) != 4*total {
		return fmt.Errorf("checkpoint file %s holds %d bytes, the parameters need %d", wpath, len(data), 4*total)
	}
	off := 0
	for _, p := range ps {
		dst := mat.Data[float32](p.P.Value())
		for j := range dst {
			dst[j] = math.Float32frombits(binary.LittleEndian.Uint32(data[off:]))
			off += 4
		}
	}
	return nil
}

// ResolveCheckpoint turns "best", "last" or a path into a checkpoint folder.
func ResolveCheckpoint(runDir, which string) (string, error) {
	ckDir := filepath.Join(runDir, CheckpointsDir)
	switch which {
	case "", "best":
		p := filepath.Join(ckDir, "best")
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("run %s has no best checkpoint (%s): train it first", runDir, p)
		}
		return p, nil
	case "last":
		p, err := train.LatestCheckpoint(ckDir)
		if err == nil && p == "" {
			err = fmt.Errorf("run %s has no checkpoint yet", runDir)
		}
		return p, err
	}
	return which, nil
}

func readJSON(path string, v any) error {
	raw, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	d := json.NewDecoder(bytes.NewReader(raw))
	if err := d.Decode(v); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}
