package kernels

import (
	"sync"
	"unsafe"
)

// microKernel computes an mr×nr tile C = alpha·(Ã·B̃) + beta·C from a packed
// A micro-panel (k steps of mr values) and a packed B micro-panel (k steps
// of nr values); beta == ±0 does not read C. Each lane of each accumulator
// sums its k products sequentially in increasing k, which is what makes the
// result independent of the threading.
type microKernel[T Float] func(k int, a, b, c *T, ldc int, alpha, beta T)

// gemmConfig is one blocked GEMM variant: a micro-kernel with its register
// tile (mr×nr) and the cache blocking around it (BLIS loop order):
//
//	for jc in steps of nc        (columns of C; packed B panel kc×nc, L3)
//	  for pc in steps of kc      (k-blocks, always in increasing order)
//	    pack B[pc:pc+kc, jc:jc+nc]            (threads split the nr-panels)
//	    for ic in steps of mc    (rows of C; packed A block mc×kc, L2)
//	      pack A[ic:ic+mc, pc:pc+kc]          (per thread)
//	      for jr in steps of nr  (B micro-panel kc×nr stays in L1)
//	        for ir in steps of mr
//	          micro-kernel
//
// Configurations are built once at package initialisation and not changed
// afterwards; only the scratch pool mutates (and it is a cache).
type gemmConfig[T Float] struct {
	name          string
	mr, nr        int
	kc, mc, nc    int
	kernel        microKernel[T]
	pool          sync.Pool // *gemmScratch[T]
	parallelFlops int       // below this many multiply-adds, use one goroutine
}

type gemmScratch[T Float] struct {
	b []T   // packed B panel, shared by all threads of one call
	a [][]T // packed A block, one per thread
	t [][]T // mr×nr edge tile, one per thread
}

func (cfg *gemmConfig[T]) scratch(nt, k, n, m int) *gemmScratch[T] {
	s, _ := cfg.pool.Get().(*gemmScratch[T])
	if s == nil {
		s = &gemmScratch[T]{}
	}
	kc := min(cfg.kc, k)
	nb := roundUp(min(cfg.nc, n), cfg.nr) * kc
	na := roundUp(min(cfg.mc, m), cfg.mr) * kc
	s.b = grow(s.b, nb)
	for len(s.a) < nt {
		s.a = append(s.a, nil)
		s.t = append(s.t, nil)
	}
	for t := 0; t < nt; t++ {
		s.a[t] = grow(s.a[t], na)
		s.t[t] = grow(s.t[t], cfg.mr*cfg.nr)
	}
	return s
}

func grow[T Float](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}

func roundUp(x, m int) int { return (x + m - 1) / m * m }

// parallel runs f(0..nt-1) on nt goroutines (f(0) on the caller's) and
// waits for all of them.
func parallel(nt int, f func(t int)) {
	if nt <= 1 {
		f(0)
		return
	}
	var wg sync.WaitGroup
	wg.Add(nt - 1)
	for t := 1; t < nt; t++ {
		go func() {
			defer wg.Done()
			f(t)
		}()
	}
	f(0)
	wg.Wait()
}

// split returns the t-th of nt contiguous, near-equal parts of [0, n).
func split(n, nt, t int) (lo, hi int) {
	return n * t / nt, n * (t + 1) / nt
}

// scaleC computes C = beta·C for an m×n C (beta == 0 writes zeros).
func scaleC[T Float](m, n int, beta T, c []T, ldc int) {
	for i := 0; i < m; i++ {
		row := c[i*ldc : i*ldc+n]
		if beta == 0 {
			clear(row)
		} else if beta != 1 {
			for j := range row {
				row[j] *= beta
			}
		}
	}
}

