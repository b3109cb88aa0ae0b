"""MNIST for the benchmarks: the book's split as float32 arrays in [0, 1].

Read with ``fastnet.load_mnist`` (the project's data layer). The files live
in ``$FASTNET_DATA`` or, by default, ``../shared/data/mnist`` relative to the
repository root.
"""

from __future__ import annotations

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


def load(folder: Path | None = None) -> Mnist:
    """The book's training split (50,000 images) and the 10,000 test images, float32."""
    import fastnet

    folder = data_dir() if folder is None else Path(folder)
    (X_train, y_train), _validation, (X_test, y_test) = fastnet.load_mnist(path=folder, split="book",
                                                                           dtype="float32")
    split = Mnist(*(np.ascontiguousarray(a) for a in (X_train, y_train, X_test, y_test)))
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
