"""Activation functions and their derivatives, one code per function.

Codes (stored per layer in the layout table, see ``layout.py``):
``SIGMOID``, ``TANH``, ``RELU`` for any layer; ``LINEAR`` and ``SOFTMAX`` for
the output layer.  Derivatives are computed from the activation ``a`` that the
forward pass stored, never by re-evaluating ``exp``.  Every function is safe
for any finite input: sigmoid branches on the sign of z, softmax subtracts the
maximum before exponentiating.

The tanh and the sigmoid of float32 layers are computed in float64 from
``exponential.exp_nonpositive``, which loops vectorise, and rounded once to
float32 when stored: the correctly rounded values (the C library's float32
``exp`` left one sigmoid in eight of N(0, 64) inputs one unit in the last
place off), eight and five times faster than the C
library's functions, one element per call.  Float64 layers keep the C
library's ``tanh`` and ``exp``: the exact reference.
"""
import math

import numpy as np

from .exponential import exp_nonpositive
from .jit import kernel

SMALL_TANH = 2.0 ** -7  # below it, tanh by its series: (1 − t)/(1 + t) would cancel digits

SIGMOID, TANH, RELU, LINEAR, SOFTMAX = 0, 1, 2, 3, 4


@kernel(inline=True)
def sigmoid(z, wide=True):
    """1 / (1 + exp(-z)) for a scalar, without overflow for any finite z;
    ``wide`` (float64 layers, and the scalar callers): with the C library's
    exp, else in float64 from ``exp_nonpositive`` (loops vectorise), rounded
    once when stored."""
    if wide:
        e = math.exp(-abs(z))
        return (1.0 if z >= 0.0 else e) / (1.0 + e)
    x = np.float64(z)
    e = exp_nonpositive(-abs(x))
    return (1.0 if x >= 0.0 else e) / (1.0 + e)


@kernel(inline=True)
def tanh(z, wide):
    """tanh of a scalar; ``wide`` (float64 layers): the C library's, else in
    float64 as (1 − t)/(1 + t), t = exp(−2|z|), with the sign of z, and by
    its series z − z³/3 + 2z⁵/15 below ``SMALL_TANH`` (relative error below
    10^-13 either way)."""
    if wide:
        return math.tanh(z)
    x = np.float64(z)
    size = abs(x)
    t = exp_nonpositive(-2.0 * size)
    square = x * x
    series = size * (1.0 - square * (1.0 / 3.0 - square * (2.0 / 15.0)))
    y = series if size < SMALL_TANH else (1.0 - t) / (1.0 + t)
    return math.copysign(y, x)


@kernel
def softplus(z):
    """log(1 + exp(z)) for a scalar, without overflow for any finite z."""
    return max(z, 0.0) + math.log1p(math.exp(-abs(z)))


@kernel(inline=True)
def softmax_forward(a, z):
    """a (n,) = softmax(z (n,)), overwritten; stable log-sum-exp form."""
    top = z[0]
    for j in range(1, z.shape[0]):
        top = max(top, z[j])
    total = 0.0
    for j in range(z.shape[0]):
        a[j] = math.exp(z[j] - top)
        total += a[j]
    inverse = 1.0 / total
    for j in range(z.shape[0]):
        a[j] *= inverse


@kernel
def softmax_jacobian_product(out, a, v):
    """out (n,) = J·v, J = diag(a) − a·aᵀ the softmax's Jacobian at a = softmax(z),
    for v (n,); overwritten (out may be v itself)."""
    mean = 0.0
    for k in range(a.shape[0]):
        mean += a[k] * v[k]
    for j in range(a.shape[0]):
        out[j] = a[j] * (v[j] - mean)


@kernel
def log_sum_exp(z):
    """log(sum(exp(z))) of z (n,) without overflow."""
    top = z[0]
    for j in range(1, z.shape[0]):
        top = max(top, z[j])
    total = 0.0
    for j in range(z.shape[0]):
        total += math.exp(z[j] - top)
    return top + math.log(total)


@kernel(inline=True)
def log_softmax(out, z):
    """out (n,) = log(softmax(z (n,))), overwritten."""
    lse = log_sum_exp(z)
    for j in range(z.shape[0]):
        out[j] = z[j] - lse


@kernel
def activation_forward(a, z, code):
    """a (n,) = f(z (n,)) for the activation ``code``, overwritten."""
    n = z.shape[0]
    if code == SIGMOID:
        wide = a.itemsize == 8
        for j in range(n):
            a[j] = sigmoid(z[j], wide)
    elif code == TANH:
        wide = a.itemsize == 8
        for j in range(n):
            a[j] = tanh(z[j], wide)
    elif code == RELU:
        for j in range(n):
            a[j] = max(z[j], 0.0)
    elif code == SOFTMAX:
        softmax_forward(a, z)
    else:
        for j in range(n):
            a[j] = z[j]


@kernel
def activation_backward(delta, a, code):
    """delta (n,) *= f'(z), with f'(z) computed from a = f(z) (n,).

    Only for element-wise activations (every hidden layer); the softmax
    Jacobian is handled by the cost's output delta.
    """
    n = a.shape[0]
    if code == SIGMOID:
        for j in range(n):
            delta[j] *= a[j] * (1.0 - a[j])
    elif code == TANH:
        for j in range(n):
            delta[j] *= 1.0 - a[j] * a[j]
    elif code == RELU:
        for j in range(n):
            if a[j] <= 0.0:
                delta[j] = 0.0
