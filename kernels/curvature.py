"""Exact curvature products: the gradient, H·v (R-operator) and G·v (Gauss-Newton).

For a direction v laid out like ``theta`` (p,) (see ``layout.py``; its padding
must be zero), Pearlmutter's R-operator R{f} = d/dr f(theta + r·v) at r = 0
runs one extra forward and one extra backward pass per sample:

    forward    z_l = a_{l-1} W_l + b_l          a_l = f(z_l)          a_0 = x
    R-forward  Rz_l = Ra_{l-1} W_l + a_{l-1} V_l + Vb_l               Ra_0 = 0
               Ra_l = f'(z_l) ⊙ Rz_l            (softmax: a ⊙ (Rz − a·Rz))
    backward   d_L = dC/dz_L                    d_l = f'(z_l) ⊙ (W_{l+1} d_{l+1})
    R-backward Rd_L = R{dC/dz_L}
               Rd_l = f'(z_l) ⊙ (W_{l+1} Rd_{l+1} + V_{l+1} d_{l+1})
                      + f''(z_l) ⊙ Rz_l ⊙ (W_{l+1} d_{l+1})
    gradient   gW_l = a_{l-1}ᵀ d_l,  gb_l = d_l
    H·v        R{gW_l} = Ra_{l-1}ᵀ d_l + a_{l-1}ᵀ Rd_l,  R{gb_l} = Rd_l

The Gauss-Newton product G·v = Jᵀ H_out J v (Schraudolph 2002; J = dz_L/dθ,
H_out the cost's Hessian in z_L, or in a_L for the quadratic cost) keeps
only the terms that do not involve d: Rd_L = H_out Rz_L and
Rd_l = f'(z_l) ⊙ (W_{l+1} Rd_{l+1}), R{gW_l} = a_{l-1}ᵀ Rd_l.  It is
positive semi-definite for every supported output and cost.

Every product is the mean over the n samples.  Per-sample buffers are (U,)
in the unit layout of ``layout.py`` (sample 0's place).  Parallel kernels cut
the samples into a fixed number of ``blocks`` (chosen by the caller, not by
the thread count), each summed into its own row of a scratch array and then
added in order, so results do not depend on the number of threads.
"""
import numpy as np
from numba import prange

from .activations import (LINEAR, SIGMOID, SOFTMAX, TANH,
                          activation_backward, activation_forward, softmax_jacobian_product)
from .costs import QUADRATIC, output_delta, sample_cost
from .jit import kernel
from .lanes import LANES, lanes_axpy
from .layout import (ACT, N_IN, N_OUT, biases_of, n_units, units_of,
                     weights_of)
from .vectors import copy_into


# ------------------------------------------------------------ dense algebra
@kernel
def dense_in(z, x, W):
    """z (width,) += x (n_in,) @ W, W flat (n_in*width,) row-major.  Adds."""
    width = z.shape[0]
    for i in range(x.shape[0]):
        xi = x[i]
        if xi != 0.0:
            row = i * width
            for j in range(0, width, LANES):
                lanes_axpy(z, j, W, row + j, xi)


@kernel
def sparse_in(z, indices, values, W):
    """z (width,) += x @ W for the sparse row x = (indices, values) (nnz,).  Adds."""
    width = z.shape[0]
    for k in range(indices.shape[0]):
        xi = values[k]
        row = indices[k] * width
        for j in range(0, width, LANES):
            lanes_axpy(z, j, W, row + j, xi)


@kernel
def dense_out(out, W, d):
    """out (n_in,) += W (n_in, width) @ d (width,).  Adds."""
    width = d.shape[0]
    for i in range(out.shape[0]):
        row = i * width
        total = 0.0
        for j in range(width):
            total += W[row + j] * d[j]
        out[i] += total


@kernel
def outer_add(T, x, d, alpha):
    """T (n_in*width,) += alpha · outer(x (n_in,), d (width,)).  Adds."""
    width = d.shape[0]
    for i in range(x.shape[0]):
        xi = alpha * x[i]
        if xi != 0.0:
            row = i * width
            for j in range(0, width, LANES):
                lanes_axpy(T, row + j, d, j, xi)


