package metrics

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func near(t *testing.T, what string, got, want, eps float64) {
	t.Helper()
	if !(math.Abs(got-want) <= eps) {
		t.Errorf("%s = %.17g, want %.17g (±%g)", what, got, want, eps)
	}
}

func TestROCAUCHandChecked(t *testing.T) {
	for _, c := range []struct {
		name    string
		s, y    []float64
		want    float64
		wantErr error
	}{
		{"sklearn doc example", []float64{0.1, 0.4, 0.35, 0.8}, []float64{0, 0, 1, 1}, 0.75, nil},
		{"single tie is one half", []float64{0.5, 0.5}, []float64{1, 0}, 0.5, nil},
		// positives {0.5, 0.9}, negatives {0.2, 0.5}: 1 + 0.5 + 1 + 1 = 3.5 of 4 pairs.
		{"partial tie", []float64{0.2, 0.5, 0.5, 0.9}, []float64{0, 1, 0, 1}, 0.875, nil},
		{"all tied", []float64{0.3, 0.3, 0.3}, []float64{1, 0, 1}, 0.5, nil},
		{"reversed", []float64{0.9, 0.1}, []float64{0, 1}, 0, nil},
		{"one class", []float64{0.9, 0.1}, []float64{1, 1}, 0, ErrOneClass},
	} {
		got, err := ROCAUC(c.s, c.y)
		if !errors.Is(err, c.wantErr) {
			t.Fatalf("%s: err %v, want %v", c.name, err, c.wantErr)
		}
		if err == nil {
			near(t, c.name, got, c.want, 1e-15)
		}
	}
}

func TestROCAUCRejectsBadInput(t *testing.T) {
	if _, err := ROCAUC([]float64{0.1, math.NaN()}, []float64{0, 1}); err == nil || !strings.Contains(err.Error(), "score 1") {
		t.Errorf("NaN score: %v", err)
	}
	if _, err := ROCAUC([]float64{0.1, 0.2}, []float64{0, 2}); err == nil || !strings.Contains(err.Error(), "target 1") {
		t.Errorf("target 2: %v", err)
	}
	if _, err := ROCAUC([]float64{0.1}, []float64{0, 1}); err == nil {
		t.Error("length mismatch accepted")
	}
}

func TestMacroAUCSkipsOneClassLabelsAndMicroNil(t *testing.T) {
	probs := [][]float64{{0.9, 0.2, 0.7}, {0.1, 0.4, 0.6}, {0.6, 0.3, 0.5}}
	targets := [][]float64{{1, 0, 1}, {0, 0, 1}, {1, 0, 1}}
	r, err := ROCAUCs(probs, targets)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.SkippedLabels) != 2 || r.SkippedLabels[0] != 1 || r.SkippedLabels[1] != 2 {
		t.Fatalf("skipped %v, want [1 2]", r.SkippedLabels)
	}
	if r.LabelAUC[1] != nil || r.LabelAUC[0] == nil || *r.MacroAUC != 1 {
		t.Fatalf("label AUCs %v macro %v", r.LabelAUC, *r.MacroAUC)
	}
	r, err = ROCAUCs([][]float64{{0.2, 0.3}}, [][]float64{{0, 0}})
	if err != nil {
		t.Fatal(err)
	}
	if r.MicroAUC != nil || r.MacroAUC != nil {
		t.Fatalf("all-negative matrix: micro %v macro %v, want nil", r.MicroAUC, r.MacroAUC)
	}
}

func TestPRFZeroDivision(t *testing.T) {
	// Label 0: predicted twice, one right. Label 1: no positives, never predicted
	// (P, R, F1 all ill-defined → 0). Label 2: one positive, never predicted.
	probs := [][]float64{{0.9, 0.1, 0.2}, {0.5, 0.3, 0.4}}
	targets := [][]float64{{1, 0, 1}, {0, 0, 0}}
	r, err := ClassificationPRF(probs, targets, UniformThresholds(3, 0.5))
	if err != nil {
		t.Fatal(err)
	}
	near(t, "P0", r.LabelPrecision[0], 0.5, 0)
	near(t, "R0", r.LabelRecall[0], 1, 0)
	near(t, "F1_0", r.LabelF1[0], 2.0/3, 1e-15)
	for _, j := range []int{1, 2} {
		if r.LabelPrecision[j] != 0 || r.LabelRecall[j] != 0 || r.LabelF1[j] != 0 {
			t.Errorf("label %d: P=%v R=%v F=%v, want zeros", j, r.LabelPrecision[j], r.LabelRecall[j], r.LabelF1[j])
		}
	}
	if len(r.IllDefinedPrecisionLabels) != 2 || r.IllDefinedPrecisionLabels[0] != 1 || r.IllDefinedPrecisionLabels[1] != 2 {
		t.Errorf("ill-defined precision %v, want [1 2]", r.IllDefinedPrecisionLabels)
	}
	if len(r.IllDefinedRecallLabels) != 1 || r.IllDefinedRecallLabels[0] != 1 {
		t.Errorf("ill-defined recall %v, want [1]", r.IllDefinedRecallLabels)
	}
	// micro: TP=1 FP=1 FN=1.
	near(t, "micro P", r.MicroPrecision, 0.5, 0)
	near(t, "micro R", r.MicroRecall, 0.5, 0)
	// macro P = 0.5/3, macro R = 1/3; the two macro-F1 definitions differ.
	near(t, "macro F1 mean", r.MacroF1MeanOfLabelF1, 2.0/9, 1e-15)
	mp, mr := 0.5/3, 1.0/3
	near(t, "macro F1 harmonic", r.MacroF1HarmonicOfMacroPR, 2*mp*mr/(mp+mr), 1e-15)
}

