// Package heads holds icdcode's classification heads: the functions that
// turn the encoder states of one document into one logit per ICD label.
//
//	CE    reference CE (§1): pooler on each chunk's [CLS] → linear → max over chunks
//	LE    reference LE (§2): dense → tanh → out_proj on the [CLS] row
//	LAAT  LAAT / PLM-ICD label-wise attention over the concatenated chunks
//	MSAM  reference MSAM (§3), faithful, with §14's fixes as MSAMConfig switches
//
// Section numbers refer to /work/shared/docs/msam-reference.md.
//
// Every head takes H, the (tokens × d) states of all chunks of one
// document stacked by rows, with a [Layout] (chunk count, chunk length and
// a 0/1 token mask), and returns a (1 × L) logit row, built from autograd
// functions on spago's ag graph so that ag.Backward trains the head and
// the encoder below it. Parameters are *nn.Param with a seeded initial
// value documented per head; weights are stored (in × out), the convention
// of model/layers.Linear (y = x·W + b).
//
// Operations that model/layers lacks are autograd functions of this
// package, one per file, with the same discipline as model/layers: shapes
// are checked before the operator is built (spago turns an error inside
// Forward or Backward into log.Fatalf), products and softmaxes go through
// [kernels.Kernels] (Gemm, Softmax with an additive mask,
// SoftmaxBackward), and Backward calls AccGrad exactly once per operand:
//
//	LabelAttention  multi-head label-wise attention of fixed query rows over chunks
//	SynonymPool     mean or max over the M synonyms of each label
//	LabelDot        per-label dot with per-label output vectors (+ bias)
//	ChunkMax        max over chunks of each label's logit
//	Rows            row gather ([CLS] rows)
//
// # Determinism
//
// model/layers' rule holds: every parameter is used by one function per
// graph and H feeds at most two (MSAM: the W_K projection and tanh; LAAT:
// the W projection and the attention values; CE/LE: the row gather), so
// gradients are bit-reproducible on a deterministic backend. Inside the
// functions, sums over chunks (the query gradient of LabelAttention, the
// weight gradient of LabelDot) run sequentially in chunk order, and max
// ties go to the first maximal element.
package heads
