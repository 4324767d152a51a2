package clq

import (
	"math"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"

	"github.com/icdcode/icdcode/model/agfn/gradcheck"
	"github.com/icdcode/icdcode/model/kernels"
	"github.com/icdcode/icdcode/model/layers"
	"github.com/icdcode/icdcode/quant/quantify"
	"github.com/nlpodyssey/spago/ag"
	"github.com/nlpodyssey/spago/mat"
	"github.com/nlpodyssey/spago/mat/float"
	"github.com/nlpodyssey/spago/nn"
)

// backends64 are the float64 backends the term is checked with.
func backends64() []kernels.Kernels[float64] {
	return []kernels.Kernels[float64]{kernels.Reference[float64](), kernels.CPU[float64]()}
}

func randSlice(rng *rand.Rand, n int, lo, hi float64) []float64 {
	s := make([]float64, n)
	for i := range s {
		s[i] = lo + (hi-lo)*rng.Float64()
	}
	return s
}

// leaf returns a 1×n matrix of v converted to T that requires a gradient.
func leaf[T float.DType](v []float64) *mat.Dense[T] {
	s := make([]T, len(v))
	for i, x := range v {
		s[i] = T(x)
	}
	return mat.NewDense[T](mat.WithShape(1, len(v)), mat.WithBacking(s), mat.WithGrad(true))
}

func conv[T float.DType](v []float64) []T {
	s := make([]T, len(v))
	for i, x := range v {
		s[i] = T(x)
	}
	return s
}

// snapshot returns a function that puts l's bag memory back as it is now.
// Term replaces the memory's slices instead of writing into them, so
// keeping the references is enough.
func snapshot[T float.DType](l *Loss[T]) func() {
	e, b, s, n, c, p := l.epoch, l.bag, l.size, l.n, l.classes, l.preds
	return func() { l.epoch, l.bag, l.size, l.n, l.classes, l.preds = e, b, s, n, c, p }
}

func item(t mat.Tensor) float64 { return t.Value().Item().F64() }

// named is a tensor under a gradient check (gradcheck.Tensor, short to
// write unkeyed).
type named struct {
	name string
	t    mat.Tensor
}

// gradCheck is gradcheck.Check over named tensors.
func gradCheck(t *testing.T, ts []named, f func() (mat.Tensor, error)) float64 {
	t.Helper()
	gs := make([]gradcheck.Tensor, len(ts))
	for i, x := range ts {
		gs[i] = gradcheck.Tensor{Name: x.name, T: x.t}
	}
	return gradcheck.Check(t, gs, f)
}

// TestGradCheck checks the gradient of the whole term, for the second
// document of a bag, with respect to its logits and every MLP parameter.
func TestGradCheck(t *testing.T) {
	const L, H = 5, 3
	rng := rand.New(rand.NewPCG(1, 1))
	for _, k := range backends64() {
		// δ = 0.2 so that some residuals fall on each side of the threshold.
		l, err := New[float64](Config{Lambda: 3, Delta: 0.2, Hidden: H, BagSize: 4, Seed: 5}, L, 20)
		if err != nil {
			t.Fatal(err)
		}
		// Larger weights than the default initialisation, so that q̂ moves
		// away from 0.5 and the gradients are not tiny.
		for _, p := range l.Params() {
			copy(mat.Data[float64](p.P), randSlice(rng, p.P.Size(), -2, 2))
		}
		if _, err := l.Term(k, leaf[float64](randSlice(rng, L, -3, 3)), []float64{1, 0, 1, 0, 0}); err != nil {
			t.Fatal(err)
		}
		restore := snapshot(l)
		z := leaf[float64](randSlice(rng, L, -3, 3))
		y := []float64{1, 1, 0, 0, 1}
		ts := []named{{"logits", z}}
		for _, p := range l.Params() {
			ts = append(ts, named{p.Name, p.P})
		}
		var resid []float64
		e := gradCheck(t, ts, func() (mat.Tensor, error) {
			restore()
			return l.Term(k, z, y)
		})
		// Make sure both Huber branches were exercised.
		restore()
		q, err := l.mlp(k, mustPCC(t, l, z))
		if err != nil {
			t.Fatal(err)
		}
		for i, v := range mat.Data[float64](q.Value()) {
			resid = append(resid, v-[]float64{1, 0.5, 0.5, 0, 0.5}[i])
		}
		var in, out bool
		for _, r := range resid {
			in = in || math.Abs(r) < 0.2
			out = out || math.Abs(r) > 0.2
		}
		if !in || !out {
			t.Errorf("residuals %v do not cover both Huber branches", resid)
		}
		t.Logf("%s: max relative error %.2e", k.Name(), e)
	}
}

