#!/usr/bin/env bash
# bench_torch.sh: compare icdcode's CPU engine with PyTorch on the CPU, on
#
#  1. one BERT-base layer, forward+backward (model/layers,
#     BenchmarkBertLayer): post-LN, hidden 768, 12 heads, FFN 3072, one
#     sequence of 512 tokens, fused QKV projection, erf GELU, LayerNorm eps
#     1e-12, no dropout, a fixed random output gradient;
#  2. one full training step of a small reference encoder
#     (model/encoder, BenchmarkTrainStep): BERT post-LN, 4 layers, hidden
#     256, 4 heads, FFN 1024, vocab 30522, 512 positions, embeddings
#     word+position+type with LayerNorm, pooler tanh(CLS·W+b), a linear head
#     to 50 labels and mean BCE-with-logits against fixed random 0/1 targets;
#     one step = forward over 4 sequences × 512 tokens, backward, AdamW
#     (lr 1e-4, betas 0.9/0.999, eps 1e-8, weight decay 0.01 on every
#     parameter) and zeroing the gradients; no dropout.
#
# Both sides use float32 and two threads: GOMAXPROCS=2 for Go,
# torch.set_num_threads(2) (and OPENBLAS_NUM_THREADS=2) for PyTorch, which
# writes the same architectures with plain torch ops below. Each side
# reports the best of REPS timed iterations after an untimed warm-up (the
# first step also allocates the optimizer state on both sides), since the
# machine is shared and noisy; run the script more than once and quote
# ranges (ROUNDS interleaves the sides within one run). Ratios are
# Go/PyTorch: ≤ 1 means Go is at least as fast.
#
# One difference in the work done, by design of each side: the Go engine's
# embedding gradients are sparse, so AdamW updates only the embedding rows
# the batch used (about 2 k of the 30522 word rows); torch.optim.AdamW with
# nn.functional.embedding gets a dense 30522×256 gradient and updates (and
# decays) every row, as a stock PyTorch training loop does. The PyTorch
# line of the training step therefore also prints its optimizer time.
#
# PyTorch is Debian's python3-torch (apt-get install -y python3-torch),
# installed for /usr/bin/python3 only (PYTHON overrides). It calls
# libblas.so.3, i.e. whatever the system's BLAS alternative points to:
# Debian's generic reference BLAS (about 5 GFLOP/s here) unless OpenBLAS is
# installed system-wide. The script prints the library actually loaded and
# runs PyTorch twice:
#
#  - on the system BLAS;
#  - on OpenBLAS, for this process only (LD_LIBRARY_PATH; the system's BLAS
#    alternative is never changed): from OPENBLAS_DIR if set (a directory
#    holding OpenBLAS's libblas.so.3), otherwise from a private copy of
#    Debian's libopenblas0-pthread that the script fetches once with
#    `apt-get download` (after `apt-get update` if the first try fails) and
#    unpacks with `dpkg -x` into OPENBLAS_CACHE (default
#    ${TMPDIR:-/tmp}/icdcode-openblas). Without apt or a network the
#    OpenBLAS run is skipped with a note and only system-BLAS numbers are
#    printed. libopenblas0-pthread needs libgfortran5, which python3-torch
#    already pulls in through liblapack3.
#
# Usage: [ROUNDS=R] scripts/bench_torch.sh [REPS]
# REPS (default 5) timed iterations per side and run; ROUNDS (default 1)
# interleaved runs of all sides, each side keeping its best.
set -euo pipefail
cd "$(dirname "$0")/.."
reps=${1:-5}
rounds=${ROUNDS:-1}
if ! [[ $reps =~ ^[1-9][0-9]*$ && $rounds =~ ^[1-9][0-9]*$ ]]; then
	echo "usage: [ROUNDS=R] $0 [REPS] (positive integers)" >&2
	exit 2
