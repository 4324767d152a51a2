package kernels

import "math"

// Reference returns the reference backend: single-threaded, obviously
// correct loops with float64 accumulation, used as the oracle in tests and
// as a readable specification of each kernel. It is slow; do not train
// with it.
func Reference[T Float]() Kernels[T] { return reference[T]{} }

type reference[T Float] struct{}

func (reference[T]) Name() string { return "reference" }

func (reference[T]) Gemm(transA, transB bool, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int) {
	checkGemm("Gemm", transA, transB, m, n, k, a, lda, b, ldb, c, ldc)
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s float64
			for p := 0; p < k; p++ {
				var av, bv T
				if transA {
					av = a[p*lda+i]
				} else {
					av = a[i*lda+p]
				}
				if transB {
					bv = b[j*ldb+p]
				} else {
					bv = b[p*ldb+j]
				}
				s += float64(av) * float64(bv)
			}
			r := float64(alpha) * s
			if beta != 0 {
				r += float64(beta) * float64(c[i*ldc+j])
			}
			c[i*ldc+j] = T(r)
		}
	}
}

// maskAt returns the additive mask for element (i, j).
func maskAt[T Float](mask []T, ldmask, i, j int) T {
	if mask == nil {
		return 0
	}
	return mask[i*ldmask+j]
}

func checkMask[T Float](kernel string, m, n int, mask []T, ldmask int) {
	if mask == nil {
		return
	}
	if ldmask == 0 {
		checkVec(kernel, "mask (1×n)", n, mask)
		return
	}
	checkMat(kernel, "mask", m, n, mask, ldmask)
}

func (reference[T]) Softmax(m, n int, x []T, ldx int, mask []T, ldmask int, y []T, ldy int) {
	checkMat("Softmax", "x", m, n, x, ldx)
	checkMask("Softmax", m, n, mask, ldmask)
	checkMat("Softmax", "y", m, n, y, ldy)
	z := make([]float64, n)
	for i := 0; i < m; i++ {
		mx := math.Inf(-1)
		for j := 0; j < n; j++ {
			z[j] = float64(x[i*ldx+j]) + float64(maskAt(mask, ldmask, i, j))
			mx = math.Max(mx, z[j])
		}
		if math.IsInf(mx, -1) {
			for j := 0; j < n; j++ {
				y[i*ldy+j] = 0
			}
			continue
		}
		var s float64
		for j := 0; j < n; j++ {
			z[j] = math.Exp(z[j] - mx)
			s += z[j]
		}
		for j := 0; j < n; j++ {
			y[i*ldy+j] = T(z[j] / s)
		}
	}
}

func (reference[T]) SoftmaxBackward(m, n int, y []T, ldy int, dy []T, lddy int, dx []T, lddx int) {
	checkMat("SoftmaxBackward", "y", m, n, y, ldy)
	checkMat("SoftmaxBackward", "dy", m, n, dy, lddy)
	checkMat("SoftmaxBackward", "dx", m, n, dx, lddx)
	for i := 0; i < m; i++ {
		var dot float64
		for j := 0; j < n; j++ {
			dot += float64(dy[i*lddy+j]) * float64(y[i*ldy+j])
		}
		for j := 0; j < n; j++ {
			dx[i*lddx+j] = T(float64(y[i*ldy+j]) * (float64(dy[i*lddy+j]) - dot))
		}
	}
}

func (reference[T]) LayerNorm(m, n int, x []T, ldx int, gamma, beta []T, eps T, y []T, ldy int, mean, rstd []T) {
	checkMat("LayerNorm", "x", m, n, x, ldx)
	checkVec("LayerNorm", "gamma", n, gamma)
	checkVec("LayerNorm", "beta", n, beta)
	checkMat("LayerNorm", "y", m, n, y, ldy)
	checkVec("LayerNorm", "mean", m, mean)
	checkVec("LayerNorm", "rstd", m, rstd)
	for i := 0; i < m; i++ {
		var mu float64
		for j := 0; j < n; j++ {
			mu += float64(x[i*ldx+j])
		}
		mu /= float64(n)
		var v float64
		for j := 0; j < n; j++ {
			d := float64(x[i*ldx+j]) - mu
			v += d * d
		}
		v /= float64(n)
		rs := 1 / math.Sqrt(v+float64(eps))
		for j := 0; j < n; j++ {
			y[i*ldy+j] = T((float64(x[i*ldx+j])-mu)*rs*float64(gamma[j]) + float64(beta[j]))
		}
		mean[i], rstd[i] = T(mu), T(rs)
	}
}

