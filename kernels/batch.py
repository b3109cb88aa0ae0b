"""One mini-batch through every layer: forward, backpropagation, gradient.

Array conventions (see ``layout.py``): ``theta`` (p,) holds every parameter;
``layers`` (L, 8) describes the layers and which engine computes each.
``data`` is an ``Inputs`` record (``train.py``): CSR rows (``indptr``,
``indices``, ``values``) or, when ``data.dense``, the rows of X back to back
in ``values`` (n·n_in,).  ``buffers`` is a ``Buffers`` record: Z, A, D
(pre-activations, activations, deltas) hold batch_size·U values, U = padded
units in all layers, and start as zeros; Ad and M (dropped-out activations
and masks) are used only when keep < 1; X (batch_size·n_in,) holds the batch's
dense input rows when the first layer runs on a matrix engine.

Each layer runs on its engine: ``PER_SAMPLE`` loops over the samples with
fastnet's vector kernels (``dense.py``; the only one for sparse inputs);
the matrix engines make three products per batch — ``BLOCKED`` with
fastnet's register-blocked ones (``blocked.py``), ``GEMM`` with BLAS
(``blas.py``) — reading the batch's units in place: sample s of layer l
starts at s·U + u_off, so a layer's batch is a matrix with row stride U.
``scale`` is the lazy weight decay of ``train.train_epoch``: the true weights
are scale·W.
"""
from .activations import activation_backward, activation_forward
from .blas import gemm
from .blocked import block_accumulate, block_backward, block_forward
from .columns import column_accumulate
from .costs import output_delta, trained_cost
from .dense import (bias_accumulate, dense_accumulate, dense_backward, dense_forward,
                    sparse_forward)
from .dropout import dropout_forward
from .sparse_step import sparse_step
from .jit import kernel
from .vectors import add_into, copy_into
from .lanes import prefetch
from .layout import (ACT, COLUMNS, ENGINE, GEMM, N_IN, N_OUT, PER_SAMPLE, ROWS, U_OFF, WIDTH,
                     biases_of, is_matrix, n_units, rows_of, units_of, weights_of)


@kernel(inline=True)
def layer_input(A, Ad, layers, l, s, keep):
    """What layer l+1 reads for sample s: layer l's activations after dropout,
    (n_out,) without the padding."""
    n_out = layers[l, N_OUT]
    if keep < 1.0 and l < layers.shape[0] - 1:
        return units_of(Ad, layers, l, 0, s)[:n_out]
    return units_of(A, layers, l, 0, s)[:n_out]


@kernel(inline=True)
def input_matrix(buffers, layers, l, keep):
    """Layer l's input for the whole batch as (matrix from its first element,
    row stride): the gathered rows X for l = 0, else layer l−1's activations."""
    if l == 0:
        return buffers.X, layers[0, N_IN]
    source = buffers.Ad if keep < 1.0 else buffers.A
    return rows_of(source, layers, l - 1), n_units(layers)


@kernel(inline=True)
def gather_rows(X, data, layers, rows):
    """X (m·n_in,) = the dense input rows ``rows`` (m,) back to back, overwritten."""
    d = layers[0, N_IN]
    for s in range(rows.shape[0]):
        r = rows[s]
        copy_into(X[s * d:(s + 1) * d], data.values[r * d:(r + 1) * d])


@kernel(inline=True)
def first_layer_forward(z, data, layers, r, W, b, scale):
    """z (width,) = scale·(x_r @ W) + b for input row r, sparse or dense."""
    if data.dense:
        d = layers[0, N_IN]
        dense_forward(z, data.values[r * d:(r + 1) * d], W, b, scale)
    else:
        lo, hi = data.indptr[r], data.indptr[r + 1]
        sparse_forward(z, data.indices[lo:hi], data.values[lo:hi], W, b, scale,
                       layers[0, ENGINE] != ROWS)


@kernel(inline=True)
def matrix_forward(target, buffers, theta, layers, l, m, keep, scale):
    """Layer l's units in ``target`` (m·U,) for the batch (m rows) = scale·(input @ W) + b,
    one product."""
    U = n_units(layers)
    width = layers[l, WIDTH]
    inputs, ld = input_matrix(buffers, layers, l, keep)
    Z, W = rows_of(target, layers, l), weights_of(theta, layers, l)
    if layers[l, ENGINE] == GEMM:
        gemm(Z, U, inputs, ld, False, W, width, False, m, width, layers[l, N_IN], scale, 0.0)
    else:
        block_forward(Z, U, inputs, ld, W, width, m, layers[l, N_IN], scale)
    b = biases_of(theta, layers, l)
    for s in range(m):
        add_into(units_of(target, layers, l, 0, s), b)


@kernel
def forward_batch(buffers, theta, layers, data, rows, keep, key, position, scale, start):
    """Forward the samples ``rows`` (m,) through layers ``start``, ... into Z, A
    (Ad, M); the layers before ``start`` are done (``threads.py``: 1).

    ``position`` numbers rows[0] within the epoch, for the dropout masks
    (applied to hidden layers only when keep < 1).
    """
    m = rows.shape[0]
    for l in range(start, layers.shape[0]):
        if l == 0 and is_matrix(layers, 0):
            gather_rows(buffers.X, data, layers, rows)
        linear_forward(buffers.Z, buffers, theta, layers, data, rows, l, keep, scale)
        activate(buffers, layers, l, m, keep, key, position)


@kernel  # not inlined: the training passes and the R-passes call it (compile time)
def linear_forward(target, buffers, theta, layers, data, rows, l, keep, scale):
    """Layer l's units in ``target`` (m·U,) = scale·(its input @ W) + b for the
    samples ``rows`` (m,), overwritten, on layer l's engine; the input is
    layer l−1's activations in ``buffers`` (A, or Ad with dropout), or the
    data (the gathered rows ``buffers.X`` on a matrix engine)."""
    if is_matrix(layers, l):
        matrix_forward(target, buffers, theta, layers, l, rows.shape[0], keep, scale)
        return
    W = weights_of(theta, layers, l)
    b = biases_of(theta, layers, l)
    for s in range(rows.shape[0]):
        z = units_of(target, layers, l, 0, s)
        if l == 0:
            first_layer_forward(z, data, layers, rows[s], W, b, scale)
        else:
            dense_forward(z, layer_input(buffers.A, buffers.Ad, layers, l - 1, s, keep), W, b,
                          scale)


@kernel(inline=True)
def activate(buffers, layers, l, m, keep, key, position):
    """A = f(Z) of layer l for the batch's m samples, then (hidden layers, keep
    < 1) the dropout masks M and the kept activations Ad."""
    n_out = layers[l, N_OUT]
    total = n_units(layers)
    for s in range(m):
        a = units_of(buffers.A, layers, l, 0, s)[:n_out]
        activation_forward(a, units_of(buffers.Z, layers, l, 0, s)[:n_out], layers[l, ACT])
        if keep < 1.0 and l < layers.shape[0] - 1:
            counter = (position + s) * total + layers[l, U_OFF]
            dropout_forward(units_of(buffers.Ad, layers, l, 0, s)[:n_out],
                            units_of(buffers.M, layers, l, 0, s)[:n_out], a, key, counter, keep)


@kernel(inline=True)
def weight_norm(weights, rows):
    """m / Σ weights[rows] for the m samples ``rows`` (0 where that sum is 0),
    or 1 without weights (``weights`` empty): the factor that turns a mean
    over the samples into the weighted mean Σ w_i·x_i / Σ w_i."""
    if weights.shape[0] == 0:
        return 1.0
    total = 0.0
    for r in rows:
        total += weights[r]
    return rows.shape[0] / total if total > 0.0 else 0.0


@kernel
def backward_batch(buffers, theta, layers, data, rows, output, cost, keep, scale, norm):
    """Backpropagate: D (m·U,) = dC/dz for every layer and sample, overwritten;
    adds the samples' costs to ``buffers.cost[0]``.

    With sample weights (``data.weights`` not empty) sample r's output delta
    is multiplied by weights[r]·norm (``weight_norm`` of the rows whose mean
    gradient is taken) and its cost by weights[r].
    The padding of every delta must hold zeros on entry (fresh buffers from
    ``np.zeros``); only the first n_out entries of each are written.
    """
    m = rows.shape[0]
    last = layers.shape[0] - 1
    D, A = buffers.D, buffers.A
    weighted = data.weights.shape[0] > 0
    n_out = layers[last, N_OUT]
    for s in range(m):
        r = rows[s]
        delta = units_of(D, layers, last, 0, s)[:n_out]
        output_delta(delta, units_of(A, layers, last, 0, s)[:n_out], data.Y[r], output, cost)
        if weighted:
            delta *= data.weights[r] * norm
    buffers.cost[0] += batch_cost(buffers, layers, data, rows, output, cost)
    for l in range(last - 1, -1, -1):
        delta_product(D, D, theta, layers, l, rows.shape[0], scale)
        n_out = layers[l, N_OUT]
        for s in range(m):
            delta = units_of(D, layers, l, 0, s)[:n_out]
            activation_backward(delta, units_of(A, layers, l, 0, s)[:n_out], layers[l, ACT])
            if keep < 1.0:
                delta *= units_of(buffers.M, layers, l, 0, s)[:n_out]


