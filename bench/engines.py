"""Which engine and input layout is fastest, per workload: single-thread CPU seconds.

Runs one epoch of fastnet with every (layout, engine) choice forced, next to
the NumPy peer, in one process with BLAS pinned to one thread, and prints the
CPU seconds (``time.process_time``) per epoch and the ratio to NumPy. The
thresholds GEMM_MIN_* and DENSE_FROM (``kernels/tunables.py``) come from
these numbers. Usage:

    OPENBLAS_NUM_THREADS=1 NUMBA_NUM_THREADS=1 python -m bench.engines [--n 10000]
"""
from __future__ import annotations

import argparse
import time

import numpy as np

import fastnet
from fastnet.kernels.layout import ENGINE_NAMES
from bench import data as bench_data
from bench.peers.numpy_matrix import NumpyMatrix

CASES = [  # (sizes, activation, batch, inputs)
    ((784, 30, 10), "sigmoid", 10, "mnist"),
    ((784, 100, 10), "sigmoid", 10, "mnist"),
    ((784, 100, 10), "sigmoid", 100, "mnist"),
    ((784, 100, 10), "sigmoid", 10, "grey"),
    ((784, 100, 10), "sigmoid", 10, "noisy"),
    ((784, 800, 10), "relu", 32, "mnist"),
    ((784, 1000, 1000, 10), "relu", 32, "noisy"),
]


def cpu_seconds(function, *args, repeats=2, **kwargs):
    """The least CPU time of ``repeats`` calls of function(*args, **kwargs)."""
    best = np.inf
    for _ in range(repeats):
        began = time.process_time()
        function(*args, **kwargs)
        best = min(best, time.process_time() - began)
    return best


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10000, help="training images per epoch")
    args = parser.parse_args(argv)
    mnist = bench_data.load()
    sets = {"mnist": mnist.X_train[:args.n]}
    for kind in ("grey", "noisy"):
        sets[kind] = bench_data.denser(sets["mnist"], kind)
    y = mnist.y_train[:args.n]
    for sizes, activation, batch, inputs in CASES:
        X = sets[inputs]
        peer = NumpyMatrix(sizes, batch_size=batch, eta=0.1, activation=activation)
        order = np.random.default_rng(0).permutation(len(X))
        numpy_s = cpu_seconds(peer.train_epoch, (X, y), order)
        parts = [f"{list(sizes)} {activation} b{batch} {inputs}: numpy {numpy_s:.3f}s"]
        for layout in ("sparse", "dense"):
            data = fastnet.Dataset(X, y, layout=layout)
            for engine in ENGINE_NAMES:
                net = fastnet.Network(sizes, activation=activation, seed=1)
                net.engine = engine
                net.fit(data, epochs=1, batch_size=batch, eta=0.1, monitor=False)  # warm
                s = cpu_seconds(net.fit, data, epochs=1, batch_size=batch, eta=0.1,
                                monitor=False)
                parts.append(f"{layout}/{engine} {s:.3f}s {numpy_s / s:.2f}x")
        print(" | ".join(parts), flush=True)


if __name__ == "__main__":
    main()
