#!/usr/bin/python3
"""TF-IDF + one-vs-rest logistic regression: the baseline the icdcode classifier must beat.

Run with Debian's scikit-learn (python3-sklearn, 1.2; /usr/bin/python3, not a pyenv python):

    /usr/bin/python3 scripts/baseline_tfidf.py --dataset data/codiesp50 \
        --out-json data/codiesp50/baseline_tfidf/metrics.json \
        --out-probs data/codiesp50/baseline_tfidf/probs.jsonl

(scripts/baseline_tfidf.sh builds the CodiEsp top-50 dataset first when it is missing.)

Protocol (everything that is chosen is chosen on the train split only; dev and test are only predicted):

  * Features: TfidfVectorizer(lowercase, word n-grams, sublinear_tf, l2 norm), fitted on the train documents.
    sublinear tf keeps long notes from dominating; l2 norm makes C comparable across settings. The n-gram
    range (1-1 or 1-2) and min_df (2, 5, 10, 20) are chosen by the same train CV as C: with only ~440 training
    notes, bigrams and rare words mostly add features a per-label model overfits to (on CodiEsp top-50 train
    CV, 1-2-grams with min_df 2, the textbook setting, reach micro-F1 0.47; unigrams with min_df 10, 0.54).
  * Model: OneVsRestClassifier(LogisticRegression(solver=liblinear, L2)), one binary model per label.
  * Model selection: n-grams x min_df x C (log grid 1..1000) x class_weight in {None, balanced}, by 5-fold
    cross-validation on train (KFold, shuffled, fixed seed; the vectorizer is refitted inside every fold, so
    no fold sees the IDF of its held-out documents). The out-of-fold probabilities of all folds are pooled
    into one train matrix; the criterion is pooled micro-F1 at the best global threshold (the headline
    metric, at the threshold it will actually be used with). Among the configurations within --tolerance
    (0.005) of the best, the smallest C wins (strongest regularisation; a one-standard-error style rule: the
    CV curve is flat at large C, and differences of a few thousandths are well inside fold-to-fold noise),
    then shorter n-grams, larger min_df, pooled macro-AUC. The global threshold is the one tuned on the
    pooled out-of-fold predictions of the chosen configuration; the final model is refitted on all of train.
    liblinear regularises the intercept too (intercept_scaling 1), as scikit-learn's liblinear always does.
  * Metric conventions mirror quant/metrics (doc.go) and scripts/make_metric_fixtures.py: a label is predicted
    when p >= threshold; zero_division 0; macro-F1 = mean of per-label F1; macro-AUC over the labels with both
    classes present (the others are listed); P@k over all documents with ties broken by lower label index,
    dividing by min(k, labels); R@k over documents with at least one true label; threshold grid i/100,
    i = 1..99, ties to the point closest to 0.5, then the lower one.

Deterministic: fixed seeds, liblinear, stable sorts; the same inputs give the same numbers, whatever --n-jobs.
CodiEsp top-50 (440 train notes): about 100 s on 2 cores.
"""
import argparse
import gzip
import json
import os
import sys
import time
import tomllib
import warnings

# liblinear is single-threaded; BLAS threads only add contention on a shared machine (and sys time).
for _v in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import numpy as np  # noqa: E402
from joblib import Parallel, delayed  # noqa: E402
import sklearn
from sklearn.exceptions import ConvergenceWarning
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import precision_recall_fscore_support, roc_auc_score
from sklearn.model_selection import KFold
from sklearn.multiclass import OneVsRestClassifier

GRID = [i / 100.0 for i in range(1, 100)]  # i/100 in float64, identical to Go's float64(i)/100
KS = [5, 8, 15]


# ---------------------------------------------------------------------------------------------- data

