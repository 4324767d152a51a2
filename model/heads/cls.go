package heads

import (
	"fmt"

	"github.com/icdcode/icdcode/model/agfn"
	"github.com/icdcode/icdcode/model/kernels"
	"github.com/icdcode/icdcode/model/layers"
	"github.com/nlpodyssey/spago/mat"
	"github.com/nlpodyssey/spago/mat/float"
	"github.com/nlpodyssey/spago/nn"
)

// bertInitStd is Hugging Face's initializer_range (0.02 for GatorTron and
// BERT): _init_weights draws every new nn.Linear weight from N(0, 0.02²)
// and zeroes its bias.
const bertInitStd = 0.02

// CE is the reference's chunk-encoding classification head (§1,
// MegatronBertForSequenceClassification applied per chunk): the pooler
// (dense + tanh) on each chunk's [CLS] row, a linear layer to the L labels,
// and the element-wise maximum over chunks (nn.MaxPool1d(n_chunks)).
// Weights are stored (in × out): y = x·W + b.
//
// In the reference the pooler comes with the pretrained encoder; replace
// PoolerW/PoolerB's values with the checkpoint's (transposed) to match it.
// Classifier dropout is the caller's (the head computes the eval-mode
// function).
type CE[T float.DType] struct {
	PoolerW *nn.Param // (d, d)
	PoolerB *nn.Param // (1, d)
	OutW    *nn.Param // (d, L)
	OutB    *nn.Param // (1, L)
}

// NewCE returns a CE head for width d and L labels, weights from
// N(0, 0.02²) seeded by seed (Hugging Face's init), biases zero.
func NewCE[T float.DType](d, labels int, seed uint64) (*CE[T], error) {
	if d < 1 || labels < 1 {
		return nil, fmt.Errorf("NewCE: d = %d and labels = %d must be ≥ 1", d, labels)
	}
	return &CE[T]{
		PoolerW: normalParam[T](initRNG(seed, 0), d, d, bertInitStd),
		PoolerB: zeroParam[T](1, d),
		OutW:    normalParam[T](initRNG(seed, 1), d, labels, bertInitStd),
		OutB:    zeroParam[T](1, labels),
	}, nil
}

// Params returns the trainable parameters.
func (h *CE[T]) Params() []*nn.Param {
	return []*nn.Param{h.PoolerW, h.PoolerB, h.OutW, h.OutB}
}

// Forward returns the document logits. Row b·ChunkLen of H is the [CLS]
// of chunk b; the token mask is irrelevant to a [CLS] head.
//
//	H: (Chunks·ChunkLen, d) → logits: (1, L)
func (h *CE[T]) Forward(k kernels.Kernels[T], H mat.Tensor, lay Layout) (mat.Tensor, error) {
	d, _ := agfn.Dims(h.PoolerW)
	if err := checkInput[T]("CE", H, d, lay); err != nil {
		return nil, err
	}
	idx := make([]int, lay.Chunks)
	for b := range idx {
		idx[b] = b * lay.ChunkLen
	}
	cls, err := Rows[T](H, idx) // (B, d)
	if err != nil {
		return nil, err
	}
	p, err := layers.Linear(k, cls, h.PoolerW, h.PoolerB)
	if err != nil {
		return nil, err
	}
	if p, err = layers.Tanh[T](p); err != nil {
		return nil, err
	}
	z, err := layers.Linear(k, p, h.OutW, h.OutB) // (B, L)
	if err != nil {
		return nil, err
	}
	return ChunkMax[T](z)
}

// LE is the reference's Longformer classification head (§2,
// LongformerClassificationHead): hidden[0] ([CLS]) → dense d→d → tanh →
// out_proj d→L. Dropout (0.1, before dense and out_proj) is the caller's.
type LE[T float.DType] struct {
	DenseW *nn.Param // (d, d)
	DenseB *nn.Param // (1, d)
	OutW   *nn.Param // (d, L)
	OutB   *nn.Param // (1, L)
}

// NewLE returns an LE head for width d and L labels, weights from
// N(0, 0.02²) seeded by seed (Hugging Face's init), biases zero.
func NewLE[T float.DType](d, labels int, seed uint64) (*LE[T], error) {
	if d < 1 || labels < 1 {
		return nil, fmt.Errorf("NewLE: d = %d and labels = %d must be ≥ 1", d, labels)
	}
	return &LE[T]{
		DenseW: normalParam[T](initRNG(seed, 0), d, d, bertInitStd),
		DenseB: zeroParam[T](1, d),
		OutW:   normalParam[T](initRNG(seed, 1), d, labels, bertInitStd),
		OutB:   zeroParam[T](1, labels),
	}, nil
}

// Params returns the trainable parameters.
func (h *LE[T]) Params() []*nn.Param {
	return []*nn.Param{h.DenseW, h.DenseB, h.OutW, h.OutB}
}

// Forward returns the document logits from row 0 of H, the document's
// [CLS] (LE has one chunk; with several, the first chunk's [CLS] is used).
//
//	H: (Chunks·ChunkLen, d) → logits: (1, L)
func (h *LE[T]) Forward(k kernels.Kernels[T], H mat.Tensor, lay Layout) (mat.Tensor, error) {
	d, _ := agfn.Dims(h.DenseW)
	if err := checkInput[T]("LE", H, d, lay); err != nil {
		return nil, err
	}
	cls, err := Rows[T](H, []int{0})
	if err != nil {
		return nil, err
	}
	x, err := layers.Linear(k, cls, h.DenseW, h.DenseB)
	if err != nil {
		return nil, err
	}
	if x, err = layers.Tanh[T](x); err != nil {
		return nil, err
	}
	return layers.Linear(k, x, h.OutW, h.OutB)
}

// checkInput returns an error unless H is a (rows × d) matrix of T that
// lay describes.
func checkInput[T float.DType](name string, H mat.Tensor, d int, lay Layout) error {
	if err := agfn.CheckType[T](name+": H", H); err != nil {
		return err
	}
	r, c := agfn.Dims(H)
	if c != d {
		return fmt.Errorf("%s: H has %d columns, the head was built for d = %d", name, c, d)
	}
	return lay.check(name, r)
}