func TestTopKTieBreakByLabelIndex(t *testing.T) {
	probs := [][]float64{{0.9, 0.9, 0.1, 0.8}, {0.1, 0.2, 0.3, 0.4}}
	targets := [][]float64{{0, 1, 0, 1}, {0, 0, 0, 0}}
	r, err := TopK(probs, targets, []int{1, 2, 10})
	if err != nil {
		t.Fatal(err)
	}
	// Doc 0: top-1 is label 0 (tie with 1, lower index wins): no hit.
	near(t, "P@1", r[0].Precision, 0, 0)
	// Doc 0 top-2 {0,1}: 1 hit → 1/2; doc 1: 0. Mean 0.25. R@2 over doc 0 only: 1/2.
	near(t, "P@2", r[1].Precision, 0.25, 0)
	near(t, "R@2", r[1].Recall, 0.5, 0)
	near(t, "F1@2", r[1].F1FromMeans, 2*0.25*0.5/0.75, 1e-15)
	if r[1].DocsWithoutPositives != 1 {
		t.Errorf("docs without positives %d, want 1", r[1].DocsWithoutPositives)
	}
	// k beyond the label count takes all 4 labels: P = (2/4 + 0)/2.
	if r[2].EffectiveK != 4 {
		t.Errorf("effective k %d, want 4", r[2].EffectiveK)
	}
	near(t, "P@10", r[2].Precision, 0.25, 0)
	near(t, "R@10", r[2].Recall, 1, 0)
	if _, err := TopK(probs, targets, []int{0}); err == nil {
		t.Error("k=0 accepted")
	}
}

func TestThresholdTuningTies(t *testing.T) {
	// Label 0 separates perfectly for any t in (0.3, 0.7]: F1 = 1 on a whole
	// range, so the tie rule picks 0.5. Label 1 has no dev positives: 0.5.
	probs := [][]float64{{0.8, 0.9}, {0.7, 0.2}, {0.3, 0.1}, {0.2, 0.6}}
	targets := [][]float64{{1, 0}, {1, 0}, {0, 0}, {0, 0}}
	th, err := TuneLabelThresholds(probs, targets)
	if err != nil {
		t.Fatal(err)
	}
	if th[0] != 0.5 || th[1] != 0.5 {
		t.Errorf("thresholds %v, want [0.5 0.5]", th)
	}
	// Label 0 alone but perfect only for t in (0.55, 0.6]: the unique best is 0.56.
	probs = [][]float64{{0.6}, {0.55}}
	targets = [][]float64{{1}, {0}}
	g, f, err := TuneGlobalThreshold(probs, targets)
	if err != nil {
		t.Fatal(err)
	}
	if g != 0.56 || f != 1 {
		t.Errorf("global threshold %v (F1 %v), want 0.56 (1)", g, f)
	}
}