func (reference[T]) LayerNormBackward(m, n int, dy []T, lddy int, x []T, ldx int, gamma, mean, rstd []T, dx []T, lddx int, dgamma, dbeta []T) {
	checkMat("LayerNormBackward", "dy", m, n, dy, lddy)
	checkMat("LayerNormBackward", "x", m, n, x, ldx)
	checkVec("LayerNormBackward", "gamma", n, gamma)
	checkVec("LayerNormBackward", "mean", m, mean)
	checkVec("LayerNormBackward", "rstd", m, rstd)
	checkMat("LayerNormBackward", "dx", m, n, dx, lddx)
	checkVec("LayerNormBackward", "dgamma", n, dgamma)
	checkVec("LayerNormBackward", "dbeta", n, dbeta)
	dg := make([]float64, n)
	db := make([]float64, n)
	for i := 0; i < m; i++ {
		mu, rs := float64(mean[i]), float64(rstd[i])
		// dx = rs·(g − mean(g) − xhat·mean(g·xhat)) with g = dy·gamma.
		var sg, sgx float64
		for j := 0; j < n; j++ {
			xh := (float64(x[i*ldx+j]) - mu) * rs
			g := float64(dy[i*lddy+j]) * float64(gamma[j])
			sg += g
			sgx += g * xh
			dg[j] += float64(dy[i*lddy+j]) * xh
			db[j] += float64(dy[i*lddy+j])
		}
		sg /= float64(n)
		sgx /= float64(n)
		for j := 0; j < n; j++ {
			xh := (float64(x[i*ldx+j]) - mu) * rs
			g := float64(dy[i*lddy+j]) * float64(gamma[j])
			dx[i*lddx+j] = T(rs * (g - sg - xh*sgx))
		}
	}
	for j := 0; j < n; j++ {
		dgamma[j], dbeta[j] = T(dg[j]), T(db[j])
	}
}

func (reference[T]) GELU(m, n int, x []T, ldx int, y []T, ldy int) {
	checkMat("GELU", "x", m, n, x, ldx)
	checkMat("GELU", "y", m, n, y, ldy)
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			v := float64(x[i*ldx+j])
			y[i*ldy+j] = T(0.5 * v * (1 + math.Erf(v/math.Sqrt2)))
		}
	}
}

func (reference[T]) GELUBackward(m, n int, x []T, ldx int, dy []T, lddy int, dx []T, lddx int) {
	checkMat("GELUBackward", "x", m, n, x, ldx)
	checkMat("GELUBackward", "dy", m, n, dy, lddy)
	checkMat("GELUBackward", "dx", m, n, dx, lddx)
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			v := float64(x[i*ldx+j])
			cdf := 0.5 * (1 + math.Erf(v/math.Sqrt2))
			pdf := math.Exp(-0.5*v*v) / math.Sqrt(2*math.Pi)
			dx[i*lddx+j] = T(float64(dy[i*lddy+j]) * (cdf + v*pdf))
		}
	}
}

func (reference[T]) AddBias(m, n int, bias []T, c []T, ldc int) {
	checkVec("AddBias", "bias", n, bias)
	checkMat("AddBias", "c", m, n, c, ldc)
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			c[i*ldc+j] += bias[j]
		}
	}
}

func (reference[T]) ColSum(m, n int, x []T, ldx int, out []T) {
	checkMat("ColSum", "x", m, n, x, ldx)
	checkVec("ColSum", "out", n, out)
	for j := 0; j < n; j++ {
		var s float64
		for i := 0; i < m; i++ {
			s += float64(x[i*ldx+j])
		}
		out[j] = T(s)
	}
}