fi
python=${PYTHON:-/usr/bin/python3}
cache=${OPENBLAS_CACHE:-${TMPDIR:-/tmp}/icdcode-openblas}

# go_bench PKG NAME prints the output of REPS runs of benchmark NAME in
# PKG, one iteration each (every run does its own untimed warm-up).
go_bench() {
	GOMAXPROCS=2 go test "$1" -run '^$' -bench "^$2\$" -benchtime 1x -count "$reps"
}

# best METRIC prints the smallest value of METRIC (e.g. s/iter) in the
# benchmark output on stdin, and fails when there is none.
best() {
	awk -v metric="$1" '$1 ~ /^Benchmark/ {
		for (i = 3; i < NF; i++) if ($(i+1) == metric) { v = $i + 0; if (best == "" || v < best) best = v }
	} END { if (best == "") exit 1; print best }'
}

# fetch_openblas unpacks libopenblas0-pthread into $cache (once) and prints
# the directory holding its libblas.so.3; it fails without apt or network.
fetch_openblas() {
	local lib
	lib=$(find "$cache" -path '*openblas-pthread/libblas.so.3' 2>/dev/null | head -n 1)
	if [[ -z $lib ]]; then
		command -v apt-get >/dev/null && command -v dpkg >/dev/null || return 1
		mkdir -p "$cache" || return 1
		rm -f "$cache"/libopenblas0-pthread_*.deb
		# apt-get download writes into the current directory; as root it
		# also warns that the _apt user cannot write there (harmless).
		if ! (cd "$cache" && apt-get download libopenblas0-pthread) >&2; then
			apt-get update >&2 || return 1
			(cd "$cache" && apt-get download libopenblas0-pthread) >&2 || return 1
		fi
		dpkg -x "$cache"/libopenblas0-pthread_*.deb "$cache" || return 1
		lib=$(find "$cache" -path '*openblas-pthread/libblas.so.3' | head -n 1)
		[[ -n $lib ]] || return 1
	fi
	dirname "$lib"
}

torch_py=$(mktemp "${TMPDIR:-/tmp}/bench_torch.XXXXXX.py")
trap 'rm -f "$torch_py"' EXIT
cat >"$torch_py" <<'PY'
# Prints "blas PATH", "layer S" and "step S OPT_S" (best of REPS seconds).
import ctypes, math, os, sys, time
import torch
import torch.nn.functional as F

torch.set_num_threads(2)
torch.manual_seed(0)
reps = int(sys.argv[1])


def best_of(step):
    step()  # warm-up (allocates the optimizer state in the training step)
    best = float("inf")
    for _ in range(reps):
        t0 = time.perf_counter()
        step()
        best = min(best, time.perf_counter() - t0)
    return best


def uniform(*shape, lo=-0.1, hi=0.1):
    return torch.empty(*shape).uniform_(lo, hi).requires_grad_()


def normal(*shape, std=0.02):
    return (torch.randn(*shape) * std).requires_grad_()


def zeros(*shape):
    return torch.zeros(*shape).requires_grad_()


def ones(*shape):
    return torch.ones(*shape).requires_grad_()


def bert_layer(x, p, batch, n, heads, eps=1e-12):
    """Post-LN BERT layer on x (batch·n × d), fused QKV, erf GELU, no dropout."""
    wqkv, bqkv, wo, bo, g1, b1, w1, c1, w2, c2, g2, b2 = p
    d = x.shape[1]
    dh = d // heads
    qkv = x @ wqkv + bqkv
    q, k, v = qkv.view(batch, n, 3, heads, dh).permute(2, 0, 3, 1, 4)
    att = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(dh), dim=-1) @ v
    att = att.transpose(1, 2).reshape(batch * n, d)
    h = F.layer_norm(x + att @ wo + bo, (d,), g1, b1, eps)
    f = F.gelu(h @ w1 + c1) @ w2 + c2
    return F.layer_norm(h + f, (d,), g2, b2, eps)


