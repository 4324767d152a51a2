package word2vec

import (
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/icdcode/icdcode/data/embfile"
	"github.com/icdcode/icdcode/data/groupers"
	"github.com/icdcode/icdcode/data/shareddata"
	"github.com/icdcode/icdcode/data/visits"
	"github.com/icdcode/icdcode/model/embeval"
)

// synthetic builds sentences from 4 groups of 5 codes; a sentence draws its
// codes from one group, so codes of a group co-occur and never meet codes of
// another group.
func synthetic(n int, seed uint64) [][]string {
	rng := rand.New(rand.NewPCG(seed, 1))
	var out [][]string
	for i := 0; i < n; i++ {
		g := rng.IntN(4)
		s := make([]string, 8)
		for j := range s {
			s[j] = fmt.Sprintf("G%d_%d", g, rng.IntN(5))
		}
		out = append(out, s)
	}
	return out
}

// shuffled permutes all tokens across sentences, keeping sentence lengths:
// pairs of it are random pairs from the same unigram distribution.
func shuffled(sents [][]string, seed uint64) [][]string {
	var all []string
	for _, s := range sents {
		all = append(all, s...)
	}
	rng := rand.New(rand.NewPCG(seed, 2))
	rng.Shuffle(len(all), func(i, j int) { all[i], all[j] = all[j], all[i] })
	out := make([][]string, len(sents))
	for i, s := range sents {
		out[i], all = all[:len(s)], all[len(s):]
	}
	return out
}

func cosine(a, b []float32) float64 {
	var ab, aa, bb float64
	for i := range a {
		ab += float64(a[i]) * float64(b[i])
		aa += float64(a[i]) * float64(a[i])
		bb += float64(b[i]) * float64(b[i])
	}
	return ab / math.Sqrt(aa*bb)
}

func TestSyntheticClusters(t *testing.T) {
	sents := synthetic(400, 7)
	for _, arch := range []Arch{SkipGram, CBOW} {
		t.Run(arch.String(), func(t *testing.T) {
			opt := Options{Arch: arch, Dim: 16, Window: 3, Epochs: 10, Seed: 1}
			untrained, err := Train(sents, nil, Options{Arch: arch, Dim: 16, Window: 3, Epochs: -1, Seed: 1})
			if err != nil {
				t.Fatal(err)
			}
			m, err := Train(sents, nil, opt)
			if err != nil {
				t.Fatal(err)
			}
			first, last := m.Epochs[0].Loss, m.Epochs[len(m.Epochs)-1].Loss
			if !(last < 0.8*first) {
				t.Errorf("loss %.4f → %.4f, want a fall of 20%%+", first, last)
			}
			// Output vectors start at zero: every pair scores log σ(0).
			if s := untrained.PositiveScore(sents); math.Abs(s-math.Log(0.5)) > 1e-12 {
				t.Errorf("untrained score %v, want log 0.5", s)
			}
			if len(untrained.Epochs) != 0 {
				t.Errorf("Epochs -1 trained %d epochs", len(untrained.Epochs))
			}
			pos, rnd := m.PositiveScore(sents), m.PositiveScore(shuffled(sents, 1))
			if !(pos > rnd+0.5) {
				t.Errorf("trained score of real pairs %.4f, of shuffled pairs %.4f: want a gap of 0.5+", pos, rnd)
			}
			var within, between float64
			var nw, nb int
			for g := 0; g < 4; g++ {
				for i := 0; i < 5; i++ {
					a := m.Vector(fmt.Sprintf("G%d_%d", g, i))
					for h := 0; h < 4; h++ {
						for j := 0; j < 5; j++ {
							if h == g && j == i {
								continue
							}
							c := cosine(a, m.Vector(fmt.Sprintf("G%d_%d", h, j)))
							if h == g {
								within, nw = within+c, nw+1
							} else {
								between, nb = between+c, nb+1
							}
						}
					}
				}
			}
			within /= float64(nw)
			between /= float64(nb)
			if !(within > 0.5 && within > between+0.4) {
				t.Errorf("mean cosine within groups %.3f, between %.3f", within, between)
			}
		})
	}
}

