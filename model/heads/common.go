package heads

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/icdcode/icdcode/model/agfn"
	"github.com/nlpodyssey/spago/mat"
	"github.com/nlpodyssey/spago/mat/float"
	"github.com/nlpodyssey/spago/nn"
)

// Layout describes how the rows of a head's input H are organised: Chunks
// consecutive chunks of ChunkLen token rows each (CE: the encoder's
// n_chunks × 512 sequences stacked; LE: one chunk of the whole document),
// with an optional 0/1 token mask (1 real token, 0 padding, as Hugging
// Face's attention_mask; nil means every row is a real token).
type Layout struct {
	Chunks, ChunkLen int
	Mask             []int
}

// check returns an error unless the layout fits an input of rows rows.
func (l Layout) check(name string, rows int) error {
	if l.Chunks < 1 || l.ChunkLen < 1 {
		return fmt.Errorf("%s: layout has %d chunks of %d tokens, want ≥ 1 of each", name, l.Chunks, l.ChunkLen)
	}
	if l.Chunks*l.ChunkLen != rows {
		return fmt.Errorf("%s: layout is %d chunks × %d tokens but H has %d rows", name, l.Chunks, l.ChunkLen, rows)
	}
	if l.Mask != nil {
		if len(l.Mask) != rows {
			return fmt.Errorf("%s: mask has %d entries for %d rows", name, len(l.Mask), rows)
		}
		for i, v := range l.Mask {
			if v != 0 && v != 1 {
				return fmt.Errorf("%s: mask[%d] = %d, want 0 or 1", name, i, v)
			}
		}
	}
	return nil
}

// additiveMask turns a checked 0/1 mask into the kernels' additive form
// (0 keeps, −Inf removes); nil stays nil.
func additiveMask[T float.DType](mask []int) []T {
	if mask == nil {
		return nil
	}
	out := make([]T, len(mask))
	for i, v := range mask {
		if v == 0 {
			out[i] = T(math.Inf(-1))
		}
	}
	return out
}

// checkShape returns an error unless t is an r×c matrix of T.
func checkShape[T float.DType](name string, t mat.Tensor, r, c int) error {
	if err := agfn.CheckType[T](name, t); err != nil {
		return err
	}
	if tr, tc := agfn.Dims(t); tr != r || tc != c {
		return fmt.Errorf("%s is %d×%d, want %d×%d", name, tr, tc, r, c)
	}
	return nil
}

// initRNG returns the random stream of parameter number id of a head built
// with seed: one independent PCG stream per parameter, so adding a
// parameter to a head never changes the initial values of the others.
func initRNG(seed uint64, id uint64) *rand.Rand {
	return rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15^id))
}

// normalParam returns an r×c parameter drawn from N(0, std²). Values are
// drawn in float64 and converted, so heads of either precision built with
// the same seed start from the same weights (up to float32 rounding).
func normalParam[T float.DType](rng *rand.Rand, r, c int, std float64) *nn.Param {
	v := make([]T, r*c)
	for i := range v {
		v[i] = T(rng.NormFloat64() * std)
	}
	return nn.NewParam(agfn.NewMatrix(r, c, v))
}

// uniformParam returns an r×c parameter drawn from U(−a, a).
func uniformParam[T float.DType](rng *rand.Rand, r, c int, a float64) *nn.Param {
	v := make([]T, r*c)
	for i := range v {
		v[i] = T((2*rng.Float64() - 1) * a)
	}
	return nn.NewParam(agfn.NewMatrix(r, c, v))
}

// zeroParam returns an r×c parameter of zeros.
func zeroParam[T float.DType](r, c int) *nn.Param {
	return nn.NewParam(agfn.NewMatrix(r, c, make([]T, r*c)))
}

// sqrt returns √n as a float64.
func sqrt(n int) float64 { return math.Sqrt(float64(n)) }
