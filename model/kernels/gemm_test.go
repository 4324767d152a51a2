package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"testing"
)

func randSlice[T Float](r *rand.Rand, n int) []T {
	s := make([]T, n)
	for i := range s {
		s[i] = T(r.Float64()*2 - 1)
	}
	return s
}

func absSlice[T Float](s []T) []T {
	o := make([]T, len(s))
	for i, v := range s {
		o[i] = T(math.Abs(float64(v)))
	}
	return o
}

func tolFor[T Float]() float64 {
	var z T
	if _, ok := any(z).(float32); ok {
		return 1e-5
	}
	return 1e-12
}

type gemmCase struct {
	transA, transB bool
	m, n, k        int
	alpha, beta    float64
	pad            int // extra leading-dimension padding
}

func (c gemmCase) String() string {
	t := func(b bool) string {
		if b {
			return "T"
		}
		return "N"
	}
	return fmt.Sprintf("%s%s/%dx%dx%d/a%g/b%g/pad%d", t(c.transA), t(c.transB), c.m, c.n, c.k, c.alpha, c.beta, c.pad)
}

// gemmOperands returns random A, B, C for the case, with leading dimensions.
func gemmOperands[T Float](r *rand.Rand, c gemmCase) (a []T, lda int, b []T, ldb int, cc []T, ldc int) {
	ar, ac := c.m, c.k
	if c.transA {
		ar, ac = c.k, c.m
	}
	br, bc := c.k, c.n
	if c.transB {
		br, bc = c.n, c.k
	}
	lda, ldb, ldc = ac+c.pad, bc+2*c.pad, c.n+3*c.pad
	a = randSlice[T](r, max(ar*lda, 1))
	b = randSlice[T](r, max(br*ldb, 1))
	cc = randSlice[T](r, max(c.m*ldc, 1))
	if c.beta == 0 {
		// beta == 0 must not read C: NaNs must not propagate.
		for i := 0; i < c.m; i++ {
			for j := 0; j < c.n; j++ {
				cc[i*ldc+j] = T(math.NaN())
			}
		}
	}
	return
}

// checkGemmAgainstReference runs run(...) and the reference on the same
// operands and checks every element within tol·(|α|Σ|a||b| + |β||c|), and that
// padding between rows of C is untouched.
type gemmFunc[T Float] func(transA, transB bool, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int)

// checkGemmAgainstReference runs each of runs on the same operands (the
// reference once, it dominates the test time).
func checkGemmAgainstReference[T Float](t *testing.T, r *rand.Rand, c gemmCase, runs ...gemmFunc[T]) {
	t.Helper()
	a, lda, b, ldb, c0, ldc := gemmOperands[T](r, c)
	want := append([]T(nil), c0...)
	ref := Reference[T]()
	ref.Gemm(c.transA, c.transB, c.m, c.n, c.k, T(c.alpha), a, lda, b, ldb, T(c.beta), want, ldc)
	bound := absSlice(c0)
	for i := range bound {
		if math.IsNaN(float64(bound[i])) {
			bound[i] = 0
		}
	}
	ref.Gemm(c.transA, c.transB, c.m, c.n, c.k, T(math.Abs(c.alpha)), absSlice(a), lda, absSlice(b), ldb, T(math.Abs(c.beta)), bound, ldc)
	tol := tolFor[T]()
	for ri, run := range runs {
		got := append([]T(nil), c0...)
		run(c.transA, c.transB, c.m, c.n, c.k, T(c.alpha), a, lda, b, ldb, T(c.beta), got, ldc)
		compareGemm(t, fmt.Sprintf("%v run %d", c, ri), c, got, want, c0, bound, ldc, tol)
	}
}

func compareGemm[T Float](t *testing.T, name string, c gemmCase, got, want, c0, bound []T, ldc int, tol float64) {
	t.Helper()
	bad := 0
	for i := 0; i < c.m; i++ {
		for j := 0; j < ldc && i*ldc+j < len(got); j++ {
			idx := i*ldc + j
			if j >= c.n {
				if got[idx] != c0[idx] && !(math.IsNaN(float64(got[idx])) && math.IsNaN(float64(c0[idx]))) {
					t.Fatalf("%s: padding C[%d,%d] changed", name, i, j)
				}
				continue
			}
			d := math.Abs(float64(got[idx]) - float64(want[idx]))
			if !(d <= tol*float64(bound[idx])+1e-30) {
				if bad < 5 {
					t.Errorf("%s: C[%d,%d] = %v, want %v (bound %g)", name, i, j, got[idx], want[idx], tol*float64(bound[idx]))
				}
				bad++
			}
		}
	}
	if bad > 0 {
		t.Fatalf("%s: %d wrong elements", name, bad)
	}
}

