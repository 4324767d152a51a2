package kernels

import (
	"math"
	"math/rand/v2"
	"runtime"
	"testing"
)

// specials are inputs with exact expected behaviour, mixed into the
// vector-path tests.
var specials = []float32{0, float32(math.Copysign(0, -1)), float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN()), -104, 89, -16, 16, -20, 20, 5.66, -5.66, 1e-40, -1e30}

func sameBits(a, b []float32) int {
	for j := range a {
		if math.Float32bits(a[j]) != math.Float32bits(b[j]) {
			return j
		}
	}
	return -1
}

// TestRowVecMatchesScalar checks that the vector row loops (AVX2 where
// available) are bit-identical to their pure Go definitions, on random
// data with special values, for lengths that are multiples of 8.
func TestRowVecMatchesScalar(t *testing.T) {
	t.Logf("row loops: %s", rowVecName())
	r := rand.New(rand.NewPCG(41, 42))
	for _, n := range []int{8, 16, 64, 512, 3072} {
		x := randSlice[float32](r, n)
		g := randSlice[float32](r, n)
		for j := range x {
			x[j] *= 12
		}
		if n >= 32 {
			copy(x[3:], specials)
		}
		y1, y2 := make([]float32, n), make([]float32, n)
		d1, d2 := make([]float32, n), make([]float32, n)

		gelu8(x, y1)
		geluGo(x, y2)
		if j := sameBits(y1, y2); j >= 0 {
			t.Fatalf("n=%d gelu: [%d] x=%v vector %v, Go %v", n, j, x[j], y1[j], y2[j])
		}
		geluGrad8(x, g, d1)
		geluGradGo(x, g, d2)
		if j := sameBits(d1, d2); j >= 0 {
			t.Fatalf("n=%d geluGrad: [%d] x=%v vector %v, Go %v", n, j, x[j], d1[j], d2[j])
		}

		// Softmax pieces on finite data (as after the max subtraction,
		// down to below the exp underflow).
		for j := range x {
			x[j] = float32(-110 * r.Float64())
		}
		if n >= 32 {
			copy(x[3:], []float32{float32(math.Inf(-1)), 0, -87.5, -103.9, float32(math.NaN())})
		}
		if a, b := max8(x), maxLanes(x); math.Float32bits(a) != math.Float32bits(b) {
			t.Fatalf("n=%d max: vector %v, Go %v", n, a, b)
		}
		s1 := expShiftSum8(x, y1, 0.25)
		s2 := expShiftSumLanes(x, y2, 0.25)
		if j := sameBits(y1, y2); j >= 0 || math.Float64bits(s1) != math.Float64bits(s2) && !(math.IsNaN(s1) && math.IsNaN(s2)) {
			t.Fatalf("n=%d expShiftSum: first difference at %d, sums %v %v", n, j, s1, s2)
		}
		add8(x, g, d1)
		addGo(x, g, d2)
		if j := sameBits(d1, d2); j >= 0 {
			t.Fatalf("n=%d add: [%d]", n, j)
		}
		acc1, acc2 := make([]float64, n), make([]float64, n)
		for j := range acc1 {
			acc1[j] = float64(j) * 0.1
			acc2[j] = acc1[j]
		}
		acc8(acc1, g)
		accGo(acc2, g)
		for j := range acc1 {
			if math.Float64bits(acc1[j]) != math.Float64bits(acc2[j]) {
				t.Fatalf("n=%d acc: [%d]", n, j)
			}
		}
		lnVecMatchesScalar(t, n, x, g, make([]float32, n), make([]float32, n))
		scale8(y1, 0.3)
		scaleGo(y2, 0.3)
		if j := sameBits(y1, y2); j >= 0 {
			t.Fatalf("n=%d scale: [%d]", n, j)
		}
		a, b := dot8(x, g), dotLanes(x, g)
		if math.Float64bits(a) != math.Float64bits(b) && !(math.IsNaN(a) && math.IsNaN(b)) {
			t.Fatalf("n=%d dot: vector %v, Go %v", n, a, b)
		}
		softmaxBwd8(x, g, d1, 0.7)
		softmaxBwdGo(x, g, d2, 0.7)
		if j := sameBits(d1, d2); j >= 0 {
			t.Fatalf("n=%d softmaxBwd: [%d]", n, j)
		}
	}
}

