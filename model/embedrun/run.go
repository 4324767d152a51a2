package embedrun

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"

	"github.com/icdcode/icdcode/data/embfile"
	"github.com/icdcode/icdcode/data/groupers"
	"github.com/icdcode/icdcode/data/visits"
	"github.com/icdcode/icdcode/model/embeval"
	"github.com/icdcode/icdcode/model/med2vec"
	"github.com/icdcode/icdcode/model/word2vec"
)

// Output file names under out_dir.
const (
	Med2VecNPZ   = "med2vec.npz"
	Med2VecJSON  = "med2vec.json"
	Word2VecNPZ  = "word2vec.npz"
	Word2VecJSON = "word2vec.json"
	EvalJSON     = "eval.json"
	EvalMap      = "map.svg"
)

// Word2VecKey is the array name of word2vec vectors in its .npz (Med2Vec's
// files use the reference's keys instead).
const Word2VecKey = "vectors"

// ReadCorpus reads the visits the input section names and reports the
// readers' skips to log (nil: no report).
func ReadCorpus(in InputConfig, log io.Writer) (*visits.Corpus, error) {
	var (
		c     *visits.Corpus
		skips visits.Skips
		err   error
	)
	switch in.Kind {
	case "mimic3":
		opt := visits.MIMICOptions{MinVisits: in.MinVisits}
		if opt.Admissions, err = findTable(in.Dir, "ADMISSIONS"); err != nil {
			return nil, err
		}
		if opt.Diagnoses, err = findTable(in.Dir, "DIAGNOSES_ICD"); err != nil {
			return nil, err
		}
		if in.Procedures {
			if opt.Procedures, err = findTable(in.Dir, "PROCEDURES_ICD"); err != nil {
				return nil, err
			}
		}
		c, skips, err = visits.ReadMIMIC(opt)
	case "synthea":
		c, skips, err = visits.ReadSynthea(visits.SyntheaOptions{
			Encounters: filepath.Join(in.Dir, "encounters.csv"),
			Conditions: filepath.Join(in.Dir, "conditions.csv"),
			MinVisits:  in.MinVisits,
		})
	case "jsonl":
		c, err = visits.ReadJSONL(in.Path)
	default:
		return nil, fmt.Errorf("input.kind %q: want mimic3, synthea or jsonl", in.Kind)
	}
	if err != nil {
		return nil, err
	}
	if len(c.Patients) == 0 {
		return nil, fmt.Errorf("input %s: no patient left after filtering", inputName(in))
	}
	if log != nil {
		fmt.Fprintf(log, "read %d patients, %d visits from %s (skipped: %v)\n", len(c.Patients), c.NumVisits(), inputName(in), skips)
	}
	return c, nil
}

func inputName(in InputConfig) string {
	if in.Kind == "jsonl" {
		return in.Path
	}
	return in.Dir
}

