package layers

import (
	"fmt"

	"github.com/icdcode/icdcode/model/agfn"
	"github.com/nlpodyssey/spago/mat"
)

// Reduction says how a loss combines its elementwise terms.
type Reduction int

const (
	// Mean divides the sum of the terms by their number (PyTorch's default).
	Mean Reduction = iota
	// Sum adds the terms.
	Sum
)

func (r Reduction) String() string {
	switch r {
	case Mean:
		return "mean"
	case Sum:
		return "sum"
	}
	return fmt.Sprintf("Reduction(%d)", int(r))
}

// factor is the weight of each term: 1/count for Mean, 1 for Sum.
func (r Reduction) factor(count int) float64 {
	if r == Mean {
		return 1 / float64(count)
	}
	return 1
}

// checkLossArgs checks that pred and target have the same non-empty shape
// and that r is known.
func checkLossArgs(name string, pred, target mat.Tensor, r Reduction) error {
	pr, pc := agfn.Dims(pred)
	tr, tc := agfn.Dims(target)
	if pr != tr || pc != tc {
		return fmt.Errorf("%s: prediction is %d×%d but target is %d×%d", name, pr, pc, tr, tc)
	}
	if pr*pc == 0 {
		return fmt.Errorf("%s: empty input", name)
	}
	if r != Mean && r != Sum {
		return fmt.Errorf("%s: unknown reduction %v", name, r)
	}
	return nil
}
