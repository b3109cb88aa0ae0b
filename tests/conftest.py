"""Shared pytest fixtures, the ``mnist`` marker and the summary line about it.

Tests that need the genuine MNIST files take the ``mnist_dir`` fixture (and
are marked ``mnist`` automatically); everything else trains on
``synthetic_digits``, so a fresh clone without the data runs almost every test.
"""

import os
from pathlib import Path

import numba
import numpy as np
import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


def mnist_folder():
    """Where the genuine MNIST IDX files are looked for."""
    return Path(os.environ.get("FASTNET_DATA") or REPO_ROOT.parent / "shared" / "data" / "mnist")


@pytest.fixture(scope="session")
def mnist_dir():
    """The folder of genuine MNIST IDX files: $FASTNET_DATA, else <repo>/../shared/data/mnist."""
    folder = mnist_folder()
    if not folder.is_dir():
        pytest.skip(f"MNIST IDX files not found in {folder}; set FASTNET_DATA to their folder")
    return folder


def pytest_collection_modifyitems(items):
    """Mark every test that uses the real data ``mnist`` (``-m "not mnist"`` skips them)."""
    for item in items:
        if "mnist_dir" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.mnist)


def pytest_terminal_summary(terminalreporter):
    """One loud line when tests that need the real MNIST files were skipped."""
    skipped = [report for report in terminalreporter.stats.get("skipped", [])
               if "mnist" in getattr(report, "keywords", {})]
    if skipped:
        terminalreporter.write_line(
            f"{len(skipped)} tests need the genuine MNIST files and were SKIPPED: put the four "
            f"IDX files (train-images-idx3-ubyte.gz, ...) in {mnist_folder()} or set "
            "FASTNET_DATA=/folder/holding/them", yellow=True, bold=True)


def synthetic_digits(n, seed=0, n_classes=10):
    """MNIST-shaped, learnable stand-ins: images (n, 28, 28) uint8, labels (n,) uint8.

    Each class is a fixed random stroke pattern; each image is its class's
    pattern, randomly dimmed, shifted by up to a pixel, plus noise."""
    rng = np.random.default_rng(seed)
    templates = (np.random.default_rng(12345).random((n_classes, 28, 28)) > 0.8) * 220.0
    labels = rng.integers(0, n_classes, n).astype(np.uint8)
    images = templates[labels] * rng.uniform(0.6, 1.0, (n, 1, 1))
    for axis in (1, 2):
        images = np.stack([np.roll(image, shift, axis=axis - 1) for image, shift in
                           zip(images, rng.integers(-1, 2, n))])
    images += rng.normal(0.0, 20.0, images.shape)
    return np.clip(images, 0, 255).astype(np.uint8), labels


def write_synthetic_mnist(path, train=3000, val=1000, test=1000):
    """Write an MNIST-shaped .npz of synthetic digits with that many training,
    validation and test images (``fastnet --data`` and ``load_mnist`` read it); returns ``path``."""
    parts = {name: synthetic_digits(n, seed) for name, n, seed in
             (("train", train, 1), ("val", val, 2), ("test", test, 3))}
    np.savez(path, **{f"{axis}_{name}": array for name, pair in parts.items()
                      for axis, array in zip("xy", pair)})
    return path


@pytest.fixture(scope="session")
def synthetic_mnist(tmp_path_factory):
    """An MNIST-shaped .npz of synthetic digits: 3,000 training, 1,000
    validation, 1,000 test images (``fastnet --data`` and ``load_mnist`` read it)."""
    return write_synthetic_mnist(tmp_path_factory.mktemp("synthetic") / "digits.npz")


@pytest.fixture
def user_cache(monkeypatch, tmp_path):
    """No $FASTNET_DATA, and the user cache moved to an empty tmp_path/xdg/fastnet (returned)."""
    monkeypatch.delenv("FASTNET_DATA", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    return tmp_path / "xdg" / "fastnet"


@pytest.fixture
def one_thread():
    """Run Numba's parallel kernels on one thread for the test.

    On a busy two-core machine every parallel region (the curvature kernels'),
    and every evaluation of 2,048 samples or more in bands, waits ~10 ms for
    its worker thread; tests that evaluate tiny networks thousands of times
    (finite differences) use this.  Results do not depend on it.
    """
    before = numba.get_num_threads()
    numba.set_num_threads(1)
    yield
    numba.set_num_threads(before)
