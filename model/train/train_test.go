package train

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/icdcode/icdcode/model/kernels"
	"github.com/icdcode/icdcode/model/layers"
	"github.com/nlpodyssey/spago/ag"
	"github.com/nlpodyssey/spago/mat"
	"github.com/nlpodyssey/spago/nn"
)

// mlp is a 2-layer multi-label classifier on synthetic data: tanh hidden
// layer, dropout, BCE-with-logits. Every parameter feeds one function, so
// its backward pass is bit-reproducible (model/layers' determinism rule).
type mlp struct {
	k              kernels.Kernels[float32]
	x, y           [][]float32
	W1, B1, W2, B2 *nn.Param
	drop           float64
	delay          time.Duration // per document, for the kill test
	calls          atomic.Int64
	onLoss         func(n int64)
}

const (
	nDocs  = 48
	nIn    = 6
	nHid   = 8
	nLabel = 3
)

// synth returns documents whose label l is 1 when x·u_l > 0.
func synth(n int) (x, y [][]float32) {
	r := rand.New(rand.NewPCG(7, 7))
	u := make([][]float64, nLabel)
	for l := range u {
		u[l] = make([]float64, nIn)
		for j := range u[l] {
			u[l][j] = r.NormFloat64()
		}
	}
	for range n {
		xi := make([]float32, nIn)
		yi := make([]float32, nLabel)
		for j := range xi {
			xi[j] = float32(r.NormFloat64())
		}
		for l := range yi {
			s := 0.0
			for j := range xi {
				s += u[l][j] * float64(xi[j])
			}
			if s > 0 {
				yi[l] = 1
			}
		}
		x, y = append(x, xi), append(y, yi)
	}
	return x, y
}

func newMLP(seed uint64, hidden int, drop float64) *mlp {
	r := rand.New(rand.NewPCG(seed, 1))
	param := func(rows, cols int, scale float64) *nn.Param {
		v := make([]float32, rows*cols)
		for i := range v {
			v[i] = float32(scale * r.NormFloat64())
		}
		return nn.NewParam(mat.NewDense[float32](mat.WithShape(rows, cols), mat.WithBacking(v)))
	}
	m := &mlp{k: kernels.CPU[float32](), drop: drop}
	m.x, m.y = synth(nDocs)
	m.W1, m.B1 = param(nIn, hidden, 0.5), param(1, hidden, 0.1)
	m.W2, m.B2 = param(hidden, nLabel, 0.5), param(1, nLabel, 0.1)
	return m
}

func (m *mlp) Params() []Param {
	return []Param{{"w1", m.W1}, {"b1", m.B1}, {"w2", m.W2}, {"b2", m.B2}}
}

func (m *mlp) Loss(i int, rng *rand.Rand) (mat.Tensor, error) {
	n := m.calls.Add(1)
	if m.onLoss != nil {
		m.onLoss(n)
	}
	if m.delay > 0 {
		time.Sleep(m.delay)
	}
	x := mat.NewDense[float32](mat.WithShape(1, nIn), mat.WithBacking(slices.Clone(m.x[i])))
	y := mat.NewDense[float32](mat.WithShape(1, nLabel), mat.WithBacking(slices.Clone(m.y[i])))
	h, err := layers.Linear(m.k, x, m.W1, m.B1)
	if err != nil {
		return nil, err
	}
	if h, err = layers.Tanh[float32](h); err != nil {
		return nil, err
	}
	if h, err = layers.Dropout[float32](h, m.drop, true, rng); err != nil {
		return nil, err
	}
	z, err := layers.Linear(m.k, h, m.W2, m.B2)
	if err != nil {
		return nil, err
	}
	return layers.BCEWithLogits[float32](z, y, layers.Mean)
}

// baseConfig exercises every feature that touches the trajectory.
func baseConfig(dir string, epochs int) Config {
	return Config{Dir: dir, Epochs: epochs, LR: 0.05, WarmupRatio: 0.2, WeightDecay: 0.01,
		GradAccum: 5, ClipNorm: 0.5, Seed: 42}
}

