"""The compiled epoch, the whole-dataset passes, and the records they take.

A kernel here takes a few named records instead of dozens of arrays:

- ``Inputs(indptr, indices, values, dense, Y, weights)``: the inputs, either CSR
  (``indptr`` (n+1,) int64, ``indices`` (nnz,) ``csr.index_dtype(n_in)``,
  ``values`` (nnz,)) or,
  when ``dense``, the rows of X back to back in ``values`` (n·n_in,) with
  empty ``indptr``/``indices``; ``Y`` (n, n_out) the targets (one-hot rows
  for class labels; (0, n_out) when only forwarding); ``weights`` (n,) the
  samples' weights, or (0,) for none (``batch.backward_batch``).  Make one
  with ``sparse_inputs`` / ``dense_inputs``.
- ``Buffers(Z, A, Ad, M, D, X, row_splits, col_start, col_sample,
  col_value, cost)``: the batch buffers of ``batch.py`` and ``threads.py``,
  the scratch of a COLUMNS first layer (``columns.py``; one part per
  thread), and ``cost`` (T,) float64, each thread's running sum of the
  (weighted) costs of the samples it backpropagated, added to as they are
  computed; make them with ``buffers``.
- ``State(theta, velocity, grad, weight_scale, second)``: parameters (p,),
  momentum velocity or Adam's first moment (p,), gradient buffer (p,) (zero
  between batches), the lazy weight decay scale (1,) float64 and Adam's
  second moment (p,) (SGD: none, an empty float64 array by default).
- ``Step(batch_size, eta, momentum, nesterov, l2_rate, l1_rate, keep, seed,
  epoch, output, cost, lazy, rule, beta1, beta2, eps, weight_decay,
  clip_norm, steps)``: the hyperparameters of one epoch, eta to l1_rate in
  the network's dtype; l2_rate = l2/n_train, l1_rate = l1/n_train, keep =
  1 − dropout; ``lazy`` allows the lazy weight decay (off for threads that
  share the weights: ``hogwild.py``); ``rule`` the update rule
  (``update.SGD``, ``ADAM`` or ``ADAMW``; SGD by default) and its float
  settings (``update.py``), clip_norm 0 for no clipping; ``steps`` the
  updates made before the epoch (Adam's t counts on from it).

A batch is: forward every sample, backpropagate every delta, then change the
parameters once.  Plain SGD adds −eta/m·gradient straight into theta; every
other rule (momentum, Nesterov, L1, clipping, Adam) goes through the ``grad``
buffer and ``update.update``.
"""
from collections import namedtuple

import numpy as np

from .bands import in_blocks, in_bands
from .batch import (accumulate_batch, backward_batch, batch_cost, forward_batch, prefetch_rows,
                    weight_norm)
from .csr import index_dtype
from .dropout import stream_key
from .jit import kernel
from .layout import (B_OFF, BLOCKED, COLUMNS, ENGINE, GEMM, N_IN, N_OUT, U_OFF, columns_part,
                     line_aligned_zeros, n_units)
from .tunables import EVAL_CHUNK, CURVATURE_BLOCKS
from .update import SGD, clip_factor, scale, squared_norm, update

MIN_LAZY_DECAY = 0.5     # a stronger decay per step is applied to the weights directly
MIN_WEIGHT_SCALE = 1e-3  # fold the lazy decay into the weights below this

Inputs = namedtuple("Inputs", ["indptr", "indices", "values", "dense", "Y", "weights"])
Buffers = namedtuple("Buffers", ["Z", "A", "Ad", "M", "D", "X", "row_splits", "col_start",
                                 "col_sample", "col_value", "cost"])
NO_SECOND = np.zeros(0)  # SGD's second moment: none (never read or written)
State = namedtuple("State", ["theta", "velocity", "grad", "weight_scale", "second"],
                   defaults=(NO_SECOND,))
Step = namedtuple("Step", ["batch_size", "eta", "momentum", "nesterov", "l2_rate", "l1_rate",
                           "keep", "seed", "epoch", "output", "cost", "lazy", "rule", "beta1",
                           "beta2", "eps", "weight_decay", "clip_norm", "steps"],
                  defaults=(SGD, 0.9, 0.999, 1e-8, 0.0, 0.0, 0))


