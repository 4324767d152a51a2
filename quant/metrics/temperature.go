package metrics

import (
	"errors"
	"fmt"
	"math"
)

// logitClip keeps logit(p) finite for p = 0 or 1.
const logitClip = 1e-12

// Logit returns log(p/(1-p)) with p clipped to [1e-12, 1-1e-12].
func Logit(p float64) float64 {
	p = math.Min(math.Max(p, logitClip), 1-logitClip)
	return math.Log(p) - math.Log1p(-p)
}

func sigmoid(z float64) float64 {
	if z >= 0 {
		return 1 / (1 + math.Exp(-z))
	}
	e := math.Exp(z)
	return e / (1 + e)
}

// logLoss is the binary cross-entropy of σ(a·z) against y, in the stable form
// log(1+e^{a z}) − y·a·z.
func logLoss(z, y float64, a float64) float64 {
	s := a * z
	var sp float64 // softplus(s)
	if s > 0 {
		sp = s + math.Log1p(math.Exp(-s))
	} else {
		sp = math.Log1p(math.Exp(s))
	}
	return sp - y*s
}

// NLL is the mean binary cross-entropy of the probability matrix against targets
// (p clipped like Logit), the quantity temperature scaling minimises.
func NLL(probs, targets [][]float64) (float64, error) {
	if _, _, err := Validate(probs, targets); err != nil {
		return 0, err
	}
	s, n := 0.0, 0
	for i, row := range probs {
		for j, p := range row {
			s += logLoss(Logit(p), targets[i][j], 1)
			n++
		}
	}
	return s / float64(n), nil
}

// FitTemperature fits one temperature T > 0 on dev so that σ(logit(p)/T)
// minimises the mean binary cross-entropy. With a = 1/T the loss is a
// one-parameter logistic regression without intercept, hence convex in a; its
// gradient g(a) = mean((σ(a z) − y)·z) is increasing. We bracket the root of g
// in (0, hi] and run Newton steps that fall back to bisection whenever they
// leave the bracket, which is deterministic and converges quadratically.
func FitTemperature(devProbs, devTargets [][]float64) (float64, error) {
	if _, _, err := Validate(devProbs, devTargets); err != nil {
		return 0, err
	}
	z, y := flatten(devProbs), flatten(devTargets)
	for i := range z {
		z[i] = Logit(z[i])
	}
	grad := func(a float64) (g, h float64) {
		for i := range z {
			s := sigmoid(a * z[i])
			g += (s - y[i]) * z[i]
			h += s * (1 - s) * z[i] * z[i]
		}
		n := float64(len(z))
		return g / n, h / n
	}
	if g0, _ := grad(0); g0 >= 0 {
		// The minimiser over all a is ≤ 0: the scores are not positively
		// associated with the targets (or carry no information), so no T > 0 helps.
		return 0, errors.New("metrics: temperature scaling: dev scores are not positively associated with the targets")
	}
	// Double hi until the gradient turns positive. If it is still ≤ 0 at
	// a = 1e4 (T = 1e-4) the dev data are (nearly) separable: the loss keeps
	// falling as T → 0 and no useful temperature exists. Exact zeros from
	// saturated sigmoids also land here instead of passing for an optimum.
	lo, hi := 0.0, 1.0
	for {
		if g, _ := grad(hi); g > 0 {
			break
		}
		lo, hi = hi, hi*2
		if hi > 1e4 {
			return 0, errors.New("metrics: temperature scaling: dev data are (nearly) separable, the optimal temperature is below 1e-4")
		}
	}
	a := (lo + hi) / 2
	for iter := 0; iter < 200; iter++ {
		g, h := grad(a)
		if g == 0 {
			break
		}
		if g < 0 {
			lo = a
		} else {
			hi = a
		}
		next := a - g/h
		if h <= 0 || !(next > lo && next < hi) {
			next = (lo + hi) / 2
		}
		if math.Abs(next-a) <= 1e-14*math.Max(1, a) || hi-lo <= 1e-15*hi {
			a = next
			break
		}
		a = next
	}
	if !(a > 0) || math.IsInf(a, 0) {
		return 0, fmt.Errorf("metrics: temperature scaling did not converge (a=%v)", a)
	}
	return 1 / a, nil
}

// ApplyTemperature returns σ(logit(p)/T) for every entry (a new matrix).
func ApplyTemperature(probs [][]float64, t float64) ([][]float64, error) {
	if !(t > 0) || math.IsInf(t, 0) {
		return nil, fmt.Errorf("metrics: temperature must be a positive finite number, got %v", t)
	}
	if len(probs) == 0 {
		return nil, errors.New("metrics: probability matrix has no documents")
	}
	if err := checkProbs(probs, len(probs[0]), "probability"); err != nil {
		return nil, err
	}
	out := make([][]float64, len(probs))
	for i, row := range probs {
		out[i] = make([]float64, len(row))
		for j, p := range row {
			out[i][j] = sigmoid(Logit(p) / t)
		}
	}
	return out, nil
}
