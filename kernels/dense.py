"""Dense layers: forward, delta propagation and gradient accumulation.

W is layer l's weights, flat (n_in*n_out,) and row-major (n_in, n_out), see
``layout.py``: row i is W[i*n_out : (i+1)*n_out].  Inputs to the first layer
arrive as one CSR row (column ``indices`` and ``values`` of its non-zero
pixels): MNIST images are about 80 % zeros, so skipping them cuts the first
layer's work by five.  Skipping exact zeros changes no result.
"""
from .jit import kernel


@kernel
def dense_forward(z, a, W, b):
    """z (n_out,) = a (n_in,) @ W (n_in, n_out) + b (n_out,), overwritten."""
    n_out = z.shape[0]
    z[:] = b
    for i in range(a.shape[0]):
        x = a[i]
        if x != 0.0:
            row = W[i * n_out:(i + 1) * n_out]
            for j in range(n_out):
                z[j] += x * row[j]


@kernel
def sparse_forward(z, indices, values, W, b):
    """z (n_out,) = x @ W + b for a sparse x given by indices, values (nnz,).

    Four input rows per pass over z: a quarter of the loads and stores of z.
    """
    n_out = z.shape[0]
    z[:] = b
    nnz = indices.shape[0]
    k = 0
    while k + 4 <= nnz:
        x0, x1, x2, x3 = values[k], values[k + 1], values[k + 2], values[k + 3]
        i0, i1 = indices[k] * n_out, indices[k + 1] * n_out
        i2, i3 = indices[k + 2] * n_out, indices[k + 3] * n_out
        r0, r1 = W[i0:i0 + n_out], W[i1:i1 + n_out]
        r2, r3 = W[i2:i2 + n_out], W[i3:i3 + n_out]
        for j in range(n_out):
            z[j] += (x0 * r0[j] + x1 * r1[j]) + (x2 * r2[j] + x3 * r3[j])
        k += 4
    while k < nnz:
        x, i = values[k], indices[k] * n_out
        row = W[i:i + n_out]
        for j in range(n_out):
            z[j] += x * row[j]
        k += 1


@kernel
def dense_backward(delta_in, W, delta):
    """delta_in (n_in,) = W (n_in, n_out) @ delta (n_out,), overwritten."""
    n_out = delta.shape[0]
    for i in range(delta_in.shape[0]):
        row = W[i * n_out:(i + 1) * n_out]
        total = row[0] * delta[0]
        for j in range(1, n_out):
            total += row[j] * delta[j]
        delta_in[i] = total


@kernel
def dense_accumulate(target_W, target_b, a, delta, alpha):
    """target_W (n_in, n_out) += alpha·outer(a, delta); target_b += alpha·delta.

    ``target`` is either a gradient buffer (alpha = 1/m) or the parameters
    themselves (alpha = −eta/m, plain SGD).  Adds; never overwrites.
    """
    n_out = delta.shape[0]
    alpha = target_W.dtype.type(alpha)
    for j in range(n_out):
        target_b[j] += alpha * delta[j]
    for i in range(a.shape[0]):
        x = a[i]
        if x != 0.0:
            scale = alpha * x
            row = target_W[i * n_out:(i + 1) * n_out]
            for j in range(n_out):
                row[j] += scale * delta[j]


@kernel
def sparse_accumulate(target_W, target_b, indices, values, delta, alpha):
    """Like ``dense_accumulate`` for a sparse input row indices, values (nnz,)."""
    n_out = delta.shape[0]
    alpha = target_W.dtype.type(alpha)
    for j in range(n_out):
        target_b[j] += alpha * delta[j]
    for k in range(indices.shape[0]):
        scale = alpha * values[k]
        i = indices[k] * n_out
        row = target_W[i:i + n_out]
        for j in range(n_out):
            row[j] += scale * delta[j]