// mustPCC returns the PCC vector the next Term would see for logits z
// (the bag not full), without touching the memory.
func mustPCC(t *testing.T, l *Loss[float64], z mat.Tensor) mat.Tensor {
	t.Helper()
	if l.n >= l.size {
		t.Fatalf("bag is full")
	}
	return mat.NewDense[float64](mat.WithShape(1, l.labels), mat.WithBacking(pccByHand(l.preds, mat.Data[float64](z.Value()), l.n+1)))
}

// pccByHand is (base + σ(z))/n.
func pccByHand(base, z []float64, n int) []float64 {
	p := make([]float64, len(z))
	for i := range z {
		p[i] = (base[i] + 1/(1+math.Exp(-z[i]))) / float64(n)
	}
	return p
}

// TestOnlyCurrentDocument checks that the term of a bag's second document
// depends on the first document's probabilities but sends no gradient to
// its logits.
func TestOnlyCurrentDocument(t *testing.T) {
	const L = 4
	k := kernels.Reference[float64]()
	cfg := Config{Lambda: 100, Delta: 0.5, Hidden: 3, BagSize: 5, Seed: 2}
	z2v := []float64{0.3, -1, 2, 0.1}
	y1, y2 := []float64{1, 0, 0, 1}, []float64{0, 0, 1, 1}
	term2 := func(z1v []float64) (float64, *mat.Dense[float64], *mat.Dense[float64], *Loss[float64]) {
		l, err := New[float64](cfg, L, 10)
		if err != nil {
			t.Fatal(err)
		}
		z1 := leaf[float64](z1v)
		if _, err := l.Term(k, z1, y1); err != nil {
			t.Fatal(err)
		}
		z2 := leaf[float64](z2v)
		t2, err := l.Term(k, z2, y2)
		if err != nil {
			t.Fatal(err)
		}
		if err := ag.Backward(t2); err != nil {
			t.Fatal(err)
		}
		return item(t2), z1, z2, l
	}
	a, z1, z2, l := term2([]float64{2, -2, 1, 0})
	if z1.HasGrad() {
		t.Errorf("document 1's logits got a gradient %v from document 2's term", z1.Grad())
	}
	if !z2.HasGrad() {
		t.Errorf("document 2's logits got no gradient")
	}
	for _, p := range l.Params() {
		if !p.P.HasGrad() {
			t.Errorf("%s got no gradient", p.Name)
		}
	}
	b, _, _, _ := term2([]float64{-2, 2, -1, 3})
	if a == b {
		t.Errorf("document 2's term %v does not depend on document 1's probabilities", a)
	}
}

