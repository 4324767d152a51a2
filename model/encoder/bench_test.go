package encoder

import (
	"bufio"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/icdcode/icdcode/model/hf"
	"github.com/icdcode/icdcode/model/kernels"
	"github.com/nlpodyssey/spago/nn"
)

// vmHWM returns the peak resident set size of the process in bytes
// (VmHWM of /proc/self/status), or 0 where it is not available.
func vmHWM() int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			fields := strings.Fields(rest) // "123456 kB"
			if len(fields) == 2 && fields[1] == "kB" {
				n, err := strconv.ParseInt(fields[0], 10, 64)
				if err == nil {
					return n << 10
				}
			}
		}
	}
	return 0
}

// BenchmarkDocument10x512 is the memory and speed report of the issue:
// one document of 10 chunks × 512 tokens, as one batch, forward and
// backward through a 4-layer BERT (hidden 256, 4 heads, FFN 1024, vocab
// 30522) in float32 on the CPU backend, with the pooler. It reports
// seconds per iteration and the process's peak RSS (target: under 2 GiB).
func BenchmarkDocument10x512(b *testing.B) {
	cfg := &hf.Config{
		ModelType: hf.TypeBERT, VocabSize: 30522, HiddenSize: 256, NumHiddenLayers: 4, NumAttentionHeads: 4,
		IntermediateSize: 1024, HiddenAct: "gelu", MaxPositionEmbeddings: 512, TypeVocabSize: 2,
		LayerNormEps: 1e-12, PositionEmbeddingType: "absolute", InitializerRange: 0.02,
		BOSTokenID: -1, EOSTokenID: -1,
	}
	e, err := New[float32](cfg, true, 1)
	if err != nil {
		b.Fatal(err)
	}
	const chunks, length = 10, 512
	ids := make([][]int, chunks)
	for c := range ids {
		ids[c] = make([]int, length)
		for i := range ids[c] {
			ids[c][i] = 1000 + (c*length+i*7919)%29000
		}
	}
	k := kernels.CPU[float32]()
	before := vmHWM()
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		nn.ZeroGrad(e)
		out, err := e.Forward(k, ids, nil, nil)
		if err != nil {
			b.Fatal(err)
		}
		backward[float32](b, out, nil)
	}
	b.StopTimer()
	perIter := time.Since(start).Seconds() / float64(b.N)
	peak := vmHWM()
	b.ReportMetric(perIter, "s/iter")
	b.ReportMetric(float64(peak)/(1<<20), "peakRSS-MiB")
	b.Logf("%s: %d×%d tokens, 4 layers, hidden 256: %.3f s/iter forward+backward, peak RSS %.0f MiB (%.0f MiB after building the model)",
		k.Name(), chunks, length, perIter, float64(peak)/(1<<20), float64(before)/(1<<20))
	if peak > 2<<30 {
		b.Errorf("peak RSS %.0f MiB exceeds the 2 GiB target", float64(peak)/(1<<20))
	}
}

// BenchmarkLongformer4096 runs the same 4-layer encoder converted to a
// Longformer (attention window 512) over one 4096-token document with a
// global CLS token, forward and backward, float32, CPU backend.
func BenchmarkLongformer4096(b *testing.B) {
	cfg := &hf.Config{
		ModelType: hf.TypeBERT, VocabSize: 30522, HiddenSize: 256, NumHiddenLayers: 4, NumAttentionHeads: 4,
		IntermediateSize: 1024, HiddenAct: "gelu", MaxPositionEmbeddings: 512, TypeVocabSize: 2,
		LayerNormEps: 1e-12, PositionEmbeddingType: "absolute", InitializerRange: 0.02,
		BOSTokenID: -1, EOSTokenID: -1,
	}
	base, err := New[float32](cfg, true, 1)
	if err != nil {
		b.Fatal(err)
	}
	const length = 4096
	e, err := ToLongformer(base, length, 512)
	if err != nil {
		b.Fatal(err)
	}
	ids := [][]int{make([]int, length)}
	for i := range ids[0] {
		ids[0][i] = 1000 + (i*7919)%29000
	}
	k := kernels.CPU[float32]()
	opts := Options{Pool: true, Global: [][]int{{0}}}
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		nn.ZeroGrad(e)
		out, err := e.Run(k, ids, nil, nil, opts)
		if err != nil {
			b.Fatal(err)
		}
		backward[float32](b, out, nil)
	}
	b.StopTimer()
	perIter := time.Since(start).Seconds() / float64(b.N)
	b.ReportMetric(perIter, "s/iter")
	b.ReportMetric(float64(vmHWM())/(1<<20), "peakRSS-MiB")
}
