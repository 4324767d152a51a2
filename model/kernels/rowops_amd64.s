//go:build amd64 && !purego

#include "textflag.h"

// AVX2 versions of the float32 row loops in rowops_cpu.go. Each function
// processes n elements, n a positive multiple of 8; the Go callers handle
// the remainder. The arithmetic is exactly that of the Go function named
// next to each declaration in rowops_amd64.go (built on expf32, erf32,
// gelu32 and geluGrad32 of mathapprox.go): same operations in the same
// order, every product rounded on its own (the one FMA, in dotAVX2,
// multiplies two float32 values, which is exact in float64), and sums
// kept in eight float64 lanes (element j in lane j mod 8) reduced in a
// fixed order. The results are therefore bit-identical to the pure Go
// path, which TestRowVecMatchesScalar checks. Only AVX2 is used, not
// AVX-512: on the project's EPYC (Zen 4) 512-bit operations run at the
// same throughput as two 256-bit ones, and these loops are as much bound
// by memory traffic as by arithmetic.
//
// Constant table: each constant replicated 8 times (32 bytes), so that it
// can be used as a 256-bit memory operand. Clamps whose NaN behaviour
// matters are loaded into registers instead: VMAXPS/VMINPS return their
// second Intel source (the first Go operand) when either input is NaN, so
// "VMAXPS X, LO, X" keeps a NaN in X, like the Go "if x < lo" clamp.

