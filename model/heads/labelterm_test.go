package heads

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/nlpodyssey/spago/mat"
)

// codeEmb is a tL×5 code-embedding matrix whose label 2 has no embedding.
func codeEmb(seed uint64) []float64 {
	e := randSlice(rand.New(rand.NewPCG(seed, 9)), tL*5, -1, 1)
	for j := range 5 {
		e[2*5+j] = 0
	}
	return e
}

func TestGradLabelTerms(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	X := leaf(4, 3, randSlice(rng, 12, -1, 1))
	e := gradCheck(t, []named{{"x", X}}, func() (mat.Tensor, error) { return RepeatRows[float64](X, 3) })
	t.Logf("RepeatRows: max relative error %.2e", e)

	syn, hv := testData(11)
	for _, k := range backends64() {
		H := leaf(tRows, tD, hv)
		for _, cfg := range []MSAMConfig{{Pool: PoolMean, PerChunk: true, Tune: true}, {Mask: true, Scale: true, Pool: PoolMax, Tune: true}, {Mask: true, Pool: PoolMean}} {
			m, err := NewMSAM[float64](dense[float64](tL*tM, tD, syn), tL, tM, cfg, 4)
			if err != nil {
				t.Fatal(err)
			}
			cp, err := NewCodeProjection[float64](dense[float64](tL, 5, codeEmb(1)), tD, 5)
			if err != nil {
				t.Fatal(err)
			}
			if err := m.SetCodeProjection(cp); err != nil {
				t.Fatal(err)
			}
			names := []string{"WQ", "BQ", "WK", "BK", "WV", "BV"}
			if cfg.Tune {
				names = append(names, "Delta")
			}
			perturbParams(m.Params(), 6)
			ps := paramsOf(append(names, "P"), m.Params())
			e := gradCheck(t, append(ps, named{"H", H}), func() (mat.Tensor, error) { return m.Forward(k, H, testLayout) })
			t.Logf("MSAM+code %s (%+v): max relative error %.2e", k.Name(), cfg, e)
		}
		laat, _ := NewLAAT[float64](tD, 5, tL, 3)
		cp, _ := NewCodeProjection[float64](dense[float64](tL, 5, codeEmb(2)), 5, 7)
		if err := laat.SetCodeProjection(cp); err != nil {
			t.Fatal(err)
		}
		perturbParams(laat.Params(), 5)
		ps := paramsOf([]string{"W", "U", "OutW", "OutB", "P"}, laat.Params())
		e := gradCheck(t, append(ps, named{"H", H}), func() (mat.Tensor, error) { return laat.Forward(k, H, testLayout) })
		t.Logf("LAAT+code %s: max relative error %.2e", k.Name(), e)
	}
}

// TestLabelTermsEqualShiftedSynonyms checks the in-graph label rows against
// a frozen MSAM built over the shifted synonym matrix Q₀ + Δ + repeat(Ê·P)
// computed here by hand (Ê: E with unit rows), and that a zero Δ with no
// code projection gives the frozen head's logits (up to rounding: the
// graph's synonym mean multiplies by 1/M where the frozen head divides).
func TestLabelTermsEqualShiftedSynonyms(t *testing.T) {
	syn, hv := testData(12)
	H := dense[float64](tRows, tD, hv)
	k := backends64()[1]
	cfg := MSAMConfig{Mask: true, Scale: true, Pool: PoolMean, Tune: true}
	tuned, _ := NewMSAM[float64](dense[float64](tL*tM, tD, syn), tL, tM, cfg, 4)
	frozenCfg := cfg
	frozenCfg.Tune = false
	frozen, _ := NewMSAM[float64](dense[float64](tL*tM, tD, syn), tL, tM, frozenCfg, 4)
	a, _ := tuned.Forward(k, H, testLayout)
	b, _ := frozen.Forward(k, H, testLayout)
	for i, v := range mat.Data[float64](a.Value()) {
		if w := mat.Data[float64](b.Value())[i]; math.Abs(v-w) > 1e-13 {
			t.Fatalf("zero Δ: logit %d = %v, frozen head %v", i, v, w)
		}
	}

	delta := randSlice(rand.New(rand.NewPCG(4, 4)), tL*tM*tD, -0.5, 0.5)
	copy(mat.Data[float64](tuned.Delta.Value()), delta)
	emb := codeEmb(3)
	cp, _ := NewCodeProjection[float64](dense[float64](tL, 5, emb), tD, 8)
	if err := tuned.SetCodeProjection(cp); err != nil {
		t.Fatal(err)
	}
	p := mat.Data[float64](cp.P.Value())
	shifted := make([]float64, len(syn))
	for c := range tL {
		var norm float64
		for j := range 5 {
			norm += emb[c*5+j] * emb[c*5+j]
		}
		norm = math.Sqrt(norm)
		for s := range tM {
			for h := range tD {
				r := (c*tM+s)*tD + h
				shifted[r] = syn[r] + delta[r]
				for j := range 5 {
					if norm > 0 {
						shifted[r] += emb[c*5+j] / norm * p[j*tD+h]
					}
				}
			}
		}
	}
	ref, _ := NewMSAM[float64](dense[float64](tL*tM, tD, shifted), tL, tM, frozenCfg, 4)
	a, err := tuned.Forward(k, H, testLayout)
	if err != nil {
		t.Fatal(err)
	}
	b, _ = ref.Forward(k, H, testLayout)
	for i, v := range mat.Data[float64](a.Value()) {
		if w := mat.Data[float64](b.Value())[i]; math.Abs(v-w) > 1e-12*math.Max(1, math.Abs(w)) {
			t.Fatalf("logit %d = %v, head over the shifted synonyms %v", i, v, w)
		}
	}
	// Label 2 has no embedding: its code term is zero (the fallback).
	ep, _ := cp.Forward(k)
	for h, v := range mat.Data[float64](ep.Value())[2*tD : 3*tD] {
		if v != 0 {
			t.Fatalf("label without embedding: projected component %d = %v, want 0", h, v)
		}
	}
}

