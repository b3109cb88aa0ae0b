"""The plan: which engine runs each layer and pass, which epoch kernel, on how
many threads, for one network, data layout, batch size and thread setting.

The only place that decides it: a network's training epoch, its evaluation
passes (``predict``, ``evaluate``, ``gradient``, the per-epoch monitoring) and
its curvature products read their choices from a ``Plan``.
``kernels/layout.plan`` writes the per-layer choice into the kernels' layer
tables, which the Plan carries.  ``Network.plan(...)`` returns one to print.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

import numba
import numpy as np
from numpy.typing import NDArray

from ..checks import choice, cores
from ..prefetch import Prefetch
from ..kernels import blas
from ..kernels.layout import (COLUMNS, ENGINE, ENGINE_NAMES, ENGINES, GEMM, N_IN, N_OUT, PER_SAMPLE,
                              ROWS)
from ..kernels.layout import plan as plan_table
from ..kernels.tunables import (BLAS_SHARE, BLAS_THREADS_FROM, BLAS_THREADS_PAY, EVAL_CHUNK,
                                PARALLEL_FROM, THREADS_FROM_BATCH, THREADS_FROM_WORK,
                                runs_parallel)

if TYPE_CHECKING:
    from ..dataset import Dataset

NAMES = {**{code: name for name, code in ENGINES.items()}, ROWS: "rows", COLUMNS: "columns"}
Epoch = Literal["one_thread", "threads", "hogwild"]  # kernels/train.py, threads.py, hogwild.py


@dataclass(frozen=True)
class LayerPlan:
    """One layer's engines: ``forward`` (Z = A·W + b), ``backward`` (the
    previous layer's deltas D·Wᵀ; None for the first layer, which has none),
    ``step`` (the gradient Aᵀ·D into the weights) in training, and
    ``evaluate`` (the forward pass of predict, evaluate and gradient)."""
    n_in: int
    n_out: int
    forward: str
    backward: str | None
    step: str
    evaluate: str


@dataclass(frozen=True)
class Plan:
    """What runs a network's passes: per layer the engines (``layers``), the
    epoch kernel (``epoch``: "one_thread", "threads" sharing every batch, or
    "hogwild"), its ``threads``, whether BLAS is pinned to one thread for the
    fit (``pin_blas``: with threads sharing every batch where BLAS allows it,
    and on one thread unless ``blas_threads_pay``), and the threads of
    evaluation and the curvature products (``evaluation_threads``; None
    without data: all from PARALLEL_FROM samples on, else 1).  ``table`` and
    ``evaluation_table`` are the planned layer tables the kernels take."""
    batch_size: int
    layout: Literal["sparse", "dense"]
    engine: str
    epoch: Epoch
    threads: int
    pin_blas: bool
    evaluation_threads: int | None
    layers: tuple[LayerPlan, ...]
    table: NDArray[np.int64] = field(repr=False, compare=False)
    evaluation_table: NDArray[np.int64] = field(repr=False, compare=False)

    def __str__(self) -> str:
        kernel = {"one_thread": "one thread",
                  "threads": f"{self.threads} threads sharing every batch",
                  "hogwild": f"{self.threads} Hogwild! threads"}[self.epoch]
        blas_note = ", BLAS pinned to one thread" if self.pin_blas else ""
        evaluation = (f"all threads from {PARALLEL_FROM:,} samples on, else one"
                      if self.evaluation_threads is None
                      else f"{self.evaluation_threads} thread{'s' * (self.evaluation_threads > 1)}")
        lines = [f"plan     batch {self.batch_size}, {self.layout} inputs, engine {self.engine}: "
                 f"{kernel}{blas_note}; evaluation on {evaluation}"]
        for l, layer in enumerate(self.layers, 1):
            lines.append(f"  layer {l} {layer.n_in:>5} -> {layer.n_out:<5}  forward {layer.forward:<10} "
                         f"backward {layer.backward or '-':<10} step {layer.step:<10} "
                         f"evaluate {layer.evaluate}")
        return "\n".join(lines)


def plan(layers: NDArray[np.int64], data: Dataset | None = None, batch_size: int = 10,
         threads: int | Literal["auto"] | None = 1, hogwild: bool = False,
         engine: str = "auto") -> Plan:
    """The ``Plan`` for a network's layer table ``layers`` (``kernels/layout.py``)
    on ``data`` (its layout, and its size; None: sparse inputs, MNIST's, of
    unknown size), batches of ``batch_size`` (at most the data), the
    ``threads`` setting (None: the plan's choice, ``chosen_threads``; N;
    "auto": Numba's thread count from THREADS_FROM_BATCH samples on, at any
    batch size with ``hogwild``), ``hogwild`` and the ``engine`` setting
    (``Network.engine``)."""
    engine = choice("engine", engine, ENGINE_NAMES)
    dense = data is not None and data.dense
    batch = batch_size if data is None else min(batch_size, data.n)  # a batch larger than the data is all of it
    if threads is None:
        count = chosen_threads(layers, data, batch, engine)
    elif threads == "auto":
        count = 1 if batch < THREADS_FROM_BATCH and not hogwild else max(1, numba.get_num_threads())
    else:
        count = threads
    hogwild = hogwild and count > 1
    pin_blas = count > 1 and not hogwild and blas.CAN_PIN  # see kernels/threads.py
    table = plan_table(layers, batch, dense, engine, 1 if hogwild else count, hogwild, pin_blas)
    if count == 1:  # BLAS's own threads only where a product is large enough for them
        pin_blas = blas.CAN_PIN and not blas_threads_pay(table, batch)
    # Evaluation runs blocked under "auto": its result for a sample does not depend on which
    # other samples share its chunk (BLAS's does, in the last bits).
    evaluation = plan_table(layers, EVAL_CHUNK, dense, "blocked" if engine == "auto" else engine)
    evaluation_threads = None if data is None else (
        max(1, numba.get_num_threads()) if runs_parallel(data.n) else 1)
    return Plan(batch, "dense" if dense else "sparse", engine,
                "hogwild" if hogwild else "threads" if count > 1 else "one_thread", count, pin_blas,
                evaluation_threads, tuple(_layer(table, evaluation, l) for l in range(len(layers))),
                table, evaluation)


def chosen_threads(layers: NDArray[np.int64], data: Dataset | None, batch_size: int,
                   engine: str = "auto") -> int:
    """The plan's choice of training threads (``threads=None``): all of
    Numba's threads (at most the cores this process may run on) where sharing
    every batch wins, else 1.  It wins (``kernels/tunables.py``, measured)
    from THREADS_FROM_BATCH samples and THREADS_FROM_WORK multiply-adds per
    batch, on PARALLEL_FROM samples or more, unless one thread's plan already
    has BLAS threading BLAS_SHARE of that work (its products of
    BLAS_THREADS_FROM multiply-adds or more, where ``blas_threads_pay``) — and only
    while no other task waits for a core (``others_running``) and no
    ``Prefetch`` is open (its thread distorts the next epoch's images on the
    other core): threads that share a busy core wait for each other at every
    batch (1.2–1.35x slower than one thread next to one spinning process,
    measured)."""
    count = min(cores(), max(1, numba.get_num_threads()))
    if count < 2 or data is None or batch_size < THREADS_FROM_BATCH or not runs_parallel(data.n):
        return 1
    one = plan_table(layers, batch_size, data.dense, engine)
    products = [batch_size * int(n_in * n_out) for n_in, n_out in one[:, [N_IN, N_OUT]]]
    work = sum(products[1:]) + products[0] * (1.0 if data.dense else data.density)  # inputs read
    blas = 0 if not blas_threads_pay(one, batch_size) else sum(
        product for product, code in zip(products, one[:, ENGINE])
        if code == GEMM and product >= BLAS_THREADS_FROM)
    if work < THREADS_FROM_WORK or blas >= BLAS_SHARE * work or Prefetch.any_open():
        return 1
    return count if others_running() == 0 else 1


def blas_threads_pay(table: NDArray[np.int64], batch_size: int) -> bool:
    """Whether a one-thread epoch of the planned ``table`` leaves BLAS its own
    threads: where one of its GEMM products of ``batch_size`` samples has
    BLAS_THREADS_PAY multiply-adds or more; below that, waking BLAS's threads
    for every batch costs more than they save, and the epoch pins BLAS to
    one thread (``Plan.pin_blas``)."""
    return any(code == GEMM and batch_size * int(n_in) * int(n_out) >= BLAS_THREADS_PAY
               for n_in, n_out, code in table[:, [N_IN, N_OUT, ENGINE]])


def others_running(reads: int = 5) -> int | None:
    """Tasks running or waiting for a core now besides the calling thread
    (other processes', and this one's other threads): the least of ``reads``
    looks at the kernel's count of runnable tasks (the fourth field of
    /proc/loadavg), 0.2 ms apart, so that a task that runs for a moment does
    not count; None where the system does not say (outside Linux)."""
    counts = []
    try:
        for k in range(reads):
            with open("/proc/loadavg") as f:
                counts.append(int(f.read().split()[3].split("/")[0]))
            if k + 1 < reads:
                time.sleep(0.0002)
    except (OSError, ValueError, IndexError):
        return None
    return max(0, min(counts) - 1)


def _layer(table: NDArray[np.int64], evaluation: NDArray[np.int64], l: int) -> LayerPlan:
    """Layer l's engines by pass, from the planned tables' ENGINE codes: COLUMNS
    is a sparse first layer's step (its forward pass is per_sample's), ROWS
    per_sample by whole rows of W (Hogwild!)."""
    code = int(table[l, ENGINE])
    forward = NAMES[PER_SAMPLE if code == COLUMNS else code]
    evaluate = int(evaluation[l, ENGINE])
    return LayerPlan(int(table[l, N_IN]), int(table[l, N_OUT]), forward,
                     None if l == 0 else NAMES[code], NAMES[code],
                     NAMES[PER_SAMPLE if evaluate == COLUMNS else evaluate])
