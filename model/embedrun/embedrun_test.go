package embedrun

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/icdcode/icdcode/data/shareddata"
	"github.com/icdcode/icdcode/data/visits"
)

// syntheticCorpus makes patients whose visits draw codes from one of three
// groups, so that a visit predicts the codes of the next.
func syntheticCorpus(patients int, seed uint64) *visits.Corpus {
	r := rand.New(rand.NewPCG(seed, 3))
	c := &visits.Corpus{}
	for p := range patients {
		g := p % 3
		pt := visits.Patient{ID: fmt.Sprintf("p%03d", p)}
		for range 2 + r.IntN(4) {
			var codes []string
			for range 1 + r.IntN(3) {
				code := fmt.Sprintf("C%d_%d", g, r.IntN(4))
				if !slices.Contains(codes, code) {
					codes = append(codes, code)
				}
			}
			pt.Visits = append(pt.Visits, visits.Visit{Codes: codes})
		}
		c.Patients = append(c.Patients, pt)
	}
	return c
}

// jsonlConfig writes the corpus as a JSONL visit file and returns a config
// reading it with small models, out_dir in a fresh folder.
func jsonlConfig(t *testing.T, c *visits.Corpus, heldout float64) *Config {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "visits.jsonl")
	if err := visits.WriteJSONL(path, c); err != nil {
		t.Fatal(err)
	}
	cfg := Defaults()
	cfg.Input = InputConfig{Kind: "jsonl", Path: path}
	cfg.OutDir = filepath.Join(dir, "out")
	cfg.Med2Vec.EmbSize, cfg.Med2Vec.VisitSize, cfg.Med2Vec.BatchSize, cfg.Med2Vec.Epochs = 6, 5, 40, 2
	cfg.Word2Vec.Dim, cfg.Word2Vec.Epochs = 6, 2
	cfg.Eval.HeldoutFraction = heldout
	if err := cfg.validate(); err != nil {
		t.Fatal(err)
	}
	return &cfg
}

func TestSplitByPatient(t *testing.T) {
	c := syntheticCorpus(60, 1)
	e := Defaults().Eval
	e.HeldoutFraction, e.HeldoutSeed = 0.25, 9
	train, held, err := splitCorpus(e, c, nil)
	if err != nil {
		t.Fatal(err)
	}
	ids := func(c *visits.Corpus) []string {
		var out []string
		for _, p := range c.Patients {
			out = append(out, p.ID)
		}
		return out
	}
	tr, he := ids(train), ids(held)
	if len(he) != 15 || len(tr) != 45 {
		t.Fatalf("%d training, %d held-out patients; want 45, 15", len(tr), len(he))
	}
	for _, id := range he {
		if slices.Contains(tr, id) {
			t.Fatalf("patient %s on both sides", id)
		}
	}
	all := append(slices.Clone(tr), he...)
	slices.Sort(all)
	if !slices.Equal(all, ids(c)) {
		t.Fatal("the two sides are not a partition of the patients")
	}
	// Same seed, same split; another seed, another.
	_, again, _ := splitCorpus(e, c, nil)
	if !slices.Equal(ids(again), he) {
		t.Error("the same seed gave another split")
	}
	e.HeldoutSeed = 10
	_, other, _ := splitCorpus(e, c, nil)
	if slices.Equal(ids(other), he) {
		t.Error("another seed gave the same split")
	}
	// No held-out patient: an error, not a silent recall over nothing.
	e.HeldoutFraction = 0.001
	if _, _, err := splitCorpus(e, c, nil); err == nil || !strings.Contains(err.Error(), "heldout_fraction") {
		t.Errorf("fraction holding out no patient: got %v", err)
	}
	e.HeldoutFraction = 0
	if tr, he, err := splitCorpus(e, c, nil); err != nil || he != nil || tr != c {
		t.Errorf("fraction 0: %v, %v, %v", tr, he, err)
	}
}

