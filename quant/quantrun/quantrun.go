package quantrun

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/icdcode/icdcode/data/dataset"
	"github.com/icdcode/icdcode/data/fileio"
	"github.com/icdcode/icdcode/quant/probs"
	"github.com/icdcode/icdcode/quant/quantify"
)

// Names inside out_dir.
const (
	StandardFile = "standard.json"
	MLPFile      = "mlp.json"
	TrainFile    = "train.json"
)

// QuantificationFile is the name of Test's table for split.
func QuantificationFile(split string) string { return "quantification-" + split + ".json" }

// testSeedOffset separates the test bags' random stream from the training
// bags': when the dataset has no test split, test bags come from dev, and the
// same seed would redraw exactly the bags the MLP was trained on.
const testSeedOffset = 1

// Standard is standard.json: the dev-fitted non-learned quantifiers. CC and
// PCC have no parameters beyond Threshold.
type Standard struct {
	Labels    int                `json:"labels"`
	DevDocs   int                `json:"dev_docs"`
	Threshold float64            `json:"threshold"`
	Constant  *quantify.Constant `json:"constant"`
	ACC       *quantify.Adjusted `json:"acc"`
	PACC      *quantify.Adjusted `json:"pacc"`
}

// TrainSummary is train.json.
type TrainSummary struct {
	RunDir     string                `json:"run_dir"`
	Dataset    string                `json:"dataset"`
	Labels     int                   `json:"labels"`
	DevDocs    int                   `json:"dev_docs"`
	Bags       quantify.BagConfig    `json:"bags"`
	MLP        quantify.MLPConfig    `json:"mlp"`
	Training   *quantify.TrainReport `json:"training"`
	Unadjusted struct {
		ACC  []int `json:"acc"`
		PACC []int `json:"pacc"`
	} `json:"unadjusted"`
}

// mlpConfig maps the file's settings onto quantify's.
func (c *Config) mlpConfig() quantify.MLPConfig {
	m := quantify.DefaultMLPConfig()
	m.Hidden, m.LR, m.WeightDecay, m.HuberDelta = c.MLP.Hidden, c.MLP.LR, c.MLP.WeightDecay, c.MLP.Delta
	m.MaxEpochs, m.BatchSize, m.Patience, m.HeldOutFraction, m.Seed = c.MLP.Epochs, c.MLP.Batch, c.MLP.Patience, c.MLP.Holdout, c.MLP.Seed
	return m
}

// Train reads the dev predictions, fits Constant, ACC and PACC on dev, draws
// training bags from dev and trains the MLP quantifier, and saves everything
// to cfg.OutDir. Each file is written atomically; train.json goes last, so
// its presence means the set is complete.
func Train(cfg *Config, log io.Writer) (*TrainSummary, error) {
	if log == nil {
		log = io.Discard
	}
	ds, err := dataset.Open(cfg.Dataset)
	if err != nil {
		return nil, fmt.Errorf("dataset in %s: %w", cfg.Path, err)
	}
	dev, err := probs.Read(cfg.RunDir, ds, "dev")
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(log, "read %d dev documents × %d labels from %s\n", len(dev.IDs), len(dev.Labels), dev.Path)
	std := &Standard{Labels: len(dev.Labels), DevDocs: len(dev.IDs), Threshold: cfg.Threshold}
	if std.Constant, err = quantify.FitConstant(dev.Targets); err != nil {
		return nil, fmt.Errorf("%s: %w", dev.Path, err)
	}
	if std.ACC, err = quantify.FitACC(dev.Probs, dev.Targets, cfg.Threshold); err != nil {
		return nil, fmt.Errorf("%s: %w", dev.Path, err)
	}
	if std.PACC, err = quantify.FitPACC(dev.Probs, dev.Targets); err != nil {
		return nil, fmt.Errorf("%s: %w", dev.Path, err)
	}
	bc, err := cfg.Bags.bagConfig(cfg.Bags.TrainCount, len(dev.IDs), cfg.Bags.Seed)
	if err != nil {
		return nil, fmt.Errorf("config %s: training bags from dev: %w", cfg.Path, err)
	}
	bags, err := quantify.SampleBags(dev.Targets, bc)
	if err != nil {
		return nil, err
	}
	x, t, err := quantify.BagFeatures(dev.Probs, bags)
	if err != nil {
		return nil, err
	}
	mc := cfg.mlpConfig()
	fmt.Fprintf(log, "training the MLP quantifier on %d bags (sizes %d..%d)\n", len(bags), bc.MinSize, bc.MaxSize)
	mlp, rep, err := quantify.TrainMLP(x, t, mc)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(log, "MLP: %d epochs, best %d, early stop %v\n", rep.Epochs, rep.BestEpoch, rep.StoppedEarly)
	sum := &TrainSummary{RunDir: cfg.RunDir, Dataset: cfg.Dataset, Labels: len(dev.Labels), DevDocs: len(dev.IDs),
		Bags: bc, MLP: mc, Training: rep}
	sum.Unadjusted.ACC, sum.Unadjusted.PACC = std.ACC.Unadjusted, std.PACC.Unadjusted
	if err := os.MkdirAll(cfg.OutDir, 0o755); err != nil {
		return nil, err
	}
	if err := saveJSON(filepath.Join(cfg.OutDir, StandardFile), std); err != nil {
		return nil, err
	}
	if err := mlp.Save(filepath.Join(cfg.OutDir, MLPFile)); err != nil {
		return nil, err
	}
	if err := saveJSON(filepath.Join(cfg.OutDir, TrainFile), sum); err != nil {
		return nil, err
	}
	return sum, nil
}

