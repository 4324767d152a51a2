// Package quantify estimates per-label prevalences (quantification) over bags
// of documents from a classifier's probability matrix (documents × labels,
// float64 in [0,1]) and 0/1 targets, the same matrices quant/metrics takes.
//
// The reference (msam-reference §5) has CC, PCC, a constant "Lazy" baseline and
// an MLP quantifier, but its quantifier trainer crashes (§14 flaw 10) and CLQ
// bags are drawn from a wall-clock seed (flaw 12). This package implements the
// intended behaviour, adds ACC and PACC, and is seeded throughout.
//
// Conventions (the contract the tests check):
//
//   - Bags (SampleBags): each bag's size is uniform in [MinSize, MaxSize]
//     (fixed when equal); documents are drawn without replacement by default,
//     as the reference's random.sample, whose sizes are randint(1, N) (so
//     DefaultBagConfig uses MinSize 1, MaxSize N, seed 888, as the reference;
//     5000 training bags from dev, 1000 test bags from test). With replacement
//     is an option. The random source is math/rand/v2's PCG seeded with
//     (Seed, a fixed stream constant): the same seed gives the same bags on the
//     same Go release. Each bag carries its true prevalence per label (mean of
//     the targets of its documents).
//   - Prediction rule for CC and ACC: label j counts as predicted when
//     p >= threshold, the quant/metrics rule (the reference's np.round sends
//     exactly 0.5 to 0; only p == threshold differs).
//   - CC: fraction of the bag's documents predicted positive. PCC: mean
//     probability.
//   - ACC: (CC − fpr)/(tpr − fpr), with tpr = P(p ≥ t | y = 1) and
//     fpr = P(p ≥ t | y = 0) per label on dev, clipped to [0,1]. PACC: the
//     same with PCC and the expected rates E[p | y = 1], E[p | y = 0] on dev
//     (Bella et al. 2010). When the adjustment is undefined for a label —
//     tpr == fpr exactly, or dev has no positives or no negatives for it — the
//     unadjusted CC (PCC for PACC) clipped to [0,1] is returned for that label,
//     as QuaPy does for a zero denominator; those labels are listed in
//     Unadjusted so a report can say so.
//   - Constant: the dev prevalence of each label, whatever the bag. (The
//     reference's "Lazy" used the mean PCC of the training bags instead.)
//   - MLP (TrainMLP): PCC vector (L) → Linear(L,H) → sigmoid → Linear(H,L) →
//     sigmoid, the reference's architecture (sigmoid hidden activation, H = 32
//     by default as its top-50 setting). Initialisation as torch.nn.Linear:
//     weights and biases uniform in ±1/sqrt(fan_in), from the seed. Loss: Huber
//     with delta (0.5) summed over labels, averaged over the bags of a
//     mini-batch (the reference sums over the batch too; averaging keeps the
//     step size independent of the last, short batch — Adam is nearly
//     invariant to the scale anyway). Optimiser: a plain-Go AdamW with
//     torch.optim.AdamW's update (decoupled weight decay p ← p − lr·wd·p before
//     the bias-corrected Adam step; decay on every parameter, biases included,
//     as when all parameters are passed to torch); defaults lr 2e-4 (the
//     reference), betas (0.9, 0.999), eps 1e-8, weight decay 0.01 (torch's).
//     Early stopping on a held-out fraction of the training bags (20% by
//     default), not on the training loss as the reference: training stops when
//     the held-out loss has not strictly improved for Patience epochs, and the
//     best-held-out parameters are kept. The split and per-epoch shuffles come
//     from the seed, so training is deterministic.
//   - Metrics per bag, averaged over bags (Score, Compare): AE = mean over
//     labels of |p − p̂|. Each label is treated as a binary quantification
//     problem with prevalences (p, 1−p), smoothed as in the quantification
//     literature (Forman 2008; Sebastiani 2020, "Evaluation measures for
//     quantification: an axiomatic approach"; QuaPy's quapy.error.smooth):
//     s(x) = (ε + x)/(2ε + 1) with ε = 1/(2·bag size). Smoothed RAE =
//     ½(|s(p)−s(p̂)|/s(p) + |s(1−p)−s(1−p̂)|/s(1−p)) per label, which is the
//     reference's per-class sum divided by 2C; smoothed KLD =
//     s(p)·ln(s(p)/s(p̂)) + s(1−p)·ln(s(1−p)/s(1−p̂)) per label (QuaPy's kld). Both are then
//     averaged over all labels (§14: never a subset).
//
// Entry points: SampleBags/DefaultBagConfig draw bags; CC, PCC and
// FitACC/FitPACC/FitConstant (or FitStandard for all five) build the
// non-learned quantifiers; BagFeatures + TrainMLP fit the MLP, (*MLP).Save and
// LoadMLP persist it (JSON, atomic write); Score rates one bag, Evaluate one
// quantifier over bags, and Compare every quantifier on the same test bags
// into a Table (Format for text, SaveJSON for the command's JSON output).
// Inputs are validated; bad values are errors naming the row and column.
package quantify
