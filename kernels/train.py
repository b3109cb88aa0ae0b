"""The compiled mini-batch loop and the whole-dataset passes built on it.

Array conventions (see ``layout.py``): ``theta`` (p,) holds every parameter;
``layers`` (L, 7) describes the layers; the inputs are a CSR matrix
``indptr`` (n+1,), ``indices`` (nnz,), ``values`` (nnz,); ``Y`` (n, n_out)
holds the targets (one-hot rows for class labels).  Batch buffers Z, A, D
(pre-activations, activations, deltas) hold batch_size·U values, U = padded
units in all layers, and must start as zeros (``np.zeros``); Ad and M (dropped-out activations and their masks) are used only
when ``keep`` < 1 and may otherwise be empty.

A batch is: forward every sample, backpropagate every delta, then change the
parameters once.  Plain SGD adds −eta/m·gradient straight into theta; momentum,
Nesterov and L1 go through the ``grad`` buffer and ``sgd_update``.
"""
import numpy as np
from numba import prange

from .activations import activation_backward, activation_forward
from .costs import output_delta
from .dense import (dense_accumulate, dense_backward, dense_forward,
                    sparse_accumulate, sparse_forward)
from .dropout import dropout_forward, stream_key
from .jit import kernel
from .lanes import prefetch
from .layout import (ACT, B_OFF, N_OUT, U_OFF, biases_of, n_units, units_of,
                     weights_of)
from .update import scale, sgd_update

EVAL_CHUNK = 256


@kernel
def layer_input(A, Ad, layers, l, m, s, keep):
    """What layer l+1 reads for sample s: layer l's activations after dropout,
    (n_out,) without the padding."""
    n_out = layers[l, N_OUT]
    if keep < 1.0 and l < layers.shape[0] - 1:
        return units_of(Ad, layers, l, m, s)[:n_out]
    return units_of(A, layers, l, m, s)[:n_out]


@kernel
def forward_batch(Z, A, Ad, M, theta, layers, indptr, indices, values, rows,
                  keep, key, position):
    """Forward the samples ``rows`` (m,) through every layer into Z, A (Ad, M).

    ``position`` numbers the batch's first sample within the epoch, for the
    dropout masks (applied to hidden layers only when keep < 1).
    """
    m = rows.shape[0]
    n_layers = layers.shape[0]
    total = n_units(layers)
    for l in range(n_layers):
        W = weights_of(theta, layers, l)
        b = biases_of(theta, layers, l)
        code = layers[l, ACT]
        n_out = layers[l, N_OUT]
        for s in range(m):
            z = units_of(Z, layers, l, m, s)
            if l == 0:
                lo, hi = indptr[rows[s]], indptr[rows[s] + 1]
                sparse_forward(z, indices[lo:hi], values[lo:hi], W, b)
            else:
                dense_forward(z, layer_input(A, Ad, layers, l - 1, m, s, keep), W, b)
            a = units_of(A, layers, l, m, s)[:n_out]
            activation_forward(a, z[:n_out], code)
            if keep < 1.0 and l < n_layers - 1:
                counter = (position + s) * total + layers[l, U_OFF]
                dropout_forward(units_of(Ad, layers, l, m, s)[:n_out],
                                units_of(M, layers, l, m, s)[:n_out], a, key, counter, keep)


@kernel
def backward_batch(D, A, M, theta, layers, Y, rows, output, cost, keep):
    """Backpropagate: D (m·U,) = dC/dz for every layer and sample, overwritten.

    The padding of every delta must hold zeros on entry (fresh buffers from
    ``np.zeros``); only the first n_out entries of each are written.
    """
    m = rows.shape[0]
    last = layers.shape[0] - 1
    n_out = layers[last, N_OUT]
    for s in range(m):
        output_delta(units_of(D, layers, last, m, s)[:n_out],
                     units_of(A, layers, last, m, s)[:n_out], Y[rows[s]], output, cost)
    for l in range(last - 1, -1, -1):
        W_next = weights_of(theta, layers, l + 1)
        code = layers[l, ACT]
        n_out = layers[l, N_OUT]
        for s in range(m):
            delta = units_of(D, layers, l, m, s)[:n_out]
            dense_backward(delta, W_next, units_of(D, layers, l + 1, m, s))
            activation_backward(delta, units_of(A, layers, l, m, s)[:n_out], code)
            if keep < 1.0:
                delta *= units_of(M, layers, l, m, s)[:n_out]


@kernel
def accumulate_batch(target, alpha, D, A, Ad, layers, indptr, indices, values,
                     rows, keep):
    """target (p,) += alpha · (sum over the batch of each sample's gradient)."""
    m = rows.shape[0]
    for l in range(layers.shape[0]):
        TW = weights_of(target, layers, l)
        Tb = biases_of(target, layers, l)
        for s in range(m):
            delta = units_of(D, layers, l, m, s)
            if l == 0:
                lo, hi = indptr[rows[s]], indptr[rows[s] + 1]
                sparse_accumulate(TW, Tb, indices[lo:hi], values[lo:hi], delta, alpha)
            else:
                dense_accumulate(TW, Tb, layer_input(A, Ad, layers, l - 1, m, s, keep),
                                 delta, alpha)


@kernel
def prefetch_rows(indptr, indices, values, rows):
    """Start loading the CSR rows of the samples ``rows`` into the cache.

    The shuffled order sends every sample to a random place in memory; asking
    one batch ahead hides that latency behind the current batch's work.
    """
    for r in rows:
        for k in range(indptr[r], indptr[r + 1], 16):
            prefetch(indices, k)
            prefetch(values, k)


