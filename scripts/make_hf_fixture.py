#!/usr/bin/python3
"""Build the tiny Hugging Face model fixture under model/hf/testdata/.

How it was run (Debian bookworm, Debian's torch 1.13 for the system python;
transformers and safetensors are not packaged there, so the state dicts are
built by hand with the HF tensor names and model.safetensors is written by
hand with struct+json):

    apt-get update && apt-get install -y python3-torch
    cd /work/main && /usr/bin/python3 scripts/make_hf_fixture.py model/hf/testdata

(`python3` on PATH may be another interpreter without Debian's packages: use
/usr/bin/python3.) The output is deterministic for a given torch version
(seeded torch.Generator), except legacy.bin, whose legacy format embeds a
random key; the Go tests need no Python. Total size is about 250 KB.

Contents of <out>/:
  bert/           BERT (post-LN), keys "bert.*" with legacy LayerNorm.gamma/beta
                  names, plus a tied MLM head (cls.predictions.decoder.weight
                  shares word_embeddings' storage) and cls.predictions.bias.
  bert-fp16/      the same weights cast with .half()   (both formats)
  bert-bf16/      the same weights cast with .bfloat16() (both formats)
  roberta/        RoBERTa (post-LN, positions offset by pad_token_id+1), keys "roberta.*"
  megatron-bert/  Megatron-BERT as GatorTron (pre-LN, no embedding LayerNorm,
                  final encoder.ln), keys without prefix (MegatronBertModel)
  each with config.json, pytorch_model.bin (torch.save zip format, pickle
  protocol 2), model.safetensors and, for the fp32 models, reference.json.
  special.bin / special.json: views (transposed, storage offset), a scalar,
  an int64 tensor and an fp16 view, with their values, for the pickle reader.
  legacy.bin: the pre-1.6 (non-zip) torch.save format, which the reader refuses.

reference.json (fp32 models): for each case the inputs and the reference
outputs of a plain PyTorch implementation of the architecture, computed in
float64 from the fp32 weights (GELU with erf, HF layer_norm_eps, additive mask
of -1e9 on padded keys):
  {"model_type", "layer_norm_eps", "cases": [{"name", "input_ids",
   "token_type_ids", "attention_mask", "position_ids", "hidden_states":
   [embedding output, after layer 1, ..., after layer L (for megatron-bert the
   last entry is after the final encoder.ln, i.e. equal to last_hidden_state)],
   "last_hidden_state": [seq][hidden], "pooler_output": [hidden],
   "max_abs_diff_float32": difference of the same computation in float32}]}
Rows of padded positions are included but only unmasked rows are meaningful
to compare.
"""
import collections
import json
import math
import os
import struct
import sys

import torch

V, H, L, NH, I, P = 32, 12, 2, 3, 24, 20  # vocab, hidden, layers, heads, intermediate, positions


def rnd(g, *shape, std=0.3):
    return (torch.randn(*shape, generator=g, dtype=torch.float64) * std).float()


def ln_params(g):
    return 1.0 + rnd(g, H, std=0.1), rnd(g, H, std=0.1)


def make_layers(g, sd, prefix, pre_ln):
    for i in range(L):
        p = f"{prefix}encoder.layer.{i}."
        if pre_ln:
            sd[p + "attention.ln.weight"], sd[p + "attention.ln.bias"] = ln_params(g)
        for n in ("query", "key", "value"):
            sd[p + f"attention.self.{n}.weight"] = rnd(g, H, H)
            sd[p + f"attention.self.{n}.bias"] = rnd(g, H, std=0.1)
        sd[p + "attention.output.dense.weight"] = rnd(g, H, H)
        sd[p + "attention.output.dense.bias"] = rnd(g, H, std=0.1)
        if not pre_ln:
            w, b = ln_params(g)
            sd[p + "attention.output.LayerNorm.weight"], sd[p + "attention.output.LayerNorm.bias"] = w, b
        else:
            sd[p + "ln.weight"], sd[p + "ln.bias"] = ln_params(g)
        sd[p + "intermediate.dense.weight"] = rnd(g, I, H)
        sd[p + "intermediate.dense.bias"] = rnd(g, I, std=0.1)
        sd[p + "output.dense.weight"] = rnd(g, H, I)
        sd[p + "output.dense.bias"] = rnd(g, H, std=0.1)
        if not pre_ln:
            sd[p + "output.LayerNorm.weight"], sd[p + "output.LayerNorm.bias"] = ln_params(g)


