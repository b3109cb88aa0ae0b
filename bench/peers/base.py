"""The interface every benchmarked trainer implements, and what the peers share.

A peer trains one network (sigmoid hidden layers, softmax + log-likelihood
output, plain SGD) in its own way. The harness calls, in order:

    peer = PeerClass(sizes, batch_size=10, eta=0.1, seed=1)
    peer.warm_up(X, y)                  # JIT, allocator and first-touch costs, untimed
    data = peer.prepare(X, y)           # convert to the peer's own format, untimed
    peer.train_epoch(data, order)       # timed: one pass in the given sample order
    peer.accuracy(X_test, y_test)

``order`` is a permutation of sample indices shared by the peers that accept
one (``takes_order``); the others shuffle with their own seeded generator.
"""

from __future__ import annotations

from typing import ClassVar, Sequence

import numpy as np
from scipy.special import expit

from bench.workloads import SEED


class PeerUnavailable(Exception):
    """The peer cannot run here (its library is missing); the message says why."""


def initial_parameters(sizes: Sequence[int], seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per layer (W (n_in, n_out), b (n_out,)) float32: W ~ N(0, 1/n_in), b ~ N(0, 1)."""
    rng = np.random.default_rng(seed)
    params = []
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        W = rng.standard_normal((n_in, n_out)) / np.sqrt(n_in)
        b = rng.standard_normal(n_out)
        params.append((W.astype(np.float32), b.astype(np.float32)))
    return params


def sigmoid(z: np.ndarray) -> np.ndarray:
    """Logistic function of any shape, same dtype; no overflow warning for any finite z."""
    return expit(z)


def softmax(z: np.ndarray, axis: int) -> np.ndarray:
    """Softmax along ``axis`` via the max shift of log-sum-exp: never overflows."""
    e = np.exp(z - z.max(axis=axis, keepdims=True))
    e /= e.sum(axis=axis, keepdims=True)
    return e


class Peer:
    """Base class: stores the configuration; subclasses implement the training."""

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    takes_order: ClassVar[bool] = True  # False: the peer shuffles with its own seeded RNG
    slice_images: ClassVar[int | None] = None  # compare.py times this many images and scales
    bench_rounds: ClassVar[int] = 3  # pytest-benchmark rounds of a full epoch per workload
    unavailable: ClassVar[str | None] = None  # why the peer cannot run here (a missing library)

    def __init__(self, sizes: Sequence[int], *, batch_size: int, eta: float, seed: int = SEED):
        self.sizes = tuple(sizes)
        self.batch_size = batch_size
        self.eta = eta
        self.seed = seed
        self.last_internal_seconds: float | None = None  # the peer's own epoch timing, if any

    @classmethod
    def check_available(cls) -> None:
        """Raise PeerUnavailable when the peer cannot run in this environment."""
        if cls.unavailable:
            raise PeerUnavailable(cls.unavailable)

    def prepare(self, X: np.ndarray, y: np.ndarray) -> object:
        """Data in the peer's own format from X (n, 784) float32 and y (n,) int64."""
        return X, y

    def train_epoch(self, data: object, order: np.ndarray) -> None:
        """One epoch of mini-batch SGD over the samples ``order`` (m,) of ``data``."""
        raise NotImplementedError

    def parameters(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """Current (W (n_in, n_out), b (n_out,)) per layer, as copies in the NumPy layout."""
        raise NotImplementedError(f"{self.name} does not expose its parameters")

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Predicted digit (n,) for the images X (n, 784)."""
        raise NotImplementedError

    def accuracy(self, X: np.ndarray, y: np.ndarray) -> float:
        """Fraction of the images X (n, 784) classified as their labels y (n,)."""
        return float(np.mean(self.predict(X) == y))

    def warm_up(self, X: np.ndarray, y: np.ndarray, n: int = 100) -> None:
        """Train a throw-away twin for one epoch on the first ``n`` images (JIT, first touch)."""
        twin = type(self)(self.sizes, batch_size=self.batch_size, eta=self.eta, seed=self.seed)
        twin.train_epoch(twin.prepare(X[:n], y[:n]), np.arange(min(n, len(X))))
