package med2vec

import (
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// refWeights are the §3 reference weights (NumPy RandomState(0), rounded to
// 9 decimals): W_emb 6×4, W_hidden 4×3, W_output 3×6.
var (
	refWEmb = []float64{
		0.048813504, 0.215189366, 0.102763376, 0.044883183,
		-0.076345201, 0.145894113, -0.062412789, 0.391773001,
		0.463662761, -0.116558481, 0.291725038, 0.028894920,
		0.068044561, 0.425596638, -0.428963942, -0.412870700,
		-0.479781603, 0.332619846, 0.278156751, 0.370012148,
		0.478618342, 0.299158564, -0.038520638, 0.280529176,
	}
	refWHidden = []float64{
		-0.381725574, 0.139921021, -0.356646713,
		0.444668917, 0.021848322, -0.085338060,
		-0.235444388, 0.274233689, -0.043849668,
		0.068433949, -0.481210200, 0.117635497,
	}
	refWOutput = []float64{
		0.112095723, 0.116933997, 0.443748079, 0.181820299, -0.140492099, -0.062968046,
		0.197631196, -0.439774528, 0.166766715, 0.170637870, -0.289617439, -0.371073702,
		-0.184571649, -0.136289229, 0.070196770, -0.061398487, 0.488373838, -0.397955189,
	}
)

func refConfig(window int, faithful bool) Config {
	cfg := DefaultConfig(6)
	cfg.EmbSize, cfg.VisitSize = 4, 3
	cfg.WindowSize = window
	cfg.Faithful = faithful
	return cfg
}

// refTrainer builds a trainer over seqs (one batch) with the §3 weights.
func refTrainer(t *testing.T, seqs [][]int, cfg Config) *trainer {
	t.Helper()
	tr, err := newTrainer(&Data{Seqs: seqs}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	copy(tr.m.WEmb, refWEmb)
	copy(tr.m.WHidden, refWHidden)
	copy(tr.m.WOutput, refWOutput)
	return tr
}

func TestReferenceValues(t *testing.T) {
	seqs := [][]int{{0, 1, 2}, {1, 3}, {-1}, {4, 5}, {0, 5}, {2}}
	for _, tc := range []struct {
		window                                            int
		total, visitFaithful, visitValid, masked, emb, l2 float64
	}{
		{1, 35.016017, 33.173880, 8.612972, 24.560908, 1.840083, 0.002054},
		{2, 207.785035, 205.942898, 15.595865, 190.347032, 1.840083, 0.002054},
	} {
		faithful := refTrainer(t, seqs, refConfig(tc.window, true)).batch(0, len(seqs))
		fixed := refTrainer(t, seqs, refConfig(tc.window, false)).batch(0, len(seqs))
		check := func(name string, got, want float64) {
			t.Helper()
			if math.Abs(got-want) > 1e-6 {
				t.Errorf("window %d: %s = %.7f, want %.6f", tc.window, name, got, want)
			}
		}
		t.Logf("window %d: faithful %+v", tc.window, faithful)
		t.Logf("window %d: fixed    %+v", tc.window, fixed)
		check("faithful total", faithful.Total, tc.total)
		check("faithful visit", faithful.Visit, tc.visitFaithful)
		check("valid-pair visit", fixed.Visit, tc.visitValid)
		check("masked constant", fixed.Masked, tc.masked)
		check("emb", fixed.Emb, tc.emb)
		check("l2", fixed.L2, tc.l2)
		check("fixed total", fixed.Total, tc.visitValid+tc.emb+tc.l2)
	}
	// visitLoss alone gives the window-2 valid-pair cost (k = 1: 8.612972, the
	// window-1 value checked above, plus k = 2: 6.982893).
	tr := refTrainer(t, seqs, refConfig(2, false))
	if v1, _ := tr.visitLoss(0, len(seqs)); math.Abs(v1-15.595865) > 1e-6 {
		t.Errorf("window 2 visit = %.7f, want 15.595865", v1)
	}

	// A batch without code pairs: the reference's emb cost is NaN; here 0.
	c := refTrainer(t, [][]int{{0}, {1}}, refConfig(1, true)).batch(0, 2)
	if math.Abs(c.Visit-5.419632) > 1e-6 || c.Emb != 0 || math.IsNaN(c.Total) {
		t.Errorf("no-pair batch: visit %.7f (want 5.419632), emb %g (want 0), total %g", c.Visit, c.Emb, c.Total)
	}
}

// gcData is a tiny dataset with labels and demographics; rows 0–7 form a
// batch with separators and a repeated code, rows 8–11 one without any
// intra-visit code pair.
func gcData() (Data, Config) {
	seqs := [][]int{{0, 1, 2}, {3, 1}, {4}, {-1}, {5, 6, 1}, {2}, {0, 3, 3}, {6, 2},
		{0}, {2}, {-1}, {5}}
	labels := make([][]int, len(seqs))
	demo := make([][]float64, len(seqs))
	r := rand.New(rand.NewPCG(7, 7))
	for i, row := range seqs {
		demo[i] = []float64{r.Float64(), r.Float64() - 0.5}
		if isSep(row) {
			labels[i] = []int{-1}
			demo[i] = []float64{0, 0}
			continue
		}
		for _, c := range row {
			labels[i] = append(labels[i], c%4)
		}
	}
	cfg := DefaultConfig(7)
	cfg.NumOutputCodes = 4
	cfg.EmbSize, cfg.VisitSize, cfg.DemoSize = 3, 4, 2
	cfg.WindowSize = 3
	cfg.BatchSize = 8
	cfg.L2Emb, cfg.L2Hidden, cfg.L2Output = 0.01, 0.02, 0.03
	return Data{Seqs: seqs, Labels: labels, Demo: demo}, cfg
}

// randomise sets every parameter, biases included, to U(−0.5, 0.5) so that
// the code-level loss and every ReLU are active.
func randomise(m *Model, seed uint64) {
	r := rand.New(rand.NewPCG(seed, 1))
	for _, p := range m.params() {
		for i := range p {
			p[i] = r.Float64() - 0.5
		}
	}
}

func TestGradientCheck(t *testing.T) {
	data, cfg := gcData()
	for _, faithful := range []bool{false, true} {
		cfg.Faithful = faithful
		tr, err := newTrainer(&data, cfg)
		if err != nil {
			t.Fatal(err)
		}
		tr.codeBlock = 3 // several blocks of first codes
		randomise(tr.m, 3)
		for _, b := range [][2]int{{0, 8}, {8, 12}} {
			if faithful && b[0] == 8 {
				// Rows 8–11 have no valid pair at distance 2 or 3, so the
				// faithful cost divides the masked constant by ε (≈ 10⁹,
				// as the reference): finite differences lose all precision.
				// TestFaithfulVsFixed shows the gradients equal.
				continue
			}
			c := tr.batch(b[0], b[1])
			if math.IsNaN(c.Total) || math.IsInf(c.Total, 0) {
				t.Fatalf("rows %v: cost %g", b, c.Total)
			}
			if b[0] == 8 && c.Emb != 0 {
				t.Errorf("rows %v have no code pair, emb cost %g", b, c.Emb)
			}
			var grads [][]float64
			for _, g := range tr.g.params() {
				grads = append(grads, slices.Clone(g))
			}
			const h = 1e-5
			var maxErr float64
			names := []string{"W_emb", "b_emb", "W_hidden", "b_hidden", "W_output", "b_output"}
			for pi, p := range tr.m.params() {
				for i := range p {
					old := p[i]
					p[i] = old + h
					fp := tr.batch(b[0], b[1]).Total
					p[i] = old - h
					fm := tr.batch(b[0], b[1]).Total
					p[i] = old
					num := (fp - fm) / (2 * h)
					e := math.Abs(num-grads[pi][i]) / max(1, math.Abs(num))
					maxErr = max(maxErr, e)
					if e > 1e-6 {
						t.Errorf("faithful=%v rows %v %s[%d]: analytic %.9g, numeric %.9g", faithful, b, names[pi], i, grads[pi][i], num)
					}
				}
			}
			t.Logf("faithful=%v rows %v: max gradient error %.2e", faithful, b, maxErr)
		}
	}
}

// TestFaithfulVsFixed: the two modes differ by the masked-pair constant only
// and have bit-identical gradients.
func TestFaithfulVsFixed(t *testing.T) {
	data, cfg := gcData()
	var costs [2]Costs
	var grads [2][][]float64
	for mode, faithful := range []bool{false, true} {
		cfg.Faithful = faithful
		tr, err := newTrainer(&data, cfg)
		if err != nil {
			t.Fatal(err)
		}
		randomise(tr.m, 5)
		costs[mode] = tr.batch(0, 8)
		for _, g := range tr.g.params() {
			grads[mode] = append(grads[mode], slices.Clone(g))
		}
	}
	if !(costs[0].Masked > 18) || costs[0].Masked != costs[1].Masked {
		t.Fatalf("masked constant %g / %g, want equal and > 18 (a masked pair has a real target)", costs[0].Masked, costs[1].Masked)
	}
	if d := costs[1].Total - costs[0].Total - costs[0].Masked; math.Abs(d) > 1e-12*costs[1].Total {
		t.Errorf("faithful − fixed − masked = %g", d)
	}
	if costs[1].Visit != costs[0].Visit+costs[0].Masked || costs[1].Emb != costs[0].Emb || costs[1].L2 != costs[0].L2 {
		t.Errorf("costs fixed %+v faithful %+v", costs[0], costs[1])
	}
	for i := range grads[0] {
		if !slices.Equal(grads[0][i], grads[1][i]) {
			t.Errorf("parameter %d: gradients differ between modes", i)
		}
	}
}

// TestCodeBlocks: the blocked code-level loss does not depend on the block
// size (up to summation order).
func TestCodeBlocks(t *testing.T) {
	data, cfg := gcData()
	var ref []float64
	var refCost float64
	for _, bs := range []int{1, 2, 5, 128} {
		tr, err := newTrainer(&data, cfg)
		if err != nil {
			t.Fatal(err)
		}
		tr.codeBlock = bs
		randomise(tr.m, 9)
		c := tr.batch(0, 8)
		if ref == nil {
			ref, refCost = slices.Clone(tr.g.WEmb), c.Emb
			continue
		}
		if math.Abs(c.Emb-refCost) > 1e-12 {
			t.Errorf("block %d: emb %g, block 1: %g", bs, c.Emb, refCost)
		}
		for i := range ref {
			if math.Abs(tr.g.WEmb[i]-ref[i]) > 1e-12 {
				t.Fatalf("block %d: dW_emb[%d] %g, block 1: %g", bs, i, tr.g.WEmb[i], ref[i])
			}
		}
	}
}

// TestStableSoftmax: dot products far beyond exp's range give finite costs.
func TestStableSoftmax(t *testing.T) {
	seqs := [][]int{{0, 1, 2}, {1, 3}, {-1}, {4, 5}, {0, 5}, {2}}
	tr := refTrainer(t, seqs, refConfig(2, false))
	for i := range tr.m.WEmb {
		tr.m.WEmb[i] *= 1000 // dot products up to ≈ 4·10⁵
	}
	for i := range tr.m.WOutput {
		tr.m.WOutput[i] *= 1000
	}
	c := tr.batch(0, len(seqs))
	for _, x := range []float64{c.Visit, c.Emb, c.Total} {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			t.Fatalf("costs %+v", c)
		}
	}
	for _, g := range tr.g.params() {
		for _, x := range g {
			if math.IsNaN(x) || math.IsInf(x, 0) {
				t.Fatal("non-finite gradient")
			}
		}
	}
}

// clustered returns patients × visits visits whose codes come from one of two
// clusters (codes [0, n/2) or [n/2, n)) chosen per patient.
func clustered(patients, visits, n, perVisit int, seed uint64) Data {
	r := rand.New(rand.NewPCG(seed, 2))
	var seqs [][]int
	for p := 0; p < patients; p++ {
		if p > 0 {
			seqs = append(seqs, []int{-1})
		}
		base := (p % 2) * (n / 2)
		for v := 0; v < visits; v++ {
			row := make([]int, 0, perVisit)
			for len(row) < perVisit {
				if c := base + r.IntN(n/2); !slices.Contains(row, c) {
					row = append(row, c)
				}
			}
			seqs = append(seqs, row)
		}
	}
	return Data{Seqs: seqs}
}

func TestLossFalls(t *testing.T) {
	data := clustered(200, 5, 20, 3, 1)
	cfg := DefaultConfig(20)
	cfg.EmbSize, cfg.VisitSize = 8, 8
	cfg.BatchSize = 100
	cfg.Epochs = 20
	cfg.WindowSize = 2
	cfg.Seed = 42
	var log strings.Builder
	m, stats, err := Train(data, cfg, &log)
	if err != nil {
		t.Fatal(err)
	}
	if len(stats) != cfg.Epochs || !strings.Contains(log.String(), "epoch:19, mean_cost:") {
		t.Fatalf("%d stats, log:\n%s", len(stats), log.String())
	}
	first, last := stats[0], stats[len(stats)-1]
	t.Logf("epoch 0: %+v\nepoch %d: %+v", first.Costs, last.Epoch, last.Costs)
	if !(last.Total < 0.8*first.Total) || !(last.Visit < first.Visit) || !(last.Emb < first.Emb) {
		t.Errorf("loss did not fall: first %+v last %+v", first.Costs, last.Costs)
	}
	// Codes of the same cluster end up closer (cosine of ReLU(W_emb)) than
	// codes of different clusters.
	cv := m.CodeVectors()
	e := m.E
	cos := func(a, b int) float64 {
		var d, na, nb float64
		for x := 0; x < e; x++ {
			d += cv[a*e+x] * cv[b*e+x]
			na += cv[a*e+x] * cv[a*e+x]
			nb += cv[b*e+x] * cv[b*e+x]
		}
		return d / math.Sqrt(na*nb+1e-30)
	}
	var same, diff float64
	var ns, nd int
	for a := 0; a < 20; a++ {
		for b := a + 1; b < 20; b++ {
			if a/10 == b/10 {
				same += cos(a, b)
				ns++
			} else {
				diff += cos(a, b)
				nd++
			}
		}
	}
	same, diff = same/float64(ns), diff/float64(nd)
	t.Logf("mean cosine within clusters %.3f, across %.3f", same, diff)
	if !(same > diff+0.1) {
		t.Errorf("mean cosine within clusters %.3f, across %.3f", same, diff)
	}
}

func TestDeterminism(t *testing.T) {
	data := clustered(40, 4, 12, 3, 3)
	cfg := DefaultConfig(12)
	cfg.EmbSize, cfg.VisitSize = 5, 6
	cfg.BatchSize = 30
	cfg.Epochs = 3
	cfg.WindowSize = 3
	cfg.Seed = 11
	train := func(seed uint64) *Model {
		cfg.Seed = seed
		m, _, err := Train(data, cfg, nil)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	a, b, c := train(11), train(11), train(12)
	for i, p := range a.params() {
		if !slices.Equal(p, b.params()[i]) {
			t.Errorf("%s differs between runs with the same seed", a.Tensors()[i].Name)
		}
	}
	if slices.Equal(a.WEmb, c.WEmb) {
		t.Error("different seeds gave the same W_emb")
	}
}

func TestValidation(t *testing.T) {
	base := func() (Data, Config) { return gcData() }
	for _, tc := range []struct {
		name   string
		mutate func(*Data, *Config)
		want   string
	}{
		{"code out of range", func(d *Data, _ *Config) { d.Seqs[4] = []int{5, 7} }, "Seqs row 4: code 7"},
		{"negative code", func(d *Data, _ *Config) { d.Seqs[1] = []int{-1, 2} }, "Seqs row 1: code -1"},
		{"label out of range", func(d *Data, _ *Config) { d.Labels[2] = []int{4} }, "Labels row 2: code 4"},
		{"label separator misaligned", func(d *Data, _ *Config) { d.Labels[3] = []int{1} }, "Labels row 3: separator"},
		{"label rows", func(d *Data, _ *Config) { d.Labels = d.Labels[:5] }, "Labels has 5 rows"},
		{"demo width", func(d *Data, _ *Config) { d.Demo[6] = []float64{1} }, "Demo row 6 has 1 values"},
		{"demo rows", func(d *Data, _ *Config) { d.Demo = d.Demo[:3] }, "Demo has 3 rows"},
		{"demo NaN", func(d *Data, _ *Config) { d.Demo[5][1] = math.NaN() }, "Demo row 5: non-finite"},
		{"demo without size", func(_ *Data, c *Config) { c.DemoSize = 0 }, "Demo given but DemoSize is 0"},
		{"labels without K", func(_ *Data, c *Config) { c.NumOutputCodes = 0 }, "NumOutputCodes is 0"},
		{"window", func(_ *Data, c *Config) { c.WindowSize = 0 }, "WindowSize"},
		{"empty", func(d *Data, c *Config) { d.Seqs, d.Labels, d.Demo, c.NumOutputCodes, c.DemoSize = nil, nil, nil, 0, 0 }, "Seqs is empty"},
	} {
		d, c := base()
		tc.mutate(&d, &c)
		c.Epochs = 1
		_, _, err := Train(d, c, nil)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want it to contain %q", tc.name, err, tc.want)
		}
	}
	d, c := base()
	c.Epochs = 1
	if _, _, err := Train(d, c, nil); err != nil {
		t.Errorf("valid data: %v", err)
	}
}

func TestTensorsAndCodeVectors(t *testing.T) {
	m := newModel(3, 5, 2, 4, 1)
	randomise(m, 1)
	want := map[string][]int{"W_emb": {3, 2}, "b_emb": {2}, "W_hidden": {3, 4}, "b_hidden": {4}, "W_output": {4, 5}, "b_output": {5}}
	for _, ts := range m.Tensors() {
		n := 1
		for _, s := range ts.Shape {
			n *= s
		}
		if !slices.Equal(ts.Shape, want[ts.Name]) || len(ts.Data) != n {
			t.Errorf("%s: shape %v len %d, want %v", ts.Name, ts.Shape, len(ts.Data), want[ts.Name])
		}
	}
	cv, cb := m.CodeVectors(), m.CodeVectorsWithBias()
	for i, w := range m.WEmb {
		if cv[i] != max(w, 0) || cb[i] != max(w+m.BEmb[i%2], 0) {
			t.Fatalf("code vector %d: %g / %g from W %g, b %g", i, cv[i], cb[i], w, m.BEmb[i%2])
		}
	}
}

func TestBatches(t *testing.T) {
	// Patients of 1–9 visits; batch size 7, so some patients exceed a batch.
	r := rand.New(rand.NewPCG(4, 4))
	var seqs [][]int
	for p := 0; p < 60; p++ {
		if p > 0 {
			seqs = append(seqs, []int{-1})
		}
		for v := 1 + r.IntN(9); v > 0; v-- {
			seqs = append(seqs, []int{r.IntN(5)})
		}
	}
	cfg := DefaultConfig(5)
	cfg.BatchSize = 7
	for _, patient := range []bool{false, true} {
		cfg.PatientBatches = patient
		tr, err := newTrainer(&Data{Seqs: seqs}, cfg)
		if err != nil {
			t.Fatal(err)
		}
		bs := tr.batches()
		if !patient && len(bs) != (len(seqs)+6)/7 {
			t.Errorf("contiguous: %d batches for %d rows", len(bs), len(seqs))
		}
		next := 0
		for _, b := range bs {
			if b[0] != next || b[1] <= b[0] || b[1]-b[0] > 7 {
				t.Fatalf("patient=%v: batch %v after row %d", patient, b, next)
			}
			next = b[1]
			// With patient batches a cut inside a patient (row before the
			// cut is a visit, row after too) only happens in a patient
			// longer than a batch.
			if patient && b[1] < len(seqs) && !tr.sep[b[1]-1] {
				lo, hi := b[1]-1, b[1]
				for lo > 0 && !tr.sep[lo-1] {
					lo--
				}
				for hi < len(seqs) && !tr.sep[hi] {
					hi++
				}
				if hi-lo+1 <= 7 {
					t.Errorf("batch %v cuts patient rows %d–%d that fit in a batch", b, lo, hi-1)
				}
			}
		}
		if next != len(seqs) {
			t.Errorf("patient=%v: batches end at %d of %d rows", patient, next, len(seqs))
		}
	}
}

// TestDeterminismAcrossThreads: the kernels split work by output element, so
// weights do not depend on GOMAXPROCS. Sizes are large enough for the
// kernels to use several goroutines.
func TestDeterminismAcrossThreads(t *testing.T) {
	data := clustered(60, 5, 400, 6, 5)
	cfg := DefaultConfig(400)
	cfg.EmbSize, cfg.VisitSize = 32, 32
	cfg.BatchSize = 150
	cfg.Epochs = 2
	cfg.WindowSize = 2
	train := func(procs int) *Model {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
		m, _, err := Train(data, cfg, nil)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	a, b := train(1), train(4)
	for i, p := range a.params() {
		if !slices.Equal(p, b.params()[i]) {
			t.Errorf("%s differs between GOMAXPROCS 1 and 4", a.Tensors()[i].Name)
		}
	}
}
