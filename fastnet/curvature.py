"""The flat parameter view and exact curvature products of a ``Network``.

The public flat order is the one every second-order tool expects: layer by
layer, the layer's weights (n_in, n_out) in row-major order, then its biases;
P = ``net.n_parameters`` numbers.  (Inside, the parameters live in a padded
vector ``net._theta``, see ``kernels/layout.py``; ``_flat_index`` maps one to
the other.)

Products are of the mean *unregularised* cost over the samples given
(weighted: Σ w_i·C_i / Σ w_i where the data has sample weights): the
gradient (``kernels/train.py``'s, the training passes'), H·v by Pearlmutter's
R-operator and the Gauss-Newton product G·v (``kernels/curvature.py``: two
more passes over the training passes' buffers).  The underscore methods take a
prepared ``Dataset`` and padded vectors, for optimizers that call them every
iteration.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .costs import COSTS, OUTPUTS
from .dataset import Dataset
from .kernels.bands import at_once
from .kernels.curvature import product_all
from .kernels.train import cost_all, gradient_all

if TYPE_CHECKING:
    from .engine.plan import Plan

MAX_DENSE_PARAMETERS = 4000  # ``hessian`` refuses larger networks: (P, P) float64 is 128 MB here


class Curvature:
    """Mixin of ``Network``: flat parameters, gradient, H·v, G·v, dense Hessian."""

    if TYPE_CHECKING:  # what the mixin uses of Network
        dtype: np.dtype
        output: str
        cost_name: str
        _theta: NDArray[np.floating]
        _layers: NDArray[np.int64]

        @property
        def n_parameters(self) -> int: ...

        def _prepare(self, X: ArrayLike | Dataset, y: ArrayLike | None, name: str = "X",
                     sample_weight: ArrayLike | None = None) -> Dataset: ...

        def _check(self, layers: NDArray[np.int64], data: Dataset, **arrays: object) -> None: ...

        def _plan(self, data: Dataset | None, batch_size: int = 10, threads: int | str | None = None,
                  hogwild: bool = False) -> Plan: ...

    # ------------------------------------------------------------ flat view
    @property
    def _flat_index(self):
        """(P,) int64: position in ``_theta`` of each entry of the public flat vector."""
        index = getattr(self, "_flat_index_cache", None)
        if index is None:
            weights, biases = self._split(np.arange(self._theta.shape[0]))
            index = np.concatenate([part for W, b in zip(weights, biases)
                                    for part in (W.ravel(), b)])
            self._flat_index_cache = index
        return index

    def flat_parameters(self) -> NDArray[np.floating]:
        """A (P,) copy of every weight and bias: per layer, the weights (n_in, n_out)
        row-major, then the biases."""
        return self._theta[self._flat_index]

    def set_flat_parameters(self, v: ArrayLike) -> None:
        """Overwrite every weight and bias from a (P,) vector in the order of
        ``flat_parameters``."""
        self._theta[self._flat_index] = self._flat_vector("v", v)

    def _flat_vector(self, name, v):
        """v as a finite (P,) array of the network's dtype."""
        P = self.n_parameters
        try:
            v = np.asarray(v)
        except ValueError:
            v = np.empty(0, dtype=object)
        if v.dtype.kind not in "fiu" or v.shape != (P,):
            raise ValueError(f"{name}: expected a ({P},) array of numbers in the order of "
                             f"flat_parameters(), got shape {v.shape} dtype {v.dtype}; pass "
                             f"one number per weight and bias of {list(self.sizes)}")
        with np.errstate(over="ignore"):
            v = v.astype(self.dtype)
        if not np.isfinite(v).all():
            raise ValueError(f"{name}: contains NaN or infinite values (or values too large "
                             f"for {self.dtype.name}); pass finite numbers")
        return v

    def _padded(self, name, v):
        """The public (P,) vector v scattered into the padded layout (padding zero)."""
        out = np.zeros_like(self._theta)
        out[self._flat_index] = self._flat_vector(name, v)
        return out

    # ------------------------------------------------------------ public products
    def flat_gradient(self, X: ArrayLike | Dataset, y: ArrayLike | None) -> NDArray[np.floating]:
        """(P,) gradient of the mean unregularised cost over (X, y), in the order
        of ``flat_parameters`` (the same numbers as ``gradient``)."""
        grad = np.empty_like(self._theta)
        self._cost_gradient(self._prepare(X, y), grad)
        return grad[self._flat_index]

    def hessian_vector(self, X: ArrayLike | Dataset, y: ArrayLike | None, v: ArrayLike) -> NDArray[np.floating]:
        """H·v, (P,): the Hessian of the mean unregularised cost over (X, y)
        times v (P,), exactly, by the R-operator (about 3 gradients' work)."""
        return self._public_product(X, y, v, gauss_newton=False)

    def gauss_newton_vector(self, X: ArrayLike | Dataset, y: ArrayLike | None, v: ArrayLike) -> NDArray[np.floating]:
        """G·v, (P,): the Gauss-Newton matrix (positive semi-definite) of the mean
        unregularised cost over (X, y) times v (P,)."""
        return self._public_product(X, y, v, gauss_newton=True)

    def _public_product(self, X, y, v, gauss_newton):
        data = self._prepare(X, y)
        out = np.empty_like(self._theta)
        self._curvature_product(data, self._padded("v", v), out, gauss_newton)
        return out[self._flat_index]

    def hessian(self, X: ArrayLike | Dataset, y: ArrayLike | None, gauss_newton: bool = False
                ) -> NDArray[np.float64]:
        """The dense (P, P) float64 Hessian (or Gauss-Newton matrix) of the mean
        unregularised cost over (X, y), for small networks (P ≤ 4000): one
        exact H·e_i per column.  Larger networks are refused: use
        ``hessian_vector`` with an iterative method (scipy.sparse.linalg.eigsh)."""
        P = self.n_parameters
        if P > MAX_DENSE_PARAMETERS:
            raise ValueError(
                f"hessian: this network has {P} parameters, a dense ({P}, {P}) matrix "
                f"would take {P * P * 8 / 2**30:.1f} GiB and {P} passes over the data; "
                f"hessian() builds at most {MAX_DENSE_PARAMETERS} parameters. Pass a smaller "
                "network, or use hessian_vector(X, y, v) with scipy.sparse.linalg.eigsh "
                "(see docs/second-order.md)")
        data = self._prepare(X, y)
        index = self._flat_index
        H = np.empty((P, P))
        threads = self._plan(data).evaluation_threads or 1

        def columns(t):  # thread t's columns, each a product on one thread: the same sums
            v, out = np.zeros_like(self._theta), np.empty_like(self._theta)
            for i in range(t, P, threads):
                v[index[i]] = 1
                self._curvature_product(data, v, out, gauss_newton, threads=1)
                v[index[i]] = 0
                H[i] = out[index]
        at_once(columns, min(threads, P))
        return H

    # ------------------------------------------------------------ for optimizers
    def _check_padded(self, **arrays):
        for name, array in arrays.items():
            if array.shape != self._theta.shape or array.dtype != self.dtype:
                raise ValueError(f"{name}: expected a {self._theta.shape} {self.dtype.name} "
                                 f"array laid out like the parameters, got {array.shape} "
                                 f"{array.dtype}")

    def _passes(self, data, **padded):
        """The layer table of the full-batch passes over the prepared ``data``
        (the plan's evaluation table), its threads, the codes of the output
        and cost, after checking ``data`` and the ``padded`` vectors."""
        self._check_padded(**padded)
        planned = self._plan(data)
        layers = planned.evaluation_table
        self._check(layers, data, Y=data.Y)
        return layers, planned.evaluation_threads, OUTPUTS[self.output], COSTS[self.cost_name]

    def _cost_gradient(self, data, grad):
        """Mean (weighted) unregularised cost over the prepared ``data`` (float);
        the gradient is written into ``grad``, a padded vector like ``_theta``."""
        layers, threads, output, cost = self._passes(data, grad=grad)
        return gradient_all(grad, self._theta, layers, data.record(), output, cost, threads)

    def _cost(self, data):
        """Mean (weighted) unregularised cost over the prepared ``data`` (float):
        the forward passes of ``_cost_gradient``, the same number."""
        layers, threads, output, cost = self._passes(data)
        return cost_all(self._theta, layers, data.record(), output, cost, threads)

    def _curvature_product(self, data, v, out, gauss_newton=False, threads=None):
        """out = H·v (or G·v) over the prepared ``data``; v and out padded like
        ``_theta`` (v's padding zero), out overwritten; on the plan's threads
        unless ``threads`` says."""
        layers, planned, output, cost = self._passes(data, v=v, out=out)
        product_all(out, self._theta, v, layers, data.record(), output, cost, bool(gauss_newton),
                    planned if threads is None else threads)