// 0: log2e
DATA rowc<>+0(SB)/8, $0x3fb8aa3b3fb8aa3b
DATA rowc<>+8(SB)/8, $0x3fb8aa3b3fb8aa3b
DATA rowc<>+16(SB)/8, $0x3fb8aa3b3fb8aa3b
DATA rowc<>+24(SB)/8, $0x3fb8aa3b3fb8aa3b
// 32: ln2 part 1 (C1)
DATA rowc<>+32(SB)/8, $0x3f3180003f318000
DATA rowc<>+40(SB)/8, $0x3f3180003f318000
DATA rowc<>+48(SB)/8, $0x3f3180003f318000
DATA rowc<>+56(SB)/8, $0x3f3180003f318000
// 64: ln2 part 2 (C2)
DATA rowc<>+64(SB)/8, $0xb95e8000b95e8000
DATA rowc<>+72(SB)/8, $0xb95e8000b95e8000
DATA rowc<>+80(SB)/8, $0xb95e8000b95e8000
DATA rowc<>+88(SB)/8, $0xb95e8000b95e8000
// 96: ln2 part 3 (C3)
DATA rowc<>+96(SB)/8, $0xb102e308b102e308
DATA rowc<>+104(SB)/8, $0xb102e308b102e308
DATA rowc<>+112(SB)/8, $0xb102e308b102e308
DATA rowc<>+120(SB)/8, $0xb102e308b102e308
// 128: exp p0
DATA rowc<>+128(SB)/8, $0x3950696739506967
DATA rowc<>+136(SB)/8, $0x3950696739506967
DATA rowc<>+144(SB)/8, $0x3950696739506967
DATA rowc<>+152(SB)/8, $0x3950696739506967
// 160: exp p1
DATA rowc<>+160(SB)/8, $0x3ab743ce3ab743ce
DATA rowc<>+168(SB)/8, $0x3ab743ce3ab743ce
DATA rowc<>+176(SB)/8, $0x3ab743ce3ab743ce
DATA rowc<>+184(SB)/8, $0x3ab743ce3ab743ce
// 192: exp p2
DATA rowc<>+192(SB)/8, $0x3c0889083c088908
DATA rowc<>+200(SB)/8, $0x3c0889083c088908
DATA rowc<>+208(SB)/8, $0x3c0889083c088908
DATA rowc<>+216(SB)/8, $0x3c0889083c088908
// 224: exp p3
DATA rowc<>+224(SB)/8, $0x3d2aa9c13d2aa9c1
DATA rowc<>+232(SB)/8, $0x3d2aa9c13d2aa9c1
DATA rowc<>+240(SB)/8, $0x3d2aa9c13d2aa9c1
DATA rowc<>+248(SB)/8, $0x3d2aa9c13d2aa9c1
// 256: exp p4
DATA rowc<>+256(SB)/8, $0x3e2aaaaa3e2aaaaa
DATA rowc<>+264(SB)/8, $0x3e2aaaaa3e2aaaaa
DATA rowc<>+272(SB)/8, $0x3e2aaaaa3e2aaaaa
DATA rowc<>+280(SB)/8, $0x3e2aaaaa3e2aaaaa
// 288: exp p5
DATA rowc<>+288(SB)/8, $0x3f0000003f000000
DATA rowc<>+296(SB)/8, $0x3f0000003f000000
DATA rowc<>+304(SB)/8, $0x3f0000003f000000
DATA rowc<>+312(SB)/8, $0x3f0000003f000000
// 320: 1
DATA rowc<>+320(SB)/8, $0x3f8000003f800000
DATA rowc<>+328(SB)/8, $0x3f8000003f800000
DATA rowc<>+336(SB)/8, $0x3f8000003f800000
DATA rowc<>+344(SB)/8, $0x3f8000003f800000
// 352: exponent bias 127 (int32)
DATA rowc<>+352(SB)/8, $0x0000007f0000007f
DATA rowc<>+360(SB)/8, $0x0000007f0000007f
DATA rowc<>+368(SB)/8, $0x0000007f0000007f
DATA rowc<>+376(SB)/8, $0x0000007f0000007f
// 384: exp clamp low
DATA rowc<>+384(SB)/8, $0xc2d00000c2d00000
DATA rowc<>+392(SB)/8, $0xc2d00000c2d00000
DATA rowc<>+400(SB)/8, $0xc2d00000c2d00000
DATA rowc<>+408(SB)/8, $0xc2d00000c2d00000
// 416: exp clamp high
DATA rowc<>+416(SB)/8, $0x42b2000042b20000
DATA rowc<>+424(SB)/8, $0x42b2000042b20000
DATA rowc<>+432(SB)/8, $0x42b2000042b20000
DATA rowc<>+440(SB)/8, $0x42b2000042b20000
// 448: 0.5
DATA rowc<>+448(SB)/8, $0x3f0000003f000000
DATA rowc<>+456(SB)/8, $0x3f0000003f000000
DATA rowc<>+464(SB)/8, $0x3f0000003f000000
DATA rowc<>+472(SB)/8, $0x3f0000003f000000
// 480: 1/sqrt2
DATA rowc<>+480(SB)/8, $0x3f3504f33f3504f3
DATA rowc<>+488(SB)/8, $0x3f3504f33f3504f3
DATA rowc<>+496(SB)/8, $0x3f3504f33f3504f3
DATA rowc<>+504(SB)/8, $0x3f3504f33f3504f3
// 512: erf clamp high
DATA rowc<>+512(SB)/8, $0x4080000040800000
DATA rowc<>+520(SB)/8, $0x4080000040800000
DATA rowc<>+528(SB)/8, $0x4080000040800000
DATA rowc<>+536(SB)/8, $0x4080000040800000
// 544: erf clamp low
DATA rowc<>+544(SB)/8, $0xc0800000c0800000
DATA rowc<>+552(SB)/8, $0xc0800000c0800000
DATA rowc<>+560(SB)/8, $0xc0800000c0800000
DATA rowc<>+568(SB)/8, $0xc0800000c0800000
// 576: erf alpha13
DATA rowc<>+576(SB)/8, $0xaf95df0baf95df0b
DATA rowc<>+584(SB)/8, $0xaf95df0baf95df0b
DATA rowc<>+592(SB)/8, $0xaf95df0baf95df0b
DATA rowc<>+600(SB)/8, $0xaf95df0baf95df0b
// 608: erf alpha11
DATA rowc<>+608(SB)/8, $0x32edffee32edffee
DATA rowc<>+616(SB)/8, $0x32edffee32edffee
DATA rowc<>+624(SB)/8, $0x32edffee32edffee
DATA rowc<>+632(SB)/8, $0x32edffee32edffee
// 640: erf alpha9
DATA rowc<>+640(SB)/8, $0xb60cff51b60cff51
DATA rowc<>+648(SB)/8, $0xb60cff51b60cff51
DATA rowc<>+656(SB)/8, $0xb60cff51b60cff51
DATA rowc<>+664(SB)/8, $0xb60cff51b60cff51
// 672: erf alpha7
DATA rowc<>+672(SB)/8, $0xb86ec2d2b86ec2d2
DATA rowc<>+680(SB)/8, $0xb86ec2d2b86ec2d2
DATA rowc<>+688(SB)/8, $0xb86ec2d2b86ec2d2
DATA rowc<>+696(SB)/8, $0xb86ec2d2b86ec2d2
// 704: erf alpha5
DATA rowc<>+704(SB)/8, $0xba40ac63ba40ac63
DATA rowc<>+712(SB)/8, $0xba40ac63ba40ac63
DATA rowc<>+720(SB)/8, $0xba40ac63ba40ac63
DATA rowc<>+728(SB)/8, $0xba40ac63ba40ac63
// 736: erf alpha3
DATA rowc<>+736(SB)/8, $0xbb41a1f6bb41a1f6
DATA rowc<>+744(SB)/8, $0xbb41a1f6bb41a1f6
DATA rowc<>+752(SB)/8, $0xbb41a1f6bb41a1f6
DATA rowc<>+760(SB)/8, $0xbb41a1f6bb41a1f6
// 768: erf alpha1
DATA rowc<>+768(SB)/8, $0xbc83dbd4bc83dbd4
DATA rowc<>+776(SB)/8, $0xbc83dbd4bc83dbd4
DATA rowc<>+784(SB)/8, $0xbc83dbd4bc83dbd4
DATA rowc<>+792(SB)/8, $0xbc83dbd4bc83dbd4
// 800: erf beta8
DATA rowc<>+800(SB)/8, $0xb77460cdb77460cd
DATA rowc<>+808(SB)/8, $0xb77460cdb77460cd
DATA rowc<>+816(SB)/8, $0xb77460cdb77460cd
DATA rowc<>+824(SB)/8, $0xb77460cdb77460cd
// 832: erf beta6
DATA rowc<>+832(SB)/8, $0xb95fbd29b95fbd29
DATA rowc<>+840(SB)/8, $0xb95fbd29b95fbd29
DATA rowc<>+848(SB)/8, $0xb95fbd29b95fbd29
DATA rowc<>+856(SB)/8, $0xb95fbd29b95fbd29
// 864: erf beta4
DATA rowc<>+864(SB)/8, $0xbadc924ebadc924e
DATA rowc<>+872(SB)/8, $0xbadc924ebadc924e
DATA rowc<>+880(SB)/8, $0xbadc924ebadc924e
DATA rowc<>+888(SB)/8, $0xbadc924ebadc924e
// 896: erf beta2
DATA rowc<>+896(SB)/8, $0xbbf19bf8bbf19bf8
DATA rowc<>+904(SB)/8, $0xbbf19bf8bbf19bf8
DATA rowc<>+912(SB)/8, $0xbbf19bf8bbf19bf8
DATA rowc<>+920(SB)/8, $0xbbf19bf8bbf19bf8
// 928: erf beta0
DATA rowc<>+928(SB)/8, $0xbc69b6a7bc69b6a7
DATA rowc<>+936(SB)/8, $0xbc69b6a7bc69b6a7
DATA rowc<>+944(SB)/8, $0xbc69b6a7bc69b6a7
DATA rowc<>+952(SB)/8, $0xbc69b6a7bc69b6a7
// 960: gelu clamp low
DATA rowc<>+960(SB)/8, $0xc1800000c1800000
DATA rowc<>+968(SB)/8, $0xc1800000c1800000
DATA rowc<>+976(SB)/8, $0xc1800000c1800000
DATA rowc<>+984(SB)/8, $0xc1800000c1800000
// 992: gelu clamp high
DATA rowc<>+992(SB)/8, $0x4180000041800000
DATA rowc<>+1000(SB)/8, $0x4180000041800000
DATA rowc<>+1008(SB)/8, $0x4180000041800000
DATA rowc<>+1016(SB)/8, $0x4180000041800000
// 1024: 1/sqrt(2pi)
DATA rowc<>+1024(SB)/8, $0x3ecc422a3ecc422a
DATA rowc<>+1032(SB)/8, $0x3ecc422a3ecc422a
DATA rowc<>+1040(SB)/8, $0x3ecc422a3ecc422a
DATA rowc<>+1048(SB)/8, $0x3ecc422a3ecc422a
// 1056: -0.5
DATA rowc<>+1056(SB)/8, $0xbf000000bf000000
DATA rowc<>+1064(SB)/8, $0xbf000000bf000000
DATA rowc<>+1072(SB)/8, $0xbf000000bf000000
DATA rowc<>+1080(SB)/8, $0xbf000000bf000000
// 1088: -Inf
DATA rowc<>+1088(SB)/8, $0xff800000ff800000
DATA rowc<>+1096(SB)/8, $0xff800000ff800000
DATA rowc<>+1104(SB)/8, $0xff800000ff800000
DATA rowc<>+1112(SB)/8, $0xff800000ff800000
GLOBL rowc<>(SB), RODATA|NOPTR, $1120

