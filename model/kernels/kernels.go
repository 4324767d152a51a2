// Package kernels is the numeric kernel interface of the icdcode transformer
// engine, with a reference implementation (the test oracle) and a fast,
// deterministic, multi-threaded CPU implementation.
//
// # Design
//
// The engine's whole-sequence autograd functions (attention, feed-forward,
// layer norm, losses) do all their arithmetic through [Kernels], a small
// interface over row-major matrices stored in Go slices with a leading
// dimension, so that a CUDA backend can be added later without touching
// model code. The interface is generic over [Float]: float32 is the training
// precision, float64 the precision of finite-difference gradient checks.
//
// A backend is obtained explicitly, [CPU] or [Reference], and held by the
// engine (typically in its configuration). There is deliberately no
// package-level "current backend" variable: a global switch would be mutable
// shared state that tests and concurrent trainers could race on, while an
// explicit value costs the engine one field. Backends are stateless values
// (apart from internal scratch-buffer pools) and safe for concurrent use.
//
// # Conventions
//
// A matrix argument is a slice s with a leading dimension ld: element (i, j)
// of an r×c matrix is s[i*ld+j], ld ≥ c, len(s) ≥ (r-1)*ld+c. Shapes are
// written above each method as in karpathy/llm.c. Every kernel except Gemm
// overwrites its outputs (Gemm has beta for accumulation). Unless stated,
// outputs must not overlap inputs.
//
// Kernels trust their callers: they are called from layers that have
// already checked user-visible shapes and return errors there. A kernel
// only checks, in O(1), that every slice is long enough for the shape it is
// told, and panics with a message naming the kernel and argument otherwise;
// such a panic is a programming error in the layer, not a data error.
//
// # Determinism
//
// The CPU backend produces bit-identical results run to run and for any
// GOMAXPROCS: work is split across goroutines only by output element (rows
// of C tiles, rows of row-wise kernels, column ranges of column sums), and
// each output element is reduced by one goroutine in an order that does not
// depend on the number of goroutines (for Gemm: fixed k-blocks in increasing
// order, each summed sequentially in k by the micro-kernel). Results may
// differ between machines with different instruction sets (AVX-512, AVX2,
// pure Go), and between backends.
package kernels

import "fmt"

// Float is the element type of the kernels.
type Float interface {
	float32 | float64
}

// Kernels is the numeric kernel interface used by the engine. All matrices
// are row-major with leading dimensions (see the package documentation).
type Kernels[T Float] interface {
	// Name identifies the backend and its instruction set, e.g. "cpu/avx512".
	Name() string

	// Gemm computes C = alpha·op(A)·op(B) + beta·C, op(X) = Xᵀ if transX.
	//   op(A): (m, k); A is (m, k) with lda ≥ k, or (k, m) with lda ≥ m if transA
	//   op(B): (k, n); B is (k, n) with ldb ≥ n, or (n, k) with ldb ≥ k if transB
	//   C:     (m, n), ldc ≥ n
	// If beta == 0, C is not read (NaNs in C do not propagate). C must not
	// overlap A or B.
	Gemm(transA, transB bool, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int)

	// Softmax computes y = softmax(x + mask) along each row.
	//   x, y: (m, n)
	//   mask: nil (no mask); or (1, n) with ldmask == 0, added to every row
	//         (a key-padding mask); or (m, n) with ldmask ≥ n.
	// Mask entries are additive (0 keeps, -Inf removes). A row whose entries
	// are all -Inf yields all zeros. y may be x (in place).
	Softmax(m, n int, x []T, ldx int, mask []T, ldmask int, y []T, ldy int)

	// SoftmaxBackward computes dx = y ⊙ (dy − rowsum(dy ⊙ y)), the O(n)
	// gradient through y = softmax(x) (and through any additive mask).
	//   y, dy, dx: (m, n). dx may be dy (in place).
	SoftmaxBackward(m, n int, y []T, ldy int, dy []T, lddy int, dx []T, lddx int)

	// LayerNorm normalises each row: y = (x − mean)·rstd·gamma + beta, with
	// rstd = 1/sqrt(var + eps), var the biased (1/n) variance.
	//   x, y: (m, n); gamma, beta: (n); mean, rstd: (m), saved for backward.
	// y may be x (in place).
	LayerNorm(m, n int, x []T, ldx int, gamma, beta []T, eps T, y []T, ldy int, mean, rstd []T)

	// LayerNormBackward computes the gradients of LayerNorm from its saved
	// mean and rstd.
	//   dy, x, dx: (m, n); gamma, dgamma, dbeta: (n); mean, rstd: (m)
	// dx, dgamma and dbeta are overwritten. dx may be dy.
	LayerNormBackward(m, n int, dy []T, lddy int, x []T, ldx int, gamma, mean, rstd []T, dx []T, lddx int, dgamma, dbeta []T)

	// GELU computes y = x·Φ(x) = 0.5·x·(1 + erf(x/√2)) elementwise.
	//   x, y: (m, n). y may be x.
	GELU(m, n int, x []T, ldx int, y []T, ldy int)

	// GELUBackward computes dx = dy·GELU'(x), GELU'(x) = Φ(x) + x·φ(x).
	//   x, dy, dx: (m, n). dx may be dy (not x).
	GELUBackward(m, n int, x []T, ldx int, dy []T, lddy int, dx []T, lddx int)

	// AddBias adds bias to every row of c: c[i,j] += bias[j].
	//   c: (m, n); bias: (n)
	AddBias(m, n int, bias []T, c []T, ldc int)

	// ColSum computes out[j] = Σ_i x[i,j] (the gradient of a bias).
	//   x: (m, n); out: (n)
	ColSum(m, n int, x []T, ldx int, out []T)
}

// checkMat panics unless s can hold an r×c matrix with leading dimension ld.
func checkMat[T Float](kernel, name string, r, c int, s []T, ld int) {
	if r < 0 || c < 0 {
		panic(fmt.Sprintf("kernels.%s: negative shape %d×%d for %s", kernel, r, c, name))
	}
	if r == 0 || c == 0 {
		return
	}
	if ld < c {
		panic(fmt.Sprintf("kernels.%s: %s is %d×%d but its leading dimension is %d", kernel, name, r, c, ld))
	}
	if need := (r-1)*ld + c; len(s) < need {
		panic(fmt.Sprintf("kernels.%s: %s is %d×%d with leading dimension %d and needs %d elements, has %d", kernel, name, r, c, ld, need, len(s)))
	}
}

// checkVec panics unless len(s) ≥ n.
func checkVec[T Float](kernel, name string, n int, s []T) {
	if len(s) < n {
		panic(fmt.Sprintf("kernels.%s: %s needs %d elements, has %d", kernel, name, n, len(s)))
	}
}

// checkGemm checks the shapes of a Gemm call.
func checkGemm[T Float](kernel string, transA, transB bool, m, n, k int, a []T, lda int, b []T, ldb int, c []T, ldc int) {
	if m < 0 || n < 0 || k < 0 {
		panic(fmt.Sprintf("kernels.%s: negative size m=%d n=%d k=%d", kernel, m, n, k))
	}
	if transA {
		checkMat(kernel, "A (k×m, transposed)", k, m, a, lda)
	} else {
		checkMat(kernel, "A (m×k)", m, k, a, lda)
	}
	if transB {
		checkMat(kernel, "B (n×k, transposed)", n, k, b, ldb)
	} else {
		checkMat(kernel, "B (k×n)", k, n, b, ldb)
	}
	checkMat(kernel, "C (m×n)", m, n, c, ldc)
}