func TestCodeProjectionErrors(t *testing.T) {
	bad := codeEmb(4)
	bad[3] = math.NaN()
	if _, err := NewCodeProjection[float64](dense[float64](tL, 5, bad), tD, 1); err == nil || !strings.Contains(err.Error(), "label 0") {
		t.Errorf("NaN embedding: err = %v", err)
	}
	syn, _ := testData(1)
	m, _ := NewMSAM[float64](dense[float64](tL*tM, tD, syn), tL, tM, FaithfulMSAM(), 4)
	cp, _ := NewCodeProjection[float64](dense[float64](tL+1, 5, randSlice(rand.New(rand.NewPCG(1, 1)), (tL+1)*5, -1, 1)), tD, 1)
	if err := m.SetCodeProjection(cp); err == nil {
		t.Error("MSAM accepted a projection for another number of labels")
	}
	laat, _ := NewLAAT[float64](tD, 5, tL, 3)
	cp, _ = NewCodeProjection[float64](dense[float64](tL, 5, codeEmb(1)), tD, 1)
	if err := laat.SetCodeProjection(cp); err == nil {
		t.Error("LAAT accepted a projection of width d instead of d_a")
	}
	if _, err := RepeatRows[float64](dense[float64](2, 2, []float64{1, 2, 3, 4}), 0); err == nil {
		t.Error("RepeatRows accepted m = 0")
	}
}

// Δ starts at zero or at N(0, σ²) noise; σ needs Tune and must be finite.
func TestTuneInitStd(t *testing.T) {
	syn, _ := testData(1)
	const r = tL * tM
	zero, err := NewMSAM[float64](dense[float64](r, tD, syn), tL, tM, MSAMConfig{Pool: PoolMean, Tune: true}, 4)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range mat.Data[float64](zero.Delta.Value()) {
		if v != 0 {
			t.Fatal("TuneInitStd 0: Δ does not start at zero")
		}
	}
	noisy, err := NewMSAM[float64](dense[float64](r, tD, syn), tL, tM, MSAMConfig{Pool: PoolMean, Tune: true, TuneInitStd: 2}, 4)
	if err != nil {
		t.Fatal(err)
	}
	var ss float64
	vals := mat.Data[float64](noisy.Delta.Value())
	for _, v := range vals {
		ss += v * v
	}
	if sd := math.Sqrt(ss / float64(len(vals))); sd < 1.5 || sd > 2.5 {
		t.Errorf("TuneInitStd 2: Δ has standard deviation %.3f over %d values", sd, len(vals))
	}
	for _, cfg := range []MSAMConfig{{Pool: PoolMean, TuneInitStd: 1}, {Pool: PoolMean, Tune: true, TuneInitStd: -1}, {Pool: PoolMean, Tune: true, TuneInitStd: math.Inf(1)}, {Pool: PoolMean, Tune: true, TuneInitStd: math.NaN()}} {
		if _, err := NewMSAM[float64](dense[float64](r, tD, syn), tL, tM, cfg, 4); err == nil {
			t.Errorf("%+v accepted", cfg)
		}
	}
}