def make_model(kind, seed):
    g = torch.Generator().manual_seed(seed)
    sd = {}
    prefix = {"bert": "bert.", "roberta": "roberta.", "megatron-bert": ""}[kind]
    tv = 1 if kind == "roberta" else 2
    sd[prefix + "embeddings.word_embeddings.weight"] = rnd(g, V, H, std=0.5)
    sd[prefix + "embeddings.position_embeddings.weight"] = rnd(g, P, H, std=0.5)
    sd[prefix + "embeddings.token_type_embeddings.weight"] = rnd(g, tv, H, std=0.5)
    if kind == "roberta":  # nn.Embedding(padding_idx=pad) rows are zero at init
        sd[prefix + "embeddings.word_embeddings.weight"][1].zero_()
        sd[prefix + "embeddings.position_embeddings.weight"][1].zero_()
    if kind == "bert":
        sd[prefix + "embeddings.word_embeddings.weight"][0].zero_()
    if kind != "megatron-bert":
        sd[prefix + "embeddings.LayerNorm.weight"], sd[prefix + "embeddings.LayerNorm.bias"] = ln_params(g)
    make_layers(g, sd, prefix, kind == "megatron-bert")
    if kind == "megatron-bert":
        sd[prefix + "encoder.ln.weight"], sd[prefix + "encoder.ln.bias"] = ln_params(g)
    sd[prefix + "pooler.dense.weight"] = rnd(g, H, H)
    sd[prefix + "pooler.dense.bias"] = rnd(g, H, std=0.1)
    return sd


def config(kind, dtype="float32"):
    c = {
        "architectures": {"bert": ["BertForMaskedLM"], "roberta": ["RobertaModel"],
                          "megatron-bert": ["MegatronBertModel"]}[kind],
        "attention_probs_dropout_prob": 0.1,
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1,
        "hidden_size": H,
        "initializer_range": 0.02,
        "intermediate_size": I,
        "layer_norm_eps": 1e-12 if kind != "roberta" else 1e-05,
        "max_position_embeddings": P,
        "model_type": kind,
        "num_attention_heads": NH,
        "num_hidden_layers": L,
        "pad_token_id": 1 if kind == "roberta" else 0,
        "position_embedding_type": "absolute",
        "torch_dtype": dtype,
        "transformers_version": "4.42.4",
        "type_vocab_size": 1 if kind == "roberta" else 2,
        "use_cache": True,
        "vocab_size": V,
    }
    if kind == "roberta":
        c["bos_token_id"], c["eos_token_id"] = 0, 2
    if kind == "megatron-bert":
        c["tokenizer_type"] = "BertWordPieceCase"
    return c


# ---------------------------------------------------------------- reference


def layer_norm(x, w, b, eps):
    mu = x.mean(-1, keepdim=True)
    var = ((x - mu) ** 2).mean(-1, keepdim=True)
    return (x - mu) / torch.sqrt(var + eps) * w + b


def gelu(x):
    return x * 0.5 * (1.0 + torch.erf(x / math.sqrt(2.0)))


def linear(sd, name, x):
    return x @ sd[name + ".weight"].t() + sd[name + ".bias"]


def self_attention(sd, p, x, mask):
    S = x.shape[0]
    hd = H // NH
    q = linear(sd, p + "attention.self.query", x).view(S, NH, hd).transpose(0, 1)
    k = linear(sd, p + "attention.self.key", x).view(S, NH, hd).transpose(0, 1)
    v = linear(sd, p + "attention.self.value", x).view(S, NH, hd).transpose(0, 1)
    scores = q @ k.transpose(1, 2) / math.sqrt(hd)
    scores = scores + (1.0 - mask.to(x.dtype)).view(1, 1, S) * -1e9
    probs = torch.softmax(scores, dim=-1)
    ctx = (probs @ v).transpose(0, 1).reshape(S, H)
    return linear(sd, p + "attention.output.dense", ctx)


