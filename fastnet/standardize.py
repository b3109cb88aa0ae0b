"""``Standardize``: per-feature input standardization, (x − mean) / std, kept with a model.

``fastnet train --standardize`` computes the statistics on the training part
of the data only, trains on standardized inputs, and stores them in the model
file (``net.standardize``), so that ``fastnet evaluate`` / ``predict`` and the
ONNX export apply the same transformation to new rows.  ``Network.predict``
and friends never apply it themselves: in Python, call
``net.predict(net.standardize.apply(X))``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray


@dataclass(frozen=True, eq=False)
class Standardize:
    """mean and std: (n_features,) float64 arrays; std > 0 everywhere."""
    mean: NDArray[np.float64]
    std: NDArray[np.float64]

    def __post_init__(self) -> None:
        for name in ("mean", "std"):
            value = np.asarray(getattr(self, name))
            if value.ndim != 1 or not np.issubdtype(value.dtype, np.number) or not np.isfinite(value).all():
                raise ValueError(f"{name}: expected a 1-D array of finite numbers, got "
                                 f"{value.dtype} of shape {value.shape}")
            object.__setattr__(self, name, np.array(value, dtype=np.float64))
        if self.mean.shape != self.std.shape:
            raise ValueError(f"std: expected shape {self.mean.shape} like mean, got {self.std.shape}")
        if (self.std <= 0).any():
            raise ValueError("std: every entry must be positive; pass 1.0 for constant features")

    @classmethod
    def fit(cls, X: ArrayLike) -> Standardize:
        """Statistics of the columns of X (n, n_features); a constant column gets std 1."""
        X = np.asarray(X, dtype=np.float64)
        std = X.std(axis=0)
        return cls(X.mean(axis=0), np.where(std > 0, std, 1.0))

    def apply(self, X: ArrayLike) -> NDArray[np.floating]:
        """(X − mean) / std as a new array of X's float dtype (float32 for other input)."""
        X = np.asarray(X)
        if X.ndim != 2 or X.shape[1] != self.mean.shape[0]:
            raise ValueError(f"X: expected shape (n, {self.mean.shape[0]}) to standardize, "
                             f"got {X.shape}")
        dtype = X.dtype if X.dtype.kind == "f" else np.dtype(np.float32)
        return ((X - self.mean) / self.std).astype(dtype)

    def __repr__(self) -> str:
        return f"Standardize({self.mean.shape[0]} features)"
