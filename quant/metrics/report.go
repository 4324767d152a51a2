package metrics

import "fmt"

// ThresholdMode selects how decision thresholds are set.
type ThresholdMode string

const (
	// FixedThreshold uses Options.Threshold (0.5 by default) for every label.
	FixedThreshold ThresholdMode = "fixed"
	// GlobalDevThreshold tunes one threshold on dev for micro-F1.
	GlobalDevThreshold ThresholdMode = "global_dev"
	// LabelDevThresholds tunes one threshold per label on dev for that label's F1.
	LabelDevThresholds ThresholdMode = "per_label_dev"
)

// Options configures Evaluate. The zero value is the reference protocol with
// the §14 fixes: fixed 0.5, k = 5, 8, 15, 20 equal-width ECE bins.
type Options struct {
	Mode ThresholdMode
	// Threshold is the fixed threshold; 0 means 0.5.
	Threshold float64
	// DevProbs/DevTargets are needed by the tuned modes and by Temperature.
	DevProbs, DevTargets [][]float64
	Ks                   []int
	ECEBins              int
	Binning              Binning
	// Temperature fits T on dev and rescales dev and test before anything else,
	// so tuned thresholds are chosen on the rescaled dev probabilities.
	Temperature bool
}

// LabelReport is one label's row of the per-label breakdown.
type LabelReport struct {
	Label     int      `json:"label"`
	Support   int      `json:"support"`   // positives in the targets
	Predicted int      `json:"predicted"` // predicted positives at Threshold
	Counts    Counts   `json:"counts"`
	Threshold float64  `json:"threshold"`
	Precision float64  `json:"precision"`
	Recall    float64  `json:"recall"`
	F1        float64  `json:"f1"`
	AUC       *float64 `json:"auc"` // null: one class only
	ECE       float64  `json:"ece"`
	Brier     float64  `json:"brier"`
}

// Report is the full evaluation of one probability matrix.
type Report struct {
	Docs   int `json:"docs"`
	Labels int `json:"labels"`

	ThresholdMode ThresholdMode `json:"threshold_mode"`
	// GlobalThreshold is set for fixed and global_dev modes.
	GlobalThreshold *float64 `json:"global_threshold,omitempty"`
	// DevMicroF1 is the dev micro-F1 reached by the tuned global threshold.
	DevMicroF1 *float64 `json:"dev_micro_f1,omitempty"`
	// Temperature, TestNLLBefore/After are set when temperature scaling ran.
	Temperature   *float64 `json:"temperature,omitempty"`
	TestNLLBefore *float64 `json:"test_nll_before,omitempty"`
	TestNLLAfter  *float64 `json:"test_nll_after,omitempty"`

	MicroPrecision           float64 `json:"micro_precision"`
	MicroRecall              float64 `json:"micro_recall"`
	MicroF1                  float64 `json:"micro_f1"`
	MacroPrecision           float64 `json:"macro_precision"`
	MacroRecall              float64 `json:"macro_recall"`
	MacroF1MeanOfLabelF1     float64 `json:"macro_f1_mean_of_label_f1"`
	MacroF1HarmonicOfMacroPR float64 `json:"macro_f1_harmonic_of_macro_pr"`

	MicroAUC         *float64 `json:"micro_auc"`
	MacroAUC         *float64 `json:"macro_auc"`
	AUCSkippedLabels []int    `json:"auc_skipped_labels"`

	AtK []AtK `json:"at_k"`

	Calibration *Calibration `json:"calibration"`

	IllDefinedPrecisionLabels []int `json:"ill_defined_precision_labels"`
	IllDefinedRecallLabels    []int `json:"ill_defined_recall_labels"`
	// Warnings say in words what scikit-learn would warn about.
	Warnings []string `json:"warnings"`

	PerLabel []LabelReport `json:"per_label"`
}

