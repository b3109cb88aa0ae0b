"""What crosses into a kernel, checked: arrays against the layer table, scalars
against the network's dtype.

Every array a kernel reads or writes is checked by ``kernels.layout.check_arrays``
once per call, so that no user input can make a kernel read or write out of
bounds; the engine's modules call ``check`` before every kernel call.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from ..kernels.layout import check_arrays

if TYPE_CHECKING:
    from ..dataset import Dataset


def check(layers: NDArray[np.int64], theta: NDArray[np.floating], data: Dataset, **arrays: Any) -> None:
    """``check_arrays`` for the parameters ``theta`` (laid out by ``layers``),
    ``data``'s inputs and the other ``arrays`` a kernel call takes."""
    inputs = dict(dense=data.X.reshape(-1)) if data.dense else dict(csr=data.csr)
    check_arrays(layers, theta, n_samples=data.n, **inputs, **arrays)


def scalar(dtype: np.dtype, name: str, value: float) -> np.floating:
    """``value`` in ``dtype``; ValueError naming it if it overflows."""
    with np.errstate(over="ignore"):
        cast = dtype.type(value)
    if not np.isfinite(cast):
        raise ValueError(f"{name}: {value:g} overflows this {dtype.name} network; "
                         f"pass a value below {np.finfo(dtype).max:g}")
    return cast
