package window

import (
	"encoding/json"
	"os"
	"testing"

	"github.com/icdcode/icdcode/model/kernels"
)

// torchCase is one case of testdata/window_torch.json, written by
// scripts/make_window_fixture.py (dense masked attention in PyTorch, float64,
// gradients by autograd of Σ O ⊙ dO).
type torchCase struct {
	Name   string    `json:"name"`
	N      int       `json:"n"`
	D      int       `json:"d"`
	W      int       `json:"w"`
	Global []int     `json:"global"`
	Mask   []int     `json:"mask"` // 1 = token, 0 = padding; null = none
	Sep    bool      `json:"sep"`  // separate global projections
	Q      []float64 `json:"q"`
	K      []float64 `json:"k"`
	V      []float64 `json:"v"`
	DO     []float64 `json:"do"`
	QG     []float64 `json:"qg"`
	KG     []float64 `json:"kg"`
	VG     []float64 `json:"vg"`
	Out    []float64 `json:"out"`
	DQ     []float64 `json:"dq"`
	DK     []float64 `json:"dk"`
	DV     []float64 `json:"dv"`
	DQG    []float64 `json:"dqg"`
	DKG    []float64 `json:"dkg"`
	DVG    []float64 `json:"dvg"`
}

// TestTorchFixture compares Forward and Backward (float64, both backends)
// with PyTorch's dense masked attention and autograd gradients.
func TestTorchFixture(t *testing.T) {
	b, err := os.ReadFile("testdata/window_torch.json")
	if err != nil {
		t.Fatal(err)
	}
	var fx struct {
		Torch string      `json:"torch"`
		Cases []torchCase `json:"cases"`
	}
	if err := json.Unmarshal(b, &fx); err != nil {
		t.Fatal(err)
	}
	if len(fx.Cases) < 3 {
		t.Fatalf("fixture has %d cases, want 3", len(fx.Cases))
	}
	for _, k := range []kernels.Kernels[float64]{kernels.Reference[float64](), kernels.CPU[float64]()} {
		for _, tc := range fx.Cases {
			cfg := Config{N: tc.N, D: tc.D, W: tc.W, Global: tc.Global}
			if tc.Mask != nil {
				cfg.Mask = make([]bool, tc.N)
				for i, m := range tc.Mask {
					cfg.Mask[i] = m != 0
				}
			}
			c := &denseCase{cfg: cfg, in: Inputs[float64]{Q: tc.Q, K: tc.K, V: tc.V, QG: tc.QG, KG: tc.KG, VG: tc.VG}, dO: tc.DO}
			out, gr, _ := run(t, k, c)
			want := &Grads[float64]{DQ: tc.DQ, DK: tc.DK, DV: tc.DV, DQG: tc.DQG, DKG: tc.DKG, DVG: tc.DVG}
			errs := gradErrs(gr, want)
			errs["O"] = maxAbsDiff(out, tc.Out)
			for name, e := range errs {
				if e > 1e-6 {
					t.Errorf("%s %s (torch %s): %s max error %.3g", k.Name(), tc.Name, fx.Torch, name, e)
				}
			}
			t.Logf("%s %s: max errors vs torch %v", k.Name(), tc.Name, errs)
		}
	}
}
