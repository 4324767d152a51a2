package kernels

import (
	"math"
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"
)

var rowShapes = [][2]int{{1, 1}, {1, 7}, {7, 1}, {3, 33}, {33, 513}, {129, 200}}

// closeTo reports whether got is within tol·max(1, |want|) of want.
func closeTo(got, want, tol float64) bool {
	return math.Abs(got-want) <= tol*max(1, math.Abs(want))
}

// compareMat fails the test unless got and want agree on the m×n region
// (relative tolerance) and got's padding equals pad.
func compareMat[T Float](t *testing.T, what string, m, n int, got, want []T, ld int, pad []T) {
	t.Helper()
	tol := tolFor[T]()
	for i := 0; i < m; i++ {
		for j := 0; j < ld && i*ld+j < len(got); j++ {
			k := i*ld + j
			if j >= n {
				if pad != nil && got[k] != pad[k] {
					t.Fatalf("%s: padding [%d,%d] changed", what, i, j)
				}
				continue
			}
			if !closeTo(float64(got[k]), float64(want[k]), tol) {
				t.Fatalf("%s: [%d,%d] = %v, want %v", what, i, j, got[k], want[k])
			}
		}
	}
}

func compareVec[T Float](t *testing.T, what string, got, want []T) {
	t.Helper()
	for i := range want {
		if !closeTo(float64(got[i]), float64(want[i]), tolFor[T]()) {
			t.Fatalf("%s: [%d] = %v, want %v", what, i, got[i], want[i])
		}
	}
}

