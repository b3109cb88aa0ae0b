"""Several threads share every mini-batch by splitting each layer's units into bands.

Thread t of T owns a band of units [lo, hi) of every layer: the layer's
vectors of ``LANES`` units dealt out in T contiguous bands (``band``).  For
its band it computes the pre-activations, activations and deltas of every
sample of the batch, and it changes the parameters that belong to its units:
their biases, the rows of the next layer's weights that leave them and, in
the first layer, the columns of the weights that enter them.  No value is
written by two threads, so no gradient is ever summed across threads.

A batch is a few parallel loops over the threads, each ending in the barrier
the next one needs: one per layer forward, then (after the output layer's
activation and deltas, computed on one thread: a softmax needs all its
units) one per hidden layer backward.  Each band runs the same kernels, in
the same order per value, as ``train.train_epoch``, so with the
``PER_SAMPLE`` and ``BLOCKED`` engines the weights come out as one thread's
within rounding (bit-identical on the machines measured) and bit-identical
from run to run for any T.  Matrix layers use ``BLOCKED`` (``layout.plan``
with threads): a BLAS call from every thread would start BLAS's own threads
on top of them.

Same records and conventions as ``train.train_epoch``; one ``Buffers`` for
the whole batch (threads write disjoint bands of it).  A parallel loop takes
arrays and scalars, not records, so the ``*_region`` functions take them
unpacked and rebuild them per thread.
"""
from numba import prange

from .activations import activation_backward, activation_forward
from .batch import first_layer_forward, gather_rows, input_matrix, layer_input, prefetch_rows, sample_accumulate
from .blocked import block_accumulate, block_backward, block_forward
from .costs import output_delta
from .dense import bias_accumulate, dense_accumulate, dense_backward, dense_forward
from .dropout import dropout_forward, stream_key
from .jit import kernel
from .lanes import LANES
from .layout import (ACT, B_OFF, ENGINE, N_IN, N_OUT, PER_SAMPLE, U_OFF, WIDTH, biases_of,
                     n_units, rows_of, units_of, weights_of)
from .train import MIN_LAZY_DECAY, MIN_WEIGHT_SCALE, Buffers, Inputs
from .update import scale as scale_by
from .update import sgd_update
from .vectors import add_into

LINE = max(LANES, 16)  # units per band step: 64 bytes of float32, a multiple of LANES


