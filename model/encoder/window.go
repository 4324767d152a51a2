package encoder

import (
	"fmt"

	"github.com/icdcode/icdcode/model/attention/window"
	"github.com/icdcode/icdcode/model/kernels"
	"github.com/nlpodyssey/spago/ag"
	"github.com/nlpodyssey/spago/mat"
	"github.com/nlpodyssey/spago/mat/float"
)

// windowAttn is Longformer attention over a stacked batch as an autograd
// function: model/attention/window per sequence and head.
type windowAttn[T float.DType] struct {
	k           kernels.Kernels[T]
	qkv, gqkv   mat.Tensor // (B·L, 3d); gqkv nil without global tokens
	heads, l, w int
	valid       []bool  // (B·L)
	global      [][]int // per sequence, may be nil
	states      []*window.State[T]
	withGlobal  []bool // per sequence: global projections passed
	b, d, dh    int
}

func (f *windowAttn[T]) Operands() []mat.Tensor {
	if f.gqkv != nil {
		return []mat.Tensor{f.qkv, f.gqkv}
	}
	return []mat.Tensor{f.qkv}
}

// columns copies the (L × dh) block of columns [c, c+dh) of sequence b of
// the (B·L × 3d) matrix src into a new contiguous slice.
func (f *windowAttn[T]) columns(src []T, b, c int) []T {
	ld := 3 * f.d
	out := make([]T, f.l*f.dh)
	for i := 0; i < f.l; i++ {
		r := (b*f.l + i) * ld
		copy(out[i*f.dh:(i+1)*f.dh], src[r+c:r+c+f.dh])
	}
	return out
}

// addColumns adds the contiguous (len(rows) × dh) block g to columns
// [c, c+dh) of rows b·L+rows[i] of dst (B·L × 3d); rows nil means all L.
func (f *windowAttn[T]) addColumns(dst []T, b, c int, g []T, rows []int) {
	ld := 3 * f.d
	n := f.l
	if rows != nil {
		n = len(rows)
	}
	for i := 0; i < n; i++ {
		ri := i
		if rows != nil {
			ri = rows[i]
		}
		d := dst[(b*f.l+ri)*ld+c:]
		for j, v := range g[i*f.dh : (i+1)*f.dh] {
			d[j] += v
		}
	}
}

func (f *windowAttn[T]) config(b int) window.Config {
	cfg := window.Config{N: f.l, D: f.dh, W: f.w, Mask: f.valid[b*f.l : (b+1)*f.l]}
	if f.withGlobal[b] {
		cfg.Global = f.global[b]
	}
	return cfg
}

func (f *windowAttn[T]) Forward() (mat.Tensor, error) {
	qkv := mat.Data[T](f.qkv.Value())
	var g []T
	if f.gqkv != nil {
		g = mat.Data[T](f.gqkv.Value())
	}
	out := make([]T, f.b*f.l*f.d)
	o := make([]T, f.l*f.dh)
	f.states = make([]*window.State[T], f.b*f.heads)
	for b := 0; b < f.b; b++ {
		cfg := f.config(b)
		for h := 0; h < f.heads; h++ {
			c := h * f.dh
			in := window.Inputs[T]{Q: f.columns(qkv, b, c), K: f.columns(qkv, b, f.d+c), V: f.columns(qkv, b, 2*f.d+c)}
			if f.withGlobal[b] {
				qg := f.columns(g, b, c)
				rows := f.global[b]
				in.QG = make([]T, len(rows)*f.dh)
				for t, r := range rows {
					copy(in.QG[t*f.dh:(t+1)*f.dh], qg[r*f.dh:(r+1)*f.dh])
				}
				in.KG, in.VG = f.columns(g, b, f.d+c), f.columns(g, b, 2*f.d+c)
			}
			s, err := window.Forward(f.k, cfg, in, o)
			if err != nil {
				return nil, err
			}
			f.states[b*f.heads+h] = s
			for i := 0; i < f.l; i++ {
				copy(out[(b*f.l+i)*f.d+c:(b*f.l+i)*f.d+c+f.dh], o[i*f.dh:(i+1)*f.dh])
			}
		}
	}
	return mat.NewDense[T](mat.WithShape(f.b*f.l, f.d), mat.WithBacking(out)), nil
}