@kernel
def sparse_outer_add(T, indices, values, d, alpha):
    """T += alpha · outer(x, d) for the sparse row x = (indices, values).  Adds."""
    width = d.shape[0]
    for k in range(indices.shape[0]):
        xi = alpha * values[k]
        row = indices[k] * width
        for j in range(0, width, LANES):
            lanes_axpy(T, row + j, d, j, xi)


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


# ------------------------------------------------------------ one sample
@kernel
def sample_forward(z, a, theta, layers, indices, values):
    """z, a (U,) = pre-activations and activations of every layer, overwritten
    (padding untouched); the input is the sparse row (indices, values)."""
    for l in range(layers.shape[0]):
        n_out = layers[l, N_OUT]
        zl = units_of(z, layers, l, 1, 0)
        copy_into(zl, biases_of(theta, layers, l))
        W = weights_of(theta, layers, l)
        if l == 0:
            sparse_in(zl, indices, values, W)
        else:
            dense_in(zl, units_of(a, layers, l - 1, 1, 0)[:layers[l, N_IN]], W)
        activation_forward(units_of(a, layers, l, 1, 0)[:n_out], zl[:n_out], layers[l, ACT])


@kernel
def sample_r_forward(rz, ra, a, theta, v, layers, indices, values):
    """rz, ra (U,) = R{z}, R{a} of every layer along v (p,), overwritten."""
    for l in range(layers.shape[0]):
        n_out, n_in = layers[l, N_OUT], layers[l, N_IN]
        rzl = units_of(rz, layers, l, 1, 0)
        copy_into(rzl, biases_of(v, layers, l))
        if l == 0:
            sparse_in(rzl, indices, values, weights_of(v, layers, l))
        else:
            dense_in(rzl, units_of(a, layers, l - 1, 1, 0)[:n_in], weights_of(v, layers, l))
            dense_in(rzl, units_of(ra, layers, l - 1, 1, 0)[:n_in], weights_of(theta, layers, l))
        r_activation(units_of(ra, layers, l, 1, 0)[:n_out], rzl[:n_out],
                     units_of(a, layers, l, 1, 0)[:n_out], layers[l, ACT])


@kernel
def sample_backward(d, a, theta, layers, y, output, cost):
    """d (U,) = dC/dz of every layer for target y (n_out,), overwritten."""
    last = layers.shape[0] - 1
    n_out = layers[last, N_OUT]
    output_delta(units_of(d, layers, last, 1, 0)[:n_out],
                 units_of(a, layers, last, 1, 0)[:n_out], y, output, cost)
    for l in range(last - 1, -1, -1):
        n_out = layers[l, N_OUT]
        dl = units_of(d, layers, l, 1, 0)[:n_out]
        dl[:] = 0.0
        dense_out(dl, weights_of(theta, layers, l + 1), units_of(d, layers, l + 1, 1, 0))
        activation_backward(dl, units_of(a, layers, l, 1, 0)[:n_out], layers[l, ACT])


@kernel
def sample_r_backward(rd, e, d, rz, ra, a, theta, v, layers, y, output, cost,
                      gauss_newton):
    """rd (U,) = R{d} (exact) or its Gauss-Newton part, overwritten; e (U,) scratch."""
    last = layers.shape[0] - 1
    n_out = layers[last, N_OUT]
    r_output_delta(units_of(rd, layers, last, 1, 0)[:n_out], units_of(a, layers, last, 1, 0)[:n_out],
                   units_of(ra, layers, last, 1, 0)[:n_out], units_of(rz, layers, last, 1, 0)[:n_out],
                   y, output, cost, gauss_newton)
    for l in range(last - 1, -1, -1):
        n_out = layers[l, N_OUT]
        code = layers[l, ACT]
        al = units_of(a, layers, l, 1, 0)[:n_out]
        rdl = units_of(rd, layers, l, 1, 0)[:n_out]
        rdl[:] = 0.0
        dense_out(rdl, weights_of(theta, layers, l + 1), units_of(rd, layers, l + 1, 1, 0))
        if not gauss_newton:
            d_next = units_of(d, layers, l + 1, 1, 0)
            dense_out(rdl, weights_of(v, layers, l + 1), d_next)
        activation_backward(rdl, al, code)
        if not gauss_newton:
            el = units_of(e, layers, l, 1, 0)[:n_out]
            el[:] = 0.0
            dense_out(el, weights_of(theta, layers, l + 1), d_next)
            add_second_derivative(rdl, el, units_of(rz, layers, l, 1, 0)[:n_out], al, code)