@kernel(inline=True)
def batch_cost(buffers, layers, data, rows, output, cost):
    """Σ of the costs of the samples ``rows`` (m,) from their forward pass in
    ``buffers`` (float64), each times its weight where ``data`` has weights."""
    last = layers.shape[0] - 1
    n_out = layers[last, N_OUT]
    weighted = data.weights.shape[0] > 0
    total = 0.0
    for s in range(rows.shape[0]):
        r = rows[s]
        c = trained_cost(units_of(buffers.A, layers, last, 0, s)[:n_out],
                         units_of(buffers.Z, layers, last, 0, s)[:n_out], data.Y[r], output, cost)
        total += c * data.weights[r] if weighted else c
    return total


@kernel  # not inlined: the training passes and the R-passes call it (compile time)
def delta_product(target, source, theta, layers, l, m, scale):
    """Layer l's units in ``target`` (m·U,) = scale·(layer l+1's units in
    ``source`` (m·U,) @ W_{l+1}ᵀ), the first n_out of each sample's, overwritten,
    on layer l+1's engine (target may be source: other units)."""
    U = n_units(layers)
    W_next = weights_of(theta, layers, l + 1)
    width_next = layers[l + 1, WIDTH]
    n_out = layers[l, N_OUT]
    engine = layers[l + 1, ENGINE]
    if engine == GEMM:
        gemm(rows_of(target, layers, l), U, rows_of(source, layers, l + 1), U, False, W_next,
             width_next, True, m, n_out, width_next, scale, 0.0)
    elif engine != PER_SAMPLE:
        block_backward(rows_of(target, layers, l), U, rows_of(source, layers, l + 1), U, W_next,
                       width_next, m, n_out, scale)
    else:
        for s in range(m):
            dense_backward(units_of(target, layers, l, 0, s)[:n_out], W_next,
                           units_of(source, layers, l + 1, 0, s), scale)


@kernel
def accumulate_batch(target, alpha, buffers, layers, data, rows, keep, scale, columns):
    """target (p,) += alpha · (sum over the batch of each sample's gradient);
    with ``scale`` s, the weights get alpha/s (see ``train.train_epoch``).
    ``columns``: None leaves the COLUMNS step out of the compiled code (a
    first layer planned on it then steps sample by sample: the same sums);
    see ``layout.columns_part``."""
    m = rows.shape[0]
    U = n_units(layers)
    for l in range(layers.shape[0]):
        TW = weights_of(target, layers, l)
        Tb = biases_of(target, layers, l)
        if is_matrix(layers, l):
            inputs, ld = input_matrix(buffers, layers, l, keep)
            matrix_accumulate(TW, inputs, ld, buffers.D, layers, l, m, alpha / scale)
        elif columns is not None and l == 0 and not data.dense and layers[0, ENGINE] == COLUMNS:
            column_accumulate(TW, layers[0, WIDTH], buffers.D, layers[0, U_OFF], U, data, rows, 0,
                              layers[0, N_IN], buffers.col_start, buffers.col_sample,
                              buffers.col_value, alpha, scale)
        elif l == 0 and not data.dense:
            sparse_step(TW, buffers.D, layers, data, rows, 0, layers[0, N_IN], alpha, scale,
                        layers[0, ENGINE] != ROWS)
        else:
            for s in range(m):
                delta = units_of(buffers.D, layers, l, 0, s)
                if l > 0:
                    x = layer_input(buffers.A, buffers.Ad, layers, l - 1, s, keep)
                    dense_accumulate(TW, x, delta, alpha, scale)
                else:
                    d, r = layers[0, N_IN], rows[s]
                    dense_accumulate(TW, data.values[r * d:(r + 1) * d], delta, alpha, scale)
        for s in range(m):
            bias_accumulate(Tb, units_of(buffers.D, layers, l, 0, s), alpha)


@kernel(inline=True)
def matrix_accumulate(TW, inputs, ld, D, layers, l, m, alpha):
    """Layer l's weights TW (n_in, width) += alpha·inputsᵀ (n_in, m) @ (layer l's
    units in D (m·U,)), one product on layer l's engine (BLOCKED's for PER_SAMPLE);
    ``inputs`` from its first element, row stride ``ld``."""
    width = layers[l, WIDTH]
    if layers[l, ENGINE] == GEMM:
        gemm(TW, width, inputs, ld, True, rows_of(D, layers, l), n_units(layers), False,
             layers[l, N_IN], width, m, alpha, 1.0)
    else:
        block_accumulate(TW, width, inputs, ld, rows_of(D, layers, l), n_units(layers), m,
                         layers[l, N_IN], alpha)


@kernel(inline=True)
def prefetch_rows(data, layers, rows):
    """Start loading the input rows of the samples ``rows`` into the cache.

    The shuffled order sends every sample to a random place in memory; asking
    one batch ahead hides that latency behind the current batch's work.
    """
    d = layers[0, N_IN]
    for r in rows:
        if data.dense:
            for k in range(r * d, (r + 1) * d, 16):
                prefetch(data.values, k)
        else:
            for k in range(data.indptr[r], data.indptr[r + 1], 16):
                prefetch(data.indices, k)
                prefetch(data.values, k)
