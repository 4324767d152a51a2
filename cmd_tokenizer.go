package main

import (
	"bufio"
	"fmt"
	"io"
	"iter"
	"os"
	"strings"
	"time"

	"github.com/icdcode/icdcode/data/dataset"
	"github.com/icdcode/icdcode/data/fileio"
	"github.com/icdcode/icdcode/model/tokenizer"
)

// runTokenizerTrain is `icdcode tokenizer train`: it reads flags, streams
// the training text and calls tokenizer.TrainWordPiece or TrainBPE.
func runTokenizerTrain(args []string) error {
	const name = "tokenizer train"
	fs := newFlags(name, "(--dataset DIR | --text FILE) --out DIR [flags]",
		"train a WordPiece or BPE vocabulary on a dataset's training text")
	dir := fs.String("dataset", "", "dataset folder `DIR`: its train split is the corpus")
	text := fs.String("text", "", "plain-text `FILE` (.gz allowed), one document a line")
	kind := fs.String("kind", "wordpiece", "wordpiece (BERT normalisation, [CLS] [SEP] [PAD] [UNK] [MASK]) or bpe (byte-level, <s> </s> <pad> <unk> <mask>)")
	vocabSize := fs.Int("vocab-size", 30000, "target vocabulary `size`, special tokens and alphabet included")
	minFreq := fs.Int("min-freq", 2, "minimum corpus count of a pair to be merged")
	lower := fs.Bool("lowercase", true, "lower-case text (WordPiece also strips accents); --lowercase=false keeps case")
	out := fs.String("out", "", "output folder `DIR`: tokenizer.json, tokenizer_config.json and vocab.txt or vocab.json + merges.txt")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := requireFlags(fs, "out"); err != nil {
		return err
	}
	var corpus iter.Seq2[string, error]
	switch {
	case *dir != "" && *text != "":
		return fmt.Errorf("give --dataset or --text, not both")
	case *dir != "":
		ds, err := dataset.Open(*dir)
		if err != nil {
			return err
		}
		corpus = func(yield func(string, error) bool) {
			for d, err := range ds.Docs("train") {
				if !yield(d.Text, err) || err != nil {
					return
				}
			}
		}
	case *text != "":
		corpus = textLines(*text)
	default:
		fmt.Fprintf(fs.Output(), "icdcode %s: --dataset or --text is required\n", name)
		fs.Usage()
		return errUsage
	}
	train := tokenizer.TrainWordPiece
	switch strings.ToLower(*kind) {
	case "wordpiece":
	case "bpe":
		train = tokenizer.TrainBPE
	default:
		return fmt.Errorf("--kind %q: want wordpiece or bpe", *kind)
	}
	if *vocabSize <= 0 {
		return fmt.Errorf("--vocab-size must be positive, not %d", *vocabSize)
	}
	start := time.Now()
	tk, err := train(corpus, tokenizer.TrainOptions{VocabSize: *vocabSize, MinFreq: *minFreq, Lowercase: *lower, Progress: os.Stderr})
	if err != nil {
		return err
	}
	if err := tk.Save(*out); err != nil {
		return err
	}
	s := tk.Special()
	fmt.Printf("wrote %s: %s, %d tokens (lowercase %v) in %s\n", *out, tk.Kind(), tk.VocabSize(), tk.Lowercase(), time.Since(start).Round(time.Millisecond))
	fmt.Printf("special ids: CLS %d, SEP %d, PAD %d, UNK %d, MASK %d\n", s.CLS, s.SEP, s.PAD, s.UNK, s.MASK)
	if tk.VocabSize() < *vocabSize {
		fmt.Printf("note: stopped below --vocab-size %d: no more pairs occur --min-freq %d times\n", *vocabSize, *minFreq)
	}
	return nil
}

// textLines yields the non-empty lines of a text file; read errors name the
// file and line.
func textLines(path string) iter.Seq2[string, error] {
	return func(yield func(string, error) bool) {
		r, err := fileio.Open(path)
		if err != nil {
			yield("", err)
			return
		}
		defer r.Close()
		br := bufio.NewReaderSize(r, 1<<20)
		for line := 1; ; line++ {
			s, err := br.ReadString('\n')
			if err != nil && err != io.EOF {
				yield("", fmt.Errorf("%s line %d: %w", path, line, err))
				return
			}
			if t := strings.TrimRight(s, "\r\n"); strings.TrimSpace(t) != "" {
				if !yield(t, nil) {
					return
				}
			}
			if err == io.EOF {
				return
			}
		}
	}
}
