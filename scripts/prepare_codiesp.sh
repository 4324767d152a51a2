#!/usr/bin/env bash
# Prepares the CodiEsp dataset the classifier is evaluated on (English text,
# the 50 most frequent diagnosis codes of train) and its synonyms: candidates
# from the ICD-10-CM tabular list (titles, inclusion terms) and alphabetic
# index, then the M most diverse per code by the exact MDP.
#
#   scripts/prepare_codiesp.sh [OUT_DIR] [M]     (defaults: data/codiesp50, 4)
#
# Reads ../shared/data in place (or $ICDCODE_SHARED_DATA).
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-data/codiesp50}"
m="${2:-4}"
shared="${ICDCODE_SHARED_DATA:-../shared/data}"
[ -d "$shared/codiesp" ] || { echo "CodiEsp not found under $shared" >&2; exit 1; }

go build -o bin/icdcode .
bin/icdcode prepare codiesp --dir "$shared/codiesp" --lang en --codes diagnoses --top 50 --out "$out"
bin/icdcode synonyms build --dataset "$out" \
	--source icd10cm-tabular="$shared/icd10cm/icd10cm_tabular_2021.xml.gz" \
	--source icd10cm-index="$shared/icd10cm/ICD10CM_2025_Index.csv" \
	--out "$out/candidates.jsonl"
bin/icdcode synonyms select --dataset "$out" --candidates "$out/candidates.jsonl" --m "$m" --criterion mdp \
	--out "$out/synonyms_mdp$m.jsonl"
bin/icdcode dataset info --dir "$out"