// TestSoftmaxFloat32Accuracy compares the float32 CPU softmax with the
// reference (float64 math.Exp, rounded once): every element within 1e-6
// relative or 1e-7 absolute, for BERT-like attention scores with and
// without key-padding masks, random additive masks, and rows whose range
// reaches past the float32 exp underflow.
func TestSoftmaxFloat32Accuracy(t *testing.T) {
	r := rand.New(rand.NewPCG(51, 52))
	fast, ref := CPU[float32](), Reference[float32]()
	worst, worstBig := 0.0, 0.0
	for _, n := range []int{5, 77, 512} {
		m := 40
		for _, spread := range []float64{1, 4, 30, 60} {
			x := make([]float32, m*n)
			for j := range x {
				x[j] = float32(r.NormFloat64() * spread)
			}
			keys := make([]float32, n)
			for j := n * 3 / 4; j < n; j++ {
				keys[j] = float32(math.Inf(-1))
			}
			full := randSlice[float32](r, m*n)
			for mi, mk := range []struct {
				mask []float32
				ld   int
			}{{nil, 0}, {keys, 0}, {full, n}} {
				y1, y2 := make([]float32, m*n), make([]float32, m*n)
				fast.Softmax(m, n, x, n, mk.mask, mk.ld, y1, n)
				ref.Softmax(m, n, x, n, mk.mask, mk.ld, y2, n)
				for j := range y1 {
					d := math.Abs(float64(y1[j]) - float64(y2[j]))
					if y2[j] >= 1e-3 {
						worstBig = max(worstBig, d/float64(y2[j]))
					}
					if d <= 1e-7 {
						continue
					}
					rel := d / math.Abs(float64(y2[j]))
					worst = max(worst, rel)
					if rel > 1e-6 {
						t.Fatalf("n=%d spread=%v mask %d: [%d] = %v, reference %v (rel %.3g)", n, spread, mi, j, y1[j], y2[j], rel)
					}
				}
			}
		}
	}
	t.Logf("softmax float32: max relative error %.3g on elements ≥ 1e-3, %.3g on elements with abs error > 1e-7", worstBig, worst)
}

// TestRowOpsFloat32Specials runs the kernels on rows holding special
// values, in both the vector prefix and the scalar tail.
func TestRowOpsFloat32Specials(t *testing.T) {
	k := CPU[float32]()
	inf, nan := float32(math.Inf(1)), float32(math.NaN())
	n := 19 // elements 0-15 take the vector path, 16-18 the tail
	x := make([]float32, n)
	for _, pos := range []int{2, 17} {
		for _, c := range []struct{ x, y, d float32 }{{-inf, 0, 0}, {inf, inf, 1}, {nan, nan, nan}} {
			x[pos] = c.x
			y, d := make([]float32, n), make([]float32, n)
			ones := []float32{1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1}
			k.GELU(1, n, x, n, y, n)
			k.GELUBackward(1, n, x, n, ones, n, d, n)
			if !(y[pos] == c.y || math.IsNaN(float64(c.y)) && math.IsNaN(float64(y[pos]))) ||
				!(d[pos] == c.d || math.IsNaN(float64(c.d)) && math.IsNaN(float64(d[pos]))) {
				t.Errorf("pos %d: GELU(%v) = %v, GELU' = %v; want %v, %v", pos, c.x, y[pos], d[pos], c.y, c.d)
			}
		}
		x[pos] = 0
	}
	// Softmax: −Inf entries give exact zeros, a NaN poisons its row, a
	// fully masked row is all zeros.
	x = make([]float32, 3*n)
	x[3], x[n+17] = float32(math.Inf(-1)), float32(math.Inf(-1))
	x[2*n+5] = nan
	y := make([]float32, 3*n)
	k.Softmax(3, n, x, n, nil, 0, y, n)
	if y[3] != 0 || y[n+17] != 0 || y[0] != float32(1.0/18) || !math.IsNaN(float64(y[2*n])) {
		t.Errorf("Softmax specials: %v", y)
	}
	mask := make([]float32, n)
	for j := range mask {
		mask[j] = float32(math.Inf(-1))
	}
	k.Softmax(1, n, x, n, mask, 0, y, n)
	for j := 0; j < n; j++ {
		if y[j] != 0 {
			t.Fatalf("fully masked row: %v", y[:n])
		}
	}
}

