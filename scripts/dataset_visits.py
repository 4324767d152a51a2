#!/usr/bin/env python3
"""Turns the documents of one split of an icdcode dataset into the JSONL visit
format of `icdcode embed` (one patient per document, one visit holding the
document's codes), so that code embeddings can be learnt from the codes that
the classifier's training notes carry: each document's codes co-occur in one
care episode, which is what Word2Vec's skip-gram over a patient's codes uses.

    scripts/dataset_visits.py DATASET_DIR SPLIT OUT.jsonl

Only the standard library is used; documents without codes are skipped and
counted. Text is never copied.
"""
import gzip
import json
import os
import sys


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    ds, split, out = sys.argv[1:]
    path = os.path.join(ds, "docs.jsonl")
    opener = open
    if not os.path.exists(path):
        path += ".gz"
        opener = gzip.open
    kept = skipped = 0
    tmp = out + ".partial"
    with opener(path, "rt", encoding="utf-8") as f, open(tmp, "w", encoding="utf-8") as w:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                doc = json.loads(line)
            except json.JSONDecodeError as e:
                sys.exit(f"{path}: line {n}: {e}")
            if doc.get("split") != split:
                continue
            codes = doc.get("codes") or []
            if not codes:
                skipped += 1
                continue
            w.write(json.dumps({"id": doc["id"], "visits": [{"codes": codes}]}) + "\n")
            kept += 1
    os.replace(tmp, out)
    print(f"wrote {out}: {kept} patients ({split} documents), {skipped} without codes skipped")


if __name__ == "__main__":
    main()
