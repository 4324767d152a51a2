#!/usr/bin/env bash
# Compares MSAM's switches on CodiEsp top-50 dev (the evidence for the
# defaults in model/run's Defaults): one small scratch CE-MSAM per variant,
# each differing from the base (padding mask, 1/√d_k scaling, mean pooling,
# attention over all chunks at once, trainable synonym rows from [CLS] +
# N(0, 1)) in one switch. Prints the best dev epoch of each run.
#
#   scripts/msam_switches.sh [EPOCHS]     (default 8; about 4 minutes a run on 2 cores)
#
# Needs data/codiesp50 with its synonyms (scripts/prepare_codiesp.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
epochs="${1:-8}"
[ -f data/codiesp50/synonyms_mdp4.jsonl ] || scripts/prepare_codiesp.sh data/codiesp50 4
go build -o bin/icdcode .
out=runs/msam_switches
mkdir -p "$out"

config() { # name, then the [model] switch lines
	local name=$1 switches=$2
	cat > "$out/$name.toml" <<TOML
[data]
dataset = "../../data/codiesp50"
synonyms = "../../data/codiesp50/synonyms_mdp4.jsonl"

[model]
encoder = "ce"
head = "msam"
source = "scratch"
max_len = 256
stride = 128
max_tokens = 4096
m = 4
dropout = 0.1
$switches

[model.scratch]
hidden = 128
layers = 2
heads = 4
intermediate = 512
max_positions = 256
vocab_size = 8000

[train]
epochs = $epochs
lr = 1e-3
warmup_ratio = 0.05
weight_decay = 0.01
grad_accum = 8
patience = 0
metric = "p_at_5"
keep_last = 1
seed = 42

[run]
dir = "$name"
TOML
}

base='mask = true
scale = true
pool = "mean"
per_chunk = false
tune_synonyms = true
synonym_init_std = 1.0'
config base "$base"
config per_chunk "${base/per_chunk = false/per_chunk = true}"
config no_mask "${base/mask = true/mask = false}"
config no_scale "${base/scale = true/scale = false}"
config pool_max "${base/pool = \"mean\"/pool = \"max\"}"
config noise_free "${base/synonym_init_std = 1.0/synonym_init_std = 0.0}"
config frozen 'mask = true
scale = true
pool = "mean"
per_chunk = false
tune_synonyms = false'

for name in base per_chunk no_mask no_scale pool_max noise_free frozen; do
	[ -f "$out/$name/finished" ] && continue
	rm -rf "$out/$name"
	bin/icdcode train -c "$out/$name.toml"
	touch "$out/$name/finished"
done

/usr/bin/python3 - "$out" <<'PY'
import json, os, sys
out = sys.argv[1]
print(f"{'variant':12s} {'epoch':>5s} {'P@5':>6s} {'micro-F1':>8s} {'macro-F1':>8s} {'micro-AUC':>9s} {'macro-AUC':>9s}")
for name in ["base", "per_chunk", "no_mask", "no_scale", "pool_max", "noise_free", "frozen"]:
    rows = [json.loads(l) for l in open(os.path.join(out, name, "checkpoints", "train.jsonl"))]
    best = [r for r in rows if r["best"]][-1]
    m = best["metrics"]
    print(f"{name:12s} {best['epoch']:5d} {m['p_at_5']:6.3f} {m['micro_f1']:8.3f} {m['macro_f1']:8.3f} {m['micro_auc']:9.3f} {m['macro_auc']:9.3f}")
PY
