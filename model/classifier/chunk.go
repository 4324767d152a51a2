package classifier

import (
	"fmt"

	"github.com/icdcode/icdcode/model/tokenizer"
)

// Chunk turns the token ids of one document (as tokenizer.Encode returns
// them, without special tokens) into the encoder's input batch: equally
// long sequences and their 0/1 attention masks. Special ids come from the
// tokenizer (sp), never from constants (reference §14, flaw 1).
//
// Both encodings first keep the document's first MaxTokens−2 tokens.
//
// CE (reference §1): with C = MaxLen−2 and S = Stride, a document of n ≤ C
// tokens is one chunk; a longer one gives 1 + ⌈(n−C)/S⌉ chunks, chunk j
// holding tokens [j·S, min(j·S+C, n)), so consecutive chunks overlap by
// C−S tokens and the last one ends at the document's end. Each chunk is
// [CLS] tokens [SEP], padded with PAD to MaxLen. This is the reference's
// ids[i+1 : i+511] for i = 0, 255, … with its appended [SEP]-or-PAD, except
// that the reference first pads the document to a length bucket, which can
// add a last chunk whose tokens all lie in the previous one; those
// redundant chunks are not produced here.
//
// LE (reference §2): one sequence [CLS] tokens [SEP], padded with PAD to a
// multiple of Window (the reference's buckets of 512).
func Chunk(ids []int, cfg Config, sp tokenizer.SpecialTokens) (batch, mask [][]int, err error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, nil, err
	}
	if err := checkSpecial(sp); err != nil {
		return nil, nil, err
	}
	if n := cfg.MaxTokens - 2; len(ids) > n {
		ids = ids[:n]
	}
	if cfg.Encoder == EncoderLE {
		n := len(ids) + 2
		length := (n + cfg.Window - 1) / cfg.Window * cfg.Window
		seq, m := sequence(ids, length, sp)
		return [][]int{seq}, [][]int{m}, nil
	}
	c, s := cfg.MaxLen-2, cfg.Stride
	chunks := 1
	if len(ids) > c {
		chunks = 1 + (len(ids)-c+s-1)/s
	}
	batch, mask = make([][]int, chunks), make([][]int, chunks)
	for j := range chunks {
		start := j * s
		batch[j], mask[j] = sequence(ids[start:min(start+c, len(ids))], cfg.MaxLen, sp)
	}
	return batch, mask, nil
}

// sequence returns [CLS] ids [SEP] padded with PAD to length, and its mask.
func sequence(ids []int, length int, sp tokenizer.SpecialTokens) (seq, mask []int) {
	seq, mask = make([]int, length), make([]int, length)
	seq[0] = sp.CLS
	copy(seq[1:], ids)
	seq[len(ids)+1] = sp.SEP
	for i := len(ids) + 2; i < length; i++ {
		seq[i] = sp.PAD
	}
	for i := range len(ids) + 2 {
		mask[i] = 1
	}
	return seq, mask
}

// checkSpecial returns an error unless the tokenizer has [CLS], [SEP] and
// [PAD] (or their RoBERTa names).
func checkSpecial(sp tokenizer.SpecialTokens) error {
	if sp.CLS < 0 || sp.SEP < 0 || sp.PAD < 0 {
		return fmt.Errorf("classifier: the tokenizer lacks a [CLS], [SEP] or [PAD] token (ids %d, %d, %d)", sp.CLS, sp.SEP, sp.PAD)
	}
	return nil
}
