"""Dense layers: forward, delta propagation and gradient accumulation.

W is one layer's weights, flat (n_in*width,) and row-major (n_in, width), see
``layout.py``: row i is W[i*width : (i+1)*width]; z, b and delta are (width,),
padding included; a is (n_in,).  The forward and accumulate kernels take the
row stride ``ld`` apart from the number of columns (the length of z or
delta), so that they can work on a band of columns [lo, hi) of a layer:
W[lo:] with ld = width, as the threads of ``columns.py`` do.  Inputs to the first layer arrive as one CSR
row (column ``indices`` and ``values`` of its non-zero pixels): MNIST images
are about 80 % zeros, so skipping them cuts the first layer's work by five.
Skipping exact zeros changes no result.
"""
from .jit import kernel
from .vectors import copy_into
from .lanes import LANES, lanes_axpy, lanes_axpy4


@kernel
def dense_forward(z, a, W, ld, b, scale=1.0):
    """z (k,) = scale · (a (n_in,) @ W (n_in, k)) + b (k,), overwritten; W's rows ld apart.

    Four input rows per pass over z, as in ``sparse_forward``; zero inputs
    (ReLU, dropout) are skipped.  ``scale`` is the lazy weight decay of
    ``train.train_epoch`` (the true weights are scale · W).
    """
    width = ld
    start_sum(z, b, scale)
    i = 0
    n_in = a.shape[0]
    while i + 4 <= n_in:
        x0, x1, x2, x3 = a[i], a[i + 1], a[i + 2], a[i + 3]
        if x0 != 0.0 or x1 != 0.0 or x2 != 0.0 or x3 != 0.0:
            row = i * width
            for j in range(0, z.shape[0], LANES):
                lanes_axpy4(z, j, W, row + j, row + width + j, row + 2 * width + j,
                            row + 3 * width + j, x0, x1, x2, x3)
        i += 4
    while i < n_in:
        if a[i] != 0.0:
            for j in range(0, z.shape[0], LANES):
                lanes_axpy(z, j, W, i * width + j, a[i])
        i += 1
    finish_sum(z, b, scale)


@kernel
def sparse_forward(z, indices, values, W, ld, b, scale=1.0):
    """z (k,) = scale · (x @ W) + b for a sparse x given by indices, values
    (nnz,); W's rows ld apart.  Four input rows per pass over z: a quarter of the loads and
    stores of z.
    """
    width = z.shape[0]
    start_sum(z, b, scale)
    nnz = indices.shape[0]
    k = 0
    while k + 4 <= nnz:
        i0, i1 = indices[k] * ld, indices[k + 1] * ld
        i2, i3 = indices[k + 2] * ld, indices[k + 3] * ld
        x0, x1, x2, x3 = values[k], values[k + 1], values[k + 2], values[k + 3]
        for j in range(0, width, LANES):
            lanes_axpy4(z, j, W, i0 + j, i1 + j, i2 + j, i3 + j, x0, x1, x2, x3)
        k += 4
    while k < nnz:
        i = indices[k] * ld
        for j in range(0, width, LANES):
            lanes_axpy(z, j, W, i + j, values[k])
        k += 1
    finish_sum(z, b, scale)


@kernel
def dense_backward(delta_in, W, delta, scale=1.0):
    """delta_in (n_in,) = scale · (W (n_in, width) @ delta (width,)), overwritten."""
    width = delta.shape[0]
    for i in range(delta_in.shape[0]):
        row = W[i * width:(i + 1) * width]
        total = row[0] * delta[0]
        for j in range(1, width):
            total += row[j] * delta[j]
        delta_in[i] = total if scale == 1.0 else scale * total


@kernel
def start_sum(z, b, scale):
    """Start z = scale·Σ + b: with b when scale is 1 (the exact old sum), else 0."""
    if scale == 1.0:
        copy_into(z, b)
    else:
        z[:] = 0.0


@kernel
def finish_sum(z, b, scale):
    """Finish z = scale·Σ + b after ``start_sum`` and the sum."""
    if scale != 1.0:
        for j in range(z.shape[0]):
            z[j] = b[j] + scale * z[j]


@kernel
def bias_accumulate(target_b, delta, alpha):
    """target_b (width,) += alpha·delta (width,)."""
    alpha = target_b.dtype.type(alpha)
    for j in range(0, target_b.shape[0], LANES):
        lanes_axpy(target_b, j, delta, j, alpha)


@kernel
def dense_accumulate(target_W, ld, a, delta, alpha, scale=1.0):
    """target_W (n_in, k) += alpha/scale·outer(a (n_in,), delta (k,)); its rows ld apart.

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
                lanes_axpy(target_W, i * ld + j, delta, j, weight_alpha * x)


@kernel
def sparse_accumulate(target_W, ld, indices, values, delta, alpha, scale=1.0):
    """Like ``dense_accumulate`` for a sparse input row indices, values (nnz,)."""
    width = delta.shape[0]
    weight_alpha = target_W.dtype.type(alpha / scale)
    for k in range(indices.shape[0]):
        i = indices[k] * ld
        for j in range(0, width, LANES):
            lanes_axpy(target_W, i + j, delta, j, weight_alpha * values[k])