def sparse_inputs(indptr, indices, values, Y, weights=None):
    """An ``Inputs`` record for CSR inputs; ``weights`` (n,) of the values'
    dtype, or None for unweighted samples."""
    return Inputs(indptr, indices, values, False, Y, no_weights(values, weights))


def dense_inputs(X, Y, weights=None):
    """An ``Inputs`` record for dense inputs X (n, n_in), C-contiguous (not
    copied); its empty ``indices`` have the dtype of CSR rows of n_in columns,
    so that the record has the same type as sparse ones (one compile)."""
    empty = np.empty(0, dtype=np.int64)
    return Inputs(empty, empty.astype(index_dtype(X.shape[1])), X.reshape(-1), True, Y,
                  no_weights(X, weights))


def no_weights(values, weights):
    """``weights``, or an empty array of the values' dtype for none."""
    return np.empty(0, dtype=values.dtype) if weights is None else weights


def buffers(layers, batch_size, dtype, dropout=False, row_splits=None, longest_row=0, threads=1):
    """Zeroed ``Buffers`` for batches of up to ``batch_size`` samples of the
    planned table ``layers``: X only where the first layer runs on a matrix
    engine; ``row_splits`` (T+1,) int64, the threads' rows of a sparse first
    layer's weights (``threads.py``; kept, not copied), or none; the
    COLUMNS scratch for T threads (1 without ``row_splits``) where the first
    layer runs on it, for CSR rows of up to ``longest_row`` non-zeros; a
    cost sum for each of T (or ``threads``) threads."""
    size = batch_size * n_units(layers)
    zeros = lambda k: line_aligned_zeros(k, dtype)  # noqa: E731
    gathered = batch_size * layers[0, N_IN] if layers[0, ENGINE] in (GEMM, BLOCKED) else 0
    T = 1 if row_splits is None else max(1, row_splits.shape[0] - 1)
    by_column = layers[0, ENGINE] == COLUMNS
    cap = T * batch_size * longest_row if by_column else 0
    return Buffers(zeros(size), zeros(size), zeros(size if dropout else 0),
                   zeros(size if dropout else 0), zeros(size), zeros(gathered),
                   np.zeros(0, dtype=np.int64) if row_splits is None else row_splits,
                   np.zeros(T * (layers[0, N_IN] + 1) if by_column else 0, dtype=np.int64),
                   np.zeros(cap, dtype=np.int32), zeros(cap), np.zeros(max(T, threads)))


def updates_part(step):
    """The ``updates`` argument of the compiled epochs for the hyperparameters
    ``step``: None for plain SGD (no momentum, L1, clipping or Adam), whose
    step adds −eta/m·gradient straight into theta and leaves the update
    rules out of what the epoch compiles; else True (every step through the
    ``grad`` buffer and ``update.update``).  Each value is a compiled entry
    point of its own, so a first plain-SGD run compiles no update rule."""
    plain = (step.rule == SGD and step.momentum == 0.0 and step.l1_rate == 0.0
             and step.clip_norm == 0.0)
    return None if plain else True


def epoch_parts(layers, step):
    """(updates, columns): the optional parts of the compiled epoch that the
    planned table ``layers`` and the hyperparameters ``step`` use
    (``updates_part``, ``layout.columns_part``)."""
    return updates_part(step), columns_part(layers)


@kernel(inline=True)
def lazy_decay(step, updates):
    """(decay, lazy) of an epoch's steps: ``decay`` = 1 − eta·l2_rate, plain
    SGD's L2 factor per step; ``lazy`` — plain SGD (``updates`` None) keeps
    the decay as a scale of the weights (see ``train_epoch``)."""
    decay = 1.0 - step.eta * step.l2_rate
    return decay, (updates is None and step.lazy and step.l2_rate != 0.0
                   and decay >= MIN_LAZY_DECAY)


@kernel(inline=True)
def end_call(state, n_weights, s, epoch_ends):
    """Store the lazy decay's scale s for the next call, folded into the
    weights first when this call ends the epoch."""
    if epoch_ends and s != 1.0:
        scale(state.theta[:n_weights], s)
        s = 1.0
    state.weight_scale[0] = s


