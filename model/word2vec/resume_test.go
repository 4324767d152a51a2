package word2vec

import (
	"bytes"
	"encoding/gob"
	"slices"
	"strings"
	"testing"
)

// TestResumeBitIdentical trains 2 epochs straight, and 1 epoch, a state
// copied through gob (as a checkpoint file holds it) and 1 more, for both
// architectures with subsampling on: vectors and epoch stats must match.
func TestResumeBitIdentical(t *testing.T) {
	sents := synthetic(120, 4)
	for _, arch := range []Arch{SkipGram, CBOW} {
		opt := Options{Arch: arch, Dim: 8, Epochs: 2, Seed: 5, Sample: 1e-2}
		straight, err := Train(sents, nil, opt)
		if err != nil {
			t.Fatal(err)
		}
		var saved State
		_, err = TrainWith(sents, nil, opt, TrainOptions{StopAfter: 1, OnEpoch: func(s *State) error {
			var buf bytes.Buffer
			if err := gob.NewEncoder(&buf).Encode(s); err != nil {
				return err
			}
			return gob.NewDecoder(&buf).Decode(&saved)
		}})
		if err != nil {
			t.Fatal(err)
		}
		if saved.Epoch != 1 || saved.Done == 0 {
			t.Fatalf("%v: saved state at epoch %d, %d tokens", arch, saved.Epoch, saved.Done)
		}
		var progress strings.Builder
		resumed, err := TrainWith(sents, nil, opt, TrainOptions{Resume: &saved, Progress: &progress})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(straight.In, resumed.In) || !slices.Equal(straight.Out, resumed.Out) {
			t.Errorf("%v: vectors differ between the straight and the resumed run", arch)
		}
		if !slices.Equal(straight.Epochs, resumed.Epochs) {
			t.Errorf("%v: epochs straight %+v, resumed %+v", arch, straight.Epochs, resumed.Epochs)
		}
		if p := progress.String(); !strings.Contains(p, "epoch:2,") || strings.Contains(p, "epoch:1,") || !strings.Contains(p, "ETA") {
			t.Errorf("%v: progress of the resumed run:\n%s", arch, p)
		}
	}
}

func TestResumeRejectsOtherData(t *testing.T) {
	opt := Options{Dim: 8, Epochs: 2, Seed: 5}
	var saved State
	if _, err := TrainWith(synthetic(50, 4), nil, opt, TrainOptions{StopAfter: 1, OnEpoch: func(s *State) error {
		saved = *s
		saved.Vocab = slices.Clone(s.Vocab)
		return nil
	}}); err != nil {
		t.Fatal(err)
	}
	other := [][]string{{"A", "B", "C"}}
	if _, err := TrainWith(other, nil, opt, TrainOptions{Resume: &saved}); err == nil || !strings.Contains(err.Error(), "vocabulary") {
		t.Errorf("other sentences: got %v", err)
	}
	opt.Dim = 4
	if _, err := TrainWith(synthetic(50, 4), nil, opt, TrainOptions{Resume: &saved}); err == nil {
		t.Error("other dimension: no error")
	}
}