func TestDeterminism(t *testing.T) {
	sents := synthetic(100, 3)
	opt := Options{Dim: 8, Epochs: 2, Seed: 42, Sample: 1e-2}
	a, err := Train(sents, nil, opt)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Train(sents, nil, opt)
	if !slices.Equal(a.In, b.In) || !slices.Equal(a.Out, b.Out) || !slices.Equal(a.Vocab, b.Vocab) {
		t.Fatal("same seed gave different models")
	}
	opt.Seed = 43
	c, _ := Train(sents, nil, opt)
	if slices.Equal(a.In, c.In) {
		t.Fatal("different seeds gave identical vectors")
	}
}

func corpus() *visits.Corpus {
	return &visits.Corpus{Patients: []visits.Patient{
		{ID: "1", Visits: []visits.Visit{{Codes: []string{"401.9", "250.00"}}, {Codes: []string{"V45.11"}}}},
		{ID: "2", Visits: []visits.Visit{{Codes: []string{"401.9"}}}},
	}}
}

func TestSentencesAndOutputs(t *testing.T) {
	cat := func(c string) (string, bool) {
		if c == "V45.11" {
			return "", false
		}
		return "CCS_" + c[:3], true
	}
	got := Sentences(corpus(), cat, false)
	want := [][]string{{"401.9", "CCS_401", "250.00", "CCS_250", "V45.11"}, {"401.9", "CCS_401"}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("sentences %v, want %v", got, want)
	}
	if got := Sentences(corpus(), nil, true); len(got) != 3 || len(got[1]) != 1 {
		t.Fatalf("visit sentences %v", got)
	}
	opt := Options{Dim: 4, Epochs: 1, Seed: 1, Category: cat}
	if opt.SetName() != "SG_CO_embeddings_4" {
		t.Errorf("set name %q", opt.SetName())
	}
	m, err := TrainCorpus(corpus(), opt)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Vocab) != 5 || m.Vocab[0] != "401.9" {
		t.Fatalf("vocab %v", m.Vocab)
	}
	arr, codes := m.Codes()
	if !slices.Equal(codes, []string{"401.9", "250.00", "V45.11"}) || arr.Shape[0] != 3 || arr.Shape[1] != 4 {
		t.Fatalf("codes %v shape %v", codes, arr.Shape)
	}
	if !slices.Equal(arr.Row(1), m.Vector("250.00")) {
		t.Error("matrix row differs from vector")
	}
	path := filepath.Join(t.TempDir(), "emb.json")
	if err := embfile.WriteHierarchyJSON(path, m.HierarchySets(opt.SetName())); err != nil {
		t.Fatal(err)
	}
	back, err := embfile.ReadHierarchyJSON(path)
	if err != nil {
		t.Fatal(err)
	}
	set := back["SG_CO_embeddings_4"]
	if len(set) != 3 || !slices.Equal(set["V45.11"], m.Vector("V45.11")) {
		t.Fatalf("round trip: %v", set)
	}
	if _, err := Train(nil, nil, Options{}); err == nil {
		t.Error("empty corpus trained")
	}
	if _, err := Train(want, nil, Options{Arch: 7}); err == nil {
		t.Error("unknown architecture accepted")
	}
	if _, err := Train(want, nil, Options{MinCount: 10}); err == nil {
		t.Error("empty vocabulary after MinCount accepted")
	}
}

func TestSynthea(t *testing.T) {
	c, _, err := visits.ReadSynthea(visits.SyntheaOptions{
		Encounters: shareddata.Path(t, "synthea", "encounters.csv"),
		Conditions: shareddata.Path(t, "synthea", "conditions.csv"),
	})
	if err != nil {
		t.Fatal(err)
	}
	sents := Sentences(c, nil, false)
	for _, arch := range []Arch{SkipGram, CBOW} {
		start := time.Now()
		opt := Options{Arch: arch, Dim: 32, Epochs: 20, Seed: 1}
		m, err := TrainCorpus(c, opt)
		if err != nil {
			t.Fatal(err)
		}
		elapsed := time.Since(start)
		first, last := m.Epochs[0].Loss, m.Epochs[len(m.Epochs)-1].Loss
		pos, rnd := m.PositiveScore(sents), m.PositiveScore(shuffled(sents, 1))
		// Before training every pair costs (1+Negative)·log 2 (output
		// vectors start at zero).
		t.Logf("%s: %d patients, %d tokens, loss/pair before %.4f, epoch 1 %.4f → epoch %d %.4f; score real %.4f vs shuffled %.4f; %v",
			arch, len(c.Patients), len(m.Vocab), 6*math.Ln2, first, len(m.Epochs), last, pos, rnd, elapsed)
		if !(last < 0.95*first && first < 6*math.Ln2) {
			t.Errorf("%s: loss did not fall: %+v", arch, m.Epochs)
		}
		if !(pos > rnd+0.2) {
			t.Errorf("%s: real pairs %.4f not above shuffled pairs %.4f", arch, pos, rnd)
		}
	}
}

