"""Cost functions by name, and which output layer each one pairs with.

| cost             | C for one sample                  | output layers           |
|------------------|-----------------------------------|-------------------------|
| "quadratic"      | ½‖a − y‖²                         | sigmoid, softmax, linear |
| "cross_entropy"  | −Σ y ln a + (1 − y) ln(1 − a)     | sigmoid                 |
| "log_likelihood" | −ln a_y                           | softmax                 |

The kernels compute them from the output pre-activations z in a stable form
(softplus, log-sum-exp), so no cost is ever log(0).
"""
from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from .checks import labels_of
from .kernels.activations import LINEAR, SIGMOID, SOFTMAX
from .kernels.costs import CROSS_ENTROPY, LOG_LIKELIHOOD, QUADRATIC

COSTS = {"quadratic": QUADRATIC, "cross_entropy": CROSS_ENTROPY,
         "log_likelihood": LOG_LIKELIHOOD}
OUTPUTS = {"sigmoid": SIGMOID, "softmax": SOFTMAX, "linear": LINEAR}
PAIRS = {"quadratic": ("sigmoid", "softmax", "linear"),
         "cross_entropy": ("sigmoid",),
         "log_likelihood": ("softmax",)}
DEFAULT_COST = {"softmax": "log_likelihood", "sigmoid": "cross_entropy",
                "linear": "quadratic"}


def check_pair(output: str, cost: str) -> None:
    """Raise ValueError when ``cost`` makes no sense with ``output``."""
    if output not in PAIRS[cost]:
        fitting = [c for c, outs in PAIRS.items() if output in outs]
        raise ValueError(
            f"cost: {cost!r} does not fit a {output!r} output layer "
            f"(it needs output={' or '.join(map(repr, PAIRS[cost]))}); "
            f"with output={output!r} pass cost={' or '.join(map(repr, fitting))}")


def regularisation(weights: NDArray[np.floating], l2: float, l1: float, n: int) -> float:
    """The book's penalty: l2/(2n)·Σw² + l1/n·Σ|w| over the weights (p,)."""
    if n == 0 or (l2 == 0.0 and l1 == 0.0):
        return 0.0
    w = weights.astype(float, copy=False)
    return 0.5 * l2 / n * float(w @ w) + l1 / n * float(abs(w).sum())


def classes_of(A: NDArray) -> NDArray[np.int64]:
    """The class each output (or target) row of A (n, n_out) stands for, (n,)
    int64: the largest unit, or with one unit (binary classification) 1 where
    it exceeds 0.5."""
    if A.shape[1] == 1:
        return (A[:, 0] > 0.5).astype(np.int64)
    return labels_of(A)
