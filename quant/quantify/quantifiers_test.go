package quantify

import (
	"math"
	"strings"
	"testing"
)

var (
	tinyDevP = [][]float64{{0.9, 0.2}, {0.6, 0.7}, {0.4, 0.5}, {0.1, 0.5}}
	tinyDevY = [][]float64{{1, 0}, {1, 1}, {0, 1}, {0, 0}}
	tinyBag  = [][]float64{{0.8, 0.5}, {0.3, 0.1}, {0.5, 0.9}}
)

func near(t *testing.T, what string, got, want []float64, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	for j := range got {
		if math.Abs(got[j]-want[j]) > tol {
			t.Fatalf("%s[%d] = %.15g, want %.15g", what, j, got[j], want[j])
		}
	}
}

func quantify(t *testing.T, q Quantifier, bag [][]float64) []float64 {
	t.Helper()
	v, err := q.Quantify(bag)
	if err != nil {
		t.Fatalf("%s: %v", q.Name(), err)
	}
	return v
}

func TestQuantifiersHandComputed(t *testing.T) {
	// Dev rates at 0.5 (p >= t): label 0 tpr 2/2, fpr 0/2; label 1 tpr 2/2
	// (0.7, 0.5), fpr 1/2 (0.5 of the negatives counts). Expected rates:
	// label 0 (0.9+0.6)/2, (0.4+0.1)/2; label 1 (0.7+0.5)/2, (0.2+0.5)/2.
	acc, err := FitACC(tinyDevP, tinyDevY, 0.5)
	if err != nil {
		t.Fatal(err)
	}
	near(t, "tpr", acc.TPR, []float64{1, 1}, 0)
	near(t, "fpr", acc.FPR, []float64{0, 0.5}, 0)
	pacc, err := FitPACC(tinyDevP, tinyDevY)
	if err != nil {
		t.Fatal(err)
	}
	near(t, "ptpr", pacc.TPR, []float64{0.75, 0.6}, 1e-15)
	near(t, "pfpr", pacc.FPR, []float64{0.25, 0.35}, 1e-15)
	cst, err := FitConstant(tinyDevY)
	if err != nil {
		t.Fatal(err)
	}
	if acc.Name() != "ACC" || pacc.Name() != "PACC" || len(acc.Unadjusted)+len(pacc.Unadjusted) != 0 {
		t.Fatalf("names %s %s, unadjusted %v %v", acc.Name(), pacc.Name(), acc.Unadjusted, pacc.Unadjusted)
	}

	// Bag: CC counts 0.8, 0.5 (label 0) and 0.5, 0.9 (label 1): 2/3 each.
	// PCC: 1.6/3 and 1.5/3. ACC: (2/3−0)/1, (2/3−1/2)/(1/2) = 1/3.
	// PACC: (1.6/3−0.25)/0.5 = 17/30, (0.5−0.35)/0.25 = 0.6.
	near(t, "CC", quantify(t, CC{Threshold: 0.5}, tinyBag), []float64{2.0 / 3, 2.0 / 3}, 1e-15)
	near(t, "PCC", quantify(t, PCC{}, tinyBag), []float64{1.6 / 3, 0.5}, 1e-15)
	near(t, "ACC", quantify(t, acc, tinyBag), []float64{2.0 / 3, 1.0 / 3}, 1e-15)
	near(t, "PACC", quantify(t, pacc, tinyBag), []float64{17.0 / 30, 0.6}, 1e-15)
	near(t, "Constant", quantify(t, cst, tinyBag), []float64{0.5, 0.5}, 0)

	// Clipping: all-low bag adjusts below 0, all-high above 1.
	near(t, "ACC low", quantify(t, acc, [][]float64{{0.1, 0.1}}), []float64{0, 0}, 0)
	near(t, "PACC low", quantify(t, pacc, [][]float64{{0.1, 0.1}}), []float64{0, 0}, 0)
	near(t, "PACC high", quantify(t, pacc, [][]float64{{1, 1}}), []float64{1, 1}, 0)
}

func TestAdjustedFallbackWhenUndefined(t *testing.T) {
	// Label 0: tpr = fpr = 1/2 (and expected rates 0.45 both); label 1: no dev
	// positives; label 2: informative.
	p := [][]float64{{0.7, 0.3, 0.9}, {0.7, 0.6, 0.1}, {0.2, 0.3, 0.8}, {0.2, 0.6, 0.2}}
	y := [][]float64{{1, 0, 1}, {0, 0, 0}, {1, 0, 1}, {0, 0, 0}}
	bag := [][]float64{{0.7, 0.6, 0.9}, {0.2, 0.6, 0.1}}
	acc, err := FitACC(p, y, 0.5)
	if err != nil {
		t.Fatal(err)
	}
	pacc, err := FitPACC(p, y)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []*Adjusted{acc, pacc} {
		if len(q.Unadjusted) != 2 || q.Unadjusted[0] != 0 || q.Unadjusted[1] != 1 {
			t.Fatalf("%s unadjusted labels %v, want [0 1]", q.Name(), q.Unadjusted)
		}
	}
	// ACC label 2: tpr 1, fpr 0 → CC 1/2; labels 0, 1 keep CC (1/2, 1).
	near(t, "ACC", quantify(t, acc, bag), []float64{0.5, 1, 0.5}, 1e-15)
	// PACC label 2: (0.5 − 0.15)/(0.85 − 0.15) = 0.5; labels 0, 1 keep PCC.
	near(t, "PACC", quantify(t, pacc, bag), []float64{0.45, 0.6, 0.5}, 1e-15)
}

