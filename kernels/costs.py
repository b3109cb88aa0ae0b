"""Per-sample costs and the output-layer error delta = dC/dz_L.

Codes: ``QUADRATIC`` C = ½‖a − y‖²; ``CROSS_ENTROPY`` (sigmoid output)
C = −Σ y ln a + (1 − y) ln(1 − a), computed from z as Σ softplus(z) − y·z so it
never takes log(0); ``LOG_LIKELIHOOD`` (softmax output) C = −Σ y·log_softmax(z).
The Python layer rejects combinations that make no sense before any kernel runs.
"""
import math

import numpy as np

from .activations import LINEAR, SIGMOID, SOFTMAX, log_sum_exp, softmax_jacobian_product, softplus
from .jit import kernel

QUADRATIC, CROSS_ENTROPY, LOG_LIKELIHOOD = 0, 1, 2
TINY = 1e-30  # smaller softmax outputs lose digits (float32's subnormals): trained_cost takes z


@kernel(inline=True)
def sample_cost(a, z, y, output, cost):
    """Cost of one sample: a, z, y (n_out,) -> float."""
    total = 0.0
    if cost == QUADRATIC:
        for j in range(a.shape[0]):
            # In float64 even for float32 outputs: (1e30)² overflows float32.
            diff = np.float64(a[j]) - np.float64(y[j])
            total += diff * diff
        return 0.5 * total
    if cost == CROSS_ENTROPY:
        for j in range(z.shape[0]):
            total += softplus(z[j]) - y[j] * z[j]
        return total
    lse = log_sum_exp(z)
    for j in range(z.shape[0]):
        if y[j] != 0.0:
            total += y[j] * (lse - z[j])
    return total


@kernel(inline=True)
def trained_cost(a, z, y, output, cost):
    """``sample_cost`` for the running cost of training, within rounding: a
    softmax's log-likelihood from its outputs a, −Σ y_j·ln a_j (a log per
    target instead of an exp per output), falling back on log-sum-exp where a
    target's a_j is below ``TINY`` (never ln 0)."""
    if cost != LOG_LIKELIHOOD:
        return sample_cost(a, z, y, output, cost)
    total = 0.0
    for j in range(a.shape[0]):
        if y[j] != 0.0:
            if a[j] < TINY:
                return sample_cost(a, z, y, output, cost)
            total -= y[j] * math.log(a[j])
    return total


@kernel(inline=True)
def output_delta(delta, a, y, output, cost):
    """delta (n_out,) = dC/dz of the output layer, overwritten; a, y (n_out,)."""
    n = a.shape[0]
    for j in range(n):
        delta[j] = a[j] - y[j]
    if cost != QUADRATIC or output == LINEAR:
        return
    if output == SIGMOID:
        for j in range(n):
            delta[j] *= a[j] * (1.0 - a[j])
    elif output == SOFTMAX:
        # Softmax Jacobian: delta_j = a_j * (g_j - sum_k a_k g_k), g = a - y.
        softmax_jacobian_product(delta, a, delta)


@kernel
def output_costs(costs, A, Z, Y, output, cost):
    """costs (n,) = per-sample cost of outputs A, Z and targets Y (n, n_out)."""
    for s in range(A.shape[0]):
        costs[s] = sample_cost(A[s], Z[s], Y[s], output, cost)