@kernel
def band(layers, l, t, T):
    """Thread t's units [lo, hi) of layer l (of T threads): whole lines of
    LINE units, so that two threads never write to one cache line."""
    width = layers[l, WIDTH]
    lines = (width + LINE - 1) // LINE
    return min(t * lines // T * LINE, width), min((t + 1) * lines // T * LINE, width)


@kernel
def forward_band(work, theta, layers, l, data, rows, lo, hi, keep, key, position, scale):
    """Z (and for a hidden layer A, Ad, M) of layer l's units [lo, hi) for the batch."""
    m = rows.shape[0]
    width = layers[l, WIDTH]
    W = weights_of(theta, layers, l)[lo:]
    b = biases_of(theta, layers, l)[lo:hi]
    if layers[l, ENGINE] != PER_SAMPLE:
        inputs, ld = input_matrix(work, layers, l, keep)
        block_forward(rows_of(work.Z, layers, l)[lo:], n_units(layers), inputs, ld, W, width, m,
                      hi - lo, layers[l, N_IN], scale)
        for s in range(m):
            add_into(units_of(work.Z, layers, l, 0, s)[lo:hi], b)
    else:
        for s in range(m):
            z = units_of(work.Z, layers, l, 0, s)[lo:hi]
            if l == 0:
                first_layer_forward(z, data, layers, rows[s], W, width, b, scale)
            else:
                dense_forward(z, layer_input(work.A, work.Ad, layers, l - 1, s, keep), W, width,
                              b, scale)
    top = min(hi, layers[l, N_OUT])
    if l == layers.shape[0] - 1 or lo >= top:
        return  # the output layer's activation needs all its units: output_step
    for s in range(m):
        a = units_of(work.A, layers, l, 0, s)[lo:top]
        activation_forward(a, units_of(work.Z, layers, l, 0, s)[lo:top], layers[l, ACT])
        if keep < 1.0:
            counter = (position + s) * n_units(layers) + layers[l, U_OFF] + lo
            dropout_forward(units_of(work.Ad, layers, l, 0, s)[lo:top],
                            units_of(work.M, layers, l, 0, s)[lo:top], a, key, counter, keep)


@kernel
def output_step(work, target, layers, data, rows, output, cost, alpha):
    """One thread: the output layer's activations and deltas for the batch, and
    its biases' step target_b += alpha·Σ deltas."""
    last = layers.shape[0] - 1
    n_out = layers[last, N_OUT]
    Tb = biases_of(target, layers, last)
    for s in range(rows.shape[0]):
        a = units_of(work.A, layers, last, 0, s)[:n_out]
        activation_forward(a, units_of(work.Z, layers, last, 0, s)[:n_out], layers[last, ACT])
        output_delta(units_of(work.D, layers, last, 0, s)[:n_out], a, data.Y[rows[s]], output,
                     cost)
    for s in range(rows.shape[0]):
        bias_accumulate(Tb, units_of(work.D, layers, last, 0, s), alpha)


@kernel
def backward_band(work, target, theta, layers, l, data, rows, lo, hi, keep, scale, alpha,
                  update_scale, decay):
    """Hidden layer l's deltas for its units [lo, hi), then their parameters'
    step: the rows of layer l+1's weights leaving them, their biases and (l = 0)
    the columns of the first layer's weights entering them.

    ``scale`` is the lazy weight decay the deltas see, ``update_scale`` the one
    the step divides by (``train.train_epoch``); ``decay`` ≠ 1 multiplies the
    weights first (plain SGD with a strong L2)."""
    m = rows.shape[0]
    U = n_units(layers)
    top = min(hi, layers[l, N_OUT])
    if lo >= top:
        return  # padding only: its deltas and weights stay zero
    nxt = l + 1
    wn = layers[nxt, WIDTH]
    W_next = weights_of(theta, layers, nxt)[lo * wn:]
    if layers[nxt, ENGINE] != PER_SAMPLE:
        block_backward(rows_of(work.D, layers, l)[lo:], U, rows_of(work.D, layers, nxt), U,
                       W_next, wn, m, top - lo, scale)
    for s in range(m):
        delta = units_of(work.D, layers, l, 0, s)[lo:top]
        if layers[nxt, ENGINE] == PER_SAMPLE:
            dense_backward(delta, W_next, units_of(work.D, layers, nxt, 0, s), scale)
        activation_backward(delta, units_of(work.A, layers, l, 0, s)[lo:top], layers[l, ACT])
        if keep < 1.0:
            delta *= units_of(work.M, layers, l, 0, s)[lo:top]
    TW = weights_of(target, layers, nxt)[lo * wn:(top) * wn]
    if decay != 1.0:
        scale_by(TW, decay)
    if layers[nxt, ENGINE] != PER_SAMPLE:
        inputs, ld = input_matrix(work, layers, nxt, keep)
        block_accumulate(TW, wn, inputs[lo:], ld, rows_of(work.D, layers, nxt), U, m, wn,
                         top - lo, alpha / update_scale)
    else:
        for s in range(m):
            dense_accumulate(TW, wn, layer_input(work.A, work.Ad, layers, l, s, keep)[lo:top],
                             units_of(work.D, layers, nxt, 0, s), alpha, update_scale)
    Tb = biases_of(target, layers, l)[lo:hi]
    for s in range(m):
        bias_accumulate(Tb, units_of(work.D, layers, l, 0, s)[lo:hi], alpha)
    if l == 0:
        input_columns(work, target, layers, data, rows, lo, hi, keep, alpha, update_scale, decay)


@kernel
def input_columns(work, target, layers, data, rows, lo, hi, keep, alpha, update_scale, decay):
    """The first layer's weight columns [lo, hi) += alpha/update_scale·Xᵀ @ D₀[:, lo:hi]
    (after ``decay`` ≠ 1 multiplies them)."""
    m = rows.shape[0]
    width, n_in = layers[0, WIDTH], layers[0, N_IN]
    TW = weights_of(target, layers, 0)[lo:]
    if decay != 1.0:
        for i in range(n_in):
            scale_by(TW[i * width:i * width + hi - lo], decay)
    if layers[0, ENGINE] != PER_SAMPLE:
        block_accumulate(TW, width, work.X, n_in, rows_of(work.D, layers, 0)[lo:],
                         n_units(layers), m, hi - lo, n_in, alpha / update_scale)
    else:
        for s in range(m):
            sample_accumulate(TW, width, work, layers, 0, data, rows[s], s,
                              units_of(work.D, layers, 0, 0, s)[lo:hi], alpha, keep,
                              update_scale)


@kernel(parallel=True)
def forward_region(Z, A, Ad, M, D, X, theta, layers, l, indptr, indices, values, dense, Y,
                   rows, keep, key, position, scale, T):
    """``forward_band`` of layer l on T threads."""
    for t in prange(T):
        lo, hi = band(layers, l, t, T)
        if hi > lo:
            forward_band(Buffers(Z, A, Ad, M, D, X), theta, layers, l,
                         Inputs(indptr, indices, values, dense, Y), rows, lo, hi, keep, key,
                         position, scale)


@kernel(parallel=True)
def backward_region(Z, A, Ad, M, D, X, target, theta, layers, l, indptr, indices, values,
                    dense, Y, rows, keep, scale, alpha, update_scale, decay, T):
    """``backward_band`` of hidden layer l on T threads (l = −1: only the
    first layer's weight columns, for a network without hidden layers)."""
    for t in prange(T):
        work = Buffers(Z, A, Ad, M, D, X)
        data = Inputs(indptr, indices, values, dense, Y)
        lo, hi = band(layers, max(l, 0), t, T)
        if hi > lo and l >= 0:
            backward_band(work, target, theta, layers, l, data, rows, lo, hi, keep, scale, alpha,
                          update_scale, decay)
        elif hi > lo:
            input_columns(work, target, layers, data, rows, lo, hi, keep, alpha, update_scale,
                          decay)


@kernel
def train_epoch_bands(state, work, layers, data, order, first, step, T):
    """``train.train_epoch`` with every layer's units split across T threads
    (same arguments, and the same lazy weight decay); ``work`` holds buffers
    for a whole batch (``train.buffers``), ``layers`` planned with threads."""
    theta = state.theta
    n = order.shape[0]
    n_weights = layers[0, B_OFF]
    last = layers.shape[0] - 1
    eta, keep, batch_size = step.eta, step.keep, step.batch_size
    direct = step.momentum == 0.0 and step.l1_rate == 0.0
    decay = 1.0 - eta * step.l2_rate
    lazy = direct and step.l2_rate != 0.0 and decay >= MIN_LAZY_DECAY
    s = state.weight_scale[0]
    key = stream_key(step.seed, step.epoch)
    Z, A, Ad, M, D, X = work
    indptr, indices, values, dense, Y = data
    for start in range(0, n, batch_size):
        rows = order[start:min(start + batch_size, n)]
        m = rows.shape[0]
        prefetch_rows(data, layers, order[start + batch_size:start + 2 * batch_size])
        if layers[0, ENGINE] != PER_SAMPLE:
            gather_rows(X, data, layers, rows)
        for l in range(last + 1):
            forward_region(Z, A, Ad, M, D, X, theta, layers, l, indptr, indices, values, dense,
                           Y, rows, keep, key, first + start, s, T)
        if direct:
            target, alpha = theta, -eta / m
            update_scale = s * decay if lazy else 1.0
            weight_decay = decay if not lazy and step.l2_rate != 0.0 else 1.0
        else:
            target, alpha, update_scale, weight_decay = state.grad, 1.0 / m, 1.0, 1.0
        output_step(work, target, layers, data, rows, step.output, step.cost, alpha)
        for l in range(last - 1, -2 if last == 0 else -1, -1):
            backward_region(Z, A, Ad, M, D, X, target, theta, layers, l, indptr, indices, values,
                            dense, Y, rows, keep, s, alpha, update_scale, weight_decay, T)
        if lazy:
            s = update_scale
            if s < MIN_WEIGHT_SCALE:
                scale_by(theta[:n_weights], s)
                s = 1.0
        elif not direct:
            sgd_update(theta, state.velocity, state.grad, n_weights, eta, step.momentum,
                       step.nesterov, step.l2_rate, step.l1_rate)
    if first + n == data.Y.shape[0] and s != 1.0:
        scale_by(theta[:n_weights], s)
        s = 1.0
    state.weight_scale[0] = s