// exactRatesData builds dev and test matrices whose per-label hard and
// expected tpr/fpr are identical on dev and test while prevalences differ:
// positives are 80% at a high score, 20% at 0.3; negatives 10% at 0.6, 90% at
// a low score.
func exactRatesData(devPos, testPos []int, n int) (dp, dy, tp, ty [][]float64) {
	build := func(pos []int) (p, y [][]float64) {
		p, y = make([][]float64, n), make([][]float64, n)
		for i := range p {
			p[i], y[i] = make([]float64, len(pos)), make([]float64, len(pos))
		}
		for j, np := range pos {
			hi, lo := 0.9-0.1*float64(j), 0.1+0.05*float64(j)
			for i := 0; i < n; i++ {
				// Rotate each column so labels do not line up row by row.
				r := (i + 7*j) % n
				switch {
				case i < np*8/10:
					p[r][j], y[r][j] = hi, 1
				case i < np:
					p[r][j], y[r][j] = 0.3, 1
				case i < np+(n-np)/10:
					p[r][j] = 0.6
				default:
					p[r][j] = lo
				}
			}
		}
		return p, y
	}
	dp, dy = build(devPos)
	tp, ty = build(testPos)
	return
}

func TestACCAndPACCRecoverPrevalenceExactly(t *testing.T) {
	dp, dy, tp, ty := exactRatesData([]int{20, 50, 80}, []int{40, 10, 50}, 100)
	acc, err := FitACC(dp, dy, 0.5)
	if err != nil {
		t.Fatal(err)
	}
	pacc, err := FitPACC(dp, dy)
	if err != nil {
		t.Fatal(err)
	}
	all := make([]int, len(ty))
	for i := range all {
		all[i] = i
	}
	truth := prevalence(ty, all, 3)
	near(t, "truth", truth, []float64{0.4, 0.1, 0.5}, 1e-15)
	near(t, "ACC", quantify(t, acc, tp), truth, 1e-12)
	near(t, "PACC", quantify(t, pacc, tp), truth, 1e-12)
	// The unadjusted estimates are biased on the same data, so the test
	// measures the adjustment.
	cc := quantify(t, CC{Threshold: 0.5}, tp)
	pcc := quantify(t, PCC{}, tp)
	var ccErr, pccErr float64
	for j := range truth {
		ccErr += math.Abs(cc[j]-truth[j]) / 3
		pccErr += math.Abs(pcc[j]-truth[j]) / 3
	}
	if ccErr < 0.02 || pccErr < 0.02 {
		t.Fatalf("CC %v (AE %v) and PCC %v (AE %v) are already close to %v", cc, ccErr, pcc, pccErr, truth)
	}
}

func TestQuantifierErrors(t *testing.T) {
	acc, err := FitACC(tinyDevP, tinyDevY, 0.5)
	if err != nil {
		t.Fatal(err)
	}
	cst, err := FitConstant(tinyDevY)
	if err != nil {
		t.Fatal(err)
	}
	qs := []Quantifier{CC{Threshold: 0.5}, PCC{}, acc, cst}
	bad := []struct {
		name string
		bag  [][]float64
		want string
	}{
		{"empty", nil, "empty bag"},
		{"NaN", [][]float64{{0.5, math.NaN()}}, "label column 1 is NaN"},
		{"above 1", [][]float64{{1.5, 0}}, "want a number in [0,1]"},
		{"ragged", [][]float64{{0.5, 0.5}, {0.5}}, "bag row 1"},
	}
	for _, q := range qs {
		for _, c := range bad {
			if _, err := q.Quantify(c.bag); err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("%s %s: error %v, want %q", q.Name(), c.name, err, c.want)
			}
		}
	}
	if _, err := acc.Quantify([][]float64{{0.5, 0.5, 0.5}}); err == nil || !strings.Contains(err.Error(), "fitted for 2") {
		t.Errorf("label mismatch: %v", err)
	}
	if _, err := (CC{}).Quantify(tinyBag); err == nil || !strings.Contains(err.Error(), "threshold") {
		t.Errorf("zero threshold: %v", err)
	}
	if _, err := FitACC([][]float64{{math.NaN()}}, [][]float64{{1}}, 0.5); err == nil || !strings.Contains(err.Error(), "dev") {
		t.Errorf("NaN dev: %v", err)
	}
	if _, err := FitPACC(tinyDevP, tinyDevY[:3]); err == nil {
		t.Error("shape mismatch accepted")
	}
	// A hand-built ACC missing a tpr == fpr label in Unadjusted still falls
	// back to CC instead of returning NaN.
	hand := &Adjusted{Threshold: 0.5, TPR: []float64{0.5, 1}, FPR: []float64{0.5, 0}}
	near(t, "hand-built ACC", quantify(t, hand, tinyBag), []float64{2.0 / 3, 2.0 / 3}, 1e-15)
	if _, err := (&Adjusted{}).Quantify(tinyBag); err == nil || !strings.Contains(err.Error(), "not fitted") {
		t.Errorf("unfitted ACC: %v", err)
	}
}