func testRowOps[T Float](t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	fast, ref := CPU[T](), Reference[T]()
	for si, s := range rowShapes {
		m, n := s[0], s[1]
		ld := n + si%3
		size := (m-1)*ld + n
		x := randSlice[T](r, size)
		for i := range x {
			x[i] *= 4
		}
		dy := randSlice[T](r, size)
		out := func() []T { return randSlice[T](r, size) }

		// Softmax: no mask, broadcast key mask (with -Inf), full mask with a
		// fully masked first row.
		bmask := randSlice[T](r, n)
		bmask[0] = T(math.Inf(-1))
		fmask := randSlice[T](r, size)
		for j := 0; j < n; j++ {
			fmask[j] = T(math.Inf(-1))
		}
		for mi, mk := range []struct {
			mask []T
			ld   int
		}{{nil, 0}, {bmask, 0}, {fmask, ld}} {
			y1, y2 := out(), out()
			y2p := append([]T(nil), y2...)
			copy(y1, y2)
			fast.Softmax(m, n, x, ld, mk.mask, mk.ld, y1, ld)
			ref.Softmax(m, n, x, ld, mk.mask, mk.ld, y2, ld)
			compareMat(t, "Softmax", m, n, y1, y2, ld, y2p)
			if mi == 1 && n == 1 {
				for i := 0; i < m; i++ {
					if y1[i*ld] != 0 {
						t.Fatalf("Softmax: fully masked row gave %v", y1[i*ld])
					}
				}
			}
			if mi == 2 {
				for j := 0; j < n; j++ {
					if y1[j] != 0 {
						t.Fatalf("Softmax: fully masked row gave %v", y1[j])
					}
				}
			}
			// In place.
			yi := append([]T(nil), x...)
			fast.Softmax(m, n, yi, ld, mk.mask, mk.ld, yi, ld)
			compareMat(t, "Softmax in place", m, n, yi, y2, ld, nil)

			dx1, dx2 := out(), out()
			copy(dx1, dx2)
			fast.SoftmaxBackward(m, n, y2, ld, dy, ld, dx1, ld)
			ref.SoftmaxBackward(m, n, y2, ld, dy, ld, dx2, ld)
			compareMat(t, "SoftmaxBackward", m, n, dx1, dx2, ld, dx2)
			dyi := append([]T(nil), dy...)
			fast.SoftmaxBackward(m, n, y2, ld, dyi, ld, dyi, ld)
			compareMat(t, "SoftmaxBackward in place", m, n, dyi, dx2, ld, nil)
		}

		gamma, beta := randSlice[T](r, n), randSlice[T](r, n)
		y1, y2 := out(), out()
		copy(y1, y2)
		mean1, rstd1, mean2, rstd2 := make([]T, m), make([]T, m), make([]T, m), make([]T, m)
		fast.LayerNorm(m, n, x, ld, gamma, beta, 1e-5, y1, ld, mean1, rstd1)
		ref.LayerNorm(m, n, x, ld, gamma, beta, 1e-5, y2, ld, mean2, rstd2)
		compareMat(t, "LayerNorm", m, n, y1, y2, ld, y2)
		compareVec(t, "LayerNorm mean", mean1, mean2)
		compareVec(t, "LayerNorm rstd", rstd1, rstd2)
		dx1, dx2 := out(), out()
		copy(dx1, dx2)
		dg1, db1, dg2, db2 := make([]T, n), make([]T, n), make([]T, n), make([]T, n)
		fast.LayerNormBackward(m, n, dy, ld, x, ld, gamma, mean2, rstd2, dx1, ld, dg1, db1)
		ref.LayerNormBackward(m, n, dy, ld, x, ld, gamma, mean2, rstd2, dx2, ld, dg2, db2)
		compareMat(t, "LayerNormBackward dx", m, n, dx1, dx2, ld, dx2)
		compareVec(t, "LayerNormBackward dgamma", dg1, dg2)
		compareVec(t, "LayerNormBackward dbeta", db1, db2)
		dyi := append([]T(nil), dy...)
		fast.LayerNormBackward(m, n, dyi, ld, x, ld, gamma, mean2, rstd2, dyi, ld, dg1, db1)
		compareMat(t, "LayerNormBackward in place", m, n, dyi, dx2, ld, nil)
		compareVec(t, "LayerNormBackward in place dgamma", dg1, dg2)

		y1, y2 = out(), out()
		copy(y1, y2)
		fast.GELU(m, n, x, ld, y1, ld)
		ref.GELU(m, n, x, ld, y2, ld)
		compareMat(t, "GELU", m, n, y1, y2, ld, y2)
		dx1, dx2 = out(), out()
		copy(dx1, dx2)
		fast.GELUBackward(m, n, x, ld, dy, ld, dx1, ld)
		ref.GELUBackward(m, n, x, ld, dy, ld, dx2, ld)
		compareMat(t, "GELUBackward", m, n, dx1, dx2, ld, dx2)

		bias := randSlice[T](r, n)
		c1 := out()
		c2 := append([]T(nil), c1...)
		fast.AddBias(m, n, bias, c1, ld)
		ref.AddBias(m, n, bias, c2, ld)
		compareMat(t, "AddBias", m, n, c1, c2, ld, c2)
		for j := 0; j < n; j++ {
			if c1[j] != c2[j] {
				t.Fatalf("AddBias not exact at %d", j)
			}
		}

		s1, s2 := make([]T, n), make([]T, n)
		fast.ColSum(m, n, x, ld, s1)
		ref.ColSum(m, n, x, ld, s2)
		compareVec(t, "ColSum", s1, s2)
	}
}

// TestRowOps checks every row-wise kernel of the CPU backend against the
// reference, including masks, in-place use and leading-dimension padding.
func TestRowOps(t *testing.T) {
	t.Run("float32", testRowOps[float32])
	t.Run("float64", testRowOps[float64])
}