// findTable returns dir/NAME.csv, or NAME.csv.gz when only that exists,
// since MIMIC-III ships gzipped and the demo unpacked.
func findTable(dir, name string) (string, error) {
	for _, ext := range []string{".csv", ".csv.gz"} {
		p := filepath.Join(dir, name+ext)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("input.dir %s: no %s.csv or %s.csv.gz", dir, name, name)
}

// Med2VecResult says what RunMed2Vec wrote.
type Med2VecResult struct {
	NPZ, JSON string
	Codes     int
	Labels    int // label groups (0: the visit loss predicts input codes)
	Epochs    []med2vec.EpochStats
	SetName   string
}

// RunMed2Vec trains Med2Vec on the input and writes out_dir/med2vec.npz (with
// its .types.json map, the reference's layout) and out_dir/med2vec.json, the
// ReLU code vectors as one hierarchy set so that eval treats both models
// alike. Per-epoch costs go to log.
func RunMed2Vec(cfg *Config, log io.Writer) (*Med2VecResult, error) {
	c, err := ReadCorpus(cfg.Input, log)
	if err != nil {
		return nil, err
	}
	var group visits.Grouper
	if cfg.Med2Vec.Labels && cfg.Input.Kind == "mimic3" {
		group = visits.ICD9ThreeDigit
	}
	ref := c.Reference(group)
	codes, err := visits.Codes(ref.Types)
	if err != nil {
		return nil, err
	}
	mc := med2vec.DefaultConfig(len(ref.Types))
	m := cfg.Med2Vec
	mc.EmbSize, mc.VisitSize, mc.BatchSize, mc.Epochs = m.EmbSize, m.VisitSize, m.BatchSize, m.Epochs
	mc.WindowSize, mc.L2Emb, mc.Seed, mc.PatientBatches = m.Window, m.L2, m.Seed, m.PatientBatches
	data := med2vec.Data{Seqs: ref.Seqs}
	if group != nil {
		data.Labels = ref.Labels
		mc.NumOutputCodes = len(ref.LabelTypes)
	}
	if log != nil {
		fmt.Fprintf(log, "med2vec: %d codes, %d label groups, %d rows; emb %d, visit %d, %d epochs\n",
			mc.NumInputCodes, mc.NumOutputCodes, len(ref.Seqs), mc.EmbSize, mc.VisitSize, mc.Epochs)
	}
	model, stats, err := med2vec.Train(data, mc, log)
	if err != nil {
		return nil, fmt.Errorf("med2vec: %w", err)
	}
	if err := os.MkdirAll(cfg.OutDir, 0o755); err != nil {
		return nil, err
	}
	arrays := make(map[string]*embfile.Array)
	for _, t := range model.Tensors() {
		a, err := embfile.FromFloat64(t.Shape, t.Data)
		if err != nil {
			return nil, fmt.Errorf("med2vec %s: %w", t.Name, err)
		}
		arrays[t.Name] = a
	}
	res := &Med2VecResult{
		NPZ: filepath.Join(cfg.OutDir, Med2VecNPZ), JSON: filepath.Join(cfg.OutDir, Med2VecJSON),
		Codes: len(codes), Labels: mc.NumOutputCodes, Epochs: stats,
		SetName: fmt.Sprintf("med2vec_embeddings_%d", model.E),
	}
	if err := embfile.WriteMed2Vec(res.NPZ, arrays, codes); err != nil {
		return nil, err
	}
	vec := model.CodeVectors()
	set := make(map[string][]float32, len(codes))
	for i, code := range codes {
		v := make([]float32, model.E)
		for j := range v {
			v[j] = float32(vec[i*model.E+j])
		}
		set[code] = v
	}
	if err := embfile.WriteHierarchyJSON(res.JSON, embfile.HierarchySets{res.SetName: set}); err != nil {
		return nil, err
	}
	return res, nil
}

// Word2VecResult says what RunWord2Vec wrote.
type Word2VecResult struct {
	NPZ, JSON string
	SetName   string
	Codes     int
	Tokens    int // vocabulary including category tokens
	Epochs    []word2vec.EpochStats
}

// readGrouper reads a CCS or CCSR grouper file.
func readGrouper(kind, path string) (*groupers.Grouper, error) {
	switch kind {
	case "ccs":
		return groupers.ReadCCS(path)
	case "ccsr":
		g, _, err := groupers.ReadCCSR(path)
		return g, err
	}
	return nil, fmt.Errorf("grouper kind %q: want ccs or ccsr", kind)
}

// withPrefix adapts a grouper function to prefixed code strings ("D_401.9");
// an empty prefix leaves it as is.
func withPrefix(prefix string, f func(string) (string, bool)) func(string) (string, bool) {
	if prefix == "" {
		return f
	}
	return groupers.StripPrefix(prefix, f)
}

// RunWord2Vec trains Word2Vec on the input and writes out_dir/word2vec.json
// (one hierarchy set named as Finch et al. name theirs) and
// out_dir/word2vec.npz (array "vectors", codes×dim, with its .types.json).
// Per-epoch losses go to log.
func RunWord2Vec(cfg *Config, log io.Writer) (*Word2VecResult, error) {
	c, err := ReadCorpus(cfg.Input, log)
	if err != nil {
		return nil, err
	}
	w := cfg.Word2Vec
	opt := word2vec.Options{Dim: w.Dim, Window: w.Window, Negative: w.Negative, Epochs: w.Epochs, Seed: w.Seed, VisitSentences: w.VisitSentences}
	if w.Arch == "cbow" {
		opt.Arch = word2vec.CBOW
	}
	if w.Categories != "none" {
		g, err := readGrouper(w.Categories, w.Grouper)
		if err != nil {
			return nil, fmt.Errorf("word2vec.grouper: %w", err)
		}
		opt.Category = withPrefix(w.StripPrefix, g.Token)
	}
	m, err := word2vec.TrainCorpus(c, opt)
	if err != nil {
		return nil, fmt.Errorf("word2vec: %w", err)
	}
	if log != nil {
		for _, e := range m.Epochs {
			fmt.Fprintf(log, "epoch:%d, loss:%f, pairs:%d, alpha:%g\n", e.Epoch, e.Loss, e.Pairs, e.Alpha)
		}
	}
	if err := os.MkdirAll(cfg.OutDir, 0o755); err != nil {
		return nil, err
	}
	x, codes := m.Codes()
	res := &Word2VecResult{
		NPZ: filepath.Join(cfg.OutDir, Word2VecNPZ), JSON: filepath.Join(cfg.OutDir, Word2VecJSON),
		SetName: opt.SetName(), Codes: len(codes), Tokens: len(m.Vocab), Epochs: m.Epochs,
	}
	if err := embfile.WriteHierarchyJSON(res.JSON, m.HierarchySets(res.SetName)); err != nil {
		return nil, err
	}
	// The map first, as WriteMed2Vec does, so an .npz never lacks its map.
	if err := embfile.WriteTypes(embfile.TypesPath(res.NPZ), codes); err != nil {
		return nil, err
	}
	if err := embfile.WriteNPZ(res.NPZ, map[string]*embfile.Array{Word2VecKey: x}); err != nil {
		return nil, err
	}
	return res, nil
}

// Vectors are code vectors loaded for evaluation: codes[i] owns row i.
type Vectors struct {
	Codes []string
	X     []float32
	Dim   int
	Name  string // set name or file
}

// LoadVectors reads a hierarchy JSON (set picks one of its sets; it may be
// empty when the file has exactly one) or an .npz with its .types.json: a
// Med2Vec file gives ReLU(W_emb), the vectors its code-level objective
// trains (as med2vec.Model.CodeVectors), any other the "vectors" array.
func LoadVectors(path, set string) (*Vectors, error) {
	switch filepath.Ext(path) {
	case ".json":
		var only []string
		if set != "" {
			only = []string{set}
		}
		sets, err := embfile.ReadHierarchyJSON(path, only...)
		if err != nil {
			return nil, err
		}
		if set == "" {
			if len(sets) != 1 {
				names := make([]string, 0, len(sets))
				for n := range sets {
					names = append(names, n)
				}
				sort.Strings(names)
				return nil, fmt.Errorf("%s: %d sets %v; name one with eval.set", path, len(sets), names)
			}
			for n := range sets {
				set = n
			}
		}
		vecs := sets[set]
		codes := make([]string, 0, len(vecs))
		for code := range vecs {
			codes = append(codes, code)
		}
		sort.Strings(codes)
		if len(codes) == 0 {
			return nil, fmt.Errorf("%s: set %s is empty", path, set)
		}
		dim := len(vecs[codes[0]])
		x := make([]float32, 0, len(codes)*dim)
		for _, code := range codes {
			v := vecs[code]
			if len(v) != dim {
				return nil, fmt.Errorf("%s: set %s code %s: %d values, want %d", path, set, code, len(v), dim)
			}
			x = append(x, v...)
		}
		return &Vectors{Codes: codes, X: x, Dim: dim, Name: set}, nil
	case ".npz":
		arrays, err := embfile.ReadNPZ(path)
		if err != nil {
			return nil, err
		}
		codes, err := embfile.ReadTypes(embfile.TypesPath(path))
		if err != nil {
			return nil, err
		}
		a, relu := arrays[Word2VecKey], false
		if w, ok := arrays["W_emb"]; ok {
			a, relu = w, true
		}
		if a == nil {
			return nil, fmt.Errorf("%s: neither W_emb nor %s array", path, Word2VecKey)
		}
		if len(a.Shape) != 2 || a.Shape[0] != len(codes) {
			return nil, fmt.Errorf("%s: vectors shape %v, want %d codes × dim (from %s)", path, a.Shape, len(codes), embfile.TypesPath(path))
		}
		x := append([]float32(nil), a.Data...)
		if relu {
			for i, v := range x {
				x[i] = max(v, 0)
			}
		}
		return &Vectors{Codes: codes, X: x, Dim: a.Shape[1], Name: filepath.Base(path)}, nil
	}
	return nil, fmt.Errorf("eval.embeddings %s: want a .json hierarchy file or an .npz", path)
}

// EvalRow is one k's scores, as written to eval.json.
type EvalRow struct {
	K          int     `json:"k"`
	Codes      int     `json:"codes"`
	Unlabelled int     `json:"unlabelled"`
	Categories int     `json:"categories"`
	NMI        float64 `json:"nmi"`
	AMI        float64 `json:"ami"`
	Inertia    float64 `json:"inertia"`
}

// EvalResult is eval.json.
type EvalResult struct {
	Embeddings string    `json:"embeddings"`
	Set        string    `json:"set"`
	Grouper    string    `json:"grouper"`
	Dim        int       `json:"dim"`
	Rows       []EvalRow `json:"results"`
	JSON       string    `json:"-"`
	Map        string    `json:"map,omitempty"`
}

// RunEval clusters the vectors eval.embeddings names (default: out_dir's
// word2vec.json) for each k and scores the clusters against the grouper's
// categories, writing out_dir/eval.json and, with map = true, map.svg.
func RunEval(cfg *Config, log io.Writer) (*EvalResult, error) {
	e := cfg.Eval
	if e.Grouper == "" {
		return nil, errors.New("eval.grouper is required")
	}
	path := e.Embeddings
	if path == "" {
		path = filepath.Join(cfg.OutDir, Word2VecJSON)
	}
	v, err := LoadVectors(path, e.Set)
	if err != nil {
		return nil, err
	}
	g, err := readGrouper(e.GrouperKind, e.Grouper)
	if err != nil {
		return nil, fmt.Errorf("eval.grouper: %w", err)
	}
	category := withPrefix(e.StripPrefix, g.Lookup)
	res := &EvalResult{Embeddings: path, Set: v.Name, Grouper: e.Grouper, Dim: v.Dim}
	for _, k := range e.K {
		rep, err := embeval.ScoreClusters(v.X, v.Dim, v.Codes, category, embeval.KMeansOptions{K: k, Restarts: e.Restarts, Seed: e.Seed})
		if err != nil {
			return nil, fmt.Errorf("eval k=%d: %w", k, err)
		}
		if math.IsNaN(rep.NMI) || math.IsNaN(rep.AMI) {
			return nil, fmt.Errorf("eval k=%d: NMI %v, AMI %v", k, rep.NMI, rep.AMI)
		}
		res.Rows = append(res.Rows, EvalRow{K: k, Codes: rep.Codes, Unlabelled: rep.Unlabelled, Categories: rep.Categories, NMI: rep.NMI, AMI: rep.AMI, Inertia: rep.Inertia})
		if log != nil {
			fmt.Fprintf(log, "k=%d: NMI %.4f AMI %.4f\n", k, rep.NMI, rep.AMI)
		}
	}
	if err := os.MkdirAll(cfg.OutDir, 0o755); err != nil {
		return nil, err
	}
	if e.Map {
		res.Map = filepath.Join(cfg.OutDir, EvalMap)
		opt := embeval.MapOptions{Title: fmt.Sprintf("%s by %s category", v.Name, g.Name), Names: g.Description}
		if err := embeval.MapCodes(res.Map, v.X, v.Dim, v.Codes, category, opt); err != nil {
			return nil, err
		}
	}
	res.JSON = filepath.Join(cfg.OutDir, EvalJSON)
	b, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return nil, err
	}
	if err := writeAtomic(res.JSON, append(b, '\n')); err != nil {
		return nil, err
	}
	return res, nil
}

// writeAtomic writes via a temporary file and a rename, so that a reader
// never sees half a result file.
func writeAtomic(path string, b []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return os.Rename(tmp.Name(), path)
}
