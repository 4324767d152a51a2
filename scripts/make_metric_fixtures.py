#!/usr/bin/python3
"""Generate the scikit-learn reference fixtures for quant/metrics.

Exact command (from the repository root, Debian's scikit-learn 1.2):

    apt-get install -y python3-sklearn
    /usr/bin/python3 scripts/make_metric_fixtures.py quant/metrics/testdata/sklearn_fixtures.json

Every metric scikit-learn has is computed with scikit-learn (precision_recall_fscore_support
micro/macro/per label with zero_division=0, roc_auc_score micro and macro over the labels with
both classes, per-label roc_auc_score, brier_score_loss). The metrics it lacks (P@k, R@k, F1@k,
ECE, threshold tuning) are written out in numpy below, temperature scaling uses scipy's
bounded Brent minimiser (python3-scipy comes with python3-sklearn), following the conventions documented
in quant/metrics/doc.go. Probabilities are rounded before anything is computed, so the JSON
holds exactly the values the references were computed from.
"""
import json
import sys

import numpy as np
import sklearn
from scipy.optimize import minimize_scalar
from sklearn.metrics import brier_score_loss, precision_recall_fscore_support, roc_auc_score

KS = [5, 8, 15]
GRID = [i / 100.0 for i in range(1, 100)]  # i/100 in float64, identical to Go's float64(i)/100


def f1_counts(tp, fp, fn):
    d = 2 * tp + fp + fn
    return 0.0 if d == 0 else 2.0 * tp / d


def prf(Y, P, thr):
    """thr: scalar or per-label vector; a label is predicted when p >= threshold."""
    pred = (P >= np.asarray(thr)[None, ...] if np.ndim(thr) else P >= thr).astype(int)
    p, r, f, s = precision_recall_fscore_support(Y, pred, average=None, zero_division=0)
    mp, mr, mf, _ = precision_recall_fscore_support(Y, pred, average="micro", zero_division=0)
    Mp, Mr, Mf, _ = precision_recall_fscore_support(Y, pred, average="macro", zero_division=0)
    harm = 0.0 if Mp + Mr == 0 else 2 * Mp * Mr / (Mp + Mr)
    npred = pred.sum(axis=0)
    return {
        "micro_precision": float(mp), "micro_recall": float(mr), "micro_f1": float(mf),
        "macro_precision": float(Mp), "macro_recall": float(Mr),
        "macro_f1_mean_of_label_f1": float(Mf), "macro_f1_harmonic_of_macro_pr": float(harm),
        "label_precision": p.tolist(), "label_recall": r.tolist(), "label_f1": f.tolist(),
        "ill_defined_precision_labels": [int(j) for j in np.where(npred == 0)[0]],
        "ill_defined_recall_labels": [int(j) for j in np.where(s == 0)[0]],
    }


def auc(Y, P):
    valid = [j for j in range(Y.shape[1]) if 0 < Y[:, j].sum() < Y.shape[0]]
    assert len(valid) >= 2
    return {
        "micro_auc": float(roc_auc_score(Y, P, average="micro")),
        "macro_auc": float(roc_auc_score(Y[:, valid], P[:, valid], average="macro")),
        "label_auc": [float(roc_auc_score(Y[:, j], P[:, j])) if j in valid else None for j in range(Y.shape[1])],
        "auc_skipped_labels": [j for j in range(Y.shape[1]) if j not in valid],
    }


def at_k(Y, P):
    order = np.argsort(-P, axis=1, kind="stable")  # ties: lower label index first
    out = []
    npos = Y.sum(axis=1)
    for k in KS:
        ek = min(k, Y.shape[1])
        hits = np.array([Y[i, order[i, :ek]].sum() for i in range(Y.shape[0])], dtype=float)
        pk = float(np.mean(hits / ek))
        has = npos > 0
        rk = float(np.mean(hits[has] / npos[has]))
        f = 0.0 if pk + rk == 0 else 2 * pk * rk / (pk + rk)
        out.append({"k": k, "effective_k": ek, "precision": pk, "recall": rk, "f1_from_means": f,
                    "docs_without_positives": int((~has).sum())})
    return out


