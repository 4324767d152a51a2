package metrics

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"reflect"
	"sort"
	"testing"
)

// The fixtures come from scripts/make_metric_fixtures.py (scikit-learn 1.2).

type fixturePRF struct {
	MicroPrecision            float64   `json:"micro_precision"`
	MicroRecall               float64   `json:"micro_recall"`
	MicroF1                   float64   `json:"micro_f1"`
	MacroPrecision            float64   `json:"macro_precision"`
	MacroRecall               float64   `json:"macro_recall"`
	MacroF1MeanOfLabelF1      float64   `json:"macro_f1_mean_of_label_f1"`
	MacroF1HarmonicOfMacroPR  float64   `json:"macro_f1_harmonic_of_macro_pr"`
	LabelPrecision            []float64 `json:"label_precision"`
	LabelRecall               []float64 `json:"label_recall"`
	LabelF1                   []float64 `json:"label_f1"`
	IllDefinedPrecisionLabels []int     `json:"ill_defined_precision_labels"`
	IllDefinedRecallLabels    []int     `json:"ill_defined_recall_labels"`
}

type fixtureECE struct {
	LabelECE     []float64 `json:"label_ece"`
	MeanLabelECE float64   `json:"mean_label_ece"`
	PooledECE    float64   `json:"pooled_ece"`
}

type fixtureCase struct {
	Name       string      `json:"name"`
	DevProbs   [][]float64 `json:"dev_probs"`
	DevTargets [][]float64 `json:"dev_targets"`
	Probs      [][]float64 `json:"probs"`
	Targets    [][]float64 `json:"targets"`
	Expected   struct {
		Fixed            fixturePRF                 `json:"fixed_0_5"`
		MicroAUC         float64                    `json:"micro_auc"`
		MacroAUC         float64                    `json:"macro_auc"`
		LabelAUC         []*float64                 `json:"label_auc"`
		AUCSkippedLabels []int                      `json:"auc_skipped_labels"`
		AtK              []AtK                      `json:"at_k"`
		Calibration      map[string]json.RawMessage `json:"calibration"`
		GlobalThreshold  float64                    `json:"global_threshold"`
		GlobalDevF1      float64                    `json:"global_threshold_dev_micro_f1"`
		GlobalTuned      fixturePRF                 `json:"global_tuned"`
		LabelThresholds  []float64                  `json:"label_thresholds"`
		LabelTuned       fixturePRF                 `json:"label_tuned"`
		Temperature      struct {
			T             float64 `json:"temperature"`
			DevNLLAtT     float64 `json:"dev_nll_at_t"`
			TestNLLBefore float64 `json:"test_nll_before"`
			TestNLLAfter  float64 `json:"test_nll_after"`
		} `json:"temperature_scaling"`
	} `json:"expected"`
}

const tol = 1e-9

// deviation tracks the largest |go − sklearn| per metric across all cases so
// the test log states how close the agreement is.
type deviation map[string]float64

func (d deviation) check(t *testing.T, metric string, got, want float64, tolerance ...float64) {
	t.Helper()
	limit := tol
	if len(tolerance) > 0 {
		limit = tolerance[0]
	}
	diff := math.Abs(got - want)
	if old, ok := d[metric]; !ok || diff > old {
		d[metric] = diff
	}
	if !(diff <= limit) {
		t.Errorf("%s: got %.17g, want %.17g (|diff| %.3g)", metric, got, want, diff)
	}
}

func (d deviation) checkVec(t *testing.T, metric string, got, want []float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", metric, len(got), len(want))
	}
	for j := range got {
		d.check(t, fmt.Sprintf("%s[%d]", metric, j), got[j], want[j])
		d[metric] = math.Max(d[metric], d[fmt.Sprintf("%s[%d]", metric, j)])
		delete(d, fmt.Sprintf("%s[%d]", metric, j))
	}
}

func loadFixtures(t *testing.T) []fixtureCase {
	t.Helper()
	raw, err := os.ReadFile("testdata/sklearn_fixtures.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Cases []fixtureCase `json:"cases"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Cases) < 4 {
		t.Fatalf("only %d fixture cases", len(doc.Cases))
	}
	return doc.Cases
}

