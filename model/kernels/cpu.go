package kernels

import (
	"math"
	"runtime"
)

// Package-level GEMM configurations, chosen once from the CPU features and
// never modified afterwards.
var (
	f32Config = f32Configs()[0]
	f64Config = f64Configs()[0]
)

// CPU returns the fast CPU backend: cache-blocked GEMM with AVX-512 or
// AVX2/FMA assembly micro-kernels where the CPU supports them (pure Go
// otherwise), and row-parallel row-wise kernels. It uses up to
// runtime.GOMAXPROCS(0) goroutines per call and is deterministic (see the
// package documentation).
//
// In float32 the row-wise kernels run the loops of rowops_cpu.go: float32
// exp/erf approximations (mathapprox.go; exp within 1 ulp, erf within
// 4.5e-7 absolute) and AVX2 assembly where available, with results that
// are bit-identical to their pure Go fallback, so unlike Gemm they do not
// depend on the instruction set. In float64 they use math.Exp/math.Erf and
// the scalar loops below.
func CPU[T Float]() Kernels[T] {
	var zero T
	switch any(zero).(type) {
	case float32:
		return any(cpuBackend[float32]{f32Config}).(Kernels[T])
	default:
		return any(cpuBackend[float64]{f64Config}).(Kernels[T])
	}
}

type cpuBackend[T Float] struct {
	cfg *gemmConfig[T]
}

func (k cpuBackend[T]) Name() string { return "cpu/" + k.cfg.name }

func (k cpuBackend[T]) Gemm(transA, transB bool, m, n, kk int, alpha T, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int) {
	checkGemm("Gemm", transA, transB, m, n, kk, a, lda, b, ldb, c, ldc)
	k.cfg.gemm(runtime.GOMAXPROCS(0), transA, transB, m, n, kk, alpha, a, lda, b, ldb, beta, c, ldc)
}

// rowParallelMin is the number of elements below which row-wise kernels run
// on the calling goroutine only: goroutine start-up (≈1 µs) would dominate.
const rowParallelMin = 1 << 14

// forRows calls f on contiguous row ranges covering [0, m), in parallel.
// Rows are independent, so the split does not affect the results.
func forRows(m, n int, f func(lo, hi int)) {
	nt := runtime.GOMAXPROCS(0)
	if m*n < rowParallelMin {
		nt = 1
	}
	nt = max(min(nt, m), 1)
	parallel(nt, func(t int) {
		lo, hi := split(m, nt, t)
		f(lo, hi)
	})
}

// forCols calls f on contiguous column ranges covering [0, n), in
// parallel. Used for column reductions: each column is summed over all
// rows, in row order, by one goroutine.
func forCols(m, n int, f func(lo, hi int)) {
	nt := runtime.GOMAXPROCS(0)
	if m*n < rowParallelMin {
		nt = 1
	}
	nt = max(min(nt, n/16), 1)
	parallel(nt, func(t int) {
		lo, hi := split(n, nt, t)
		f(lo, hi)
	})
}

func (cpuBackend[T]) Softmax(m, n int, x []T, ldx int, mask []T, ldmask int, y []T, ldy int) {
	checkMat("Softmax", "x", m, n, x, ldx)
	checkMask("Softmax", m, n, mask, ldmask)
	checkMat("Softmax", "y", m, n, y, ldy)
	if xs, ok := any(x).([]float32); ok {
		ms, ys := any(mask).([]float32), any(y).([]float32)
		forRows(m, n, func(lo, hi int) { softmaxRows32(lo, hi, n, xs, ldx, ms, ldmask, ys, ldy) })
		return
	}
	forRows(m, n, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			xr := x[i*ldx : i*ldx+n]
			yr := y[i*ldy : i*ldy+n]
			var mr []T
			if mask != nil {
				mr = mask[i*ldmask : i*ldmask+n]
			}
			mx := math.Inf(-1)
			for j, v := range xr {
				z := float64(v)
				if mr != nil {
					z += float64(mr[j])
				}
				mx = max(mx, z)
			}
			if math.IsInf(mx, -1) {
				clear(yr)
				continue
			}
			var s float64
			for j, v := range xr {
				z := float64(v)
				if mr != nil {
					z += float64(mr[j])
				}
				e := math.Exp(z - mx)
				s += e
				yr[j] = T(e)
			}
			inv := 1 / s
			for j := range yr {
				yr[j] = T(float64(yr[j]) * inv)
			}
		}
	})
}

