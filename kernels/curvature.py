"""Exact curvature products, H·v (R-operator) and G·v (Gauss-Newton): the
training passes of ``batch.py`` and two more over the same buffers.

For a direction v laid out like ``theta`` (p,) (see ``layout.py``; its padding
must be zero), Pearlmutter's R-operator R{f} = d/dr f(theta + r·v) at r = 0
adds one forward and one backward pass to the gradient's (``forward_batch``,
``backward_batch``), chunk by chunk of samples, in the same unit layout:

    forward    z_l = a_{l-1} W_l + b_l          a_l = f(z_l)          a_0 = x
    R-forward  Rz_l = a_{l-1} V_l + Vb_l + Ra_{l-1} W_l               Ra_0 = 0
               Ra_l = f'(z_l) ⊙ Rz_l            (softmax: a ⊙ (Rz − a·Rz))
    backward   d_L = dC/dz_L                    d_l = f'(z_l) ⊙ (W_{l+1} d_{l+1})
    R-backward Rd_L = R{dC/dz_L}
               Rd_l = f'(z_l) ⊙ (W_{l+1} Rd_{l+1} + V_{l+1} d_{l+1})
                      + f''(z_l) ⊙ Rz_l ⊙ (W_{l+1} d_{l+1})
    gradient   gW_l = a_{l-1}ᵀ d_l,  gb_l = d_l
    H·v        R{gW_l} = a_{l-1}ᵀ Rd_l + Ra_{l-1}ᵀ d_l,  R{gb_l} = Rd_l

a_{l-1} V_l + Vb_l is the forward pass's own product with v for theta
(``batch.linear_forward``), W_{l+1} Rd_{l+1} its backward product
(``batch.delta_product``), a_{l-1}ᵀ Rd_l + Rd_l the gradient's step
(``batch.accumulate_batch`` with Rd for d).

The Gauss-Newton product G·v = Jᵀ H_out J v (Schraudolph 2002; J = dz_L/dθ,
H_out the cost's Hessian in z_L, or in a_L for the quadratic cost) keeps
only the terms that do not involve d: Rd_L = H_out Rz_L and
Rd_l = f'(z_l) ⊙ (W_{l+1} Rd_{l+1}), R{gW_l} = a_{l-1}ᵀ Rd_l.  It is
positive semi-definite for every supported output and cost.

Every product is the mean over the samples (weighted like the gradient:
Rd_L, as d_L, times weights[r]·norm); the samples are summed in the blocks
of ``train.in_sample_blocks``, so results do not depend on the thread count.
"""
from collections import namedtuple

import numpy as np

from .activations import (LINEAR, SIGMOID, SOFTMAX, TANH,
                          activation_backward, softmax_jacobian_product)
from .batch import (accumulate_batch, backward_batch, delta_product, forward_batch,
                    linear_forward, matrix_accumulate, weight_norm)
from .costs import QUADRATIC
from .jit import kernel
from .layout import (ACT, ENGINE, GEMM, N_IN, N_OUT, WIDTH, columns_part, line_aligned_zeros,
                     n_units, rows_of, units_of, weights_of)
from .blas import gemm
from .blocked import block_product
from .train import Buffers, in_sample_blocks
from .tunables import EVAL_CHUNK
from .vectors import add_into

Directions = namedtuple("Directions", ["Z", "A", "D", "E"])  # R{z}, R{a}, R{d}, scratch


def directions(layers, batch_size, dtype):
    """Zeroed ``Directions`` buffers, each batch_size·U like ``train.buffers``' Z."""
    size = batch_size * n_units(layers)
    return Directions(*(line_aligned_zeros(size, dtype) for _ in range(4)))


# ---------------------------------------------------------- activations' R
@kernel
def r_activation(ra, rz, a, code):
    """ra (n,) = R{f(z)} = f'(z)·rz (softmax: its Jacobian times rz), overwritten;
    rz, a = f(z) (n,)."""
    n = a.shape[0]
    if code == SOFTMAX:
        softmax_jacobian_product(ra, a, rz)
        return
    for j in range(n):
        ra[j] = rz[j]
    activation_backward(ra, a, code)


