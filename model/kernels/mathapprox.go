package kernels

import "math"

// Float32 approximations of exp and erf for the fast row-wise kernels.
//
// The scalar functions in this file are the specification of the
// arithmetic: the AVX2 kernels in rowops_amd64.s perform exactly the same
// float32 operations in the same order on 8 lanes, so both give
// bit-identical results (TestRowVecMatchesScalar checks this). To make
// that possible neither uses fused multiply-adds: every product below is
// rounded to float32 on its own (the explicit float32(a*b) conversions stop
// the Go compiler from fusing on architectures where it may), and the
// Cody–Waite constants are split so that the products that must be exact
// are exact without an FMA. Integer rounding uses round-half-to-even, as
// VROUNDPS with immediate 0 does.

// expf32 constants. The range reduction is exp(x) = 2^n·exp(r) with
// n = round(x·log2(e)) and r = x − n·ln2, |r| ≤ ln2/2 (+ rounding).
// ln2 is split into three parts (Cody–Waite): expC1 has 9 significant bits
// and expC2 12, so n·expC1 and n·expC2 are exact in float32 for |n| ≤ 255
// (here |n| ≤ 151) and the first two subtractions lose nothing; expC3 holds
// the rest (expC1+expC2+expC3 = ln2 to 1e-16).
const (
	expLog2e = float32(1.44269504088896341)
	expC1    = float32(0.693359375)
	expC2    = float32(-2.12192535400390625e-4)
	expC3    = float32(-1.9046542e-09)

	// exp(r) ≈ 1 + r + r²·P(r) on [−ln2/2, ln2/2]: the Cephes expf
	// polynomial (S. L. Moshier, Cephes Math Library, expf.c), relative
	// error of the polynomial ≈ 1e-8, well below float32 rounding.
	expP0 = float32(1.9875691500e-4)
	expP1 = float32(1.3981999507e-3)
	expP2 = float32(8.3334519073e-3)
	expP3 = float32(4.1665795894e-2)
	expP4 = float32(1.6666665459e-1)
	expP5 = float32(5.0000001201e-1)

	// Inputs are clamped to [expLo, expHi] before reduction (NaN passes
	// through the clamp). exp(−104) ≈ 6.8e-46 is below half the smallest
	// float32 subnormal (1.4e-45), so everything below rounds to +0;
	// exp(89) overflows to +Inf, and so does everything above. The clamp
	// also keeps n in [−150, 128], where 2^n is built as 2^n1·2^n2 with
	// both halves normal floats, so subnormal results are rounded once,
	// correctly, by the last multiplication.
	expLo = float32(-104)
	expHi = float32(89)
)

// expf32 returns e^x in float32.
//
// Measured error against math.Exp (the float64 value, so that a correctly
// rounded result scores ≤ 0.5 ulp): at most 0.987 float32 ulp over every
// float32 in [−104, 89], subnormal results (x < −87.3) included, where the
// ulp is the subnormal spacing 2^-149 (TestExpf32 with -exhaustive, about
// 100 s; by default it checks every 509th float32 and special values).
// exp(−Inf) = +0, exp(+Inf) = +Inf, exp(NaN) = NaN.
func expf32(x float32) float32 {
	if x < expLo { // comparisons with NaN are false: NaN passes
		x = expLo
	}
	if x > expHi {
		x = expHi
	}
	fn := float32(math.RoundToEven(float64(x * expLog2e)))
	r := x - float32(fn*expC1)
	r = r - float32(fn*expC2)
	r = r - float32(fn*expC3)
	p := expP0
	p = float32(p*r) + expP1
	p = float32(p*r) + expP2
	p = float32(p*r) + expP3
	p = float32(p*r) + expP4
	p = float32(p*r) + expP5
	r2 := r * r
	y := float32(p*r2) + r
	y = y + 1
	n := int32(fn)
	n1 := n >> 1
	n2 := n - n1
	y = y * math.Float32frombits(uint32(n1+127)<<23)
	return y * math.Float32frombits(uint32(n2+127)<<23)
}

