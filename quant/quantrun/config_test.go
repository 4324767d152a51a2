package quantrun

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadConfig(t *testing.T) {
	dir := t.TempDir()
	load := func(text string) (*Config, error) {
		path := filepath.Join(dir, "q.toml")
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return LoadConfig(path)
	}
	cfg, err := load("run_dir = \"run\"\ndataset = \"/abs/ds\"\n[bags]\nseed = 3\n")
	if err != nil {
		t.Fatal(err)
	}
	// Relative paths follow the file, absolute ones stay; out_dir defaults
	// under the run; unset keys keep the defaults.
	if cfg.RunDir != filepath.Join(dir, "run") || cfg.Dataset != "/abs/ds" || cfg.OutDir != filepath.Join(dir, "run", "quant") ||
		cfg.Bags.Seed != 3 || cfg.Bags.TrainCount != 5000 || cfg.MLP != Defaults().MLP {
		t.Errorf("%+v", cfg)
	}
	for text, want := range map[string]string{
		"dataset = \"d\"": "run_dir is required",
		"run_dir = \"r\"": "dataset is required",
		"run_dir = \"r\"\ndataset = \"d\"\nthreshold = 1":                      "threshold 1",
		"run_dir = \"r\"\ndataset = \"d\"\n[bags]\nmin_size = 5\nmax_size = 2": "bags.max_size 2 below bags.min_size 5",
		"run_dir = \"r\"\ndataset = \"d\"\n[mlp]\nholdout = 0":                 "mlp.holdout 0",
		"run_dir = \"r\"\ndataset = \"d\"\n[mlp]\npatience = 0":                "mlp.patience 0",
		"run_dir = \"r\"\ndataset = \"d\"\n[mlp]\nlr = \"x\"":                  "q.toml",
		"run_dir = \"r\"\ndataset = ":                                          "line 2",
		"run_dir = \"r\"\ndataset = \"d\"\nseed = 1":                           "unknown key seed",
	} {
		_, err := load(text)
		if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "q.toml") {
			t.Errorf("%q: error %v, want %q and the file name", text, err, want)
		}
	}
}

func TestBagConfig(t *testing.T) {
	b := Defaults().Bags
	bc, err := b.bagConfig(10, 50, 7)
	if err != nil || bc.MinSize != 1 || bc.MaxSize != 50 || bc.Count != 10 || bc.Seed != 7 {
		t.Errorf("%+v %v", bc, err)
	}
	b.MaxSize = 60
	if _, err := b.bagConfig(10, 50, 7); err == nil {
		t.Error("bags larger than the pool without replacement accepted")
	}
	b.Replacement = true
	if _, err := b.bagConfig(10, 50, 7); err != nil {
		t.Error(err)
	}
}