func (cpuBackend[T]) SoftmaxBackward(m, n int, y []T, ldy int, dy []T, lddy int, dx []T, lddx int) {
	checkMat("SoftmaxBackward", "y", m, n, y, ldy)
	checkMat("SoftmaxBackward", "dy", m, n, dy, lddy)
	checkMat("SoftmaxBackward", "dx", m, n, dx, lddx)
	if ys, ok := any(y).([]float32); ok {
		gs, xs := any(dy).([]float32), any(dx).([]float32)
		forRows(m, n, func(lo, hi int) { softmaxBwdRows32(lo, hi, n, ys, ldy, gs, lddy, xs, lddx) })
		return
	}
	forRows(m, n, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			yr := y[i*ldy : i*ldy+n]
			gr := dy[i*lddy : i*lddy+n]
			xr := dx[i*lddx : i*lddx+n]
			var dot float64
			for j, v := range yr {
				dot += float64(v) * float64(gr[j])
			}
			for j, v := range yr {
				xr[j] = T(float64(v) * (float64(gr[j]) - dot))
			}
		}
	})
}

func (cpuBackend[T]) LayerNorm(m, n int, x []T, ldx int, gamma, beta []T, eps T, y []T, ldy int, mean, rstd []T) {
	checkMat("LayerNorm", "x", m, n, x, ldx)
	checkVec("LayerNorm", "gamma", n, gamma)
	checkVec("LayerNorm", "beta", n, beta)
	checkMat("LayerNorm", "y", m, n, y, ldy)
	checkVec("LayerNorm", "mean", m, mean)
	checkVec("LayerNorm", "rstd", m, rstd)
	gamma, beta = gamma[:n], beta[:n]
	if xs, ok := any(x).([]float32); ok {
		gs, bs, ys, ms, rs := any(gamma).([]float32), any(beta).([]float32), any(y).([]float32), any(mean).([]float32), any(rstd).([]float32)
		forRows(m, n, func(lo, hi int) { layerNormRows32(lo, hi, n, xs, ldx, gs, bs, float32(eps), ys, ldy, ms, rs) })
		return
	}
	forRows(m, n, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			xr := x[i*ldx : i*ldx+n]
			yr := y[i*ldy : i*ldy+n]
			var s float64
			for _, v := range xr {
				s += float64(v)
			}
			mu := s / float64(n)
			var ss float64
			for _, v := range xr {
				d := float64(v) - mu
				ss += d * d
			}
			rs := 1 / math.Sqrt(ss/float64(n)+float64(eps))
			for j, v := range xr {
				yr[j] = T((float64(v)-mu)*rs*float64(gamma[j]) + float64(beta[j]))
			}
			mean[i], rstd[i] = T(mu), T(rs)
		}
	})
}

func (cpuBackend[T]) LayerNormBackward(m, n int, dy []T, lddy int, x []T, ldx int, gamma, mean, rstd []T, dx []T, lddx int, dgamma, dbeta []T) {
	checkMat("LayerNormBackward", "dy", m, n, dy, lddy)
	checkMat("LayerNormBackward", "x", m, n, x, ldx)
	checkVec("LayerNormBackward", "gamma", n, gamma)
	checkVec("LayerNormBackward", "mean", m, mean)
	checkVec("LayerNormBackward", "rstd", m, rstd)
	checkMat("LayerNormBackward", "dx", m, n, dx, lddx)
	checkVec("LayerNormBackward", "dgamma", n, dgamma)
	checkVec("LayerNormBackward", "dbeta", n, dbeta)
	gamma = gamma[:n]
	if xs, ok := any(x).([]float32); ok {
		gys, gs, ms, rs := any(dy).([]float32), any(gamma).([]float32), any(mean).([]float32), any(rstd).([]float32)
		dxs, dgs, dbs := any(dx).([]float32), any(dgamma).([]float32), any(dbeta).([]float32)
		// Parameter gradients first: dx may alias dy.
		forCols(m, n, func(lo, hi int) { layerNormParamGrads32(lo, hi, m, gys, lddy, xs, ldx, ms, rs, dgs, dbs) })
		forRows(m, n, func(lo, hi int) { layerNormBwdRows32(lo, hi, n, gys, lddy, xs, ldx, gs, ms, rs, dxs, lddx) })
		return
	}
	// Parameter gradients first: dx may alias dy.
	forCols(m, n, func(lo, hi int) {
		dg := make([]float64, hi-lo)
		db := make([]float64, hi-lo)
		for i := 0; i < m; i++ {
			mu, rs := float64(mean[i]), float64(rstd[i])
			xr := x[i*ldx+lo : i*ldx+hi]
			gr := dy[i*lddy+lo : i*lddy+hi]
			for j, g := range gr {
				dg[j] += float64(g) * (float64(xr[j]) - mu) * rs
				db[j] += float64(g)
			}
		}
		for j := range dg {
			dgamma[lo+j], dbeta[lo+j] = T(dg[j]), T(db[j])
		}
	})
	forRows(m, n, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			mu, rs := float64(mean[i]), float64(rstd[i])
			xr := x[i*ldx : i*ldx+n]
			gr := dy[i*lddy : i*lddy+n]
			dr := dx[i*lddx : i*lddx+n]
			var sg, sgx float64
			for j, v := range xr {
				g := float64(gr[j]) * float64(gamma[j])
				sg += g
				sgx += g * (float64(v) - mu) * rs
			}
			sg /= float64(n)
			sgx /= float64(n)
			for j, v := range xr {
				xh := (float64(v) - mu) * rs
				dr[j] = T(rs * (float64(gr[j])*float64(gamma[j]) - sg - xh*sgx))
			}
		}
	})
}

