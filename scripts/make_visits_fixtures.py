#!/usr/bin/env python3
"""Fixtures written by Python for data/visits and data/embfile: the Med2Vec
reference's pickles and a numpy .npz, so the Go readers are tested on bytes
that Python, not our own writers, produced.

Regenerate from the repository root with Debian's Python and numpy
(`apt-get install -y python3-numpy`; the pyenv `python3` on PATH lacks it):

    /usr/bin/python3 scripts/make_visits_fixtures.py data/visits/testdata data/embfile/testdata

The data are made up (no MIMIC content may enter the repository). The
pickles use protocol 2, what the reference's Python 2
`cPickle.dump(obj, f, -1)` writes:
  ref.seqs              [[0,1,2],[3,0],[-1],[2,4,300],[1]]
  ref.types             {'D_401.9': 0, 'D_E888.9': 1, ...} then 'C%d' % i for
                        i = 5..400: more than 256 memoised strings, so the
                        memo switches from BINPUT to LONG_BINPUT
  ref.3digitICD9.seqs   label rows aligned with ref.seqs
  ref.3digitICD9.types  {'D_401': 0, 'D_E888': 1, 'D_V45': 2}
  demo.pkl              [[1.5, 0.0], [2, -3.25], [0.0, 0.0]] (ints and floats)
  numpy_array.pkl       a pickled numpy array (must be rejected: GLOBAL)
  ints.pkl              [[0,255,256,65535,65536,-1,2**31-1,-2**31,2**40,-2**40]]
                        (BININT1, BININT2, BININT, LONG1)
  shared.pkl            a list holding the same inner list twice (memo BINGET)
  numpy.npz             np.savez: W_emb float32 (3,2), b_emb float64 (2,),
                        W_hidden..b_output float32, small shapes, fixed values
"""
import os
import pickle
import sys

import numpy as np


def main(visits_dir, emb_dir):
    os.makedirs(visits_dir, exist_ok=True)
    os.makedirs(emb_dir, exist_ok=True)

    names = ['D_401.9', 'D_E888.9', 'D_V45.11', 'D_995.91', 'D_250.00']
    types = {n: i for i, n in enumerate(names)}
    for i in range(len(names), 401):
        types['C%d' % i] = i
    seqs = [[0, 1, 2], [3, 0], [-1], [2, 4, 300], [1]]
    labels = [[0, 1, 2], [0], [-1], [2, 0], [1]]
    ltypes = {'D_401': 0, 'D_E888': 1, 'D_V45': 2}

    def dump(obj, name):
        with open(os.path.join(visits_dir, name), 'wb') as f:
            pickle.dump(obj, f, protocol=2)

    dump(seqs, 'ref.seqs')
    dump(types, 'ref.types')
    dump(labels, 'ref.3digitICD9.seqs')
    dump(ltypes, 'ref.3digitICD9.types')
    dump([[1.5, 0.0], [2, -3.25], [0.0, 0.0]], 'demo.pkl')
    dump(np.zeros((2, 2), dtype=np.float32), 'numpy_array.pkl')
    dump([[0, 255, 256, 65535, 65536, -1, 2**31 - 1, -2**31, 2**40, -2**40]], 'ints.pkl')
    inner = [7, 8]
    dump([inner, inner, [9]], 'shared.pkl')

    w_emb = np.array([[0.5, -1.25], [2.0, 0.0], [1e-3, 3.5]], dtype=np.float32)
    b_emb = np.array([0.1, -0.2], dtype=np.float64)
    w_hidden = np.arange(6, dtype=np.float32).reshape(2, 3) / 4
    b_hidden = np.array([1, 2, 3], dtype=np.float32)
    w_output = np.arange(12, dtype=np.float32).reshape(3, 4) - 6
    b_output = np.array([0, 0.5, -0.5, 1], dtype=np.float32)
    np.savez(os.path.join(emb_dir, 'numpy.npz'), W_emb=w_emb, b_emb=b_emb,
             W_hidden=w_hidden, b_hidden=b_hidden, W_output=w_output,
             b_output=b_output)


if __name__ == '__main__':
    main(sys.argv[1], sys.argv[2])
