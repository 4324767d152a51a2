#!/usr/bin/env python3
"""Load an .npz with numpy and print each array's name, dtype and shape, and
the code->row map beside it (<name>.types.json, see data/embfile) if present:
the check that files written by icdcode's data/embfile load in the Python
world. Exits non-zero if numpy cannot load the file or the map does not
cover W_emb's rows.

    /usr/bin/python3 scripts/check_npz.py model.npz

(Debian's Python: `apt-get install -y python3-numpy`; the pyenv `python3` on
PATH lacks numpy.)
"""
import json
import os
import sys

import numpy as np


def main(path):
    with np.load(path, allow_pickle=False) as z:
        for name in z.files:
            a = z[name]
            print('%s %s %s' % (name, a.dtype.str, a.shape))
        rows = z['W_emb'].shape[0] if 'W_emb' in z.files else None
    types_path = path[:-len('.npz')] + '.types.json' if path.endswith('.npz') else None
    if types_path and os.path.exists(types_path):
        with open(types_path) as f:
            types = json.load(f)
        print('types %d codes' % len(types))
        if rows is not None and sorted(types.values()) != list(range(rows)):
            sys.exit('%s does not map codes onto rows 0..%d of W_emb' % (types_path, rows - 1))


if __name__ == '__main__':
    main(sys.argv[1])
