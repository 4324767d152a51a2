package embeval

import (
	"math"
	"slices"
	"testing"
)

func TestTopK(t *testing.T) {
	scores := []float64{0.1, 0.5, 0.3, 0.5, 0.2}
	for _, c := range []struct {
		k    int
		want []int
	}{
		{0, []int{}},
		{1, []int{1}},             // tie 1 and 3 at 0.5: lower index first
		{3, []int{1, 3, 2}},       //
		{9, []int{1, 3, 2, 4, 0}}, // k beyond the scores: all, ranked
	} {
		if got := TopK(scores, c.k, nil); !slices.Equal(got, c.want) {
			t.Errorf("TopK(k=%d) = %v, want %v", c.k, got, c.want)
		}
	}
}

// TestRecallByHand checks Recall@k on three visit pairs worked out by hand.
func TestRecallByHand(t *testing.T) {
	r, err := NewRecall([]int{1, 2, 3})
	if err != nil {
		t.Fatal(err)
	}
	// Ranking 3 > 1 > 2 > 4 > 0.
	s := []float64{0.1, 0.5, 0.3, 0.9, 0.2}
	// Pair 1: targets {3, 0}. top1 {3}: 1/2; top2 {3,1}: 1/2; top3 {3,1,2}: 1/2.
	// Pair 2: targets {1, 2} and one unseen code (denominator 3).
	//   top1 {3}: 0; top2 {3,1}: 1/3; top3 {3,1,2}: 2/3.
	// Pair 3: no target at all: skipped.
	// Pair 4: target {3}: 1, 1, 1.
	for _, p := range []struct {
		targets []int
		unseen  int
	}{{[]int{3, 0}, 0}, {[]int{1, 2}, 1}, {nil, 0}, {[]int{3}, 0}} {
		if err := r.Add(s, p.targets, p.unseen); err != nil {
			t.Fatal(err)
		}
	}
	want := []float64{(0.5 + 0 + 1) / 3, (0.5 + 1.0/3 + 1) / 3, (0.5 + 2.0/3 + 1) / 3}
	for i, row := range r.Rows() {
		if math.Abs(row.Recall-want[i]) > 1e-15 {
			t.Errorf("Recall@%d = %.17g, want %.17g", row.K, row.Recall, want[i])
		}
	}
	if r.Pairs() != 3 || r.Skipped() != 1 || r.Unseen() != 1 || r.Targets() != 6 {
		t.Errorf("pairs %d skipped %d unseen %d targets %d, want 3 1 1 6", r.Pairs(), r.Skipped(), r.Unseen(), r.Targets())
	}
}

func TestRecallErrors(t *testing.T) {
	if _, err := NewRecall(nil); err == nil {
		t.Error("no k: no error")
	}
	if _, err := NewRecall([]int{5, 0}); err == nil {
		t.Error("k = 0: no error")
	}
	r, _ := NewRecall([]int{1})
	s := []float64{1, 2}
	for _, bad := range [][]int{{2}, {-1}, {0, 0}} {
		if err := r.Add(s, bad, 0); err == nil {
			t.Errorf("targets %v: no error", bad)
		}
	}
	if err := r.Add(s, []int{0}, -1); err == nil {
		t.Error("negative unseen: no error")
	}
	if r.Pairs() != 0 || r.Rows()[0].Recall != 0 {
		t.Errorf("rejected pairs were counted: %d, %v", r.Pairs(), r.Rows())
	}
}
