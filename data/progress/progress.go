// Package progress prints progress lines for long passes: amount done, rate
// and, when the total is known, the time left. Short passes print nothing,
// and lines carry counts only, never document text.
package progress

import (
	"fmt"
	"io"
	"time"
)

// Reporter prints a line every so often during a long pass. A nil writer
// makes it silent.
type Reporter struct {
	w       io.Writer
	every   time.Duration
	what    string
	begin   time.Time
	last    time.Time
	printed bool
}

// New returns a reporter writing to w every interval (5 s when every ≤ 0).
func New(w io.Writer, every time.Duration) *Reporter {
	if every <= 0 {
		every = 5 * time.Second
	}
	return &Reporter{w: w, every: every}
}

// Start begins a pass named what.
func (p *Reporter) Start(what string) {
	p.what, p.begin, p.last, p.printed = what, time.Now(), time.Now(), false
}

// Tick reports done of total (total ≤ 0: unknown). unit "MB" shows bytes
// as MB; anything else is a plain count.
func (p *Reporter) Tick(done, total int64, unit string) {
	if p.w == nil {
		return
	}
	now := time.Now()
	if now.Sub(p.last) < p.every {
		return
	}
	elapsed := now.Sub(p.begin).Seconds()
	if elapsed <= 0 {
		return
	}
	p.last, p.printed = now, true
	rate := float64(done) / elapsed
	line := fmt.Sprintf("%s: %s %s", p.what, number(done, unit), unit)
	if total > 0 {
		line = fmt.Sprintf("%s: %s of %s %s (%.0f%%)", p.what, number(done, unit), number(total, unit), unit, 100*float64(done)/float64(total))
	}
	line += fmt.Sprintf(", %s %s/s", number(int64(rate), unit), unit)
	if total > 0 && rate > 0 && done < total {
		eta := time.Duration(float64(total-done) / rate * float64(time.Second))
		line += fmt.Sprintf(", about %s left", eta.Round(time.Second))
	}
	fmt.Fprintln(p.w, line)
}

// Finish prints a closing line when the pass printed progress.
func (p *Reporter) Finish(done int64, unit string) {
	if p.w == nil || !p.printed {
		return
	}
	d := time.Since(p.begin)
	fmt.Fprintf(p.w, "%s: %s %s done in %s (%s %s/s)\n", p.what, number(done, unit), unit, d.Round(time.Second/10), number(int64(float64(done)/d.Seconds()), unit), unit)
}

// number formats an amount: bytes as MB, anything else as a count.
func number(n int64, unit string) string {
	if unit == "MB" {
		return fmt.Sprintf("%.0f", float64(n)/1e6)
	}
	return fmt.Sprintf("%d", n)
}