func gemmCases(short bool) []gemmCase {
	shapes := [][3]int{{1, 1, 1}, {1, 7, 33}, {7, 1, 513}, {7, 33, 1}, {33, 513, 7}, {13, 33, 257}, {12, 32, 256}, {24, 64, 600}, {65, 129, 300}, {145, 70, 513}}
	if !short {
		shapes = append(shapes, [3]int{513, 100, 20}, [3]int{40, 3100, 17})
	}
	var cs []gemmCase
	for si, s := range shapes {
		for tc := 0; tc < 4; tc++ {
			ab := [][2]float64{{1, 0}, {-0.5, 1}, {2, 0.3}}[(si+tc)%3]
			cs = append(cs, gemmCase{tc&1 != 0, tc&2 != 0, s[0], s[1], s[2], ab[0], ab[1], (si + tc) % 4})
		}
	}
	cs = append(cs, gemmCase{false, false, 5, 6, 0, 1, 0.5, 1}, gemmCase{true, false, 5, 6, 7, 0, 2, 0}, gemmCase{false, true, 0, 6, 7, 1, 1, 0})
	return cs
}

func testGemmConfigs[T Float](t *testing.T, cfgs []*gemmConfig[T]) {
	r := rand.New(rand.NewPCG(1, 2))
	var runs []gemmFunc[T]
	for _, cfg := range cfgs {
		for _, nt := range []int{1, 2, 3} {
			runs = append(runs, func(transA, transB bool, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, beta T, cc []T, ldc int) {
				cfg.gemm(nt, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, cc, ldc)
			})
		}
	}
	for _, c := range gemmCases(testing.Short()) {
		checkGemmAgainstReference(t, r, c, runs...)
	}
}

// TestGemmVariants checks every GEMM variant the CPU supports (AVX-512,
// AVX2, pure Go) with 1-3 goroutines against the reference.
func TestGemmVariants(t *testing.T) {
	t.Run("float32", func(t *testing.T) { testGemmConfigs(t, f32Configs()) })
	t.Run("float64", func(t *testing.T) { testGemmConfigs(t, f64Configs()) })
}

// TestGemmSmallBlocks forces several jc, pc and ic blocks on small shapes so
// that the blocking loops and k-block accumulation are exercised.
func TestGemmSmallBlocks(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, cfg := range f32Configs() {
		small := &gemmConfig[float32]{name: cfg.name, mr: cfg.mr, nr: cfg.nr, kc: 8, mc: 2 * cfg.mr, nc: 3 * cfg.nr, kernel: cfg.kernel}
		for _, c := range gemmCases(true) {
			checkGemmAgainstReference(t, r, c, func(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, cc []float32, ldc int) {
				small.gemm(2, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, cc, ldc)
			})
		}
	}
}

func testCPUGemm[T Float](t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	k := CPU[T]()
	for _, c := range gemmCases(true) {
		checkGemmAgainstReference(t, r, c, k.Gemm)
	}
}

func TestCPUGemm(t *testing.T) {
	t.Run("float32", testCPUGemm[float32])
	t.Run("float64", testCPUGemm[float64])
}

// TestGemmDeterministic checks bit-identical results across repeated runs,
// goroutine counts 1-5 and GOMAXPROCS 1 and 2.
func TestGemmDeterministic(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for _, cfg := range f32Configs() {
		for tc := 0; tc < 4; tc++ {
			c := gemmCase{tc&1 != 0, tc&2 != 0, 301, 203, 700, 0.7, 0.5, 1}
			a, lda, b, ldb, c0, ldc := gemmOperands[float32](r, c)
			var first []float32
			for _, nt := range []int{1, 2, 3, 5, 2} {
				got := append([]float32(nil), c0...)
				cfg.gemm(nt, c.transA, c.transB, c.m, c.n, c.k, 0.7, a, lda, b, ldb, 0.5, got, ldc)
				if first == nil {
					first = got
					continue
				}
				for i := range got {
					if math.Float32bits(got[i]) != math.Float32bits(first[i]) {
						t.Fatalf("%s %v: %d goroutines differ from 1 at %d: %v vs %v", cfg.name, c, nt, i, got[i], first[i])
					}
				}
			}
		}
	}
	c := gemmCase{false, true, 512, 384, 768, 1, 0, 0}
	a, lda, b, ldb, c0, ldc := gemmOperands[float32](r, c)
	prev := runtime.GOMAXPROCS(1)
	defer runtime.GOMAXPROCS(prev)
	var first []float32
	for _, p := range []int{1, 2, 1, 2} {
		runtime.GOMAXPROCS(p)
		got := append([]float32(nil), c0...)
		CPU[float32]().Gemm(c.transA, c.transB, c.m, c.n, c.k, 1, a, lda, b, ldb, 0, got, ldc)
		if first == nil {
			first = got
			continue
		}
		for i := range got {
			if math.Float32bits(got[i]) != math.Float32bits(first[i]) {
				t.Fatalf("GOMAXPROCS=%d differs from GOMAXPROCS=1 at %d", p, i)
			}
		}
	}
}