// TestRowOpsFloat32Deterministic checks that the float32 kernels give
// bit-identical results on repeated runs and for GOMAXPROCS 1 and 2, on
// BERT-like shapes split across goroutines.
func TestRowOpsFloat32Deterministic(t *testing.T) {
	r := rand.New(rand.NewPCG(61, 62))
	m, n := 96, 515
	x := randSlice[float32](r, m*n)
	dy := randSlice[float32](r, m*n)
	mask := randSlice[float32](r, n)
	mask[7] = float32(math.Inf(-1))
	run := func() [][]float32 {
		k := CPU[float32]()
		sm, sdx, g, gdx := make([]float32, m*n), make([]float32, m*n), make([]float32, m*n), make([]float32, m*n)
		k.Softmax(m, n, x, n, mask, 0, sm, n)
		k.SoftmaxBackward(m, n, sm, n, dy, n, sdx, n)
		k.GELU(m, n, x, n, g, n)
		k.GELUBackward(m, n, x, n, dy, n, gdx, n)
		return [][]float32{sm, sdx, g, gdx}
	}
	prev := runtime.GOMAXPROCS(1)
	defer runtime.GOMAXPROCS(prev)
	one := run()
	runtime.GOMAXPROCS(2)
	for rep := 0; rep < 3; rep++ {
		two := run()
		for i := range one {
			if j := sameBits(one[i], two[i]); j >= 0 {
				t.Fatalf("run %d: output %d differs at %d", rep, i, j)
			}
		}
	}
}

// lnVecMatchesScalar checks the LayerNorm loops (x, g: inputs; y1, y2:
// scratch of the same length).
func lnVecMatchesScalar(t *testing.T, n int, x, g, y1, y2 []float32) {
	t.Helper()
	x = append([]float32(nil), x...)
	for j := range x {
		if math.IsNaN(float64(x[j])) || math.IsInf(float64(x[j]), 0) {
			x[j] = 1.5
		}
	}
	if a, b := sum8(x), sumLanes(x); math.Float64bits(a) != math.Float64bits(b) {
		t.Fatalf("n=%d sum: %v %v", n, a, b)
	}
	mu, rs := -40.25, 0.0371
	if a, b := sqDev8(x, mu), sqDevLanes(x, mu); math.Float64bits(a) != math.Float64bits(b) {
		t.Fatalf("n=%d sqDev: %v %v", n, a, b)
	}
	lnOut8(x, g, x, y1, mu, rs)
	lnOutGo(x, g, x, y2, mu, rs)
	if j := sameBits(y1, y2); j >= 0 {
		t.Fatalf("n=%d lnOut: [%d]", n, j)
	}
	a1, b1 := lnBwdDots8(x, g, y1, mu, rs)
	a2, b2 := lnBwdDotsLanes(x, g, y1, mu, rs)
	if math.Float64bits(a1) != math.Float64bits(a2) || math.Float64bits(b1) != math.Float64bits(b2) {
		t.Fatalf("n=%d lnBwdDots: %v %v, %v %v", n, a1, a2, b1, b2)
	}
	lnBwdOut8(x, g, y1, y2, mu, rs, 0.3, -0.7)
	d2 := make([]float32, n)
	lnBwdOutGo(x, g, y1, d2, mu, rs, 0.3, -0.7)
	if j := sameBits(y2, d2); j >= 0 {
		t.Fatalf("n=%d lnBwdOut: [%d]", n, j)
	}
	dg1, db1, dg2, db2 := make([]float64, n), make([]float64, n), make([]float64, n), make([]float64, n)
	for rep := 0; rep < 2; rep++ {
		lnParamAcc8(dg1, db1, x, g, mu, rs)
		lnParamAccGo(dg2, db2, x, g, mu, rs)
	}
	for j := range dg1 {
		if math.Float64bits(dg1[j]) != math.Float64bits(dg2[j]) || math.Float64bits(db1[j]) != math.Float64bits(db2[j]) {
			t.Fatalf("n=%d lnParamAcc: [%d]", n, j)
		}
	}
}