def ece(p, y, bins, mode):
    n = len(p)
    if mode == "equal_width":
        idx = np.minimum(np.floor(p * bins).astype(int), bins - 1)
        members = [np.where(idx == b)[0] for b in range(bins)]
    else:
        order = np.argsort(p, kind="stable")
        members = [order[b * n // bins:(b + 1) * n // bins] for b in range(bins)]
    e = 0.0
    for m in members:
        if len(m):
            e += len(m) / n * abs(y[m].mean() - p[m].mean())
    return e


def calibration(Y, P):
    out = {}
    for mode, bins in [("equal_width", 20), ("equal_width", 10), ("equal_mass", 20), ("equal_mass", 7)]:
        per = [ece(P[:, j], Y[:, j], bins, mode) for j in range(Y.shape[1])]
        out[f"{mode}_{bins}"] = {"label_ece": per, "mean_label_ece": float(np.mean(per)),
                                 "pooled_ece": ece(P.ravel(), Y.ravel(), bins, mode)}
    out["label_brier"] = [float(brier_score_loss(Y[:, j], P[:, j], pos_label=1)) for j in range(Y.shape[1])]
    out["brier"] = float(brier_score_loss(Y.ravel(), P.ravel(), pos_label=1))
    return out


def logit(P):
    P = np.clip(P, 1e-12, 1 - 1e-12)
    return np.log(P) - np.log1p(-P)


def nll(Z, Y, T):
    s = Z / T
    return float(np.mean(np.logaddexp(0.0, s) - Y * s))


def temperature(Yd, Pd, Y, P):
    """Reference T from scipy's bounded Brent on log T, an optimiser independent
    of the Go code's Newton iteration on 1/T; only its tolerance limits agreement."""
    Zd, Z = logit(Pd), logit(P)
    res = minimize_scalar(lambda u: nll(Zd, Yd, np.exp(u)), bounds=(-7, 7), method="bounded",
                          options={"xatol": 1e-10, "maxiter": 1000})
    T = float(np.exp(res.x))
    return {"temperature": T, "dev_nll_at_t": nll(Zd, Yd, T),
            "test_nll_before": nll(Z, Y, 1.0), "test_nll_after": nll(Z, Y, T)}


def tune(Y, P):
    best_i, best_f = None, -1.0
    for i, t in enumerate(GRID, start=1):
        pred = P >= t
        tp = int((pred & (Y == 1)).sum()); fp = int((pred & (Y == 0)).sum()); fn = int((~pred & (Y == 1)).sum())
        f = f1_counts(tp, fp, fn)
        if f > best_f or (f == best_f and abs(i - 50) < abs(best_i - 50)):
            best_i, best_f = i, f
    glob = GRID[best_i - 1]
    per = []
    for j in range(Y.shape[1]):
        bi, bf = None, -1.0
        for i, t in enumerate(GRID, start=1):
            pred = P[:, j] >= t
            y = Y[:, j] == 1
            f = f1_counts(int((pred & y).sum()), int((pred & ~y).sum()), int((~pred & y).sum()))
            if f > bf or (f == bf and abs(i - 50) < abs(bi - 50)):
                bi, bf = i, f
        per.append(GRID[bi - 1])
    return glob, best_f, per


def make_case(name, rng, n_dev, n_test, L, decimals, zero_labels=(), full_labels=(), zero_docs=(), low_labels=()):
    def draw(n):
        prev = rng.uniform(0.05, 0.5, size=L)
        Y = (rng.uniform(size=(n, L)) < prev).astype(int)
        logit = rng.normal(0, 1.5, size=(n, L)) + 2.0 * (Y - 0.5) * rng.uniform(0.3, 2.0, size=L)
        P = np.round(1 / (1 + np.exp(-logit)), decimals)
        for j in low_labels:  # never reaches 0.5: precision ill-defined at the fixed threshold
            P[:, j] = np.round(P[:, j] * 0.45, decimals)
        for j in zero_labels:
            Y[:, j] = 0
        for j in full_labels:
            Y[:, j] = 1
        for i in zero_docs:
            if i < n:
                Y[i, :] = 0
        return Y, P
    Yd, Pd = draw(n_dev)
    Y, P = draw(n_test)
    glob, glob_f, per = tune(Yd, Pd)
    exp = {"fixed_0_5": prf(Y, P, 0.5)}
    exp.update(auc(Y, P))
    exp["at_k"] = at_k(Y, P)
    exp["calibration"] = calibration(Y, P)
    exp["global_threshold"] = glob
    exp["global_threshold_dev_micro_f1"] = glob_f
    exp["global_tuned"] = prf(Y, P, glob)
    exp["label_thresholds"] = per
    exp["label_tuned"] = prf(Y, P, np.array(per))
    exp["temperature_scaling"] = temperature(Yd, Pd, Y, P)
    return {"name": name, "dev_probs": Pd.tolist(), "dev_targets": Yd.tolist(),
            "probs": P.tolist(), "targets": Y.tolist(), "expected": exp}


def main():
    out = sys.argv[1]
    rng = np.random.default_rng(20261122)
    cases = [
        make_case("small_40x7", rng, 40, 40, 7, 4, zero_labels=[2], full_labels=[5], zero_docs=[0, 17]),
        make_case("ties_200x30_rounded_0.1", rng, 80, 200, 30, 1, zero_labels=[3, 11], full_labels=[29], zero_docs=[5]),
        make_case("mixed_120x20", rng, 60, 120, 20, 3, zero_labels=[0], zero_docs=[1, 2, 3], low_labels=[4, 9]),
        make_case("coarse_60x12_rounded_0.25", rng, 60, 60, 12, 2, zero_labels=[7], full_labels=[8]),
    ]
    # coarse case: probabilities on a 0.25 grid, which puts many values on bin edges
    c = cases[3]
    for key in ("probs", "dev_probs"):
        c[key] = (np.round(np.array(c[key]) * 4) / 4).tolist()
    # recompute the coarse case's expectations from the snapped probabilities
    Yd, Pd = np.array(c["dev_targets"]), np.array(c["dev_probs"])
    Y, P = np.array(c["targets"]), np.array(c["probs"])
    glob, glob_f, per = tune(Yd, Pd)
    exp = {"fixed_0_5": prf(Y, P, 0.5)}
    exp.update(auc(Y, P))
    exp["at_k"] = at_k(Y, P)
    exp["calibration"] = calibration(Y, P)
    exp["global_threshold"] = glob
    exp["global_threshold_dev_micro_f1"] = glob_f
    exp["global_tuned"] = prf(Y, P, glob)
    exp["label_thresholds"] = per
    exp["label_tuned"] = prf(Y, P, np.array(per))
    exp["temperature_scaling"] = temperature(Yd, Pd, Y, P)
    c["expected"] = exp
    doc = {"generator": "scripts/make_metric_fixtures.py", "sklearn_version": sklearn.__version__,
           "numpy_version": np.__version__, "cases": cases}
    with open(out, "w") as f:
        json.dump(doc, f, separators=(",", ":"))
        f.write("\n")


if __name__ == "__main__":
    main()
