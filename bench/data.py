"""MNIST for the benchmarks: the book's split as float32 arrays in [0, 1].

Prefers ``fastnet.load_mnist`` (the project's data layer) and falls back to a
minimal reader of the gzipped IDX files while that layer is not importable.
The files live in ``$FASTNET_DATA`` or, by default, ``../shared/data/mnist``
relative to the repository root.
"""

from __future__ import annotations

import gzip
import os
from pathlib import Path
from typing import NamedTuple

import numpy as np

REPO_ROOT = Path(__file__).resolve().parent.parent
N_TRAIN = 50_000  # the book's training split: the first 50,000 training images


class Mnist(NamedTuple):
    """The book's split; X arrays are (n, 784) float32 C-contiguous, y arrays (n,) int64."""

    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray


def data_dir() -> Path:
    """Folder holding the four IDX files: ``$FASTNET_DATA`` or ``<repo>/../shared/data/mnist``."""
    env = os.environ.get("FASTNET_DATA")
    return Path(env) if env else REPO_ROOT.parent / "shared" / "data" / "mnist"


def _read_idx(path: Path, offset: int) -> np.ndarray:
    """Payload of one gzipped IDX file as uint8, skipping its ``offset``-byte header."""
    with gzip.open(path, "rb") as f:
        return np.frombuffer(f.read(), dtype=np.uint8, offset=offset)


def _read_split(folder: Path, prefix: str, limit: int | None) -> tuple[np.ndarray, np.ndarray]:
    """First ``limit`` images (n, 784) float32 in [0, 1] and labels (n,) int64 of one IDX pair."""
    images = _read_idx(folder / f"{prefix}-images-idx3-ubyte.gz", 16).reshape(-1, 784)
    labels = _read_idx(folder / f"{prefix}-labels-idx1-ubyte.gz", 8)
    if images.shape[0] != labels.shape[0]:
        raise ValueError(f"{folder}: {prefix} has {images.shape[0]} images but {labels.shape[0]} labels")
    images, labels = images[:limit], labels[:limit]
    X = np.empty(images.shape, dtype=np.float32)
    np.multiply(images, np.float32(1 / 255), out=X)
    return X, labels.astype(np.int64)


def _from_fastnet(folder: Path) -> Mnist | None:
    """The split from ``fastnet.load_mnist``, or None while the data layer is not there."""
    try:
        import fastnet

        load_mnist = fastnet.load_mnist
    except (ImportError, AttributeError):
        return None
    (X_train, y_train), _validation, (X_test, y_test) = load_mnist(path=folder, split="book", dtype="float32")
    return Mnist(*(np.ascontiguousarray(a) for a in (X_train, y_train, X_test, y_test)))


def load(folder: Path | None = None) -> Mnist:
    """The book's training split (50,000 images) and the 10,000 test images, float32."""
    folder = data_dir() if folder is None else Path(folder)
    split = _from_fastnet(folder)
    if split is None:
        split = Mnist(*_read_split(folder, "train", N_TRAIN), *_read_split(folder, "t10k", None))
    if split.X_train.shape != (N_TRAIN, 784) or split.X_train.dtype != np.float32:
        raise ValueError(f"expected ({N_TRAIN}, 784) float32 training images, got "
                         f"{split.X_train.shape} {split.X_train.dtype}")
    return split


def epoch_order(n: int, seed: int, epoch: int = 0) -> np.ndarray:
    """The shared sample order (n,) int64 for one epoch: every order-taking peer sees the same."""
    return np.random.default_rng([seed, epoch]).permutation(n)


def denser(X: np.ndarray, kind: str, seed: int = 0) -> np.ndarray:
    """A denser image set made reproducibly from MNIST images X (n, 784) in [0, 1], float32.

    "grey": every pixel non-zero — a grey background, 0.1 + 0.9·X.
    "noisy": about half the pixels non-zero — each background pixel becomes
    uniform noise in (0, 0.5) with probability 0.4 (seeded).
    """
    if kind == "grey":
        return (np.float32(0.1) + np.float32(0.9) * X).astype(np.float32)
    if kind == "noisy":
        rng = np.random.default_rng(seed)
        noise = rng.random(X.shape, dtype=np.float32) * np.float32(0.5)
        lit = rng.random(X.shape, dtype=np.float32) < 0.4
        return np.where((X == 0) & lit, noise, X).astype(np.float32)
    raise ValueError(f"kind: unknown {kind!r}; pass 'grey' or 'noisy'")
