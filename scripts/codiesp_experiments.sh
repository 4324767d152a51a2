#!/usr/bin/env bash
# Reproduces the CodiEsp numbers of the README ("Results on CodiEsp") on a
# CPU: the TF-IDF baseline, CE-MSAM from scratch (configs/ce_msam_codiesp.toml,
# under an hour on 2 cores), its CLQ and BCE continuations with their
# calibration and quantification, and the rare-code comparison with and
# without code embeddings. Each step is skipped when its output exists, so a
# stopped script can be run again; `icdcode train --resume` continues a run
# that was killed.
#
#   scripts/codiesp_experiments.sh [STEP ...]   steps: baseline ce clq rare le (default: all but le)
#
# Reads ../shared/data in place (or $ICDCODE_SHARED_DATA). About 2.5 hours.
set -euo pipefail
cd "$(dirname "$0")/.."
shared="${ICDCODE_SHARED_DATA:-../shared/data}"
steps="${*:-baseline ce clq rare}"
go build -o bin/icdcode .
bin=bin/icdcode
want() { [[ " $steps " == *" $1 "* ]]; }
train() { # config name: train it, resume it if it was stopped, skip it if it finished
	local name=$1
	if [ -f "runs/$name/finished" ]; then return; fi
	if [ -d "runs/$name" ]; then $bin train -c "configs/$name.toml" --resume
	else $bin train -c "configs/$name.toml"; fi
	touch "runs/$name/finished"
}
quant_config() { # run name → configs/quant.toml's settings for that run (paths relative to the run)
	sed -e 's#^run_dir = .*#run_dir = "."#' -e 's#^dataset = .*#dataset = "../../data/codiesp50"#' \
		configs/quant.toml > "runs/$1/quant.toml"
	echo "runs/$1/quant.toml"
}

[ -f data/codiesp50/synonyms_mdp4.jsonl ] || scripts/prepare_codiesp.sh data/codiesp50 4

if want baseline; then
	[ -f data/codiesp50/baseline_tfidf/metrics.json ] || scripts/baseline_tfidf.sh data/codiesp50
fi

if want ce; then
	train ce_msam_codiesp
	$bin test -c configs/ce_msam_codiesp.toml --split dev
	cp runs/ce_msam_codiesp/metrics-dev.json runs/ce_msam_codiesp/metrics-dev-fixed.json
	# The baseline's threshold is chosen on train (cross-validated); this
	# one is tuned on the model's train predictions.
	$bin test -c configs/ce_msam_codiesp.toml --split dev --threshold-mode global_dev --tune-split train
	cp runs/ce_msam_codiesp/metrics-dev.json runs/ce_msam_codiesp/metrics-dev-train-threshold.json
fi

if want clq; then
	for name in ce_msam_codiesp_bce ce_msam_codiesp_clq; do
		train $name
		$bin test -c configs/$name.toml --split dev
		q=$(quant_config $name)
		$bin quantify train -c "$q"
		$bin quantify test -c "$q"
	done
fi

if want rare; then
	[ -f data/codiesp_min5/synonyms_mdp4.jsonl ] || {
		$bin prepare codiesp --dir "$shared/codiesp" --lang en --codes diagnoses --min-count 5 --out data/codiesp_min5
		$bin synonyms build --dataset data/codiesp_min5 \
			--source icd10cm-tabular="$shared/icd10cm/icd10cm_tabular_2021.xml.gz" \
			--source icd10cm-index="$shared/icd10cm/ICD10CM_2025_Index.csv" --out data/codiesp_min5/candidates.jsonl
		$bin synonyms select --dataset data/codiesp_min5 --candidates data/codiesp_min5/candidates.jsonl --m 4 \
			--criterion mdp --out data/codiesp_min5/synonyms_mdp4.jsonl
	}
	[ -f word2vec-codiesp/word2vec.json ] || {
		[ -f data/codiesp_all/dataset.toml ] || $bin prepare codiesp --dir "$shared/codiesp" --lang en --codes diagnoses --min-count 1 --out data/codiesp_all
		scripts/dataset_visits.py data/codiesp_all train data/codiesp_all/train_visits.jsonl
		$bin embed word2vec -c configs/word2vec_codiesp.toml
	}
	[ -f word2vec-codiesp/word2vec_shuffled.json ] ||
		scripts/shuffle_code_embeddings.py word2vec-codiesp/word2vec.json word2vec-codiesp/word2vec_shuffled.json 1
	for name in ce_msam_codiesp_min5 ce_msam_codiesp_min5_codes ce_msam_codiesp_min5_shuffled; do
		train $name
		$bin test -c configs/$name.toml --split dev
	done
	scripts/rare_code_metrics.py data/codiesp_min5 runs/ce_msam_codiesp_min5 runs/ce_msam_codiesp_min5_codes \
		runs/ce_msam_codiesp_min5_shuffled
fi

if want le; then
	train le_msam_codiesp
	$bin test -c configs/le_msam_codiesp.toml --split dev
fi