func newTrainer(t *testing.T, m Model, cfg Config) *Trainer {
	t.Helper()
	tr, err := New(m, nDocs, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

// snapshot is every bit of trainer state that must survive a resume.
type snapshot struct {
	W, M, V [][]uint32
	Steps   []int64
	Step    int64
	Log     []string
}

func bits(vs [][]float32) [][]uint32 {
	out := make([][]uint32, len(vs))
	for i, v := range vs {
		for _, x := range v {
			out[i] = append(out[i], math.Float32bits(x))
		}
	}
	return out
}

func snap(t *testing.T, tr *Trainer, dir string) snapshot {
	t.Helper()
	var w [][]float32
	for _, p := range tr.params {
		v, err := values(p)
		if err != nil {
			t.Fatal(err)
		}
		w = append(w, v)
	}
	return snapshot{W: bits(w), M: bits(tr.opt.M), V: bits(tr.opt.V), Steps: slices.Clone(tr.opt.Steps), Step: tr.Step(), Log: readLog(t, dir)}
}

// readLog returns the log lines with their wall-clock fields blanked.
func readLog(t *testing.T, dir string) []string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, LogFile))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, line := range strings.Split(strings.TrimSuffix(string(data), "\n"), "\n") {
		var rec EpochRecord
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		rec.Seconds, rec.Time = 0, ""
		b, _ := json.Marshal(rec)
		out = append(out, string(b))
	}
	return out
}

func equalSnap(t *testing.T, what string, a, b snapshot) {
	t.Helper()
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	if !bytes.Equal(ja, jb) {
		t.Fatalf("%s: state differs from the straight run\nstraight: %+v\nresumed:  %+v", what, a.Log, b.Log)
	}
}

