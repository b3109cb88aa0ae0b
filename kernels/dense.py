"""Dense layers: forward, delta propagation and gradient accumulation.

W is (n_in, n_out) (see ``layout.py``).  Inputs to the first layer arrive as
one CSR row (column ``indices`` and ``values`` of its non-zero pixels): MNIST
images are about 80 % zeros, so skipping them cuts the first layer's work by
five.  Skipping exact zeros changes no result: 0·w adds nothing to a sum.
"""
from .jit import kernel


@kernel
def dense_forward(z, a, W, b):
    """z (n_out,) = a (n_in,) @ W (n_in, n_out) + b (n_out,), overwritten."""
    n_out = z.shape[0]
    for j in range(n_out):
        z[j] = b[j]
    for i in range(a.shape[0]):
        x = a[i]
        if x != 0.0:
            row = W[i]
            for j in range(n_out):
                z[j] += x * row[j]


@kernel
def sparse_forward(z, indices, values, W, b):
    """z (n_out,) = x @ W + b for a sparse x given by indices, values (nnz,)."""
    n_out = z.shape[0]
    for j in range(n_out):
        z[j] = b[j]
    for k in range(indices.shape[0]):
        x = values[k]
        row = W[indices[k]]
        for j in range(n_out):
            z[j] += x * row[j]


@kernel
def dense_backward(delta_in, W, delta):
    """delta_in (n_in,) = W (n_in, n_out) @ delta (n_out,), overwritten."""
    n_out = delta.shape[0]
    for i in range(delta_in.shape[0]):
        row = W[i]
        total = 0.0
        for j in range(n_out):
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
            row = target_W[i]
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
        row = target_W[indices[k]]
        for j in range(n_out):
            row[j] += scale * delta[j]
