"""Dense layers: forward, delta propagation and gradient accumulation.

W is one layer's weights, flat (n_in*width,) and row-major (n_in, width), see
``layout.py``: row i is W[i*width : (i+1)*width]; z, b and delta are (width,),
padding included; a is (n_in,).  Inputs to the first layer arrive as one CSR
row (column ``indices`` and ``values`` of its non-zero pixels): MNIST images
are about 80 % zeros, so skipping them cuts the first layer's work by five.
Skipping exact zeros changes no result.
"""
from .jit import kernel
from .lanes import LANES, lanes_axpy, lanes_axpy4


@kernel
def dense_forward(z, a, W, b):
    """z (width,) = a (n_in,) @ W (n_in, width) + b (width,), overwritten.

    Four input rows per pass over z, as in ``sparse_forward``; zero inputs
    (ReLU, dropout) are skipped.
    """
    width = z.shape[0]
    z[:] = b
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


@kernel
def sparse_forward(z, indices, values, W, b):
    """z (width,) = x @ W + b for a sparse x given by indices, values (nnz,).

    Four input rows per pass over z: a quarter of the loads and stores of z.
    """
    width = z.shape[0]
    z[:] = b
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


@kernel
def dense_backward(delta_in, W, delta):
    """delta_in (n_in,) = W (n_in, width) @ delta (width,), overwritten."""
    width = delta.shape[0]
    for i in range(delta_in.shape[0]):
        row = W[i * width:(i + 1) * width]
        total = row[0] * delta[0]
        for j in range(1, width):
            total += row[j] * delta[j]
        delta_in[i] = total


@kernel
def dense_accumulate(target_W, target_b, a, delta, alpha):
    """target_W (n_in, width) += alpha·outer(a, delta); target_b += alpha·delta.

    ``target`` is either a gradient buffer (alpha = 1/m) or the parameters
    themselves (alpha = −eta/m, plain SGD).  Adds; never overwrites.
    """
    width = delta.shape[0]
    alpha = target_W.dtype.type(alpha)
    for j in range(0, width, LANES):
        lanes_axpy(target_b, j, delta, j, alpha)
    for i in range(a.shape[0]):
        x = a[i]
        if x != 0.0:
            for j in range(0, width, LANES):
                lanes_axpy(target_W, i * width + j, delta, j, alpha * x)


@kernel
def sparse_accumulate(target_W, target_b, indices, values, delta, alpha):
    """Like ``dense_accumulate`` for a sparse input row indices, values (nnz,)."""
    width = delta.shape[0]
    alpha = target_W.dtype.type(alpha)
    for j in range(0, width, LANES):
        lanes_axpy(target_b, j, delta, j, alpha)
    for k in range(indices.shape[0]):
        i = indices[k] * width
        for j in range(0, width, LANES):
            lanes_axpy(target_W, i + j, delta, j, alpha * values[k])