// EXP8 computes X = expf32(X) on 8 lanes (see expf32 in mathapprox.go for
// the algorithm); it needs Y14 = expLo and Y15 = expHi and clobbers T1-T3.
#define EXP8(X, T1, T2, T3) \
	VMAXPS X, Y14, X; \
	VMINPS X, Y15, X; \
	VMULPS rowc<>+0(SB), X, T1; \
	VROUNDPS $0, T1, T1; \
	VMULPS rowc<>+32(SB), T1, T2; \
	VSUBPS T2, X, X; \
	VMULPS rowc<>+64(SB), T1, T2; \
	VSUBPS T2, X, X; \
	VMULPS rowc<>+96(SB), T1, T2; \
	VSUBPS T2, X, X; \
	VCVTPS2DQ T1, T1; \
	VMULPS rowc<>+128(SB), X, T2; \
	VADDPS rowc<>+160(SB), T2, T2; \
	VMULPS X, T2, T2; \
	VADDPS rowc<>+192(SB), T2, T2; \
	VMULPS X, T2, T2; \
	VADDPS rowc<>+224(SB), T2, T2; \
	VMULPS X, T2, T2; \
	VADDPS rowc<>+256(SB), T2, T2; \
	VMULPS X, T2, T2; \
	VADDPS rowc<>+288(SB), T2, T2; \
	VMULPS X, X, T3; \
	VMULPS T3, T2, T2; \
	VADDPS X, T2, T2; \
	VADDPS rowc<>+320(SB), T2, T2; \
	VPSRAD $1, T1, T3; \
	VPSUBD T3, T1, T1; \
	VPADDD rowc<>+352(SB), T3, T3; \
	VPSLLD $23, T3, T3; \
	VPADDD rowc<>+352(SB), T1, T1; \
	VPSLLD $23, T1, T1; \
	VMULPS T3, T2, T2; \
	VMULPS T1, T2, X