# 1. One BERT-base layer, forward+backward (as BenchmarkBertLayer).
n, d, heads, ffn = 512, 768, 12, 3072
a = lambda fan_in: math.sqrt(3.0 / fan_in)
lp = [uniform(d, 3 * d, lo=-a(d), hi=a(d)), uniform(3 * d),
      uniform(d, d, lo=-a(d), hi=a(d)), uniform(d),
      uniform(d, lo=0.8, hi=1.2), uniform(d),
      uniform(d, ffn, lo=-a(d), hi=a(d)), uniform(ffn),
      uniform(ffn, d, lo=-a(ffn), hi=a(ffn)), uniform(d),
      uniform(d, lo=0.8, hi=1.2), uniform(d)]
x = uniform(n, d, lo=-1, hi=1)
dy = torch.randn(n, d)


def layer_step():
    for t in [x] + lp:
        t.grad = None
    bert_layer(x, lp, 1, n, heads).backward(dy)


layer_s = best_of(layer_step)
del lp, x, dy

# 2. One training step of the small reference encoder (as BenchmarkTrainStep).
V, P, T, d, nl, heads, ffn, labels, B, n = 30522, 512, 2, 256, 4, 4, 1024, 50, 4, 512
word, pos, typ = normal(V, d), normal(P, d), normal(T, d)
with torch.no_grad():
    word[0].zero_()  # pad_token_id row, as HF's _init_weights and encoder.New
emb_norm = [ones(d), zeros(d)]
layers = [[normal(d, 3 * d), zeros(3 * d), normal(d, d), zeros(d), ones(d), zeros(d),
           normal(d, ffn), zeros(ffn), normal(ffn, d), zeros(d), ones(d), zeros(d)]
          for _ in range(nl)]
pooler = [normal(d, d), zeros(d)]
head = [normal(d, labels), zeros(labels)]
params = [word, pos, typ] + emb_norm + [t for l in layers for t in l] + pooler + head
ids = torch.randint(1000, V, (B, n))
ids[:, 0] = 101
positions = torch.arange(n).expand(B, n)
types = torch.zeros(B, n, dtype=torch.long)
targets = torch.randint(0, 2, (B, labels)).float()
opt = torch.optim.AdamW(params, lr=1e-4, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01)


def model_loss():
    x = F.embedding(ids, word) + F.embedding(positions, pos) + F.embedding(types, typ)
    x = F.layer_norm(x, (d,), *emb_norm, 1e-12).reshape(B * n, d)
    for p in layers:
        x = bert_layer(x, p, B, n, heads)
    pooled = torch.tanh(x.view(B, n, d)[:, 0] @ pooler[0] + pooler[1])
    logits = pooled @ head[0] + head[1]
    return F.binary_cross_entropy_with_logits(logits, targets)


opt_times = []


def train_step():
    loss = model_loss()
    loss.backward()
    t0 = time.perf_counter()
    opt.step()
    opt_times.append(time.perf_counter() - t0)
    opt.zero_grad(set_to_none=True)


step_s = best_of(train_step)

# Which libblas.so.3 torch got: the file defining the sgemm_ of the loaded
# libblas.so.3 (dlopen by soname returns the copy already loaded). Scanning
# /proc/self/maps would mislead: with the reference BLAS first on
# LD_LIBRARY_PATH, OpenBLAS is still mapped as the system's liblapack.so.3.
class DlInfo(ctypes.Structure):
    _fields_ = [("fname", ctypes.c_char_p), ("fbase", ctypes.c_void_p),
                ("sname", ctypes.c_char_p), ("saddr", ctypes.c_void_p)]


blas = "?"
try:
    info = DlInfo()
    sgemm = ctypes.cast(ctypes.CDLL("libblas.so.3").sgemm_, ctypes.c_void_p)
    if ctypes.CDLL(None).dladdr(sgemm, ctypes.byref(info)) and info.fname:
        blas = os.path.realpath(info.fname.decode())
