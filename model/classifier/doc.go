// Package classifier is icdcode's document classifier: a transformer
// encoder (model/encoder) read over a whole clinical note and a
// classification head (model/heads) giving one logit per ICD label, plus
// the train.Model adapter that model/train's Trainer optimises.
//
// Section numbers refer to /work/shared/docs/msam-reference.md.
//
// # Encodings
//
//	CE  the note in overlapping chunks of MaxLen−2 tokens starting every
//	    Stride tokens, each [CLS] … [SEP] padded to MaxLen, all chunks of
//	    the note in one encoder batch (§1)
//	LE  the note as one [CLS] … [SEP] sequence through the Longformer
//	    conversion of the encoder, padded to a multiple of the window (§2)
//
// [Chunk] documents the exact rule, truncation included. Heads: "cls" (CE:
// pooler on each chunk's [CLS], linear, max over chunks; LE: the
// LongformerClassificationHead), "laat" (PLM-ICD label attention over all
// tokens) and "msam" (multi-synonym attention over a frozen synonym matrix
// of the encoder's [CLS] embeddings of the label synonyms, [SynonymMatrix]).
//
// # Use
//
//	c, err := classifier.New[float32](cfg, enc, tok, labels, syn) // syn: SynonymStrings(sel, labels, M) for msam
//	ex, err := classifier.Prepare(tok, docs, labels)               // tokenise once
//	m, err := classifier.NewTrainModel(c, kernels.CPU[float32](), ex)
//	t, err := train.New(m, len(ex.IDs), train.Config{...})
//	p, err := c.Predict(k, ex.IDs[i])                               // probabilities, eval mode
//
// # Determinism
//
// The classifier adds one consumer to the encoder's last hidden state (the
// optional dropout, then the head), so model/layers' Fanout rule holds and
// two identical runs give bit-identical weights (TestDeterminism).
package classifier
