package pretrain

import (
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/icdcode/icdcode/model/tokenizer"
)

// specials as a trained WordPiece vocabulary numbers them.
var specials = tokenizer.SpecialTokens{PAD: 0, UNK: 1, CLS: 2, SEP: 3, MASK: 4}

func TestMaskStatistics(t *testing.T) {
	const vocab, n = 1000, 20000
	m, err := NewMasker(specials, vocab, 0.15)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	ids := make([]int, n)
	maskable := 0
	for i := range ids {
		ids[i] = 5 + rng.IntN(vocab-5)
		if i%10 == 0 {
			ids[i] = specials.UNK // special: never chosen
		}
		if ids[i] != specials.UNK {
			maskable++
		}
	}
	ids[0], ids[n-1] = specials.CLS, specials.SEP
	maskable--
	orig := append([]int(nil), ids...)
	mk, err := m.Apply(ids, rand.New(rand.NewPCG(3, 4)))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(ids, orig) {
		t.Fatal("Apply modified its input")
	}
	var masked, random, kept int
	for j, p := range mk.Positions {
		if j > 0 && p <= mk.Positions[j-1] {
			t.Fatalf("positions not increasing at %d", j)
		}
		if orig[p] < 5 {
			t.Fatalf("special token %d at position %d was chosen", orig[p], p)
		}
		if mk.Targets[j] != orig[p] {
			t.Fatalf("target %d at position %d, want %d", mk.Targets[j], p, orig[p])
		}
		switch mk.Input[p] {
		case specials.MASK:
			masked++
		case orig[p]:
			kept++
		default:
			random++
		}
	}
	chosen := len(mk.Positions)
	for i := range orig {
		if !containsInt(mk.Positions, i) && mk.Input[i] != orig[i] {
			t.Fatalf("position %d changed without being chosen", i)
		}
	}
	// Binomial standard deviations: 0.0027 for the chosen fraction over
	// 18 000 tokens, ≤ 0.011 for the shares among ≈2 700 chosen; the
	// bounds are about 4 of them.
	frac := func(a, b int) float64 { return float64(a) / float64(b) }
	for _, c := range []struct {
		name      string
		got, want float64
		tol       float64
	}{
		{"chosen", frac(chosen, maskable), 0.15, 0.012},
		{"[MASK]", frac(masked, chosen), 0.8, 0.035},
		{"random", frac(random, chosen), 0.1, 0.025},
		{"kept", frac(kept, chosen), 0.1, 0.025},
	} {
		if math.Abs(c.got-c.want) > c.tol {
			t.Errorf("%s fraction %.4f, want %.2f ± %.3f", c.name, c.got, c.want, c.tol)
		}
		t.Logf("%s fraction %.4f", c.name, c.got)
	}
}

func containsInt(s []int, v int) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

func TestMaskDeterminismAndForcedMask(t *testing.T) {
	m, err := NewMasker(specials, 50, 0.15)
	if err != nil {
		t.Fatal(err)
	}
	w := []int{2, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 3}
	a, _ := m.Apply(w, rand.New(rand.NewPCG(9, 9)))
	b, _ := m.Apply(w, rand.New(rand.NewPCG(9, 9)))
	if !reflect.DeepEqual(a, b) {
		t.Errorf("same seed, different masking: %+v vs %+v", a, b)
	}
	differ := false
	for s := uint64(0); s < 20 && !differ; s++ {
		c, _ := m.Apply(w, rand.New(rand.NewPCG(s, 1)))
		differ = !reflect.DeepEqual(a, c)
	}
	if !differ {
		t.Error("20 seeds all gave the same masking")
	}
	// With a tiny probability nothing is chosen by the draws, and one
	// maskable position must be forced: here the only one.
	low, _ := NewMasker(specials, 50, 1e-9)
	for s := uint64(0); s < 10; s++ {
		mk, err := low.Apply([]int{2, 1, 42, 3}, rand.New(rand.NewPCG(s, 0)))
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(mk.Positions, []int{2}) || !reflect.DeepEqual(mk.Targets, []int{42}) {
			t.Fatalf("seed %d: positions %v targets %v, want [2] [42]", s, mk.Positions, mk.Targets)
		}
	}
	if _, err := low.Apply([]int{2, 1, 3}, rand.New(rand.NewPCG(1, 0))); err == nil {
		t.Error("a window without a maskable token gave no error")
	}
	if _, err := NewMasker(tokenizer.SpecialTokens{CLS: 2, SEP: 3, PAD: 0, UNK: 1, MASK: -1}, 50, 0.15); err == nil {
		t.Error("a tokenizer without [MASK] was accepted")
	}
}

func TestWindows(t *testing.T) {
	m, _ := NewMasker(specials, 50, 0.15)
	docs := [][]int{{10, 11, 12, 13, 14, 15, 16}, {1, 1, 1}, {20}}
	got, skipped, err := Windows(docs, 5, 2, 3, m)
	if err != nil {
		t.Fatal(err)
	}
	want := [][]int{{2, 10, 11, 12, 3}, {2, 13, 14, 15, 3}, {2, 16, 3}, {2, 20, 3}}
	if !reflect.DeepEqual(got, want) || skipped != 1 {
		t.Errorf("windows %v (skipped %d), want %v (skipped 1)", got, skipped, want)
	}
	if _, _, err := Windows(docs, 2, 2, 3, m); err == nil {
		t.Error("seq_len 2 accepted")
	}
}

func TestLoadConfigStrict(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := "[data]\ndataset = \"ds\"\n[pretrain]\nseq_len = 64\n[run]\ndir = \"out\"\n"
	cfg, err := LoadConfig(write("good.toml", good))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Pretrain.SeqLen != 64 || cfg.Pretrain.MaskProb != 0.15 || cfg.Data.Dataset != filepath.Join(dir, "ds") || cfg.Model.Scratch.Hidden != 768 {
		t.Errorf("config %+v", cfg)
	}
	path := write("bad.toml", strings.Replace(good, "seq_len", "seq_lenn", 1))
	if _, err := LoadConfig(path); err == nil || !strings.Contains(err.Error(), "seq_lenn") || !strings.Contains(err.Error(), path) {
		t.Errorf("misspelled key: error %v, want one naming pretrain.seq_lenn and %s", err, path)
	}
	for _, c := range []struct{ text, want string }{
		{strings.Replace(good, "seq_len = 64", "seq_len = 1024", 1), "max_positions"},
		{good + "[train]\nepochs = 0\n", "train.epochs"},
		{strings.Replace(good, "seq_len = 64", "mask_prob = 0.0", 1), "mask_prob"},
		{"[data]\ndataset = \"ds\"\n", "run.dir"},
	} {
		if _, err := LoadConfig(write("c.toml", c.text)); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("config %q: error %v, want one naming %s", c.text, err, c.want)
		}
	}
}
