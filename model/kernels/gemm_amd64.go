//go:build amd64 && !purego

package kernels

import "golang.org/x/sys/cpu"

//go:noescape
func sgemmKernelAVX512(k int, a, b, c *float32, ldc int, alpha, beta float32)

//go:noescape
func sgemmKernelAVX2(k int, a, b, c *float32, ldc int, alpha, beta float32)

//go:noescape
func dgemmKernelAVX512(k int, a, b, c *float64, ldc int, alpha, beta float64)

//go:noescape
func dgemmKernelAVX2(k int, a, b, c *float64, ldc int, alpha, beta float64)

// fmaPeakAVX512 and fmaPeakAVX2 run n iterations of 24 (resp. 12)
// independent float32 vector FMAs (768 resp. 192 FLOPs per iteration);
// the benchmarks use them to measure the FMA peak.
func fmaPeakAVX512(n int)
func fmaPeakAVX2(n int)

// hasAVX512 and hasAVX2 report whether the assembly kernels may run: the
// CPU has the instructions and the OS saves the registers (x/sys/cpu checks
// XCR0 for both).
var (
	hasAVX512 = cpu.X86.HasAVX512F
	hasAVX2   = cpu.X86.HasAVX2 && cpu.X86.HasFMA
)

// Blocking: mc·kc·size of the packed A block stays in L2 (1 MiB per core on
// the project machines: 264·512·4 = 528 KiB), the kc×nc B panel in L3. A
// sweep of kc ∈ {128…768}, mc ∈ {48…264} on 512×768×768 with 2 threads
// (2-core EPYC, AVX-512) put kc = 256 at 150–157 GFLOP/s and kc = 512,
// mc = 264 at 164–166: fewer k-blocks mean fewer passes over C and fewer
// pack/compute barriers, which outweighs the B micro-panel (kc·nr·4 = 64 KiB)
// not fitting L1 (32 KiB); the L2 prefetchers keep it streaming. AVX2 and
// float64 use the same kc with a proportionally smaller mc (not tuned).

// f32Configs returns the float32 GEMM variants this CPU supports, fastest
// first; the tests run all of them.
func f32Configs() []*gemmConfig[float32] {
	var cs []*gemmConfig[float32]
	if hasAVX512 {
		cs = append(cs, &gemmConfig[float32]{name: "avx512", mr: 12, nr: 32, kc: 512, mc: 264, nc: 3072, kernel: sgemmKernelAVX512, parallelFlops: 1 << 18})
	}
	if hasAVX2 {
		cs = append(cs, &gemmConfig[float32]{name: "avx2", mr: 6, nr: 16, kc: 512, mc: 132, nc: 3072, kernel: sgemmKernelAVX2, parallelFlops: 1 << 18})
	}
	return append(cs, newGoConfig[float32]())
}

// f64Configs is f32Configs for float64.
func f64Configs() []*gemmConfig[float64] {
	var cs []*gemmConfig[float64]
	if hasAVX512 {
		cs = append(cs, &gemmConfig[float64]{name: "avx512", mr: 12, nr: 16, kc: 512, mc: 132, nc: 3072, kernel: dgemmKernelAVX512, parallelFlops: 1 << 18})
	}
	if hasAVX2 {
		cs = append(cs, &gemmConfig[float64]{name: "avx2", mr: 6, nr: 8, kc: 512, mc: 66, nc: 3072, kernel: dgemmKernelAVX2, parallelFlops: 1 << 18})
	}
	return append(cs, newGoConfig[float64]())
}