def load_dataset(path):
    """Reads an icdcode dataset folder; returns labels and {split: (ids, texts, Y)}."""
    with open(os.path.join(path, "dataset.toml"), "rb") as f:
        manifest = tomllib.load(f)
    if manifest.get("format") != "icdcode-dataset/1":
        sys.exit(f"{path}/dataset.toml: format {manifest.get('format')!r}, want 'icdcode-dataset/1'")
    with open(os.path.join(path, "labels.txt"), encoding="utf-8") as f:
        labels = [line.strip() for line in f if line.strip()]
    index = {c: j for j, c in enumerate(labels)}
    if len(index) != len(labels):
        sys.exit(f"{path}/labels.txt: repeated code")
    docs_file = os.path.join(path, manifest.get("docs_file", "docs.jsonl"))
    opener = gzip.open if docs_file.endswith(".gz") else open
    splits = {}
    seen = set()
    with opener(docs_file, "rt", encoding="utf-8") as f:
        for n, line in enumerate(f, start=1):
            if not line.strip():
                continue
            d = json.loads(line)
            if d["id"] in seen:
                sys.exit(f"{docs_file}:{n}: repeated id {d['id']!r}")
            seen.add(d["id"])
            if d["split"] not in ("train", "dev", "test"):
                sys.exit(f"{docs_file}:{n}: unknown split {d['split']!r}")
            row = np.zeros(len(labels), dtype=np.int8)
            for c in d["codes"]:
                if c not in index:
                    sys.exit(f"{docs_file}:{n}: code {c!r} is not in labels.txt")
                row[index[c]] = 1
            ids, texts, rows = splits.setdefault(d["split"], ([], [], []))
            ids.append(d["id"])
            texts.append(d["text"])
            rows.append(row)
    out = {}
    for s, (ids, texts, rows) in splits.items():
        out[s] = (ids, texts, np.vstack(rows).astype(np.int64))
    return manifest, labels, out


# ------------------------------------------------------------------------------------------- metrics

def f1_counts(tp, fp, fn):
    d = 2 * tp + fp + fn
    return 0.0 if d == 0 else 2.0 * tp / d


def prf(Y, P, thr):
    pred = (P >= thr).astype(int)
    mp, mr, mf, _ = precision_recall_fscore_support(Y, pred, average="micro", zero_division=0)
    Mp, Mr, Mf, _ = precision_recall_fscore_support(Y, pred, average="macro", zero_division=0)
    return {"threshold": float(thr), "micro_precision": float(mp), "micro_recall": float(mr),
            "micro_f1": float(mf), "macro_precision": float(Mp), "macro_recall": float(Mr),
            "macro_f1": float(Mf), "predicted_per_doc": float(pred.sum() / Y.shape[0])}


def auc(Y, P):
    valid = [j for j in range(Y.shape[1]) if 0 < Y[:, j].sum() < Y.shape[0]]
    return {
        "micro_auc": float(roc_auc_score(Y.ravel(), P.ravel())),
        "macro_auc": float(np.mean([roc_auc_score(Y[:, j], P[:, j]) for j in valid])) if valid else None,
        "macro_auc_labels": len(valid),
        "auc_skipped_labels": [j for j in range(Y.shape[1]) if j not in valid],
    }


def at_k(Y, P):
    order = np.argsort(-P, axis=1, kind="stable")  # ties: lower label index first
    npos = Y.sum(axis=1)
    has = npos > 0
    out = {}
    for k in KS:
        ek = min(k, Y.shape[1])
        hits = np.take_along_axis(Y, order[:, :ek], axis=1).sum(axis=1).astype(float)
        out[f"P@{k}"] = float(np.mean(hits / ek))
        out[f"R@{k}"] = float(np.mean(hits[has] / npos[has])) if has.any() else None
    out["docs_without_positives"] = int((~has).sum())
    return out


def tune_global(Y, P):
    """Grid i/100; maximise micro-F1; ties to the point closest to 0.5, then the lower one."""
    best_i, best_f = None, -1.0
    y = Y == 1
    for i, t in enumerate(GRID, start=1):
        pred = P >= t
        tp = int((pred & y).sum()); fp = int((pred & ~y).sum()); fn = int((~pred & y).sum())
        f = f1_counts(tp, fp, fn)
        if f > best_f or (f == best_f and abs(i - 50) < abs(best_i - 50)):
            best_i, best_f = i, f
    return GRID[best_i - 1], best_f


