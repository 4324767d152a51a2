#!/usr/bin/env python3
"""Writes a control for label initialisation: a hierarchy-embedding JSON file
whose vectors are those of IN, dealt to the codes in a seeded random order, so
that every label still gets a distinct vector of the same distribution but no
information about its own code.

    scripts/shuffle_code_embeddings.py IN.json OUT.json [SEED]
"""
import json
import os
import random
import sys


def main():
    if len(sys.argv) not in (3, 4):
        sys.exit(__doc__)
    src, dst = sys.argv[1:3]
    rng = random.Random(int(sys.argv[3]) if len(sys.argv) == 4 else 1)
    with open(src, encoding="utf-8") as f:
        sets = json.load(f)
    out = {}
    for name, vecs in sets.items():
        codes = sorted(vecs)
        values = [vecs[c] for c in codes]
        rng.shuffle(values)
        out[name] = dict(zip(codes, values))
    tmp = dst + ".partial"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(out, f)
    os.replace(tmp, dst)
    print(f"wrote {dst}: {sum(len(v) for v in out.values())} vectors shuffled among their codes")


if __name__ == "__main__":
    main()