// ERF8 computes X = erf32(X) on 8 lanes; clobbers T1-T3. Its clamp does
// not keep NaN (the callers multiply by the NaN-preserving x anyway).
#define ERF8(X, T1, T2, T3) \
	VMAXPS rowc<>+544(SB), X, X; \
	VMINPS rowc<>+512(SB), X, X; \
	VMULPS X, X, T1; \
	VMULPS rowc<>+576(SB), T1, T2; \
	VADDPS rowc<>+608(SB), T2, T2; \
	VMULPS T1, T2, T2; \
	VADDPS rowc<>+640(SB), T2, T2; \
	VMULPS T1, T2, T2; \
	VADDPS rowc<>+672(SB), T2, T2; \
	VMULPS T1, T2, T2; \
	VADDPS rowc<>+704(SB), T2, T2; \
	VMULPS T1, T2, T2; \
	VADDPS rowc<>+736(SB), T2, T2; \
	VMULPS T1, T2, T2; \
	VADDPS rowc<>+768(SB), T2, T2; \
	VMULPS X, T2, T2; \
	VMULPS rowc<>+800(SB), T1, T3; \
	VADDPS rowc<>+832(SB), T3, T3; \
	VMULPS T1, T3, T3; \
	VADDPS rowc<>+864(SB), T3, T3; \
	VMULPS T1, T3, T3; \
	VADDPS rowc<>+896(SB), T3, T3; \
	VMULPS T1, T3, T3; \
	VADDPS rowc<>+928(SB), T3, T3; \
	VDIVPS T3, T2, X

// func maxAVX2(x *float32, n int) float32
// Lane l keeps the maximum of x[j], j ≡ l (mod 8), skipping NaNs, from
// -Inf; the lanes are then reduced as in maxLanes.
TEXT ·maxAVX2(SB), NOSPLIT, $0-20
	MOVQ x+0(FP), SI
	MOVQ n+8(FP), CX
	VMOVUPS rowc<>+1088(SB), Y8

maxloop:
	VMOVUPS (SI), Y0
	VMAXPS  Y8, Y0, Y8
	ADDQ    $32, SI
	SUBQ    $8, CX
	JNZ     maxloop

	VEXTRACTF128 $1, Y8, X1
	VMAXPS       X1, X8, X0
	VMOVHLPS     X0, X0, X1
	VMAXPS       X1, X0, X0
	VMOVSHDUP    X0, X1
	VMAXPS       X1, X0, X0
	VZEROUPPER
	MOVSS        X0, ret+16(FP)
	RET

