"""The compiled entry points a typical run needs, listed once, and ``precompile``.

Numba compiles a kernel on its first call, for the types of its arguments,
and caches the machine code on disk (``cache=True``): a later process with
the same argument types loads it instead of compiling.  So ``precompile``
runs each entry point once through the public API on tiny data of exactly
the types a real run passes: the network's dtype, the layout of its inputs,
uint8 pixels or floats, and CSR column numbers of ``csr.index_dtype`` for
MNIST's 784 columns (the type of every data set up to 65,536 columns).  The
sizes of the layers, the batch size and the settings of SGD change no type.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, cast

import numpy as np

from ..checks import choice, cores
from ..dataset import Dataset
from ..kernels.dense import TILED_WIDTH
from ..network import Network

Dtype = Literal["float32", "float64"]
Layout = Literal["sparse", "dense"]
DTYPES: tuple[Dtype, ...] = ("float32", "float64")
LAYOUTS: tuple[Layout, ...] = ("sparse", "dense")
INPUTS = 784     # MNIST's columns: their CSR column numbers have the dtype of any n_in up to 65,536
SAMPLES = 20     # tiny data: two batches of 10
DENSITY = 0.19   # MNIST's fraction of non-zero pixels
WIDE = TILED_WIDTH + 1  # a first layer this wide steps on COLUMNS for sparse inputs (layout.plan)


@dataclass(frozen=True)
class EntryPoint:
    """One compiled entry point: its ``name`` and ``run(net, pixels, floats)``,
    which calls it once on Datasets of uint8 pixels and of floats (of the
    network's dtype) with labels; ``threads``: it needs two cores."""
    name: str
    run: Callable[[Network, Dataset, Dataset], Any]
    threads: bool = False


def _epoch(threads: int, momentum: float = 0.0, wide: bool = False
           ) -> Callable[[Network, Dataset, Dataset], Any]:
    """An entry point's ``run``: one epoch of the network on ``threads``
    threads, with ``momentum`` (any value but 0 compiles the update rules:
    momentum, Nesterov, L1, clipping, Adam and AdamW share them), on a first
    layer ``wide`` enough for the COLUMNS step of sparse inputs."""
    def run(net: Network, pixels: Dataset, floats: Dataset) -> Any:
        if wide:
            net = Network([INPUTS, WIDE, 10], dtype=net.dtype, seed=0)
        return net.fit(pixels, epochs=1, threads=threads, momentum=momentum,
                       validation=(floats, None))
    return run


# The compiled epoch leaves out what a run does not use (kernels/train.py ``epoch_parts``):
# each combination of plain SGD or an update rule and a first layer on the COLUMNS step or
# not is an entry point of its own, so that a first run compiles only its own.
ENTRY_POINTS = (
    EntryPoint("evaluate", lambda net, pixels, floats: (net.evaluate(pixels), net.evaluate(floats))),
    EntryPoint("predict", lambda net, pixels, floats: net.predict(pixels)),
    EntryPoint("gradient", lambda net, pixels, floats: net.gradient(pixels)),
    EntryPoint("gradient (wide)", lambda net, pixels, floats:
               Network([INPUTS, WIDE, 10], dtype=net.dtype, seed=0).gradient(pixels)),
    *(EntryPoint(f"epoch ({kind}{rule}{width})", _epoch(threads, momentum, wide), threads > 1)
      for threads, kind in ((1, "one thread"), (2, "threads"))
      for momentum, rule in ((0.0, ""), (0.9, ", momentum"))
      for wide, width in ((False, ""), (True, ", wide"))),
)
NAME_WIDTH = max(len(entry.name) for entry in ENTRY_POINTS)


def precompile(dtype: Dtype | Sequence[Dtype] = DTYPES, layout: Layout | Sequence[Layout] = LAYOUTS,
               verbose: bool = False) -> dict[tuple[str, str, str], float]:
    """Compile (or load from Numba's cache) the kernels of a typical run ahead
    of it, so that the first ``fit`` compiles nothing: the inputs' conversion,
    evaluation, prediction, the gradient and the training epoch on one thread
    and on several, for each ``dtype`` ("float32", "float64") and ``layout``
    of the inputs ("sparse", "dense"; see ``Dataset``).  ``verbose`` prints a
    line per entry point with the seconds it took.  Returns those seconds by
    (dtype, layout, entry point name); an entry point that needs two cores is
    left out on one."""
    dtypes = _names("dtype", dtype, DTYPES)
    layouts = cast("tuple[Layout, ...]", _names("layout", layout, LAYOUTS))
    rng = np.random.default_rng(0)
    X = (rng.integers(1, 256, (SAMPLES, INPUTS)) * (rng.random((SAMPLES, INPUTS)) < DENSITY)).astype(np.uint8)
    y = np.arange(SAMPLES) % 10
    seconds = {}

    def took(dtype_: str, layout_: str, name: str, began: float) -> None:
        seconds[dtype_, layout_, name] = spent = time.perf_counter() - began
        if verbose:
            print(f"compiled {dtype_} {layout_:<6} {name:<{NAME_WIDTH}} {spent:5.1f} s", flush=True)

    for dtype_ in dtypes:
        for layout_ in layouts:
            net = Network([INPUTS, 16, 10], dtype=dtype_, seed=0)
            began = time.perf_counter()
            pixels = Dataset(X, y, dtype=dtype_, layout=layout_)
            floats = Dataset(X / np.float32(255), y, dtype=dtype_, layout=layout_)
            took(dtype_, layout_, "inputs", began)
            for entry in ENTRY_POINTS:
                if not entry.threads or cores() >= 2:
                    began = time.perf_counter()
                    entry.run(net, pixels, floats)
                    took(dtype_, layout_, entry.name, began)
    return seconds


def _names(name: str, value: str | Sequence[str], options: Sequence[str]) -> tuple[str, ...]:
    """value (one name or several) as a tuple of names checked against options."""
    names = (value,) if isinstance(value, str) else tuple(value)
    if not names:
        raise ValueError(f"{name}: no {name} given; pass one or more of "
                         f"{', '.join(repr(o) for o in options)}")
    return tuple(choice(name, n, options) for n in names)
