#!/usr/bin/python3
"""Dev metrics of one or more icdcode runs on rare and frequent codes, computed
with scikit-learn (Debian's python3-sklearn), independently of icdcode:

    scripts/rare_code_metrics.py DATASET_DIR RUN_DIR [RUN_DIR ...] [--rare-below 10] [--split dev]

A code is rare when fewer than --rare-below training documents carry it. For
each run it reads RUN_DIR/predictions-SPLIT.jsonl and labels.txt, and the
threshold icdcode test used (RUN_DIR/metrics-SPLIT.json: global_threshold, else
0.5), and prints, for rare and for frequent codes: macro-F1 (mean of per-label
F1, labels without positives in the split scored 0 as scikit-learn does with
zero_division=0), macro-F1 at 0.5, macro-F1 with each label's threshold set to
its best F1 on the split itself (optimistic: an upper bound that shows how well
the scores rank, for comparing runs), and macro ROC-AUC over the labels with
both classes in the split.
"""
import argparse
import json
import os

import numpy as np
from sklearn.metrics import f1_score, precision_recall_curve, roc_auc_score


def best_f1(y, p):
    """The best F1 of one label over all thresholds (0 without positives)."""
    if y.sum() == 0:
        return 0.0
    prec, rec, _ = precision_recall_curve(y, p)
    f = 2 * prec * rec / np.maximum(prec + rec, 1e-12)
    return float(f.max())


def read_jsonl(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dataset")
    ap.add_argument("runs", nargs="+")
    ap.add_argument("--rare-below", type=int, default=10)
    ap.add_argument("--split", default="dev")
    a = ap.parse_args()

    docs = read_jsonl(os.path.join(a.dataset, "docs.jsonl"))
    train_count = {}
    gold = {}
    for d in docs:
        if d["split"] == "train":
            for c in set(d["codes"]):
                train_count[c] = train_count.get(c, 0) + 1
        elif d["split"] == a.split:
            gold[d["id"]] = set(d["codes"])

    for run in a.runs:
        labels = open(os.path.join(run, "labels.txt"), encoding="utf-8").read().split()
        preds = read_jsonl(os.path.join(run, f"predictions-{a.split}.jsonl"))
        ids = [p["id"] for p in preds]
        if set(ids) != set(gold):
            raise SystemExit(f"{run}: predictions cover {len(ids)} documents, the {a.split} split has {len(gold)}")
        P = np.array([p["probs"] for p in preds])
        Y = np.array([[1 if l in gold[i] else 0 for l in labels] for i in ids])
        threshold = 0.5
        mpath = os.path.join(run, f"metrics-{a.split}.json")
        if os.path.exists(mpath):
            threshold = json.load(open(mpath)).get("global_threshold") or 0.5
        rare = np.array([train_count.get(l, 0) < a.rare_below for l in labels])
        print(f"{run}  ({a.split}, {len(ids)} documents, threshold {threshold:.4f})")
        for name, cols in (("rare", rare), ("frequent", ~rare)):
            idx = np.flatnonzero(cols)
            if len(idx) == 0:
                continue
            y, p = Y[:, idx], P[:, idx]
            f1t = f1_score(y, p >= threshold, average="macro", zero_division=0)
            f105 = f1_score(y, p >= 0.5, average="macro", zero_division=0)
            oracle = np.mean([best_f1(y[:, j], p[:, j]) for j in range(len(idx))])
            both = [j for j in range(len(idx)) if 0 < y[:, j].sum() < len(ids)]
            auc = np.mean([roc_auc_score(y[:, j], p[:, j]) for j in both]) if both else float("nan")
            print(f"  {name:9s} {len(idx):4d} codes ({len(both)} with both classes): "
                  f"macro-F1 {f1t:.4f} (at 0.5: {f105:.4f}; per-label best on this split: {oracle:.4f}), "
                  f"macro-AUC {auc:.4f}")


if __name__ == "__main__":
    main()
