package quantify

import (
	"reflect"
	"strings"
	"testing"
)

func poolTargets(n, labels int) [][]float64 {
	t := make([][]float64, n)
	for i := range t {
		t[i] = make([]float64, labels)
		for j := range t[i] {
			if (i+j)%3 == 0 {
				t[i][j] = 1
			}
		}
	}
	return t
}

func TestSampleBagsReproducibleAndSeeded(t *testing.T) {
	tg := poolTargets(50, 3)
	cfg := BagConfig{Count: 40, MinSize: 3, MaxSize: 20, Seed: 7}
	a, err := SampleBags(tg, cfg)
	if err != nil {
		t.Fatal(err)
	}
	b, err := SampleBags(tg, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(a, b) {
		t.Fatal("same seed gave different bags")
	}
	cfg.Seed = 8
	c, err := SampleBags(tg, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if reflect.DeepEqual(a, c) {
		t.Fatal("different seeds gave the same bags")
	}
	sizes := map[int]bool{}
	for k, bag := range a {
		n := len(bag.Indices)
		sizes[n] = true
		if n < 3 || n > 20 {
			t.Fatalf("bag %d has size %d outside [3,20]", k, n)
		}
		seen := map[int]bool{}
		for _, i := range bag.Indices {
			if seen[i] {
				t.Fatalf("bag %d repeats document %d without replacement", k, i)
			}
			seen[i] = true
		}
		for j := range 3 {
			var s float64
			for _, i := range bag.Indices {
				s += tg[i][j]
			}
			if want := s / float64(n); bag.Prevalence[j] != want {
				t.Fatalf("bag %d label %d prevalence %v, want %v", k, j, bag.Prevalence[j], want)
			}
		}
	}
	if len(sizes) < 5 {
		t.Fatalf("bag sizes barely vary: %v", sizes)
	}
}

func TestSampleBagsFixedSizeAndReplacement(t *testing.T) {
	tg := poolTargets(4, 2)
	// A bag of the whole pool without replacement is a permutation of it.
	bags, err := SampleBags(tg, BagConfig{Count: 5, MinSize: 4, MaxSize: 4, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range bags {
		seen := map[int]bool{}
		for _, i := range b.Indices {
			seen[i] = true
		}
		if len(b.Indices) != 4 || len(seen) != 4 {
			t.Fatalf("full-pool bag %v is not a permutation", b.Indices)
		}
	}
	// With replacement, bags may exceed the pool and must repeat documents.
	bags, err = SampleBags(tg, BagConfig{Count: 3, MinSize: 10, MaxSize: 10, Replacement: true, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range bags {
		if len(b.Indices) != 10 {
			t.Fatalf("fixed size 10, got %d", len(b.Indices))
		}
	}
}

func TestDefaultBagConfigIsReference(t *testing.T) {
	c := DefaultBagConfig(5000, 1632)
	if c != (BagConfig{Count: 5000, MinSize: 1, MaxSize: 1632, Seed: 888}) {
		t.Fatalf("default %+v", c)
	}
}

func TestSampleBagsErrors(t *testing.T) {
	tg := poolTargets(5, 2)
	cases := []struct {
		name string
		tg   [][]float64
		cfg  BagConfig
		want string
	}{
		{"empty pool", nil, BagConfig{Count: 1, MinSize: 1, MaxSize: 1}, "empty pool"},
		{"no bags", tg, BagConfig{Count: 0, MinSize: 1, MaxSize: 1}, "bag count"},
		{"empty bags", tg, BagConfig{Count: 1, MinSize: 0, MaxSize: 2}, "empty bags"},
		{"max below min", tg, BagConfig{Count: 1, MinSize: 3, MaxSize: 2}, "below the minimum"},
		{"too large", tg, BagConfig{Count: 1, MinSize: 1, MaxSize: 6}, "without replacement"},
		{"bad target", [][]float64{{0, 2}}, BagConfig{Count: 1, MinSize: 1, MaxSize: 1}, "want 0 or 1"},
		{"ragged", [][]float64{{0, 1}, {1}}, BagConfig{Count: 1, MinSize: 1, MaxSize: 1}, "row 1 has 1 labels"},
	}
	for _, c := range cases {
		_, err := SampleBags(c.tg, c.cfg)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one containing %q", c.name, err, c.want)
		}
	}
}
