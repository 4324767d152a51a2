// Command icdcode reads clinical notes and assigns ICD codes: it prepares
// datasets, builds and selects code synonyms, and (as later parts land) trains,
// tests and runs coding models. This file only dispatches subcommands; each
// subcommand lives in its own cmd_*.go file and all logic lives in packages.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

// command is one subcommand: its words ("prepare mimic3"), a one-line
// summary, and the function that parses its flags and runs it.
type command struct {
	name    string
	summary string
	run     func(args []string) error
}

// commands lists every subcommand, in the order `icdcode --help` shows them.
var commands = []command{
	{"demo", "generate the demo corpus and run the pipeline on it end to end", runDemo},
	{"prepare mimic3", "build a dataset from the MIMIC-III tables and published split lists", runPrepareMIMIC3},
	{"prepare codiesp", "build a dataset from the CodiEsp corpus (train/dev/test folders)", runPrepareCodiEsp},
	{"prepare table", "build a dataset from your own CSV or JSONL file", runPrepareTable},
	{"dataset info", "validate a dataset folder and print its summary", runDatasetInfo},
	{"synonyms build", "gather candidate synonyms per code from terminology files", runSynonymsBuild},
	{"synonyms select", "choose M diverse synonyms per code (exact MDP or random)", runSynonymsSelect},
	{"tokenizer train", "train a WordPiece or BPE vocabulary on a dataset's training text", runTokenizerTrain},
	{"pretrain", "masked-language-model pretraining of an encoder on a dataset's training notes", runPretrain},
	{"train", "train a coding model from a TOML config (--resume continues a run)", runTrain},
	{"test", "evaluate a trained run on the dev or test split: predictions, metrics, summary", runTest},
	{"predict", "code new notes with a trained run", runPredict},
	{"quantify train", "fit quantifiers (CC, PCC, ACC, PACC, constant, MLP) on a run's dev predictions", runQuantifyTrain},
	{"quantify test", "compare the quantifiers on bags of test documents", runQuantifyTest},
	{"report", "write a Markdown report and reliability diagram for a tested run", runReport},
	{"embed med2vec", "train Med2Vec code embeddings on visits (MIMIC-III, Synthea, JSONL)", runEmbedMed2Vec},
	{"embed word2vec", "train Word2Vec code embeddings on visits, optionally with CCS/CCSR tokens", runEmbedWord2Vec},
	{"embed eval", "score code embeddings: next-visit Recall@k on held-out patients, k-means NMI/AMI against CCS/CCSR, a 2-D map", runEmbedEval},
}

// errUsage marks an error already explained by printing usage.
var errUsage = errors.New("usage error")

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		printUsage(stdout)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	cmd, rest, ok := findCommand(args)
	if !ok {
		fmt.Fprintf(stderr, "icdcode: unknown command %q\n\n", strings.Join(args[:min(2, len(args))], " "))
		printUsage(stderr)
		return 2
	}
	if err := cmd.run(rest); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		if !errors.Is(err, errUsage) {
			fmt.Fprintf(stderr, "icdcode %s: %v\n", cmd.name, err)
		}
		return 1
	}
	return 0
}

// findCommand matches the longest command name at the start of args. A group
// word alone ("prepare") lists the group's commands.
func findCommand(args []string) (command, []string, bool) {
	best, bestLen := command{}, 0
	for _, c := range commands {
		words := strings.Fields(c.name)
		if len(words) <= len(args) && len(words) > bestLen && strings.Join(args[:len(words)], " ") == c.name {
			best, bestLen = c, len(words)
		}
	}
	if bestLen > 0 {
		return best, args[bestLen:], true
	}
	var group []command
	for _, c := range commands {
		if strings.HasPrefix(c.name, args[0]+" ") {
			group = append(group, c)
		}
	}
	if len(group) == 0 {
		return command{}, nil, false
	}
	return command{name: args[0], run: func([]string) error {
		fmt.Fprintf(os.Stderr, "icdcode %s: choose one of:\n", args[0])
		for _, c := range group {
			fmt.Fprintf(os.Stderr, "  icdcode %-18s %s\n", c.name, c.summary)
		}
		return errUsage
	}}, nil, true
}

func printUsage(w io.Writer) {
	fmt.Fprintln(w, "icdcode: automated ICD coding of clinical notes")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Usage: icdcode COMMAND [flags]   (icdcode COMMAND --help for its flags)")
	fmt.Fprintln(w)
	names := make([]string, len(commands))
	for i, c := range commands {
		names[i] = c.name
	}
	width := 0
	for _, n := range names {
		width = max(width, len(n))
	}
	for _, c := range commands {
		fmt.Fprintf(w, "  %-*s  %s\n", width, c.name, c.summary)
	}
}

// newFlags makes a flag set for a subcommand whose --help prints the summary,
// a usage line and the flags.
func newFlags(name, usage, summary string) *flag.FlagSet {
	fs := flag.NewFlagSet("icdcode "+name, flag.ContinueOnError)
	fs.Usage = func() {
		out := fs.Output()
		fmt.Fprintf(out, "icdcode %s: %s\n\nUsage: icdcode %s %s\n\nFlags:\n", name, summary, name, usage)
		fs.PrintDefaults()
	}
	return fs
}

// parseFlags parses args and rejects stray positional arguments, so a
// misspelled flag value never passes silently.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(fs.Output(), "%s: unexpected argument %q\n", fs.Name(), fs.Arg(0))
		fs.Usage()
		return errUsage
	}
	return nil
}

// requireFlags reports the first of the named flags left empty.
func requireFlags(fs *flag.FlagSet, names ...string) error {
	for _, n := range names {
		if f := fs.Lookup(n); f != nil && f.Value.String() == "" {
			fmt.Fprintf(fs.Output(), "%s: --%s is required\n", fs.Name(), n)
			fs.Usage()
			return errUsage
		}
	}
	return nil
}

// multiFlag collects a repeatable string flag.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }
