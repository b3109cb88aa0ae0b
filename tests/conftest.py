"""Shared pytest fixtures."""

import os
from pathlib import Path

import numba
import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def mnist_dir():
    """The folder of genuine MNIST IDX files: $FASTNET_DATA, else <repo>/../shared/data/mnist."""
    folder = Path(os.environ.get("FASTNET_DATA") or REPO_ROOT.parent / "shared" / "data" / "mnist")
    if not folder.is_dir():
        pytest.skip(f"MNIST IDX files not found in {folder}; set FASTNET_DATA to their folder")
    return folder


@pytest.fixture
def user_cache(monkeypatch, tmp_path):
    """No $FASTNET_DATA, and the user cache moved to an empty tmp_path/xdg/fastnet (returned)."""
    monkeypatch.delenv("FASTNET_DATA", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    return tmp_path / "xdg" / "fastnet"


@pytest.fixture
def one_thread():
    """Run Numba's parallel kernels on one thread for the test.

    On a busy two-core machine every parallel region of ``forward_all`` waits
    ~10 ms for its worker thread; tests that evaluate tiny networks thousands
    of times (finite differences) use this.  Results do not depend on it.
    """
    before = numba.get_num_threads()
    numba.set_num_threads(1)
    yield
    numba.set_num_threads(before)
