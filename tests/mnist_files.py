"""Read the real MNIST IDX files for the tests (until fastnet's data layer lands).

The files live in ``$FASTNET_DATA`` or, by default, in ``shared/data/mnist``
beside the repository (``../shared/data/mnist`` from its root).
"""
import gzip
import os
from pathlib import Path

import numpy as np

FILES = {"train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
         "t10k": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")}


def data_dir():
    """The folder holding the gzipped IDX files."""
    default = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "mnist"
    return Path(os.environ.get("FASTNET_DATA", default))


def load(split, n=None, folder=None):
    """(X, y) of ``split`` ("train" or "t10k"), the first ``n`` samples.

    X is (n, 784) float32 in [0, 1]; y is (n,) int64.
    """
    folder = Path(folder) if folder is not None else data_dir()
    images, labels = (folder / name for name in FILES[split])
    with gzip.open(images) as f:
        X = np.frombuffer(f.read(), dtype=np.uint8, offset=16).reshape(-1, 784)
    with gzip.open(labels) as f:
        y = np.frombuffer(f.read(), dtype=np.uint8, offset=8)
    if len(X) != len(y):
        raise ValueError(f"{images.name} has {len(X)} images but {labels.name} {len(y)} labels")
    n = len(y) if n is None else n
    return (X[:n] / np.float32(255)).astype(np.float32), y[:n].astype(np.int64)