// func expShiftSumAVX2(x, y *float32, n int, mx float32) float64
// y[j] = expf32(x[j] - mx); returns the sum of y in float64 lanes.
TEXT ·expShiftSumAVX2(SB), NOSPLIT, $0-40
	MOVQ         x+0(FP), SI
	MOVQ         y+8(FP), DI
	MOVQ         n+16(FP), CX
	VBROADCASTSS mx+24(FP), Y11
	VMOVUPS      rowc<>+384(SB), Y14
	VMOVUPS      rowc<>+416(SB), Y15
	VXORPD       Y8, Y8, Y8
	VXORPD       Y9, Y9, Y9

exploop:
	VMOVUPS (SI), Y0
	VSUBPS  Y11, Y0, Y0
	EXP8(Y0, Y1, Y2, Y3)
	VMOVUPS Y0, (DI)
	VCVTPS2PD    X0, Y1
	VEXTRACTF128 $1, Y0, X2
	VCVTPS2PD    X2, Y2
	VADDPD       Y1, Y8, Y8
	VADDPD       Y2, Y9, Y9
	ADDQ         $32, SI
	ADDQ         $32, DI
	SUBQ         $8, CX
	JNZ          exploop

	VADDPD       Y9, Y8, Y8
	VEXTRACTF128 $1, Y8, X9
	VADDPD       X9, X8, X8
	VHADDPD      X8, X8, X8
	VZEROUPPER
	MOVSD        X8, ret+32(FP)
	RET

// func scaleAVX2(y *float32, n int, s float32)
TEXT ·scaleAVX2(SB), NOSPLIT, $0-20
	MOVQ         y+0(FP), DI
	MOVQ         n+8(FP), CX
	VBROADCASTSS s+16(FP), Y11

scaleloop:
	VMULPS  (DI), Y11, Y0
	VMOVUPS Y0, (DI)
	ADDQ    $32, DI
	SUBQ    $8, CX
	JNZ     scaleloop
	VZEROUPPER
	RET

// func dotAVX2(a, b *float32, n int) float64
// Sum of a[j]·b[j] in float64 lanes; the products are exact in float64,
// so the FMA rounds exactly like the Go acc += a·b.
TEXT ·dotAVX2(SB), NOSPLIT, $0-32
	MOVQ   a+0(FP), SI
	MOVQ   b+8(FP), DI
	MOVQ   n+16(FP), CX
	VXORPD Y8, Y8, Y8
	VXORPD Y9, Y9, Y9

dotloop:
	VMOVUPS      (SI), Y0
	VMOVUPS      (DI), Y1
	VCVTPS2PD    X0, Y2
	VEXTRACTF128 $1, Y0, X3
	VCVTPS2PD    X3, Y3
	VCVTPS2PD    X1, Y4
	VEXTRACTF128 $1, Y1, X5
	VCVTPS2PD    X5, Y5
	VFMADD231PD  Y4, Y2, Y8
	VFMADD231PD  Y5, Y3, Y9
	ADDQ         $32, SI
	ADDQ         $32, DI
	SUBQ         $8, CX
	JNZ          dotloop

	VADDPD       Y9, Y8, Y8
	VEXTRACTF128 $1, Y8, X9
	VADDPD       X9, X8, X8
	VHADDPD      X8, X8, X8
	VZEROUPPER
	MOVSD        X8, ret+24(FP)
	RET

// func softmaxBwdAVX2(y, dy, dx *float32, n int, dot float32)
// dx[j] = y[j]·(dy[j] − dot); dx may be dy.
TEXT ·softmaxBwdAVX2(SB), NOSPLIT, $0-36
	MOVQ         y+0(FP), SI
	MOVQ         dy+8(FP), BX
	MOVQ         dx+16(FP), DI
	MOVQ         n+24(FP), CX
	VBROADCASTSS dot+32(FP), Y11

sbwdloop:
	VMOVUPS (BX), Y1
	VSUBPS  Y11, Y1, Y1
	VMULPS  (SI), Y1, Y1
	VMOVUPS Y1, (DI)
	ADDQ    $32, SI
	ADDQ    $32, BX
	ADDQ    $32, DI
	SUBQ    $8, CX
	JNZ     sbwdloop
	VZEROUPPER
	RET

// func geluAVX2(x, y *float32, n int)
// y[j] = gelu32(x[j]).
TEXT ·geluAVX2(SB), NOSPLIT, $0-24
	MOVQ    x+0(FP), SI
	MOVQ    y+8(FP), DI
	MOVQ    n+16(FP), CX
	VMOVUPS rowc<>+960(SB), Y12

geluloop:
	VMOVUPS (SI), Y0
	VMAXPS  Y0, Y12, Y0
	VMULPS  rowc<>+480(SB), Y0, Y1
	ERF8(Y1, Y2, Y3, Y4)
	VMULPS  rowc<>+448(SB), Y0, Y5
	VADDPS  rowc<>+320(SB), Y1, Y1
	VMULPS  Y1, Y5, Y1
	VMOVUPS Y1, (DI)
	ADDQ    $32, SI
	ADDQ    $32, DI
	SUBQ    $8, CX
	JNZ     geluloop
	VZEROUPPER
	RET

// func geluGradAVX2(x, dy, dx *float32, n int)
// dx[j] = dy[j]·geluGrad32(x[j]); dx may be dy.
TEXT ·geluGradAVX2(SB), NOSPLIT, $0-32
	MOVQ    x+0(FP), SI
	MOVQ    dy+8(FP), BX
	MOVQ    dx+16(FP), DI
	MOVQ    n+24(FP), CX
	VMOVUPS rowc<>+960(SB), Y12
	VMOVUPS rowc<>+992(SB), Y13
	VMOVUPS rowc<>+384(SB), Y14
	VMOVUPS rowc<>+416(SB), Y15

ggradloop:
	VMOVUPS (SI), Y0
	VMAXPS  Y0, Y12, Y0
	VMINPS  Y0, Y13, Y0
	VMULPS  rowc<>+480(SB), Y0, Y1
	ERF8(Y1, Y2, Y3, Y4)
	VADDPS  rowc<>+320(SB), Y1, Y1
	VMULPS  rowc<>+448(SB), Y1, Y1
	VMULPS  Y0, Y0, Y5
	VMULPS  rowc<>+1056(SB), Y5, Y5
	EXP8(Y5, Y6, Y7, Y8)
	VMULPS  rowc<>+1024(SB), Y5, Y5
	VMULPS  Y0, Y5, Y5
	VADDPS  Y5, Y1, Y1
	VMULPS  (BX), Y1, Y1
	VMOVUPS Y1, (DI)
	ADDQ    $32, SI
	ADDQ    $32, BX
	ADDQ    $32, DI
	SUBQ    $8, CX
	JNZ     ggradloop
	VZEROUPPER
	RET

// func addAVX2(x, m, y *float32, n int)
// y[j] = x[j] + m[j]; y may be x.
TEXT ·addAVX2(SB), NOSPLIT, $0-32
	MOVQ x+0(FP), SI
	MOVQ m+8(FP), BX
	MOVQ y+16(FP), DI
	MOVQ n+24(FP), CX

addloop:
	VMOVUPS (SI), Y0
	VADDPS  (BX), Y0, Y0
	VMOVUPS Y0, (DI)
	ADDQ    $32, SI
	ADDQ    $32, BX
	ADDQ    $32, DI
	SUBQ    $8, CX
	JNZ     addloop
	VZEROUPPER
	RET

// func accAVX2(acc *float64, x *float32, n int)
// acc[j] += float64(x[j]).
TEXT ·accAVX2(SB), NOSPLIT, $0-24
	MOVQ acc+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ n+16(FP), CX

accloop:
	VMOVUPS      (SI), Y0
	VCVTPS2PD    X0, Y1
	VEXTRACTF128 $1, Y0, X2
	VCVTPS2PD    X2, Y2
	VADDPD       (DI), Y1, Y1
	VADDPD       32(DI), Y2, Y2
	VMOVUPD      Y1, (DI)
	VMOVUPD      Y2, 32(DI)
	ADDQ         $32, SI
	ADDQ         $64, DI
	SUBQ         $8, CX
	JNZ          accloop
	VZEROUPPER
	RET

// CVT8PD loads the 8 float32 at (R) into two float64 vectors LO and HI.
#define CVT8PD(R, LO, HI) \
	VCVTPS2PD (R), LO; \
	VCVTPS2PD 16(R), HI

// func sumAVX2(x *float32, n int) float64
TEXT ·sumAVX2(SB), NOSPLIT, $0-24
	MOVQ   x+0(FP), SI
	MOVQ   n+8(FP), CX
	VXORPD Y8, Y8, Y8
	VXORPD Y9, Y9, Y9

