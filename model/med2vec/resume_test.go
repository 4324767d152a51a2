package med2vec

import (
	"bytes"
	"encoding/gob"
	"math"
	"slices"
	"strings"
	"testing"
)

// copyState deep-copies a State through gob, as a checkpoint file does, so
// that the test also shows the state survives serialisation bit for bit.
func copyState(t *testing.T, s *State) *State {
	t.Helper()
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(s); err != nil {
		t.Fatal(err)
	}
	var out State
	if err := gob.NewDecoder(&buf).Decode(&out); err != nil {
		t.Fatal(err)
	}
	return &out
}

// TestResumeBitIdentical trains 2 epochs straight, and 1 epoch, a saved
// state and 1 more: every parameter and epoch cost must be identical.
func TestResumeBitIdentical(t *testing.T) {
	data := clustered(30, 4, 12, 3, 5)
	cfg := DefaultConfig(12)
	cfg.EmbSize, cfg.VisitSize, cfg.BatchSize, cfg.Epochs, cfg.Seed = 5, 6, 20, 2, 7
	straight, stStraight, err := Train(data, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	var saved *State
	_, st1, err := TrainWith(data, cfg, TrainOptions{StopAfter: 1, OnEpoch: func(s *State) error {
		saved = copyState(t, s)
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	if len(st1) != 1 || saved == nil || saved.Epoch != 1 {
		t.Fatalf("stopped run: %d epochs, state %+v", len(st1), saved)
	}
	var progress strings.Builder
	resumed, stResumed, err := TrainWith(data, cfg, TrainOptions{Resume: saved, Progress: &progress})
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range straight.params() {
		if !slices.Equal(p, resumed.params()[i]) {
			t.Errorf("%s differs between the straight and the resumed run", straight.Tensors()[i].Name)
		}
	}
	if len(stResumed) != 2 || stResumed[1].Costs != stStraight[1].Costs || stResumed[0].Costs != stStraight[0].Costs {
		t.Errorf("epoch costs: straight %+v, resumed %+v", stStraight, stResumed)
	}
	// Progress shows the epoch count and the time left.
	if !strings.Contains(progress.String(), "2/2 epochs, ETA") || strings.Contains(progress.String(), "epoch:0,") {
		t.Errorf("progress of the resumed run:\n%s", progress.String())
	}
}

func TestResumeRejectsMismatch(t *testing.T) {
	data := clustered(10, 3, 12, 3, 5)
	cfg := DefaultConfig(12)
	cfg.EmbSize, cfg.VisitSize, cfg.BatchSize, cfg.Epochs = 5, 6, 20, 2
	var saved *State
	if _, _, err := TrainWith(data, cfg, TrainOptions{StopAfter: 1, OnEpoch: func(s *State) error {
		saved = copyState(t, s)
		return nil
	}}); err != nil {
		t.Fatal(err)
	}
	other := cfg
	other.EmbSize = 4
	if _, _, err := TrainWith(data, other, TrainOptions{Resume: saved}); err == nil || !strings.Contains(err.Error(), "E=5") {
		t.Errorf("other EmbSize: got %v", err)
	}
	bad := copyState(t, saved)
	bad.Eg2[2] = bad.Eg2[2][:3]
	if _, _, err := TrainWith(data, cfg, TrainOptions{Resume: bad}); err == nil || !strings.Contains(err.Error(), "W_hidden") {
		t.Errorf("short accumulator: got %v", err)
	}
	short := cfg
	short.Epochs = 0
	if _, _, err := TrainWith(data, short, TrainOptions{Resume: saved}); err == nil {
		t.Error("state beyond the configured epochs: no error")
	}
}

// TestVisitScores checks that the one-visit prediction equals the softmax
// rows of the training forward pass, and that FromTensors round-trips.
func TestVisitScores(t *testing.T) {
	data := clustered(6, 3, 12, 3, 9)
	cfg := DefaultConfig(12)
	cfg.EmbSize, cfg.VisitSize, cfg.Epochs, cfg.Seed = 5, 6, 1, 3
	m, _, err := Train(data, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := newTrainer(&data, cfg)
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range m.params() {
		copy(tr.m.params()[i], p)
	}
	tr.visitLoss(0, len(data.Seqs))
	ts := make(map[string]Tensor)
	for _, x := range m.Tensors() {
		ts[x.Name] = x
	}
	back, err := FromTensors(ts)
	if err != nil {
		t.Fatal(err)
	}
	for r, row := range data.Seqs {
		if isSep(row) {
			continue
		}
		// Repeating a code must not change the multi-hot input.
		got, err := back.VisitScores(append(row, row[0]), nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		var sum float64
		for c, p := range got {
			sum += p
			if want := tr.p[r*m.K+c]; math.Abs(p-want) > 1e-12 {
				t.Fatalf("row %d code %d: VisitScores %g, training forward %g", r, c, p, want)
			}
		}
		if math.Abs(sum-1) > 1e-12 {
			t.Fatalf("row %d: probabilities sum to %g", r, sum)
		}
	}
	if _, err := back.VisitScores([]int{12}, nil, nil); err == nil {
		t.Error("code out of range: no error")
	}
	delete(ts, "b_output")
	if _, err := FromTensors(ts); err == nil || !strings.Contains(err.Error(), "b_output") {
		t.Errorf("missing b_output: got %v", err)
	}
}