func TestLossFalls(t *testing.T) {
	dir := t.TempDir()
	cfg := baseConfig(dir, 6)
	var prog bytes.Buffer
	cfg.Progress, cfg.ProgressEvery = &prog, time.Nanosecond
	tr := newTrainer(t, newMLP(1, nHid, 0.1), cfg)
	res, err := tr.Train(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if res.Epochs != 6 || res.Steps != 6*10 || tr.TotalSteps() != 60 || tr.WarmupSteps() != 12 {
		t.Fatalf("result %+v, total %d, warmup %d", res, tr.TotalSteps(), tr.WarmupSteps())
	}
	var first, last EpochRecord
	lines := readLog(t, dir)
	json.Unmarshal([]byte(lines[0]), &first)
	json.Unmarshal([]byte(lines[len(lines)-1]), &last)
	if !(last.TrainLoss < 0.8*first.TrainLoss) {
		t.Fatalf("loss did not fall: %g → %g", first.TrainLoss, last.TrainLoss)
	}
	if last.LR != LinearSchedule(0.05, 59, 12, 60) {
		t.Fatalf("last lr %g", last.LR)
	}
	if !strings.Contains(prog.String(), "docs/s") || !strings.Contains(prog.String(), ", loss ") {
		t.Fatalf("progress lines lack rate or loss:\n%s", prog.String())
	}
}

// TestExactResume: 2 epochs straight and 1 + resume + 1 give the same bits
// in weights, moments, step counts and log.
func TestExactResume(t *testing.T) {
	a := t.TempDir()
	ta := newTrainer(t, newMLP(1, nHid, 0.2), baseConfig(a, 2))
	if _, err := ta.Train(context.Background()); err != nil {
		t.Fatal(err)
	}
	want := snap(t, ta, a)

	b := t.TempDir()
	tb := newTrainer(t, newMLP(1, nHid, 0.2), baseConfig(b, 2))
	if err := tb.TrainEpoch(context.Background()); err != nil {
		t.Fatal(err)
	}
	// A fresh model with other initial weights: everything must come from
	// the checkpoint.
	tc := newTrainer(t, newMLP(99, nHid, 0.2), baseConfig(b, 2))
	if ok, err := tc.Resume(); err != nil || !ok {
		t.Fatalf("resume: %v %v", ok, err)
	}
	if tc.Epoch() != 1 {
		t.Fatalf("resumed at epoch %d", tc.Epoch())
	}
	if _, err := tc.Train(context.Background()); err != nil {
		t.Fatal(err)
	}
	equalSnap(t, "1+resume+1", want, snap(t, tc, b))
	if len(want.Log) != 2 {
		t.Fatalf("log has %d lines", len(want.Log))
	}
}

// TestInterruptedRun: a cancelled epoch, a half-written checkpoint directory
// and a torn log line are all ignored by resume.
func TestInterruptedRun(t *testing.T) {
	a := t.TempDir()
	ta := newTrainer(t, newMLP(1, nHid, 0.2), baseConfig(a, 2))
	if _, err := ta.Train(context.Background()); err != nil {
		t.Fatal(err)
	}
	want := snap(t, ta, a)

	b := t.TempDir()
	m := newMLP(1, nHid, 0.2)
	tb := newTrainer(t, m, baseConfig(b, 2))
	ctx, cancel := context.WithCancel(context.Background())
	m.onLoss = func(n int64) {
		if n == nDocs+17 {
			cancel()
		}
	}
	if _, err := tb.Train(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("want cancellation, got %v", err)
	}
	// What a kill during the next checkpoint write and log append leaves.
	tmp := filepath.Join(b, tmpPrefix+"123")
	os.Mkdir(tmp, 0o755)
	os.WriteFile(filepath.Join(tmp, weightsFile), []byte{1, 2, 3}, 0o644)
	f, _ := os.OpenFile(filepath.Join(b, LogFile), os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(`{"epoch":2,"step":20,"train_loss":0.5}` + "\n" + `{"epoch":3,"step":20,"train_lo`)
	f.Close()
	if eps, _ := Checkpoints(b); !slices.Equal(eps, []int{1}) {
		t.Fatalf("checkpoints %v", eps)
	}

	tc := newTrainer(t, newMLP(5, nHid, 0.2), baseConfig(b, 2))
	if ok, err := tc.Resume(); err != nil || !ok {
		t.Fatalf("resume: %v %v", ok, err)
	}
	if _, err := os.Stat(tmp); !os.IsNotExist(err) {
		t.Fatalf("temp directory left: %v", err)
	}
	if log := readLog(t, b); len(log) != 1 {
		t.Fatalf("log after resume: %v", log)
	}
	if _, err := tc.Train(context.Background()); err != nil {
		t.Fatal(err)
	}
	equalSnap(t, "interrupted", want, snap(t, tc, b))
}

// TestKillChild is the process the SIGKILL test kills; it does nothing in a
// normal run.
func TestKillChild(t *testing.T) {
	dir := os.Getenv("ICDCODE_TRAIN_KILL_DIR")
	if dir == "" {
		t.Skip("helper for TestSIGKILL")
	}
	m := newMLP(1, nHid, 0.2)
	m.delay = 2 * time.Millisecond
	tr := newTrainer(t, m, baseConfig(dir, 50))
	tr.Train(context.Background())
}

// TestSIGKILL kills a training process mid-epoch and resumes from its last
// checkpoint, matching a straight run.
func TestSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a subprocess")
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestKillChild$")
	cmd.Env = append(os.Environ(), "ICDCODE_TRAIN_KILL_DIR="+dir)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		if eps, _ := Checkpoints(dir); len(eps) >= 2 {
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatal("child wrote no checkpoint")
		}
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(30 * time.Millisecond) // into the next epoch
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()

	tr := newTrainer(t, newMLP(3, nHid, 0.2), baseConfig(dir, 50))
	if ok, err := tr.Resume(); err != nil || !ok {
		t.Fatalf("resume: %v %v", ok, err)
	}
	done := tr.Epoch()
	log := readLog(t, dir)
	if len(log) != done {
		t.Fatalf("log has %d lines after resuming at epoch %d", len(log), done)
	}
	if err := tr.TrainEpoch(context.Background()); err != nil {
		t.Fatal(err)
	}

	ref := t.TempDir()
	ts := newTrainer(t, newMLP(1, nHid, 0.2), baseConfig(ref, 50))
	for range done + 1 {
		if err := ts.TrainEpoch(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	equalSnap(t, "after SIGKILL", snap(t, ts, ref), snap(t, tr, dir))
}

func TestCorruptCheckpoint(t *testing.T) {
	dir := t.TempDir()
	tr := newTrainer(t, newMLP(1, nHid, 0), baseConfig(dir, 2))
	if err := tr.TrainEpoch(context.Background()); err != nil {
		t.Fatal(err)
	}
	ck := filepath.Join(dir, CheckpointName(1))
	files := map[string][]byte{}
	for _, n := range []string{stateFile, weightsFile, momentsFile, manifestFile} {
		files[n], _ = os.ReadFile(filepath.Join(ck, n))
	}
	restore := func() {
		for n, b := range files {
			os.WriteFile(filepath.Join(ck, n), b, 0o644)
		}
	}
	cases := []struct {
		name, file, want string
		damage           func(b []byte) []byte
	}{
		{"flip weights", weightsFile, "weights.bin: SHA-256 checksum mismatch", func(b []byte) []byte { b[10] ^= 0x40; return b }},
		{"flip state", stateFile, "state.json: SHA-256 checksum mismatch", func(b []byte) []byte { b[3] ^= 1; return b }},
		{"truncate moments", momentsFile, "moments.bin: size", func(b []byte) []byte { return b[:len(b)/2] }},
		{"empty manifest", manifestFile, "corrupt MANIFEST.json", func(b []byte) []byte { return nil }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			defer restore()
			os.WriteFile(filepath.Join(ck, c.file), c.damage(slices.Clone(files[c.file])), 0o644)
			m := newMLP(9, nHid, 0)
			before := snap(t, newTrainer(t, m, baseConfig(dir, 2)), dir)
			fresh := newTrainer(t, m, baseConfig(dir, 2))
			ok, err := fresh.Resume()
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), ck) {
				t.Fatalf("got %v %v, want an error naming %s with %q", ok, err, ck, c.want)
			}
			equalSnap(t, "model after failed load", before, snap(t, fresh, dir))
			if eps, _ := Checkpoints(dir); !slices.Equal(eps, []int{1}) {
				t.Fatalf("run directory changed: %v", eps)
			}
		})
	}
	os.Remove(filepath.Join(ck, manifestFile))
	if _, err := newTrainer(t, newMLP(1, nHid, 0), baseConfig(dir, 2)).Resume(); err == nil || !strings.Contains(err.Error(), "incomplete") {
		t.Fatalf("missing manifest: %v", err)
	}
	restore()

	other := baseConfig(dir, 2)
	other.LR = 0.01
	if _, err := newTrainer(t, newMLP(1, nHid, 0), other).Resume(); err == nil || !strings.Contains(err.Error(), "another training configuration") {
		t.Fatalf("other config: %v", err)
	}
	tr2, err := New(newMLP(1, nHid+1, 0), nDocs, baseConfig(dir, 2))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tr2.Resume(); err == nil || !strings.Contains(err.Error(), "w1 (6×8) in the checkpoint, w1 (6×9) in the model") {
		t.Fatalf("other model: %v", err)
	}
	if ok, err := newTrainer(t, newMLP(1, nHid, 0), baseConfig(dir, 2)).Resume(); err != nil || !ok {
		t.Fatalf("restored checkpoint does not load: %v", err)
	}
}

