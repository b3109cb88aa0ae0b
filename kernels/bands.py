"""Compiled kernels run at once in Python threads: the kernels release the
GIL, so T calls in T threads run on T cores without a parallel region to
compile (each such region costs seconds of compile time on the first call in
a fresh environment)."""
import threading

import numba

from .subnormals import flushed


def at_once(call, threads):
    """Call ``call(t)`` for t in [0, threads), each in a thread of its own,
    all at the same time (t = 0 in the calling thread): calls that wait for
    each other (``barrier.meet``) may; each with subnormals flushed to zero
    (``subnormals.flushed``).  Returns when all have returned, and raises the
    first error any of them raised."""
    errors = []

    def run(t):
        try:
            with flushed():
                call(t)
        except BaseException as error:  # handed to the calling thread below
            errors.append(error)
    others = [threading.Thread(target=run, args=(t,), name=f"fastnet-{t}", daemon=True)
              for t in range(1, threads)]
    for thread in others:
        thread.start()
    run(0)
    for thread in others:
        thread.join()
    if errors:
        raise errors[0]


def in_bands(call, n, threads=None):
    """Call ``call(first, last)`` once per band of the rows [0, n), at once;
    ``threads`` bands (default Numba's thread count, ``NUMBA_NUM_THREADS`` or
    ``numba.set_num_threads``), fewer where n is smaller."""
    threads = max(1, min(numba.get_num_threads() if threads is None else threads, n))
    bounds = [n * t // threads for t in range(threads + 1)]
    at_once(lambda t: call(bounds[t], bounds[t + 1]), threads)


def in_blocks(call, n, blocks, threads=None):
    """Call ``call(b, first, last)`` for each of ``blocks`` equal blocks b of the
    rows [0, n), at once: thread t (of ``threads``, as for ``in_bands``, at most
    ``blocks``) takes blocks t, t + T, ...  A block is the same whatever the
    thread count, so what each call computes does not depend on it."""
    threads = max(1, min(numba.get_num_threads() if threads is None else threads, blocks))
    at_once(lambda t: [call(b, n * b // blocks, n * (b + 1) // blocks)
                       for b in range(t, blocks, threads)], threads)
