// Package word2vec trains hierarchy-aware Word2Vec code embeddings (Finch et
// al., JAMIA Open 2021): skip-gram or CBOW with negative sampling over each
// patient's codes, optionally co-trained with grouper category tokens (CCS
// for ICD-9, CCSR for ICD-10: the "Co" models; without tokens the "Sep"
// models).
//
// Sentences. One sentence per patient: the patient's visits concatenated in
// time order, codes within a visit in corpus order. Finch et al. train over
// patients' code histories; a patient sentence lets the window link a code to
// those of adjacent visits (comorbidities recorded at different encounters),
// which a visit-per-sentence scheme would lose. VisitSentences switches to
// one sentence per visit for comparison. Unlike word2vec.c, sentences are not
// cut at 1,000 tokens: a patient's history is one context.
//
// Category tokens. With Options.Category set, the token of each code's
// category (e.g. "CCS_98") is inserted right after the code, so that the code
// and its category are always within each other's window and codes of one
// category share a context token; codes without a category get none. Tokens
// are trained like codes and are excluded from the code outputs (IsCode).
//
// Training follows word2vec.c: vocabulary of tokens with count ≥ MinCount,
// ordered by decreasing count then token; input vectors uniform in
// [−0.5, 0.5)/dim, output vectors zero; optional subsampling of frequent
// tokens (keep probability (√(f/(s·T))+1)·s·T/f per occurrence, per epoch);
// window shrunk uniformly per position to 1..Window; negatives from the
// unigram^0.75 distribution (drawn by binary search in its cumulative sums,
// exact where word2vec.c uses a 1e8-entry table), a negative equal to the
// target skipped; learning rate decayed linearly from Alpha to Alpha·1e-4 over
// all epochs; CBOW uses the mean of the context vectors and adds the hidden
// gradient to each context vector unscaled, as word2vec.c with -cbow 1.
// The sigmoid is computed exactly (no ±6 table clipping).
//
// Determinism: training is single-threaded with one seeded PCG generator,
// and sentences are visited in corpus order, so a seed gives bit-identical
// vectors on any machine and schedule (word2vec.c's Hogwild threads do not).
// Corpora of code histories are small enough (MIMIC-III: ~60K admissions)
// that one core suffices. TrainWith hands the state after every epoch
// (vectors, tokens read, which set the learning rate, and the generator) to
// a hook and resumes from it bit for bit.
package word2vec

import (
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"time"

	"github.com/icdcode/icdcode/data/embfile"
	"github.com/icdcode/icdcode/data/visits"
)

// Arch is the Word2Vec architecture.
type Arch int

const (
	SkipGram Arch = iota // predict each context token from the centre token
	CBOW                 // predict the centre token from the mean of its context
)

func (a Arch) String() string {
	if a == CBOW {
		return "CBOW"
	}
	return "SG"
}

// Options configure training. Zero values take the defaults noted.
type Options struct {
	Arch     Arch
	Dim      int     // vector size; 0 → 100
	Window   int     // maximum window on each side; 0 → 5
	Negative int     // negative samples per positive; 0 → 5
	MinCount int     // drop tokens rarer than this; 0 → 1 (keep all: rare codes still need vectors for clustering)
	Sample   float64 // subsampling threshold (word2vec 1e-3); 0 → off
	Alpha    float64 // initial learning rate; 0 → 0.025 (SG) or 0.05 (CBOW), word2vec.c's defaults
	Epochs   int     // passes over the data; 0 → 5; negative: none (the initialised model, a baseline for scores)
	Seed     uint64
	// Category, when set, returns the category token for a code
	// (e.g. groupers.Grouper.Token); see the package comment.
	Category visits.Grouper
	// VisitSentences makes each visit a sentence instead of each patient.
	VisitSentences bool
}

func (o Options) withDefaults() (Options, error) {
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	def(&o.Dim, 100)
	def(&o.Window, 5)
	def(&o.Negative, 5)
	def(&o.MinCount, 1)
	def(&o.Epochs, 5)
	if o.Alpha == 0 {
		o.Alpha = 0.025
		if o.Arch == CBOW {
			o.Alpha = 0.05
		}
	}
	switch {
	case o.Arch != SkipGram && o.Arch != CBOW:
		return o, fmt.Errorf("word2vec: unknown architecture %d", o.Arch)
	case o.Dim < 0 || o.Window < 0 || o.Negative < 0 || o.MinCount < 0:
		return o, fmt.Errorf("word2vec: negative option in %+v", o)
	case o.Sample < 0 || o.Alpha < 0 || math.IsNaN(o.Sample) || math.IsNaN(o.Alpha):
		return o, fmt.Errorf("word2vec: bad Sample %g or Alpha %g", o.Sample, o.Alpha)
	}
	return o, nil
}