// TestRowOpsKnownValues pins the reference to hand-computed values, so the
// oracle itself is checked.
func TestRowOpsKnownValues(t *testing.T) {
	for _, k := range []Kernels[float64]{Reference[float64](), CPU[float64]()} {
		y := make([]float64, 2)
		k.Softmax(1, 2, []float64{0, math.Log(3)}, 2, nil, 0, y, 2)
		if !closeTo(y[0], 0.25, 1e-15) || !closeTo(y[1], 0.75, 1e-15) {
			t.Fatalf("%s Softmax = %v", k.Name(), y)
		}
		k.GELU(1, 2, []float64{1, -2}, 2, y, 2)
		if !closeTo(y[0], 0.8413447460685429, 1e-15) || !closeTo(y[1], -0.04550026389635842, 1e-15) {
			t.Fatalf("%s GELU = %v", k.Name(), y)
		}
		y3, mean, rstd := make([]float64, 3), []float64{0}, []float64{0}
		k.LayerNorm(1, 3, []float64{1, 2, 3}, 3, []float64{1, 1, 2}, []float64{0, 0, 1}, 0, y3, 3, mean, rstd)
		s := math.Sqrt(1.5)
		if !closeTo(mean[0], 2, 1e-15) || !closeTo(rstd[0], s, 1e-15) || !closeTo(y3[0], -s, 1e-15) || !closeTo(y3[2], 2*s+1, 1e-15) {
			t.Fatalf("%s LayerNorm = %v mean %v rstd %v", k.Name(), y3, mean, rstd)
		}
	}
}

// gradCheck compares analytic with central finite differences of
// L(x) = Σ w ⊙ f(x): dL/dx[i] ≈ (L(x+h e_i) − L(x−h e_i)) / 2h.
func gradCheck(t *testing.T, what string, x []float64, f func(x []float64) float64, analytic []float64) {
	t.Helper()
	const h = 1e-5
	worst := 0.0
	for i := range x {
		old := x[i]
		x[i] = old + h
		lp := f(x)
		x[i] = old - h
		lm := f(x)
		x[i] = old
		fd := (lp - lm) / (2 * h)
		e := math.Abs(fd-analytic[i]) / max(1, math.Abs(fd))
		worst = max(worst, e)
		if e > 1e-7 {
			t.Fatalf("%s: d/dx[%d] analytic %v, finite difference %v", what, i, analytic[i], fd)
		}
	}
	t.Logf("%s: worst relative error %.2g", what, worst)
}

func dotW(w, y []float64) float64 {
	var s float64
	for i := range y {
		s += w[i] * y[i]
	}
	return s
}

// TestGradients checks the backward kernels of both backends against
// float64 central finite differences of their forward kernels.
func TestGradients(t *testing.T) {
	for _, k := range []Kernels[float64]{Reference[float64](), CPU[float64]()} {
		r := rand.New(rand.NewPCG(21, 22))
		m, n := 5, 9
		x := randSlice[float64](r, m*n)
		w := randSlice[float64](r, m*n)
		y := make([]float64, m*n)
		mask := randSlice[float64](r, n)
		mask[3] = math.Inf(-1)

		softmax := func(x []float64) float64 { k.Softmax(m, n, x, n, mask, 0, y, n); return dotW(w, y) }
		softmax(x)
		dx := make([]float64, m*n)
		k.SoftmaxBackward(m, n, y, n, w, n, dx, n)
		gradCheck(t, k.Name()+" Softmax", x, softmax, dx)

		gamma, beta := randSlice[float64](r, n), randSlice[float64](r, n)
		mean, rstd := make([]float64, m), make([]float64, m)
		// ln reads x, gamma and beta from the closure: gradCheck perturbs
		// whichever of them it is given in place.
		ln := func([]float64) float64 {
			k.LayerNorm(m, n, x, n, gamma, beta, 1e-5, y, n, mean, rstd)
			return dotW(w, y)
		}
		ln(x)
		dg, db := make([]float64, n), make([]float64, n)
		k.LayerNormBackward(m, n, w, n, x, n, gamma, mean, rstd, dx, n, dg, db)
		gradCheck(t, k.Name()+" LayerNorm dx", x, ln, dx)
		gradCheck(t, k.Name()+" LayerNorm dgamma", gamma, ln, dg)
		gradCheck(t, k.Name()+" LayerNorm dbeta", beta, ln, db)

		gelu := func(x []float64) float64 { k.GELU(m, n, x, n, y, n); return dotW(w, y) }
		k.GELUBackward(m, n, x, n, w, n, dx, n)
		gradCheck(t, k.Name()+" GELU", x, gelu, dx)

		// Bias: L = Σ w ⊙ (c + bias) ⇒ dL/dbias = ColSum(w).
		bias := randSlice[float64](r, n)
		c := randSlice[float64](r, m*n)
		addBias := func(bias []float64) float64 {
			cc := append([]float64(nil), c...)
			k.AddBias(m, n, bias, cc, n)
			return dotW(w, cc)
		}
		dbias := make([]float64, n)
		k.ColSum(m, n, w, n, dbias)
		gradCheck(t, k.Name()+" AddBias/ColSum", bias, addBias, dbias)
	}
}