@kernel
def sample_accumulate(target, d, a, layers, indices, values, alpha):
    """target (p,) += alpha · (a_{l-1}ᵀ d_l, d_l) for every layer l: one
    sample's gradient, or with d = Rd the a·Rd part of R{gradient}.  d, a (U,).
    Adds."""
    for l in range(layers.shape[0]):
        dl = units_of(d, layers, l, 1, 0)
        Tb = biases_of(target, layers, l)
        for j in range(dl.shape[0]):
            Tb[j] += alpha * dl[j]
        TW = weights_of(target, layers, l)
        if l == 0:
            sparse_outer_add(TW, indices, values, dl, alpha)
        else:
            outer_add(TW, units_of(a, layers, l - 1, 1, 0)[:layers[l, N_IN]], dl, alpha)


@kernel
def add_ra_terms(target, d, ra, layers, alpha):
    """target (p,) += alpha · Ra_{l-1}ᵀ d_l for every layer l ≥ 1 (weights only).  Adds."""
    for l in range(1, layers.shape[0]):
        outer_add(weights_of(target, layers, l), units_of(ra, layers, l - 1, 1, 0)[:layers[l, N_IN]],
                  units_of(d, layers, l, 1, 0), alpha)


# ------------------------------------------------------------ blocks of samples
@kernel(allocates=True)
def block_gradient(grad, theta, layers, indptr, indices, values, Y, lo, hi,
                   output, cost, alpha):
    """grad (p,) += alpha · Σ gradients of samples lo..hi-1; returns Σ their costs."""
    U = n_units(layers)
    z = np.zeros(U, dtype=theta.dtype)
    a = np.zeros_like(z)
    d = np.zeros_like(z)
    last = layers.shape[0] - 1
    n_out = layers[last, N_OUT]
    total = 0.0
    for s in range(lo, hi):
        ind, val = indices[indptr[s]:indptr[s + 1]], values[indptr[s]:indptr[s + 1]]
        sample_forward(z, a, theta, layers, ind, val)
        total += sample_cost(units_of(a, layers, last, 1, 0)[:n_out],
                             units_of(z, layers, last, 1, 0)[:n_out], Y[s], output, cost)
        sample_backward(d, a, theta, layers, Y[s], output, cost)
        sample_accumulate(grad, d, a, layers, ind, val, alpha)
    return total


@kernel(allocates=True)
def block_product(out, theta, v, layers, indptr, indices, values, Y, lo, hi,
                  output, cost, gauss_newton, alpha):
    """out (p,) += alpha · Σ over samples lo..hi-1 of H_s·v (or G_s·v).  Adds."""
    U = n_units(layers)
    z = np.zeros(U, dtype=theta.dtype)
    a, d, rz, ra, rd, e = (np.zeros_like(z), np.zeros_like(z), np.zeros_like(z),
                           np.zeros_like(z), np.zeros_like(z), np.zeros_like(z))
    for s in range(lo, hi):
        ind, val = indices[indptr[s]:indptr[s + 1]], values[indptr[s]:indptr[s + 1]]
        sample_forward(z, a, theta, layers, ind, val)
        sample_r_forward(rz, ra, a, theta, v, layers, ind, val)
        if not gauss_newton:
            sample_backward(d, a, theta, layers, Y[s], output, cost)
        sample_r_backward(rd, e, d, rz, ra, a, theta, v, layers, Y[s], output, cost,
                          gauss_newton)
        sample_accumulate(out, rd, a, layers, ind, val, alpha)
        if not gauss_newton:
            add_ra_terms(out, d, ra, layers, alpha)