def evaluate(Y, P, tuned_thr):
    m = {"documents": int(Y.shape[0]), "label_assignments": int(Y.sum())}
    m["at_0.5"] = prf(Y, P, 0.5)
    m["at_train_cv_threshold"] = prf(Y, P, tuned_thr)
    m.update(auc(Y, P))
    m.update(at_k(Y, P))
    return m


# ------------------------------------------------------------------------------------------- model

def make_vectorizer(ngram_max, min_df):
    return TfidfVectorizer(lowercase=True, analyzer="word", ngram_range=(1, ngram_max), min_df=min_df,
                           sublinear_tf=True, norm="l2", dtype=np.float64)


def make_model(C, cw, a):
    lr = LogisticRegression(solver="liblinear", penalty="l2", C=C, class_weight=cw, max_iter=1000,
                            random_state=a.seed)
    return OneVsRestClassifier(lr, n_jobs=1)


def fit(model, X, Y):
    """Fits, counting liblinear ConvergenceWarnings instead of printing one per label."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        model.fit(X, Y)
    return model, sum(issubclass(w.category, ConvergenceWarning) for w in caught)


def cv_oof(C, cw, a, folds, fold_X, Y_tr):
    """Pooled out-of-fold probabilities of one (features, C, class_weight) configuration."""
    oof = np.zeros(Y_tr.shape, dtype=np.float64)
    nconv = 0
    for (tr, te), (X_a, X_b) in zip(folds, fold_X):
        model, nc = fit(make_model(C, cw, a), X_a, Y_tr[tr])
        oof[te] = model.predict_proba(X_b)
        nconv += nc
    return oof, nconv


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dataset", required=True, help="icdcode dataset folder (dataset.toml, labels.txt, docs)")
    ap.add_argument("--out-json", help="write the configuration, CV grid and metrics here")
    ap.add_argument("--out-probs", help="write dev (and test) probabilities here: {\"id\",\"probs\"} per line")
    ap.add_argument("--c-grid", default="1,3,10,30,100,300,1000",
                    help="comma-separated C values (default %(default)s)")
    ap.add_argument("--class-weights", default="none,balanced", help="subset of none,balanced")
    ap.add_argument("--tolerance", type=float, default=0.005,
                    help="choose the smallest C whose CV micro-F1 is within this of the best (default %(default)s)")
    ap.add_argument("--folds", type=int, default=5, help="CV folds on train (default %(default)s)")
    ap.add_argument("--ngram-max", default="1,2",
                    help="word n-grams 1..N, comma-separated candidates chosen by train CV (default %(default)s)")
    ap.add_argument("--min-df", default="2,5,10,20",
                    help="TfidfVectorizer min_df candidates chosen by train CV (default %(default)s)")
    ap.add_argument("--seed", type=int, default=0, help="KFold shuffle and liblinear seed (default %(default)s)")
    ap.add_argument("--n-jobs", type=int, default=2,
                    help="CV configurations fitted in parallel; results do not depend on it (default %(default)s)")
    a = ap.parse_args()
    t0 = time.time()
    warnings.filterwarnings("ignore", message="Label .* is present in all training examples")
    warnings.filterwarnings("ignore", message="Label not .* is present in all training examples")

    manifest, labels, data = load_dataset(a.dataset)
    if "train" not in data:
        sys.exit(f"{a.dataset}: no train documents")
    ids_tr, texts_tr, Y_tr = data["train"]
    L = len(labels)
    print(f"dataset {a.dataset} ({manifest.get('name')}): {L} labels; "
          + ", ".join(f"{s} {len(data[s][0])}" for s in ("train", "dev", "test") if s in data)
          + f"; scikit-learn {sklearn.__version__}")

    # ---- model selection on train by K-fold CV (pooled out-of-fold probabilities)
    Cs = [float(c) for c in a.c_grid.split(",")]
    cws = [None if w.strip() == "none" else w.strip() for w in a.class_weights.split(",")]
    folds = list(KFold(n_splits=a.folds, shuffle=True, random_state=a.seed).split(np.arange(len(texts_tr))))
    texts_arr = np.array(texts_tr, dtype=object)
    feats = [(int(n), int(m)) for n in a.ngram_max.split(",") for m in a.min_df.split(",")]
    grid = []
    print(f"\ntrain {a.folds}-fold CV (pooled out-of-fold predictions; criterion: micro-F1 at the best "
          f"global threshold, smallest C within {a.tolerance:g} of the best)")
    print(f"{'ngrams':>6} {'min_df':>6} {'class_weight':>12} {'C':>7} {'thr':>5} {'miF1@thr':>9} {'miF1@.5':>8} {'maF1@thr':>9} "
          f"{'miAUC':>7} {'maAUC':>7} {'P@5':>6}")
    for ngram_max, min_df in feats:
        fold_X = []
        for tr, te in folds:  # the vectorizer does not depend on C or the class weight: fit it once per fold
            vec = make_vectorizer(ngram_max, min_df)
            fold_X.append((vec.fit_transform(texts_arr[tr]), vec.transform(texts_arr[te])))
        configs = [(cw, C) for cw in cws for C in Cs]
        oofs = Parallel(n_jobs=a.n_jobs)(delayed(cv_oof)(C, cw, a, folds, fold_X, Y_tr) for cw, C in configs)
        for (cw, C), (oof, nconv) in zip(configs, oofs):
            thr, f = tune_global(Y_tr, oof)
            au = auc(Y_tr, oof)
            row = {"ngram_range": [1, ngram_max], "min_df": min_df, "class_weight": cw or "none", "C": C,
                   "cv_threshold": thr, "cv_micro_f1_at_threshold": f,
                   "cv_micro_f1_at_0.5": prf(Y_tr, oof, 0.5)["micro_f1"],
                   "cv_macro_f1_at_threshold": prf(Y_tr, oof, thr)["macro_f1"],
                   "cv_micro_auc": au["micro_auc"], "cv_macro_auc": au["macro_auc"],
                   "cv_P@5": at_k(Y_tr, oof)["P@5"], "convergence_warnings": nconv}
            grid.append(row)
            print(f"{'1-' + str(ngram_max):>6} {min_df:>6} {row['class_weight']:>12} {C:>7g} {thr:>5.2f} {f:>9.4f} "
                  f"{row['cv_micro_f1_at_0.5']:>8.4f} {row['cv_macro_f1_at_threshold']:>9.4f} "
                  f"{au['micro_auc']:>7.4f} {au['macro_auc']:>7.4f} {row['cv_P@5']:>6.4f}"
                  + (f"  ({nconv} not converged)" if nconv else ""), flush=True)
    # The best CV micro-F1; then, for parsimony (as a one-standard-error rule, the pooled F1 of a few hundred
    # notes moves by more than 0.005 between folds), the smallest C (strongest regularisation) within
    # --tolerance of it, then the simpler features (shorter n-grams, larger min_df), then macro-AUC, then grid
    # order (deterministic).
    top = max(r["cv_micro_f1_at_threshold"] for r in grid)
    near = [r for r in grid if r["cv_micro_f1_at_threshold"] >= top - a.tolerance]
    best = min(near, key=lambda r: (r["C"], r["ngram_range"][1], -r["min_df"], -r["cv_macro_auc"]))
    ngram_max, min_df = best["ngram_range"][1], best["min_df"]
    C, cw = best["C"], (None if best["class_weight"] == "none" else best["class_weight"])
    thr = best["cv_threshold"]
    print(f"best CV micro-F1 {top:.4f}; chosen (smallest C within {a.tolerance:g}): "
          f"ngrams 1-{ngram_max} min_df={min_df} class_weight={best['class_weight']} C={C:g} (CV micro-F1 {best['cv_micro_f1_at_threshold']:.4f}); "
          f"global threshold {thr:.2f} (tuned on pooled train-CV predictions)")

    # ---- final model on all of train; predict dev and test
    vec = make_vectorizer(ngram_max, min_df)
    X_tr = vec.fit_transform(texts_tr)
    clf, final_nconv = fit(make_model(C, cw, a), X_tr, Y_tr)
    if final_nconv:
        print(f"warning: {final_nconv} of {L} final liblinear fits did not converge")
    results = {}
    probs = {}
    for s in ("dev", "test"):
        if s not in data:
            continue
        ids, texts, Y = data[s]
        P = clf.predict_proba(vec.transform(texts))
        probs[s] = (ids, P)
        results[s] = evaluate(Y, P, thr)
    elapsed = time.time() - t0

    for s, m in results.items():
        print(f"\n{s}: {m['documents']} documents, {m['label_assignments']} label assignments")
        print(f"  {'metric':<34} {'value':>8}")
        rows = [
            ("micro-F1 @0.5", m["at_0.5"]["micro_f1"]),
            ("micro-P / micro-R @0.5", f"{m['at_0.5']['micro_precision']:.4f}/{m['at_0.5']['micro_recall']:.4f}"),
            ("macro-F1 (mean label F1) @0.5", m["at_0.5"]["macro_f1"]),
            (f"micro-F1 @{thr:.2f} (train-CV thr)", m["at_train_cv_threshold"]["micro_f1"]),
            ("micro-P / micro-R @train-CV thr",
             f"{m['at_train_cv_threshold']['micro_precision']:.4f}/{m['at_train_cv_threshold']['micro_recall']:.4f}"),
            ("macro-F1 @train-CV thr", m["at_train_cv_threshold"]["macro_f1"]),
            ("micro-AUC", m["micro_auc"]),
            (f"macro-AUC ({m['macro_auc_labels']} labels)", m["macro_auc"]),
            ("P@5", m["P@5"]), ("P@8", m["P@8"]), ("R@5", m["R@5"]), ("R@8", m["R@8"]),
        ]
        for name, v in rows:
            print(f"  {name:<34} {v:>8.4f}" if isinstance(v, float) else f"  {name:<34} {v:>8}")
        if m["auc_skipped_labels"]:
            print(f"  AUC skipped labels (one class only): {[labels[j] for j in m['auc_skipped_labels']]}")
    print(f"\nvocabulary {len(vec.vocabulary_)} features; elapsed {elapsed:.1f}s")

    if a.out_json:
        os.makedirs(os.path.dirname(os.path.abspath(a.out_json)), exist_ok=True)
        report = {
            "dataset": os.path.abspath(a.dataset), "dataset_name": manifest.get("name"),
            "labels": labels, "sklearn_version": sklearn.__version__, "numpy_version": np.__version__,
            "config": {
                "tfidf": {"lowercase": True, "analyzer": "word", "ngram_range": [1, ngram_max],
                          "min_df": min_df, "sublinear_tf": True, "norm": "l2",
                          "vocabulary_size": len(vec.vocabulary_)},
                "model": {"estimator": "OneVsRestClassifier(LogisticRegression)", "solver": "liblinear",
                          "penalty": "l2", "C": C, "class_weight": best["class_weight"]},
                "selection": {"folds": a.folds, "shuffle_seed": a.seed, "c_grid": Cs,
                              "class_weights": [w or "none" for w in cws],
                              "ngram_max_grid": sorted({n for n, _ in feats}),
                              "min_df_grid": sorted({m for _, m in feats}),
                              "criterion": "pooled out-of-fold micro-F1 at the best global threshold; the "
                                           "smallest C within tolerance of the best, then shorter n-grams, "
                                           "larger min_df, pooled macro-AUC "
                                           "(train split only)",
                              "tolerance": a.tolerance, "best_cv_micro_f1": top},
                "global_threshold": thr,
                "global_threshold_source": "grid i/100 maximising micro-F1 on pooled train-CV predictions",
            },
            "cv_grid": grid,
            "splits": {s: len(data[s][0]) for s in data},
            "metrics": results,
            "elapsed_s": elapsed,
        }
        with open(a.out_json, "w", encoding="utf-8") as f:
            json.dump(report, f, indent=2)
            f.write("\n")
        print(f"wrote {a.out_json}")
    if a.out_probs:
        os.makedirs(os.path.dirname(os.path.abspath(a.out_probs)), exist_ok=True)
        with open(a.out_probs, "w", encoding="utf-8") as f:
            for s in ("dev", "test"):
                if s in probs:
                    ids, P = probs[s]
                    for i, row in zip(ids, P):
                        f.write(json.dumps({"id": i, "probs": [float(p) for p in row]}) + "\n")
        print(f"wrote {a.out_probs}")


if __name__ == "__main__":
    main()