def forward(kind, sd, prefix, ids, tt, mask, pos, eps, dtype):
    sd = {k[len(prefix):]: v.to(dtype) for k, v in sd.items() if k.startswith(prefix)}
    ids, tt, pos = torch.tensor(ids), torch.tensor(tt), torch.tensor(pos)
    mask = torch.tensor(mask)
    x = (sd["embeddings.word_embeddings.weight"][ids] + sd["embeddings.token_type_embeddings.weight"][tt]
         + sd["embeddings.position_embeddings.weight"][pos])
    if kind != "megatron-bert":
        x = layer_norm(x, sd["embeddings.LayerNorm.weight"], sd["embeddings.LayerNorm.bias"], eps)
    states = [x]
    for i in range(L):
        p = f"encoder.layer.{i}."
        if kind == "megatron-bert":
            a = x + self_attention(sd, p, layer_norm(x, sd[p + "attention.ln.weight"], sd[p + "attention.ln.bias"], eps), mask)
            h = layer_norm(a, sd[p + "ln.weight"], sd[p + "ln.bias"], eps)
            x = a + linear(sd, p + "output.dense", gelu(linear(sd, p + "intermediate.dense", h)))
        else:
            a = layer_norm(x + self_attention(sd, p, x, mask), sd[p + "attention.output.LayerNorm.weight"],
                           sd[p + "attention.output.LayerNorm.bias"], eps)
            f = linear(sd, p + "output.dense", gelu(linear(sd, p + "intermediate.dense", a)))
            x = layer_norm(a + f, sd[p + "output.LayerNorm.weight"], sd[p + "output.LayerNorm.bias"], eps)
        states.append(x)
    if kind == "megatron-bert":
        x = layer_norm(x, sd["encoder.ln.weight"], sd["encoder.ln.bias"], eps)
        states[-1] = x  # HF: the final ln is applied to the last hidden state
    pooled = torch.tanh(linear(sd, "pooler.dense", x[0]))
    return states, x, pooled


def cases(kind):
    if kind == "roberta":
        raw = [("plain", [0, 10, 11, 12, 13, 2], None), ("padded", [0, 20, 21, 2, 1, 1], None)]
        pad = 1
    else:
        raw = [("pair", [2, 10, 11, 12, 3, 20, 21, 3], [0, 0, 0, 0, 0, 1, 1, 1]),
               ("padded", [2, 30, 31, 3, 0, 0], None)]
        pad = 0
    out = []
    for name, ids, tt in raw:
        mask = [0 if (name == "padded" and t == pad) else 1 for t in ids]
        if tt is None:
            tt = [0] * len(ids)
        if kind == "roberta":  # create_position_ids_from_input_ids
            pos, c = [], 0
            for m in mask:
                c += m
                pos.append(c * m + pad)
        else:
            pos = list(range(len(ids)))
        out.append((name, ids, tt, mask, pos))
    return out


def reference(kind, sd, cfg):
    prefix = {"bert": "bert.", "roberta": "roberta.", "megatron-bert": ""}[kind]
    sd = {k.replace("LayerNorm.gamma", "LayerNorm.weight").replace("LayerNorm.beta", "LayerNorm.bias"): v
          for k, v in sd.items()}
    eps = cfg["layer_norm_eps"]
    res = {"model_type": kind, "layer_norm_eps": eps, "cases": []}
    for name, ids, tt, mask, pos in cases(kind):
        states, last, pooled = forward(kind, sd, prefix, ids, tt, mask, pos, eps, torch.float64)
        _, last32, _ = forward(kind, sd, prefix, ids, tt, mask, pos, eps, torch.float32)
        keep = torch.tensor(mask).bool()
        diff = (last32.double() - last)[keep].abs().max().item()
        res["cases"].append({
            "name": name, "input_ids": ids, "token_type_ids": tt, "attention_mask": mask,
            "position_ids": pos,
            "hidden_states": [r10(s.tolist()) for s in states],
            "last_hidden_state": r10(last.tolist()),
            "pooler_output": r10(pooled.tolist()),
            "max_abs_diff_float32": diff,
        })
    return res


