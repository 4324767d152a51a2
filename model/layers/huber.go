package layers

import (
	"fmt"
	"math"

	"github.com/icdcode/icdcode/model/agfn"
	"github.com/nlpodyssey/spago/mat"
	"github.com/nlpodyssey/spago/mat/float"
)

// huber is the Huber loss of pred − target with threshold delta.
type huber[T float.DType] struct {
	pred, target mat.Tensor
	delta        float64
	r            Reduction
}

// Huber returns the Huber loss of the residual d = pred − target,
//
//	ℓ = d²/2 if |d| ≤ delta, else delta·(|d| − delta/2),
//
// reduced to a scalar by r (Mean as PyTorch's HuberLoss). If target
// requires a gradient it receives −∂ℓ/∂pred.
//
//	pred, target: (m, n); delta > 0 → loss: scalar
func Huber[T float.DType](pred, target mat.Tensor, delta float64, r Reduction) (mat.Tensor, error) {
	if err := agfn.CheckType[T]("Huber: pred", pred); err != nil {
		return nil, err
	}
	if err := agfn.CheckType[T]("Huber: target", target); err != nil {
		return nil, err
	}
	if err := checkLossArgs("Huber", pred, target, r); err != nil {
		return nil, err
	}
	if !(delta > 0) {
		return nil, fmt.Errorf("Huber: delta = %g, want > 0", delta)
	}
	return agfn.Run(&huber[T]{pred: pred, target: target, delta: delta, r: r}), nil
}

func (f *huber[T]) Operands() []mat.Tensor { return []mat.Tensor{f.pred, f.target} }

func (f *huber[T]) Forward() (mat.Tensor, error) {
	ps, ts := agfn.Data[T](f.pred), agfn.Data[T](f.target)
	var s float64
	for i, p := range ps {
		d := math.Abs(float64(p) - float64(ts[i]))
		if d <= f.delta {
			s += 0.5 * d * d
		} else {
			s += f.delta * (d - 0.5*f.delta)
		}
	}
	return mat.Scalar(T(s * f.r.factor(len(ps)))), nil
}

func (f *huber[T]) Backward(gy mat.Tensor) error {
	m, n := agfn.Dims(f.pred)
	ps, ts := agfn.Data[T](f.pred), agfn.Data[T](f.target)
	g := gy.Item().F64() * f.r.factor(len(ps))
	// ∂ℓ/∂pred = d clipped to [−delta, delta].
	dp := make([]T, len(ps))
	for i, p := range ps {
		d := float64(p) - float64(ts[i])
		dp[i] = T(g * math.Max(-f.delta, math.Min(f.delta, d)))
	}
	agfn.AccGrad(f.pred, m, n, dp)
	if f.target.RequiresGrad() {
		dt := make([]T, len(dp))
		for i, v := range dp {
			dt[i] = -v
		}
		agfn.AccGrad(f.target, m, n, dt)
	}
	return nil
}
