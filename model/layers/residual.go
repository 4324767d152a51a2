package layers

import (
	"fmt"

	"github.com/icdcode/icdcode/model/agfn"
	"github.com/nlpodyssey/spago/mat"
	"github.com/nlpodyssey/spago/mat/float"
)

// add is y = a + b.
type add[T float.DType] struct {
	a, b mat.Tensor
}

// Add returns a + b elementwise, the residual connection. It is spago's
// ag.Add with a shape check that returns an error instead of log.Fatalf
// (spago-notes B5), and a synchronous forward (ag.Add starts a goroutine).
//
//	a, b: (m, n) → y: (m, n)
func Add[T float.DType](a, b mat.Tensor) (mat.Tensor, error) {
	if err := agfn.CheckType[T]("Add: a", a); err != nil {
		return nil, err
	}
	if err := agfn.CheckType[T]("Add: b", b); err != nil {
		return nil, err
	}
	ar, ac := agfn.Dims(a)
	br, bc := agfn.Dims(b)
	if ar != br || ac != bc {
		return nil, fmt.Errorf("Add: a is %d×%d but b is %d×%d", ar, ac, br, bc)
	}
	return agfn.Run(&add[T]{a: a, b: b}), nil
}

func (f *add[T]) Operands() []mat.Tensor { return []mat.Tensor{f.a, f.b} }

func (f *add[T]) Forward() (mat.Tensor, error) {
	m, n := agfn.Dims(f.a)
	as, bs := agfn.Data[T](f.a), agfn.Data[T](f.b)
	y := make([]T, len(as))
	for i, v := range as {
		y[i] = v + bs[i]
	}
	return agfn.NewMatrix(m, n, y), nil
}

func (f *add[T]) Backward(gy mat.Tensor) error {
	// spago clones the gradient on first use, so both operands may be
	// given the same gy.
	if f.a.RequiresGrad() {
		f.a.AccGrad(gy)
	}
	if f.b.RequiresGrad() {
		f.b.AccGrad(gy)
	}
	return nil
}
