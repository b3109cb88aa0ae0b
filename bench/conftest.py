"""Fixtures for the bench suites: the MNIST split, the timed epoch size, and peers.

``FASTNET_BENCH_IMAGES`` (default 50,000) shortens the timed epoch while
developing; reported numbers must come from the default.
"""

from __future__ import annotations

import os

import pytest

from bench import data
from bench.peers import Peer, PeerUnavailable, load_peer
from bench.workloads import ETA, SEED


def pytest_configure(config):
    config.addinivalue_line("markers", "smoke: seconds-long checks of the bench harness, for CI (-m smoke)")


@pytest.fixture(scope="session")
def mnist() -> data.Mnist:
    """The book's split: 50,000 training and 10,000 test images, float32."""
    try:
        return data.load()
    except FileNotFoundError as exc:
        pytest.fail(f"MNIST IDX files not found ({exc}); point FASTNET_DATA at the folder "
                    "holding train-images-idx3-ubyte.gz and the other three", pytrace=False)


@pytest.fixture(scope="session")
def bench_images() -> int:
    """Images per timed epoch: FASTNET_BENCH_IMAGES or the book's 50,000."""
    raw = os.environ.get("FASTNET_BENCH_IMAGES", str(data.N_TRAIN))
    if not raw.isdigit() or not 0 < int(raw) <= data.N_TRAIN:
        pytest.fail(f"FASTNET_BENCH_IMAGES must be an integer in 1..{data.N_TRAIN}, got {raw!r}",
                    pytrace=False)
    return int(raw)


@pytest.fixture
def make_peer():
    """``make_peer(name, sizes, batch_size, eta=0.1)``: a peer, or a skip naming what is missing."""

    def make(name: str, sizes, batch_size: int, eta: float = ETA) -> Peer:
        try:
            cls = load_peer(name)
        except PeerUnavailable as exc:
            pytest.skip(f"{name}: {exc}")
        return cls(sizes, batch_size=batch_size, eta=eta, seed=SEED)

    return make
