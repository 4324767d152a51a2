package quantify

import (
	"bytes"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestMLPGradientCheck(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	m := newMLP(3, 4, rng)
	// Larger weights than the init so that some residuals exceed delta and
	// both Huber branches are exercised.
	for _, p := range m.params() {
		for i := range p {
			p[i] *= 4
		}
	}
	x := [][]float64{{0.1, 0.5, 0.9}, {0.3, 0.2, 0.7}, {0.8, 0.4, 0.05}}
	tg := [][]float64{{0, 1, 0.5}, {0.9, 0.1, 0.2}, {0.3, 0.6, 1}}
	idx := []int{0, 1, 2}
	const delta = 0.3
	grads := make([][]float64, 4)
	for k, p := range m.params() {
		grads[k] = make([]float64, len(p))
	}
	m.batchLoss(x, tg, idx, delta, grads)
	h := make([]float64, m.H)
	y := make([]float64, m.L)
	var big, small int
	for _, b := range idx {
		m.forward(x[b], h, y)
		for j := range y {
			r := math.Abs(y[j] - tg[b][j])
			if math.Abs(r-delta) < 1e-3 {
				t.Fatalf("residual %v too close to the Huber kink for a central difference", r)
			}
			if r > delta {
				big++
			} else {
				small++
			}
		}
	}
	if big == 0 || small == 0 {
		t.Fatalf("Huber branches not both exercised: %d above delta, %d below", big, small)
	}
	const step = 1e-6
	for k, p := range m.params() {
		for i := range p {
			orig := p[i]
			p[i] = orig + step
			up := m.batchLoss(x, tg, idx, delta, nil)
			p[i] = orig - step
			down := m.batchLoss(x, tg, idx, delta, nil)
			p[i] = orig
			num := (up - down) / (2 * step)
			if math.Abs(num-grads[k][i]) > 1e-7*math.Max(1, math.Abs(num)) {
				t.Fatalf("param %d[%d]: analytic %.10g, numeric %.10g", k, i, grads[k][i], num)
			}
		}
	}
}

func TestHuber(t *testing.T) {
	for _, c := range []struct{ r, delta, loss, grad float64 }{
		{0.2, 0.5, 0.02, 0.2},
		{-0.5, 0.5, 0.125, -0.5},
		{-1, 0.5, 0.375, -0.5},
		{2, 0.5, 0.875, 0.5},
	} {
		l, g := huber(c.r, c.delta)
		if math.Abs(l-c.loss) > 1e-15 || g != c.grad {
			t.Errorf("huber(%v, %v) = %v, %v; want %v, %v", c.r, c.delta, l, g, c.loss, c.grad)
		}
	}
}

func TestAdamWFirstStep(t *testing.T) {
	// Step 1: bias-corrected m̂ = g, v̂ = g², so p ← p(1 − lr·wd) − lr·g/(|g|+eps).
	cfg := MLPConfig{LR: 0.1, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, WeightDecay: 0.5}
	p := [][]float64{{1, -2}}
	g := [][]float64{{0.5, -3}}
	o := newAdamW(p, cfg)
	o.update(p, g)
	want := []float64{1*(1-0.05) - 0.1*0.5/(0.5+1e-8), -2*(1-0.05) + 0.1*3/(3+1e-8)}
	near(t, "AdamW step", p[0], want, 1e-15)
}

// biasedData draws documents whose calibrated positive probability q is
// shown to the quantifiers shrunk towards 0.5 (p = 0.5 + 0.4(q − 0.5)): PCC
// is systematically biased towards 0.5, and the bias is learnable.
func biasedData(seed uint64, n int) (p, y [][]float64) {
	rng := rand.New(rand.NewPCG(seed, 99))
	base := []float64{-2.2, -1.4, -0.8, -0.2, 0.4} // logits of the label base rates
	p, y = make([][]float64, n), make([][]float64, n)
	for i := range p {
		p[i], y[i] = make([]float64, len(base)), make([]float64, len(base))
		for j, a := range base {
			q := sigmoid(a + 1.5*rng.NormFloat64())
			p[i][j] = 0.5 + 0.4*(q-0.5)
			if rng.Float64() < q {
				y[i][j] = 1
			}
		}
	}
	return p, y
}

func testMLPConfig() MLPConfig {
	c := DefaultMLPConfig()
	c.Hidden, c.LR, c.MaxEpochs, c.Seed = 16, 5e-3, 300, 11
	return c
}

func TestMLPBeatsPCCOnBiasedClassifier(t *testing.T) {
	dp, dy := biasedData(1, 3000)
	tp, ty := biasedData(2, 3000)
	trainBags, err := SampleBags(dy, BagConfig{Count: 3000, MinSize: 5, MaxSize: 60, Seed: 888})
	if err != nil {
		t.Fatal(err)
	}
	testBags, err := SampleBags(ty, BagConfig{Count: 500, MinSize: 5, MaxSize: 60, Seed: 889})
	if err != nil {
		t.Fatal(err)
	}
	x, tg, err := BagFeatures(dp, trainBags)
	if err != nil {
		t.Fatal(err)
	}
	cfg := testMLPConfig()
	mlp, rep, err := TrainMLP(x, tg, cfg)
	if err != nil {
		t.Fatal(err)
	}
	// Early stopping on held-out bags: it fired before MaxEpochs, the kept
	// epoch has the lowest held-out loss, and patience epochs followed it.
	if !rep.StoppedEarly || rep.Epochs >= cfg.MaxEpochs || rep.Epochs != rep.BestEpoch+cfg.Patience {
		t.Fatalf("early stopping: %d epochs, best %d, stopped early %v", rep.Epochs, rep.BestEpoch, rep.StoppedEarly)
	}
	for e, l := range rep.HeldOutLoss {
		if l < rep.HeldOutLoss[rep.BestEpoch-1] {
			t.Fatalf("epoch %d held-out loss %v below the kept epoch %d's %v", e+1, l, rep.BestEpoch, rep.HeldOutLoss[rep.BestEpoch-1])
		}
	}
	if rep.HeldOutBags != 600 || rep.TrainBags != 2400 {
		t.Fatalf("split %d/%d, want 2400/600", rep.TrainBags, rep.HeldOutBags)
	}

	qs, err := FitStandard(dp, dy, 0.5)
	if err != nil {
		t.Fatal(err)
	}
	tab, err := Compare(append(qs, mlp), tp, ty, testBags)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := tab.Format(&buf); err != nil {
		t.Fatal(err)
	}
	t.Logf("MLP: %d epochs, best %d\n%s", rep.Epochs, rep.BestEpoch, buf.String())
	row := map[string]Row{}
	for _, r := range tab.Rows {
		row[r.Quantifier] = r
	}
	m, pcc := row["MLP"], row["PCC"]
	if !(m.AE < 0.8*pcc.AE && m.RAE < pcc.RAE && m.KLD < pcc.KLD) {
		t.Fatalf("MLP %+v does not beat PCC %+v", m.BagScore, pcc.BagScore)
	}
	// On large bags the adjustment's variance (1/(tpr−fpr) times the bag's
	// sampling noise) is small, so ACC and PACC remove the shrinkage bias that
	// CC and PCC keep: dev and test share tpr and fpr in expectation.
	big, err := SampleBags(ty, BagConfig{Count: 200, MinSize: 500, MaxSize: 2000, Seed: 890})
	if err != nil {
		t.Fatal(err)
	}
	tab, err = Compare(append(qs, mlp), tp, ty, big)
	if err != nil {
		t.Fatal(err)
	}
	buf.Reset()
	if err := tab.Format(&buf); err != nil {
		t.Fatal(err)
	}
	t.Logf("large bags\n%s", buf.String())
	for _, r := range tab.Rows {
		row[r.Quantifier] = r
	}
	if !(row["PACC"].AE < row["PCC"].AE && row["ACC"].AE < row["CC"].AE) {
		t.Fatalf("adjustment does not help on large bags: %+v", tab.Rows)
	}
}

func TestMLPDeterministicAndSaveLoad(t *testing.T) {
	dp, dy := biasedData(5, 400)
	bags, err := SampleBags(dy, BagConfig{Count: 200, MinSize: 5, MaxSize: 40, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	x, tg, err := BagFeatures(dp, bags)
	if err != nil {
		t.Fatal(err)
	}
	cfg := testMLPConfig()
	cfg.MaxEpochs = 20
	a, ra, err := TrainMLP(x, tg, cfg)
	if err != nil {
		t.Fatal(err)
	}
	b, rb, err := TrainMLP(x, tg, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(a, b) || !reflect.DeepEqual(ra, rb) {
		t.Fatal("same seed trained different MLPs")
	}
	cfg.Seed++
	c, _, err := TrainMLP(x, tg, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if reflect.DeepEqual(a.W1, c.W1) {
		t.Fatal("different seeds trained the same MLP")
	}

	path := filepath.Join(t.TempDir(), "mlp.json")
	if err := a.Save(path); err != nil {
		t.Fatal(err)
	}
	back, err := LoadMLP(path)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(a, back) {
		t.Fatal("save/load changed the MLP")
	}
	bag := rows(dp, bags[0].Indices)
	qa, err := a.Quantify(bag)
	if err != nil {
		t.Fatal(err)
	}
	qb, err := back.Quantify(bag)
	if err != nil {
		t.Fatal(err)
	}
	near(t, "loaded MLP", qb, qa, 0)

	bad := filepath.Join(t.TempDir(), "bad.json")
	for content, want := range map[string]string{
		`{"format":"other"}`: "format",
		`{"format":"icdcode-mlp-quantifier-v1","labels":2,"hidden":1,"w1":[1],"b1":[0],"w2":[1,1],"b2":[0,0]}`: "shapes",
		`not json`: "load MLP",
	} {
		if err := os.WriteFile(bad, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := LoadMLP(bad); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("LoadMLP(%s): %v, want %q", content, err, want)
		}
	}
	if _, err := a.Quantify([][]float64{{0.5}}); err == nil {
		t.Error("MLP accepted a bag with the wrong number of labels")
	}
}

func TestTrainMLPErrors(t *testing.T) {
	x := [][]float64{{0.5}, {0.2}, {0.1}}
	tg := [][]float64{{0.5}, {0.3}, {0}}
	noHeld := testMLPConfig()
	noHeld.HeldOutFraction = 0
	badDelta := testMLPConfig()
	badDelta.HuberDelta = math.NaN()
	for _, c := range []struct {
		name string
		x, t [][]float64
		cfg  MLPConfig
		want string
	}{
		{"no held-out", x, tg, noHeld, "held-out fraction"},
		{"NaN delta", x, tg, badDelta, "Huber delta"},
		{"no bags", nil, nil, testMLPConfig(), "0 inputs"},
		{"NaN input", [][]float64{{math.NaN()}, {0.2}}, [][]float64{{0}, {0}}, testMLPConfig(), "NaN"},
		{"ragged", [][]float64{{0.5}, {0.2, 0.1}}, [][]float64{{0}, {0}}, testMLPConfig(), "bag 1"},
		{"too few bags", [][]float64{{0.5}}, [][]float64{{0.5}}, testMLPConfig(), "none to train"},
	} {
		if _, _, err := TrainMLP(c.x, c.t, c.cfg); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
	}
	if _, _, err := BagFeatures([][]float64{{0.5}}, []Bag{{Indices: []int{3}, Prevalence: []float64{0}}}); err == nil {
		t.Error("BagFeatures accepted an index outside the matrix")
	}
}