// gemm is the blocked, multi-threaded GEMM driver shared by all variants.
// nt is the maximum number of goroutines. Shapes have been checked.
func (cfg *gemmConfig[T]) gemm(nt int, transA, transB bool, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int) {
	if m == 0 || n == 0 {
		return
	}
	if k == 0 || alpha == 0 {
		scaleC(m, n, beta, c, ldc)
		return
	}
	mr, nr := cfg.mr, cfg.nr
	if m*n*k < cfg.parallelFlops {
		nt = 1
	}
	if pn := (n + nr - 1) / nr; nt > 1 && pn >= 2*nt {
		// Enough columns: give each goroutine a fixed, contiguous range of
		// column panels and let it run the whole blocked loop on its own
		// (own packed B, own copy of packed A). No barriers until the end,
		// so a goroutine delayed by other jobs on a shared machine delays
		// only itself; the cost is packing A once per goroutine (m·k copies,
		// ≈2 % of the time at n = 768). Columns do not change any element's
		// k order, so results are identical to nt = 1.
		parallel(nt, func(t int) {
			q0, q1 := split(pn, nt, t)
			j0, j1 := q0*nr, min(q1*nr, n)
			bs := b[j0:]
			if transB {
				bs = b[j0*ldb:]
			}
			cfg.gemm(1, transA, transB, m, j1-j0, k, alpha, a, lda, bs, ldb, beta, c[j0:], ldc)
		})
		return
	}
	s := cfg.scratch(nt, k, n, m)
	defer cfg.pool.Put(s)
	pm := (m + mr - 1) / mr // row panels of C
	for jc := 0; jc < n; jc += cfg.nc {
		nc := min(cfg.nc, n-jc)
		pn := (nc + nr - 1) / nr // column panels in this block
		// Few columns (n < 2·nt·nr): split rows of C across threads, sharing
		// the packed B panel (one barrier after packing it), or columns if
		// there are even fewer rows. Either way each C element belongs to
		// exactly one thread.
		ntc := min(nt, max(pm, pn))
		splitRows := pm >= 2*ntc || pm >= pn
		for pc := 0; pc < k; pc += cfg.kc {
			kc := min(cfg.kc, k-pc)
			bp := s.b[:pn*kc*nr]
			parallel(min(nt, pn), func(t int) {
				lo, hi := split(pn, min(nt, pn), t)
				for q := lo; q < hi; q++ {
					packB(transB, b, ldb, pc, kc, jc, q, nr, n, bp[q*kc*nr:(q+1)*kc*nr])
				}
			})
			bet := beta
			if pc > 0 {
				bet = 1
			}
			parallel(ntc, func(t int) {
				p0, p1, q0, q1 := 0, pm, 0, pn
				if splitRows {
					p0, p1 = split(pm, ntc, t)
				} else {
					q0, q1 = split(pn, ntc, t)
				}
				mcp := max(cfg.mc/mr, 1)
				for ip := p0; ip < p1; ip += mcp {
					np := min(mcp, p1-ip)
					ap := s.a[t][:np*kc*mr]
					for r := 0; r < np; r++ {
						packA(transA, a, lda, (ip+r)*mr, pc, kc, mr, m, ap[r*kc*mr:(r+1)*kc*mr])
					}
					cfg.macro(kc, ap, ip, np, m, bp, jc, q0, q1, n, alpha, bet, c, ldc, s.t[t])
				}
			})
		}
	}
}

// macro runs the micro-kernel over np packed row panels (starting at row
// panel ip0) and column panels q0..q1 of the packed B block starting at
// column jc.
func (cfg *gemmConfig[T]) macro(kc int, ap []T, ip0, np, m int, bp []T, jc, q0, q1, n int, alpha, beta T, c []T, ldc int, tmp []T) {
	mr, nr := cfg.mr, cfg.nr
	for q := q0; q < q1; q++ {
		j := jc + q*nr
		nw := min(nr, n-j)
		bq := &bp[q*kc*nr]
		for r := 0; r < np; r++ {
			i := (ip0 + r) * mr
			mw := min(mr, m-i)
			aq := &ap[r*kc*mr]
			if mw == mr && nw == nr {
				cfg.kernel(kc, aq, bq, &c[i*ldc+j], ldc, alpha, beta)
				continue
			}
			// Edge tile: compute the full tile into tmp, copy the valid part.
			cfg.kernel(kc, aq, bq, &tmp[0], nr, 1, 0)
			for ii := 0; ii < mw; ii++ {
				crow := c[(i+ii)*ldc+j : (i+ii)*ldc+j+nw]
				trow := tmp[ii*nr : ii*nr+nw]
				if beta == 0 {
					for jj, v := range trow {
						crow[jj] = alpha * v
					}
				} else {
					for jj, v := range trow {
						crow[jj] = alpha*v + beta*crow[jj]
					}
				}
			}
		}
	}
}

// packB packs column panel q (columns jc+q·nr …, zero-padded to nr) of
// op(B)[pc:pc+kc, :] k-major into dst (kc·nr values).
func packB[T Float](transB bool, b []T, ldb, pc, kc, jc, q, nr, n int, dst []T) {
	j0 := jc + q*nr
	w := min(nr, n-j0)
	if !transB {
		for p := 0; p < kc; p++ {
			d := dst[p*nr : p*nr+nr]
			copy(d, b[(pc+p)*ldb+j0:(pc+p)*ldb+j0+w])
			if w < nr {
				clear(d[w:])
			}
		}
		return
	}
	packTrans(dst, b, ldb, j0, w, pc, kc, nr)
}