func (f *windowAttn[T]) Backward(gy mat.Tensor) error {
	gys := mat.Data[T](gy)
	dqkv := make([]T, f.b*f.l*3*f.d)
	var dg []T
	if f.gqkv != nil {
		dg = make([]T, len(dqkv))
	}
	dO := make([]T, f.l*f.dh)
	for b := 0; b < f.b; b++ {
		for h := 0; h < f.heads; h++ {
			c := h * f.dh
			for i := 0; i < f.l; i++ {
				copy(dO[i*f.dh:(i+1)*f.dh], gys[(b*f.l+i)*f.d+c:])
			}
			gr, err := window.Backward(f.k, f.states[b*f.heads+h], dO)
			if err != nil {
				return err
			}
			f.addColumns(dqkv, b, c, gr.DQ, nil)
			f.addColumns(dqkv, b, f.d+c, gr.DK, nil)
			f.addColumns(dqkv, b, 2*f.d+c, gr.DV, nil)
			if f.withGlobal[b] {
				f.addColumns(dg, b, c, gr.DQG, f.global[b])
				f.addColumns(dg, b, f.d+c, gr.DKG, nil)
				f.addColumns(dg, b, 2*f.d+c, gr.DVG, nil)
			}
		}
	}
	f.states = nil // the probabilities are no longer needed
	if f.qkv.RequiresGrad() {
		f.qkv.AccGrad(mat.NewDense[T](mat.WithShape(f.b*f.l, 3*f.d), mat.WithBacking(dqkv)))
	}
	if f.gqkv != nil && f.gqkv.RequiresGrad() {
		f.gqkv.AccGrad(mat.NewDense[T](mat.WithShape(f.b*f.l, 3*f.d), mat.WithBacking(dg)))
	}
	return nil
}

// WindowAttention is the Longformer counterpart of layers.SelfAttention:
// sliding-window attention with a one-sided window w (keys |i−j| ≤ w) and
// optional global tokens, per head and per sequence of a stacked batch,
// heads concatenated along the columns (the output projection is a
// separate Linear). See model/attention/window for the semantics.
//
// qkv is the fused local projection (columns [Q | K | V], as for
// SelfAttention); gqkv is the fused global projection (query_global,
// key_global, value_global) or nil, in which case global tokens are not
// allowed. valid (nil: no padding) marks real tokens; global lists per
// sequence its global positions (nil, or empty lists, for none).
//
//	qkv, gqkv: (B·seqLen, 3d); valid: (B·seqLen); global: (B) lists → y: (B·seqLen, d)
func WindowAttention[T float.DType](k kernels.Kernels[T], qkv, gqkv mat.Tensor, heads, seqLen, w int, valid []bool, global [][]int) (mat.Tensor, error) {
	if qkv == nil {
		return nil, fmt.Errorf("WindowAttention: qkv is nil")
	}
	for _, t := range []mat.Tensor{qkv, gqkv} {
		if t == nil {
			continue
		}
		if _, ok := t.Value().(*mat.Dense[T]); !ok {
			var zero T
			return nil, fmt.Errorf("WindowAttention: input is a %T, want *mat.Dense[%T]", t.Value(), zero)
		}
	}
	s := qkv.Value().Shape()
	if heads < 1 || seqLen < 1 || w < 0 {
		return nil, fmt.Errorf("WindowAttention: heads %d, seqLen %d, window %d", heads, seqLen, w)
	}
	if s[1]%3 != 0 || (s[1]/3)%heads != 0 || s[0]%seqLen != 0 {
		return nil, fmt.Errorf("WindowAttention: qkv is %d×%d, want (B·%d, 3d) with d a multiple of %d heads", s[0], s[1], seqLen, heads)
	}
	if gqkv != nil {
		if gs := gqkv.Value().Shape(); gs[0] != s[0] || gs[1] != s[1] {
			return nil, fmt.Errorf("WindowAttention: gqkv is %d×%d, qkv %d×%d", gs[0], gs[1], s[0], s[1])
		}
	}
	f := &windowAttn[T]{k: k, qkv: qkv, gqkv: gqkv, heads: heads, l: seqLen, w: w, b: s[0] / seqLen, d: s[1] / 3}
	f.dh = f.d / heads
	if valid == nil {
		valid = make([]bool, s[0])
		for i := range valid {
			valid[i] = true
		}
	}
	if len(valid) != s[0] {
		return nil, fmt.Errorf("WindowAttention: valid has %d entries for %d rows", len(valid), s[0])
	}
	f.valid = valid
	if global != nil && len(global) != f.b {
		return nil, fmt.Errorf("WindowAttention: %d global lists for %d sequences", len(global), f.b)
	}
	f.global = global
	f.withGlobal = make([]bool, f.b)
	for b := range f.withGlobal {
		if global != nil && len(global[b]) > 0 {
			if gqkv == nil {
				return nil, fmt.Errorf("WindowAttention: sequence %d has global tokens but there is no global projection", b)
			}
			f.withGlobal[b] = true
		}
	}
	// Validate every sequence's window configuration now: spago turns an
	// error from Forward into log.Fatalf (spago-notes B5).
	for b := 0; b < f.b; b++ {
		cfg := f.config(b)
		for i, p := range cfg.Global {
			if p < 0 || p >= seqLen || (i > 0 && p <= cfg.Global[i-1]) {
				return nil, fmt.Errorf("WindowAttention: global positions of sequence %d must be strictly increasing in [0, %d): %v", b, seqLen, cfg.Global)
			}
		}
	}
	return ag.NewOperator(f).Run(), nil
}
