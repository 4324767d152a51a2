package heads

import (
	"fmt"
	"math"

	"github.com/icdcode/icdcode/model/agfn"
	"github.com/icdcode/icdcode/model/kernels"
	"github.com/icdcode/icdcode/model/layers"
	"github.com/nlpodyssey/spago/mat"
	"github.com/nlpodyssey/spago/mat/float"
	"github.com/nlpodyssey/spago/nn"
)

// MSAMConfig selects between the reference MSAM (FaithfulMSAM) and its
// fixes (reference §14, flaws 2 and 4).
type MSAMConfig struct {
	// Mask removes padding tokens from the attention softmax. The
	// reference has no padding mask (§3: "no pad mask", "padding
	// included").
	Mask bool
	// Scale divides the scores by √d_k. The reference does not (§3:
	// "no 1/√d_k").
	Scale bool
	// Pool pools the M synonym contexts: PoolMean in the reference
	// (AvgPool3d), PoolMax in MSMN.
	Pool Pool
	// PerChunk attends within each chunk and max-pools the chunk logits,
	// as the reference's CE_MSAM does (§1: "MSAM (§3) per chunk",
	// "Chunks are not concatenated first"); false attends over all
	// tokens of the document at once, as PLM-ICD does. LE_MSAM has one
	// chunk, where both agree.
	PerChunk bool
	// Tune makes the synonym rows trainable: Q = Q₀ + Δ with Δ a
	// parameter. It is not in the reference (§3 freezes Q); it matters for
	// encoders trained from scratch, whose initial [CLS] embeddings hardly
	// differ between labels, so frozen queries cannot tell them apart.
	Tune bool
	// TuneInitStd is the standard deviation of Δ's initial N(0, σ²)
	// values. 0 starts from the reference's [CLS] embeddings exactly (the
	// choice for a pretrained encoder). From scratch, a zero Δ leaves the
	// labels' queries and output vectors nearly identical, a symmetry that
	// gradient descent breaks only slowly (on the demo corpus, macro-AUC
	// 0.64 after 5 epochs against 0.87 with σ = 1); σ = 1 is the scale of
	// the LayerNorm-ed states the rows hold.
	TuneInitStd float64 `json:",omitempty"`
}

// FaithfulMSAM is the configuration that computes what the reference code
// computes: no mask, no scaling, mean over synonyms, per-chunk attention.
func FaithfulMSAM() MSAMConfig {
	return MSAMConfig{Pool: PoolMean, PerChunk: true}
}

// MSAM is the reference's multi-synonym attention head (§3,
// model_helpers.py::MSAM, MultiSynonymsAttention,
// SynonymsScaledDotProductAttention) with Z = M heads of width
// d_k = d/M. Linear weights are stored (in × out): the reference's
// W(x) = x·Wᵀ + b is x·W + b here, W being the transpose of PyTorch's.
//
// With H the encoder states of the Chunks·ChunkLen tokens, Q the frozen
// synonym embeddings (row c·M + s: synonym s of label c) and
// Q̄[c] = mean_s Q[c·M + s] (both constants), Forward computes, with
// B = Chunks and T = ChunkLen when PerChunk (else B = 1, T = all rows):
//
//	q  = Q·W_Q + b_Q        (L·M, d)  §3 "q = W_Q(Q)", head z = columns [z·d_k, (z+1)·d_k)
//	k̃  = tanh(H·W_K + b_K)  (B·T, d)  §3 "k = W_K(H)", "k̃ = tanh(k)"
//	ṽ  = tanh(H)            (B·T, d)  §3 "v = H ... raw states, NOT projected", "ṽ = tanh(v)"
//	g  = Q̄·W_V + b_V        (L, d)    §3 "g = W_V(Q̄)"
//	scores[b,c,z,s,t] = σ·Σ_h k̃[b,t,z,h]·q[c,s,z,h] + mask[b,t]
//	                                   §3 'bzth,czsh->bczst'; σ = 1, mask = 0 faithful;
//	                                   σ = 1/√d_k if Scale, mask = −Inf on padding if Mask
//	α  = softmax_t(scores)             §3 "α = softmax_t(scores)"
//	ctx[b,c,s,z,:] = Σ_t α[b,c,z,s,t]·ṽ[b,t,z,:]   §3 'bzth,bczst->bczsh'
//	pooled[b,c,:] = mean_s ctx[b,c,s,:]  (max_s if Pool = max)
//	                                   §3 "ctx = mean_s ctx → [B,C,Z,d_k] → reshape [B,C,d]"
//	logit[b,c] = Σ_h pooled[b,c,h]·g[c,h]           §3 'bch,ch->bc'; no label bias
//	logit_doc[c] = max_b logit[b,c]                  §3 "logit_doc[c] = max_b logit[b,c]"
//
// g is always computed from the synonym mean Q̄, whatever Pool is: the
// reference's Q̄ (qllabel_pooling) is independent of its context pooling.
type MSAM[T float.DType] struct {
	WQ, BQ *nn.Param // (d, d), (1, d)
	WK, BK *nn.Param // (d, d), (1, d)
	WV, BV *nn.Param // (d, d), (1, d)

	// Delta (L·M, d) is the trainable offset of the synonym rows when
	// Tune is set; nil otherwise.
	Delta *nn.Param
	// Code, when set (SetCodeProjection), adds the label's projected code
	// embedding to each of its synonym rows.
	Code *CodeProjection[T]

	cfg       MSAMConfig
	labels, m int
	syn, qbar *mat.Dense[T] // (L·M, d), (L, d): frozen, no gradient
}

