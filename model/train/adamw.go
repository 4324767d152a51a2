package train

import (
	"fmt"
	"math"
	"runtime"
	"sync"

	"github.com/nlpodyssey/spago/mat"
	"github.com/nlpodyssey/spago/nn"
)

// AdamW is torch.optim.AdamW (amsgrad=False, maximize=False) over float32
// parameters, written here rather than taken from spago because spago's
// AdamW scales the decay by the bias-corrected step size (spago-notes §2)
// and keeps its moments in Param.State, which would make checkpoints depend
// on gob. Moments are float32, as torch keeps them for float32 weights (half
// the memory of float64); each element's update is computed in float64 and
// rounded once, so the result does not depend on how the work is split.
//
// Like torch, a parameter without a gradient in a step (an embedding row the
// batch did not use) is skipped entirely: no decay, no moment update, and
// its own step count does not advance, so bias correction is per parameter.
type AdamW struct {
	Beta1, Beta2, Eps, WeightDecay float64
	// M and V are the first and second moments, one slice per parameter in
	// the model's fixed order; Steps counts the updates each one received.
	M, V  [][]float32
	Steps []int64
}

// NewAdamW returns an optimizer with zero moments for params.
func NewAdamW(params []Param, beta1, beta2, eps, weightDecay float64) (*AdamW, error) {
	o := &AdamW{Beta1: beta1, Beta2: beta2, Eps: eps, WeightDecay: weightDecay,
		M: make([][]float32, len(params)), V: make([][]float32, len(params)), Steps: make([]int64, len(params))}
	for i, p := range params {
		if _, err := values(p); err != nil {
			return nil, err
		}
		n := p.P.Size()
		o.M[i], o.V[i] = make([]float32, n), make([]float32, n)
	}
	return o, nil
}

// Step applies one update with learning rate lr to every parameter that holds
// a gradient (already averaged and clipped by the caller). Gradients are left
// in place; the trainer zeroes them. Parameters are split among GOMAXPROCS
// workers; every element is independent, so the bits do not depend on that.
func (o *AdamW) Step(params []Param, lr float64) error {
	if len(params) != len(o.M) {
		return fmt.Errorf("train: AdamW has moments for %d parameters, got %d", len(o.M), len(params))
	}
	var todo []int
	for i, p := range params {
		if p.P.HasGrad() {
			todo = append(todo, i)
		}
	}
	errs := make([]error, len(todo))
	work := make(chan int)
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(todo)) {
		wg.Go(func() {
			for j := range work {
				errs[j] = o.update(params[todo[j]], todo[j], lr)
			}
		})
	}
	for j := range todo {
		work <- j
	}
	close(work)
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// update is torch's single-tensor AdamW for parameter i:
//
//	w ← w·(1 − lr·λ)
//	m ← β1·m + (1 − β1)·g;  v ← β2·v + (1 − β2)·g²
//	w ← w − lr/(1 − β1^t) · m / (√v / √(1 − β2^t) + ε)
func (o *AdamW) update(p Param, i int, lr float64) error {
	w, err := values(p)
	if err != nil {
		return err
	}
	g, err := grads(p)
	if err != nil {
		return err
	}
	if len(g) != len(w) || len(o.M[i]) != len(w) {
		return fmt.Errorf("train: parameter %q: %d values, %d gradients, %d moments", p.Name, len(w), len(g), len(o.M[i]))
	}
	o.Steps[i]++
	t := float64(o.Steps[i])
	stepSize := lr / (1 - math.Pow(o.Beta1, t))
	bc2 := math.Sqrt(1 - math.Pow(o.Beta2, t))
	decay := 1 - lr*o.WeightDecay
	m, v := o.M[i], o.V[i]
	for k := range w {
		gk := float64(g[k])
		mk := o.Beta1*float64(m[k]) + (1-o.Beta1)*gk
		vk := o.Beta2*float64(v[k]) + (1-o.Beta2)*gk*gk
		m[k], v[k] = float32(mk), float32(vk)
		w[k] = float32(float64(w[k])*decay - stepSize*float64(m[k])/(math.Sqrt(float64(v[k]))/bc2+o.Eps))
	}
	return nil
}

// ClipGradNorm scales every gradient by maxNorm/‖g‖ when the global L2 norm
// ‖g‖ over all parameters holding a gradient exceeds maxNorm (parameters
// without one are skipped: spago's NormClipper panics on them, B4). It
// returns the norm before clipping. Unlike torch's clip_grad_norm_ there is
// no +1e-6 in the denominator, so the clipped norm is maxNorm up to rounding.
// The sum of squares runs in float64 in parameter order: deterministic.
func ClipGradNorm(params []Param, maxNorm float64) (float64, error) {
	var sum float64
	for _, p := range params {
		if !p.P.HasGrad() {
			continue
		}
		g, err := grads(p)
		if err != nil {
			return 0, err
		}
		for _, x := range g {
			sum += float64(x) * float64(x)
		}
	}
	norm := math.Sqrt(sum)
	if maxNorm > 0 && norm > maxNorm {
		if err := scaleGrads(params, maxNorm/norm); err != nil {
			return norm, err
		}
	}
	return norm, nil
}

// scaleGrads multiplies every existing gradient by s in place.
func scaleGrads(params []Param, s float64) error {
	for _, p := range params {
		if !p.P.HasGrad() {
			continue
		}
		g, err := grads(p)
		if err != nil {
			return err
		}
		for k := range g {
			g[k] = float32(float64(g[k]) * s)
		}
	}
	return nil
}

// LinearSchedule returns the learning rate of the update that follows
// `done` completed updates, as transformers.get_linear_schedule_with_warmup
// (LambdaLR stepped after each optimizer step): base·done/warmup during
// warm-up, then base·(total−done)/(total−warmup), never below 0. The first
// update of a warm-up therefore has rate 0, as in Hugging Face training.
func LinearSchedule(base float64, done, warmup, total int64) float64 {
	if done < warmup {
		return base * float64(done) / float64(max(1, warmup))
	}
	return base * max(0, float64(total-done)/float64(max(1, total-warmup)))
}

// values returns the float32 backing slice of a parameter: updates are
// written into it directly.
func values(p Param) ([]float32, error) {
	d, ok := p.P.Matrix.(*mat.Dense[float32])
	if !ok {
		return nil, fmt.Errorf("train: parameter %q is %T, want *mat.Dense[float32]", p.Name, p.P.Matrix)
	}
	return mat.Data[float32](d), nil
}

// grads returns the float32 backing slice of a parameter's gradient; it must
// hold one (HasGrad).
func grads(p Param) ([]float32, error) {
	d, ok := p.P.Grad().(*mat.Dense[float32])
	if !ok {
		return nil, fmt.Errorf("train: gradient of parameter %q is %T, want *mat.Dense[float32]", p.Name, p.P.Grad())
	}
	return mat.Data[float32](d), nil
}

// Param is one named model parameter.
type Param struct {
	Name string
	P    *nn.Param
}