const invSqrt2Pi = 0.3989422804014327 // 1/√(2π)

func (cpuBackend[T]) GELU(m, n int, x []T, ldx int, y []T, ldy int) {
	checkMat("GELU", "x", m, n, x, ldx)
	checkMat("GELU", "y", m, n, y, ldy)
	if xs, ok := any(x).([]float32); ok {
		ys := any(y).([]float32)
		forRows(m, n, func(lo, hi int) { geluRows32(lo, hi, n, xs, ldx, ys, ldy) })
		return
	}
	forRows(m, n, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			yr := y[i*ldy : i*ldy+n]
			for j, v := range x[i*ldx : i*ldx+n] {
				z := float64(v)
				yr[j] = T(0.5 * z * (1 + math.Erf(z*(1/math.Sqrt2))))
			}
		}
	})
}

func (cpuBackend[T]) GELUBackward(m, n int, x []T, ldx int, dy []T, lddy int, dx []T, lddx int) {
	checkMat("GELUBackward", "x", m, n, x, ldx)
	checkMat("GELUBackward", "dy", m, n, dy, lddy)
	checkMat("GELUBackward", "dx", m, n, dx, lddx)
	if xs, ok := any(x).([]float32); ok {
		gs, ds := any(dy).([]float32), any(dx).([]float32)
		forRows(m, n, func(lo, hi int) { geluGradRows32(lo, hi, n, xs, ldx, gs, lddy, ds, lddx) })
		return
	}
	forRows(m, n, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			gr := dy[i*lddy : i*lddy+n]
			dr := dx[i*lddx : i*lddx+n]
			for j, v := range x[i*ldx : i*ldx+n] {
				z := float64(v)
				d := 0.5*(1+math.Erf(z*(1/math.Sqrt2))) + z*invSqrt2Pi*math.Exp(-0.5*z*z)
				dr[j] = T(float64(gr[j]) * d)
			}
		}
	})
}

func (cpuBackend[T]) AddBias(m, n int, bias []T, c []T, ldc int) {
	checkVec("AddBias", "bias", n, bias)
	checkMat("AddBias", "c", m, n, c, ldc)
	bias = bias[:n]
	if bs, ok := any(bias).([]float32); ok {
		cs := any(c).([]float32)
		forRows(m, n, func(lo, hi int) { addBiasRows32(lo, hi, n, bs, cs, ldc) })
		return
	}
	forRows(m, n, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			cr := c[i*ldc : i*ldc+n]
			for j, v := range bias {
				cr[j] += v
			}
		}
	})
}

func (cpuBackend[T]) ColSum(m, n int, x []T, ldx int, out []T) {
	checkMat("ColSum", "x", m, n, x, ldx)
	checkVec("ColSum", "out", n, out)
	if xs, ok := any(x).([]float32); ok {
		os := any(out).([]float32)
		forCols(m, n, func(lo, hi int) { colSum32(lo, hi, m, xs, ldx, os) })
		return
	}
	forCols(m, n, func(lo, hi int) {
		acc := make([]float64, hi-lo)
		for i := 0; i < m; i++ {
			for j, v := range x[i*ldx+lo : i*ldx+hi] {
				acc[j] += float64(v)
			}
		}
		for j, v := range acc {
			out[lo+j] = T(v)
		}
	})
}
