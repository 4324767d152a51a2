package progress

import (
	"strings"
	"testing"
	"time"
)

func TestReporter(t *testing.T) {
	var b strings.Builder
	p := New(&b, time.Nanosecond)
	p.Start("reading NOTEEVENTS.csv")
	time.Sleep(time.Millisecond)
	p.Tick(50e6, 200e6, "MB")
	p.Finish(200e6, "MB")
	out := b.String()
	for _, want := range []string{"reading NOTEEVENTS.csv: 50 of 200 MB (25%)", "MB/s", "left", "200 MB done in"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	// A pass shorter than the interval prints nothing.
	b.Reset()
	p = New(&b, time.Hour)
	p.Start("short")
	p.Tick(1, 2, "documents")
	p.Finish(2, "documents")
	if b.Len() != 0 {
		t.Errorf("short pass printed %q", b.String())
	}
	New(nil, 0).Tick(1, 1, "codes") // silent, no panic
}
