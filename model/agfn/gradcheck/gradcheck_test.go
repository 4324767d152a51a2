package gradcheck

import (
	"fmt"
	"testing"

	"github.com/icdcode/icdcode/model/agfn"
	"github.com/nlpodyssey/spago/mat"
)

// square is y = x² elementwise with a backward that multiplies by factor·x
// (2 is right).
type square struct {
	x      mat.Tensor
	factor float64
}

func (f *square) Operands() []mat.Tensor { return []mat.Tensor{f.x} }

func (f *square) Forward() (mat.Tensor, error) {
	r, c := agfn.Dims(f.x)
	y := make([]float64, r*c)
	for i, v := range agfn.Data[float64](f.x) {
		y[i] = v * v
	}
	return agfn.NewMatrix(r, c, y), nil
}

func (f *square) Backward(gy mat.Tensor) error {
	r, c := agfn.Dims(f.x)
	g := make([]float64, r*c)
	for i, v := range agfn.Data[float64](f.x) {
		g[i] = f.factor * v * agfn.Data[float64](gy)[i]
	}
	agfn.AccGrad(f.x, r, c, g)
	return nil
}

// recorder counts the errors Check reports.
type recorder struct{ errors int }

func (r *recorder) Helper()                      {}
func (r *recorder) Errorf(string, ...any)        { r.errors++ }
func (r *recorder) Fatalf(f string, args ...any) { panic(fmt.Sprintf(f, args...)) }

func TestCheckCatchesWrongGradients(t *testing.T) {
	for _, c := range []struct {
		factor float64
		errors int
	}{{2, 0}, {2.001, 1}, {0, 1}} {
		x := mat.NewDense[float64](mat.WithShape(2, 3), mat.WithBacking([]float64{0.5, -1, 2, 0.1, -0.3, 1.5}), mat.WithGrad(true))
		var r recorder
		e := Check(&r, []Tensor{{Name: "x", T: x}}, func() (mat.Tensor, error) { return agfn.Run(&square{x: x, factor: c.factor}), nil })
		if r.errors != c.errors {
			t.Errorf("backward factor %v: %d errors (worst %.2e), want %d", c.factor, r.errors, e, c.errors)
		}
	}
}
