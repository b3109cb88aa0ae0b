"""Rows cut into one band per thread, each run by a compiled kernel in its
own Python thread: the kernels release the GIL, so the bands run at once
without a parallel region to compile (each such region costs seconds of
compile time on the first call in a fresh environment)."""
from concurrent.futures import ThreadPoolExecutor

import numba


def in_bands(call, n, threads=None):
    """Call ``call(first, last)`` once per band of the rows [0, n), at once;
    ``threads`` bands (default Numba's thread count, ``NUMBA_NUM_THREADS`` or
    ``numba.set_num_threads``), fewer where n is smaller."""
    threads = max(1, min(numba.get_num_threads() if threads is None else threads, n))
    if threads == 1:
        call(0, n)
        return
    bounds = [n * t // threads for t in range(threads + 1)]
    with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="fastnet-band") as pool:
        for done in [pool.submit(call, bounds[t], bounds[t + 1]) for t in range(threads)]:
            done.result()
