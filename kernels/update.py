"""The parameter update: momentum or Nesterov, L2 decay and L1 in one pass.

With g the gradient of the unregularised mean mini-batch cost, n the training
set size and the book's conventions for the regularisers, each weight gets

    g_w = g + (l2 / n)·w + (l1 / n)·sign(w)          (biases: g only)
    v  <- momentum·v − eta·g_w
    w  <- w + v                          (classical momentum, the book's form)
    w  <- w + momentum·v − eta·g_w       (Nesterov, in the look-ahead form)

With momentum = 0 this is the book's w <- (1 − eta·l2/n)·w − eta·g.
"""
import math

from .jit import kernel
from .tunables import FINITE_CHUNK


@kernel(inline=True)
def sgd_update(theta, velocity, grad, n_weights, eta, momentum, nesterov,
               l2_rate, l1_rate):
    """Update theta and velocity (p,) in place from grad (p,), and reset grad
    to zero for the next batch (one pass instead of two).

    ``l2_rate`` = l2/n and ``l1_rate`` = l1/n; they apply to theta[:n_weights]
    (the weights); the biases theta[n_weights:] are not regularised.
    """
    zero = l2_rate - l2_rate  # 0 in l2_rate's type (one specialisation below)
    _momentum_step(theta[:n_weights], velocity[:n_weights], grad[:n_weights],
                   eta, momentum, nesterov, l2_rate, l1_rate)
    _momentum_step(theta[n_weights:], velocity[n_weights:], grad[n_weights:],
                   eta, momentum, nesterov, zero, zero)


@kernel(inline=True)
def _momentum_step(theta, velocity, grad, eta, momentum, nesterov, l2_rate,
                   l1_rate):
    """One momentum / Nesterov step on theta, velocity (p,), in place; grad (p,)
    is consumed: read, then set to zero."""
    as_dtype = theta.dtype.type
    eta, momentum = as_dtype(eta), as_dtype(momentum)
    l2_rate, l1_rate = as_dtype(l2_rate), as_dtype(l1_rate)
    for k in range(theta.shape[0]):
        w = theta[k]
        sign = as_dtype(w > 0.0) - as_dtype(w < 0.0)
        g = grad[k] + l2_rate * w + l1_rate * sign
        grad[k] = 0.0
        v = momentum * velocity[k] - eta * g
        velocity[k] = v
        if nesterov:
            theta[k] = w + momentum * v - eta * g
        else:
            theta[k] = w + v


@kernel
def scale(x, factor):
    """x (p,) *= factor, in place (the L2 weight decay of plain SGD)."""
    factor = x.dtype.type(factor)
    for k in range(x.shape[0]):
        x[k] *= factor


@kernel
def all_finite(x):
    """True when every entry of x (p,) is finite.  Chunk by chunk, with no
    exit inside a chunk, so that the check runs as vector code (3x faster
    than stopping at the first bad entry)."""
    n = x.shape[0]
    for start in range(0, n, FINITE_CHUNK):
        bad = False
        for k in range(start, min(start + FINITE_CHUNK, n)):
            bad |= not math.isfinite(x[k])
        if bad:
            return False
    return True
