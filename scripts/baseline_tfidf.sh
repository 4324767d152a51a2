#!/usr/bin/env bash
# TF-IDF + one-vs-rest logistic regression baseline (scripts/baseline_tfidf.py) on an icdcode dataset.
# With no dataset argument it uses CodiEsp, English text, the 50 most frequent diagnosis codes of train
# (data/codiesp50), and prepares it first if it is not there.
#
#   scripts/baseline_tfidf.sh [DATASET_DIR] [OUT_DIR] [-- extra baseline_tfidf.py flags]
#
# Defaults: DATASET_DIR data/codiesp50, OUT_DIR DATASET_DIR/baseline_tfidf (metrics.json, probs.jsonl,
# report.txt). Needs Debian's scikit-learn (apt-get install -y python3-sklearn) for /usr/bin/python3.
# Reads ../shared/data in place (or $ICDCODE_SHARED_DATA) when it has to prepare CodiEsp.
set -euo pipefail
cd "$(dirname "$0")/.."
ds="data/codiesp50"
out=""
if [ $# -gt 0 ] && [ "$1" != "--" ]; then ds="$1"; shift; fi
if [ $# -gt 0 ] && [ "$1" != "--" ]; then out="$1"; shift; fi
if [ $# -gt 0 ] && [ "$1" = "--" ]; then shift; fi
out="${out:-$ds/baseline_tfidf}"
py=/usr/bin/python3
"$py" -c 'import sklearn' 2>/dev/null || {
	echo "scikit-learn not found for $py: apt-get install -y python3-sklearn" >&2; exit 1; }

if [ ! -f "$ds/dataset.toml" ]; then
	shared="${ICDCODE_SHARED_DATA:-../shared/data}"
	[ -d "$shared/codiesp" ] || { echo "$ds is not a dataset and CodiEsp is not under $shared" >&2; exit 1; }
	echo "preparing CodiEsp top-50 (English, diagnoses) into $ds" >&2
	go run . prepare codiesp --dir "$shared/codiesp" --lang en --codes diagnoses --top 50 --out "$ds"
fi

mkdir -p "$out"
"$py" scripts/baseline_tfidf.py --dataset "$ds" --out-json "$out/metrics.json" --out-probs "$out/probs.jsonl" "$@" \
	| tee "$out/report.txt"
