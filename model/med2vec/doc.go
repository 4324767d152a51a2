// Package med2vec trains Med2Vec (Choi et al., KDD 2016) code and visit
// representations, following the reference implementation mp2893/med2vec
// (med2vec.py at ee7066d) equation by equation, with its known faults fixed.
// The specification is shared/docs/med2vec-reference.md §1–§3 and §9.
//
// # Model
//
// With N input codes, K output codes (grouped labels, or K = N), E the code
// representation size, H the visit representation size and D demographic
// values per visit, for a batch of n consecutive rows of the visit file:
//
//	u = [ReLU(x·W_emb + b_emb), d]     x: n×N multi-hot, u: n×(E+D)
//	v = ReLU(u·W_hidden + b_hidden)    v: n×H
//	p = softmax(v·W_output + b_output) p: n×K
//
// The visit-level loss is the element-wise binary cross-entropy between p of
// one visit and the multi-hot codes of every neighbour within the window, in
// both directions, normalised per distance by the number of valid pairs; a
// pair is valid only when every row between the two visits is a real visit,
// so pairs never cross patients or batch boundaries. The code-level loss is a
// full-softmax skip-gram over ordered pairs of codes of the same visit on the
// non-negative vectors w_c = ReLU(W_emb[c]); the total adds L2 on W_emb (and,
// as an extension defaulting to zero, on W_hidden and W_output). Parameters
// are updated by Adadelta (ρ = 0.95, ε = 1e-6) after every batch; batches
// are contiguous slices of BatchSize rows visited in a seeded random order
// every epoch, as the reference does.
//
// # Differences from the reference, all deliberate
//
//   - Masked pairs: the reference masks a pair by multiplying the prediction
//     by zero, so each masked pair whose target is a real visit still adds
//     −log ε ≈ 18.42 per positive target code, with zero gradient (issue #18,
//     "high training cost"). The cost here sums valid pairs only; the
//     reference's constant is reported separately (Costs.Masked) and added
//     to the total when Config.Faithful is set, for parity tests. Gradients
//     are identical in both modes. Both modes keep the reference's
//     normaliser (valid pairs + ε), so a faithful batch with masked pairs
//     but no valid pair at some distance reports masked/ε ≈ 10⁸–10⁹, as
//     the reference does; the fixed cost of that distance is 0.
//   - A batch without any intra-visit code pair has code-level cost 0 and no
//     code-level gradient; the reference takes the mean of an empty list and
//     turns every parameter into NaN (issue #14). This holds in Faithful
//     mode too: Faithful only concerns the masked-pair constant.
//   - Softmaxes subtract the row maximum (the reference's exp overflows once
//     a dot product exceeds ≈ 88 in float32, issues #6 and #22).
//   - The code-level normaliser Z_i is computed only for the distinct codes i
//     that occur as the first element of a pair, in blocks of codeBlock rows:
//     memory O(codeBlock·N + N·E) instead of the reference's N×N matrix,
//     time O(n_i·N·E) instead of O(N²·E), identical values.
//   - Initialisation and batch order are drawn from a seeded PCG generator
//     (Config.Seed); the reference is unseeded. Training is bit-for-bit
//     reproducible for a given seed, on a given machine, for any GOMAXPROCS
//     (the kernels' Gemm and Softmax are deterministic).
//   - The window may exceed the reference's hard-coded maximum of 5: the
//     general mask "every row from i to i+k is a real visit" is used for any
//     k ≥ 1, and a window of at most 5 gives exactly the reference's terms.
//   - Config.PatientBatches (off by default) packs whole patients into
//     batches instead of cutting the file every BatchSize rows (§9).
//   - Empty visit rows (no codes) are accepted as real visits whose
//     multi-hot row is zero, which is what the reference's maths gives (its
//     padMatrix would raise IndexError on them).
//
// Kept as in the reference: a visit's code list may repeat a code; the
// multi-hot rows x and t count it once, while the skip-gram pairs are drawn
// from the list as given (pickTwo skips only a ≠ b by value), so repeated
// codes repeat pairs. Readers that want set semantics should deduplicate.
//
// # Precision and engine
//
// Everything is float64: the model is small (the largest products are
// n×H×K and n_i×N×E per batch) and float64 lets the finite-difference
// gradient check in the tests run on the production code path. The large
// products and row softmaxes go through [kernels.Kernels] (CPU backend),
// which is multi-threaded and deterministic; the sparse parts (multi-hot
// sums, pair terms) are plain Go loops.
//
// # Resume and prediction
//
// [TrainWith] hands the whole training state ([State]: parameters, Adadelta
// accumulators, the generator that draws each epoch's batch order, the
// epoch) to a hook after every epoch and resumes from it, so that a run
// stopped after any epoch and resumed gives the same bits as an
// uninterrupted one; model/embedrun writes it to checkpoint files.
// [Model.VisitScores] is the visit-level output for one visit, the
// prediction next-visit Recall@k scores (reference doc §4).
//
// # Code vectors
//
// [Model.CodeVectors] returns ReLU(W_emb[c]), the vectors the code-level
// objective trains and the representation icdcode uses for label
// initialisation (reference doc §1.8, §9); [Model.CodeVectorsWithBias]
// returns ReLU(W_emb[c] + b_emb), the author's later suggestion (issue #19),
// as an ablation.
package med2vec