// TestBagSizes checks that bag sizes are a function of (seed, epoch, bag
// index) only, that StartEpoch empties the memory and restarts the bags,
// and the fixed-size option.
func TestBagSizes(t *testing.T) {
	const L, N, docs = 3, 7, 25
	k := kernels.Reference[float64]()
	rng := rand.New(rand.NewPCG(3, 3))
	zs := make([][]float64, docs)
	for i := range zs {
		zs[i] = randSlice(rng, L, -2, 2)
	}
	y := []float64{1, 0, 1}
	// run feeds the epoch's documents and returns the bag after each.
	run := func(l *Loss[float64], epoch int) []Bag {
		l.StartEpoch(epoch)
		if b := l.Bag(); b != (Bag{epoch, -1, 0, 0}) {
			t.Fatalf("after StartEpoch(%d): %+v", epoch, b)
		}
		var bags []Bag
		for _, z := range zs {
			if _, err := l.Term(k, leaf[float64](z), y); err != nil {
				t.Fatal(err)
			}
			bags = append(bags, l.Bag())
		}
		return bags
	}
	cfg := Config{Lambda: 1, Delta: 0.5, Hidden: 2, Seed: 11}
	a, _ := New[float64](cfg, L, N)
	var seqA [][]Bag
	for e := range 3 {
		seqA = append(seqA, run(a, e))
	}
	for e, seq := range seqA {
		prev := Bag{Index: -1}
		for i, b := range seq {
			if b.Size < 1 || b.Size > N || b.Docs < 1 || b.Docs > b.Size {
				t.Fatalf("epoch %d doc %d: bad bag %+v", e, i, b)
			}
			if b.Size != BagSize(cfg.Seed, e, b.Index, N) {
				t.Fatalf("epoch %d doc %d: size %d, BagSize says %d", e, i, b.Size, BagSize(cfg.Seed, e, b.Index, N))
			}
			want := prev
			want.Docs++
			if prev.Index < 0 || prev.Docs == prev.Size {
				want = Bag{e, prev.Index + 1, b.Size, 1}
			}
			if b != want {
				t.Fatalf("epoch %d doc %d: bag %+v, want %+v", e, i, b, want)
			}
			prev = b
		}
	}
	// A fresh Loss starting at epoch 2 (a resumed run) draws the same bags.
	b, _ := New[float64](cfg, L, N)
	seqB := run(b, 2)
	for i := range seqB {
		if seqB[i] != seqA[2][i] {
			t.Fatalf("resumed epoch 2, doc %d: %+v, uninterrupted %+v", i, seqB[i], seqA[2][i])
		}
	}
	same := true
	for i := range seqA[0] {
		same = same && seqA[0][i] == seqA[1][i]
	}
	if same {
		t.Errorf("epochs 0 and 1 drew the same bags")
	}
	// Sizes are pinned so that a change of generator (which would change
	// every run's bags) shows up here.
	got := []int{BagSize(888, 0, 0, 100), BagSize(888, 0, 1, 100), BagSize(888, 1, 0, 100), BagSize(1, 0, 0, 100)}
	if want := pinnedSizes; !equalInts(got, want) {
		t.Errorf("BagSize values %v, pinned %v", got, want)
	}
	// Every size in [1, N] comes up.
	seen := map[int]int{}
	for bag := range 2000 {
		seen[BagSize(5, 3, bag, 5)]++
	}
	for s := 1; s <= 5; s++ {
		if seen[s] < 300 {
			t.Errorf("size %d drawn %d times in 2000 draws from [1, 5]", s, seen[s])
		}
	}
	if len(seen) != 5 {
		t.Errorf("sizes drawn: %v", seen)
	}

	// StartEpoch mid-bag empties the memory: the next document's term is
	// that of a fresh bag.
	cfg.BagSize = 10
	c, _ := New[float64](cfg, L, N)
	fresh, _ := New[float64](cfg, L, N)
	for _, z := range zs[:3] {
		if _, err := c.Term(k, leaf[float64](z), y); err != nil {
			t.Fatal(err)
		}
	}
	c.StartEpoch(1)
	fresh.StartEpoch(1)
	tc, err := c.Term(k, leaf[float64](zs[3]), y)
	if err != nil {
		t.Fatal(err)
	}
	tf, err := fresh.Term(k, leaf[float64](zs[3]), y)
	if err != nil {
		t.Fatal(err)
	}
	if item(tc) != item(tf) {
		t.Errorf("after StartEpoch the term is %v, a fresh bag's %v", item(tc), item(tf))
	}
	// Fixed size 3: bags 0,0,0,1,1,1,…, the epoch's last one shorter.
	cfg.BagSize = 3
	d, _ := New[float64](cfg, L, N)
	for i, bg := range run(d, 4) {
		if want := (Bag{4, i / 3, 3, i%3 + 1}); bg != want {
			t.Fatalf("fixed size, doc %d: %+v, want %+v", i, bg, want)
		}
	}
}

