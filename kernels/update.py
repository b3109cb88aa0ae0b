"""The parameter update of one mini-batch, in one pass: SGD (momentum or
Nesterov, L2 and L1), Adam or AdamW, each with gradient-norm clipping.

``update`` takes the rule from the epoch's ``Step`` record (``train.py``):
``rule`` is ``SGD``, ``ADAM`` or ``ADAMW``.  With g the gradient of the
unregularised mean mini-batch cost, n the training set size and the book's
conventions for the regularisers:

- clipping (``clip_norm`` c > 0): g <- g·min(1, c/‖g‖), ‖g‖ the L2 norm of
  the whole mini-batch gradient (``clip_factor``), before anything below.
- SGD: each weight gets

      g_w = g + (l2 / n)·w + (l1 / n)·sign(w)          (biases: g only)
      v  <- momentum·v − eta·g_w
      w  <- w + v                          (classical momentum, the book's form)
      w  <- w + momentum·v − eta·g_w       (Nesterov, in the look-ahead form)

  With momentum = 0 this is the book's w <- (1 − eta·l2/n)·w − eta·g.
- Adam (Kingma & Ba 2015) at update number t = 1, 2, ...: with g_w = g +
  (l2 / n)·w (biases: g), m and v the first and second moments,

      m <- beta1·m + (1 − beta1)·g_w
      v <- beta2·v + (1 − beta2)·g_w²
      w <- w − eta/(1 − beta1^t) · m / (sqrt(v)/sqrt(1 − beta2^t) + eps)

- AdamW (Loshchilov & Hutter 2019): Adam with no L2 in g_w, and the weights
  (not the biases) first multiplied by 1 − eta·weight_decay.

The bias corrections and the step size are computed in float64 once per
call, the per-parameter arithmetic in the parameters' dtype.
"""
import math

from .jit import kernel
from .tunables import FINITE_CHUNK

SGD, ADAM, ADAMW = 0, 1, 2  # Step.rule
RULES = {"sgd": SGD, "adam": ADAM, "adamw": ADAMW}


@kernel(inline=True)
def update(theta, velocity, second, grad, n_weights, step, clip, t):
    """Update theta (p,) in place by ``step``'s rule from grad (p,), and reset
    grad to zero for the next batch.  velocity (p,): SGD's momentum velocity
    or Adam's first moment; second (p,): Adam's second moment (read only by
    Adam: SGD's may be empty).  theta[:n_weights] are weights, the rest
    biases (neither regularised nor decayed).  ``clip``: the factor of the
    gradient (``clip_factor``; 1 without clipping); t: the update's number
    (1 for the first update of a run; used by Adam only)."""
    if step.rule == SGD:
        sgd_update(theta, velocity, grad, n_weights, step.eta, step.momentum, step.nesterov,
                   step.l2_rate, step.l1_rate, clip)
    else:
        adam_update(theta, velocity, second, grad, n_weights, step, clip, t)


@kernel(inline=True)
def adam_update(theta, first, second, grad, n_weights, step, clip, t):
    """Adam's or AdamW's update (``step.rule``) of theta, first, second (p,)
    in place from grad (p,), which is consumed (set to zero); t >= 1."""
    eta = float(step.eta)
    correction1 = 1.0 - step.beta1 ** t
    correction2 = 1.0 - step.beta2 ** t
    rate = eta / correction1
    root = 1.0 / math.sqrt(correction2)
    adamw = step.rule == ADAMW
    l2_rate = 0.0 if adamw else float(step.l2_rate)
    decay = 1.0 - eta * step.weight_decay if adamw else 1.0
    _adam_step(theta[:n_weights], first[:n_weights], second[:n_weights], grad[:n_weights],
               step.beta1, step.beta2, step.eps, rate, root, clip, l2_rate, decay)
    _adam_step(theta[n_weights:], first[n_weights:], second[n_weights:], grad[n_weights:],
               step.beta1, step.beta2, step.eps, rate, root, clip, 0.0, 1.0)


@kernel(inline=True)
def _adam_step(theta, first, second, grad, beta1, beta2, eps, rate, root, clip, l2_rate,
               decay):
    """One Adam step on theta, first, second (p,) in place; grad (p,) is read,
    then set to zero.  ``rate`` = eta/(1 − beta1^t), ``root`` =
    1/sqrt(1 − beta2^t), ``decay`` AdamW's factor of the weights (1: none)."""
    as_dtype = theta.dtype.type
    beta1, beta2, eps = as_dtype(beta1), as_dtype(beta2), as_dtype(eps)
    one = as_dtype(1.0)
    rate, root, clip = as_dtype(rate), as_dtype(root), as_dtype(clip)
    l2_rate, decay = as_dtype(l2_rate), as_dtype(decay)
    for k in range(theta.shape[0]):
        w = theta[k]
        g = clip * grad[k] + l2_rate * w
        grad[k] = 0.0
        m = beta1 * first[k] + (one - beta1) * g
        v = beta2 * second[k] + (one - beta2) * (g * g)
        first[k] = m
        second[k] = v
        theta[k] = decay * w - rate * m / (math.sqrt(v) * root + eps)


@kernel(inline=True)
def squared_norm(x):
    """Σ x² of x (p,), summed in float64."""
    total = 0.0
    for k in range(x.shape[0]):
        value = float(x[k])
        total += value * value
    return total


@kernel(inline=True)
def clip_factor(squares, clip_norm):
    """The gradient's factor under clipping: min(1, clip_norm/‖g‖) for ‖g‖² =
    ``squares``; 1 when clip_norm is 0 (no clipping)."""
    norm = math.sqrt(squares)
    if clip_norm > 0.0 and norm > clip_norm:
        return clip_norm / norm
    return 1.0


@kernel(inline=True)
def sgd_update(theta, velocity, grad, n_weights, eta, momentum, nesterov,
               l2_rate, l1_rate, clip=1.0):
    """Update theta and velocity (p,) in place from clip·grad (p,), and reset
    grad to zero for the next batch (one pass instead of two).

    ``l2_rate`` = l2/n and ``l1_rate`` = l1/n; they apply to theta[:n_weights]
    (the weights); the biases theta[n_weights:] are not regularised.
    """
    zero = l2_rate - l2_rate  # 0 in l2_rate's type (one specialisation below)
    _momentum_step(theta[:n_weights], velocity[:n_weights], grad[:n_weights],
                   eta, momentum, nesterov, l2_rate, l1_rate, clip)
    _momentum_step(theta[n_weights:], velocity[n_weights:], grad[n_weights:],
                   eta, momentum, nesterov, zero, zero, clip)


@kernel(inline=True)
def _momentum_step(theta, velocity, grad, eta, momentum, nesterov, l2_rate,
                   l1_rate, clip):
    """One momentum / Nesterov step on theta, velocity (p,), in place; grad (p,)
    is consumed: read, then set to zero."""
    as_dtype = theta.dtype.type
    eta, momentum = as_dtype(eta), as_dtype(momentum)
    l2_rate, l1_rate = as_dtype(l2_rate), as_dtype(l1_rate)
    clipped, clip = clip != 1.0, as_dtype(clip)
    for k in range(theta.shape[0]):
        w = theta[k]
        sign = as_dtype(w > 0.0) - as_dtype(w < 0.0)
        g = grad[k] * clip if clipped else grad[k]  # unclipped: the same rounding as without
        g = g + l2_rate * w + l1_rate * sign
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
