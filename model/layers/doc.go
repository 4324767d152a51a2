// Package layers holds the transformer engine's whole-sequence layers as
// autograd functions on spago's ag graph.
//
// Every layer works on whole matrices, [tokens × hidden] (a batch of
// sequences is a stacked (B·n × hidden) matrix), never on per-token column
// vectors: a per-token graph costs one rank-1 weight update per token and an
// n×n softmax Jacobian per query (spago-notes §8: 78–154 s per BERT layer at
// 512 tokens instead of about a second).
//
// # Design
//
// Each layer is an [ag.AutoGradFunction] (Forward, Backward, Operands) in its
// own file, exposed as a small function that checks shapes, returns an error
// for bad input and only then builds the operator:
//
//	y, err := layers.Linear(k, x, w, b)
//
// The functions (x: (m, d) tokens × features, batches stacked by rows):
//
//	Linear(k, x, w, b)                    x·w + b, bias broadcast over rows
//	Embedding(table, ids)                 row lookup, sparse gradients
//	LayerNorm(k, x, gamma, beta, eps)     per-row layer norm
//	GELU(k, x), Tanh(x), Sigmoid(x)       activations (GELU: exact erf form)
//	Dropout(x, p, train, rng)             inverted dropout, caller-seeded mask
//	SelfAttention(k, qkv, heads, n, mask) multi-head attention, padded batches
//	Add(a, b)                             residual connection
//	BCEWithLogits(z, y, r), Huber(p, t, delta, r)  scalar losses
//	CrossEntropy(k, z, targets, ignore)   mean softmax cross-entropy (MLM)
//	Fanout(x, k)                          deterministic gradient fan-in
//
// Shapes are checked before the operator is created because spago calls
// log.Fatalf on any error returned from Forward or Backward (spago-notes
// B5); Forward and Backward here therefore never fail on user data.
//
// All arithmetic that matters for speed goes through the kernel interface
// [kernels.Kernels] held by the caller (k above): Gemm for every product,
// Softmax/SoftmaxBackward, LayerNorm/LayerNormBackward, GELU/GELUBackward,
// AddBias/ColSum. A CUDA backend implements that interface and the layers
// do not change. Cheap elementwise maps are still plain Go loops in the
// function files because the interface has no kernel for them yet; they are
// the next kernels to add for a device backend, since each loop would
// otherwise force a host round-trip: tanh and its backward (tanh.go),
// sigmoid (sigmoid.go), the residual add (residual.go), the dropout mask multiply (dropout.go), the
// BCE-with-logits and Huber losses and their backward (bce.go, huber.go),
// the embedding gather/scatter (embedding.go) and the attention mask
// construction and per-block pointer arithmetic (attention.go, which is
// otherwise only Gemm and Softmax calls).
//
// # Gradient rules of spago that the functions obey
//
// ag.Backward counts one pending gradient per (consumer, operand) pair and
// waits for all of them before running an operator's backward, so Backward
// must call AccGrad exactly once for every operand that requires a gradient,
// or the backward pass deadlocks. Gradients passed to AccGrad are cloned by
// spago on first use, so scratch buffers are never retained by the graph.
//
// # Determinism
//
// spago's backward runs one goroutine per operator and accumulates
// gradients under a mutex in arrival order (spago-notes §2).
// ag.SetForceSyncExecution(true) does not change that: it only makes the
// forward pass synchronous (ag/operator.go Run); ag.Backward always starts a
// goroutine per operator. What makes a pass bit-reproducible is the number
// of gradient contributions per node. A node's gradient is nil after
// ZeroGrad (and for every node created in this pass), the first
// contribution is cloned and later ones are added, and IEEE addition is
// commutative, so a fresh node with at most two contributions gets the same
// bits whichever arrives first (a+b == b+a). With three or more, or with two
// on top of a gradient already held (a parameter accumulating over several
// ag.Backward calls before an optimizer step: (G+a)+b ≠ (G+b)+a in general),
// addition is not associative and the result depends on goroutine
// scheduling. Measured over 300 identical backward passes: a tensor feeding
// six Linear layers directly got 20–23 distinct gradient bit patterns, a
// tensor already holding a gradient and feeding two got 2, a fresh tensor
// feeding two got 1, and through Fanout every case got 1.
//
// The layers are therefore designed so that every tensor has few
// consumers: each parameter is used by one function (one contribution per
// pass), and attention takes one fused QKV matrix (one Linear with a
// (d × 3d) weight), so the input of a transformer layer, a fresh node,
// feeds only that Linear and the residual. Each function computes its own
// gradients sequentially with deterministic kernels. Where a fresh tensor
// must feed three or more functions, or a parameter (tied weights, a layer
// applied twice in one graph) two or more, [Fanout] builds a chain of
// zero-copy identity nodes that fixes the summation order. Successive
// ag.Backward calls run one after another, so accumulating one
// contribution per call is deterministic. TestDeterminism checks
// bit-identical gradients over repeated forward+backward passes of a BERT
// layer on the CPU backend, whose kernels are deterministic for any
// GOMAXPROCS (the test varies it from 1 to 4).
//
// # Sparse embedding gradients
//
// [Embedding] takes the table as one tensor per row (spago's
// nn/embedding design: typically a []*nn.Param of 1×d rows). Its operands
// are the distinct rows used by the batch, so Backward scatters the output
// gradient into one 1×d gradient per used row and nothing else: no dense
// vocab×d gradient exists. The optimizer sees ordinary parameters, of which
// only the used rows have HasGrad() true; spago's optimizers skip parameters
// without a gradient, so an Adam step touches only those rows.
package layers