@kernel
def add_second_derivative(rd, e, rz, a, code):
    """rd (n,) += f''(z) ⊙ rz ⊙ e for an element-wise hidden activation;
    e, rz, a = f(z) (n,).  Adds (nothing for ReLU and linear)."""
    n = a.shape[0]
    if code == SIGMOID:
        for j in range(n):
            rd[j] += a[j] * (1.0 - a[j]) * (1.0 - 2.0 * a[j]) * rz[j] * e[j]
    elif code == TANH:
        for j in range(n):
            rd[j] += -2.0 * a[j] * (1.0 - a[j] * a[j]) * rz[j] * e[j]


@kernel
def r_output_delta(rd, a, ra, rz, y, output, cost, gauss_newton):
    """rd (n_out,) = R{dC/dz_L} (exact) or H_out·J v (Gauss-Newton), overwritten.

    a, ra, rz, y (n_out,).  For the matching pairs (linear + quadratic,
    sigmoid + cross-entropy, softmax + log-likelihood) both are simply Ra.
    """
    n = a.shape[0]
    if output == LINEAR or cost != QUADRATIC:
        for j in range(n):
            rd[j] = ra[j]
        return
    if gauss_newton:  # H_out = Jᵀ J with J = da/dz: rd = Jᵀ (J rz) = Jᵀ ra
        for j in range(n):
            rd[j] = ra[j]
        if output == SIGMOID:
            activation_backward(rd, a, SIGMOID)
        else:
            r_activation(rd, ra, a, SOFTMAX)
        return
    if output == SIGMOID:  # d = (a − y) a(1 − a)
        for j in range(n):
            rd[j] = ra[j] * (a[j] * (1.0 - a[j]) + (a[j] - y[j]) * (1.0 - 2.0 * a[j]))
        return
    # softmax + quadratic: d_j = a_j (g_j − m), g = a − y, m = Σ a_k g_k
    m = 0.0
    rm = 0.0
    for k in range(n):
        g = a[k] - y[k]
        m += a[k] * g
        rm += ra[k] * g + a[k] * ra[k]
    for j in range(n):
        rd[j] = ra[j] * (a[j] - y[j] - m) + a[j] * (ra[j] - rm)


# ------------------------------------------------------------ passes of a batch
@kernel(inline=True)
def matrix_add(target, inputs, W, layers, l, m):
    """Layer l's units in ``target`` (m·U,) += inputs (m, n_in; row stride U) @ W
    (n_in, width), one product (GEMM's where layer l runs on it, else BLOCKED's)."""
    U, width = n_units(layers), layers[l, WIDTH]
    if layers[l, ENGINE] == GEMM:
        gemm(rows_of(target, layers, l), U, inputs, U, False, W, width, False, m, width,
             layers[l, N_IN], 1.0, 1.0)
    else:
        block_product(rows_of(target, layers, l), 0, U, inputs, 0, U, 1, W, width, m, width,
                      layers[l, N_IN], 1.0, True)


@kernel
def r_forward_batch(r, buffers, theta, v, layers, data, rows):
    """r.Z, r.A (m·U,) = R{z}, R{a} along v (p,) of every layer for the samples
    ``rows`` (m,), overwritten; ``buffers`` hold their forward pass."""
    m = rows.shape[0]
    for l in range(layers.shape[0]):
        linear_forward(r.Z, buffers, v, layers, data, rows, l, 1.0, 1.0)
        if l > 0:
            matrix_add(r.Z, rows_of(r.A, layers, l - 1), weights_of(theta, layers, l), layers, l,
                       m)
        n_out = layers[l, N_OUT]
        for s in range(m):
            r_activation(units_of(r.A, layers, l, 0, s)[:n_out],
                         units_of(r.Z, layers, l, 0, s)[:n_out],
                         units_of(buffers.A, layers, l, 0, s)[:n_out], layers[l, ACT])


