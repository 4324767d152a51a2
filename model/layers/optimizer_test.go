package layers

import (
	"math/rand/v2"
	"testing"

	"github.com/icdcode/icdcode/model/kernels"
	"github.com/nlpodyssey/spago/ag"
	"github.com/nlpodyssey/spago/mat"
	"github.com/nlpodyssey/spago/nn"
	"github.com/nlpodyssey/spago/optimizers/sgd"
)

// TestSparseEmbeddingOptimizer shows how an optimizer sees the sparse
// embedding gradients: spago's optimizer visits every row Param but
// updates only those with a gradient, i.e. the rows the batch used.
func TestSparseEmbeddingOptimizer(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 1))
	const vocab, d, lr = 10, 3, 0.5
	rows := make([]*nn.Param, vocab)
	table := make([]mat.Tensor, vocab)
	before := make([][]float32, vocab)
	for i := range rows {
		rows[i] = nn.NewParam(dense[float32](1, d, randSlice(rng, d, -1, 1)))
		table[i] = rows[i]
		before[i] = append([]float32(nil), mat.Data[float32](rows[i].Value())...)
	}
	w := nn.NewParam(dense[float32](d, 1, randSlice(rng, d, -1, 1)))
	ids := []int{4, 7, 4, 2}

	e, err := Embedding[float32](table, ids)
	if err != nil {
		t.Fatal(err)
	}
	z, err := Linear(kernels.CPU[float32](), e, w, nil)
	if err != nil {
		t.Fatal(err)
	}
	loss, err := BCEWithLogits[float32](z, dense[float32](4, 1, []float64{1, 0, 1, 1}), Sum)
	if err != nil {
		t.Fatal(err)
	}
	if err := ag.Backward(loss); err != nil {
		t.Fatal(err)
	}
	grads := make([][]float32, vocab)
	for i, r := range rows {
		if r.HasGrad() {
			grads[i] = append([]float32(nil), mat.Data[float32](r.Grad())...)
		}
	}
	// spago's optimizers.Optimizer.Optimize returns before its per-parameter
	// goroutines finish when none fails (v1.1.0 waits only on the error
	// path), so the weights read below could still be changing. Apply the
	// strategy to each parameter with a gradient ourselves, as Optimize would.
	strategy := sgd.New[float32](sgd.NewConfig(lr, 0, false))
	for _, p := range append(rows, w) {
		if !p.HasGrad() {
			continue
		}
		if err := strategy.OptimizeParams(p); err != nil {
			t.Fatal(err)
		}
	}
	for i, r := range rows {
		used := i == 2 || i == 4 || i == 7
		if (grads[i] != nil) != used {
			t.Fatalf("row %d: has gradient %v, used %v", i, grads[i] != nil, used)
		}
		after := mat.Data[float32](r.Value())
		for j := range after {
			want := before[i][j]
			if used {
				want -= lr * grads[i][j]
			}
			if after[j] != want {
				t.Errorf("row %d[%d] = %g after the step, want %g", i, j, after[j], want)
			}
		}
	}
}