@kernel
def train_epoch(theta, velocity, grad, Z, A, Ad, M, D, layers, indptr, indices,
                values, Y, order, batch_size, eta, momentum, nesterov, l2_rate,
                l1_rate, keep, seed, epoch, first, output, cost):
    """Mini-batch SGD over the samples in ``order`` (n,), in place.

    Updates theta (p,) and, with momentum or L1, velocity (p,), adding each
    batch's gradient into grad (p,), which must be zero on entry and is zero
    again on return.
    ``l2_rate`` = l2/n_train, ``l1_rate`` = l1/n_train; keep = 1 − dropout.
    ``order`` may be a slice of the epoch's permutation that starts at
    position ``first`` (a multiple of batch_size), so that an epoch can run in
    several calls with the same result.
    """
    n = order.shape[0]
    n_weights = layers[0, B_OFF]
    direct = momentum == 0.0 and l1_rate == 0.0
    decay = 1.0 - eta * l2_rate
    key = stream_key(seed, epoch)
    for start in range(0, n, batch_size):
        rows = order[start:min(start + batch_size, n)]
        m = rows.shape[0]
        prefetch_rows(indptr, indices, values, order[start + batch_size:start + 2 * batch_size])
        forward_batch(Z, A, Ad, M, theta, layers, indptr, indices, values, rows,
                      keep, key, first + start)
        backward_batch(D, A, M, theta, layers, Y, rows, output, cost, keep)
        if direct:
            if l2_rate != 0.0:
                scale(theta[:n_weights], decay)
            accumulate_batch(theta, -eta / m, D, A, Ad, layers, indptr, indices,
                             values, rows, keep)
        else:
            accumulate_batch(grad, 1.0 / m, D, A, Ad, layers, indptr, indices,
                             values, rows, keep)
            sgd_update(theta, velocity, grad, n_weights, eta, momentum, nesterov,
                       l2_rate, l1_rate)


@kernel
def forward_chunk(A_out, Z_out, theta, layers, indptr, indices, values, c):
    """Last-layer outputs A_out, Z_out (n, n_out) of the samples in chunk c
    (rows c·EVAL_CHUNK up to the next chunk)."""
    n = A_out.shape[0]
    last = layers.shape[0] - 1
    n_out = layers[last, N_OUT]
    rows = np.arange(c * EVAL_CHUNK, min((c + 1) * EVAL_CHUNK, n))
    m = rows.shape[0]
    Z = np.zeros(EVAL_CHUNK * n_units(layers), dtype=theta.dtype)
    A = np.zeros_like(Z)
    no_dropout = np.empty(0, dtype=theta.dtype)
    forward_batch(Z, A, no_dropout, no_dropout, theta, layers, indptr, indices, values,
                  rows, 1.0, np.uint64(0), 0)
    for s in range(m):
        A_out[rows[s]] = units_of(A, layers, last, m, s)[:n_out]
        Z_out[rows[s]] = units_of(Z, layers, last, m, s)[:n_out]


@kernel(parallel=True)
def forward_all(A_out, Z_out, theta, layers, indptr, indices, values):
    """Outputs of the last layer for every sample: A_out, Z_out (n, n_out).

    Samples are independent, so chunks run in parallel and the result does
    not depend on the thread count.
    """
    for c in prange((A_out.shape[0] + EVAL_CHUNK - 1) // EVAL_CHUNK):
        forward_chunk(A_out, Z_out, theta, layers, indptr, indices, values, c)


@kernel
def forward_few(A_out, Z_out, theta, layers, indptr, indices, values):
    """``forward_all`` on one thread: for a few samples, starting threads costs
    more than it saves."""
    for c in range((A_out.shape[0] + EVAL_CHUNK - 1) // EVAL_CHUNK):
        forward_chunk(A_out, Z_out, theta, layers, indptr, indices, values, c)


@kernel
def gradient_sum(grad, theta, layers, indptr, indices, values, Y, output, cost):
    """grad (p,) = mean over all n samples of the unregularised cost gradient."""
    n = Y.shape[0]
    Z = np.zeros(EVAL_CHUNK * n_units(layers), dtype=theta.dtype)
    A = np.zeros_like(Z)
    D = np.zeros_like(Z)
    no_dropout = np.empty(0, dtype=theta.dtype)
    grad[:] = 0.0
    for start in range(0, n, EVAL_CHUNK):
        rows = np.arange(start, min(start + EVAL_CHUNK, n))
        forward_batch(Z, A, no_dropout, no_dropout, theta, layers, indptr,
                      indices, values, rows, 1.0, np.uint64(0), 0)
        backward_batch(D, A, no_dropout, theta, layers, Y, rows, output, cost,
                       1.0)
        accumulate_batch(grad, 1.0 / n, D, A, no_dropout, layers, indptr,
                         indices, values, rows, 1.0)


@kernel
def to_csr(X):
    """The non-zeros of X (n, d) row by row: indptr (n+1,), indices, values."""
    n, d = X.shape
    indptr = np.zeros(n + 1, dtype=np.int64)
    for r in range(n):
        count = 0
        for i in range(d):
            if X[r, i] != 0.0:
                count += 1
        indptr[r + 1] = indptr[r] + count
    indices = np.empty(indptr[n], dtype=np.int32)
    values = np.empty(indptr[n], dtype=X.dtype)
    for r in range(n):
        k = indptr[r]
        for i in range(d):
            if X[r, i] != 0.0:
                indices[k] = i
                values[k] = X[r, i]
                k += 1
    return indptr, indices, values
