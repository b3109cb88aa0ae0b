"""What a user waits for: the whole ``fit()`` call, per epoch, next to the roofline.

Each workload of the speed issue's table is trained for ``epochs`` epochs
(default 3) with ``monitor=False`` by fastnet (``Network.fit`` on the plain
arrays: checks, conversion and every epoch inside the timed call) and by the
peers (their ``prepare`` plus their epochs), in one process; the table gives
wall seconds per epoch, fastnet's own ``epoch_seconds`` and the speed-ups.

The roofline is what the hardware allows for the workload: the multiply-adds
of one epoch (forward, backpropagation and gradient of every layer; the first
layer's backpropagation is not needed) × 2 FLOPs ÷ the machine's measured
float32 GEMM rate (NumPy's BLAS on every core, a large square product), i.e.
the time of the same arithmetic at the best rate BLAS reaches here. Sparse
inputs do fewer FLOPs than that (only the non-zero pixels); the table says
which inputs each workload uses.

Input sets: "mnist" (the book's 50,000 training images, 19 % non-zero);
"grey" (every pixel non-zero: 0.1 + 0.9·x); "noisy" (about 51 % non-zero:
each background pixel becomes uniform noise in (0, 0.5) with probability
0.4, seed 0) — see ``bench.data.denser``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from bench import data
from bench.timing import settle
from bench.workloads import SEED


@dataclass(frozen=True)
class FitWorkload:
    """One row of the issue's table."""

    id: str
    sizes: tuple[int, ...]
    batch_size: int
    activation: str = "sigmoid"
    inputs: str = "mnist"
    images: int = data.N_TRAIN
    eta: float = 0.1
    threads: object = None  # fastnet's fit(threads=...), None its default; the peers use theirs

    @property
    def label(self) -> str:
        extra = "" if self.inputs == "mnist" else f" {self.inputs}"
        extra += "" if self.images == data.N_TRAIN else f" {self.images // 1000}k"
        extra += "" if self.threads is None else f" threads={self.threads}"
        return f"[{','.join(map(str, self.sizes))}] {self.activation} b{self.batch_size}{extra}"


FIT_WORKLOADS = (
    FitWorkload("30-b10", (784, 30, 10), 10),
    FitWorkload("100-b10", (784, 100, 10), 10),
    FitWorkload("100-b100", (784, 100, 10), 100, threads=1),
    FitWorkload("800-b32", (784, 800, 10), 32, "relu", eta=0.05, threads=1),
    FitWorkload("100-b10-grey", (784, 100, 10), 10, inputs="grey"),
    FitWorkload("1000x2-b32-noisy", (784, 1000, 1000, 10), 32, "relu", "noisy", 10_000, 0.05),
    # the deep-fc preset's network and batch (fastnet.presets), on 10,000 MNIST images
    FitWorkload("deep-fc", (784, 1000, 500, 10), 32, "relu", images=10_000, eta=0.05),
    # fastnet on all of Numba's threads (the default, threads=None, is the plan's choice: it
    # shares these batches too on a quiet machine, and trains the rows above without
    # threads= on one thread)
    FitWorkload("100-b100-auto", (784, 100, 10), 100, threads="auto"),
    FitWorkload("800-b32-auto", (784, 800, 10), 32, "relu", eta=0.05, threads="auto"),
    FitWorkload("deep-fc-auto", (784, 1000, 500, 10), 32, "relu", images=10_000, eta=0.05,
                threads="auto"),
)
FIT_PEERS = ("fastnet", "numpy_matrix", "torch")
# Whole-fit targets: fastnet's fit() per epoch at least ``factor`` times faster than ``peer``.
FIT_TARGETS = (("30-b10", "numpy_matrix", 5.0), ("30-b10", "torch", 20.0),
               ("100-b10", "numpy_matrix", 4.0), ("100-b100", "numpy_matrix", 3.0),
               ("800-b32", "numpy_matrix", 2.0), ("100-b10-grey", "numpy_matrix", 2.0),
               ("1000x2-b32-noisy", "numpy_matrix", 1.3), ("1000x2-b32-noisy", "torch", 1.0))
COLD_START_SECONDS = 5.0  # import + first tiny fit with an empty Numba cache


def flops_per_epoch(sizes, images) -> float:
    """FLOPs of one dense epoch: 2·(forward + gradient + backprop) multiply-adds per sample."""
    pairs = list(zip(sizes[:-1], sizes[1:]))
    macs = sum(3 * a * b for a, b in pairs) - sizes[0] * sizes[1]
    return 2.0 * macs * images


def gemm_rate(size: int = 2048, repeats: int = 3) -> float:
    """float32 FLOP/s of NumPy's BLAS on a (size, size) product, best of ``repeats``."""
    rng = np.random.default_rng(0)
    A = rng.random((size, size), dtype=np.float32)
    B = rng.random((size, size), dtype=np.float32)
    A @ B
    best = np.inf
    for _ in range(repeats):
        start = time.perf_counter()
        A @ B
        best = min(best, time.perf_counter() - start)
    return 2.0 * size ** 3 / best


def inputs_for(workload: FitWorkload, mnist, images: int = data.N_TRAIN) -> tuple[np.ndarray, np.ndarray]:
    """The workload's inputs and labels, at most ``images`` of them."""
    n = min(workload.images, images)
    X, y = mnist.X_train[:n], mnist.y_train[:n]
    if workload.inputs != "mnist":
        X = data.denser(X, workload.inputs)
    return np.ascontiguousarray(X), y


