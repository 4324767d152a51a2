//go:build amd64 && !purego

package kernels

// fmaPeakLoop runs n iterations of the widest FMA loop the CPU supports and
// returns the float32 FLOPs per iteration (0 if there is none).
func fmaPeakLoop(n int) (flopsPerIter int) {
	switch {
	case hasAVX512:
		fmaPeakAVX512(n)
		return 24 * 16 * 2
	case hasAVX2:
		fmaPeakAVX2(n)
		return 12 * 8 * 2
	}
	return 0
}
