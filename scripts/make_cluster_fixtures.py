#!/usr/bin/python3
"""Write model/embeval/testdata/cluster_scores.json: label pairs with
scikit-learn's NMI and AMI (average_method='arithmetic'), which the Go
implementation in model/embeval must reproduce to 1e-9.

Run with Debian's python3-sklearn: /usr/bin/python3 scripts/make_cluster_fixtures.py
"""
import json
import os

import numpy as np
import sklearn
from sklearn.metrics import adjusted_mutual_info_score, normalized_mutual_info_score

rng = np.random.default_rng(20240601)
cases = []


def add(name, a, b):
    a, b = [int(x) for x in a], [int(x) for x in b]
    cases.append({
        "name": name,
        "truth": a,
        "pred": b,
        "nmi": float(normalized_mutual_info_score(a, b, average_method="arithmetic")),
        "ami": float(adjusted_mutual_info_score(a, b, average_method="arithmetic")),
    })


# Independent random labelings, few and many clusters.
add("random_5x7_n200", rng.integers(0, 5, 200), rng.integers(0, 7, 200))
add("random_40x60_n500", rng.integers(0, 40, 500), rng.integers(0, 60, 500))
# Many small clusters, as k = 200-400 over a few thousand codes.
add("small_clusters_300x250_n1200", rng.integers(0, 300, 1200), rng.integers(0, 250, 1200))
# Correlated: prediction = truth with 30% of labels redrawn.
t = rng.integers(0, 20, 800)
p = t.copy()
m = rng.random(800) < 0.3
p[m] = rng.integers(0, 20, m.sum())
add("noisy_copy_20_n800", t, p)
# Skewed category sizes (Zipf-like, as CCS categories), clustered into 50.
t = np.minimum(rng.zipf(1.5, 1000), 80)
add("zipf_truth_k50_n1000", t, rng.integers(0, 50, 1000))
# Edge cases: identical up to renaming, one cluster against many, singletons.
t = rng.integers(0, 6, 60)
add("permuted_identical", t, (t * 7 + 3) % 11)
add("one_cluster_vs_many", np.zeros(50, dtype=int), rng.integers(0, 5, 50))
add("singletons", np.arange(30), rng.integers(0, 4, 30))
add("both_one_cluster", np.zeros(10, dtype=int), np.ones(10, dtype=int))

out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "model", "embeval", "testdata", "cluster_scores.json")
with open(out, "w") as f:
    # One case per line keeps the file small and its diffs readable.
    f.write('{"sklearn": %s, "cases": [\n' % json.dumps(sklearn.__version__))
    f.write(",\n".join(json.dumps(c) for c in cases))
    f.write("\n]}\n")
print(f"wrote {len(cases)} cases to {os.path.normpath(out)} (scikit-learn {sklearn.__version__})")
