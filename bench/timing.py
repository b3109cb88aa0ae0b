"""Timing helpers shared by the pytest-benchmark suites and ``bench.compare``.

Only the epoch is timed: data conversion happens in ``Peer.prepare`` and the
JIT / first-touch costs are paid by ``Peer.warm_up`` before the clock starts.
"""

from __future__ import annotations

import os
import resource
import statistics
import time
from dataclasses import dataclass, field

import numpy as np

from bench.peers import Peer


SETTLE_SECONDS = 1.0


def settle() -> None:
    """Wait ``SETTLE_SECONDS`` before timing another peer: BLAS and OpenMP
    worker threads spin for a while after their last call (OpenBLAS's for
    ~0.1 s) and would share the cores with the next peer's timed run (the
    first fastnet row of the whole-fit table, measured right after the GEMM
    rate on all cores, ran 40 % slower than the same fit a minute later)."""
    time.sleep(SETTLE_SECONDS)


@dataclass
class EpochTiming:
    """Per-repetition wall seconds of one epoch, already scaled to ``n_images``."""

    seconds: list[float]
    n_images: int
    n_timed: int
    internal_seconds: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    @property
    def epoch_median(self) -> float:
        """Median epoch time: the peer's own training-only clock where it has one, else wall."""
        return statistics.median(self.internal_seconds or self.seconds)

    @property
    def scaled(self) -> bool:
        return self.n_timed != self.n_images


def timed_order(peer: Peer, order: np.ndarray) -> np.ndarray:
    """The part of ``order`` that ``peer`` trains on when timed: a slice for slow peers."""
    return order if peer.slice_images is None else order[: peer.slice_images]


def time_epoch(peer: Peer, data: object, order: np.ndarray, repeats: int,
               epoch_images: int | None = None) -> EpochTiming:
    """Wall seconds of ``repeats`` epochs over ``order``, each scaled to ``epoch_images``.

    ``data`` comes from ``peer.prepare`` and the peer must already be warmed up.
    A slow peer trains only its ``slice_images``; ``epoch_images`` (default
    ``len(order)``) is the epoch size the seconds are scaled to.
    """
    part = timed_order(peer, order)
    timing = EpochTiming([], epoch_images or len(order), len(part))
    scale = timing.n_images / timing.n_timed
    for _ in range(repeats):
        start = time.perf_counter()
        peer.train_epoch(data, part)
        timing.seconds.append((time.perf_counter() - start) * scale)
        if peer.last_internal_seconds is not None:
            timing.internal_seconds.append(peer.last_internal_seconds * scale)
    return timing


def _busy_cpu_seconds() -> float | None:
    """CPU seconds all processes have spent busy since boot (/proc/stat), None off Linux."""
    try:
        with open("/proc/stat") as f:
            ticks = [int(v) for v in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    idle = ticks[3] + (ticks[4] if len(ticks) > 4 else 0)  # idle + iowait
    return (sum(ticks[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def _own_cpu_seconds() -> float:
    """CPU seconds of this process and its waited-for children (the probes)."""
    return sum(r.ru_utime + r.ru_stime for r in
               (resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)))


class CpuMeter:
    """How many cores *other* processes kept busy while the benchmark ran.

    ``other_cores()`` is (busy CPU seconds of the machine - our own) / wall
    seconds since the meter started: 0 on a quiet machine, 1 when a
    neighbour's compile takes a whole core. None where /proc/stat is missing.
    """

    def __init__(self):
        self._wall, self._busy, self._own = time.perf_counter(), _busy_cpu_seconds(), _own_cpu_seconds()

    def other_cores(self) -> float | None:
        busy = _busy_cpu_seconds()
        if busy is None or self._busy is None:
            return None
        wall = time.perf_counter() - self._wall
        return max(0.0, (busy - self._busy) - (_own_cpu_seconds() - self._own)) / wall if wall > 0 else 0.0
