package layers

import (
	"math"

	"github.com/icdcode/icdcode/model/agfn"
	"github.com/nlpodyssey/spago/mat"
	"github.com/nlpodyssey/spago/mat/float"
)

// bceWithLogits is the binary cross-entropy of sigmoid(z) against y.
type bceWithLogits[T float.DType] struct {
	z, y mat.Tensor
	r    Reduction
}

// BCEWithLogits returns the binary cross-entropy of sigmoid(z) against the
// targets y, computed stably from the logits as
//
//	ℓ = max(z, 0) − z·y + log(1 + exp(−|z|))
//
// and reduced to a scalar by r (Mean: divided by the number of elements, as
// PyTorch's BCEWithLogitsLoss; Sum: over all elements, e.g. all labels of
// a batch). Targets are usually constants (0/1 or soft labels in [0, 1]);
// if y requires a gradient it receives ∂ℓ/∂y = −z.
//
//	z, y: (m, n) → loss: scalar
func BCEWithLogits[T float.DType](z, y mat.Tensor, r Reduction) (mat.Tensor, error) {
	if err := agfn.CheckType[T]("BCEWithLogits: z", z); err != nil {
		return nil, err
	}
	if err := agfn.CheckType[T]("BCEWithLogits: y", y); err != nil {
		return nil, err
	}
	if err := checkLossArgs("BCEWithLogits", z, y, r); err != nil {
		return nil, err
	}
	return agfn.Run(&bceWithLogits[T]{z: z, y: y, r: r}), nil
}

func (f *bceWithLogits[T]) Operands() []mat.Tensor { return []mat.Tensor{f.z, f.y} }

func (f *bceWithLogits[T]) Forward() (mat.Tensor, error) {
	zs, ys := agfn.Data[T](f.z), agfn.Data[T](f.y)
	// Accumulate in float64: a float32 sum over tens of thousands of labels
	// would lose digits the loss curve needs.
	var s float64
	for i, zt := range zs {
		z, y := float64(zt), float64(ys[i])
		s += math.Max(z, 0) - z*y + math.Log1p(math.Exp(-math.Abs(z)))
	}
	return mat.Scalar(T(s * f.r.factor(len(zs)))), nil
}

func (f *bceWithLogits[T]) Backward(gy mat.Tensor) error {
	m, n := agfn.Dims(f.z)
	zs, ys := agfn.Data[T](f.z), agfn.Data[T](f.y)
	g := gy.Item().F64() * f.r.factor(len(zs))
	if f.z.RequiresGrad() {
		// ∂ℓ/∂z = sigmoid(z) − y
		dz := make([]T, len(zs))
		for i, z := range zs {
			dz[i] = T(g * (sigmoid64(float64(z)) - float64(ys[i])))
		}
		agfn.AccGrad(f.z, m, n, dz)
	}
	if f.y.RequiresGrad() {
		dy := make([]T, len(zs))
		for i, z := range zs {
			dy[i] = T(-g * float64(z))
		}
		agfn.AccGrad(f.y, m, n, dy)
	}
	return nil
}