// SetName returns the embeddings.json set name Finch et al. use for these
// options: "SG_CO_embeddings_100", "CBOW_SEP_embeddings_50".
func (o Options) SetName() string {
	o, _ = o.withDefaults()
	mode := "SEP"
	if o.Category != nil {
		mode = "CO"
	}
	return fmt.Sprintf("%s_%s_embeddings_%d", o.Arch, mode, o.Dim)
}

// Sentences builds the training sentences from a corpus (see the package
// comment); cat may be nil for no category tokens.
func Sentences(c *visits.Corpus, cat visits.Grouper, perVisit bool) [][]string {
	var out [][]string
	var cur []string
	flush := func() {
		if len(cur) > 0 {
			out = append(out, cur)
		}
		cur = nil
	}
	for _, p := range c.Patients {
		for _, v := range p.Visits {
			for _, code := range v.Codes {
				cur = append(cur, code)
				if cat != nil {
					if tok, ok := cat(code); ok {
						cur = append(cur, tok)
					}
				}
			}
			if perVisit {
				flush()
			}
		}
		flush()
	}
	return out
}

// EpochStats reports one epoch.
type EpochStats struct {
	Epoch int
	// Loss is the mean negative-sampling loss per positive pair,
	// −log σ(u·v) − Σ_neg log σ(−u'·v), measured while training.
	Loss  float64
	Pairs int
	Alpha float64 // learning rate at the end of the epoch
}

// Model holds trained vectors. Vocab[i] owns row i of In (the embeddings)
// and Out (the negative-sampling output vectors).
type Model struct {
	Vocab  []string
	Counts []int
	Dim    int
	In     []float32
	Out    []float32
	Arch   Arch
	Window int
	Epochs []EpochStats
	// IsCode tells codes from category tokens.
	IsCode []bool
	index  map[string]int
}

// Index returns the row of tok, or −1.
func (m *Model) Index(tok string) int {
	if i, ok := m.index[tok]; ok {
		return i
	}
	return -1
}

// Vector returns the input vector of tok (shared storage), or nil.
func (m *Model) Vector(tok string) []float32 {
	i := m.Index(tok)
	if i < 0 {
		return nil
	}
	return m.In[i*m.Dim : (i+1)*m.Dim]
}

// TrainCorpus builds sentences from c with opt's Category and
// VisitSentences and trains on them.
func TrainCorpus(c *visits.Corpus, opt Options) (*Model, error) {
	return TrainCorpusWith(c, opt, TrainOptions{})
}

// TrainCorpusWith is TrainCorpus with resume, hook and early stop.
func TrainCorpusWith(c *visits.Corpus, opt Options, topt TrainOptions) (*Model, error) {
	return TrainWith(Sentences(c, opt.Category, opt.VisitSentences), codeSet(c), opt, topt)
}

func codeSet(c *visits.Corpus) map[string]bool {
	s := make(map[string]bool)
	for _, p := range c.Patients {
		for _, v := range p.Visits {
			for _, code := range v.Codes {
				s[code] = true
			}
		}
	}
	return s
}

// TrainOptions control a training run beyond Options: resuming from a saved
// State, a per-epoch hook for checkpoints and progress lines.
type TrainOptions struct {
	// Progress receives one line per epoch (loss, rate, time left).
	Progress io.Writer
	// Resume, when set, continues the run it was taken from: vectors,
	// position in the learning-rate schedule, generator state and epoch
	// count are restored, so that the remaining epochs give the same bits
	// as an uninterrupted run. It must come from the same sentences and
	// Options (the vocabulary is checked).
	Resume *State
	// OnEpoch is called after every completed epoch. The State shares the
	// model's vectors: it is only valid during the call. An error stops
	// training and is returned.
	OnEpoch func(*State) error
	// StopAfter, when positive, stops once this many epochs are complete,
	// as an interrupted run would; the schedule stays that of Options.Epochs.
	StopAfter int
}