func TestECEKnownValues(t *testing.T) {
	// Bin of 0.2: conf 0.2, acc 0.5; bin of 0.8: conf 0.8, acc 1 → 0.5·0.3 + 0.5·0.2.
	e, err := ECE([]float64{0.2, 0.2, 0.8, 0.8}, []float64{0, 1, 1, 1}, 20, EqualWidth)
	if err != nil {
		t.Fatal(err)
	}
	near(t, "ECE", e, 0.25, 1e-15)
	// Edges: 0 goes to the first bin, 1 to the last (closed) bin.
	bins, err := ReliabilityBins([]float64{0, 1, 0.999}, []float64{0, 1, 1}, 10, EqualWidth)
	if err != nil {
		t.Fatal(err)
	}
	if bins[0].Count != 1 || bins[9].Count != 2 {
		t.Errorf("edge bins %d/%d, want 1/2", bins[0].Count, bins[9].Count)
	}
	// Equal mass: 5 values into 2 bins → sizes 2 and 3.
	bins, err = ReliabilityBins([]float64{0.9, 0.1, 0.5, 0.3, 0.7}, []float64{1, 0, 1, 0, 1}, 2, EqualMass)
	if err != nil {
		t.Fatal(err)
	}
	if bins[0].Count != 2 || bins[1].Count != 3 || bins[0].Upper != 0.3 || bins[1].Lower != 0.5 {
		t.Errorf("equal-mass bins %+v", bins)
	}

	rng := rand.New(rand.NewPCG(1, 2))
	n := 100000
	p, y, over := make([]float64, n), make([]float64, n), make([]float64, n)
	for i := range p {
		p[i] = rng.Float64()
		if rng.Float64() < p[i] {
			y[i] = 1
		}
		over[i] = sigmoid(3 * Logit(p[i])) // same ranking, pushed towards 0 and 1
	}
	good, _ := ECE(p, y, 20, EqualWidth)
	bad, _ := ECE(over, y, 20, EqualWidth)
	goodMass, _ := ECE(p, y, 20, EqualMass)
	if good > 0.01 || goodMass > 0.01 {
		t.Errorf("calibrated data: ECE %v / %v, want < 0.01", good, goodMass)
	}
	if bad < 0.1 {
		t.Errorf("overconfident data: ECE %v, want > 0.1", bad)
	}
	if _, err := ECE([]float64{0.5}, []float64{1}, 5, "quantile"); err == nil {
		t.Error("unknown binning accepted")
	}
}

// synthTemperature draws true logits z, targets y ~ Bernoulli(σ(z)) and reports
// σ(z·T0), i.e. probabilities whose logits are T0 times too large.
func synthTemperature(rng *rand.Rand, docs, labels int, t0 float64) (p, y [][]float64) {
	p, y = make([][]float64, docs), make([][]float64, docs)
	for i := range p {
		p[i], y[i] = make([]float64, labels), make([]float64, labels)
		for j := range p[i] {
			z := 2 * rng.NormFloat64()
			if rng.Float64() < sigmoid(z) {
				y[i][j] = 1
			}
			p[i][j] = sigmoid(z * t0)
		}
	}
	return p, y
}

func TestTemperatureScalingRecoversT(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, t0 := range []float64{2.5, 0.6} {
		dp, dy := synthTemperature(rng, 4000, 25, t0)
		tp, ty := synthTemperature(rng, 2000, 25, t0)
		got, err := FitTemperature(dp, dy)
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(got/t0-1) > 0.02 {
			t.Errorf("fitted T = %v, want %v within 2%%", got, t0)
		}
		r, err := Evaluate(tp, ty, Options{Temperature: true, DevProbs: dp, DevTargets: dy})
		if err != nil {
			t.Fatal(err)
		}
		if *r.Temperature != got || !(*r.TestNLLAfter < *r.TestNLLBefore) {
			t.Errorf("T0=%v: T %v, test NLL %v → %v, want a decrease", t0, *r.Temperature, *r.TestNLLBefore, *r.TestNLLAfter)
		}
	}
	// Anti-correlated scores: no positive temperature helps.
	if _, err := FitTemperature([][]float64{{0.9}, {0.8}, {0.2}}, [][]float64{{0}, {0}, {1}}); err == nil {
		t.Error("anti-correlated dev accepted")
	}
	// Perfectly separated scores: T → 0, reported as an error.
	if _, err := FitTemperature([][]float64{{0.9}, {0.1}}, [][]float64{{1}, {0}}); err == nil {
		t.Error("separable dev accepted")
	}
	if _, err := ApplyTemperature([][]float64{{0.5}}, 0); err == nil {
		t.Error("T = 0 accepted")
	}
}

func TestReliabilitySVGIsXML(t *testing.T) {
	p := []float64{0.05, 0.15, 0.3, 0.33, 0.7, 0.95, 1}
	y := []float64{0, 0, 1, 0, 1, 1, 1}
	bins, err := ReliabilityBins(p, y, 10, EqualWidth)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "sub", "rel.svg")
	if err := SaveReliabilitySVG(path, bins, `pooled <ECE> & "co"`); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dec := xml.NewDecoder(bytes.NewReader(raw))
	rects, root := 0, ""
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("SVG is not XML: %v\n%s", err, raw)
		}
		if se, ok := tok.(xml.StartElement); ok {
			if root == "" {
				root = se.Name.Local
			}
			if se.Name.Local == "rect" {
				rects++
			}
		}
	}
	// background + frame + one bar per non-empty bin: bins 0, 1, 3 (0.3·10 is
	// 3.0000000000000004 in float64, and 0.33), 7, 9 (0.95 and 1).
	if root != "svg" || rects != 2+5 {
		t.Errorf("root %q with %d rects, want svg with 7", root, rects)
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("temp files left behind: %v", entries)
	}
}

