package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/icdcode/icdcode/data/dataset"
	"github.com/icdcode/icdcode/data/synonyms/selection"
	"github.com/icdcode/icdcode/model/clsembed"
)

// runSynonymsSelect is `icdcode synonyms select`: it reads flags and calls
// selection.SelectFile, which holds the rules.
func runSynonymsSelect(args []string) error {
	const name = "synonyms select"
	fs := newFlags(name, "--candidates FILE (--labels FILE | --dataset DIR) --out FILE [flags]",
		"choose M diverse synonyms per code (exact MDP or random)")
	cands := fs.String("candidates", "", "candidates `FILE` written by icdcode synonyms build")
	labels := fs.String("labels", "", "label space `FILE`: one code a line, in label order (the candidates file must follow it)")
	dir := fs.String("dataset", "", "dataset folder `DIR` whose labels.txt is the label space")
	m := fs.Int("m", 4, "`M` synonyms per code")
	criterion := fs.String("criterion", string(selection.MDP), "mdp (the M most diverse candidates, solved exactly) or random")
	seed := fs.Uint64("seed", 1, "random seed for --criterion random")
	maxPool := fs.Int("max-pool", selection.DefaultMaxPool, "keep at most the first `N` distinct candidates of a pool, in file order (0: no cap)")
	timeLimit := fs.Duration("time-limit", 60*time.Second, "MDP search time per code; on reaching it the best selection found is kept, marked optimal=false (0: no limit)")
	allowEmpty := fs.Bool("allow-empty", false, "fill a code without candidates with its own string (\"icd CODE\") instead of failing")
	out := fs.String("out", "", "synonyms `FILE` to write (JSON Lines, label order)")
	model := fs.String("model", "", "model `DIR` (encoder weights and config.json plus its tokenizer): MDP distances from its [CLS] embeddings instead of TF-IDF")
	usage := fs.Usage
	fs.Usage = func() {
		usage()
		fmt.Fprint(fs.Output(), `
Distances for mdp are 1 − cosine of character 2–4-gram TF-IDF vectors, the IDF
computed over each code's pool, or, with --model, 1 − cosine of the encoder's
[CLS] embeddings of "[CLS] synonym [SEP]" (as the reference system does). Pools are cleaned first: repeated strings are
dropped and a pool larger than --max-pool keeps its first candidates (the
candidates file lists official titles first).

Small pools: a code with n distinct candidates, 1 ≤ n < M, keeps all n and
fills the M slots by cycling through them in pool order (distinct = n records
it); a code with none is an error naming it, unless --allow-empty, which fills
every slot with "icd CODE" (e.g. "icd I50.9").
`)
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := requireFlags(fs, "candidates", "out"); err != nil {
		return err
	}
	labelsPath := *labels
	switch {
	case *labels != "" && *dir != "":
		return fmt.Errorf("give --labels or --dataset, not both")
	case *dir != "":
		labelsPath = filepath.Join(*dir, dataset.LabelsFile)
	case *labels == "":
		fmt.Fprintf(fs.Output(), "icdcode %s: --labels or --dataset is required\n", name)
		fs.Usage()
		return errUsage
	}
	crit, err := selection.ParseCriterion(*criterion)
	if err != nil {
		return err
	}
	labelList, err := dataset.ReadLabels(labelsPath)
	if err != nil {
		return err
	}
	cfg := selection.Config{
		M: *m, Criterion: crit, Seed: *seed, MaxPool: *maxPool, TimeLimit: *timeLimit,
		AllowEmpty: *allowEmpty, Log: os.Stderr,
	}
	if *model != "" {
		emb, err := clsembed.Load(*model)
		if err != nil {
			return err
		}
		cfg.Distances = emb
	}
	sum, err := selection.SelectFile(*cands, *out, labelList, cfg)
	var empty *selection.EmptyPoolsError
	if errors.As(err, &empty) {
		return fmt.Errorf("%w (--allow-empty fills such codes with \"icd CODE\")", err)
	}
	if err != nil {
		return err
	}
	fmt.Printf("wrote %s: %d codes, M = %d, criterion %s\n", *out, sum.Codes, *m, crit)
	capped := fmt.Sprintf("capped at %d: %d", *maxPool, sum.Capped)
	if *maxPool == 0 {
		capped = "not capped (--max-pool 0)"
	}
	fmt.Printf("pools smaller than M (cycled): %d; empty (filled with the code's string): %d; %s; repeated strings dropped: %d\n",
		sum.Small, sum.Empty, capped, sum.Duplicates)
	if crit == selection.MDP {
		fmt.Printf("MDP searches: %d; proven optimal: %d; stopped at the time limit: %d; nodes: %d\n",
			sum.Solved, sum.Optimal, sum.Solved-sum.Optimal, sum.Nodes)
	}
	fmt.Printf("time: %v\n", sum.Elapsed.Round(time.Millisecond))
	return nil
}