// State is everything a resumed run needs besides the sentences and Options.
type State struct {
	Epoch  int      // completed epochs
	Vocab  []string // checked on resume
	In     []float32
	Out    []float32
	Done   int64   // tokens read so far: the position in the learning-rate decay
	Alpha  float64 // learning rate after the last token read
	RNG    []byte  // PCG generator, MarshalBinary
	Epochs []EpochStats
}

// Train trains on sentences. codes, when non-nil, lists which tokens are
// codes (the rest are category tokens); nil marks every token a code.
func Train(sentences [][]string, codes map[string]bool, opt Options) (*Model, error) {
	return TrainWith(sentences, codes, opt, TrainOptions{})
}

// TrainWith is Train with resume, per-epoch hook, early stop and progress.
func TrainWith(sentences [][]string, codes map[string]bool, opt Options, topt TrainOptions) (*Model, error) {
	opt, err := opt.withDefaults()
	if err != nil {
		return nil, err
	}
	counts := make(map[string]int)
	for _, s := range sentences {
		for _, t := range s {
			counts[t]++
		}
	}
	m := &Model{Dim: opt.Dim, Arch: opt.Arch, Window: opt.Window, index: make(map[string]int)}
	for t, n := range counts {
		if n >= opt.MinCount {
			m.Vocab = append(m.Vocab, t)
		}
	}
	if len(m.Vocab) == 0 {
		return nil, errors.New("word2vec: empty vocabulary (no sentences, or MinCount too high)")
	}
	// Decreasing count then token, so that the order (and with it every
	// random draw) does not depend on map iteration.
	sort.Slice(m.Vocab, func(i, j int) bool {
		a, b := m.Vocab[i], m.Vocab[j]
		if counts[a] != counts[b] {
			return counts[a] > counts[b]
		}
		return a < b
	})
	V, D := len(m.Vocab), opt.Dim
	m.Counts = make([]int, V)
	m.IsCode = make([]bool, V)
	total := 0
	for i, t := range m.Vocab {
		m.index[t] = i
		m.Counts[i] = counts[t]
		m.IsCode[i] = codes == nil || codes[t]
		total += counts[t]
	}
	// Sentences as ids, out-of-vocabulary tokens dropped as word2vec.c does.
	ids := make([][]int32, 0, len(sentences))
	for _, s := range sentences {
		row := make([]int32, 0, len(s))
		for _, t := range s {
			if i, ok := m.index[t]; ok {
				row = append(row, int32(i))
			}
		}
		if len(row) > 0 {
			ids = append(ids, row)
		}
	}
	src := rand.NewPCG(opt.Seed, 0x9e3779b97f4a7c15)
	rng := rand.New(src)
	var done int64
	alpha := opt.Alpha
	startEpoch := 0
	if r := topt.Resume; r != nil {
		if err := checkResume(r, m, opt); err != nil {
			return nil, err
		}
		if err := src.UnmarshalBinary(r.RNG); err != nil {
			return nil, fmt.Errorf("word2vec: resume state generator: %w", err)
		}
		m.In = append([]float32(nil), r.In...)
		m.Out = append([]float32(nil), r.Out...)
		m.Epochs = append([]EpochStats(nil), r.Epochs...)
		done, alpha, startEpoch = r.Done, r.Alpha, r.Epoch
	} else {
		m.In = make([]float32, V*D)
		for i := range m.In {
			m.In[i] = float32((rng.Float64() - 0.5) / float64(D))
		}
		m.Out = make([]float32, V*D)
	}

	cum := make([]float64, V)
	acc := 0.0
	for i, n := range m.Counts {
		acc += math.Pow(float64(n), 0.75)
		cum[i] = acc
	}
	negDraw := func() int {
		i := sort.SearchFloat64s(cum, rng.Float64()*acc)
		if i >= V {
			i = V - 1
		}
		return i
	}
	keep := make([]float64, V)
	for i, n := range m.Counts {
		keep[i] = 1
		if opt.Sample > 0 {
			th := opt.Sample * float64(total)
			keep[i] = math.Min(1, (math.Sqrt(float64(n)/th)+1)*th/float64(n))
		}
	}

	neu1 := make([]float64, D)
	neu1e := make([]float64, D)
	// update trains one positive (target) against the hidden vector h and
	// negatives, accumulating the hidden gradient in neu1e; returns the loss.
	update := func(h []float64, target int, alpha float64) float64 {
		loss := 0.0
		for d := 0; d <= opt.Negative; d++ {
			tgt, label := target, 1.0
			if d > 0 {
				tgt, label = negDraw(), 0.0
				if tgt == target {
					continue
				}
			}
			out := m.Out[tgt*D : (tgt+1)*D]
			f := 0.0
			for k, v := range out {
				f += h[k] * float64(v)
			}
			sig := 1 / (1 + math.Exp(-f))
			if label == 1 {
				loss -= logSigmoid(f)
			} else {
				loss -= logSigmoid(-f)
			}
			g := (label - sig) * alpha
			for k := range out {
				neu1e[k] += g * float64(out[k])
				out[k] += float32(g * h[k])
			}
		}
		return loss
	}

	totalWork := float64(opt.Epochs)*float64(total) + 1
	sen := make([]int32, 0)
	last := opt.Epochs
	if topt.StopAfter > 0 {
		last = min(last, topt.StopAfter)
	}
	begin := time.Now()
	for ep := startEpoch; ep < last; ep++ {
		epochBegin := time.Now()
		st := EpochStats{Epoch: ep + 1}
		lossSum := 0.0
		for _, row := range ids {
			sen = sen[:0]
			for _, w := range row {
				if keep[w] >= 1 || rng.Float64() < keep[w] {
					sen = append(sen, w)
				}
			}
			for pos, w := range sen {
				// Decay per token of the original stream, as word2vec.c
				// (which counts words read, subsampled or not).
				alpha = opt.Alpha * (1 - float64(done)/totalWork)
				if alpha < opt.Alpha*1e-4 {
					alpha = opt.Alpha * 1e-4
				}
				b := 0
				if opt.Window > 1 {
					b = rng.IntN(opt.Window)
				}
				lo, hi := max(0, pos-opt.Window+b), min(len(sen)-1, pos+opt.Window-b)
				if opt.Arch == SkipGram {
					for c := lo; c <= hi; c++ {
						if c == pos {
							continue
						}
						ctx := sen[c]
						in := m.In[int(ctx)*D : int(ctx+1)*D]
						for k := range neu1 {
							neu1[k] = float64(in[k])
							neu1e[k] = 0
						}
						lossSum += update(neu1, int(w), alpha)
						st.Pairs++
						for k := range in {
							in[k] += float32(neu1e[k])
						}
					}
				} else {
					cw := hi - lo
					if cw == 0 {
						continue
					}
					for k := range neu1 {
						neu1[k], neu1e[k] = 0, 0
					}
					for c := lo; c <= hi; c++ {
						if c == pos {
							continue
						}
						in := m.In[int(sen[c])*D : int(sen[c]+1)*D]
						for k := range neu1 {
							neu1[k] += float64(in[k])
						}
					}
					for k := range neu1 {
						neu1[k] /= float64(cw)
					}
					lossSum += update(neu1, int(w), alpha)
					st.Pairs++
					for c := lo; c <= hi; c++ {
						if c == pos {
							continue
						}
						in := m.In[int(sen[c])*D : int(sen[c]+1)*D]
						for k := range in {
							in[k] += float32(neu1e[k])
						}
					}
				}
			}
			done += int64(len(row))
		}
		if st.Pairs > 0 {
			st.Loss = lossSum / float64(st.Pairs)
		}
		st.Alpha = alpha
		m.Epochs = append(m.Epochs, st)
		if topt.Progress != nil {
			// Rate and time left from this process's epochs only, so that a
			// resumed run does not count the time it was stopped.
			took := time.Since(epochBegin)
			per := time.Since(begin) / time.Duration(ep+1-startEpoch)
			fmt.Fprintf(topt.Progress, "epoch:%d, loss:%f, pairs:%d, alpha:%g, %s, %.0f tokens/s, %d/%d epochs, ETA %s\n",
				st.Epoch, st.Loss, st.Pairs, st.Alpha, took.Round(time.Millisecond), float64(total)/took.Seconds(),
				ep+1, opt.Epochs, (per * time.Duration(opt.Epochs-ep-1)).Round(time.Second))
		}
		if topt.OnEpoch != nil {
			r, err := src.MarshalBinary()
			if err != nil {
				return nil, fmt.Errorf("word2vec: save generator: %w", err)
			}
			s := &State{Epoch: ep + 1, Vocab: m.Vocab, In: m.In, Out: m.Out, Done: done, Alpha: alpha, RNG: r, Epochs: m.Epochs}
			if err := topt.OnEpoch(s); err != nil {
				return nil, err
			}
		}
	}
	return m, nil
}