func TestBadInputNamesRowAndColumn(t *testing.T) {
	good := [][]float64{{0.1, 0.2, 0.3}, {0.4, 0.5, 0.6}}
	tgt := [][]float64{{0, 1, 0}, {1, 0, 1}}
	for _, c := range []struct {
		name    string
		p, y    [][]float64
		wantSub []string
	}{
		{"NaN", [][]float64{{0.1, 0.2, 0.3}, {0.4, 0.5, math.NaN()}}, tgt, []string{"row 1", "column 2", "NaN"}},
		{"above 1", [][]float64{{0.1, 1.5, 0.3}, {0.4, 0.5, 0.6}}, tgt, []string{"row 0", "column 1"}},
		{"negative", [][]float64{{0.1, 0.2, 0.3}, {-0.01, 0.5, 0.6}}, tgt, []string{"row 1", "column 0"}},
		{"target 2", good, [][]float64{{0, 1, 0}, {1, 2, 1}}, []string{"target", "row 1", "column 1"}},
		{"row count", good, tgt[:1], []string{"shape mismatch"}},
		{"ragged probs", [][]float64{{0.1, 0.2, 0.3}, {0.4, 0.5}}, tgt, []string{"shape mismatch", "row 1"}},
		{"ragged targets", good, [][]float64{{0, 1, 0}, {1, 0}}, []string{"shape mismatch", "target row 1"}},
		{"empty", nil, nil, []string{"no documents"}},
	} {
		for fn, call := range map[string]func() error{
			"Evaluate": func() error { _, err := Evaluate(c.p, c.y, Options{}); return err },
			"TopK":     func() error { _, err := TopK(c.p, c.y, DefaultKs); return err },
			"ROCAUCs":  func() error { _, err := ROCAUCs(c.p, c.y); return err },
			"Tune":     func() error { _, err := TuneLabelThresholds(c.p, c.y); return err },
		} {
			err := call()
			if err == nil {
				t.Errorf("%s/%s: no error", c.name, fn)
				continue
			}
			for _, s := range c.wantSub {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("%s/%s: error %q lacks %q", c.name, fn, err, s)
				}
			}
		}
	}
	if _, err := Evaluate(good, tgt, Options{Mode: GlobalDevThreshold}); err == nil {
		t.Error("tuned mode without dev accepted")
	}
	if _, err := Evaluate(good, tgt, Options{Mode: LabelDevThresholds, DevProbs: [][]float64{{0.1, 0.2}}, DevTargets: [][]float64{{0, 1}}}); err == nil {
		t.Error("dev with a different label count accepted")
	}
	if _, err := ClassificationPRF(good, tgt, []float64{0.5}); err == nil {
		t.Error("threshold count mismatch accepted")
	}
}

func TestEvaluateReportShape(t *testing.T) {
	probs := [][]float64{{0.9, 0.1, 0.6}, {0.2, 0.3, 0.7}, {0.8, 0.4, 0.1}}
	targets := [][]float64{{1, 0, 1}, {0, 0, 1}, {0, 0, 0}}
	r, err := Evaluate(probs, targets, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if r.ThresholdMode != FixedThreshold || *r.GlobalThreshold != 0.5 || len(r.PerLabel) != 3 || len(r.AtK) != 3 {
		t.Fatalf("report %+v", r)
	}
	if r.Calibration.Bins != DefaultECEBins || r.Calibration.Binning != EqualWidth {
		t.Errorf("calibration defaults %d %q", r.Calibration.Bins, r.Calibration.Binning)
	}
	lr := r.PerLabel[2]
	if lr.Support != 2 || lr.Predicted != 2 || lr.Counts.TP != 2 || lr.F1 != 1 || lr.AUC == nil || *lr.AUC != 1 {
		t.Errorf("label 2 row %+v", lr)
	}
	if r.PerLabel[1].AUC != nil || len(r.AUCSkippedLabels) != 1 || len(r.Warnings) == 0 {
		t.Errorf("one-class label not reported: %+v, warnings %v", r.AUCSkippedLabels, r.Warnings)
	}
}