// TestClusterProtocol runs training and the Finch et al. evaluation end to
// end: on synthetic groups the clusters must recover the groups.
func TestClusterProtocol(t *testing.T) {
	sents := synthetic(400, 11)
	m, err := Train(sents, nil, Options{Dim: 16, Window: 3, Epochs: 10, Seed: 5})
	if err != nil {
		t.Fatal(err)
	}
	x, codes := m.Codes()
	group := func(c string) (string, bool) { return c[:2], true }
	rep, err := embeval.ScoreClusters(x.Data, m.Dim, codes, group, embeval.KMeansOptions{K: 4, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if rep.NMI < 0.95 || rep.AMI < 0.9 || rep.Codes != 20 || rep.Categories != 4 {
		t.Errorf("report %+v", rep)
	}
	svg := filepath.Join(t.TempDir(), "map.svg")
	if err := embeval.MapCodes(svg, x.Data, m.Dim, codes, group, embeval.MapOptions{}); err != nil {
		t.Fatal(err)
	}
}

// TestMIMICDemoCCS co-trains skip-gram with CCS tokens on the MIMIC-III demo
// and scores the code vectors against CCS (a smoke test: 100 patients are far
// too few for meaningful embeddings, so only sanity is checked).
func TestMIMICDemoCCS(t *testing.T) {
	c, _, err := visits.ReadMIMIC(visits.MIMICOptions{
		Admissions: shareddata.Path(t, "mimic3_demo", "ADMISSIONS.csv"),
		Diagnoses:  shareddata.Path(t, "mimic3_demo", "DIAGNOSES_ICD.csv"),
		MinVisits:  1,
	})
	if err != nil {
		t.Fatal(err)
	}
	ccs, err := groupers.ReadCCS(shareddata.Path(t, "groupers", "ccs_dxref_2015.csv"))
	if err != nil {
		t.Fatal(err)
	}
	opt := Options{Dim: 20, Epochs: 5, Seed: 3, Category: groupers.StripPrefix("D_", ccs.Token)}
	m, err := TrainCorpus(c, opt)
	if err != nil {
		t.Fatal(err)
	}
	x, codes := m.Codes()
	tokens := len(m.Vocab) - len(codes)
	if tokens == 0 || len(codes) != 581 {
		t.Fatalf("%d codes, %d category tokens", len(codes), tokens)
	}
	for _, code := range codes {
		if strings.HasPrefix(code, "CCS_") {
			t.Fatalf("category token %s among codes", code)
		}
	}
	rep, err := embeval.ScoreClusters(x.Data, m.Dim, codes, groupers.StripPrefix("D_", ccs.Lookup), embeval.KMeansOptions{K: 20, Seed: 1, Restarts: 3})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("MIMIC demo, %s: %d codes (%d without CCS), %d CCS tokens, %d categories, k=20: NMI %.4f AMI %.4f; loss %.4f → %.4f",
		opt.SetName(), rep.Codes, rep.Unlabelled, tokens, rep.Categories, rep.NMI, rep.AMI, m.Epochs[0].Loss, m.Epochs[len(m.Epochs)-1].Loss)
	if !(rep.NMI > 0 && rep.NMI <= 1 && rep.AMI > -0.5 && rep.AMI <= 1) || rep.Unlabelled > rep.Codes/10 {
		t.Errorf("report %+v", rep)
	}
}