// TestResult is what Test computed and where it wrote it.
type TestResult struct {
	Split string
	Table *quantify.Table
	Path  string
}

// Test reads the predictions of split ("" picks test, or dev when the
// dataset has no test documents), draws test bags from it, and compares
// every saved quantifier on them, writing quantification-SPLIT.json to
// cfg.OutDir.
func Test(cfg *Config, split string, log io.Writer) (*TestResult, error) {
	if log == nil {
		log = io.Discard
	}
	ds, err := dataset.Open(cfg.Dataset)
	if err != nil {
		return nil, fmt.Errorf("dataset in %s: %w", cfg.Path, err)
	}
	if split == "" {
		split = "test"
		if ds.Manifest.Counts["test"] == 0 {
			split = "dev"
			fmt.Fprintf(log, "dataset %s has no test split: quantifying on dev\n", ds.Dir)
		}
	}
	if split != "dev" && split != "test" {
		return nil, fmt.Errorf("split %q, want dev or test", split)
	}
	qs, err := LoadQuantifiers(cfg.OutDir)
	if err != nil {
		return nil, err
	}
	sp, err := probs.Read(cfg.RunDir, ds, split)
	if err != nil {
		return nil, err
	}
	bc, err := cfg.Bags.bagConfig(cfg.Bags.TestCount, len(sp.IDs), cfg.Bags.Seed+testSeedOffset)
	if err != nil {
		return nil, fmt.Errorf("config %s: test bags from %s: %w", cfg.Path, split, err)
	}
	bags, err := quantify.SampleBags(sp.Targets, bc)
	if err != nil {
		return nil, err
	}
	clq := filepath.Join(cfg.RunDir, CLQFile)
	if _, err := os.Stat(clq); err == nil {
		// A CLQ run's jointly trained quantifier joins the comparison.
		m, err := quantify.LoadMLP(clq)
		if err != nil {
			return nil, err
		}
		if m.L != len(sp.Labels) {
			return nil, fmt.Errorf("%s has %d labels, the run %d", clq, m.L, len(sp.Labels))
		}
		qs = append(qs, renamed{m, "CLQ-MLP"})
	}
	fmt.Fprintf(log, "comparing %d quantifiers on %d %s bags\n", len(qs), len(bags), split)
	table, err := quantify.Compare(qs, sp.Probs, sp.Targets, bags)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", sp.Path, err)
	}
	path := filepath.Join(cfg.OutDir, QuantificationFile(split))
	if err := table.SaveJSON(path); err != nil {
		return nil, err
	}
	return &TestResult{Split: split, Table: table, Path: path}, nil
}

// CLQFile is the quantifier a CLQ training run saves in its run directory
// (model/run), trained jointly with the classifier.
const CLQFile = "clq-mlp.json"

// renamed gives a quantifier another name in the comparison table.
type renamed struct {
	quantify.Quantifier
	name string
}

func (r renamed) Name() string { return r.name }

// LoadQuantifiers reads the quantifiers Train saved in dir, in the order of
// the comparison table: Constant, CC, PCC, ACC, PACC, MLP.
func LoadQuantifiers(dir string) ([]quantify.Quantifier, error) {
	path := filepath.Join(dir, StandardFile)
	raw, err := os.ReadFile(path)
	if err != nil {
		if os.IsNotExist(err) {
			return nil, fmt.Errorf("%s not found: run `icdcode quantify train` first", path)
		}
		return nil, err
	}
	var std Standard
	if err := json.Unmarshal(raw, &std); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if err := std.check(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	mlp, err := quantify.LoadMLP(filepath.Join(dir, MLPFile))
	if err != nil {
		return nil, err
	}
	if mlp.L != std.Labels {
		return nil, fmt.Errorf("%s has %d labels but %s has %d: files from different trainings", filepath.Join(dir, MLPFile), mlp.L, path, std.Labels)
	}
	return []quantify.Quantifier{std.Constant, quantify.CC{Threshold: std.Threshold}, quantify.PCC{}, std.ACC, std.PACC, mlp}, nil
}

// check validates a loaded standard.json, since a hand-edited or truncated
// file would otherwise fail deep inside Quantify.
func (s *Standard) check() error {
	if s.Labels < 1 {
		return fmt.Errorf("labels %d, want at least 1", s.Labels)
	}
	if !(s.Threshold > 0 && s.Threshold < 1) {
		return fmt.Errorf("threshold %v, want a value in (0,1)", s.Threshold)
	}
	if s.Constant == nil || len(s.Constant.Prevalence) != s.Labels {
		return fmt.Errorf("constant: want %d prevalences", s.Labels)
	}
	for name, a := range map[string]*quantify.Adjusted{"acc": s.ACC, "pacc": s.PACC} {
		if a == nil || len(a.TPR) != s.Labels || len(a.FPR) != s.Labels {
			return fmt.Errorf("%s: want %d tpr and fpr values", name, s.Labels)
		}
		if a.Probabilistic != (name == "pacc") {
			return fmt.Errorf("%s: wrong \"probabilistic\" flag", name)
		}
	}
	return nil
}

// saveJSON writes v as indented JSON atomically.
func saveJSON(path string, v any) error {
	return fileio.WriteAtomic(path, func(w io.Writer) error {
		e := json.NewEncoder(w)
		e.SetIndent("", "  ")
		return e.Encode(v)
	})
}