// pinnedSizes are BagSize(888,0,0,100), (888,0,1,100), (888,1,0,100),
// (1,0,0,100) as first computed.
var pinnedSizes = []int{72, 94, 83, 64}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestQuantifierRoundTrip checks quantify MLP → clq → quantify MLP and the
// file format, and that New initialises as quantify.NewMLP.
func TestQuantifierRoundTrip(t *testing.T) {
	const L, H = 6, 4
	m, err := quantify.NewMLP(L, H, 3)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(4, 4))
	pcc := randSlice(rng, L, 0, 1)
	want, err := m.Predict(pcc)
	if err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.Hidden = 0 // take the quantifier's
	l, err := FromQuantifier[float64](cfg, m, 10)
	if err != nil {
		t.Fatal(err)
	}
	if l.Config().Hidden != H {
		t.Errorf("hidden %d, want %d", l.Config().Hidden, H)
	}
	back := l.Quantifier()
	for _, p := range [][2][]float64{{m.W1, back.W1}, {m.B1, back.B1}, {m.W2, back.W2}, {m.B2, back.B2}} {
		if !equalFloats(p[0], p[1]) {
			t.Fatalf("round trip changed weights: %v → %v", p[0], p[1])
		}
	}
	// The graph's MLP answers as quantify's.
	for _, k := range backends64() {
		q, err := l.mlp(k, mat.NewDense[float64](mat.WithShape(1, L), mat.WithBacking(pcc)))
		if err != nil {
			t.Fatal(err)
		}
		for i, v := range mat.Data[float64](q.Value()) {
			if math.Abs(v-want[i]) > 1e-14 {
				t.Errorf("%s: q̂[%d] = %v, quantify says %v", k.Name(), i, v, want[i])
			}
		}
	}
	// Through float32 (training) and the file format.
	l32, err := FromQuantifier[float32](cfg, m, 10)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "clq-mlp.json")
	if err := l32.Quantifier().Save(path); err != nil {
		t.Fatal(err)
	}
	loaded, err := quantify.LoadMLP(path)
	if err != nil {
		t.Fatal(err)
	}
	got, err := loaded.Predict(pcc)
	if err != nil {
		t.Fatal(err)
	}
	for i := range got {
		if math.Abs(got[i]-want[i]) > 1e-6 {
			t.Errorf("float32 round trip: prediction %d = %v, want %v", i, got[i], want[i])
		}
	}
	again, err := FromQuantifier[float32](cfg, loaded, 10)
	if err != nil {
		t.Fatal(err)
	}
	if !equalFloats(again.Quantifier().W1, loaded.W1) || !equalFloats(again.Quantifier().B2, loaded.B2) {
		t.Errorf("float32 weights changed on a second round trip")
	}
	// New's initialisation is quantify's for the same seed.
	n, err := New[float64](Config{Lambda: 1, Delta: 1, Hidden: H, Seed: 3}, L, 10)
	if err != nil {
		t.Fatal(err)
	}
	if nq := n.Quantifier(); !equalFloats(nq.W1, m.W1) || !equalFloats(nq.B1, m.B1) || !equalFloats(nq.W2, m.W2) || !equalFloats(nq.B2, m.B2) {
		t.Errorf("New does not initialise as quantify.NewMLP")
	}
}

