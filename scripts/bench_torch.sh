#!/usr/bin/env bash
# bench_torch.sh: compare one BERT-base layer's forward+backward in icdcode
# (model/layers, BenchmarkBertLayer, CPU kernels) with PyTorch on the CPU.
#
# Both run the same post-LN layer (hidden 768, 12 heads, FFN 3072, one
# sequence of 512 tokens, float32, fused QKV projection, erf GELU,
# LayerNorm eps 1e-12, no dropout) with two threads: GOMAXPROCS=2 for Go,
# torch.set_num_threads(2) for PyTorch. Each side reports the best of
# REPS timed iterations after a warm-up, since the machine is shared and
# noisy; the ratio is Go/PyTorch (≤ 1 means Go is at least as fast).
#
# PyTorch is Debian's python3-torch (apt-get install -y python3-torch),
# which is installed for /usr/bin/python3 only. Debian links it against the
# generic reference BLAS (BLAS_INFO=generic, about 5 GFLOP/s here), which
# makes PyTorch look far slower than it is. For a fair comparison point
# OPENBLAS_DIR at an OpenBLAS build of libblas.so.3; it is used for this
# process only, without changing the system's BLAS alternative:
#
#	apt-get download libopenblas0-pthread && dpkg -x libopenblas0-pthread_*.deb /tmp/ob
#	OPENBLAS_DIR=/tmp/ob/usr/lib/x86_64-linux-gnu/openblas-pthread scripts/bench_torch.sh
#
# Usage: scripts/bench_torch.sh [REPS]
set -euo pipefail
cd "$(dirname "$0")/.."
reps=${1:-5}
python=${PYTHON:-/usr/bin/python3}
blas="system BLAS"
if [[ -n ${OPENBLAS_DIR:-} ]]; then
	export LD_LIBRARY_PATH="$OPENBLAS_DIR${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" OPENBLAS_NUM_THREADS=2
	blas="OpenBLAS from $OPENBLAS_DIR"
fi

go_s=$(GOMAXPROCS=2 go test ./model/layers -run '^$' -bench '^BenchmarkBertLayer$' -benchtime 1x -count "$reps" |
	awk '/^BenchmarkBertLayer/ { for (i = 3; i < NF; i++) if ($(i+1) == "s/iter") { v = $i; if (best == "" || v < best) best = v } }
	     END { if (best == "") exit 1; print best }')

torch_s=$("$python" - "$reps" <<'PY'
import math, sys, time
import torch

torch.set_num_threads(2)
torch.manual_seed(0)
reps = int(sys.argv[1])
n, d, heads, ffn = 512, 768, 12, 3072
dh = d // heads

def param(*shape, scale=None):
    t = torch.empty(*shape)
    if scale is None:
        t.uniform_(-0.1, 0.1)
    else:
        t.uniform_(-scale, scale)
    return t.requires_grad_()

a = lambda fan_in: math.sqrt(3.0 / fan_in)
wqkv, bqkv = param(d, 3 * d, scale=a(d)), param(3 * d)
wo, bo = param(d, d, scale=a(d)), param(d)
g1, b1 = param(d, scale=None), param(d)
w1, c1 = param(d, ffn, scale=a(d)), param(ffn)
w2, c2 = param(ffn, d, scale=a(ffn)), param(d)
g2, b2 = param(d), param(d)
with torch.no_grad():
    g1.uniform_(0.8, 1.2)
    g2.uniform_(0.8, 1.2)
x = torch.empty(n, d).uniform_(-1, 1).requires_grad_()
dy = torch.randn(n, d)
params = [x, wqkv, bqkv, wo, bo, g1, b1, w1, c1, w2, c2, g2, b2]

def layer(x):
    qkv = x @ wqkv + bqkv
    q, k, v = (t.view(n, heads, dh).transpose(0, 1) for t in qkv.split(d, dim=1))
    p = torch.softmax(q @ k.transpose(1, 2) / math.sqrt(dh), dim=-1)
    att = (p @ v).transpose(0, 1).reshape(n, d)
    h = torch.nn.functional.layer_norm(x + att @ wo + bo, (d,), g1, b1, 1e-12)
    f = torch.nn.functional.gelu(h @ w1 + c1) @ w2 + c2
    return torch.nn.functional.layer_norm(h + f, (d,), g2, b2, 1e-12)

def step():
    for t in params:
        t.grad = None
    layer(x).backward(dy)

step()  # warm-up
best = float("inf")
for _ in range(reps):
    t0 = time.perf_counter()
    step()
    best = min(best, time.perf_counter() - t0)
print(f"{best:.4f}")
PY
)

echo "BERT-base layer, seq 512, float32, forward+backward, 2 threads, best of $reps"
echo "go (model/layers, CPU kernels): ${go_s} s/iter"
echo "pytorch $("$python" -c 'import torch; print(torch.__version__)') ($blas): ${torch_s} s/iter"
awk -v g="$go_s" -v t="$torch_s" 'BEGIN { printf "ratio go/pytorch: %.2f\n", g / t }'
