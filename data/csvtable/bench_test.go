package csvtable_test

import (
	"bufio"
	"encoding/csv"
	"io"
	"os"
	"sync"
	"testing"

	"github.com/icdcode/icdcode/data/csvtable"
	"github.com/icdcode/icdcode/data/mimic3"
)

var (
	benchOnce sync.Once
	benchDir  string
	benchFile string
	benchErr  error
)

// TestMain removes the benchmark corpus, shared by the benchmarks of the
// binary, at the end.
func TestMain(m *testing.M) {
	code := m.Run()
	if benchDir != "" {
		os.RemoveAll(benchDir)
	}
	os.Exit(code)
}

// noteevents writes a 64 MB synthetic NOTEEVENTS once per test binary.
func noteevents(b *testing.B) string {
	benchOnce.Do(func() {
		benchDir, benchErr = os.MkdirTemp("", "csvtable-bench-*")
		if benchErr != nil {
			return
		}
		res, err := mimic3.GenerateSynthetic(benchDir, mimic3.SynthOptions{NoteBytes: 64 << 20, Seed: 1})
		benchFile, benchErr = res.NoteEvents, err
	})
	if benchErr != nil {
		b.Fatal(benchErr)
	}
	return benchFile
}

// BenchmarkRead reads note-like CSV (long quoted multi-line fields) with
// this package: encoding/csv with ReuseRecord plus the UTF-8 and field-count
// checks. Run with -cpu 1 for the one-core figure.
func BenchmarkRead(b *testing.B) {
	path := noteevents(b)
	st, _ := os.Stat(path)
	b.SetBytes(st.Size())
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r, err := csvtable.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		for {
			_, err := r.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
		}
		r.Close()
	}
}

// BenchmarkEncodingCSV is the baseline: bare encoding/csv with ReuseRecord.
func BenchmarkEncodingCSV(b *testing.B) {
	path := noteevents(b)
	st, _ := os.Stat(path)
	b.SetBytes(st.Size())
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		f, err := os.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		cr := csv.NewReader(bufio.NewReaderSize(f, 1<<20))
		cr.ReuseRecord = true
		for {
			_, err := cr.Read()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
		}
		f.Close()
	}
}
