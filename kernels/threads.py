"""Several threads share every mini-batch: samples for the passes, rows for the step.

Each of T threads runs the whole epoch in one compiled call
(``epoch_share``), each in a Python thread of its own (the kernels release
the GIL; ``bands.at_once``), and the threads meet at a spinning barrier
(``barrier.meet``) twice per batch, whatever the depth (once more with
clip_norm: see 2.):

1. the passes (``pass_share``): thread t takes its share of the batch's
   samples, [t·m/T, (t+1)·m/T) (``share``), and forwards and backpropagates
   them in its own rows of the batch's buffers (sample s's units lie at
   s·U: a share is a contiguous block) — a sparse first layer sample by
   sample with the register tiles of one thread (``dense.sparse_forward``).
2. the step (``step_share``): thread t adds the whole batch's gradient to
   its own rows of every weight matrix (row i of layer l's weights holds
   the weights leaving input unit i; ``row_split``), and thread 0 to the
   biases.  A sparse first layer's rows are cut where they hold equal
   shares of the data's non-zeros (``row_splits``): thread t adds, sample by
   sample in batch order, the sample's non-zeros in its columns (found by
   binary search in the sample's sorted CSR columns), band by band of its
   rows (``sparse_step.py``) — or, on the COLUMNS engine, the batch's
   non-zeros in its columns grouped by column (``columns.py``).
   With momentum, Nesterov, L1, clipping or Adam the step goes to the
   gradient buffer and the thread then updates the same rows
   (``update_share``).  Clipping needs the whole gradient's norm: each
   thread sums the squares of its own rows into ``norms[t]``, the threads
   meet once more, and each adds up the T partial sums in the same order.

One parallel region per epoch, not two per batch: a barrier costs about a
tenth of a microsecond on two cores, and there are no parallel loops to
compile (Numba compiles each ``prange`` loop with its own copy of every
function it calls).

No value is written by two threads, every thread writes contiguous memory,
no gradient is summed across threads, and the first layer's weights, the
bulk of the parameters, are each updated by one core.  Each value is
computed by one thread's kernels in one thread's order — the same order as
one thread's: equal to one thread within rounding, and bit-identical from
run to run for a given T.  Where one thread would call BLAS, every thread
calls it on its share with BLAS pinned to one thread for the fit
(``blas.one_thread``), or, where BLAS's thread count cannot be set,
``layout.plan`` puts fastnet's BLOCKED kernels there (a BLAS call from every
thread would start BLAS's own threads on top of them).

Same records and conventions as ``train.train_epoch``.
"""
import numpy as np

from .bands import at_once
from .barrier import meet, new_sync
from .batch import (backward_batch, forward_batch, input_matrix, layer_input, prefetch_rows,
                    weight_norm)
from .blas import gemm
from .blocked import block_accumulate
from .columns import column_accumulate
from .dense import bias_accumulate, dense_accumulate
from .dropout import stream_key
from .sparse_step import sparse_step
from .jit import kernel
from .layout import (B_OFF, COLUMNS, ENGINE, GEMM, N_IN, U_OFF, WIDTH, biases_of, is_matrix,
                     n_units, rows_of, units_of, weights_of)
from .train import MIN_WEIGHT_SCALE, Buffers, end_call, epoch_parts, lazy_decay
from .update import clip_factor, squared_norm, update
from .update import scale as scale_by


@kernel
def share(m, t, T):
    """Thread t's samples [lo, hi) of a batch of m, of T threads."""
    return t * m // T, (t + 1) * m // T