@kernel
def r_backward_batch(r, buffers, theta, v, layers, data, rows, output, cost, gauss_newton,
                     norm):
    """r.D (m·U,) = R{d} (or, ``gauss_newton``, its Gauss-Newton part) of every
    layer for the samples ``rows`` (m,), overwritten (r.E scratch); ``buffers``
    hold their forward pass and (not ``gauss_newton``) their backward pass,
    ``r`` their R-forward pass; ``norm`` as in ``batch.backward_batch``."""
    m = rows.shape[0]
    last = layers.shape[0] - 1
    n_out = layers[last, N_OUT]
    weighted = data.weights.shape[0] > 0
    for s in range(m):
        rd = units_of(r.D, layers, last, 0, s)[:n_out]
        r_output_delta(rd, units_of(buffers.A, layers, last, 0, s)[:n_out],
                       units_of(r.A, layers, last, 0, s)[:n_out],
                       units_of(r.Z, layers, last, 0, s)[:n_out], data.Y[rows[s]], output, cost,
                       gauss_newton)
        if weighted:
            rd *= data.weights[rows[s]] * norm
    for l in range(last - 1, -1, -1):
        n_out, code = layers[l, N_OUT], layers[l, ACT]
        delta_product(r.D, r.D, theta, layers, l, m, 1.0)
        if not gauss_newton:
            delta_product(r.E, buffers.D, v, layers, l, m, 1.0)
            for s in range(m):
                add_into(units_of(r.D, layers, l, 0, s)[:n_out],
                         units_of(r.E, layers, l, 0, s)[:n_out])
        for s in range(m):
            activation_backward(units_of(r.D, layers, l, 0, s)[:n_out],
                                units_of(buffers.A, layers, l, 0, s)[:n_out], code)
        if not gauss_newton:
            delta_product(r.E, buffers.D, theta, layers, l, m, 1.0)
            for s in range(m):
                add_second_derivative(units_of(r.D, layers, l, 0, s)[:n_out],
                                      units_of(r.E, layers, l, 0, s)[:n_out],
                                      units_of(r.Z, layers, l, 0, s)[:n_out],
                                      units_of(buffers.A, layers, l, 0, s)[:n_out], code)


@kernel(allocates=True)
def product_sum(out, theta, v, layers, data, first, last, output, cost, gauss_newton, chunk, r,
                alpha, norm, columns):
    """out (p,) += alpha · Σ over the samples [first, last) of H_s·v (or G_s·v),
    each weighted as in ``train.gradient_sum``; ``layers`` planned for batches
    of EVAL_CHUNK, ``chunk`` their ``buffers`` and ``r`` their ``directions``;
    ``columns``: ``layout.columns_part``."""
    for start in range(first, last, EVAL_CHUNK):
        rows = np.arange(start, min(start + EVAL_CHUNK, last))
        m = rows.shape[0]
        forward_batch(chunk, theta, layers, data, rows, 1.0, np.uint64(0), start, 1.0,
                      np.int64(0))
        r_forward_batch(r, chunk, theta, v, layers, data, rows)
        if not gauss_newton:
            backward_batch(chunk, theta, layers, data, rows, output, cost, 1.0, 1.0, norm)
        r_backward_batch(r, chunk, theta, v, layers, data, rows, output, cost, gauss_newton,
                         norm)
        accumulate_batch(out, alpha, Buffers(chunk.Z, chunk.A, chunk.Ad, chunk.M, r.D, chunk.X,
                                             chunk.row_splits, chunk.col_start, chunk.col_sample,
                                             chunk.col_value, chunk.cost),
                         layers, data, rows, 1.0, 1.0, columns)
        if not gauss_newton:  # + Ra_{l-1}ᵀ d_l (Ra_0 = 0)
            for l in range(1, layers.shape[0]):
                matrix_accumulate(weights_of(out, layers, l), rows_of(r.A, layers, l - 1),
                                  n_units(layers), chunk.D, layers, l, m, alpha)


# ------------------------------------------------------------ all the samples
def product_all(out, theta, v, layers, data, output, cost, gauss_newton, threads=None):
    """out (p,) = H·v (or G·v with ``gauss_newton``) of the mean (weighted)
    unregularised cost over all n samples, overwritten; v (p,) with zero
    padding.  Blocks and threads as in ``train.gradient_all``."""
    n = data.Y.shape[0]
    norm = weight_norm(data.weights, np.arange(n))

    def block(partial, chunk, first, last):
        product_sum(partial, theta, v, layers, data, first, last, output, cost,
                    bool(gauss_newton), chunk, directions(layers, EVAL_CHUNK, theta.dtype),
                    1.0 / n, norm, columns_part(layers))
    in_sample_blocks(out, layers, data, threads, block)
