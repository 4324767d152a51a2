//go:build !amd64 || purego

package kernels

// On other architectures (or with the purego tag) both precisions use the
// portable Go micro-kernel.
func f32Configs() []*gemmConfig[float32] { return []*gemmConfig[float32]{newGoConfig[float32]()} }
func f64Configs() []*gemmConfig[float64] { return []*gemmConfig[float64]{newGoConfig[float64]()} }