except (OSError, AttributeError):
    pass
print("blas", blas)
print(f"layer {layer_s:.4f}")
print(f"step {step_s:.4f} {min(opt_times[1:]):.4f}")
PY

# run_torch LABEL runs the PyTorch side in the current environment and
# prints its result lines prefixed by LABEL (a word).
run_torch() {
	"$python" "$torch_py" "$reps" | sed "s/^/$1 /"
}

ob_note=""
if [[ -n ${OPENBLAS_DIR:-} ]]; then
	ob_dir=$OPENBLAS_DIR
elif ob_dir=$(fetch_openblas); then
	:
else
	ob_dir=""
	ob_note="OpenBLAS not available (could not apt-get download libopenblas0-pthread and unpack it into $cache): system-BLAS numbers only"
fi

# The sides run one after the other, so a burst of load from another
# process can hit one and not the other; ROUNDS > 1 interleaves them
# (Go, PyTorch system, PyTorch OpenBLAS, Go, ...) and keeps each side's best.
go_layer_out="" go_step_out="" results=""
for ((round = 1; round <= rounds; round++)); do
	echo "round $round/$rounds: Go ..." >&2
	go_layer_out+=$(go_bench ./model/layers BenchmarkBertLayer)$'\n'
	go_step_out+=$(go_bench ./model/encoder BenchmarkTrainStep)$'\n'
	echo "round $round/$rounds: PyTorch on the system BLAS ..." >&2
	results+=$(OPENBLAS_NUM_THREADS=2 run_torch system)$'\n'
	if [[ -n $ob_dir ]]; then
		echo "round $round/$rounds: PyTorch on OpenBLAS from $ob_dir ..." >&2
		results+=$(LD_LIBRARY_PATH="$ob_dir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" OPENBLAS_NUM_THREADS=2 run_torch openblas)$'\n'
	fi
done
go_layer=$(best s/iter <<<"$go_layer_out")
go_step=$(best s/iter <<<"$go_step_out")
go_update=$(best update-s/iter <<<"$go_step_out")

torch_version=$("$python" -c 'import torch; print(torch.__version__)')
# report TITLE GO_S KEY prints Go's time and, per PyTorch BLAS, its best
# time over the rounds and the ratio; KEY selects the result lines (layer
# or step).
report() {
	echo "$1"
	printf '  %-44s %8.4f s\n' "go (CPU kernels, GOMAXPROCS=2)" "$2"
	awk -v key="$3" -v g="$2" -v ver="$torch_version" '
		$2 == "blas" { lib[$1] = $3 }
		$2 == key {
			if (!($1 in t)) order[n++] = $1
			if (!($1 in t) || $3 < t[$1]) t[$1] = $3
			if (!($1 in o) || $4 < o[$1]) o[$1] = $4
		}
		END {
			for (i = 0; i < n; i++) {
				b = order[i]
				name = "pytorch " ver " (" (b == "system" ? "system BLAS" : "OpenBLAS") ")"
				extra = (key == "step") ? sprintf(" (AdamW best %.4f s)", o[b]) : ""
				printf "  %-44s %8.4f s  go/pytorch %.2f%s\n      BLAS loaded: %s\n", name, t[b], g / t[b], extra, lib[b]
			}
		}' <<<"$results"
}
best_of="best of $reps"
if ((rounds > 1)); then
	best_of+=" × $rounds interleaved rounds"
fi
report "BERT-base layer, 1×512 tokens, forward+backward, float32, 2 threads, $best_of" "$go_layer" layer
report "training step, reference encoder (4 layers, hidden 256, vocab 30522), 4×512 tokens, 50 labels, AdamW, $best_of" "$go_step" step
echo "  (Go's AdamW update inside the step: best $go_update s)"
if [[ -n $ob_note ]]; then
	echo "note: $ob_note"
fi