@kernel
def train_epoch(state, buffers, layers, data, order, first, step, updates, columns):
    """Mini-batch SGD (or Adam: ``step.rule``) over the samples in ``order``
    (n,), in place on ``state``; ``updates`` and ``columns`` as
    ``epoch_parts`` gives them (None leaves a part out of the compiled code).

    ``order`` may be a slice of the epoch's permutation that starts at
    position ``first`` (a multiple of batch_size), so that an epoch can run in
    several calls with the same result.

    Lazy weight decay: with plain SGD and L2, every step multiplies all
    weights by d = 1 − eta·l2_rate.  Instead of a pass over every weight per
    batch, the true weights are kept as s·W with the scalar s =
    ``state.weight_scale[0]`` (carried from call to call): a step multiplies s
    by d and adds the weights' gradient divided by s (biases are neither
    decayed nor scaled).  The call that ends the epoch (its last sample is
    the data's last) folds s into the weights and resets it to 1.
    """
    theta = state.theta
    n = order.shape[0]
    n_weights = layers[0, B_OFF]
    eta, keep, batch_size = step.eta, step.keep, step.batch_size
    decay, lazy = lazy_decay(step, updates)
    s = state.weight_scale[0]
    key = stream_key(step.seed, step.epoch)
    for start in range(0, n, batch_size):
        rows = order[start:min(start + batch_size, n)]
        m = rows.shape[0]
        prefetch_rows(data, layers, order[start + batch_size:start + 2 * batch_size])
        forward_batch(buffers, theta, layers, data, rows, keep, key, first + start, s,
                      np.int64(0))  # not a literal: one type with every caller
        backward_batch(buffers, theta, layers, data, rows, step.output, step.cost, keep, s,
                       weight_norm(data.weights, rows))
        if updates is not None:
            accumulate_batch(state.grad, 1.0 / m, buffers, layers, data, rows, keep, 1.0,
                             columns)
            clip = 1.0 if step.clip_norm == 0.0 else \
                clip_factor(squared_norm(state.grad), step.clip_norm)
            update(theta, state.velocity, state.second, state.grad, n_weights, step, clip,
                   step.steps + (first + start) // batch_size + 1)
        elif lazy:
            s *= decay
            accumulate_batch(theta, -eta / m, buffers, layers, data, rows, keep, s, columns)
            if s < MIN_WEIGHT_SCALE:  # keep s·W far from underflow
                scale(theta[:n_weights], s)
                s = 1.0
        else:
            if step.l2_rate != 0.0:
                scale(theta[:n_weights], decay)
            accumulate_batch(theta, -eta / m, buffers, layers, data, rows, keep, 1.0, columns)
    end_call(state, n_weights, s, first + n == data.Y.shape[0])


def forward_rows(A_out, Z_out, theta, layers, data, first, last):
    """Last-layer outputs A_out, Z_out (n, n_out) of the samples [first, last),
    a chunk of EVAL_CHUNK at a time, through the training epoch's own compiled
    ``forward_batch`` (nothing more to compile); ``layers`` planned for
    batches of EVAL_CHUNK."""
    chunk = buffers(layers, EVAL_CHUNK, theta.dtype)
    last_layer = layers.shape[0] - 1
    units, start_unit = n_units(layers), layers[last_layer, U_OFF]
    n_out = layers[last_layer, N_OUT]
    for start in range(first, last, EVAL_CHUNK):
        stop = min(start + EVAL_CHUNK, last)
        forward_batch(chunk, theta, layers, data, np.arange(start, stop), 1.0, np.uint64(0),
                      start, 1.0, 0)  # the argument types of train_epoch's call
        for out, batch in ((A_out, chunk.A), (Z_out, chunk.Z)):
            samples = batch[:(stop - start) * units].reshape(stop - start, units)
            out[start:stop] = samples[:, start_unit:start_unit + n_out]


def forward_all(A_out, Z_out, theta, layers, data, threads=None):
    """Outputs A_out, Z_out (n, n_out) of every sample: one band of samples per
    thread (``bands.py``; ``threads`` as there).  Samples are independent, so
    the result does not depend on the thread count."""
    in_bands(lambda first, last: forward_rows(A_out, Z_out, theta, layers, data, first, last),
             A_out.shape[0], threads)


@kernel(allocates=True)
def gradient_sum(grad, theta, layers, data, first, last, output, cost, chunk, alpha, norm,
                 columns, backward=True):
    """grad (p,) += alpha · Σ over the samples [first, last) of the unregularised
    cost gradient, each sample's times weights[r]·norm where ``data`` has
    weights (``batch.backward_batch``); adds their (weighted) costs to
    ``chunk.cost[0]``.  ``backward`` False: the forward passes and the costs
    only (grad untouched).  ``columns``: ``layout.columns_part``.  ``layers`` planned for batches of EVAL_CHUNK,
    ``chunk`` their ``buffers``."""
    for start in range(first, last, EVAL_CHUNK):
        rows = np.arange(start, min(start + EVAL_CHUNK, last))
        forward_batch(chunk, theta, layers, data, rows, 1.0, np.uint64(0), start, 1.0,
                      np.int64(0))
        if backward:
            backward_batch(chunk, theta, layers, data, rows, output, cost, 1.0, 1.0, norm)
            accumulate_batch(grad, alpha, chunk, layers, data, rows, 1.0, 1.0, columns)
        else:
            chunk.cost[0] += batch_cost(chunk, layers, data, rows, output, cost)


def in_sample_blocks(target, layers, data, threads, block):
    """target (p,) = Σ over the blocks of the n samples (``bands.in_blocks``,
    ``CURVATURE_BLOCKS`` of them, fewer for fewer samples) of ``block(partial,
    chunk, first, last)``, which adds block [first, last)'s share to its own
    zeroed ``partial`` (p,) with its own ``chunk`` (``buffers`` for EVAL_CHUNK
    samples); the partials are added in block order.  Returns the mean
    (weighted) cost the blocks added to their chunks' cost sums."""
    n = data.Y.shape[0]
    blocks = max(1, min(CURVATURE_BLOCKS, n))
    partial = np.zeros((blocks, target.shape[0]), dtype=target.dtype)
    costs = np.zeros(blocks)

    def run(b, first, last):
        chunk = buffers(layers, EVAL_CHUNK, target.dtype, longest_row=longest_row(data))
        block(partial[b], chunk, first, last)
        costs[b] = chunk.cost[0]
    in_blocks(run, n, blocks, threads)
    target[:] = partial[0]
    for b in range(1, blocks):
        target += partial[b]
    total = float(data.weights.sum(dtype=np.float64)) if data.weights.shape[0] else n
    return float(costs.sum()) / total


def longest_row(data):
    """The most non-zeros in one CSR row of ``data`` (0 for dense inputs)."""
    return 0 if data.dense else int(np.diff(data.indptr).max(initial=0))


def gradient_all(grad, theta, layers, data, output, cost, threads=None):
    """grad (p,) = the mean unregularised cost gradient over all n samples
    (weighted: Σ w_i·g_i / Σ w_i), overwritten; returns the mean (weighted)
    cost.  Blocks of samples on ``threads`` threads (``in_sample_blocks``: the
    result does not depend on their number); ``layers`` planned for batches of
    EVAL_CHUNK."""
    n = data.Y.shape[0]
    norm = weight_norm(data.weights, np.arange(n))
    return in_sample_blocks(grad, layers, data, threads, lambda partial, chunk, first, last:
                            gradient_sum(partial, theta, layers, data, first, last, output, cost,
                                         chunk, 1.0 / n, norm, columns_part(layers)))


def cost_all(theta, layers, data, output, cost, threads=None):
    """The mean (weighted) unregularised cost over all n samples: the forward
    passes of ``gradient_all``, its cost to the last bit."""
    return in_sample_blocks(np.zeros(0, dtype=theta.dtype), layers, data, threads,
                            lambda partial, chunk, first, last:
                            gradient_sum(partial, theta, layers, data, first, last, output, cost,
                                         chunk, 1.0, 1.0, columns_part(layers), False))
