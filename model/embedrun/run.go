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
	"strings"

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
	EvalMD       = "eval.md"
	EvalMap      = "map.svg"
	// Next-visit recall of the held-out patients at the end of training.
	Med2VecRecallJSON  = "med2vec-recall.json"
	Word2VecRecallJSON = "word2vec-recall.json"
)

// RunOptions control a training run beyond its config.
type RunOptions struct {
	// Log receives what the run reads, progress lines and the recall.
	Log io.Writer
	// Resume continues from the newest checkpoint in out_dir/checkpoints
	// (written after every epoch) instead of starting afresh.
	Resume bool
	// Fresh starts afresh over the checkpoints of an earlier run, removing
	// them; without it such checkpoints are an error (resume or start over
	// must be chosen, as in model/train).
	Fresh bool
	// StopAfter, when positive, stops after that many completed epochs
	// without writing the outputs, as an interrupted run would (for tests
	// of resume; the learning-rate schedule stays that of the config).
	StopAfter int
}

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
	// Recall is the next-visit recall of the held-out patients, written to
	// RecallJSON (nil, "" when eval.heldout_fraction is 0).
	Recall     *RecallReport
	RecallJSON string
	// Stopped is set when RunOptions.StopAfter ended the run early; nothing
	// but the checkpoints was written.
	Stopped bool
}

// RunMed2VecWith trains Med2Vec on the training patients of the input and
// writes out_dir/med2vec.npz (with its .types.json map, the reference's
// layout) and out_dir/med2vec.json, the ReLU code vectors as one hierarchy
// set so that eval treats both models alike; with held-out patients it
// scores them by next-visit recall (med2vec-recall.json). A checkpoint is
// written after every epoch. Per-epoch costs go to opt.Log.
func RunMed2VecWith(cfg *Config, opt RunOptions) (*Med2VecResult, error) {
	log := opt.Log
	c, err := ReadCorpus(cfg.Input, log)
	if err != nil {
		return nil, err
	}
	train, held, err := splitCorpus(cfg.Eval, c, log)
	if err != nil {
		return nil, err
	}
	group := med2vecGrouper(cfg)
	ref := train.Reference(group)
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
	// Epochs may change on resume (Adadelta has no schedule): more epochs
	// continue a finished run.
	hm := cfg.Med2Vec
	hm.Epochs = 0
	cp, err := newCheckpointer(cfg, "med2vec", struct {
		Input   InputConfig
		Med2Vec Med2VecConfig
		Split   [2]any
	}{cfg.Input, hm, [2]any{cfg.Eval.HeldoutFraction, cfg.Eval.HeldoutSeed}}, train, log)
	if err != nil {
		return nil, err
	}
	ck, err := cp.start(opt.Resume, opt.Fresh)
	if err != nil {
		return nil, err
	}
	if log != nil {
		fmt.Fprintf(log, "med2vec: %d codes, %d label groups, %d rows; emb %d, visit %d, %d epochs\n",
			mc.NumInputCodes, mc.NumOutputCodes, len(ref.Seqs), mc.EmbSize, mc.VisitSize, mc.Epochs)
	}
	topt := med2vec.TrainOptions{
		Progress:  log,
		StopAfter: opt.StopAfter,
		OnEpoch:   func(s *med2vec.State) error { return cp.save(s.Epoch, s, nil) },
	}
	if ck != nil {
		if ck.Med2Vec.Epoch > mc.Epochs {
			return nil, fmt.Errorf("checkpoint %s: %d epochs done, more than med2vec.epochs = %d", cp.latest, ck.Med2Vec.Epoch, mc.Epochs)
		}
		topt.Resume = ck.Med2Vec
	}
	// The package's errors start with "med2vec:" already.
	model, stats, err := med2vec.TrainWith(data, mc, topt)
	if err != nil {
		return nil, err
	}
	res := &Med2VecResult{
		NPZ: filepath.Join(cfg.OutDir, Med2VecNPZ), JSON: filepath.Join(cfg.OutDir, Med2VecJSON),
		Codes: len(codes), Labels: mc.NumOutputCodes, Epochs: stats,
		SetName: fmt.Sprintf("med2vec_embeddings_%d", model.E),
	}
	if opt.StopAfter > 0 && len(stats) < mc.Epochs {
		res.Stopped = true
		return res, nil
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
	if held != nil {
		// From the saved float32 arrays, so that `embed eval` on the .npz
		// reports the same numbers.
		if res.Recall, err = med2vecRecall(cfg, arrays, codes, train, held); err != nil {
			return nil, fmt.Errorf("med2vec recall: %w", err)
		}
		logRecall(log, res.Recall)
		res.RecallJSON = filepath.Join(cfg.OutDir, Med2VecRecallJSON)
		if err := writeJSON(res.RecallJSON, res.Recall); err != nil {
			return nil, err
		}
	}
	return res, nil
}

// newCheckpointer fingerprints the settings and the training patients of a
// run of kind.
func newCheckpointer(cfg *Config, kind string, settings any, train *visits.Corpus, log io.Writer) (*checkpointer, error) {
	h, err := fingerprint(settings)
	if err != nil {
		return nil, err
	}
	return &checkpointer{outDir: cfg.OutDir, kind: kind, configHash: h, dataHash: corpusHash(train), log: log}, nil
}

// writeJSON writes v indented, atomically.
func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return writeAtomic(path, append(b, '\n'))
}

