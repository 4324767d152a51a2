//go:build !amd64 || purego

package kernels

// Without the assembly, the vector prefixes of the rows run the Go
// versions, which compute the same lanes in the same order (so the results
// are the same as with AVX2).

func rowVecName() string { return "go" }

func max8(x []float32) float32                           { return maxLanes(x) }
func expShiftSum8(x, y []float32, mx float32) float64    { return expShiftSumLanes(x, y, mx) }
func scale8(y []float32, s float32)                      { scaleGo(y, s) }
func dot8(a, b []float32) float64                        { return dotLanes(a, b) }
func softmaxBwd8(y, dy, dx []float32, dot float32)       { softmaxBwdGo(y, dy, dx, dot) }
func gelu8(x, y []float32)                               { geluGo(x, y) }
func geluGrad8(x, dy, dx []float32)                      { geluGradGo(x, dy, dx) }
func add8(x, m, y []float32)                             { addGo(x, m, y) }
func acc8(acc []float64, x []float32)                    { accGo(acc, x) }
func sum8(x []float32) float64                           { return sumLanes(x) }
func sqDev8(x []float32, mu float64) float64             { return sqDevLanes(x, mu) }
func lnOut8(x, gamma, beta, y []float32, mu, rs float64) { lnOutGo(x, gamma, beta, y, mu, rs) }
func lnBwdDots8(x, dy, gamma []float32, mu, rs float64) (sg, sgx float64) {
	return lnBwdDotsLanes(x, dy, gamma, mu, rs)
}
func lnBwdOut8(x, dy, gamma, dx []float32, mu, rs, sg, sgx float64) {
	lnBwdOutGo(x, dy, gamma, dx, mu, rs, sg, sgx)
}
func lnParamAcc8(dg, db []float64, x, dy []float32, mu, rs float64) {
	lnParamAccGo(dg, db, x, dy, mu, rs)
}
