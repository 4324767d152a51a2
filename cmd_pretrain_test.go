package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/icdcode/icdcode/model/encoder"
	"github.com/icdcode/icdcode/model/pretrain"
	runs "github.com/icdcode/icdcode/model/run"
	"github.com/icdcode/icdcode/model/tokenizer"
	"github.com/icdcode/icdcode/model/train"
)

// pretrainConfig writes a pretraining config with a tiny encoder.
func pretrainConfig(t *testing.T, dir, name, runDir string, epochs int, extra string) string {
	t.Helper()
	text := `[data]
dataset = "dataset"

[model.scratch]
hidden = 16
layers = 1
heads = 4
intermediate = 32
max_positions = 64
vocab_size = 300

[pretrain]
seq_len = 32
` + extra + `
[train]
epochs = ` + strconv.Itoa(epochs) + `
lr = 3e-3
warmup_ratio = 0
grad_accum = 4
seed = 7

[run]
dir = "` + runDir + `"
`
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestPretrain(t *testing.T) {
	dir := demoDir(t)

	t.Run("loss falls and encoder works as hf source", func(t *testing.T) {
		cfgPath := pretrainConfig(t, dir, "pre.toml", "pre", 4, "")
		cli(t, false, "pretrain", "-c", cfgPath)
		recs, err := train.ReadLog(filepath.Join(dir, "pre", pretrain.CheckpointsDir, train.LogFile))
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) != 4 {
			t.Fatalf("%d log records, want 4", len(recs))
		}
		first, last := recs[0].TrainLoss, recs[len(recs)-1].TrainLoss
		t.Logf("training MLM loss %.3f → %.3f; dev %v → %v", first, last, recs[0].Metrics, recs[len(recs)-1].Metrics)
		// A random encoder predicts about uniformly: ln 300 ≈ 5.70 nats.
		// The first epoch's mean already includes its learning, so the
		// fall after it is modest for a 16-wide encoder (about 0.25 nats
		// on this corpus); 0.15 leaves room for other platforms' rounding.
		if !(last < first-0.15) {
			t.Errorf("training MLM loss went from %.4f to %.4f, want a fall of at least 0.15", first, last)
		}
		d0, ok0 := recs[0].Metrics[pretrain.DevMetric]
		d1, ok1 := recs[len(recs)-1].Metrics[pretrain.DevMetric]
		if !ok0 || !ok1 || !(d1 < d0) {
			t.Errorf("dev MLM loss %v → %v, want a fall", recs[0].Metrics, recs[len(recs)-1].Metrics)
		}
		encDir := filepath.Join(dir, "pre", pretrain.EncoderDir)
		tok, err := tokenizer.Load(encDir)
		if err != nil {
			t.Fatal(err)
		}
		enc, err := encoder.Load[float32](encDir)
		if err != nil {
			t.Fatal(err)
		}
		if tok.VocabSize() != enc.Config.VocabSize || enc.Config.HiddenSize != 16 {
			t.Fatalf("encoder folder: vocabulary %d vs %d, hidden %d", tok.VocabSize(), enc.Config.VocabSize, enc.Config.HiddenSize)
		}
		initial, err := os.ReadFile(filepath.Join(dir, "pre", pretrain.InitDir, "model.safetensors"))
		if err != nil {
			t.Fatal(err)
		}
		trained, err := os.ReadFile(filepath.Join(encDir, "model.safetensors"))
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Equal(initial, trained) {
			t.Fatal("the saved encoder equals the initial one")
		}

		// A classifier trained from it: CE-MSAM, frozen synonym rows.
		cls := tinyConfigEpochs(t, dir, "cls.toml", "msam", "cls", "source = \"hf:pre/encoder\"\ntune_synonyms = false\n", 1)
		cli(t, false, "train", "-c", cls)
		// The classifier run saves its initial encoder: it must be the
		// pretrained one, weight for weight.
		got, err := os.ReadFile(filepath.Join(dir, "cls", "encoder", "model.safetensors"))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, trained) {
			t.Error("the classifier did not start from the pretrained encoder")
		}
		if _, err := train.LatestCheckpoint(filepath.Join(dir, "cls", "checkpoints")); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("resume is bit-identical", func(t *testing.T) {
		straight := pretrainConfig(t, dir, "a.toml", "a", 2, "")
		cli(t, false, "pretrain", "-c", straight)
		split := pretrainConfig(t, dir, "b.toml", "b", 2, "")
		cfg, err := pretrain.LoadConfig(split)
		if err != nil {
			t.Fatal(err)
		}
		res, err := pretrain.Pretrain(context.Background(), cfg, pretrain.Options{StopAfter: 1})
		if err != nil {
			t.Fatal(err)
		}
		if res.Train.Epochs != 1 || res.EncoderDir != "" {
			t.Fatalf("stopped run: %d epochs, encoder %q", res.Train.Epochs, res.EncoderDir)
		}
		if out := cli(t, true, "pretrain", "-c", split); !strings.Contains(out, "--resume") {
			t.Errorf("a second start without --resume: %s", out)
		}
		cli(t, false, "pretrain", "-c", split, "--resume")
		for _, f := range []string{"checkpoints/ckpt-epoch-002/weights.bin", "checkpoints/ckpt-epoch-002/moments.bin", "encoder/model.safetensors"} {
			a, err := os.ReadFile(filepath.Join(dir, "a", f))
			if err != nil {
				t.Fatal(err)
			}
			b, err := os.ReadFile(filepath.Join(dir, "b", f))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(a, b) {
				t.Errorf("%s differs between 2 epochs straight and 1 + --resume + 1", f)
			}
		}
		// Another mask_prob is another pretraining.
		other := pretrainConfig(t, dir, "b2.toml", "b", 2, "mask_prob = 0.3\n")
		if out := cli(t, true, "pretrain", "-c", other, "--resume"); !strings.Contains(out, "resume needs the same") {
			t.Errorf("resume with another mask_prob: %s", out)
		}
	})

	t.Run("misspelled key", func(t *testing.T) {
		bad := pretrainConfig(t, dir, "bad.toml", "bad", 1, "mask_probb = 0.2\n")
		out := cli(t, true, "pretrain", "-c", bad)
		if !strings.Contains(out, "mask_probb") || !strings.Contains(out, bad) {
			t.Errorf("error %q does not name the key and the file", out)
		}
	})
}

// tinyConfigEpochs is tinyConfig with another number of epochs.
func tinyConfigEpochs(t *testing.T, dir, name, head, runDir, extra string, epochs int) string {
	t.Helper()
	path := tinyConfig(t, dir, name, head, runDir, extra)
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Replace(string(raw), "epochs = 2\n", "epochs = "+strconv.Itoa(epochs)+"\n", 1)
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// The shipped pretraining config parses strictly and builds exactly the
// encoder of ce_msam_codiesp.toml on the same dataset, so that its result
// can replace that config's scratch encoder.
func TestPretrainShippedConfig(t *testing.T) {
	cfg, err := pretrain.LoadConfig(filepath.Join("configs", "pretrain_codiesp.toml"))
	if err != nil {
		t.Fatal(err)
	}
	ce, err := runs.LoadConfig(filepath.Join("configs", "ce_msam_codiesp.toml"))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Model.Scratch != ce.Model.Scratch || cfg.Data.Dataset != ce.Data.Dataset || cfg.Model.Source != "scratch" {
		t.Errorf("pretrain_codiesp.toml: %+v on %s, ce_msam_codiesp.toml: %+v on %s", cfg.Model, cfg.Data.Dataset, ce.Model.Scratch, ce.Data.Dataset)
	}
	if cfg.Pretrain.SeqLen != 128 || cfg.Pretrain.SeqLen > ce.Model.Scratch.MaxPositions {
		t.Errorf("seq_len %d", cfg.Pretrain.SeqLen)
	}
}
