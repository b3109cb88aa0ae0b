"""pytest-benchmark suite: one SGD epoch over the 50,000 training images per workload and peer.

    python -m pytest bench --benchmark-only

Each benchmark group is one workload (network and batch size), so the table
compares fastnet with every peer on the same images. JIT compilation and first
touch are paid before timing (``Peer.warm_up`` plus a warm-up round); data
conversion happens in ``Peer.prepare``, outside the timed call.
"""

from __future__ import annotations

import pytest

from bench import data
from bench.peers import PEER_NAMES
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
    benchmark.pedantic(peer.train_epoch, args=(prepared, order), rounds=peer.bench_rounds,
                       iterations=1, warmup_rounds=1 if peer.bench_rounds > 1 else 0)