// packA packs the row panel starting at row i0 (mr rows, zero-padded) of
// op(A)[:, pc:pc+kc] k-major into dst (kc·mr values).
func packA[T Float](transA bool, a []T, lda, i0, pc, kc, mr, m int, dst []T) {
	h := min(mr, m-i0)
	if transA {
		for p := 0; p < kc; p++ {
			d := dst[p*mr : p*mr+mr]
			copy(d, a[(pc+p)*lda+i0:(pc+p)*lda+i0+h])
			if h < mr {
				clear(d[h:])
			}
		}
		return
	}
	packTrans(dst, a, lda, i0, h, pc, kc, mr)
}

// packTrans is the transposing pack shared by packA and packB:
//
//	dst[p·w + r] = src[(r0+r)·ld + c0 + p]  for r < h, p < kc,
//
// rows h..w-1 of each k-step zeroed. It reads 8 (then 4, then 1) source
// rows at a time so that each k-step writes a contiguous run instead of
// single scattered elements (≈3× faster than one row at a time).
func packTrans[T Float](dst, src []T, ld, r0, h, c0, kc, w int) {
	dst = dst[:kc*w]
	if h < w {
		clear(dst)
	}
	r := 0
	for ; r+8 <= h; r += 8 {
		s0 := src[(r0+r)*ld+c0:][:kc]
		s1 := src[(r0+r+1)*ld+c0:][:kc]
		s2 := src[(r0+r+2)*ld+c0:][:kc]
		s3 := src[(r0+r+3)*ld+c0:][:kc]
		s4 := src[(r0+r+4)*ld+c0:][:kc]
		s5 := src[(r0+r+5)*ld+c0:][:kc]
		s6 := src[(r0+r+6)*ld+c0:][:kc]
		s7 := src[(r0+r+7)*ld+c0:][:kc]
		for p := range s0 {
			d := dst[p*w+r : p*w+r+8 : p*w+r+8]
			d[0], d[1], d[2], d[3] = s0[p], s1[p], s2[p], s3[p]
			d[4], d[5], d[6], d[7] = s4[p], s5[p], s6[p], s7[p]
		}
	}
	for ; r+4 <= h; r += 4 {
		s0 := src[(r0+r)*ld+c0:][:kc]
		s1 := src[(r0+r+1)*ld+c0:][:kc]
		s2 := src[(r0+r+2)*ld+c0:][:kc]
		s3 := src[(r0+r+3)*ld+c0:][:kc]
		for p := range s0 {
			d := dst[p*w+r : p*w+r+4 : p*w+r+4]
			d[0], d[1], d[2], d[3] = s0[p], s1[p], s2[p], s3[p]
		}
	}
	for ; r < h; r++ {
		s0 := src[(r0+r)*ld+c0:][:kc]
		for p, v := range s0 {
			dst[p*w+r] = v
		}
	}
}

// gemmKernelGo is the portable 4×4 micro-kernel (mr = nr = 4), used for
// float64 and float32 where no assembly kernel applies.
func gemmKernelGo[T Float](k int, a, b, c *T, ldc int, alpha, beta T) {
	ap := unsafe.Slice(a, 4*k)
	bp := unsafe.Slice(b, 4*k)
	var c00, c01, c02, c03, c10, c11, c12, c13, c20, c21, c22, c23, c30, c31, c32, c33 T
	for p := 0; p < k; p++ {
		av := ap[4*p : 4*p+4 : 4*p+4]
		bv := bp[4*p : 4*p+4 : 4*p+4]
		a0, a1, a2, a3 := av[0], av[1], av[2], av[3]
		b0, b1, b2, b3 := bv[0], bv[1], bv[2], bv[3]
		c00 += a0 * b0
		c01 += a0 * b1
		c02 += a0 * b2
		c03 += a0 * b3
		c10 += a1 * b0
		c11 += a1 * b1
		c12 += a1 * b2
		c13 += a1 * b3
		c20 += a2 * b0
		c21 += a2 * b1
		c22 += a2 * b2
		c23 += a2 * b3
		c30 += a3 * b0
		c31 += a3 * b1
		c32 += a3 * b2
		c33 += a3 * b3
	}
	cs := unsafe.Slice(c, 3*ldc+4)
	acc := [4][4]T{{c00, c01, c02, c03}, {c10, c11, c12, c13}, {c20, c21, c22, c23}, {c30, c31, c32, c33}}
	for i := 0; i < 4; i++ {
		row := cs[i*ldc : i*ldc+4 : i*ldc+4]
		for j := 0; j < 4; j++ {
			if beta == 0 {
				row[j] = alpha * acc[i][j]
			} else {
				row[j] = alpha*acc[i][j] + beta*row[j]
			}
		}
	}
}

func newGoConfig[T Float]() *gemmConfig[T] {
	return &gemmConfig[T]{name: "go", mr: 4, nr: 4, kc: 256, mc: 64, nc: 1024, kernel: gemmKernelGo[T], parallelFlops: 1 << 16}
}
