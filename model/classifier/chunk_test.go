package classifier

import (
	"reflect"
	"testing"

	"github.com/icdcode/icdcode/model/tokenizer"
)

// Unusual ids, so that a hard-coded 101/102/0 would show.
var sp = tokenizer.SpecialTokens{CLS: 7, SEP: 9, PAD: 5, UNK: 1, MASK: 2}

func seq(n int) []int {
	ids := make([]int, n)
	for i := range ids {
		ids[i] = 10 + i
	}
	return ids
}

func TestChunkCE(t *testing.T) {
	cfg := Config{Encoder: EncoderCE, Head: HeadCLS, MaxLen: 6, Stride: 2, MaxTokens: 100}
	cases := []struct {
		n          int
		batch      [][]int
		mask       [][]int
		truncation bool
	}{
		{0, [][]int{{7, 9, 5, 5, 5, 5}}, [][]int{{1, 1, 0, 0, 0, 0}}, false},
		{4, [][]int{{7, 10, 11, 12, 13, 9}}, [][]int{{1, 1, 1, 1, 1, 1}}, false},
		// 5 tokens: chunks at 0 and 2 (overlap 2 = C − S).
		{5, [][]int{{7, 10, 11, 12, 13, 9}, {7, 12, 13, 14, 9, 5}},
			[][]int{{1, 1, 1, 1, 1, 1}, {1, 1, 1, 1, 1, 0}}, false},
		// 7 tokens: 1 + ⌈(7−4)/2⌉ = 3 chunks at 0, 2, 4.
		{7, [][]int{{7, 10, 11, 12, 13, 9}, {7, 12, 13, 14, 15, 9}, {7, 14, 15, 16, 9, 5}},
			[][]int{{1, 1, 1, 1, 1, 1}, {1, 1, 1, 1, 1, 1}, {1, 1, 1, 1, 1, 0}}, false},
	}
	for _, c := range cases {
		b, m, err := Chunk(seq(c.n), cfg, sp)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(b, c.batch) || !reflect.DeepEqual(m, c.mask) {
			t.Errorf("n = %d: got %v %v, want %v %v", c.n, b, m, c.batch, c.mask)
		}
	}

	// MaxTokens 7 keeps 5 tokens: the 9-token document chunks as the 5-token one.
	cfg.MaxTokens = 7
	b, _, err := Chunk(seq(9), cfg, sp)
	if err != nil {
		t.Fatal(err)
	}
	if want := [][]int{{7, 10, 11, 12, 13, 9}, {7, 12, 13, 14, 9, 5}}; !reflect.DeepEqual(b, want) {
		t.Errorf("truncated: got %v, want %v", b, want)
	}
	if !cfg.Truncated(6) || cfg.Truncated(5) {
		t.Error("Truncated disagrees with MaxTokens−2 = 5")
	}
}

// TestChunkCEDefaults: the reference's 510-token chunks every 255 tokens.
func TestChunkCEDefaults(t *testing.T) {
	cfg := Config{Encoder: EncoderCE, Head: HeadCLS}
	for _, c := range []struct{ n, chunks int }{{510, 1}, {511, 2}, {765, 2}, {766, 3}, {7139, 27}, {9000, 27}} {
		b, m, err := Chunk(seq(c.n), cfg, sp)
		if err != nil {
			t.Fatal(err)
		}
		if len(b) != c.chunks || len(m) != c.chunks {
			t.Errorf("n = %d: %d chunks, want %d", c.n, len(b), c.chunks)
			continue
		}
		for j := range b {
			if len(b[j]) != 512 || b[j][0] != sp.CLS || b[j][1] != 10+255*j {
				t.Errorf("n = %d chunk %d: length %d, starts %v", c.n, j, len(b[j]), b[j][:2])
			}
		}
	}
}

func TestChunkLE(t *testing.T) {
	cfg := Config{Encoder: EncoderLE, Head: HeadCLS, Window: 4, MaxTokens: 8}
	b, m, err := Chunk(seq(3), cfg, sp)
	if err != nil {
		t.Fatal(err)
	}
	if want := [][]int{{7, 10, 11, 12, 9, 5, 5, 5}}; !reflect.DeepEqual(b, want) {
		t.Errorf("got %v, want %v", b, want)
	}
	if want := [][]int{{1, 1, 1, 1, 1, 0, 0, 0}}; !reflect.DeepEqual(m, want) {
		t.Errorf("mask %v, want %v", m, want)
	}
	// 10 tokens keep 6: exactly 8 with [CLS]/[SEP], no padding.
	b, _, err = Chunk(seq(10), cfg, sp)
	if err != nil {
		t.Fatal(err)
	}
	if want := [][]int{{7, 10, 11, 12, 13, 14, 15, 9}}; !reflect.DeepEqual(b, want) {
		t.Errorf("got %v, want %v", b, want)
	}
}

func TestChunkErrors(t *testing.T) {
	for _, c := range []struct {
		cfg Config
		sp  tokenizer.SpecialTokens
	}{
		{Config{Encoder: EncoderCE, Head: HeadCLS, MaxLen: 6, Stride: 5}, sp}, // stride > chunk: tokens skipped
		{Config{Encoder: "xx", Head: HeadCLS}, sp},
		{Config{Encoder: EncoderLE, Head: HeadCLS, Window: 3}, sp},
		{Config{Encoder: EncoderCE, Head: "xx"}, sp},
		{Config{Encoder: EncoderCE, Head: HeadMSAM}, sp}, // no M
		{Config{Encoder: EncoderCE, Head: HeadCLS}, tokenizer.SpecialTokens{CLS: -1, SEP: 3, PAD: 0}},
	} {
		if _, _, err := Chunk(seq(3), c.cfg, c.sp); err == nil {
			t.Errorf("%+v %+v: no error", c.cfg, c.sp)
		}
	}
}
