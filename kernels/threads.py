"""Synchronous data-parallel SGD: the samples of each batch split across threads.

Thread t of T takes the batch's samples [t·m/T, (t+1)·m/T), forwards and
backpropagates them in its own ``Buffers`` (``work[t]``) and adds their raw
gradient sum into its own row of ``grads`` (T, p).  Then one pass over the
parameters (split across the threads by index) adds the rows in a fixed order
(0, 1, ..., T−1), applies the step and zeroes the rows.  Nothing depends on
which thread ran what, so a given T gives bit-identical weights on every run;
against T = 1 (``train.train_epoch``) the sums are only grouped differently,
equal within float rounding.

Same records and conventions as ``train.train_epoch``; each thread's buffers
are rows of two arrays (``thread_buffers``), for ⌈batch_size/T⌉ samples.  The lazy weight decay is not
needed here: the decay joins the one pass that touches every weight anyway.
"""
from collections import namedtuple

import numpy as np
from numba import prange

from .batch import accumulate_batch, backward_batch, forward_batch, prefetch_rows
from .dropout import stream_key
from .jit import kernel
from .layout import B_OFF, ENGINE, N_IN, PER_SAMPLE, n_units
from .train import Buffers, Inputs
from .update import sgd_update


ThreadStep = namedtuple("ThreadStep", ["keep", "output", "cost"])


def thread_buffers(layers, batch_size, threads, dtype):
    """Zeroed buffers of T = ``threads`` threads for batches of ``batch_size``:
    units (5, T, ⌈batch_size/T⌉·U) — Z, A, Ad, M, D — and X (T, ⌈batch_size/T⌉·n_in),
    X empty unless the first layer runs on a matrix engine."""
    share = -(-batch_size // threads)
    inputs = share * layers[0, N_IN] if layers[0, ENGINE] != PER_SAMPLE else 0
    return (np.zeros((5, threads, share * n_units(layers)), dtype=dtype),
            np.zeros((threads, inputs), dtype=dtype))


@kernel
def split(m, t, T):
    """Thread t's share [lo, hi) of a batch of m samples."""
    return t * m // T, (t + 1) * m // T


@kernel(parallel=True)
def reduce_step(theta, grad, grads, n_weights, m, eta, l2_rate, direct):
    """Add the T gradient rows in order and zero them: plain SGD steps theta
    (with the L2 decay of the weights); otherwise grad = mean gradient.
    (A parallel loop takes arrays and scalars, not records.)"""
    T, p = grads.shape[0], grads.shape[1]
    rate = -eta / m
    decay = 1.0 - eta * l2_rate
    for c in prange(T):
        lo, hi = split(p, c, T)
        for k in range(lo, hi):
            total = grads[0, k]
            grads[0, k] = 0.0
            for t in range(1, T):
                total += grads[t, k]
                grads[t, k] = 0.0
            if not direct:
                grad[k] = total / m
            elif k < n_weights and l2_rate != 0.0:
                theta[k] = decay * theta[k] + rate * total
            else:
                theta[k] += rate * total


@kernel
def thread_share(t, units, X, grads, theta, layers, data, rows, position, step, key):
    """grads[t] += raw gradient sum of thread t's share of the batch ``rows``,
    in its own buffers: units[:, t] (Z, A, Ad, M, D) and X[t]."""
    lo, hi = split(rows.shape[0], t, grads.shape[0])
    if hi > lo:
        share = rows[lo:hi]
        work = Buffers(units[0, t], units[1, t], units[2, t], units[3, t], units[4, t], X[t])
        forward_batch(work, theta, layers, data, share, step.keep, key, position + lo, 1.0)
        backward_batch(work, theta, layers, data.Y, share, step.output, step.cost, step.keep,
                       1.0)
        accumulate_batch(grads[t], 1.0, work, layers, data, share, step.keep, 1.0)


@kernel(parallel=True)
def batch_gradients(units, X, grads, theta, layers, indptr, indices, values, dense, Y,
                    rows, position, step_values, key):
    """Every thread's ``thread_share`` of one batch, in parallel.  A parallel
    loop takes arrays and scalars only, so the records come in unpacked
    (``step_values`` = (keep, output, cost)) and are rebuilt per thread."""
    for t in prange(grads.shape[0]):
        data = Inputs(indptr, indices, values, dense, Y)
        keep, output, cost = step_values
        step = ThreadStep(keep, output, cost)
        thread_share(t, units, X, grads, theta, layers, data, rows, position, step, key)


@kernel
def train_epoch_threads(state, units, X, grads, layers, data, order, first, step):
    """``train.train_epoch`` with each batch split across T = grads.shape[0]
    threads; grads (T, p) must be zero on entry and is zero again on return.
    units (5, T, ⌈batch/T⌉·U) and X (T, ⌈batch/T⌉·n_in or 0) are the
    threads' zeroed buffers (``thread_buffers``)."""
    n = order.shape[0]
    n_weights = layers[0, B_OFF]
    batch_size = step.batch_size
    direct = step.momentum == 0.0 and step.l1_rate == 0.0
    key = stream_key(step.seed, step.epoch)
    for start in range(0, n, batch_size):
        rows = order[start:min(start + batch_size, n)]
        prefetch_rows(data, layers, order[start + batch_size:start + 2 * batch_size])
        batch_gradients(units, X, grads, state.theta, layers, data.indptr, data.indices,
                        data.values, data.dense, data.Y, rows, first + start,
                        (step.keep, step.output, step.cost), key)
        reduce_step(state.theta, state.grad, grads, n_weights, rows.shape[0], step.eta,
                    step.l2_rate, direct)
        if not direct:
            sgd_update(state.theta, state.velocity, state.grad, n_weights, step.eta,
                       step.momentum, step.nesterov, step.l2_rate, step.l1_rate)
