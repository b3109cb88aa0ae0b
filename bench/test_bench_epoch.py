"""pytest-benchmark suite: one SGD epoch over the 50,000 training images per workload and peer.

    python -m pytest bench --benchmark-only

Each benchmark group is one workload (network and batch size), so the table
compares fastnet with every peer on the same images. JIT compilation and first
touch are paid before timing (``Peer.warm_up`` plus a warm-up round); data
conversion happens in ``Peer.prepare``, outside the timed call — except for
fastnet, whose ``fit`` converts X to CSR on every call: its row is the wall
time of ``fit(epochs=1)``, and ``extra_info["epoch_seconds"]`` (in
``--benchmark-json``) holds its training-only epoch times; ``bench.compare``
reports both. ``extra_info["other_cores_busy"]`` says how many cores other
processes kept busy meanwhile (see ``bench.timing.CpuMeter``).
"""

from __future__ import annotations

import pytest

from bench import data
from bench.peers import PEER_NAMES
from bench.timing import CpuMeter
from bench.workloads import EPOCH_WORKLOADS, SEED


@pytest.mark.parametrize("peer_name", PEER_NAMES)
@pytest.mark.parametrize("workload", EPOCH_WORKLOADS, ids=lambda w: w.id.replace("/", "-"))
def test_epoch(benchmark, workload, peer_name, mnist, bench_images, make_peer):
    peer = make_peer(peer_name, workload.sizes, workload.batch_size, workload.eta)
    X, y = mnist.X_train[:bench_images], mnist.y_train[:bench_images]
    peer.warm_up(X, y)
    prepared = peer.prepare(X, y)
    order = data.epoch_order(bench_images, SEED)
    benchmark.group = f"{workload.label}, {bench_images:,} images/epoch"
    benchmark.extra_info.update(peer=peer_name, images=bench_images, description=peer.description)
    own_clock = []  # fastnet's history["epoch_seconds"]: the epoch without fit's data conversion

    def epoch():
        peer.train_epoch(prepared, order)
        if peer.last_internal_seconds is not None:
            own_clock.append(peer.last_internal_seconds)

    meter = CpuMeter()
    benchmark.pedantic(epoch, rounds=peer.bench_rounds, iterations=1,
                       warmup_rounds=1 if peer.bench_rounds > 1 else 0)
    benchmark.extra_info["other_cores_busy"] = meter.other_cores()  # > 0.2: re-measure when quiet
    if own_clock:
        benchmark.extra_info["epoch_seconds"] = own_clock[-peer.bench_rounds :]