// NewMSAM returns an MSAM head over the frozen synonym matrix syn
// (L·M × d, row c·M + s; copied) for L labels with M synonyms each; d must
// be a multiple of M. The projections get PyTorch's nn.Linear default init
// (weights and biases U(−1/√d, 1/√d)), which a plain nn.Module such as the
// reference's MultiSynonymsAttention keeps (§3 does not state another);
// one seeded stream per parameter.
func NewMSAM[T float.DType](syn mat.Tensor, labels, m int, cfg MSAMConfig, seed uint64) (*MSAM[T], error) {
	if err := agfn.CheckType[T]("NewMSAM: syn", syn); err != nil {
		return nil, err
	}
	if labels < 1 || m < 1 {
		return nil, fmt.Errorf("NewMSAM: labels = %d and m = %d must be ≥ 1", labels, m)
	}
	r, d := agfn.Dims(syn)
	if r != labels*m {
		return nil, fmt.Errorf("NewMSAM: syn has %d rows, want labels·m = %d", r, labels*m)
	}
	if d == 0 || d%m != 0 {
		return nil, fmt.Errorf("NewMSAM: width d = %d is not a positive multiple of m = %d (the number of heads)", d, m)
	}
	if cfg.Pool != PoolMean && cfg.Pool != PoolMax {
		return nil, fmt.Errorf("NewMSAM: pool %q, want %q or %q", cfg.Pool, PoolMean, PoolMax)
	}
	s := append([]T(nil), agfn.Data[T](syn)...)
	qbar := make([]T, labels*d)
	for c := 0; c < labels; c++ {
		for j := 0; j < m; j++ {
			for h, v := range s[(c*m+j)*d : (c*m+j+1)*d] {
				qbar[c*d+h] += v
			}
		}
		for h := range qbar[c*d : (c+1)*d] {
			qbar[c*d+h] /= T(m)
		}
	}
	a := 1 / sqrt(d)
	var delta *nn.Param
	switch {
	case !cfg.Tune && cfg.TuneInitStd != 0:
		return nil, fmt.Errorf("NewMSAM: TuneInitStd %g without Tune", cfg.TuneInitStd)
	case !(cfg.TuneInitStd >= 0) || math.IsInf(cfg.TuneInitStd, 0):
		return nil, fmt.Errorf("NewMSAM: TuneInitStd %g, want a finite value ≥ 0", cfg.TuneInitStd)
	case cfg.Tune && cfg.TuneInitStd > 0:
		delta = normalParam[T](initRNG(seed, 6), r, d, cfg.TuneInitStd)
	case cfg.Tune:
		delta = zeroParam[T](r, d)
	}
	return &MSAM[T]{Delta: delta,
		WQ: uniformParam[T](initRNG(seed, 0), d, d, a), BQ: uniformParam[T](initRNG(seed, 1), 1, d, a),
		WK: uniformParam[T](initRNG(seed, 2), d, d, a), BK: uniformParam[T](initRNG(seed, 3), 1, d, a),
		WV: uniformParam[T](initRNG(seed, 4), d, d, a), BV: uniformParam[T](initRNG(seed, 5), 1, d, a),
		cfg: cfg, labels: labels, m: m,
		syn: agfn.NewMatrix(r, d, s), qbar: agfn.NewMatrix(labels, d, qbar),
	}, nil
}

