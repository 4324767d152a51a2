package layers

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/icdcode/icdcode/model/kernels"
	"github.com/nlpodyssey/spago/mat"
)

func TestGradCrossEntropy(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 10))
	const n, v = 5, 7
	z := randSlice(rng, n*v, -3, 3)
	for _, k := range backends64() {
		// Row 2 is ignored: its gradient must be exactly 0, which the
		// finite differences confirm (the loss does not depend on it).
		targets := []int{3, 0, -100, 6, 3}
		e := gradCheck(t, []input{in("logits", n, v, z)}, func(xs []mat.Tensor) (mat.Tensor, error) {
			return CrossEntropy[float64](k, xs[0], targets, -100)
		})
		t.Logf("CrossEntropy %s: max relative error %.2e", k.Name(), e)
	}
}

func TestCrossEntropyValue(t *testing.T) {
	k := backends64()[0]
	// Row 0: logits (0, ln 3) with target 1: −log(3/4). Row 1 is ignored.
	// Row 2: huge logits (1000, 0), target 0: ≈ exp(−1000) ≈ 0, finite.
	z := mat.NewDense[float64](mat.WithShape(3, 2), mat.WithBacking([]float64{0, math.Log(3), 5, -5, 1000, 0}))
	l, err := CrossEntropy[float64](k, z, []int{1, -1, 0}, -1)
	if err != nil {
		t.Fatal(err)
	}
	want := -math.Log(0.75) / 2
	if got := l.Value().Item().F64(); math.Abs(got-want) > 1e-12 {
		t.Errorf("loss %v, want %v", got, want)
	}
	// float32: a confident wrong row must give a large finite loss, not
	// +Inf from log(0).
	z32 := mat.NewDense[float32](mat.WithShape(1, 3), mat.WithBacking([]float32{200, 0, -200}))
	l32, err := CrossEntropy[float32](kernels.CPU[float32](), z32, []int{2}, -1)
	if err != nil {
		t.Fatal(err)
	}
	if got := l32.Value().Item().F64(); math.Abs(got-400) > 1e-3 {
		t.Errorf("float32 loss %v, want 400", got)
	}
}

func TestCrossEntropyErrors(t *testing.T) {
	k := backends64()[0]
	z := mat.NewDense[float64](mat.WithShape(2, 3), mat.WithBacking(make([]float64, 6)))
	for _, c := range []struct {
		name    string
		z       mat.Tensor
		targets []int
		want    string
	}{
		{"length", z, []int{0}, "1 targets for 2 rows"},
		{"range", z, []int{0, 3}, "targets[1] = 3 outside [0, 3)"},
		{"negative", z, []int{-2, 0}, "targets[0] = -2"},
		{"none counted", z, []int{-1, -1}, "ignore index"},
		{"type", mat.NewDense[float32](mat.WithShape(2, 3), mat.WithBacking(make([]float32, 6))), []int{0, 1}, "want *mat.Dense[float64]"},
		{"empty", mat.NewDense[float64](mat.WithShape(0, 3)), nil, "empty"},
	} {
		_, err := CrossEntropy[float64](k, c.z, c.targets, -1)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one containing %q", c.name, err, c.want)
		}
	}
}
