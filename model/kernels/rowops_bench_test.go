package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

// scalarCPU is the CPU backend as it was before the float32 row loops
// (float64 math.Exp/math.Erf, scalar Go, same row parallelism), kept as
// the baseline of the row-op benchmarks.
type scalarCPU[T Float] struct{ cpuBackend[T] }

func (scalarCPU[T]) Softmax(m, n int, x []T, ldx int, mask []T, ldmask int, y []T, ldy int) {
	checkMat("Softmax", "x", m, n, x, ldx)
	checkMask("Softmax", m, n, mask, ldmask)
	checkMat("Softmax", "y", m, n, y, ldy)
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
func (scalarCPU[T]) SoftmaxBackward(m, n int, y []T, ldy int, dy []T, lddy int, dx []T, lddx int) {
	checkMat("SoftmaxBackward", "y", m, n, y, ldy)
	checkMat("SoftmaxBackward", "dy", m, n, dy, lddy)
	checkMat("SoftmaxBackward", "dx", m, n, dx, lddx)
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
func (scalarCPU[T]) LayerNorm(m, n int, x []T, ldx int, gamma, beta []T, eps T, y []T, ldy int, mean, rstd []T) {
	checkMat("LayerNorm", "x", m, n, x, ldx)
	checkVec("LayerNorm", "gamma", n, gamma)
	checkVec("LayerNorm", "beta", n, beta)
	checkMat("LayerNorm", "y", m, n, y, ldy)
	checkVec("LayerNorm", "mean", m, mean)
	checkVec("LayerNorm", "rstd", m, rstd)
	gamma, beta = gamma[:n], beta[:n]
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
func (scalarCPU[T]) LayerNormBackward(m, n int, dy []T, lddy int, x []T, ldx int, gamma, mean, rstd []T, dx []T, lddx int, dgamma, dbeta []T) {
	checkMat("LayerNormBackward", "dy", m, n, dy, lddy)
	checkMat("LayerNormBackward", "x", m, n, x, ldx)
	checkVec("LayerNormBackward", "gamma", n, gamma)
	checkVec("LayerNormBackward", "mean", m, mean)
	checkVec("LayerNormBackward", "rstd", m, rstd)
	checkMat("LayerNormBackward", "dx", m, n, dx, lddx)
	checkVec("LayerNormBackward", "dgamma", n, dgamma)
	checkVec("LayerNormBackward", "dbeta", n, dbeta)
	gamma = gamma[:n]
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
func (scalarCPU[T]) GELU(m, n int, x []T, ldx int, y []T, ldy int) {
	checkMat("GELU", "x", m, n, x, ldx)
	checkMat("GELU", "y", m, n, y, ldy)
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
func (scalarCPU[T]) GELUBackward(m, n int, x []T, ldx int, dy []T, lddy int, dx []T, lddx int) {
	checkMat("GELUBackward", "x", m, n, x, ldx)
	checkMat("GELUBackward", "dy", m, n, dy, lddy)
	checkMat("GELUBackward", "dx", m, n, dx, lddx)
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
func (scalarCPU[T]) AddBias(m, n int, bias []T, c []T, ldc int) {
	checkVec("AddBias", "bias", n, bias)
	checkMat("AddBias", "c", m, n, c, ldc)
	bias = bias[:n]
	forRows(m, n, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			cr := c[i*ldc : i*ldc+n]
			for j, v := range bias {
				cr[j] += v
			}
		}
	})
}
func (scalarCPU[T]) ColSum(m, n int, x []T, ldx int, out []T) {
	checkMat("ColSum", "x", m, n, x, ldx)
	checkVec("ColSum", "out", n, out)
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

// BenchmarkRowOps times each row-wise kernel on its BERT-base shape
// (softmax: 12 heads × 512 query rows × 512 keys; GELU: 512 × 3072;
// LayerNorm: 512 × 768; bias: 512 × 3072), float32, for the CPU backend,
// the scalar baseline and the reference backend (single-threaded).
// Compare within one run: go test -bench RowOps -run XXX ./model/kernels
func BenchmarkRowOps(b *testing.B) {
	backends := []struct {
		name string
		k    Kernels[float32]
	}{{"cpu", CPU[float32]()}, {"scalar", scalarCPU[float32]{CPU[float32]().(cpuBackend[float32])}}, {"reference", Reference[float32]()}}
	r := rand.New(rand.NewPCG(71, 72))
	const sm, sn = 12 * 512, 512
	scores := randSlice[float32](r, sm*sn)
	for j := range scores {
		scores[j] *= 8
	}
	keyMask := make([]float32, sn)
	for j := 400; j < sn; j++ {
		keyMask[j] = float32(math.Inf(-1))
	}
	probs, ds, sdx := make([]float32, sm*sn), randSlice[float32](r, sm*sn), make([]float32, sm*sn)
	const gm, gn = 512, 3072
	h := randSlice[float32](r, gm*gn)
	for j := range h {
		h[j] *= 4
	}
	gy, gout := randSlice[float32](r, gm*gn), make([]float32, gm*gn)
	const lm, ln = 512, 768
	lx, ldy, lout := randSlice[float32](r, lm*ln), randSlice[float32](r, lm*ln), make([]float32, lm*ln)
	gamma, beta := randSlice[float32](r, ln), randSlice[float32](r, ln)
	mean, rstd, dg, db := make([]float32, lm), make([]float32, lm), make([]float32, ln), make([]float32, ln)
	bias, cs := randSlice[float32](r, gn), make([]float32, gn)
	ops := []struct {
		name  string
		elems int
		f     func(k Kernels[float32])
	}{
		{"Softmax", sm * sn, func(k Kernels[float32]) { k.Softmax(sm, sn, scores, sn, nil, 0, probs, sn) }},
		{"SoftmaxKeyMask", sm * sn, func(k Kernels[float32]) { k.Softmax(sm, sn, scores, sn, keyMask, 0, probs, sn) }},
		{"SoftmaxBackward", sm * sn, func(k Kernels[float32]) { k.SoftmaxBackward(sm, sn, probs, sn, ds, sn, sdx, sn) }},
		{"GELU", gm * gn, func(k Kernels[float32]) { k.GELU(gm, gn, h, gn, gout, gn) }},
		{"GELUBackward", gm * gn, func(k Kernels[float32]) { k.GELUBackward(gm, gn, h, gn, gy, gn, gout, gn) }},
		{"LayerNorm", lm * ln, func(k Kernels[float32]) { k.LayerNorm(lm, ln, lx, ln, gamma, beta, 1e-12, lout, ln, mean, rstd) }},
		{"LayerNormBackward", lm * ln, func(k Kernels[float32]) {
			k.LayerNormBackward(lm, ln, ldy, ln, lx, ln, gamma, mean, rstd, lout, ln, dg, db)
		}},
		{"AddBias", gm * gn, func(k Kernels[float32]) { k.AddBias(gm, gn, bias, gout, gn) }},
		{"ColSum", gm * gn, func(k Kernels[float32]) { k.ColSum(gm, gn, gy, gn, cs) }},
	}
	for _, op := range ops {
		for _, be := range backends {
			b.Run(op.name+"/"+be.name, func(b *testing.B) {
				CPU[float32]().LayerNorm(lm, ln, lx, ln, gamma, beta, 1e-12, lout, ln, mean, rstd)
				for b.Loop() {
					op.f(be.k)
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(op.elems), "ns/elem")
			})
		}
	}
}
