package run

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeConfig(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "c.toml")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestLoadConfig(t *testing.T) {
	path := writeConfig(t, `
[data]
dataset = "ds"
synonyms = "/abs/syn.jsonl"
[model]
head = "cls"
source = "hf:models/x"
[run]
dir = "runs/a"
`)
	cfg, err := LoadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	base := filepath.Dir(path)
	if cfg.Data.Dataset != filepath.Join(base, "ds") || cfg.Data.Synonyms != "/abs/syn.jsonl" ||
		cfg.Run.Dir != filepath.Join(base, "runs/a") || cfg.Model.Source != "hf:"+filepath.Join(base, "models/x") {
		t.Errorf("paths not resolved against the config's folder: %+v %+v %s", cfg.Data, cfg.Run, cfg.Model.Source)
	}
	// Keys absent from the file keep their defaults.
	if d := Defaults(); cfg.Train != d.Train || cfg.Model.MaxLen != d.Model.MaxLen || cfg.Model.Pool != "mean" || cfg.Model.PerChunk || !cfg.Model.Mask || !cfg.Model.Scale {
		t.Errorf("defaults lost: %+v", cfg.Train)
	}
}

func TestLoadConfigErrors(t *testing.T) {
	for _, c := range []struct{ text, want string }{
		{"[data]\ndataset = \"d\"\n[run]\ndir = \"r\"\n[model]\nhead = \"cls\"\n[train]\nepoch = 3\n", "train.epoch"},
		{"[data]\ndataset = \"d\"\n[run]\ndir = \"r\"\n[model]\nhead = \"cls\"\nmax_len = \"long\"\n", "model.max_len"},
		{"[data]\ndataset = \"d\"\n[run]\ndir = \"r\"\n", "data.synonyms"},
		{"[run]\ndir = \"r\"\n[model]\nhead = \"cls\"\n", "data.dataset"},
		{"[data]\ndataset = \"d\"\n[run]\ndir = \"r\"\n[model]\nhead = \"cls\"\nsource = \"pretrained\"\n", "model.source"},
		{"[data]\ndataset = \"d\"\n[run]\ndir = \"r\"\n[model]\nhead = \"cls\"\n[train]\nmetric = \"f1\"\n", "train.metric"},
		{"[data]\ndataset = \"d\"\n[run]\ndir = \"r\"\n[model]\nhead = \"cls\"\n[model.scratch]\nhidden = 10\nheads = 4\n", "model.scratch.hidden"},
	} {
		path := writeConfig(t, c.text)
		_, err := LoadConfig(path)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), path) {
			t.Errorf("config %q: error %v, want one naming %s and the file", c.text, err, c.want)
		}
	}
}

// MSAM's synonym rows follow the encoder's source unless the keys say
// otherwise: trainable from [CLS] + N(0, 1) from scratch, frozen when
// pretrained.
func TestTuneDefaults(t *testing.T) {
	for _, c := range []struct {
		source, keys string
		tune         bool
		std          float64
	}{
		{"scratch", "", true, 1},
		{"hf:m", "", false, 0},
		{"scratch", "tune_synonyms = false\n", false, 0},
		{"scratch", "synonym_init_std = 0.5\n", true, 0.5},
		{"hf:m", "tune_synonyms = true\n", true, 0},
		{"hf:m", "tune_synonyms = true\nsynonym_init_std = 0.1\n", true, 0.1},
	} {
		cfg, err := LoadConfig(writeConfig(t, "[data]\ndataset = \"d\"\nsynonyms = \"s\"\n[run]\ndir = \"r\"\n[model]\nsource = \""+c.source+"\"\n"+c.keys))
		if err != nil {
			t.Fatal(err)
		}
		if m := cfg.Classifier().MSAM; m.Tune != c.tune || m.TuneInitStd != c.std {
			t.Errorf("source %s, keys %q: tune %v σ %v, want %v %v", c.source, c.keys, m.Tune, m.TuneInitStd, c.tune, c.std)
		}
	}
	_, err := LoadConfig(writeConfig(t, "[data]\ndataset = \"d\"\nsynonyms = \"s\"\n[run]\ndir = \"r\"\n[model]\ntune_synonyms = false\nsynonym_init_std = 1.0\n"))
	if err == nil || !strings.Contains(err.Error(), "synonym_init_std") {
		t.Errorf("σ without tuning: %v", err)
	}
	cfg, err := LoadConfig(writeConfig(t, "[data]\ndataset = \"d\"\n[run]\ndir = \"r\"\n[model]\nhead = \"laat\"\n"))
	if err != nil || cfg.Classifier().MSAM.Tune {
		t.Errorf("LAAT head: MSAM tuning set (%v)", err)
	}
}