def _fastnet_fit(workload, X, y, epochs):
    import fastnet
    from fastnet.kernels.tunables import START_SAMPLES

    net = fastnet.Network(workload.sizes, activation=workload.activation, seed=SEED)
    warm = fastnet.Network(workload.sizes, activation=workload.activation, seed=SEED)
    # Compile untimed (the bench's JIT probe measures that): more samples than
    # the fit's starting cost samples, so that its every step has run.
    warm_n = min(len(X), START_SAMPLES + 1)
    warm.fit(X[:warm_n], y[:warm_n], epochs=1, batch_size=workload.batch_size,
             eta=workload.eta, monitor=False, threads=workload.threads)
    start = time.perf_counter()
    history = net.fit(X, y, epochs=epochs, batch_size=workload.batch_size, eta=workload.eta,
                      monitor=False, threads=workload.threads)
    wall = time.perf_counter() - start
    return wall, float(np.median(history["epoch_seconds"]))


def _peer_fit(name, workload, X, y, epochs):
    from bench.peers import load_peer

    peer = load_peer(name)(workload.sizes, batch_size=workload.batch_size, eta=workload.eta,
                           seed=SEED, activation=workload.activation)
    peer.warm_up(X[:200], y[:200])
    start = time.perf_counter()
    prepared = peer.prepare(X, y)
    for epoch in range(epochs):
        peer.train_epoch(prepared, data.epoch_order(len(X), SEED, epoch))
    return time.perf_counter() - start, None


def measure_fits(peers, workloads, mnist, epochs: int, log=print, rounds: int = 1,
                 images: int = data.N_TRAIN) -> dict:
    """Whole-fit seconds per epoch for every (workload, peer), and the roofline.

    ``rounds`` rounds per workload, the peers in alternating order, so that a
    slow phase of the machine falls on all of them alike.  Each record keeps
    every round's figure and their median; a peer's record also has
    ``speedup``, the median of fastnet's round-by-round speed-ups over it (the
    figure the targets use: a ratio of two fits run minutes apart is noisier
    than either fit).  Each fit trains on at most ``images`` images.
    """
    from bench.peers import PeerUnavailable

    rate = gemm_rate()
    log(f"  float32 GEMM rate (NumPy BLAS, all cores): {rate / 1e9:.1f} GFLOP/s")
    records = []
    for workload in workloads:
        X, y = inputs_for(workload, mnist, images)
        walls, epoch_seconds, skipped = {name: [] for name in peers}, [], {}
        for round_ in range(rounds):
            for name in peers if round_ % 2 == 0 else peers[::-1]:
                if name in skipped:
                    continue
                settle()
                try:
                    if name == "fastnet":
                        wall, seconds = _fastnet_fit(workload, X, y, epochs)
                        epoch_seconds.append(seconds)
                    else:
                        wall, _ = _peer_fit(name, workload, X, y, epochs)
                except PeerUnavailable as exc:
                    skipped[name] = str(exc)
                    continue
                walls[name].append(wall / epochs)
                log(f"  fit {workload.label:<34} {name:<13} {wall / epochs:8.3f} s/epoch")
        ours = walls.get("fastnet", [])
        for name in peers:
            record = {"workload": workload.id, "label": workload.label, "peer": name,
                      "epochs": epochs, "rounds": rounds,
                      "roofline_seconds": flops_per_epoch(workload.sizes, len(X)) / rate,
                      "density": float(np.count_nonzero(X) / X.size)}
            if name in skipped:
                records.append({**record, "skipped": skipped[name]})
                continue
            record.update(fit_seconds_per_epoch=float(np.median(walls[name])),
                          fit_seconds_per_round=walls[name],
                          epoch_seconds=float(np.median(epoch_seconds))
                          if name == "fastnet" else None)
            if name != "fastnet" and len(ours) == len(walls[name]) > 0:
                record["speedup"] = float(np.median(np.array(walls[name]) / np.array(ours)))
            records.append(record)
    return {"gemm_flops_per_second": rate, "records": records, "images": images}


def format_fits(fits: dict) -> list[str]:
    """Table lines: whole fit per epoch, epoch_seconds, speed-ups, roofline."""
    first = fits["records"][0] if fits["records"] else {}
    rounds = first.get("rounds", 1)
    lines = ["", f"whole fit() per epoch ({first.get('epochs', '?')} epochs, monitor=False, "
             f"preparation included"
             + (f", at most {fits['images']:,} images" if fits.get("images", data.N_TRAIN) < data.N_TRAIN else "")
             + (f"; median of {rounds} rounds, speed-ups the median of each round's" if rounds > 1
                else "")
             + f"); roofline = dense FLOPs per epoch / "
             f"{fits['gemm_flops_per_second'] / 1e9:.0f} GFLOP/s (BLAS sgemm here)",
             f"{'workload':<36} {'peer':<13} {'fit s/ep':>9} {'epoch_s':>8}  {'fastnet vs':>10}"
             f"  {'roofline':>8}"]
    records = fits["records"]
    for workload in dict.fromkeys(r["workload"] for r in records):
        rows = [r for r in records if r["workload"] == workload]
        ours = next((r.get("fit_seconds_per_epoch") for r in rows if r["peer"] == "fastnet"), None)
        for i, r in enumerate(rows):
            head = f"{r['label'] if i == 0 else '':<36} {r['peer']:<13}"
            if "skipped" in r:
                lines.append(f"{head} skipped: {r['skipped']}")
                continue
            fit = r["fit_seconds_per_epoch"]
            epoch = f"{r['epoch_seconds']:8.3f}" if r["epoch_seconds"] is not None else f"{'-':>8}"
            speed = "-" if r["peer"] == "fastnet" or not ours else f"{r.get('speedup', fit / ours):.2f}x"
            roof = f"{r['roofline_seconds']:8.3f}" if i == 0 else ""
            lines.append(f"{head} {fit:9.3f} {epoch}  {speed:>10}  {roof}")
    return lines
