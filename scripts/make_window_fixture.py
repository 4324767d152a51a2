#!/usr/bin/env python3
"""Torch fixture for model/attention/window (sliding-window attention with
global tokens): dense masked attention and its autograd gradients.

Regenerate from the repository root with Debian's torch (1.13, installed by
`apt-get install -y python3-torch`; the pyenv `python3` on PATH lacks it):

    /usr/bin/python3 scripts/make_window_fixture.py model/attention/window/testdata/window_torch.json

Semantics (those of model/attention/window, after HF LongformerSelfAttention):
query i and key j, valid = not padding, G = global positions,
  - a padded query yields zeros; a padded key is never attended to;
  - a global query attends to all valid keys with QG[t]·KG[j]/sqrt(d) and
    values VG (separate projections; shared ones when "sep" is false);
  - any other query attends to valid keys with |i-j| <= w or j in G, with
    Q, K, V; each key once.
The attention is computed densely (n x n scores and mask) in float64, and
the gradients by autograd of sum(O * dO).
"""
import json
import sys

import torch


def attention(n, d, w, glob, mask, q, k, v, qg, kg, vg):
    idx = torch.arange(n)
    is_g = torch.zeros(n, dtype=torch.bool)
    is_g[glob] = True
    valid = torch.ones(n, dtype=torch.bool) if mask is None else torch.tensor(mask, dtype=torch.bool)
    band = (idx[:, None] - idx[None, :]).abs() <= w
    allowed = valid[:, None] & valid[None, :] & (band | is_g[:, None] | is_g[None, :])
    # Global rows use the global projections: QG scattered into rows G.
    q_full = torch.where(is_g[:, None], torch.zeros(n, d, dtype=q.dtype).index_copy(0, torch.tensor(glob, dtype=torch.long), qg), q) if glob else q
    scale = 1.0 / d ** 0.5
    s_loc = q_full @ k.T * scale
    s_glob = q_full @ kg.T * scale
    s = torch.where(is_g[:, None], s_glob, s_loc)
    any_key = allowed.any(dim=1, keepdim=True)
    # Rows without keys get finite dummy scores (no NaN in autograd) and
    # are zeroed after the softmax.
    s = s.masked_fill(~allowed, float("-inf")).masked_fill(~any_key, 0.0)
    p = torch.softmax(s, dim=1) * any_key
    return torch.where(is_g[:, None], p @ vg, p @ v)


def case(name, gen, n, d, w, glob, mask, sep):
    r = lambda *shape: torch.randn(*shape, generator=gen, dtype=torch.float64)
    q, k, v = r(n, d).requires_grad_(), r(n, d).requires_grad_(), r(n, d).requires_grad_()
    if sep:
        qg, kg, vg = r(len(glob), d).requires_grad_(), r(n, d).requires_grad_(), r(n, d).requires_grad_()
        leaves = [q, k, v, qg, kg, vg]
    else:
        qg, kg, vg = q[glob], k, v
        leaves = [q, k, v]
    d_o = r(n, d)
    out = attention(n, d, w, glob, mask, q, k, v, qg, kg, vg)
    (out * d_o).sum().backward()
    flat = lambda t: [float(x) for x in t.detach().reshape(-1)]
    c = {"name": name, "n": n, "d": d, "w": w, "global": glob, "mask": mask, "sep": sep,
         "q": flat(q), "k": flat(k), "v": flat(v), "do": flat(d_o), "out": flat(out),
         "dq": flat(q.grad), "dk": flat(k.grad), "dv": flat(v.grad)}
    if sep:
        c.update({"qg": flat(qg), "kg": flat(kg), "vg": flat(vg),
                  "dqg": flat(qg.grad), "dkg": flat(kg.grad), "dvg": flat(vg.grad)})
    return c


def main():
    gen = torch.Generator().manual_seed(20261122)
    cases = [
        # Shared projections, CLS global, padded tail.
        case("cls_shared_padded", gen, 10, 4, 2, [0], [1] * 7 + [0] * 3, False),
        # Separate global projections, two globals (one inside others' windows).
        case("two_global_separate", gen, 9, 3, 1, [0, 4], None, True),
        # n < 2w+1, no global, an interior pad.
        case("short_no_global", gen, 4, 3, 3, [], [1, 0, 1, 1], False),
    ]
    text = json.dumps({"torch": torch.__version__, "cases": cases}, separators=(",", ":"))
    with open(sys.argv[1], "w") as f:
        f.write(text + "\n")


if __name__ == "__main__":
    main()
