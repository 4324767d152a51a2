package layers

import (
	"fmt"
	"math"

	"github.com/icdcode/icdcode/model/agfn"
	"github.com/icdcode/icdcode/model/kernels"
	"github.com/nlpodyssey/spago/mat"
	"github.com/nlpodyssey/spago/mat/float"
)

// crossEntropy is the mean softmax cross-entropy of the counted rows of z.
type crossEntropy[T float.DType] struct {
	k       kernels.Kernels[T]
	z       mat.Tensor
	targets []int
	rows    []int // the counted rows (target != ignore), in order
}

// CrossEntropy returns the softmax cross-entropy of each row of logits
// against its class in targets, averaged over the rows whose target is not
// ignore (PyTorch's CrossEntropyLoss with ignore_index and mean reduction):
//
//	ℓ = (1/|R|) Σ_{i∈R} (logsumexp(z_i) − z_i[t_i]),  R = {i : t_i ≠ ignore}
//
// The log-sum-exp is taken around the row maximum in float64, so large
// logits neither overflow nor lose the loss of a confident row to float32
// rounding. Every counted target must lie in [0, V); at least one row must
// be counted, since a mean over no rows has no value.
//
//	logits: (n, V); targets: (n) → loss: scalar
func CrossEntropy[T float.DType](k kernels.Kernels[T], logits mat.Tensor, targets []int, ignore int) (mat.Tensor, error) {
	if k == nil {
		return nil, fmt.Errorf("CrossEntropy: no kernels")
	}
	if err := agfn.CheckType[T]("CrossEntropy: logits", logits); err != nil {
		return nil, err
	}
	n, v := agfn.Dims(logits)
	if n*v == 0 {
		return nil, fmt.Errorf("CrossEntropy: empty logits (%d×%d)", n, v)
	}
	if len(targets) != n {
		return nil, fmt.Errorf("CrossEntropy: %d targets for %d rows of logits", len(targets), n)
	}
	var rows []int
	for i, t := range targets {
		if t == ignore {
			continue
		}
		if t < 0 || t >= v {
			return nil, fmt.Errorf("CrossEntropy: targets[%d] = %d outside [0, %d)", i, t, v)
		}
		rows = append(rows, i)
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("CrossEntropy: every one of the %d targets is the ignore index %d", n, ignore)
	}
	return agfn.Run(&crossEntropy[T]{k: k, z: logits, targets: append([]int(nil), targets...), rows: rows}), nil
}

func (f *crossEntropy[T]) Operands() []mat.Tensor { return []mat.Tensor{f.z} }

func (f *crossEntropy[T]) Forward() (mat.Tensor, error) {
	_, v := agfn.Dims(f.z)
	zs := agfn.Data[T](f.z)
	var s float64
	for _, i := range f.rows {
		row := zs[i*v : (i+1)*v]
		mx := math.Inf(-1)
		for _, z := range row {
			mx = math.Max(mx, float64(z))
		}
		var e float64
		for _, z := range row {
			e += math.Exp(float64(z) - mx)
		}
		s += mx + math.Log(e) - float64(row[f.targets[i]])
	}
	return mat.Scalar(T(s / float64(len(f.rows)))), nil
}

// Backward gives ∂ℓ/∂z_i = (softmax(z_i) − onehot(t_i))/|R| for counted
// rows and 0 for ignored ones; the softmax goes through the kernels.
func (f *crossEntropy[T]) Backward(gy mat.Tensor) error {
	if !f.z.RequiresGrad() {
		return nil
	}
	n, v := agfn.Dims(f.z)
	zs := agfn.Data[T](f.z)
	g := gy.Item().F64() / float64(len(f.rows))
	dz := make([]T, n*v)
	for _, i := range f.rows {
		row := dz[i*v : (i+1)*v]
		f.k.Softmax(1, v, zs[i*v:(i+1)*v], v, nil, 0, row, v)
		row[f.targets[i]] -= 1
		for j := range row {
			row[j] = T(g * float64(row[j]))
		}
	}
	agfn.AccGrad(f.z, n, v, dz)
	return nil
}