sumloop:
	CVT8PD(SI, Y1, Y2)
	VADDPD Y1, Y8, Y8
	VADDPD Y2, Y9, Y9
	ADDQ   $32, SI
	SUBQ   $8, CX
	JNZ    sumloop

	VADDPD       Y9, Y8, Y8
	VEXTRACTF128 $1, Y8, X9
	VADDPD       X9, X8, X8
	VHADDPD      X8, X8, X8
	VZEROUPPER
	MOVSD        X8, ret+16(FP)
	RET

// func sqDevAVX2(x *float32, n int, mu float64) float64
// Σ (x[j] − mu)² in float64 lanes (multiply and add rounded separately).
TEXT ·sqDevAVX2(SB), NOSPLIT, $0-32
	MOVQ         x+0(FP), SI
	MOVQ         n+8(FP), CX
	VBROADCASTSD mu+16(FP), Y10
	VXORPD       Y8, Y8, Y8
	VXORPD       Y9, Y9, Y9

sqdevloop:
	CVT8PD(SI, Y1, Y2)
	VSUBPD Y10, Y1, Y1
	VSUBPD Y10, Y2, Y2
	VMULPD Y1, Y1, Y1
	VMULPD Y2, Y2, Y2
	VADDPD Y1, Y8, Y8
	VADDPD Y2, Y9, Y9
	ADDQ   $32, SI
	SUBQ   $8, CX
	JNZ    sqdevloop

	VADDPD       Y9, Y8, Y8
	VEXTRACTF128 $1, Y8, X9
	VADDPD       X9, X8, X8
	VHADDPD      X8, X8, X8
	VZEROUPPER
	MOVSD        X8, ret+24(FP)
	RET

// func lnOutAVX2(x, gamma, beta, y *float32, n int, mu, rs float64)
// y[j] = float32(((x[j] − mu)·rs)·gamma[j] + beta[j]) in float64.
TEXT ·lnOutAVX2(SB), NOSPLIT, $0-56
	MOVQ         x+0(FP), SI
	MOVQ         gamma+8(FP), BX
	MOVQ         beta+16(FP), DX
	MOVQ         y+24(FP), DI
	MOVQ         n+32(FP), CX
	VBROADCASTSD mu+40(FP), Y10
	VBROADCASTSD rs+48(FP), Y11

lnoutloop:
	CVT8PD(SI, Y1, Y2)
	CVT8PD(BX, Y3, Y4)
	CVT8PD(DX, Y5, Y6)
	VSUBPD       Y10, Y1, Y1
	VSUBPD       Y10, Y2, Y2
	VMULPD       Y11, Y1, Y1
	VMULPD       Y11, Y2, Y2
	VMULPD       Y3, Y1, Y1
	VMULPD       Y4, Y2, Y2
	VADDPD       Y5, Y1, Y1
	VADDPD       Y6, Y2, Y2
	VCVTPD2PSY   Y1, X1
	VCVTPD2PSY   Y2, X2
	VINSERTF128  $1, X2, Y1, Y1
	VMOVUPS      Y1, (DI)
	ADDQ         $32, SI
	ADDQ         $32, BX
	ADDQ         $32, DX
	ADDQ         $32, DI
	SUBQ         $8, CX
	JNZ          lnoutloop
	VZEROUPPER
	RET

// func lnBwdDotsAVX2(x, dy, gamma *float32, n int, mu, rs float64) (sg, sgx float64)
// With g = dy·gamma and xh = (x − mu)·rs: sg = Σ g, sgx = Σ g·xh, in
// float64 lanes.
TEXT ·lnBwdDotsAVX2(SB), NOSPLIT, $0-64
	MOVQ         x+0(FP), SI
	MOVQ         dy+8(FP), BX
	MOVQ         gamma+16(FP), DX
	MOVQ         n+24(FP), CX
	VBROADCASTSD mu+32(FP), Y10
	VBROADCASTSD rs+40(FP), Y11
	VXORPD       Y8, Y8, Y8
	VXORPD       Y9, Y9, Y9
	VXORPD       Y12, Y12, Y12
	VXORPD       Y13, Y13, Y13

