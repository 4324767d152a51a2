#!/usr/bin/env bash
# Scale benchmark of `icdcode prepare mimic3`: runs BenchmarkPrepareNoteevents
# on synthetic NOTEEVENTS files of the given sizes in GB (default 0.1 and 1)
# on one core (GOMAXPROCS=1), one process per run so that each peak-memory
# figure is its own, and prints throughput and peak memory per run.
#
# Two series are run:
#   realistic  ~64 kB of notes per admission, as in MIMIC-III: a bigger file
#              has more admissions, and memory grows with the admissions and
#              their codes (ids, code lists, label counts), not with the text;
#   fixed      the same $ADMISSIONS admissions (default 1500) at every size,
#              notes proportionally longer: peak memory should stay flat.
#
#   scripts/bench_prepare.sh              # 0.1 GB and 1 GB
#   scripts/bench_prepare.sh 0.5 2        # other sizes
#   ICDCODE_BENCH_GZIP=1 scripts/bench_prepare.sh   # read NOTEEVENTS.csv.gz
#
# Corpora are generated once into $ICDCODE_BENCH_DIR (default
# ${TMPDIR:-/tmp}/icdcode-bench-prepare; about twice the sizes asked for) and
# reused by later runs; delete the folder to reclaim the space.
set -euo pipefail
cd "$(dirname "$0")/.."

sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(0.1 1)
admissions="${ADMISSIONS:-1500}"
export ICDCODE_BENCH_DIR="${ICDCODE_BENCH_DIR:-${TMPDIR:-/tmp}/icdcode-bench-prepare}"
mkdir -p "$ICDCODE_BENCH_DIR"

go test -c -o "$ICDCODE_BENCH_DIR/mimic3.test" ./data/mimic3/

fmt='%-10s %6s %8s %10s %9s %9s %15s %13s %10s\n'
printf "$fmt" series GB MB 'MB/s' 'MB/cpu-s' documents 'heap-inuse-MiB' 'heap-sys-MiB' 'VmHWM-MiB'
for series in realistic fixed; do
	adm=0
	[ "$series" = fixed ] && adm="$admissions"
	for gb in "${sizes[@]}"; do
		line=$(cd data/mimic3 && ICDCODE_BENCH_GB="$gb" ICDCODE_BENCH_ADMISSIONS="$adm" GOMAXPROCS=1 \
			"$ICDCODE_BENCH_DIR/mimic3.test" -test.run '^$' -test.bench '^BenchmarkPrepareNoteevents$' \
			-test.benchtime 1x -test.cpu 1 | grep '^BenchmarkPrepareNoteevents')
		metric() { awk -v unit="$1" '{for (i = 2; i < NF; i++) if ($(i+1) == unit) print $i}' <<<"$line"; }
		printf "$fmt" "$series" "$gb" "$(metric NOTEEVENTS-MB)" "$(metric NOTEEVENTS-MB/s)" "$(metric MB/cpu-s)" \
			"$(metric documents)" "$(metric peak-heap-inuse-MiB)" "$(metric peak-heap-sys-MiB)" "$(metric VmHWM-MiB)"
	done
done
