"""``Parameters``: a network's weights and biases in the kernels' flat layout.

Every weight and bias lives in one flat vector ``theta`` (``kernels/layout.py``):
first every layer's weights, then every layer's biases, so that regularisation
touches the prefix ``theta[:n_weights]`` only.  Layer l's weights are a
row-major (n_in, width) block, ``width`` being n_out padded with zeros to
whole vectors; the padding stays zero.  ``theta`` starts on a cache line.

The public flat order (``flat_index``) is the unpadded one second-order tools
expect: layer by layer, the weights (n_in, n_out) row-major, then the biases.
``net.parameters`` is a network's own; optimizers keep their state arrays
(a velocity, Adam's moments) in the same padded layout (``zeros``).
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ..kernels.layout import (B_OFF, N_IN, N_OUT, W_OFF, WIDTH, line_aligned, line_aligned_zeros,
                              n_parameters)
from ..kernels.update import all_finite


class Parameters:
    """The padded flat parameter vector ``theta`` of a network with the layer
    table ``layers`` (``kernels/layout.build``), zero until written.

    ``split(flat)`` gives per-layer views of any vector in this layout,
    ``join(weights, biases)`` builds one; ``weights`` and ``biases`` are the
    views of ``theta`` itself (editing them edits it)."""

    def __init__(self, layers: NDArray[np.int64], dtype: np.dtype) -> None:
        self.layers = layers
        self.theta: NDArray[np.floating] = line_aligned_zeros(n_parameters(layers), dtype)
        self._flat_index: NDArray[np.int64] | None = None

    def __setstate__(self, state: dict) -> None:
        """Unpickled and copied parameters stay on a cache line (the kernels run
        10–25 % faster there)."""
        self.__dict__.update(state)
        self.theta = line_aligned(self.theta)

    def __repr__(self) -> str:
        return f"Parameters({self.theta.shape[0]} padded, {self.n_weights} of them weights, " \
               f"{self.theta.dtype.name})"

    @property
    def dtype(self) -> np.dtype:
        """The parameters' dtype."""
        return self.theta.dtype

    @property
    def n_weights(self) -> int:
        """Length of the weights' prefix of ``theta``, padding included."""
        return int(self.layers[0, B_OFF])

    def zeros(self) -> NDArray[np.floating]:
        """A zero vector laid out like ``theta``, starting on a cache line (for
        an optimizer's state, a gradient)."""
        return line_aligned_zeros(self.theta.shape[0], self.dtype)

    def finite(self) -> bool:
        """Whether every parameter is finite (no NaN, no infinity)."""
        return bool(all_finite(self.theta))

    def split(self, flat: NDArray) -> tuple[list[NDArray], list[NDArray]]:
        """Per-layer views of ``flat``, a vector laid out like ``theta``:
        (weights list of (n_in, n_out), biases list of (n_out,))."""
        weights, biases = [], []
        for row in self.layers:
            n_in, n_out, width = row[N_IN], row[N_OUT], row[WIDTH]
            block = flat[row[W_OFF]:row[W_OFF] + n_in * width].reshape(n_in, width)
            weights.append(block[:, :n_out])
            biases.append(flat[row[B_OFF]:row[B_OFF] + n_out])
        return weights, biases

    def join(self, weights: Sequence[ArrayLike], biases: Sequence[ArrayLike]) -> NDArray[np.floating]:
        """A new vector laid out like ``theta`` (padding zero, on a cache line)
        from per-layer arrays shaped like ``weights`` and ``biases``, cast to
        the dtype; the inverse of ``split``."""
        flat = self.zeros()
        sizes = [int(self.layers[0, N_IN])] + [int(n) for n in self.layers[:, N_OUT]]
        for name, given, targets in zip(("weights", "biases"), (weights, biases), self.split(flat)):
            given = list(given)
            if len(given) != len(targets):
                raise ValueError(f"{name}: expected {len(targets)} arrays, one per layer of "
                                 f"{sizes}, got {len(given)}")
            for l, (array, target) in enumerate(zip(given, targets)):
                array = np.asarray(array)
                if array.shape != target.shape:
                    raise ValueError(f"{name}[{l}]: expected shape {target.shape} for layer {l} of "
                                     f"{sizes}, got {array.shape}")
                target[...] = array
        return flat

    @property
    def weights(self) -> list[NDArray[np.floating]]:
        """Per layer, an (n_in, n_out) view of the weights in ``theta``."""
        return self.split(self.theta)[0]

    @property
    def biases(self) -> list[NDArray[np.floating]]:
        """Per layer, an (n_out,) view of the biases in ``theta``."""
        return self.split(self.theta)[1]

    @property
    def flat_index(self) -> NDArray[np.int64]:
        """(P,) the position in ``theta`` of each entry of the public flat order:
        ``theta[flat_index]`` is ``net.flat_parameters()``."""
        if self._flat_index is None:
            weights, biases = self.split(np.arange(self.theta.shape[0]))
            self._flat_index = np.concatenate([part for W, b in zip(weights, biases)
                                               for part in (W.ravel(), b)])
        return self._flat_index
