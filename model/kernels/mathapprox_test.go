package kernels

import (
	"flag"
	"math"
	"testing"
)

var exhaustive = flag.Bool("exhaustive", false, "check expf32 on every float32 in [−104, 89] (slow: about a minute)")

// ulp32 returns the spacing of float32 numbers at |v| (the subnormal
// spacing 2^-149 below the normal range).
func ulp32(v float64) float64 {
	v = math.Abs(v)
	if v < 0x1p-126 {
		return 0x1p-149
	}
	_, e := math.Frexp(v)
	return math.Ldexp(1, e-24)
}

// expErrULP returns |expf32(x) − e^x| in float32 ulps of e^x, with e^x in
// float64 (so a correctly rounded result scores ≤ 0.5).
func expErrULP(x float32) float64 {
	want := math.Exp(float64(x))
	got := float64(expf32(x))
	if math.IsInf(got, 1) && want > math.MaxFloat32 {
		return 0
	}
	return math.Abs(got-want) / ulp32(want)
}

// TestExpf32 checks expf32 against math.Exp on every 509th float32 in
// [−104, 89] (every one with -exhaustive) and at special values.
func TestExpf32(t *testing.T) {
	step := uint32(509)
	if *exhaustive {
		step = 1
	}
	worst, worstX := 0.0, float32(0)
	check := func(lo, hi uint32) {
		for b := lo; b <= hi && b >= lo; b += step {
			x := math.Float32frombits(b)
			if e := expErrULP(x); e > worst {
				worst, worstX = e, x
			}
		}
	}
	check(0, math.Float32bits(89))            // [+0, 89]
	check(0x80000000, math.Float32bits(-104)) // [−0, −104]
	t.Logf("expf32: max error %.3f ulp at x = %v (step %d)", worst, worstX, step)
	if worst > 2 {
		t.Errorf("expf32: error %.3f ulp at x = %v, want ≤ 2", worst, worstX)
	}
	inf := float32(math.Inf(1))
	for _, c := range []struct{ x, want float32 }{
		{0, 1}, {float32(math.Copysign(0, -1)), 1}, {-inf, 0}, {inf, inf}, {-104, 0}, {-200, 0},
		{89, inf}, {1000, inf}, {88.72283, 3.4028e38},
	} {
		got := expf32(c.x)
		if c.want == 3.4028e38 {
			if math.IsInf(float64(got), 0) || math.Abs(float64(got)-math.Exp(float64(c.x))) > 2*ulp32(math.Exp(float64(c.x))) {
				t.Errorf("expf32(%v) = %v", c.x, got)
			}
			continue
		}
		if got != c.want {
			t.Errorf("expf32(%v) = %v, want %v", c.x, got, c.want)
		}
	}
	if got := expf32(float32(math.NaN())); !math.IsNaN(float64(got)) {
		t.Errorf("expf32(NaN) = %v", got)
	}
	// The Cody–Waite split: n·C1 and n·C2 must be exact for |n| ≤ 151.
	for _, c := range []float32{expC1, expC2} {
		for n := -151; n <= 151; n++ {
			if p := float32(n) * c; float64(p) != float64(n)*float64(c) {
				t.Fatalf("%d·%v is not exact in float32", n, c)
			}
		}
	}
	if d := float64(expC1) + float64(expC2) + float64(expC3) - math.Ln2; math.Abs(d) > 1e-15 {
		t.Errorf("C1+C2+C3 − ln2 = %g", d)
	}
}

// TestErf32 checks erf32 against math.Erf on a fine grid and at the
// clamps.
func TestErf32(t *testing.T) {
	worst, worstZ := 0.0, float32(0)
	const n = 1 << 21
	for i := 0; i <= n; i++ {
		z := float32(-4.5 + 9*float64(i)/n)
		if e := math.Abs(float64(erf32(z)) - math.Erf(float64(z))); e > worst {
			worst, worstZ = e, z
		}
		if erf32(-z) != -erf32(z) {
			t.Fatalf("erf32 not odd at %v", z)
		}
	}
	t.Logf("erf32: max abs error %.3g at %v", worst, worstZ)
	if worst > 5e-7 {
		t.Errorf("erf32: abs error %.3g at %v, want ≤ 5e-7", worst, worstZ)
	}
	inf := float32(math.Inf(1))
	for _, c := range []struct{ z, want float32 }{{4, 1}, {-4, -1}, {inf, 1}, {-inf, -1}, {0, 0}} {
		if got := erf32(c.z); got != c.want {
			t.Errorf("erf32(%v) = %v, want %v", c.z, got, c.want)
		}
	}
}

// TestGELU32 checks gelu32 and geluGrad32 against float64 math.Erf/Exp on
// [−10, 10] (absolute error ≤ 2e-6) and their limits.
func TestGELU32(t *testing.T) {
	worstF, worstB, xf, xb := 0.0, 0.0, float32(0), float32(0)
	const n = 1 << 21
	for i := 0; i <= n; i++ {
		x := float32(-10 + 20*float64(i)/n)
		v := float64(x)
		cdf := 0.5 * (1 + math.Erf(v/math.Sqrt2))
		if e := math.Abs(float64(gelu32(x)) - v*cdf); e > worstF {
			worstF, xf = e, x
		}
		d := cdf + v*math.Exp(-0.5*v*v)/math.Sqrt(2*math.Pi)
		if e := math.Abs(float64(geluGrad32(x)) - d); e > worstB {
			worstB, xb = e, x
		}
	}
	t.Logf("gelu32: max abs error %.3g at %v; geluGrad32: %.3g at %v", worstF, xf, worstB, xb)
	if worstF > 2e-6 || worstB > 2e-6 {
		t.Errorf("gelu32 error %.3g at %v, geluGrad32 error %.3g at %v; want ≤ 2e-6", worstF, xf, worstB, xb)
	}
	inf := float32(math.Inf(1))
	for _, c := range []struct{ x, y, d float32 }{{-inf, 0, 0}, {inf, inf, 1}, {0, 0, 0.5}, {-30, 0, 0}, {30, 30, 1}, {1e30, 1e30, 1}} {
		if y, d := gelu32(c.x), geluGrad32(c.x); y != c.y || d != c.d {
			t.Errorf("GELU(%v) = %v, GELU' = %v; want %v, %v", c.x, y, d, c.y, c.d)
		}
	}
	nan := float32(math.NaN())
	if y, d := gelu32(nan), geluGrad32(nan); !math.IsNaN(float64(y)) || !math.IsNaN(float64(d)) {
		t.Errorf("GELU(NaN) = %v, GELU'(NaN) = %v", y, d)
	}
}
