//go:build !amd64 || purego

package kernels

// fmaPeakLoop has no portable equivalent: the peak is reported as unknown.
func fmaPeakLoop(n int) (flopsPerIter int) { return 0 }