func equalFloats(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestTermByHand checks the term of a bag's second document against the
// formula written out on a 2-label, 2-hidden example.
func TestTermByHand(t *testing.T) {
	sig := func(x float64) float64 { return 1 / (1 + math.Exp(-x)) }
	m := &quantify.MLP{L: 2, H: 2,
		W1: []float64{0.5, -1, 2, 0.25}, B1: []float64{0.1, -0.2},
		W2: []float64{-3, -2, 1.5, 0.5}, B2: []float64{-0.5, 0.3}}
	z1, z2 := []float64{1, -0.5}, []float64{-2, 0.7}
	y1, y2 := []float64{1, 0}, []float64{1, 1}
	// By hand: PCC = (σ(z1) + σ(z2))/2, p = (y1 + y2)/2 = (1, 0.5).
	pcc := []float64{(sig(z1[0]) + sig(z2[0])) / 2, (sig(z1[1]) + sig(z2[1])) / 2}
	h := []float64{
		sig(0.5*pcc[0] - 1*pcc[1] + 0.1),
		sig(2*pcc[0] + 0.25*pcc[1] - 0.2),
	}
	q := []float64{sig(-3*h[0] - 2*h[1] - 0.5), sig(1.5*h[0] + 0.5*h[1] + 0.3)}
	p := []float64{1, 0.5}
	const lambda, delta = 100, 0.5
	var hub float64
	branches := map[bool]bool{}
	for i := range q {
		d := math.Abs(q[i] - p[i])
		branches[d <= delta] = true
		if d <= delta {
			hub += 0.5 * d * d
		} else {
			hub += delta * (d - 0.5*delta)
		}
	}
	want := lambda * hub / 2
	if len(branches) != 2 {
		t.Fatalf("the example covers one Huber branch only (q̂ = %v)", q)
	}
	cfg := Config{Lambda: lambda, Delta: delta, BagSize: 2}
	check := func(name string, got, tol float64) {
		if math.Abs(got-want) > tol*math.Abs(want) {
			t.Errorf("%s: term %v, by hand %v", name, got, want)
		}
	}
	l, err := FromQuantifier[float64](cfg, m, 5)
	if err != nil {
		t.Fatal(err)
	}
	k := kernels.CPU[float64]()
	if _, err := l.Term(k, leaf[float64](z1), y1); err != nil {
		t.Fatal(err)
	}
	got, err := l.Term(k, leaf[float64](z2), y2)
	if err != nil {
		t.Fatal(err)
	}
	check("float64", item(got), 1e-14)
	l32, err := FromQuantifier[float32](cfg, m, 5)
	if err != nil {
		t.Fatal(err)
	}
	k32 := kernels.CPU[float32]()
	if _, err := l32.Term(k32, leaf[float32](z1), conv[float32](y1)); err != nil {
		t.Fatal(err)
	}
	got32, err := l32.Term(k32, leaf[float32](z2), conv[float32](y2))
	if err != nil {
		t.Fatal(err)
	}
	check("float32", item(got32), 1e-5)
	// The bag (size 2) is full: the third document opens bag 1 alone.
	if _, err := l.Term(k, leaf[float64](z1), y1); err != nil {
		t.Fatal(err)
	}
	if b := l.Bag(); b != (Bag{0, 1, 2, 1}) {
		t.Errorf("third document: bag %+v", b)
	}
}

// TestJointLossDeterministic builds the training loss as the classifier
// will (logits from a fresh node feeding BCE and the term) and checks that
// repeated passes give bit-identical gradients.
func TestJointLossDeterministic(t *testing.T) {
	const L, d = 8, 5
	k := kernels.CPU[float32]()
	rng := rand.New(rand.NewPCG(6, 6))
	x := nn.NewParam(mat.NewDense[float32](mat.WithShape(1, d), mat.WithBacking(conv[float32](randSlice(rng, d, -1, 1)))))
	w := nn.NewParam(mat.NewDense[float32](mat.WithShape(d, L), mat.WithBacking(conv[float32](randSlice(rng, d*L, -1, 1)))))
	y := conv[float32]([]float64{1, 0, 0, 1, 0, 1, 1, 0})
	var first [][]float32
	for rep := range 30 {
		l, err := New[float32](DefaultConfig(), L, 10)
		if err != nil {
			t.Fatal(err)
		}
		ps := []*nn.Param{x, w}
		for _, p := range l.Params() {
			ps = append(ps, p.P)
		}
		for _, p := range ps {
			p.ZeroGrad()
		}
		for doc := range 2 {
			z, err := layers.Linear(k, x, w, nil) // the head's fresh logits
			if err != nil {
				t.Fatal(err)
			}
			bce, err := layers.BCEWithLogits[float32](z, mat.NewDense[float32](mat.WithShape(1, L), mat.WithBacking(y)), layers.Mean)
			if err != nil {
				t.Fatal(err)
			}
			term, err := l.Term(k, z, y)
			if err != nil {
				t.Fatal(err)
			}
			loss, err := layers.Add[float32](bce, term)
			if err != nil {
				t.Fatal(err)
			}
			if doc == 1 {
				if want := item(bce) + item(term); math.Abs(item(loss)-want) > 1e-5*math.Abs(want) {
					t.Fatalf("loss %v, BCE + term %v", item(loss), want)
				}
			}
			if err := ag.Backward(loss); err != nil {
				t.Fatal(err)
			}
		}
		var grads [][]float32
		for _, p := range ps {
			grads = append(grads, append([]float32(nil), mat.Data[float32](p.Grad())...))
		}
		if rep == 0 {
			first = grads
			continue
		}
		for i := range grads {
			for j := range grads[i] {
				if math.Float32bits(grads[i][j]) != math.Float32bits(first[i][j]) {
					t.Fatalf("repetition %d: gradient %d[%d] = %v, first %v", rep, i, j, grads[i][j], first[i][j])
				}
			}
		}
	}
}

func TestErrors(t *testing.T) {
	const L = 3
	k := kernels.Reference[float64]()
	good := Config{Lambda: 100, Delta: 0.5, Hidden: 2, Seed: 1}
	m, _ := quantify.NewMLP(L, 2, 1)
	for _, c := range []struct {
		name string
		err  func() error
		want string
	}{
		{"lambda < 0", func() error { c := good; c.Lambda = -1; _, err := New[float64](c, L, 5); return err }, "lambda"},
		{"lambda NaN", func() error { c := good; c.Lambda = math.NaN(); _, err := New[float64](c, L, 5); return err }, "lambda"},
		{"delta 0", func() error { c := good; c.Delta = 0; _, err := New[float64](c, L, 5); return err }, "delta"},
		{"delta < 0", func() error { c := good; c.Delta = -0.5; _, err := FromQuantifier[float64](c, m, 5); return err }, "delta"},
		{"delta Inf", func() error { c := good; c.Delta = math.Inf(1); _, err := New[float64](c, L, 5); return err }, "delta"},
		{"hidden 0", func() error { c := good; c.Hidden = 0; _, err := New[float64](c, L, 5); return err }, "hidden"},
		{"bag size < 0", func() error { c := good; c.BagSize = -1; _, err := New[float64](c, L, 5); return err }, "bag size"},
		{"no labels", func() error { _, err := New[float64](good, 0, 5); return err }, "labels"},
		{"no documents", func() error { _, err := New[float64](good, L, 0); return err }, "training documents"},
		{"nil quantifier", func() error { _, err := FromQuantifier[float64](good, nil, 5); return err }, "no quantifier"},
		{"hidden mismatch", func() error { c := good; c.Hidden = 7; _, err := FromQuantifier[float64](c, m, 5); return err }, "hidden units"},
		{"bad quantifier", func() error {
			_, err := FromQuantifier[float64](good, &quantify.MLP{L: 2, H: 2, W1: make([]float64, 3)}, 5)
			return err
		}, "shapes"},
		{"NaN weight", func() error {
			b := *m
			b.B2 = []float64{0, math.NaN(), 0}
			_, err := FromQuantifier[float64](good, &b, 5)
			return err
		}, "non-finite"},
	} {
		err := c.err()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one containing %q", c.name, err, c.want)
		}
	}

	l, err := New[float64](good, L, 5)
	if err != nil {
		t.Fatal(err)
	}
	y := []float64{1, 0, 1}
	if _, err := l.Term(k, leaf[float64]([]float64{1, 2, 3}), y); err != nil {
		t.Fatal(err)
	}
	before := l.Bag()
	for _, c := range []struct {
		name string
		k    kernels.Kernels[float64]
		z    mat.Tensor
		y    []float64
		want string
	}{
		{"nil kernels", nil, leaf[float64]([]float64{1, 2, 3}), y, "kernels"},
		{"nil logits", k, nil, y, "nil"},
		{"2×L logits", k, mat.NewDense[float64](mat.WithShape(2, L), mat.WithBacking(make([]float64, 2*L))), y, "1×3"},
		{"1×(L+1) logits", k, leaf[float64]([]float64{1, 2, 3, 4}), y, "1×3"},
		{"float32 logits", k, leaf[float32]([]float64{1, 2, 3}), y, "float64"},
		{"short targets", k, leaf[float64]([]float64{1, 2, 3}), y[:2], "targets"},
		{"NaN logit", k, leaf[float64]([]float64{1, math.NaN(), 3}), y, "logit 1 is NaN"},
		{"Inf logit", k, leaf[float64]([]float64{1, 2, math.Inf(-1)}), y, "logit 2"},
		{"NaN target", k, leaf[float64]([]float64{1, 2, 3}), []float64{1, math.NaN(), 0}, "target 1"},
		{"target > 1", k, leaf[float64]([]float64{1, 2, 3}), []float64{1, 0, 2}, "target 2"},
	} {
		_, err := l.Term(c.k, c.z, c.y)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one containing %q", c.name, err, c.want)
		}
		if l.Bag() != before {
			t.Errorf("%s: the failed call changed the bag from %+v to %+v", c.name, before, l.Bag())
		}
	}
}
