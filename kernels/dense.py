"""Dense layers: forward, delta propagation and gradient accumulation.

W is one layer's weights, flat (n_in*width,) and row-major (n_in, width), see
``layout.py``: row i is W[i*width : (i+1)*width]; z, b and delta are (width,),
padding included; a is (n_in,).  Inputs to the first layer arrive as one CSR
row (column ``indices`` and ``values`` of its non-zero pixels): MNIST images
are about 80 % zeros, so skipping them cuts the first layer's work by five.
Skipping exact zeros changes no result.
"""
from .jit import kernel
from .lanes import (LANES, lanes_axpy, lanes_axpy4, lanes_sparse_sum1, lanes_sparse_sum2,
                    lanes_sparse_sum3, lanes_sparse_sum4, lanes_sparse_update1,
                    lanes_sparse_update2, lanes_sparse_update3, lanes_sparse_update4)
from .tunables import TILE, TILED_VECTORS
from .vectors import copy_into

TILED_WIDTH = TILED_VECTORS * LANES  # sparse rows up to this wide run in register tiles


@kernel
def dense_forward(z, a, W, b, scale=1.0):
    """z (width,) = scale · (a (n_in,) @ W (n_in, width)) + b (width,), overwritten.

    Four input rows per pass over z, as in ``sparse_forward``; zero inputs
    (ReLU, dropout) are skipped.  ``scale`` is the lazy weight decay of
    ``train.train_epoch`` (the true weights are scale · W).
    """
    width = z.shape[0]
    start_sum(z, b, scale)
    i = 0
    n_in = a.shape[0]
    while i + 4 <= n_in:
        x0, x1, x2, x3 = a[i], a[i + 1], a[i + 2], a[i + 3]
        if x0 != 0.0 or x1 != 0.0 or x2 != 0.0 or x3 != 0.0:
            row = i * width
            for j in range(0, width, LANES):
                lanes_axpy4(z, j, W, row + j, row + width + j, row + 2 * width + j,
                            row + 3 * width + j, x0, x1, x2, x3)
        i += 4
    while i < n_in:
        if a[i] != 0.0:
            for j in range(0, width, LANES):
                lanes_axpy(z, j, W, i * width + j, a[i])
        i += 1
    finish_sum(z, b, scale)


@kernel(inline=True)
def sparse_forward(z, indices, values, W, b, scale=1.0, tiled=True):
    """z (width,) = scale · (x @ W) + b for a sparse x given by indices, values
    (nnz,).

    Up to ``TILED_WIDTH`` units (and ``tiled``), tile by tile of z, held in
    registers over all the non-zeros (``lanes.sparse_sum``): a narrow z has
    too few vectors to hide the latency of the sums otherwise.  Wider (or not
    ``tiled``: Hogwild!, see ``layout.ROWS``), four input rows per pass over
    z: a quarter of the loads and stores of z, each W row read in order.
    """
    width = z.shape[0]
    start_sum(z, b, scale)
    if tiled and width <= TILED_WIDTH:
        j = 0
        while j + TILE * LANES <= width:
            lanes_sparse_sum4(z, j, W, j, width, indices, values)
            j += TILE * LANES
        sparse_sum_rest(z, j, W, width, indices, values)
        finish_sum(z, b, scale)
        return
    nnz = indices.shape[0]
    k = 0
    while k + 4 <= nnz:
        i0, i1 = indices[k] * width, indices[k + 1] * width
        i2, i3 = indices[k + 2] * width, indices[k + 3] * width
        x0, x1, x2, x3 = values[k], values[k + 1], values[k + 2], values[k + 3]
        for j in range(0, width, LANES):
            lanes_axpy4(z, j, W, i0 + j, i1 + j, i2 + j, i3 + j, x0, x1, x2, x3)
        k += 4
    while k < nnz:
        i = indices[k] * width
        for j in range(0, width, LANES):
            lanes_axpy(z, j, W, i + j, values[k])
        k += 1
    finish_sum(z, b, scale)


@kernel(inline=True)
def sparse_sum_rest(z, j, W, width, indices, values):
    """``sparse_forward``'s last vectors of z, from unit j on (fewer than a
    tile): up to three in one pass over the non-zeros, four sums each as one
    at a time has (the same sums, bit for bit), each entry's index and value
    read once for all of them (7–8 % faster at widths 32 and 112)."""
    while j + 3 * LANES < width:
        lanes_sparse_sum1(z, j, W, j, width, indices, values)
        j += LANES
    rest = (width - j) // LANES
    if rest == 3:
        lanes_sparse_sum3(z, j, W, j, width, indices, values)
    elif rest == 2:
        lanes_sparse_sum2(z, j, W, j, width, indices, values)
    elif rest == 1:
        lanes_sparse_sum1(z, j, W, j, width, indices, values)