// TestRecallByHand scores a tiny held-out set with the cosine method and the
// popularity baseline, values worked out by hand.
func TestRecallByHand(t *testing.T) {
	v := func(codes ...string) visits.Visit { return visits.Visit{Codes: codes} }
	train := &visits.Corpus{Patients: []visits.Patient{
		{ID: "t1", Visits: []visits.Visit{v("A", "B"), v("A")}},
		{ID: "t2", Visits: []visits.Visit{v("A", "C"), v("D")}},
	}}
	// Popularity (training visits holding the code): A 3, B 1, C 1, D 1;
	// ties broken by code string: A > B > C > D.
	held := &visits.Corpus{Patients: []visits.Patient{
		// (t, t+1) pairs: ({B}, {C, D}), ({C, D}, {A, Z}); Z is unseen.
		{ID: "h1", Visits: []visits.Visit{v("B"), v("C", "D"), v("A", "Z")}},
		// ({Z}, {B}): visit t has no known code: fallback to popularity.
		{ID: "h2", Visits: []visits.Visit{v("Z"), v("B")}},
		// A single visit: no pair.
		{ID: "h3", Visits: []visits.Visit{v("A")}},
	}}
	codes := []string{"A", "B", "C", "D"}
	// 2-d vectors: A (1,0), B (0,1), C (1,1)/√2·2, D (-1,0).
	x := []float32{1, 0, 0, 1, 2, 2, -1, 0}
	cfg := Defaults()
	cfg.Eval.RecallK = []int{1, 2, 3}
	cfg.Eval.HeldoutFraction = 0.5
	rep, err := cosineRecall(&cfg, x, 2, codes, train, held)
	if err != nil {
		t.Fatal(err)
	}
	// Pair 1, visit {B}: cosines A 0, B 1, C 0.707, D 0 → B, C, A, D (tie
	//   A/D by index). Targets {C, D}: top1 {B} 0, top2 {B,C} 1/2, top3 1/2.
	// Pair 2, visit {C, D}: mean ∝ (2,2)+(-1,0) = (1,2): cos A 0.447,
	//   B 0.894, C 0.949, D −0.447 → C, B, A, D. Targets {A} + unseen Z:
	//   top1 0, top2 0, top3 1/2.
	// Pair 3, fallback popularity A, B, C, D. Target {B}: 0, 1, 1.
	want := []float64{0, (0.5 + 0 + 1) / 3, (0.5 + 0.5 + 1) / 3}
	// Popularity on all pairs: pair 1 targets {C,D}: 0, 0, 1/2; pair 2
	//   {A}+Z: 1/2, 1/2, 1/2; pair 3 {B}: 0, 1, 1.
	wantPop := []float64{0.5 / 3, 1.5 / 3, 2.0 / 3}
	for i := range want {
		if got := rep.Model[i].Recall; math.Abs(got-want[i]) > 1e-15 {
			t.Errorf("Recall@%d = %.17g, want %.17g", rep.Model[i].K, got, want[i])
		}
		if got := rep.Popularity[i].Recall; math.Abs(got-wantPop[i]) > 1e-15 {
			t.Errorf("popularity Recall@%d = %.17g, want %.17g", rep.Popularity[i].K, got, wantPop[i])
		}
	}
	if rep.Pairs != 3 || rep.FallbackPairs != 1 || rep.UnseenTargets != 1 || rep.TargetCodes != 5 || rep.HeldoutPatients != 3 || rep.Method != MethodCosine {
		t.Errorf("report %+v", rep)
	}
}

// files reads the outputs of a run, by name.
func files(t *testing.T, dir string, names ...string) map[string][]byte {
	t.Helper()
	out := make(map[string][]byte)
	for _, n := range names {
		b, err := os.ReadFile(filepath.Join(dir, n))
		if err != nil {
			t.Fatal(err)
		}
		out[n] = b
	}
	return out
}

// TestResumeBitIdentical trains 2 epochs straight, and 1 epoch + --resume
// + 1, through the checkpoint files, for both models: every output file
// must be byte-identical. A corrupt checkpoint must name the file.
func TestResumeBitIdentical(t *testing.T) {
	c := syntheticCorpus(40, 2)
	for _, kind := range []string{"med2vec", "word2vec"} {
		train := func(cfg *Config, opt RunOptions) (stopped bool, err error) {
			if kind == "med2vec" {
				r, err := RunMed2VecWith(cfg, opt)
				return err == nil && r.Stopped, err
			}
			r, err := RunWord2VecWith(cfg, opt)
			return err == nil && r.Stopped, err
		}
		run := func(cfg *Config, opt RunOptions) bool {
			t.Helper()
			stopped, err := train(cfg, opt)
			if err != nil {
				t.Fatalf("%s: %v", kind, err)
			}
			return stopped
		}
		names := []string{kind + ".npz", kind + ".json", kind + ".types.json", kind + "-recall.json"}
		a := jsonlConfig(t, c, 0.2)
		run(a, RunOptions{})
		b := jsonlConfig(t, c, 0.2)
		if !run(b, RunOptions{StopAfter: 1}) {
			t.Fatalf("%s: StopAfter 1 did not stop", kind)
		}
		if _, err := os.Stat(filepath.Join(b.OutDir, kind+".npz")); !os.IsNotExist(err) {
			t.Fatalf("%s: a stopped run wrote its outputs (%v)", kind, err)
		}
		ck := CheckpointPath(b.OutDir, kind, 1)
		good, err := os.ReadFile(ck)
		if err != nil {
			t.Fatal(err)
		}
		// A changed setting is refused.
		other := *b
		other.Eval.HeldoutSeed++
		if _, err := train(&other, RunOptions{Resume: true}); err == nil || !strings.Contains(err.Error(), ck) || !strings.Contains(err.Error(), "same config") {
			t.Errorf("%s: resume with another split: got %v", kind, err)
		}
		// A flipped byte is caught by the checksum, naming the file.
		bad := slices.Clone(good)
		bad[len(bad)/2] ^= 1
		if err := os.WriteFile(ck, bad, 0o644); err != nil {
			t.Fatal(err)
		}
		_, err2 := train(b, RunOptions{Resume: true})
		if err2 == nil || !strings.Contains(err2.Error(), ck) || !strings.Contains(err2.Error(), "corrupt") {
			t.Errorf("%s: corrupt checkpoint: got %v", kind, err2)
		}
		if err := os.WriteFile(ck, good, 0o644); err != nil {
			t.Fatal(err)
		}
		var log bytes.Buffer
		run(b, RunOptions{Resume: true, Log: &log})
		if !strings.Contains(log.String(), "resuming from "+ck) {
			t.Errorf("%s: log of the resumed run:\n%s", kind, log.String())
		}
		fa, fb := files(t, a.OutDir, names...), files(t, b.OutDir, names...)
		for _, n := range names {
			if !bytes.Equal(fa[n], fb[n]) {
				t.Errorf("%s: %s differs between the straight and the resumed run", kind, n)
			}
		}
		// Checkpoints kept: the last two epochs.
		if eps, err := checkpoints(b.OutDir, kind); err != nil || !slices.Equal(eps, []int{1, 2}) {
			t.Errorf("%s: checkpoints %v, %v", kind, eps, err)
		}
		// A new run over them must choose: resume, or start over with Fresh.
		if _, err := train(b, RunOptions{}); err == nil || !strings.Contains(err.Error(), "--fresh") {
			t.Errorf("%s: fresh run over checkpoints: got %v", kind, err)
		}
		if _, err := train(b, RunOptions{Resume: true, Fresh: true}); err == nil {
			t.Errorf("%s: Resume and Fresh together: no error", kind)
		}
		run(b, RunOptions{Fresh: true})
		if fc := files(t, b.OutDir, names[0]); !bytes.Equal(fc[names[0]], fa[names[0]]) {
			t.Errorf("%s: the fresh rerun differs", kind)
		}
	}
}