// Evaluate computes every metric for a test probability matrix.
func Evaluate(probs, targets [][]float64, opt Options) (*Report, error) {
	docs, labels, err := Validate(probs, targets)
	if err != nil {
		return nil, err
	}
	mode := opt.Mode
	if mode == "" {
		mode = FixedThreshold
	}
	needDev := mode != FixedThreshold || opt.Temperature
	if needDev {
		if opt.DevProbs == nil {
			return nil, fmt.Errorf("metrics: threshold mode %q / temperature scaling need dev matrices", mode)
		}
		_, devLabels, err := Validate(opt.DevProbs, opt.DevTargets)
		if err != nil {
			return nil, fmt.Errorf("dev: %w", err)
		}
		if devLabels != labels {
			return nil, fmt.Errorf("metrics: shape mismatch: dev has %d labels, test %d", devLabels, labels)
		}
	}
	r := &Report{Docs: docs, Labels: labels, ThresholdMode: mode, Warnings: []string{}}
	devProbs := opt.DevProbs
	if opt.Temperature {
		t, err := FitTemperature(opt.DevProbs, opt.DevTargets)
		if err != nil {
			return nil, err
		}
		before, err := NLL(probs, targets)
		if err != nil {
			return nil, err
		}
		if probs, err = ApplyTemperature(probs, t); err != nil {
			return nil, err
		}
		if devProbs, err = ApplyTemperature(devProbs, t); err != nil {
			return nil, err
		}
		after, err := NLL(probs, targets)
		if err != nil {
			return nil, err
		}
		r.Temperature, r.TestNLLBefore, r.TestNLLAfter = &t, &before, &after
	}

	var thresholds []float64
	switch mode {
	case FixedThreshold:
		t := opt.Threshold
		if t == 0 {
			t = 0.5
		}
		if !(t > 0 && t <= 1) {
			return nil, fmt.Errorf("metrics: fixed threshold %v outside (0,1]", t)
		}
		thresholds = UniformThresholds(labels, t)
		r.GlobalThreshold = &t
	case GlobalDevThreshold:
		t, f, err := TuneGlobalThreshold(devProbs, opt.DevTargets)
		if err != nil {
			return nil, err
		}
		thresholds = UniformThresholds(labels, t)
		r.GlobalThreshold, r.DevMicroF1 = &t, &f
	case LabelDevThresholds:
		if thresholds, err = TuneLabelThresholds(devProbs, opt.DevTargets); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("metrics: unknown threshold mode %q", mode)
	}

	prf := prfFromCounts(countAll(probs, targets, thresholds))
	r.MicroPrecision, r.MicroRecall, r.MicroF1 = prf.MicroPrecision, prf.MicroRecall, prf.MicroF1
	r.MacroPrecision, r.MacroRecall = prf.MacroPrecision, prf.MacroRecall
	r.MacroF1MeanOfLabelF1, r.MacroF1HarmonicOfMacroPR = prf.MacroF1MeanOfLabelF1, prf.MacroF1HarmonicOfMacroPR
	r.IllDefinedPrecisionLabels, r.IllDefinedRecallLabels = prf.IllDefinedPrecisionLabels, prf.IllDefinedRecallLabels
	if n := len(prf.IllDefinedPrecisionLabels); n > 0 {
		r.Warnings = append(r.Warnings, fmt.Sprintf("precision is ill-defined and set to 0 for %d label(s) with no predicted samples", n))
	}
	if n := len(prf.IllDefinedRecallLabels); n > 0 {
		r.Warnings = append(r.Warnings, fmt.Sprintf("recall is ill-defined and set to 0 for %d label(s) with no true samples", n))
	}

	auc, err := ROCAUCs(probs, targets)
	if err != nil {
		return nil, err
	}
	r.MicroAUC, r.MacroAUC, r.AUCSkippedLabels = auc.MicroAUC, auc.MacroAUC, auc.SkippedLabels
	if n := len(auc.SkippedLabels); n > 0 {
		r.Warnings = append(r.Warnings, fmt.Sprintf("macro ROC-AUC skips %d label(s) with only one class", n))
	}
	if auc.MicroAUC == nil {
		r.Warnings = append(r.Warnings, "micro ROC-AUC undefined: the whole target matrix holds one class")
	}

	ks := opt.Ks
	if ks == nil {
		ks = DefaultKs
	}
	if r.AtK, err = TopK(probs, targets, ks); err != nil {
		return nil, err
	}
	if len(r.AtK) > 0 && r.AtK[0].DocsWithoutPositives > 0 {
		r.Warnings = append(r.Warnings, fmt.Sprintf("R@k excludes %d document(s) without true labels", r.AtK[0].DocsWithoutPositives))
	}

	bins := opt.ECEBins
	if bins == 0 {
		bins = DefaultECEBins
	}
	if r.Calibration, err = Calibrate(probs, targets, bins, opt.Binning); err != nil {
		return nil, err
	}

	r.PerLabel = make([]LabelReport, labels)
	for j := range r.PerLabel {
		c := prf.LabelCounts[j]
		r.PerLabel[j] = LabelReport{
			Label: j, Support: c.TP + c.FN, Predicted: c.TP + c.FP, Counts: c, Threshold: thresholds[j],
			Precision: prf.LabelPrecision[j], Recall: prf.LabelRecall[j], F1: prf.LabelF1[j],
			AUC: auc.LabelAUC[j], ECE: r.Calibration.LabelECE[j], Brier: r.Calibration.LabelBrier[j],
		}
	}
	return r, nil
}
