#!/usr/bin/env bash
# bench_encoder.sh: the encoder memory and speed report.
#
# Runs BenchmarkDocument10x512 of model/encoder: one document of 10 chunks ×
# 512 tokens as one batch, forward+backward through a 4-layer BERT (hidden
# 256, 4 heads, FFN 1024, vocab 30522), float32, CPU backend, and prints
# seconds per iteration and the peak RSS (VmHWM; target under 2 GiB). Each
# repeat runs in its own test process, so every peak is that run's own
# (VmHWM is per process: with both benchmarks in one PATTERN, the second
# reports the larger of the two peaks).
#
# BenchmarkLongformer4096 (one 4096-token document, window 512, global CLS)
# runs with PATTERN Longformer4096, or both with "Document10x512|Longformer4096".
#
# Usage: scripts/bench_encoder.sh [COUNT] [ITERATIONS] [PATTERN]
set -euo pipefail
cd "$(dirname "$0")/.."
count=${1:-1}
iters=${2:-3}
pattern=${3:-Document10x512}
for i in $(seq "$count"); do
	go test ./model/encoder -run '^$' -bench "^Benchmark(${pattern})$" -benchtime "${iters}x" -count 1 |
		grep -E '^Benchmark|bench_test.go'
done