# ---------------------------------------------------------------- writers

ST_DTYPE = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16", torch.float64: "F64",
            torch.int64: "I64"}


def tensor_bytes(t):
    t = t.contiguous()
    if t.dtype in (torch.float16, torch.bfloat16):
        return t.view(torch.int16).numpy().tobytes()
    return t.numpy().tobytes()


def save_safetensors(sd, path):
    header, blobs, off = {"__metadata__": {"format": "pt"}}, [], 0
    for name in sorted(sd):
        b = tensor_bytes(sd[name])
        header[name] = {"dtype": ST_DTYPE[sd[name].dtype], "shape": list(sd[name].shape),
                        "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def r10(x):
    """Rounds nested lists of floats to 10 significant digits (keeps reference.json small)."""
    if isinstance(x, list):
        return [r10(v) for v in x]
    return float("%.10g" % x)


def write_json(obj, path, indent=None):
    with open(path, "w") as f:
        json.dump(obj, f, indent=indent, sort_keys=True)
        f.write("\n")


def save_model(out, name, kind, sd, dtype=torch.float32, ref=True):
    d = os.path.join(out, name)
    os.makedirs(d, exist_ok=True)
    cfg = config(kind, {torch.float32: "float32", torch.float16: "float16", torch.bfloat16: "bfloat16"}[dtype])
    write_json(cfg, os.path.join(d, "config.json"), indent=2)
    sd = {k: v.to(dtype) for k, v in sd.items()}
    if kind == "bert":  # tied MLM decoder: shares the embedding storage (as torch.save of a tied model does)
        sd["cls.predictions.decoder.weight"] = sd["bert.embeddings.word_embeddings.weight"]
        sd["cls.predictions.bias"] = torch.zeros(V, dtype=dtype)
    od = collections.OrderedDict(sorted(sd.items()))  # as model.state_dict(): an OrderedDict with _metadata
    od._metadata = collections.OrderedDict([("", {"version": 1}), ("encoder", {"version": 1})])
    torch.save(od, os.path.join(d, "pytorch_model.bin"))
    save_safetensors({k: v.clone() for k, v in sd.items()}, os.path.join(d, "model.safetensors"))
    if ref:
        write_json(reference(kind, {k: v.float() for k, v in sd.items()}, cfg), os.path.join(d, "reference.json"))


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "model/hf/testdata"
    os.makedirs(out, exist_ok=True)
    bert = make_model("bert", 1)
    # legacy TF-era names, as in bert-base-uncased's checkpoint
    bert = {k.replace("LayerNorm.weight", "LayerNorm.gamma").replace("LayerNorm.bias", "LayerNorm.beta"): v
            for k, v in bert.items()}
    save_model(out, "bert", "bert", bert)
    save_model(out, "bert-fp16", "bert", bert, torch.float16, ref=False)
    save_model(out, "bert-bf16", "bert", bert, torch.bfloat16, ref=False)
    save_model(out, "roberta", "roberta", make_model("roberta", 2))
    save_model(out, "megatron-bert", "megatron-bert", make_model("megatron-bert", 3))

    base = torch.arange(24, dtype=torch.float32).reshape(4, 6) / 4
    special = {
        "transposed": base.t(),             # stride (1, 6)
        "rows": base[1:3],                  # storage offset 6
        "column": base[:, 2],               # offset 2, stride (6,)
        "scalar": torch.tensor(3.5),
        "long": torch.arange(5) * 1000,
        "half_row": base.half()[2],         # fp16, offset 12
        "bf16": (base[0] - 0.3).bfloat16(),
        "double": base[3].double() / 3,
        "empty": torch.zeros(0, 3),
    }
    torch.save(special, os.path.join(out, "special.bin"))
    write_json({k: {"shape": list(v.shape), "stride": list(v.stride()), "offset": v.storage_offset(),
                    "values": v.double().flatten().tolist()} for k, v in special.items()},
               os.path.join(out, "special.json"), indent=1)
    torch.save({"w": base}, os.path.join(out, "legacy.bin"), _use_new_zipfile_serialization=False)


if __name__ == "__main__":
    main()