# ------------------------------------------------------------ whole data sets
@kernel(parallel=True, allocates=True)
def cost_gradient(grad, theta, layers, indptr, indices, values, Y, output, cost, blocks):
    """grad (p,) = mean gradient of the unregularised cost over all n samples,
    overwritten; returns the mean cost (float64).  ``blocks`` (≥ 1) fixes how
    the sum is split, so the result is independent of the thread count."""
    n = Y.shape[0]
    partial = np.zeros((blocks, theta.shape[0]), dtype=theta.dtype)
    costs = np.zeros(blocks)
    for b in prange(blocks):
        costs[b] = block_gradient(partial[b], theta, layers, indptr, indices, values, Y,
                                  n * b // blocks, n * (b + 1) // blocks, output, cost, 1.0 / n)
    grad[:] = partial[0]
    for b in range(1, blocks):
        grad += partial[b]
    return costs.sum() / n


@kernel(parallel=True, allocates=True)
def curvature_product(out, theta, v, layers, indptr, indices, values, Y, output, cost,
                      gauss_newton, blocks):
    """out (p,) = H·v (or G·v with ``gauss_newton``) of the mean cost over all n
    samples, overwritten; v (p,) with zero padding.  Blocks as in ``cost_gradient``."""
    n = Y.shape[0]
    partial = np.zeros((blocks, theta.shape[0]), dtype=theta.dtype)
    for b in prange(blocks):
        block_product(partial[b], theta, v, layers, indptr, indices, values, Y,
                      n * b // blocks, n * (b + 1) // blocks, output, cost, gauss_newton, 1.0 / n)
    out[:] = partial[0]
    for b in range(1, blocks):
        out += partial[b]


@kernel(parallel=True, allocates=True)
def curvature_products(out, theta, V, layers, indptr, indices, values, Y, output, cost,
                       gauss_newton):
    """out (k, p) = H·V[j] (or G·V[j]) for every row of V (k, p), overwritten:
    k directions in parallel, each over all n samples (the dense Hessian)."""
    n = Y.shape[0]
    for j in prange(V.shape[0]):
        out[j] = 0.0
        block_product(out[j], theta, V[j], layers, indptr, indices, values, Y, 0, n,
                      output, cost, gauss_newton, 1.0 / n)


@kernel(allocates=True)
def block_cost(theta, layers, indptr, indices, values, Y, lo, hi, output, cost):
    """Σ of the costs of samples lo..hi-1 (float64): forward passes only."""
    U = n_units(layers)
    z = np.zeros(U, dtype=theta.dtype)
    a = np.zeros_like(z)
    last = layers.shape[0] - 1
    n_out = layers[last, N_OUT]
    total = 0.0
    for s in range(lo, hi):
        sample_forward(z, a, theta, layers, indices[indptr[s]:indptr[s + 1]],
                       values[indptr[s]:indptr[s + 1]])
        total += sample_cost(units_of(a, layers, last, 1, 0)[:n_out],
                             units_of(z, layers, last, 1, 0)[:n_out], Y[s], output, cost)
    return total


@kernel(parallel=True, allocates=True)
def mean_cost(theta, layers, indptr, indices, values, Y, output, cost, blocks):
    """Mean unregularised cost over all n samples (float64); blocks as in
    ``cost_gradient``."""
    n = Y.shape[0]
    costs = np.zeros(blocks)
    for b in prange(blocks):
        costs[b] = block_cost(theta, layers, indptr, indices, values, Y,
                              n * b // blocks, n * (b + 1) // blocks, output, cost)
    return costs.sum() / n