// TestEvalRecallMatchesTraining checks that `embed eval` on the saved
// Med2Vec .npz reproduces the recall computed at the end of training, and
// writes it into eval.json and eval.md.
func TestEvalRecallMatchesTraining(t *testing.T) {
	cfg := jsonlConfig(t, syntheticCorpus(40, 3), 0.25)
	res, err := RunMed2VecWith(cfg, RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cfg.Eval.Embeddings = res.NPZ
	ev, err := RunEval(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if ev.Recall == nil || !slices.Equal(ev.Recall.Model, res.Recall.Model) || !slices.Equal(ev.Recall.Popularity, res.Recall.Popularity) ||
		ev.Recall.Method != MethodMed2Vec || ev.Recall.Pairs != res.Recall.Pairs {
		t.Fatalf("eval recall %+v, training recall %+v", ev.Recall, res.Recall)
	}
	fs := files(t, cfg.OutDir, EvalJSON, EvalMD)
	if !strings.Contains(string(fs[EvalJSON]), `"next_visit_recall"`) || !strings.Contains(string(fs[EvalMD]), "| 30 |") {
		t.Errorf("eval.json:\n%s\neval.md:\n%s", fs[EvalJSON], fs[EvalMD])
	}
	// Another split: the model's codes are not those of the training side.
	cfg.Eval.HeldoutSeed++
	if _, err := RunEval(cfg, nil); err == nil || !strings.Contains(err.Error(), "heldout") {
		t.Errorf("eval with another split: got %v", err)
	}
}

// TestMed2VecRecallSynthea trains Med2Vec on the Synthea sample with a fifth
// of the patients held out: its next-visit recall@30 must not fall below
// the popularity baseline (measured: 0.846 against 0.827 with this config;
// other model and split seeds gave margins of 0.007 to 0.03).
func TestMed2VecRecallSynthea(t *testing.T) {
	dir := filepath.Dir(shareddata.Path(t, "synthea", "conditions.csv"))
	shareddata.Path(t, "synthea", "encounters.csv")
	cfg := Defaults()
	cfg.Input = InputConfig{Kind: "synthea", Dir: dir}
	cfg.OutDir = t.TempDir()
	cfg.Med2Vec.EmbSize, cfg.Med2Vec.VisitSize, cfg.Med2Vec.BatchSize, cfg.Med2Vec.Epochs, cfg.Med2Vec.Seed = 32, 32, 100, 30, 1
	cfg.Eval.HeldoutFraction = 0.2
	res, err := RunMed2VecWith(&cfg, RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	r := res.Recall
	for i, row := range r.Model {
		t.Logf("recall@%d: med2vec %.4f, popularity %.4f (%d pairs, %d held-out patients)", row.K, row.Recall, r.Popularity[i].Recall, r.Pairs, r.HeldoutPatients)
	}
	if r.Pairs < 300 || r.HeldoutPatients != 22 {
		t.Errorf("%d pairs of %d held-out patients", r.Pairs, r.HeldoutPatients)
	}
	last := len(r.Model) - 1
	if r.Model[last].K != 30 || r.Model[last].Recall < r.Popularity[last].Recall {
		t.Errorf("recall@%d %.4f below the popularity baseline %.4f", r.Model[last].K, r.Model[last].Recall, r.Popularity[last].Recall)
	}
}