// Params returns the trainable parameters: the projections, then Delta
// (Tune) and the code projection's P when present. The frozen synonym
// matrix is not one.
func (h *MSAM[T]) Params() []*nn.Param {
	ps := []*nn.Param{h.WQ, h.BQ, h.WK, h.BK, h.WV, h.BV}
	if h.Delta != nil {
		ps = append(ps, h.Delta)
	}
	if h.Code != nil {
		ps = append(ps, h.Code.P)
	}
	return ps
}

// SetCodeProjection adds p's projected code embeddings to the synonym rows
// (each label's vector to all M of its rows); p must project the head's
// L labels to its width d.
func (h *MSAM[T]) SetCodeProjection(p *CodeProjection[T]) error {
	_, d := agfn.Dims(h.syn)
	if p.Labels() != h.labels || p.Width() != d {
		return fmt.Errorf("MSAM: code projection gives %d×%d, want %d labels × width %d", p.Labels(), p.Width(), h.labels, d)
	}
	h.Code = p
	return nil
}

// labelRows returns the synonym rows Q (L·M, d) and their per-label mean Q̄
// (L, d): the frozen constants, or, with Delta or Code, Q₀ + Δ +
// repeat(E·P) and its mean computed in the graph. Q then feeds two
// functions (W_Q and the mean), which keeps its gradient deterministic.
func (h *MSAM[T]) labelRows(k kernels.Kernels[T]) (q, qbar mat.Tensor, err error) {
	if h.Delta == nil && h.Code == nil {
		return h.syn, h.qbar, nil
	}
	q = h.syn
	if h.Delta != nil {
		if q, err = layers.Add[T](q, h.Delta); err != nil {
			return nil, nil, err
		}
	}
	if h.Code != nil {
		ep, err := h.Code.Forward(k)
		if err != nil {
			return nil, nil, err
		}
		if ep, err = RepeatRows[T](ep, h.m); err != nil {
			return nil, nil, err
		}
		if q, err = layers.Add[T](q, ep); err != nil {
			return nil, nil, err
		}
	}
	if qbar, err = SynonymPool[T](q, h.m, PoolMean); err != nil {
		return nil, nil, err
	}
	return q, qbar, nil
}

// Config returns the head's configuration.
func (h *MSAM[T]) Config() MSAMConfig { return h.cfg }

// Forward returns the document logits (see the type's documentation for
// the equations). H feeds two functions (the W_K projection and tanh) and
// every parameter one, which keeps the gradients deterministic.
//
//	H: (Chunks·ChunkLen, d) → logits: (1, L)
func (h *MSAM[T]) Forward(k kernels.Kernels[T], H mat.Tensor, lay Layout) (mat.Tensor, error) {
	_, d := agfn.Dims(h.syn)
	if err := checkInput[T]("MSAM", H, d, lay); err != nil {
		return nil, err
	}
	rows, _ := agfn.Dims(H)
	syn, qbar, err := h.labelRows(k)
	if err != nil {
		return nil, err
	}
	q, err := layers.Linear(k, syn, h.WQ, h.BQ) // (L·M, d)
	if err != nil {
		return nil, err
	}
	kt, err := layers.Linear(k, H, h.WK, h.BK) // (rows, d)
	if err != nil {
		return nil, err
	}
	if kt, err = layers.Tanh[T](kt); err != nil {
		return nil, err
	}
	vt, err := layers.Tanh[T](H)
	if err != nil {
		return nil, err
	}
	g, err := layers.Linear(k, qbar, h.WV, h.BV) // (L, d)
	if err != nil {
		return nil, err
	}
	n := rows
	if h.cfg.PerChunk {
		n = lay.ChunkLen
	}
	var mask []int
	if h.cfg.Mask {
		mask = lay.Mask
	}
	scale := T(1)
	if h.cfg.Scale {
		scale = T(1 / math.Sqrt(float64(d/h.m)))
	}
	ctx, err := LabelAttention(k, q, kt, vt, h.m, n, mask, scale) // (B·L·M, d)
	if err != nil {
		return nil, err
	}
	pooled, err := SynonymPool[T](ctx, h.m, h.cfg.Pool) // (B·L, d)
	if err != nil {
		return nil, err
	}
	logits, err := LabelDot[T](pooled, g, nil) // (B, L)
	if err != nil {
		return nil, err
	}
	return ChunkMax[T](logits)
}
