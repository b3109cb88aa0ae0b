"""Pictures of a network and its training: learning curves and first-layer weights.

* ``learning_curves_png(history, path)``: cost and accuracy per epoch for the
  training and validation data, side by side, like the figures of the book's
  chapter 3.  Drawn with matplotlib (the optional ``plot`` extra), through its
  object-oriented API, so the caller's pyplot backend is left alone; without
  matplotlib it raises ``MatplotlibMissing``.
* ``weight_tiles(weights)``: the first layer's weights as one side x side tile
  per hidden unit (784 inputs: 28 x 28), as a NumPy RGB image for
  ``png.write_png``: no matplotlib needed.
"""
from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .outputs import atomic_write

NEGATIVE, POSITIVE, GRID = (33, 102, 172), (178, 24, 43), (140, 140, 140)  # blue, red, gray
MIN_WIDTH = 400  # pixels; small grids are scaled up by a whole factor
MAX_SCALE = 8


class MatplotlibMissing(ImportError):
    """matplotlib is not installed, so no plot can be drawn."""


def learning_curves_png(history: Mapping[str, Sequence[float]], path: str | os.PathLike[str], title: str = "") -> None:
    """Write cost and accuracy per epoch (training and validation) to the PNG ``path``.

    ``history``: a dict of per-epoch lists as ``Network.fit`` returns it;
    curves with no values (e.g. training data not monitored) are left out.
    The best validation epoch is marked.
    """
    try:
        from matplotlib.figure import Figure
        from matplotlib.ticker import MaxNLocator
    except ImportError as error:
        raise MatplotlibMissing("matplotlib is not installed; install it with "
                                "pip install 'fastnet[plot]' to get learning-curve plots") from error
    figure = Figure(figsize=(10, 4), layout="constrained")
    cost_axes, accuracy_axes = figure.subplots(1, 2)
    for part in ("training", "validation"):
        costs, accuracies = history[f"{part}_cost"], history[f"{part}_accuracy"]
        epochs = np.arange(1, len(costs) + 1)
        if costs:
            cost_axes.plot(epochs, costs, marker=".", label=f"{part} data")
            accuracy_axes.plot(epochs, 100 * np.asarray(accuracies), marker=".",
                               label=f"{part} data")
    scores = history["validation_accuracy"]
    if scores:
        best = int(np.argmax(scores)) + 1
        for axes in (cost_axes, accuracy_axes):
            axes.axvline(best, color="gray", linestyle=":",
                         label=f"best validation epoch ({best})")
    for axes, name in ((cost_axes, "cost"), (accuracy_axes, "accuracy (%)")):
        axes.set_xlabel("epoch")
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
        axes.set_ylabel(name)
        axes.grid(alpha=0.3)
        axes.legend()
    if title:
        figure.suptitle(title)
    with atomic_write(path) as handle:
        figure.savefig(handle, format="png", dpi=100)


def weight_tiles(weights: ArrayLike) -> NDArray[np.uint8]:
    """The incoming weights of each unit as a picture: (height, width, 3) uint8 RGB.

    ``weights``: (n_in, n_units), n_in a square number (side x side pixels).
    Each unit's tile is scaled by its own largest |w|: red positive, blue
    negative, white zero; tiles fill a near-square grid with gray lines
    between them, scaled up by a whole factor to at least ``MIN_WIDTH`` pixels.
    """
    weights = np.asarray(weights, dtype=np.float64)
    if weights.ndim != 2:
        raise ValueError(f"weights: expected a 2-D (n_in, n_units) array, got shape {weights.shape}")
    n_in, n_units = weights.shape
    side = math.isqrt(n_in)
    if side * side != n_in:
        raise ValueError(f"weights: the layer has {n_in} inputs, which is no square image "
                         "(784 = 28 x 28 is); only square inputs can be drawn as tiles")
    columns = math.ceil(math.sqrt(n_units))
    rows = math.ceil(n_units / columns)
    tiles = weights.T.reshape(n_units, side, side)
    peak = np.abs(tiles).max(axis=(1, 2), keepdims=True)
    signed = tiles / np.where(peak > 0, peak, 1.0)  # in [-1, 1]
    colours = _diverging(signed)
    cell = side + 1
    canvas = np.empty((rows * cell + 1, columns * cell + 1, 3), dtype=np.uint8)
    canvas[...] = GRID
    for unit in range(n_units):
        row, column = divmod(unit, columns)
        top, left = 1 + row * cell, 1 + column * cell
        canvas[top:top + side, left:left + side] = colours[unit]
    scale = min(MAX_SCALE, max(1, math.ceil(MIN_WIDTH / canvas.shape[1])))
    return canvas.repeat(scale, axis=0).repeat(scale, axis=1)


def _diverging(signed: NDArray[np.float64]) -> NDArray[np.uint8]:
    """Colours (..., 3) uint8 for values in [-1, 1]: blue at -1, white at 0, red at +1."""
    white = np.full(3, 255.0)
    strength = np.abs(signed)[..., None]
    ends = np.where(signed[..., None] < 0, np.array(NEGATIVE, float), np.array(POSITIVE, float))
    return np.rint(white + strength * (ends - white)).astype(np.uint8)
