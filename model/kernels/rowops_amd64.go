//go:build amd64 && !purego

package kernels

// AVX2 row loops (rowops_amd64.s). Each takes n > 0, a multiple of 8, and
// gives bit-identical results to the Go function named in its comment.

//go:noescape
func maxAVX2(x *float32, n int) float32 // maxLanes

//go:noescape
func expShiftSumAVX2(x, y *float32, n int, mx float32) float64 // expShiftSumLanes

//go:noescape
func scaleAVX2(y *float32, n int, s float32) // scaleGo

//go:noescape
func dotAVX2(a, b *float32, n int) float64 // dotLanes

//go:noescape
func softmaxBwdAVX2(y, dy, dx *float32, n int, dot float32) // softmaxBwdGo

//go:noescape
func addAVX2(x, m, y *float32, n int) // addGo

//go:noescape
func accAVX2(acc *float64, x *float32, n int) // accGo

//go:noescape
func sumAVX2(x *float32, n int) float64 // sumLanes

//go:noescape
func sqDevAVX2(x *float32, n int, mu float64) float64 // sqDevLanes

//go:noescape
func lnOutAVX2(x, gamma, beta, y *float32, n int, mu, rs float64) // lnOutGo

//go:noescape
func lnBwdDotsAVX2(x, dy, gamma *float32, n int, mu, rs float64) (sg, sgx float64) // lnBwdDotsLanes

//go:noescape
func lnBwdOutAVX2(x, dy, gamma, dx *float32, n int, mu, rs, sg, sgx float64) // lnBwdOutGo

//go:noescape
func lnParamAccAVX2(dg, db *float64, x, dy *float32, n int, mu, rs float64) // lnParamAccGo

//go:noescape
func geluAVX2(x, y *float32, n int) // geluGo

//go:noescape
func geluGradAVX2(x, dy, dx *float32, n int) // geluGradGo

// rowVecName names the row-loop instruction set, for tests and benchmarks.
func rowVecName() string {
	if hasAVX2 {
		return "avx2"
	}
	return "go"
}

// The *8 functions below run the vector prefix (length a multiple of 8) of
// a row: with AVX2 in assembly, otherwise in Go with the same lanes. They
// index every other slice at len−1 first, since the assembly does not
// check bounds.

// useVec reports whether a prefix of length n runs in assembly. The loops
// step 8 elements at a time until the count reaches 0, so n must be a
// multiple of 8 (the callers pass n &^ 7).
func useVec(n int) bool {
	if n&7 != 0 {
		panic("kernels: vector row length is not a multiple of 8")
	}
	return hasAVX2 && n > 0
}

func max8(x []float32) float32 {
	if useVec(len(x)) {
		return maxAVX2(&x[0], len(x))
	}
	return maxLanes(x)
}

func expShiftSum8(x, y []float32, mx float32) float64 {
	if useVec(len(x)) {
		_ = y[len(x)-1]
		return expShiftSumAVX2(&x[0], &y[0], len(x), mx)
	}
	return expShiftSumLanes(x, y, mx)
}

func scale8(y []float32, s float32) {
	if useVec(len(y)) {
		scaleAVX2(&y[0], len(y), s)
		return
	}
	scaleGo(y, s)
}

func dot8(a, b []float32) float64 {
	if useVec(len(a)) {
		_ = b[len(a)-1]
		return dotAVX2(&a[0], &b[0], len(a))
	}
	return dotLanes(a, b)
}

func softmaxBwd8(y, dy, dx []float32, dot float32) {
	if useVec(len(y)) {
		_, _ = dy[len(y)-1], dx[len(y)-1]
		softmaxBwdAVX2(&y[0], &dy[0], &dx[0], len(y), dot)
		return
	}
	softmaxBwdGo(y, dy, dx, dot)
}

func gelu8(x, y []float32) {
	if useVec(len(x)) {
		_ = y[len(x)-1]
		geluAVX2(&x[0], &y[0], len(x))
		return
	}
	geluGo(x, y)
}

func geluGrad8(x, dy, dx []float32) {
	if useVec(len(x)) {
		_, _ = dy[len(x)-1], dx[len(x)-1]
		geluGradAVX2(&x[0], &dy[0], &dx[0], len(x))
		return
	}
	geluGradGo(x, dy, dx)
}

func add8(x, m, y []float32) {
	if useVec(len(x)) {
		_, _ = m[len(x)-1], y[len(x)-1]
		addAVX2(&x[0], &m[0], &y[0], len(x))
		return
	}
	addGo(x, m, y)
}

func acc8(acc []float64, x []float32) {
	if useVec(len(x)) {
		_ = acc[len(x)-1]
		accAVX2(&acc[0], &x[0], len(x))
		return
	}
	accGo(acc, x)
}

func sum8(x []float32) float64 {
	if useVec(len(x)) {
		return sumAVX2(&x[0], len(x))
	}
	return sumLanes(x)
}

func sqDev8(x []float32, mu float64) float64 {
	if useVec(len(x)) {
		return sqDevAVX2(&x[0], len(x), mu)
	}
	return sqDevLanes(x, mu)
}

func lnOut8(x, gamma, beta, y []float32, mu, rs float64) {
	if useVec(len(x)) {
		_, _, _ = gamma[len(x)-1], beta[len(x)-1], y[len(x)-1]
		lnOutAVX2(&x[0], &gamma[0], &beta[0], &y[0], len(x), mu, rs)
		return
	}
	lnOutGo(x, gamma, beta, y, mu, rs)
}

func lnBwdDots8(x, dy, gamma []float32, mu, rs float64) (sg, sgx float64) {
	if useVec(len(x)) {
		_, _ = dy[len(x)-1], gamma[len(x)-1]
		return lnBwdDotsAVX2(&x[0], &dy[0], &gamma[0], len(x), mu, rs)
	}
	return lnBwdDotsLanes(x, dy, gamma, mu, rs)
}

func lnBwdOut8(x, dy, gamma, dx []float32, mu, rs, sg, sgx float64) {
	if useVec(len(x)) {
		_, _, _ = dy[len(x)-1], gamma[len(x)-1], dx[len(x)-1]
		lnBwdOutAVX2(&x[0], &dy[0], &gamma[0], &dx[0], len(x), mu, rs, sg, sgx)
		return
	}
	lnBwdOutGo(x, dy, gamma, dx, mu, rs, sg, sgx)
}

func lnParamAcc8(dg, db []float64, x, dy []float32, mu, rs float64) {
	if useVec(len(x)) {
		_, _, _ = dg[len(x)-1], db[len(x)-1], dy[len(x)-1]
		lnParamAccAVX2(&dg[0], &db[0], &x[0], &dy[0], len(x), mu, rs)
		return
	}
	lnParamAccGo(dg, db, x, dy, mu, rs)
}