// erf32 constants: erf(z) ≈ z·P(z²)/Q(z²) on [−4, 4] with P of degree 6
// and Q of degree 4 in z². This is the rational approximation used for
// float32 erf by XLA (ErfImpl32) and Eigen (generic_fast_erf_float);
// outside [−4, 4] erf(z) rounds to ±1 in float32, and the approximation
// evaluates to exactly ±1 at ±4 (checked by TestErf32).
//
// Measured maximum absolute error of erf32 against math.Erf, float32
// evaluation included, on a 2^23-point grid over [−4.5, 4.5]: 4.5e-7
// (near |z| = 3.93); below 2.5e-7 for |z| < 1.5 (TestErf32 uses 2^21
// points). GELU x·Φ(x) then errs by 0.5·|x|·(erf error) plus the final
// rounding: measured at most 1.37e-6 absolute on [−10, 10] (at x ≈ 5.59,
// where Φ(x) ≈ 1), and GELU' at most 2.8e-7 (TestGELU32).
const (
	erfClamp = float32(4)

	erfA13 = float32(-2.72614225801306e-10)
	erfA11 = float32(2.77068142495902e-08)
	erfA9  = float32(-2.10102402082508e-06)
	erfA7  = float32(-5.69250639462346e-05)
	erfA5  = float32(-7.34990630326855e-04)
	erfA3  = float32(-2.95459980854025e-03)
	erfA1  = float32(-1.60960333262415e-02)

	erfB8 = float32(-1.45660718464996e-05)
	erfB6 = float32(-2.13374055278905e-04)
	erfB4 = float32(-1.68282697438203e-03)
	erfB2 = float32(-7.37332916720468e-03)
	erfB0 = float32(-1.42647390514189e-02)
)

// erf32 returns erf(z) in float32 (see the constants for its accuracy).
func erf32(z float32) float32 {
	if z < -erfClamp {
		z = -erfClamp
	}
	if z > erfClamp {
		z = erfClamp
	}
	z2 := z * z
	p := erfA13
	p = float32(p*z2) + erfA11
	p = float32(p*z2) + erfA9
	p = float32(p*z2) + erfA7
	p = float32(p*z2) + erfA5
	p = float32(p*z2) + erfA3
	p = float32(p*z2) + erfA1
	p = p * z
	q := erfB8
	q = float32(q*z2) + erfB6
	q = float32(q*z2) + erfB4
	q = float32(q*z2) + erfB2
	q = float32(q*z2) + erfB0
	return p / q
}

// GELU constants. geluLo clamps x from below before use: for x < −16 both
// GELU(x) and GELU'(x) round to 0 in float32, and the clamp makes
// GELU(−Inf) = 0 instead of −Inf·0 = NaN. GELU' also clamps at +16, where
// it is exactly 1 in float32 (GELU itself is x there and is not clamped).
const (
	geluLo         = float32(-16)
	geluHi         = float32(16)
	geluInvSqrt2   = float32(1 / math.Sqrt2)
	geluInvSqrt2Pi = float32(invSqrt2Pi)
)

// gelu32 returns GELU(x) = 0.5·x·(1 + erf(x/√2)) in float32.
func gelu32(x float32) float32 {
	if x < geluLo { // NaN passes
		x = geluLo
	}
	e := erf32(x * geluInvSqrt2)
	h := 0.5 * x
	return h * (1 + e)
}

// geluGrad32 returns GELU'(x) = Φ(x) + x·φ(x) in float32.
func geluGrad32(x float32) float32 {
	if x < geluLo {
		x = geluLo
	}
	if x > geluHi {
		x = geluHi
	}
	e := erf32(x * geluInvSqrt2)
	cdf := 0.5 * (1 + e)
	w := x * x
	w = w * -0.5
	pdf := expf32(w) * geluInvSqrt2Pi
	return cdf + float32(x*pdf)
}
