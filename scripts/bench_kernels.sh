#!/usr/bin/env bash
# bench_kernels.sh: benchmark the CPU kernels of model/kernels.
#
# Runs the FMA-peak and GEMM benchmarks with GOMAXPROCS=1 and 2 (2 is the
# target configuration) and prints, per benchmark, ns/op, GFLOP/s and the
# fraction of the measured FMA peak. The machine is shared: COUNT repeats
# (default 3) are printed as min–max ranges.
#
# Usage: scripts/bench_kernels.sh [COUNT] [BENCH-REGEXP]
set -euo pipefail
cd "$(dirname "$0")/.."
count=${1:-3}
pattern=${2:-'FMAPeak|Gemm'}
for procs in 1 2; do
	echo "== GOMAXPROCS=$procs"
	GOMAXPROCS=$procs go test ./model/kernels -run '^$' -bench "$pattern" -benchtime 30x -count "$count" |
		awk '
		/^Benchmark/ {
			name = $1; sub(/-[0-9]+$/, "", name)
			for (i = 3; i < NF; i++) {
				if ($(i+1) == "ns/op") v["ns"] = $i
				if ($(i+1) == "GFLOP/s") v["gf"] = $i
				if ($(i+1) == "%peak") v["pk"] = $i
			}
			if (!(name in seen)) { seen[name] = 1; order[++n] = name }
			for (k in v) {
				key = name SUBSEP k
				if (!(key in lo) || v[k] < lo[key]) lo[key] = v[k]
				if (!(key in hi) || v[k] > hi[key]) hi[key] = v[k]
			}
			delete v
		}
		END {
			printf "%-40s %22s %18s %14s\n", "benchmark", "ns/op", "GFLOP/s", "% of peak"
			for (i = 1; i <= n; i++) {
				b = order[i]
				r = ""
				ns = ((b SUBSEP "ns") in lo) ? sprintf("%d-%d", lo[b SUBSEP "ns"], hi[b SUBSEP "ns"]) : "-"
				gf = ((b SUBSEP "gf") in lo) ? sprintf("%.1f-%.1f", lo[b SUBSEP "gf"], hi[b SUBSEP "gf"]) : "-"
				pk = ((b SUBSEP "pk") in lo) ? sprintf("%.0f-%.0f%%", lo[b SUBSEP "pk"], hi[b SUBSEP "pk"]) : "-"
				printf "%-40s %22s %18s %14s\n", b, ns, gf, pk
			}
		}'
done