// TestRetentionAndEarlyStopping: keep the last 2 and the best; stop after
// Patience epochs without improvement.
func TestRetentionAndEarlyStopping(t *testing.T) {
	dev := []float64{0.5, 0.9, 0.6, 0.7, 0.8, 0.85}
	for _, c := range []struct {
		patience, epochs int
		keep             []int
		stopped          bool
	}{
		{0, 6, []int{2, 5, 6}, false},
		{3, 5, []int{2, 4, 5}, true},
	} {
		dir := t.TempDir()
		cfg := baseConfig(dir, 6)
		cfg.KeepLast, cfg.Patience, cfg.Metric, cfg.HigherIsBetter = 2, c.patience, "f1", true
		cfg.Evaluate = func(e int) (map[string]float64, error) { return map[string]float64{"f1": dev[e-1]}, nil }
		res, err := newTrainer(t, newMLP(1, nHid, 0), cfg).Train(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if res.Epochs != c.epochs || res.Stopped != c.stopped || res.BestEpoch != 2 || res.Best != 0.9 {
			t.Fatalf("patience %d: %+v", c.patience, res)
		}
		if eps, _ := Checkpoints(dir); !slices.Equal(eps, c.keep) {
			t.Fatalf("patience %d: kept %v, want %v", c.patience, eps, c.keep)
		}
		if target, err := os.Readlink(filepath.Join(dir, bestLink)); err != nil || target != CheckpointName(2) {
			t.Fatalf("best link %q %v", target, err)
		}
		log := readLog(t, dir)
		var rec EpochRecord
		json.Unmarshal([]byte(log[1]), &rec)
		if len(log) != c.epochs || !rec.Best || rec.Metrics["f1"] != 0.9 {
			t.Fatalf("log %v", log)
		}
	}
	// Lower is better on the training loss: the best is the last epoch.
	dir := t.TempDir()
	cfg := baseConfig(dir, 3)
	cfg.KeepLast = 1
	res, err := newTrainer(t, newMLP(1, nHid, 0), cfg).Train(context.Background())
	if err != nil || res.BestEpoch != 3 {
		t.Fatalf("%+v %v", res, err)
	}
	if eps, _ := Checkpoints(dir); !slices.Equal(eps, []int{3}) {
		t.Fatalf("kept %v", eps)
	}
}

func TestLinearSchedule(t *testing.T) {
	for _, c := range []struct {
		done, warmup, total int64
		want                float64
	}{
		{0, 4, 20, 0}, {1, 4, 20, 0.25}, {3, 4, 20, 0.75}, {4, 4, 20, 1}, {12, 4, 20, 0.5}, {19, 4, 20, 1.0 / 16}, {20, 4, 20, 0}, {25, 4, 20, 0},
		{0, 0, 10, 1}, {5, 0, 10, 0.5},
	} {
		if got := LinearSchedule(2, c.done, c.warmup, c.total); math.Abs(got-2*c.want) > 1e-15 {
			t.Errorf("step %d (warm-up %d of %d): %g, want %g", c.done, c.warmup, c.total, got, 2*c.want)
		}
	}
	cfg := baseConfig(t.TempDir(), 3)
	cfg.WarmupRatio = 0.25 // 30 updates → ceil(7.5) = 8
	if tr := newTrainer(t, newMLP(1, nHid, 0), cfg); tr.TotalSteps() != 30 || tr.WarmupSteps() != 8 {
		t.Fatalf("total %d warm-up %d", tr.TotalSteps(), tr.WarmupSteps())
	}
}

func setGrad(p *nn.Param, g ...float32) {
	p.ZeroGrad()
	r, c := p.Shape()[0], p.Shape()[1]
	p.AccGrad(mat.NewDense[float32](mat.WithShape(r, c), mat.WithBacking(g)))
}

func newParam(v ...float32) *nn.Param {
	return nn.NewParam(mat.NewDense[float32](mat.WithShape(1, len(v)), mat.WithBacking(v)))
}

func gradOf(t *testing.T, p Param) []float32 {
	g, err := grads(p)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func TestClipGradNorm(t *testing.T) {
	a, b, none := Param{"a", newParam(0, 0)}, Param{"b", newParam(0)}, Param{"none", newParam(1)}
	ps := []Param{a, none, b}
	setGrad(a.P, 3, 4)
	setGrad(b.P, 12) // norm 13
	norm, err := ClipGradNorm(ps, 6.5)
	if err != nil || norm != 13 {
		t.Fatalf("norm %g %v", norm, err)
	}
	if g := append(gradOf(t, a), gradOf(t, b)...); !slices.Equal(g, []float32{1.5, 2, 6}) {
		t.Fatalf("clipped %v", g)
	}
	if none.P.HasGrad() {
		t.Fatal("a parameter without gradient got one")
	}
	if norm, _ := ClipGradNorm(ps, 100); math.Abs(norm-6.5) > 1e-6 {
		t.Fatalf("norm after clipping %g", norm)
	}
	if g := gradOf(t, a); !slices.Equal(g, []float32{1.5, 2}) {
		t.Fatalf("below the limit the gradient changed: %v", g)
	}
}

// TestAdamW checks three steps against torch.optim.AdamW's formulas
// evaluated here in float64.
func TestAdamW(t *testing.T) {
	w0 := []float32{0.5, -1.5}
	p, idle := Param{"p", newParam(w0...)}, Param{"idle", newParam(2)}
	ps := []Param{p, idle}
	const lr, b1, b2, eps, wd = 0.1, 0.9, 0.999, 1e-8, 0.01
	o, err := NewAdamW(ps, b1, b2, eps, wd)
	if err != nil {
		t.Fatal(err)
	}
	// Step 1 by hand: m̂ = g, v̂ = g², so w1 = w0·(1 − lr·λ) − lr·g/(|g| + ε).
	setGrad(p.P, 0.2, -3)
	if err := o.Step(ps, lr); err != nil {
		t.Fatal(err)
	}
	want1 := []float64{0.5*(1-lr*wd) - lr*0.2/(0.2+eps), -1.5*(1-lr*wd) + lr*3/(3+eps)}
	w, _ := values(p)
	for i := range w {
		if math.Abs(float64(w[i])-want1[i]) > 1e-7 {
			t.Fatalf("step 1: w[%d] = %g, want %g", i, w[i], want1[i])
		}
	}
	// Steps 2 and 3 against the general formula.
	m, v := []float64{0.1 * 0.2, 0.1 * -3}, []float64{0.001 * 0.04, 0.001 * 9}
	ref := slices.Clone(want1)
	for step, g := range [][]float64{{-0.4, 1}, {0.05, 0.5}} {
		tt := float64(step + 2)
		setGrad(p.P, float32(g[0]), float32(g[1]))
		if err := o.Step(ps, lr); err != nil {
			t.Fatal(err)
		}
		for i := range ref {
			m[i] = b1*m[i] + (1-b1)*g[i]
			v[i] = b2*v[i] + (1-b2)*g[i]*g[i]
			mh, vh := m[i]/(1-math.Pow(b1, tt)), v[i]/(1-math.Pow(b2, tt))
			ref[i] = ref[i]*(1-lr*wd) - lr*mh/(math.Sqrt(vh)+eps)
			if math.Abs(float64(w[i])-ref[i]) > 1e-6 {
				t.Fatalf("step %d: w[%d] = %g, want %g", step+2, i, w[i], ref[i])
			}
		}
	}
	if iv, _ := values(idle); iv[0] != 2 || o.Steps[1] != 0 || o.Steps[0] != 3 {
		t.Fatalf("parameter without gradient updated: %v, steps %v", iv, o.Steps)
	}
}

// TestGradAccum: accumulating documents one Backward at a time gives the
// gradient of their summed loss, and a GradAccum update is exactly AdamW on
// the mean gradient.
func TestGradAccum(t *testing.T) {
	docs := []int{3, 11, 7, 30}
	m := newMLP(1, nHid, 0)
	for _, d := range docs {
		l, err := m.Loss(d, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := ag.Backward(l); err != nil {
			t.Fatal(err)
		}
	}
	var acc [][]float32
	for _, p := range m.Params() {
		acc = append(acc, slices.Clone(gradOf(t, p)))
		p.P.ZeroGrad()
	}
	var sum mat.Tensor
	for _, d := range docs {
		l, _ := m.Loss(d, nil)
		if sum == nil {
			sum = l
		} else {
			sum = ag.Add(sum, l)
		}
	}
	if err := ag.Backward(sum); err != nil {
		t.Fatal(err)
	}
	for i, p := range m.Params() {
		g := gradOf(t, p)
		for j := range g {
			if math.Abs(float64(g[j]-acc[i][j])) > 1e-6*(1+math.Abs(float64(g[j]))) {
				t.Fatalf("%s[%d]: accumulated %g, summed loss %g", p.Name, j, acc[i][j], g[j])
			}
		}
		p.P.ZeroGrad()
	}

	// One epoch with GradAccum = n is one update on the mean gradient.
	cfg := baseConfig(t.TempDir(), 1)
	cfg.GradAccum, cfg.ClipNorm, cfg.WarmupRatio = nDocs, 0, 0
	tm := newMLP(2, nHid, 0)
	tr := newTrainer(t, tm, cfg)
	if err := tr.TrainEpoch(context.Background()); err != nil || tr.Step() != 1 {
		t.Fatalf("%v, %d steps", err, tr.Step())
	}
	hm := newMLP(2, nHid, 0)
	for _, d := range Order(cfg.Seed, 0, nDocs) {
		l, _ := hm.Loss(d, nil)
		if err := ag.Backward(l); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range hm.Params() {
		g := gradOf(t, p)
		for j := range g {
			g[j] = float32(float64(g[j]) / nDocs)
		}
	}
	o, _ := NewAdamW(hm.Params(), 0.9, 0.999, 1e-8, cfg.WeightDecay)
	if err := o.Step(hm.Params(), cfg.LR); err != nil {
		t.Fatal(err)
	}
	for i, p := range hm.Params() {
		want, _ := values(p)
		got, _ := values(tm.Params()[i])
		if !slices.Equal(bits([][]float32{want})[0], bits([][]float32{got})[0]) {
			t.Fatalf("%s: trainer %v, by hand %v", p.Name, got, want)
		}
	}
}

func TestOrder(t *testing.T) {
	a, b := Order(1, 0, 50), Order(1, 1, 50)
	if slices.Equal(a, b) || !slices.Equal(a, Order(1, 0, 50)) {
		t.Fatal("order must depend on the epoch and be reproducible")
	}
	s := slices.Clone(a)
	slices.Sort(s)
	for i := range s {
		if s[i] != i {
			t.Fatalf("not a permutation: %v", a)
		}
	}
}

func TestConfigErrors(t *testing.T) {
	m := newMLP(1, nHid, 0)
	for _, c := range []Config{
		{Epochs: 1, LR: 1},
		{Dir: "x", LR: 1},
		{Dir: "x", Epochs: 1, LR: 1, Beta1: 1, Beta2: 0.9},
		{Dir: "x", Epochs: 1, LR: 1, GradAccum: -1},
		{Dir: "x", Epochs: 1, LR: 1, WarmupRatio: 2},
	} {
		if _, err := New(m, nDocs, c); err == nil {
			t.Errorf("%+v accepted", c)
		}
	}
	dir := t.TempDir()
	if err := newTrainer(t, m, baseConfig(dir, 2)).TrainEpoch(context.Background()); err != nil {
		t.Fatal(err)
	}
	before := readLog(t, dir)
	if err := newTrainer(t, m, baseConfig(dir, 2)).TrainEpoch(context.Background()); err == nil || !strings.Contains(err.Error(), "already holds checkpoints") {
		t.Fatalf("fresh trainer over a run: %v", err)
	}
	if after := readLog(t, dir); !slices.Equal(before, after) {
		t.Fatalf("log changed: %v", after)
	}
	dir = t.TempDir()
	cfg := baseConfig(dir, 1)
	cfg.Metric = "f1"
	if err := newTrainer(t, m, cfg).TrainEpoch(context.Background()); err == nil || !strings.Contains(err.Error(), `metric "f1"`) {
		t.Fatalf("missing metric: %v", err)
	}
}

// TrainEpochs ends after the epochs asked for, checkpointed, and a later
// call on the same trainer goes on to the end.
func TestTrainEpochs(t *testing.T) {
	tr := newTrainer(t, newMLP(1, nHid, 0), baseConfig(t.TempDir(), 3))
	res, err := tr.TrainEpochs(context.Background(), 2)
	if err != nil || res.Epochs != 2 {
		t.Fatalf("TrainEpochs(2): %d epochs, %v", res.Epochs, err)
	}
	if eps, err := Checkpoints(tr.cfg.Dir); err != nil || len(eps) == 0 || eps[len(eps)-1] != 2 {
		t.Fatalf("checkpoints after 2 epochs: %v, %v", eps, err)
	}
	if res, err = tr.TrainEpochs(context.Background(), 5); err != nil || res.Epochs != 3 {
		t.Fatalf("TrainEpochs(5) with 1 epoch left: %d epochs, %v", res.Epochs, err)
	}
}
