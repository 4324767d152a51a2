package mimic3

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/icdcode/icdcode/data/fileio"
	"github.com/icdcode/icdcode/data/labelspace"
)

// BenchmarkPrepareNoteevents runs Prepare on a synthetic NOTEEVENTS of
// $ICDCODE_BENCH_GB gigabytes (skipped when unset, so go test stays fast)
// and reports throughput in MB of NOTEEVENTS per second and peak memory:
// the largest heap in use and heap obtained from the OS (sampled every
// 10 ms) and the peak resident set (VmHWM, reset after the corpus is
// generated where the kernel allows). scripts/bench_prepare.sh runs it at
// two sizes, each in its own process, to show that peak memory does not grow
// with the file. $ICDCODE_BENCH_DIR keeps the generated corpus between runs;
// $ICDCODE_BENCH_GZIP=1 uses NOTEEVENTS.csv.gz; $ICDCODE_BENCH_PRESET picks
// the preset (default full: all codes, raw text); $ICDCODE_BENCH_ADMISSIONS
// fixes the number of admissions (notes grow longer with the size instead),
// which separates what memory the note text costs (nothing) from what the
// admissions and their codes cost (proportional to their number).
func BenchmarkPrepareNoteevents(b *testing.B) {
	gb, err := strconv.ParseFloat(os.Getenv("ICDCODE_BENCH_GB"), 64)
	if err != nil || gb <= 0 {
		b.Skip("set ICDCODE_BENCH_GB (e.g. 0.1 or 1) to run the NOTEEVENTS scale benchmark")
	}
	gz := os.Getenv("ICDCODE_BENCH_GZIP") == "1"
	preset := os.Getenv("ICDCODE_BENCH_PRESET")
	if preset == "" {
		preset = "full"
	}
	p, err := LookupPreset(preset)
	if err != nil {
		b.Fatal(err)
	}
	root := os.Getenv("ICDCODE_BENCH_DIR")
	if root == "" {
		root = b.TempDir()
	}
	adms, _ := strconv.Atoi(os.Getenv("ICDCODE_BENCH_ADMISSIONS"))
	corpus := filepath.Join(root, fmt.Sprintf("synthetic-%gGB-gz%v-adm%d", gb, gz, adms))
	syn, err := loadOrGenerate(corpus, SynthOptions{NoteBytes: int64(gb * 1e9), Seed: 1, Gzip: gz, Admissions: adms})
	if err != nil {
		b.Fatal(err)
	}
	csvBytes := syn.NoteBytes
	if gz {
		csvBytes = syn.csvBytes
	}
	resetPeakRSS()
	runtime.GC()

	var mu sync.Mutex
	var peakInuse, peakSys uint64
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		var ms runtime.MemStats
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for {
			runtime.ReadMemStats(&ms)
			mu.Lock()
			peakInuse = max(peakInuse, ms.HeapInuse)
			peakSys = max(peakSys, ms.HeapSys)
			mu.Unlock()
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	}()

	cpu0 := cpuTime()
	b.SetBytes(csvBytes)
	b.ResetTimer()
	var res *Result
	for i := 0; i < b.N; i++ {
		out := filepath.Join(root, fmt.Sprintf("out-%d", i))
		os.RemoveAll(out)
		res, err = Prepare(Options{Dir: syn.Dir, Splits: syn.SplitsDir, Preset: preset, Kinds: labelspace.Both,
			Top: p.Top, MinCount: p.MinCount, Text: p.Text, Out: out})
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		os.RemoveAll(out)
		b.StartTimer()
	}
	b.StopTimer()
	cpuSecs := (cpuTime() - cpu0).Seconds() / float64(b.N)
	close(stop)
	<-done
	secs := b.Elapsed().Seconds() / float64(b.N)
	mb := float64(csvBytes) / 1e6
	b.ReportMetric(mb, "NOTEEVENTS-MB")
	b.ReportMetric(mb/secs, "NOTEEVENTS-MB/s")
	// On a shared machine wall time includes waiting for a core; MB per
	// CPU-second (user + system, whole process) is the steadier number.
	b.ReportMetric(mb/cpuSecs, "MB/cpu-s")
	b.ReportMetric(float64(peakInuse)/(1<<20), "peak-heap-inuse-MiB")
	b.ReportMetric(float64(peakSys)/(1<<20), "peak-heap-sys-MiB")
	if hwm := peakRSS(); hwm > 0 {
		b.ReportMetric(float64(hwm)/(1<<20), "VmHWM-MiB")
	}
	b.ReportMetric(float64(res.Manifest.Documents), "documents")
	b.Logf("GOMAXPROCS=%d, %s NOTEEVENTS %.0f MB (%d admissions), %d documents, %.1f s per run (%.1f s CPU), %.1f MB/s",
		runtime.GOMAXPROCS(0), map[bool]string{true: "gzipped", false: "plain"}[gz], mb, syn.Admissions,
		res.Manifest.Documents, secs, cpuSecs, mb/secs)
}

type benchCorpus struct {
	SynthResult
	csvBytes int64 // uncompressed NOTEEVENTS size
}

// loadOrGenerate reuses a corpus generated earlier in dir (the generator is
// deterministic) or generates it.
func loadOrGenerate(dir string, o SynthOptions) (benchCorpus, error) {
	stamp := filepath.Join(dir, "done")
	if raw, err := os.ReadFile(stamp); err == nil {
		var c benchCorpus
		if _, err := fmt.Sscan(string(raw), &c.Dir, &c.SplitsDir, &c.NoteEvents, &c.NoteBytes, &c.Admissions, &c.csvBytes); err == nil {
			return c, nil
		}
	}
	os.RemoveAll(dir)
	res, err := GenerateSynthetic(dir, o)
	if err != nil {
		return benchCorpus{}, err
	}
	c := benchCorpus{SynthResult: res, csvBytes: res.NoteBytes}
	if o.Gzip {
		// The uncompressed size is what throughput is measured against.
		if c.csvBytes, err = gunzippedSize(res.NoteEvents); err != nil {
			return c, err
		}
	}
	err = os.WriteFile(stamp, fmt.Appendf(nil, "%s %s %s %d %d %d\n", c.Dir, c.SplitsDir, c.NoteEvents, c.NoteBytes, c.Admissions, c.csvBytes), 0o644)
	return c, err
}

func gunzippedSize(path string) (int64, error) {
	r, err := fileio.Open(path)
	if err != nil {
		return 0, err
	}
	defer r.Close()
	return io.Copy(io.Discard, r)
}

// resetPeakRSS resets VmHWM (Linux ≥ 4.0), so that it measures Prepare and
// not the corpus generation before it.
func resetPeakRSS() {
	os.WriteFile("/proc/self/clear_refs", []byte("5"), 0)
}

// peakRSS returns VmHWM in bytes, or 0 where /proc is not there.
func peakRSS() int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}