func checkPRF(t *testing.T, d deviation, prefix string, got *PRF, want fixturePRF) {
	t.Helper()
	d.check(t, prefix+"micro_precision", got.MicroPrecision, want.MicroPrecision)
	d.check(t, prefix+"micro_recall", got.MicroRecall, want.MicroRecall)
	d.check(t, prefix+"micro_f1", got.MicroF1, want.MicroF1)
	d.check(t, prefix+"macro_precision", got.MacroPrecision, want.MacroPrecision)
	d.check(t, prefix+"macro_recall", got.MacroRecall, want.MacroRecall)
	d.check(t, prefix+"macro_f1_mean_of_label_f1", got.MacroF1MeanOfLabelF1, want.MacroF1MeanOfLabelF1)
	d.check(t, prefix+"macro_f1_harmonic_of_macro_pr", got.MacroF1HarmonicOfMacroPR, want.MacroF1HarmonicOfMacroPR)
	d.checkVec(t, prefix+"label_precision", got.LabelPrecision, want.LabelPrecision)
	d.checkVec(t, prefix+"label_recall", got.LabelRecall, want.LabelRecall)
	d.checkVec(t, prefix+"label_f1", got.LabelF1, want.LabelF1)
	if !reflect.DeepEqual(got.IllDefinedPrecisionLabels, want.IllDefinedPrecisionLabels) {
		t.Errorf("%sill-defined precision labels %v, want %v", prefix, got.IllDefinedPrecisionLabels, want.IllDefinedPrecisionLabels)
	}
	if !reflect.DeepEqual(got.IllDefinedRecallLabels, want.IllDefinedRecallLabels) {
		t.Errorf("%sill-defined recall labels %v, want %v", prefix, got.IllDefinedRecallLabels, want.IllDefinedRecallLabels)
	}
}

