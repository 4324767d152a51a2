package train

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
)

// LogFile is the per-epoch JSONL log in the run directory.
const LogFile = "train.jsonl"

// EpochRecord is one line of the log. It carries counts and metrics only,
// never document text.
type EpochRecord struct {
	Epoch     int                `json:"epoch"`
	Step      int64              `json:"step"`
	TrainLoss float64            `json:"train_loss"`
	LR        float64            `json:"lr"` // rate of the epoch's last update
	Metrics   map[string]float64 `json:"metrics,omitempty"`
	Best      bool               `json:"best"`
	Seconds   float64            `json:"seconds"` // wall time of the epoch
	Time      string             `json:"time"`    // RFC 3339, end of the epoch
}

// openLog prepares path for appending after `epochs` completed epochs: it
// drops a torn last line (a kill during a write) and lines of later epochs
// (written before a kill that came ahead of their checkpoint), so the log
// always matches the checkpoint a run resumes from.
func openLog(path string, epochs int) (*os.File, error) {
	data, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("train: log: %w", err)
	}
	keep := 0
	for keep < len(data) {
		nl := bytes.IndexByte(data[keep:], '\n')
		if nl < 0 {
			break // torn line
		}
		var rec struct {
			Epoch int `json:"epoch"`
		}
		if json.Unmarshal(data[keep:keep+nl], &rec) != nil || rec.Epoch > epochs {
			break
		}
		keep += nl + 1
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("train: log: %w", err)
	}
	if keep < len(data) {
		if err := f.Truncate(int64(keep)); err != nil {
			f.Close()
			return nil, fmt.Errorf("train: log: %w", err)
		}
		if err := f.Sync(); err != nil {
			f.Close()
			return nil, fmt.Errorf("train: log: %w", err)
		}
	}
	if _, err := f.Seek(int64(keep), 0); err != nil {
		f.Close()
		return nil, fmt.Errorf("train: log: %w", err)
	}
	return f, nil
}

// appendLog writes one record as a single write followed by fsync, so a
// kill leaves at most a torn last line, which openLog removes.
func appendLog(f *os.File, rec *EpochRecord) error {
	line, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("train: log: %w", err)
	}
	line = append(line, '\n')
	if _, err := f.Write(line); err != nil {
		return fmt.Errorf("train: log: %w", err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("train: log: %w", err)
	}
	return nil
}