@kernel
def row_split(work, layers, l, t, T):
    """Thread t's rows [first, last) of layer l's weights: the first layer's
    ``row_splits`` where the buffers hold them (sparse inputs), else equal
    counts (multiples of 4 rows: the blocked products' tiles)."""
    if l == 0 and work.row_splits.shape[0] > 0:
        return work.row_splits[t], work.row_splits[t + 1]
    n = layers[l, N_IN]
    blocks = (n + 3) // 4
    return min(t * blocks // T * 4, n), min((t + 1) * blocks // T * 4, n)


@kernel
def share_buffers(work, layers, lo, t):
    """``work`` seen from sample lo of the batch on, by thread t (its cost sum)."""
    U, d = n_units(layers), layers[0, N_IN]
    dropout = work.Ad.shape[0] > 0
    gathered = work.X.shape[0] > 0
    return Buffers(work.Z[lo * U:], work.A[lo * U:], work.Ad[lo * U if dropout else 0:],
                   work.M[lo * U if dropout else 0:], work.D[lo * U:],
                   work.X[lo * d if gathered else 0:], work.row_splits, work.col_start,
                   work.col_sample, work.col_value, work.cost[t:t + 1])


@kernel(inline=True)
def pass_share(work, theta, layers, data, rows, t, T, keep, output, cost, key, position, scale):
    """Forward and backpropagate thread t's share of the batch ``rows``."""
    lo, hi = share(rows.shape[0], t, T)
    if hi > lo:
        mine = share_buffers(work, layers, lo, t)
        forward_batch(mine, theta, layers, data, rows[lo:hi], keep, key, position + lo, scale,
                      np.int64(0))
        backward_batch(mine, theta, layers, data, rows[lo:hi], output, cost, keep, scale,
                       weight_norm(data.weights, rows))


@kernel
def step_rows(work, target, layers, l, data, rows, first, last, keep, alpha, scale, decay, t, T,
              columns):
    """Rows [first, last) of layer l's weights in ``target`` (n_in, width) +=
    alpha/scale·(the batch's inputs to layer l)ᵀ @ (its deltas), after
    ``decay`` ≠ 1 multiplies them (plain SGD with a strong L2); thread t of
    T (its part of the COLUMNS scratch; ``columns`` None leaves that engine
    out: ``layout.columns_part``)."""
    width = layers[l, WIDTH]
    TW = weights_of(target, layers, l)
    if decay != 1.0:
        scale_by(TW[first * width:last * width], decay)
    U = n_units(layers)
    if is_matrix(layers, l):
        inputs, ld = input_matrix(work, layers, l, keep)
        if layers[l, ENGINE] == GEMM:  # BLAS pinned to one thread (layout.plan)
            gemm(TW[first * width:], width, inputs[first:], ld, True, rows_of(work.D, layers, l),
                 U, False, last - first, width, rows.shape[0], alpha / scale, 1.0)
        else:
            block_accumulate(TW[first * width:], width, inputs[first:], ld,
                             rows_of(work.D, layers, l), U, rows.shape[0], last - first,
                             alpha / scale)
    elif columns is not None and l == 0 and not data.dense and layers[0, ENGINE] == COLUMNS:
        n_in, cap = layers[0, N_IN], work.col_sample.shape[0] // T
        column_accumulate(TW, width, work.D, layers[0, U_OFF], U, data, rows, first, last,
                          work.col_start[t * (n_in + 1):], work.col_sample[t * cap:],
                          work.col_value[t * cap:], alpha, scale)
    elif l == 0 and not data.dense:  # the samples' non-zeros in columns [first, last)
        sparse_step(TW, work.D, layers, data, rows, first, last, alpha, scale, True)
    else:
        d = layers[0, N_IN]
        for s in range(rows.shape[0]):
            delta = units_of(work.D, layers, l, 0, s)
            if l > 0:
                x = layer_input(work.A, work.Ad, layers, l - 1, s, keep)[first:last]
            else:  # a dense first layer on the per-sample engine
                x = data.values[rows[s] * d + first:rows[s] * d + last]
            dense_accumulate(TW[first * width:], x, delta, alpha, scale)


@kernel(inline=True)
def step_share(work, target, layers, data, rows, t, T, keep, alpha, scale, decay, columns):
    """Thread t's rows of every layer's weights, and (thread 0) the biases."""
    for l in range(layers.shape[0]):
        first, last = row_split(work, layers, l, t, T)
        if last > first:
            step_rows(work, target, layers, l, data, rows, first, last, keep, alpha, scale, decay,
                      t, T, columns)
        if t == 0:
            for s in range(rows.shape[0]):
                bias_accumulate(biases_of(target, layers, l), units_of(work.D, layers, l, 0, s),
                                alpha)


@kernel(inline=True)
def share_squares(grad, work, layers, t, T):
    """Σ g² over thread t's rows of every layer's weights in grad (p,), and
    (thread 0) over the biases: its part of the squared gradient norm."""
    total = 0.0
    for l in range(layers.shape[0]):
        first, last = row_split(work, layers, l, t, T)
        total += squared_norm(weights_of(grad, layers, l)[first * layers[l, WIDTH]:
                                                          last * layers[l, WIDTH]])
    if t == 0:
        total += squared_norm(grad[layers[0, B_OFF]:])
    return total


@kernel(inline=True)
def update_share(state, work, layers, t, T, step_, clip, count):
    """The update (``update.update``) on thread t's rows of every layer's
    weights, and (thread 0) on the biases."""
    for l in range(layers.shape[0]):
        first, last = row_split(work, layers, l, t, T)
        a, b = first * layers[l, WIDTH], last * layers[l, WIDTH]
        update(weights_of(state.theta, layers, l)[a:b], weights_of(state.velocity, layers, l)[a:b],
               weights_of(state.second, layers, l)[a:b], weights_of(state.grad, layers, l)[a:b],
               b - a, step_, clip, count)
    if t == 0:
        n_weights = layers[0, B_OFF]
        update(state.theta[n_weights:], state.velocity[n_weights:], state.second[n_weights:],
               state.grad[n_weights:], 0, step_, clip, count)


@kernel(inline=True)
def fold_share(theta, work, layers, t, T, s):
    """Thread t's rows of every layer's weights *= s (the lazy decay folded in)."""
    for l in range(layers.shape[0]):
        first, last = row_split(work, layers, l, t, T)
        scale_by(weights_of(theta, layers, l)[first * layers[l, WIDTH]:last * layers[l, WIDTH]], s)


@kernel
def epoch_share(state, work, layers, data, order, first, step_, updates, columns, t, T, sync,
                norms):
    """Thread t of T's part of ``train.train_epoch`` (same arguments and lazy
    weight decay); the threads meet at ``sync`` after the passes and after
    the step of every batch (and, clipping, after summing the squares of
    their rows into norms (T,) float64).  Every thread keeps the same lazy
    scale s."""
    theta = state.theta
    n = order.shape[0]
    eta, keep, batch_size = step_.eta, step_.keep, step_.batch_size
    decay, lazy = lazy_decay(step_, updates)
    s = state.weight_scale[0]
    key = stream_key(step_.seed, step_.epoch)
    for start in range(0, n, batch_size):
        rows = order[start:min(start + batch_size, n)]
        m = rows.shape[0]
        following = order[start + batch_size:start + 2 * batch_size]
        lo, hi = share(following.shape[0], t, T)
        prefetch_rows(data, layers, following[lo:hi])  # this thread's samples of the next batch
        pass_share(work, theta, layers, data, rows, t, T, keep, step_.output, step_.cost, key,
                   first + start, s)
        meet(sync, T)
        if updates is not None:
            step_share(work, state.grad, layers, data, rows, t, T, keep, 1.0 / m, 1.0, 1.0,
                       columns)
            clip = 1.0
            if step_.clip_norm != 0.0:
                norms[t] = share_squares(state.grad, work, layers, t, T)
                meet(sync, T)
                clip = clip_factor(norms[:T].sum(), step_.clip_norm)
            update_share(state, work, layers, t, T, step_, clip,
                         step_.steps + (first + start) // batch_size + 1)
        elif lazy:
            s *= decay
            step_share(work, theta, layers, data, rows, t, T, keep, -eta / m, s, 1.0, columns)
            if s < MIN_WEIGHT_SCALE:
                fold_share(theta, work, layers, t, T, s)
                s = 1.0
        else:
            step_share(work, theta, layers, data, rows, t, T, keep, -eta / m, 1.0,
                       decay if step_.l2_rate != 0.0 else 1.0, columns)
        meet(sync, T)
    if t == 0:
        end_call(state, layers[0, B_OFF], s, first + n == data.Y.shape[0])


def train_epoch_threads(state, work, layers, data, order, first, step_, T):
    """``train.train_epoch`` with every batch shared by T threads (same
    arguments and lazy weight decay; the parts ``train.epoch_parts`` picks);
    ``work`` holds buffers for a whole batch (``train.buffers``), ``layers``
    planned for T threads."""
    sync, norms = new_sync(), np.zeros(T)
    updates, columns = epoch_parts(layers, step_)
    at_once(lambda t: epoch_share(state, work, layers, data, order, first, step_, updates,
                                  columns, t, T, sync, norms), T)