// TestRowOpsDeterministic checks bit-identical row-wise results for
// GOMAXPROCS 1 and 2 on shapes large enough to be split.
func TestRowOpsDeterministic(t *testing.T) {
	r := rand.New(rand.NewPCG(31, 32))
	m, n := 300, 257
	x := randSlice[float32](r, m*n)
	dy := randSlice[float32](r, m*n)
	gamma, beta := randSlice[float32](r, n), randSlice[float32](r, n)
	run := func() [][]float32 {
		k := CPU[float32]()
		y, dx := make([]float32, m*n), make([]float32, m*n)
		mean, rstd, dg, db, cs := make([]float32, m), make([]float32, m), make([]float32, n), make([]float32, n), make([]float32, n)
		k.LayerNorm(m, n, x, n, gamma, beta, 1e-5, y, n, mean, rstd)
		k.LayerNormBackward(m, n, dy, n, x, n, gamma, mean, rstd, dx, n, dg, db)
		k.ColSum(m, n, dy, n, cs)
		sm, sdx := make([]float32, m*n), make([]float32, m*n)
		k.Softmax(m, n, x, n, nil, 0, sm, n)
		k.SoftmaxBackward(m, n, sm, n, dy, n, sdx, n)
		return [][]float32{y, dx, mean, rstd, dg, db, cs, sm, sdx}
	}
	prev := runtime.GOMAXPROCS(1)
	defer runtime.GOMAXPROCS(prev)
	one := run()
	runtime.GOMAXPROCS(2)
	two := run()
	for i := range one {
		for j := range one[i] {
			if math.Float32bits(one[i][j]) != math.Float32bits(two[i][j]) {
				t.Fatalf("output %d differs at %d between GOMAXPROCS 1 and 2", i, j)
			}
		}
	}
}

// TestShapeChecks checks that kernels reject slices too short for the
// shape they are given, naming the kernel and argument.
func TestShapeChecks(t *testing.T) {
	k := CPU[float32]()
	cases := map[string]func(){
		"Gemm": func() {
			k.Gemm(false, false, 2, 2, 2, 1, make([]float32, 3), 2, make([]float32, 4), 2, 0, make([]float32, 4), 2)
		},
		"Gemm ld": func() {
			k.Gemm(false, true, 2, 2, 3, 1, make([]float32, 6), 2, make([]float32, 6), 3, 0, make([]float32, 4), 2)
		},
		"Softmax": func() { k.Softmax(2, 3, make([]float32, 6), 3, make([]float32, 2), 0, make([]float32, 6), 3) },
		"LayerNorm": func() {
			k.LayerNorm(2, 3, make([]float32, 6), 3, make([]float32, 3), make([]float32, 3), 1e-5, make([]float32, 6), 3, make([]float32, 1), make([]float32, 2))
		},
		"ColSum": func() { k.ColSum(2, 3, make([]float32, 6), 3, make([]float32, 2)) },
	}
	for name, f := range cases {
		func() {
			defer func() {
				msg, _ := recover().(string)
				kernel, _, _ := strings.Cut(name, " ")
				if !strings.Contains(msg, "kernels."+kernel) {
					t.Errorf("%s: panic %q, want one naming kernels.%s", name, msg, kernel)
				}
			}()
			f()
		}()
	}
}