func TestAgainstSklearnFixtures(t *testing.T) {
	d := deviation{}
	for _, c := range loadFixtures(t) {
		t.Run(c.Name, func(t *testing.T) {
			e := c.Expected
			labels := len(c.Probs[0])

			prf, err := ClassificationPRF(c.Probs, c.Targets, UniformThresholds(labels, 0.5))
			if err != nil {
				t.Fatal(err)
			}
			checkPRF(t, d, "fixed0.5/", prf, e.Fixed)

			auc, err := ROCAUCs(c.Probs, c.Targets)
			if err != nil {
				t.Fatal(err)
			}
			d.check(t, "micro_auc", *auc.MicroAUC, e.MicroAUC)
			d.check(t, "macro_auc", *auc.MacroAUC, e.MacroAUC)
			if !reflect.DeepEqual(auc.SkippedLabels, e.AUCSkippedLabels) {
				t.Errorf("AUC skipped %v, want %v", auc.SkippedLabels, e.AUCSkippedLabels)
			}
			for j, w := range e.LabelAUC {
				if (w == nil) != (auc.LabelAUC[j] == nil) {
					t.Fatalf("label %d AUC defined: got %v, want %v", j, auc.LabelAUC[j] != nil, w != nil)
				}
				if w != nil {
					d.check(t, "label_auc", *auc.LabelAUC[j], *w)
				}
			}

			atk, err := TopK(c.Probs, c.Targets, DefaultKs)
			if err != nil {
				t.Fatal(err)
			}
			for n, w := range e.AtK {
				g := atk[n]
				if g.K != w.K || g.EffectiveK != w.EffectiveK || g.DocsWithoutPositives != w.DocsWithoutPositives {
					t.Errorf("k=%d: got k=%d k'=%d excluded=%d, want k'=%d excluded=%d", w.K, g.K, g.EffectiveK, g.DocsWithoutPositives, w.EffectiveK, w.DocsWithoutPositives)
				}
				d.check(t, fmt.Sprintf("P@%d", w.K), g.Precision, w.Precision)
				d.check(t, fmt.Sprintf("R@%d", w.K), g.Recall, w.Recall)
				d.check(t, fmt.Sprintf("F1@%d", w.K), g.F1FromMeans, w.F1FromMeans)
			}

			for _, cfg := range []struct {
				key     string
				bins    int
				binning Binning
			}{{"equal_width_20", 20, EqualWidth}, {"equal_width_10", 10, EqualWidth}, {"equal_mass_20", 20, EqualMass}, {"equal_mass_7", 7, EqualMass}} {
				var w fixtureECE
				if err := json.Unmarshal(e.Calibration[cfg.key], &w); err != nil {
					t.Fatal(err)
				}
				cal, err := Calibrate(c.Probs, c.Targets, cfg.bins, cfg.binning)
				if err != nil {
					t.Fatal(err)
				}
				d.checkVec(t, "ece_label/"+cfg.key, cal.LabelECE, w.LabelECE)
				d.check(t, "ece_mean_label/"+cfg.key, cal.MeanLabelECE, w.MeanLabelECE)
				d.check(t, "ece_pooled/"+cfg.key, cal.PooledECE, w.PooledECE)
			}
			var labelBrier []float64
			var brier float64
			if err := json.Unmarshal(e.Calibration["label_brier"], &labelBrier); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(e.Calibration["brier"], &brier); err != nil {
				t.Fatal(err)
			}
			cal, err := Calibrate(c.Probs, c.Targets, 0, "")
			if err == nil {
				t.Fatal("0 bins accepted")
			}
			if cal, err = Calibrate(c.Probs, c.Targets, DefaultECEBins, ""); err != nil {
				t.Fatal(err)
			}
			d.checkVec(t, "brier_label", cal.LabelBrier, labelBrier)
			d.check(t, "brier", cal.Brier, brier)

			gt, gf, err := TuneGlobalThreshold(c.DevProbs, c.DevTargets)
			if err != nil {
				t.Fatal(err)
			}
			if gt != e.GlobalThreshold {
				t.Errorf("global threshold %v, want %v", gt, e.GlobalThreshold)
			}
			d.check(t, "global_threshold_dev_micro_f1", gf, e.GlobalDevF1)
			gprf, err := ClassificationPRF(c.Probs, c.Targets, UniformThresholds(labels, gt))
			if err != nil {
				t.Fatal(err)
			}
			checkPRF(t, d, "global_tuned/", gprf, e.GlobalTuned)

			lt, err := TuneLabelThresholds(c.DevProbs, c.DevTargets)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(lt, e.LabelThresholds) {
				t.Errorf("label thresholds %v, want %v", lt, e.LabelThresholds)
			}
			lprf, err := ClassificationPRF(c.Probs, c.Targets, lt)
			if err != nil {
				t.Fatal(err)
			}
			checkPRF(t, d, "label_tuned/", lprf, e.LabelTuned)

			// Temperature: scipy's bounded Brent stops at its own tolerance, so T
			// agrees to 1e-6 relative; the losses are flat at the optimum and agree
			// to 1e-9 like everything else.
			temp, err := FitTemperature(c.DevProbs, c.DevTargets)
			if err != nil {
				t.Fatal(err)
			}
			d.check(t, "temperature_relative(1e-6 tol)", temp/e.Temperature.T-1, 0, 1e-6)
			devScaled, err := ApplyTemperature(c.DevProbs, temp)
			if err != nil {
				t.Fatal(err)
			}
			devNLL, err := NLL(devScaled, c.DevTargets)
			if err != nil {
				t.Fatal(err)
			}
			d.check(t, "temperature_dev_nll", devNLL, e.Temperature.DevNLLAtT, tol)
			if devNLL > e.Temperature.DevNLLAtT+1e-15 {
				t.Errorf("dev NLL %v above scipy's optimum %v", devNLL, e.Temperature.DevNLLAtT)
			}
			rt, err := Evaluate(c.Probs, c.Targets, Options{Temperature: true, DevProbs: c.DevProbs, DevTargets: c.DevTargets})
			if err != nil {
				t.Fatal(err)
			}
			d.check(t, "temperature_test_nll_before", *rt.TestNLLBefore, e.Temperature.TestNLLBefore, tol)
			// Test NLL is not stationary in T, so the 4e-8 difference in T shows;
			// at scipy's own T the formula must agree to 1e-9.
			d.check(t, "temperature_test_nll_after(own T, 1e-8 tol)", *rt.TestNLLAfter, e.Temperature.TestNLLAfter, 1e-8)
			testScaled, err := ApplyTemperature(c.Probs, e.Temperature.T)
			if err != nil {
				t.Fatal(err)
			}
			testNLL, err := NLL(testScaled, c.Targets)
			if err != nil {
				t.Fatal(err)
			}
			d.check(t, "temperature_test_nll_after(scipy T)", testNLL, e.Temperature.TestNLLAfter, tol)

			// Evaluate must assemble the same numbers.
			for _, mode := range []ThresholdMode{FixedThreshold, GlobalDevThreshold, LabelDevThresholds} {
				r, err := Evaluate(c.Probs, c.Targets, Options{Mode: mode, DevProbs: c.DevProbs, DevTargets: c.DevTargets})
				if err != nil {
					t.Fatal(err)
				}
				want := map[ThresholdMode]fixturePRF{FixedThreshold: e.Fixed, GlobalDevThreshold: e.GlobalTuned, LabelDevThresholds: e.LabelTuned}[mode]
				d.check(t, "evaluate/micro_f1", r.MicroF1, want.MicroF1)
				d.check(t, "evaluate/macro_f1_mean_of_label_f1", r.MacroF1MeanOfLabelF1, want.MacroF1MeanOfLabelF1)
				d.check(t, "evaluate/macro_f1_harmonic_of_macro_pr", r.MacroF1HarmonicOfMacroPR, want.MacroF1HarmonicOfMacroPR)
				d.check(t, "evaluate/macro_auc", *r.MacroAUC, e.MacroAUC)
				for j, lr := range r.PerLabel {
					d.check(t, "evaluate/per_label_f1", lr.F1, want.LabelF1[j])
				}
				if _, err := json.Marshal(r); err != nil {
					t.Fatalf("report does not marshal: %v", err)
				}
			}
		})
	}
	keys := make([]string, 0, len(d))
	for k := range d {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		t.Logf("max deviation %-45s %.3g", k, d[k])
	}
}