@kernel(inline=True)
def dense_backward(delta_in, W, delta, scale=1.0):
    """delta_in (n_in,) = scale · (W (n_in, width) @ delta (width,)), overwritten."""
    width = delta.shape[0]
    for i in range(delta_in.shape[0]):
        row = W[i * width:(i + 1) * width]
        total = row[0] * delta[0]
        for j in range(1, width):
            total += row[j] * delta[j]
        delta_in[i] = total if scale == 1.0 else scale * total


@kernel(inline=True)
def start_sum(z, b, scale):
    """Start z = scale·Σ + b: with b when scale is 1 (the exact old sum), else 0."""
    if scale == 1.0:
        copy_into(z, b)
    else:
        z[:] = 0.0


@kernel(inline=True)
def finish_sum(z, b, scale):
    """Finish z = scale·Σ + b after ``start_sum`` and the sum."""
    if scale != 1.0:
        for j in range(z.shape[0]):
            z[j] = b[j] + scale * z[j]


@kernel(inline=True)
def bias_accumulate(target_b, delta, alpha):
    """target_b (width,) += alpha·delta (width,)."""
    alpha = target_b.dtype.type(alpha)
    for j in range(0, target_b.shape[0], LANES):
        lanes_axpy(target_b, j, delta, j, alpha)


@kernel(inline=True)
def dense_accumulate(target_W, a, delta, alpha, scale=1.0):
    """target_W (n_in, width) += alpha/scale·outer(a (n_in,), delta (width,)).

    ``target_W`` is either a gradient buffer (alpha = 1/m) or the weights
    themselves (alpha = −eta/m, plain SGD; ``scale`` is then the lazy weight
    decay: the true weights are scale · W).  Adds; never overwrites.  The
    biases' share is ``bias_accumulate``'s.
    """
    width = delta.shape[0]
    weight_alpha = target_W.dtype.type(alpha / scale)
    for i in range(a.shape[0]):
        x = a[i]
        if x != 0.0:
            for j in range(0, width, LANES):
                lanes_axpy(target_W, i * width + j, delta, j, weight_alpha * x)


@kernel(inline=True)
def sparse_update_rest(target_W, j, width, indices, values, delta, weight_alpha):
    """``sparse_accumulate``'s last vectors, from unit j on (fewer than a
    tile), as ``sparse_sum_rest``: up to three in one pass (each weight gets
    the same additions in the same order)."""
    while j + 3 * LANES < width:
        lanes_sparse_update1(target_W, j, width, indices, values, delta, j, weight_alpha)
        j += LANES
    rest = (width - j) // LANES
    if rest == 3:
        lanes_sparse_update3(target_W, j, width, indices, values, delta, j, weight_alpha)
    elif rest == 2:
        lanes_sparse_update2(target_W, j, width, indices, values, delta, j, weight_alpha)
    elif rest == 1:
        lanes_sparse_update1(target_W, j, width, indices, values, delta, j, weight_alpha)


@kernel(inline=True)
def sparse_accumulate(target_W, indices, values, delta, alpha, scale=1.0, tiled=True):
    """Like ``dense_accumulate`` for a sparse input row indices, values (nnz,):
    up to ``TILED_WIDTH`` units (and ``tiled``), tile by tile of delta, held
    in registers (``lanes.sparse_update``); else row by row, each row in order
    (a W too large for the cache; Hogwild!'s shared rows)."""
    width = delta.shape[0]
    weight_alpha = target_W.dtype.type(alpha / scale)
    if tiled and width <= TILED_WIDTH:
        j = 0
        while j + TILE * LANES <= width:
            lanes_sparse_update4(target_W, j, width, indices, values, delta, j, weight_alpha)
            j += TILE * LANES
        sparse_update_rest(target_W, j, width, indices, values, delta, weight_alpha)
        return
    for k in range(indices.shape[0]):
        i = indices[k] * width
        for j in range(0, width, LANES):
            lanes_axpy(target_W, i + j, delta, j, weight_alpha * values[k])