// checkResume checks that a resume state belongs to this vocabulary and
// these options.
func checkResume(r *State, m *Model, opt Options) error {
	if !slices.Equal(r.Vocab, m.Vocab) {
		return fmt.Errorf("word2vec: resume state has a vocabulary of %d tokens that differs from the data's %d: not the same corpus or options", len(r.Vocab), len(m.Vocab))
	}
	if n := len(m.Vocab) * opt.Dim; len(r.In) != n || len(r.Out) != n {
		return fmt.Errorf("word2vec: resume state has %d and %d vector values, want %d (%d tokens × dim %d)", len(r.In), len(r.Out), n, len(m.Vocab), opt.Dim)
	}
	if r.Epoch < 0 || r.Epoch > opt.Epochs || len(r.Epochs) != r.Epoch || r.Done < 0 {
		return fmt.Errorf("word2vec: resume state at epoch %d (%d epoch stats) does not fit a run of %d epochs", r.Epoch, len(r.Epochs), opt.Epochs)
	}
	return nil
}

// logSigmoid is log σ(x) computed without overflow.
func logSigmoid(x float64) float64 {
	if x >= 0 {
		return -math.Log1p(math.Exp(-x))
	}
	return x - math.Log1p(math.Exp(x))
}

// PositiveScore returns the mean log σ(u_c·v_w) over all skip-gram pairs of
// sentences within the full window (no shrinking, no sampling): a
// deterministic proxy of fit. Its absolute value says little, since
// negative sampling drives u·v towards PMI(w,c) − log Negative (Levy and
// Goldberg 2014), below zero for weakly associated pairs; compare it with
// the score of the same tokens shuffled across sentences, which training
// pushes further down. Tokens outside the vocabulary are dropped. Zero pairs
// give 0.
func (m *Model) PositiveScore(sentences [][]string) float64 {
	sum, n := 0.0, 0
	var row []int
	for _, s := range sentences {
		row = row[:0]
		for _, t := range s {
			if i, ok := m.index[t]; ok {
				row = append(row, i)
			}
		}
		for p, w := range row {
			out := m.Out[w*m.Dim : (w+1)*m.Dim]
			for c := max(0, p-m.Window); c <= min(len(row)-1, p+m.Window); c++ {
				if c == p {
					continue
				}
				in := m.In[row[c]*m.Dim : (row[c]+1)*m.Dim]
				f := 0.0
				for k := range in {
					f += float64(in[k]) * float64(out[k])
				}
				sum += logSigmoid(f)
				n++
			}
		}
	}
	if n == 0 {
		return 0
	}
	return sum / float64(n)
}

// Codes returns the code tokens (category tokens left out) in vocabulary
// order with their vectors as a codes×Dim matrix.
func (m *Model) Codes() (*embfile.Array, []string) {
	var codes []string
	for i, t := range m.Vocab {
		if m.IsCode[i] {
			codes = append(codes, t)
		}
	}
	a := embfile.NewMatrix(len(codes), m.Dim)
	for r, c := range codes {
		copy(a.Row(r), m.Vector(c))
	}
	return a, codes
}

// HierarchySets returns the code vectors as one embeddings.json set named
// name (Options.SetName gives Finch et al.'s names), ready for
// embfile.WriteHierarchyJSON. Category tokens are left out, as in the
// published file whose keys are codes.
func (m *Model) HierarchySets(name string) embfile.HierarchySets {
	set := make(map[string][]float32)
	for i, t := range m.Vocab {
		if m.IsCode[i] {
			v := make([]float32, m.Dim)
			copy(v, m.In[i*m.Dim:(i+1)*m.Dim])
			set[t] = v
		}
	}
	return embfile.HierarchySets{name: set}
}
