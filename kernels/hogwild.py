"""Hogwild!: T threads run plain mini-batch SGD at once on one set of weights.

Niu, Recht, Ré and Wright (2011): when each step touches few of the
parameters — a sparse first layer updates only the rows of the non-zero
pixels — threads that step without any lock rarely overwrite each other's
work, and SGD converges as if they took turns.  Thread t takes the samples
order[t·n/T, (t+1)·n/T) of the epoch's permutation and runs
``train.train_epoch`` over them in its own buffers and Python thread,
reading and writing the shared ``theta`` as it goes.

Not bit-reproducible: which thread's update lands first changes from run to
run.  Plain SGD only (the caller refuses momentum and L1: threads sharing
one velocity would apply each other's steps); the lazy weight decay is off
(``Step.lazy``: one thread's scale of the weights would be wrong for the
others), so an L2 decay multiplies the weights at every step.
"""
import numpy as np

from .bands import at_once
from .layout import B_OFF, BLOCKED, ENGINE, GEMM, N_IN, WIDTH, n_units
from .train import Buffers, State, epoch_parts, train_epoch

NO_SAMPLES = np.zeros(0, dtype=np.int32)  # Hogwild!'s first layer is never COLUMNS


def hogwild_epoch(theta, velocity, grads, scales, units, X, costs, layers, data, order, first,
                  step):
    """One epoch (or a slice of one starting at position ``first``) of T =
    grads.shape[0] Hogwild! threads, each ``train.train_epoch`` (compiled
    once, for one thread) in a Python thread of its own.  grads (T, p) zero;
    scales (T, 1) float64 ones; units (5, T, b·U) the threads' Z, A, Ad, M,
    D and X (T, b·n_in or 0), zeroed, and costs (T,) float64, each thread's
    running cost (``hogwild_buffers``); ``data`` and
    ``step`` the records of ``train.py`` (the lazy decay is turned off)."""
    T, n = grads.shape[0], order.shape[0]
    step = step._replace(lazy=False)

    def thread(t):
        lo, hi = t * n // T, (t + 1) * n // T
        work = Buffers(units[0, t], units[1, t], units[2, t], units[3, t], units[4, t], X[t],
                       order[:0], order[:0], NO_SAMPLES, X[t, :0], costs[t:t + 1])
        train_epoch(State(theta, velocity, grads[t], scales[t]), work, layers, data,
                    order[lo:hi], first + lo, step, *epoch_parts(layers, step))
    at_once(thread, T)


def hogwild_buffers(layers, batch_size, threads, dtype):
    """Zeroed per-thread buffers for ``hogwild_epoch``: grads (T, p), scales
    (T, 1), units (5, T, batch_size·U), X (T, batch_size·n_in, or 0 where
    the first layer does not run on a matrix engine) and costs (T,)."""
    size = batch_size * n_units(layers)
    gathered = batch_size * layers[0, N_IN] if layers[0, ENGINE] in (GEMM, BLOCKED) else 0
    units = np.zeros((5, threads, size), dtype=dtype)
    return (np.zeros((threads, int(layers[-1, B_OFF] + layers[-1, WIDTH])), dtype=dtype),
            np.ones((threads, 1)), units, np.zeros((threads, gathered), dtype=dtype),
            np.zeros(threads))
