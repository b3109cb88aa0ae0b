"""Which BLAS fastnet's compiled products should call: each library, one thread.

    OPENBLAS_NUM_THREADS=1 python -m bench.blas [--repeats 50]

For each library ``FASTNET_BLAS`` can pick ("numpy": the OpenBLAS NumPy
ships; "scipy": SciPy's, through Numba), a fresh process times fastnet's
``gemm`` from compiled code on the products a training batch makes, next to
NumPy's own ``matmul`` on the same arrays, and prints microseconds per
product (the best of three rounds of ``--repeats``).  The library is bound
once per process, hence one process each.
"""
import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np

# (m, k, n): a batch of m against a layer of k inputs and n units
PRODUCTS = ((32, 1000, 1000), (32, 784, 800), (100, 784, 100))


def time_products(repeats):
    """{"blas": bound library, "rows": [(m, k, n, fastnet µs, matmul µs)]} in this process."""
    from fastnet.kernels import blas
    from fastnet.kernels.jit import kernel

    @kernel
    def products(C, A, B, m, n, k, count):
        for _ in range(count):
            blas.gemm(C, n, A, k, False, B, n, False, m, n, k, 1.0, 0.0)

    rng = np.random.default_rng(0)
    rows = []
    for m, k, n in PRODUCTS:
        A = rng.random((m, k), dtype=np.float32)
        B = rng.random((k, n), dtype=np.float32)
        C = np.empty((m, n), dtype=np.float32)
        flat = (C.reshape(-1), A.reshape(-1), B.reshape(-1))
        products(*flat, m, n, k, 1)  # compile, warm up
        ours = theirs = np.inf
        for _ in range(3):
            began = time.perf_counter()
            products(*flat, m, n, k, repeats)
            ours = min(ours, (time.perf_counter() - began) / repeats)
            began = time.perf_counter()
            for _ in range(repeats):
                np.matmul(A, B, out=C)
            theirs = min(theirs, (time.perf_counter() - began) / repeats)
        rows.append((m, k, n, ours * 1e6, theirs * 1e6))
    return {"blas": blas.BLAS, "rows": rows}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=50)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(time_products(args.repeats)))
        return
    for choice in ("numpy", "scipy"):
        run = subprocess.run([sys.executable, "-m", "bench.blas", "--child", "--repeats",
                              str(args.repeats)], capture_output=True, text=True, check=True,
                             env={**os.environ, "FASTNET_BLAS": choice})
        result = json.loads(run.stdout.splitlines()[-1])
        for m, k, n, ours, theirs in result["rows"]:
            print(f"FASTNET_BLAS={choice} (bound: {result['blas']}) ({m}x{k})·({k}x{n}): "
                  f"fastnet gemm {ours:8.1f} us | NumPy matmul {theirs:8.1f} us", flush=True)


if __name__ == "__main__":
    main()
