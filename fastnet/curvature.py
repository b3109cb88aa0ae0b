"""The flat parameter view and exact curvature products of a ``Network``.

The public flat order is the one every second-order tool expects: layer by
layer, the layer's weights (n_in, n_out) in row-major order, then its biases;
P = ``net.n_parameters`` numbers.  (Inside, the parameters live in a padded
vector ``net.parameters.theta``, see ``kernels/layout.py``;
``net.parameters.flat_index`` maps one to the other.)

Products are of the mean *unregularised* cost over the samples given
(weighted: Σ w_i·C_i / Σ w_i where the data has sample weights): the
gradient (``kernels/train.py``'s, the training passes'), H·v by Pearlmutter's
R-operator and the Gauss-Newton product G·v (``kernels/curvature.py``: two
more passes over the training passes' buffers), all through the engine
(``fastnet/engine/curvature.py``, whose functions take a prepared ``Dataset``
and padded vectors, for optimizers that call them every iteration).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, cast

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .dataset import Dataset
from .engine import Parameters
from .engine.curvature import cost_gradient, curvature_product
from .engine.plan import plan
from .kernels.bands import at_once

if TYPE_CHECKING:
    from .network import Network

MAX_DENSE_PARAMETERS = 4000  # ``hessian`` refuses larger networks: (P, P) float64 is 128 MB here


class Curvature:
    """Mixin of ``Network``: flat parameters, gradient, H·v, G·v, dense Hessian."""

    if TYPE_CHECKING:  # what the mixin uses of Network
        dtype: np.dtype
        sizes: list[int]
        engine: str
        parameters: Parameters

        @property
        def n_parameters(self) -> int: ...

        def with_targets(self, X: ArrayLike | Dataset, y: ArrayLike | None, *,
                         sample_weight: ArrayLike | None = None, name: str = "X") -> Dataset: ...

    @property
    def _network(self) -> Network:
        """This object, typed as the Network it is mixed into (for the engine)."""
        return cast("Network", self)

    # ------------------------------------------------------------ flat view
    def flat_parameters(self) -> NDArray[np.floating]:
        """A (P,) copy of every weight and bias: per layer, the weights (n_in, n_out)
        row-major, then the biases."""
        return self.parameters.theta[self.parameters.flat_index]

    def set_flat_parameters(self, v: ArrayLike) -> None:
        """Overwrite every weight and bias from a (P,) vector in the order of
        ``flat_parameters``."""
        self.parameters.theta[self.parameters.flat_index] = self._flat_vector("v", v)

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
        out = self.parameters.zeros()
        out[self.parameters.flat_index] = self._flat_vector(name, v)
        return out

    # ------------------------------------------------------------ public products
    def flat_gradient(self, X: ArrayLike | Dataset, y: ArrayLike | None) -> NDArray[np.floating]:
        """(P,) gradient of the mean unregularised cost over (X, y), in the order
        of ``flat_parameters`` (the same numbers as ``gradient``)."""
        grad = self.parameters.zeros()
        cost_gradient(self._network, self.with_targets(X, y), grad)
        return grad[self.parameters.flat_index]

    def hessian_vector(self, X: ArrayLike | Dataset, y: ArrayLike | None, v: ArrayLike) -> NDArray[np.floating]:
        """H·v, (P,): the Hessian of the mean unregularised cost over (X, y)
        times v (P,), exactly, by the R-operator (about 3 gradients' work)."""
        return self._public_product(X, y, v, gauss_newton=False)

    def gauss_newton_vector(self, X: ArrayLike | Dataset, y: ArrayLike | None, v: ArrayLike) -> NDArray[np.floating]:
        """G·v, (P,): the Gauss-Newton matrix (positive semi-definite) of the mean
        unregularised cost over (X, y) times v (P,)."""
        return self._public_product(X, y, v, gauss_newton=True)

    def _public_product(self, X, y, v, gauss_newton):
        out = self.parameters.zeros()
        curvature_product(self._network, self.with_targets(X, y), self._padded("v", v), out, gauss_newton)
        return out[self.parameters.flat_index]

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
        data = self.with_targets(X, y)
        index = self.parameters.flat_index
        H = np.empty((P, P))
        threads = plan(self.parameters.layers, data, engine=self.engine).evaluation_threads or 1

        def columns(t):  # thread t's columns, each a product on one thread: the same sums
            v, out = self.parameters.zeros(), self.parameters.zeros()
            for i in range(t, P, threads):
                v[index[i]] = 1
                curvature_product(self._network, data, v, out, gauss_newton, threads=1)
                v[index[i]] = 0
                H[i] = out[index]
        at_once(columns, min(threads, P))
        return H