lndotsloop:
	CVT8PD(SI, Y1, Y2)
	CVT8PD(BX, Y3, Y4)
	CVT8PD(DX, Y5, Y6)
	VMULPD Y5, Y3, Y3
	VMULPD Y6, Y4, Y4
	VADDPD Y3, Y8, Y8
	VADDPD Y4, Y9, Y9
	VSUBPD Y10, Y1, Y1
	VSUBPD Y10, Y2, Y2
	VMULPD Y11, Y1, Y1
	VMULPD Y11, Y2, Y2
	VMULPD Y3, Y1, Y1
	VMULPD Y4, Y2, Y2
	VADDPD Y1, Y12, Y12
	VADDPD Y2, Y13, Y13
	ADDQ   $32, SI
	ADDQ   $32, BX
	ADDQ   $32, DX
	SUBQ   $8, CX
	JNZ    lndotsloop

	VADDPD       Y9, Y8, Y8
	VEXTRACTF128 $1, Y8, X9
	VADDPD       X9, X8, X8
	VHADDPD      X8, X8, X8
	VADDPD       Y13, Y12, Y12
	VEXTRACTF128 $1, Y12, X13
	VADDPD       X13, X12, X12
	VHADDPD      X12, X12, X12
	VZEROUPPER
	MOVSD        X8, sg+48(FP)
	MOVSD        X12, sgx+56(FP)
	RET

// func lnBwdOutAVX2(x, dy, gamma, dx *float32, n int, mu, rs, sg, sgx float64)
// dx[j] = float32(rs·((g − sg) − xh·sgx)), g and xh as in lnBwdDotsAVX2.
// dx may be dy.
TEXT ·lnBwdOutAVX2(SB), NOSPLIT, $0-72
	MOVQ         x+0(FP), SI
	MOVQ         dy+8(FP), BX
	MOVQ         gamma+16(FP), DX
	MOVQ         dx+24(FP), DI
	MOVQ         n+32(FP), CX
	VBROADCASTSD mu+40(FP), Y10
	VBROADCASTSD rs+48(FP), Y11
	VBROADCASTSD sg+56(FP), Y12
	VBROADCASTSD sgx+64(FP), Y13

lnbwdloop:
	CVT8PD(SI, Y1, Y2)
	CVT8PD(BX, Y3, Y4)
	CVT8PD(DX, Y5, Y6)
	VMULPD      Y5, Y3, Y3
	VMULPD      Y6, Y4, Y4
	VSUBPD      Y10, Y1, Y1
	VSUBPD      Y10, Y2, Y2
	VMULPD      Y11, Y1, Y1
	VMULPD      Y11, Y2, Y2
	VMULPD      Y13, Y1, Y1
	VMULPD      Y13, Y2, Y2
	VSUBPD      Y12, Y3, Y3
	VSUBPD      Y12, Y4, Y4
	VSUBPD      Y1, Y3, Y3
	VSUBPD      Y2, Y4, Y4
	VMULPD      Y11, Y3, Y3
	VMULPD      Y11, Y4, Y4
	VCVTPD2PSY  Y3, X3
	VCVTPD2PSY  Y4, X4
	VINSERTF128 $1, X4, Y3, Y3
	VMOVUPS     Y3, (DI)
	ADDQ        $32, SI
	ADDQ        $32, BX
	ADDQ        $32, DX
	ADDQ        $32, DI
	SUBQ        $8, CX
	JNZ         lnbwdloop
	VZEROUPPER
	RET

// func lnParamAccAVX2(dg, db *float64, x, dy *float32, n int, mu, rs float64)
// dg[j] += (dy[j]·(x[j] − mu))·rs; db[j] += dy[j].
TEXT ·lnParamAccAVX2(SB), NOSPLIT, $0-56
	MOVQ         dg+0(FP), DI
	MOVQ         db+8(FP), R8
	MOVQ         x+16(FP), SI
	MOVQ         dy+24(FP), BX
	MOVQ         n+32(FP), CX
	VBROADCASTSD mu+40(FP), Y10
	VBROADCASTSD rs+48(FP), Y11

lnparamloop:
	CVT8PD(SI, Y1, Y2)
	CVT8PD(BX, Y3, Y4)
	VADDPD  (R8), Y3, Y5
	VADDPD  32(R8), Y4, Y6
	VMOVUPD Y5, (R8)
	VMOVUPD Y6, 32(R8)
	VSUBPD  Y10, Y1, Y1
	VSUBPD  Y10, Y2, Y2
	VMULPD  Y3, Y1, Y1
	VMULPD  Y4, Y2, Y2
	VMULPD  Y11, Y1, Y1
	VMULPD  Y11, Y2, Y2
	VADDPD  (DI), Y1, Y1
	VADDPD  32(DI), Y2, Y2
	VMOVUPD Y1, (DI)
	VMOVUPD Y2, 32(DI)
	ADDQ    $32, SI
	ADDQ    $32, BX
	ADDQ    $64, DI
	ADDQ    $64, R8
	SUBQ    $8, CX
	JNZ     lnparamloop
	VZEROUPPER
	RET