// Word2VecResult says what RunWord2Vec wrote.
type Word2VecResult struct {
	NPZ, JSON string
	SetName   string
	Codes     int
	Tokens    int // vocabulary including category tokens
	Epochs    []word2vec.EpochStats
	// Recall, RecallJSON and Stopped as in Med2VecResult.
	Recall     *RecallReport
	RecallJSON string
	Stopped    bool
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

// RunWord2VecWith trains Word2Vec on the training patients of the input and
// writes out_dir/word2vec.json (one hierarchy set named as Finch et al. name
// theirs) and out_dir/word2vec.npz (array "vectors", codes×dim, with its
// .types.json); with held-out patients it scores them by next-visit recall
// (word2vec-recall.json). A checkpoint is written after every epoch.
// Per-epoch losses go to opt.Log.
func RunWord2VecWith(cfg *Config, opt RunOptions) (*Word2VecResult, error) {
	log := opt.Log
	c, err := ReadCorpus(cfg.Input, log)
	if err != nil {
		return nil, err
	}
	train, held, err := splitCorpus(cfg.Eval, c, log)
	if err != nil {
		return nil, err
	}
	w := cfg.Word2Vec
	wopt := word2vec.Options{Dim: w.Dim, Window: w.Window, Negative: w.Negative, Epochs: w.Epochs, Seed: w.Seed, VisitSentences: w.VisitSentences}
	if w.Arch == "cbow" {
		wopt.Arch = word2vec.CBOW
	}
	if w.Categories != "none" {
		g, err := readGrouper(w.Categories, w.Grouper)
		if err != nil {
			return nil, fmt.Errorf("word2vec.grouper: %w", err)
		}
		wopt.Category = withPrefix(w.StripPrefix, g.Token)
	}
	// Every setting counts, epochs included: they set the learning-rate
	// decay. The grouper file's content is covered by the vocabulary check.
	cp, err := newCheckpointer(cfg, "word2vec", struct {
		Input    InputConfig
		Word2Vec Word2VecConfig
		Split    [2]any
	}{cfg.Input, w, [2]any{cfg.Eval.HeldoutFraction, cfg.Eval.HeldoutSeed}}, train, log)
	if err != nil {
		return nil, err
	}
	ck, err := cp.start(opt.Resume, opt.Fresh)
	if err != nil {
		return nil, err
	}
	topt := word2vec.TrainOptions{
		Progress:  log,
		StopAfter: opt.StopAfter,
		OnEpoch:   func(s *word2vec.State) error { return cp.save(s.Epoch, nil, s) },
	}
	if ck != nil {
		topt.Resume = ck.Word2Vec
	}
	// The package's errors start with "word2vec:" already.
	m, err := word2vec.TrainCorpusWith(train, wopt, topt)
	if err != nil {
		return nil, err
	}
	x, codes := m.Codes()
	res := &Word2VecResult{
		NPZ: filepath.Join(cfg.OutDir, Word2VecNPZ), JSON: filepath.Join(cfg.OutDir, Word2VecJSON),
		SetName: wopt.SetName(), Codes: len(codes), Tokens: len(m.Vocab), Epochs: m.Epochs,
	}
	if opt.StopAfter > 0 && len(m.Epochs) < w.Epochs {
		res.Stopped = true
		return res, nil
	}
	if err := os.MkdirAll(cfg.OutDir, 0o755); err != nil {
		return nil, err
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
	if held != nil {
		if res.Recall, err = cosineRecall(cfg, x.Data, m.Dim, codes, train, held); err != nil {
			return nil, fmt.Errorf("word2vec recall: %w", err)
		}
		logRecall(log, res.Recall)
		res.RecallJSON = filepath.Join(cfg.OutDir, Word2VecRecallJSON)
		if err := writeJSON(res.RecallJSON, res.Recall); err != nil {
			return nil, err
		}
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
	Grouper    string    `json:"grouper,omitempty"`
	Dim        int       `json:"dim"`
	Rows       []EvalRow `json:"results"`
	// Recall is the next-visit recall of the held-out patients (nil when
	// eval.heldout_fraction is 0).
	Recall *RecallReport `json:"next_visit_recall,omitempty"`
	JSON   string        `json:"-"`
	MD     string        `json:"-"`
	Map    string        `json:"map,omitempty"`
}

// RunEval scores the vectors eval.embeddings names (default: out_dir's
// word2vec.json). With eval.grouper it clusters them for each k and scores
// the clusters against the grouper's categories (and draws map.svg with map
// = true); with eval.heldout_fraction > 0 it reads the input, splits it as
// training did and scores next-visit Recall@k on the held-out patients: a
// Med2Vec .npz by the model's visit softmax, other vectors by cosine to the
// mean of the visit's code vectors, both against the popularity baseline.
// It writes out_dir/eval.json and a Markdown summary, eval.md.
func RunEval(cfg *Config, log io.Writer) (*EvalResult, error) {
	e := cfg.Eval
	if e.Grouper == "" && e.HeldoutFraction == 0 {
		return nil, errors.New("nothing to evaluate: set eval.grouper (clustering) or eval.heldout_fraction (next-visit recall)")
	}
	path := e.Embeddings
	if path == "" {
		path = filepath.Join(cfg.OutDir, Word2VecJSON)
	}
	v, err := LoadVectors(path, e.Set)
	if err != nil {
		return nil, err
	}
	res := &EvalResult{Embeddings: path, Set: v.Name, Grouper: e.Grouper, Dim: v.Dim}
	var g *groupers.Grouper
	if e.Grouper != "" {
		if g, err = readGrouper(e.GrouperKind, e.Grouper); err != nil {
			return nil, fmt.Errorf("eval.grouper: %w", err)
		}
		category := withPrefix(e.StripPrefix, g.Lookup)
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
	}
	if e.HeldoutFraction > 0 {
		if res.Recall, err = evalRecall(cfg, path, v); err != nil {
			return nil, fmt.Errorf("eval next-visit recall of %s: %w", path, err)
		}
		logRecall(log, res.Recall)
	}
	if err := os.MkdirAll(cfg.OutDir, 0o755); err != nil {
		return nil, err
	}
	if e.Map && g != nil {
		res.Map = filepath.Join(cfg.OutDir, EvalMap)
		opt := embeval.MapOptions{Title: fmt.Sprintf("%s by %s category", v.Name, g.Name), Names: g.Description}
		if err := embeval.MapCodes(res.Map, v.X, v.Dim, v.Codes, withPrefix(e.StripPrefix, g.Lookup), opt); err != nil {
			return nil, err
		}
	}
	res.JSON = filepath.Join(cfg.OutDir, EvalJSON)
	if err := writeJSON(res.JSON, res); err != nil {
		return nil, err
	}
	res.MD = filepath.Join(cfg.OutDir, EvalMD)
	if err := writeAtomic(res.MD, []byte(evalMarkdown(res))); err != nil {
		return nil, err
	}
	return res, nil
}

// evalRecall reads the input, splits it as training did and scores the
// held-out patients with the embeddings at path (v: their code vectors).
func evalRecall(cfg *Config, path string, v *Vectors) (*RecallReport, error) {
	c, err := ReadCorpus(cfg.Input, nil)
	if err != nil {
		return nil, err
	}
	train, held, err := splitCorpus(cfg.Eval, c, nil)
	if err != nil {
		return nil, err
	}
	if filepath.Ext(path) == ".npz" {
		arrays, err := embfile.ReadNPZ(path)
		if err != nil {
			return nil, err
		}
		if _, ok := arrays["W_output"]; ok {
			if err := embfile.CheckMed2Vec(arrays); err != nil {
				return nil, fmt.Errorf("%s: %w", path, err)
			}
			return med2vecRecall(cfg, arrays, v.Codes, train, held)
		}
	}
	return cosineRecall(cfg, v.X, v.Dim, v.Codes, train, held)
}

// evalMarkdown is eval.md: the clustering scores and the recall table.
func evalMarkdown(r *EvalResult) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# Embedding evaluation\n\n%s (set %s, dimension %d)\n", r.Embeddings, r.Set, r.Dim)
	if len(r.Rows) > 0 {
		fmt.Fprintf(&b, "\n## k-means clusters against %s\n\n| k | codes | unlabelled | categories | NMI | AMI |\n| ---: | ---: | ---: | ---: | ---: | ---: |\n", r.Grouper)
		for _, row := range r.Rows {
			fmt.Fprintf(&b, "| %d | %d | %d | %d | %.4f | %.4f |\n", row.K, row.Codes, row.Unlabelled, row.Categories, row.NMI, row.AMI)
		}
	}
	if rc := r.Recall; rc != nil {
		fmt.Fprintf(&b, "\n## Next-visit Recall@k on held-out patients\n\n")
		fmt.Fprintf(&b, "%d training and %d held-out patients (fraction %g, seed %d); %d consecutive visit pairs scored, %d skipped (no code to predict); "+
			"%d of %d target codes never seen in training. Method: %s, ranking %d %s; %d pairs fell back to popularity. "+
			"Baseline: %s ranked by the number of training visits holding them.\n\n",
			rc.TrainPatients, rc.HeldoutPatients, rc.HeldoutFraction, rc.HeldoutSeed, rc.Pairs, rc.SkippedPairs,
			rc.UnseenTargets, rc.TargetCodes, rc.Method, rc.OutputCodes, rc.Output, rc.FallbackPairs, rc.Output)
		b.WriteString(recallTable(rc))
	}
	return b.String()
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
