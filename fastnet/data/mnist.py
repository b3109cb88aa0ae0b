"""``load_mnist``: find MNIST, read it in any supported format, split and scale it.

Where the data comes from, first match wins:
1. the ``path`` argument;
2. the ``FASTNET_DATA`` environment variable;
3. the user cache, ``$XDG_CACHE_HOME/fastnet`` or ``~/.cache/fastnet``;
4. a checksum-verified download into that cache (see ``download.py``).

``path`` (and ``FASTNET_DATA``) may name a folder holding the four IDX files
(gzipped or raw; else a ``mnist.npz`` or ``mnist.pkl.gz`` in it), a ``.npz``
file, or Nielsen's ``mnist.pkl.gz``. Whatever the source, images come back as
C-contiguous (n, 784) float arrays in [0, 1] and labels as (n,) int64.
"""
from __future__ import annotations

import os
from pathlib import Path

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from ..checks import as_dtype, choice
from .download import LOCAL_COPY_HELP, MNIST_FILES, check_mirrors, default_cache_dir, download_mnist
from .errors import DataError
from .idx import find_idx_files, read_idx
from .npz import read_mnist_npz
from .pickled import read_mnist_pickle
from .table import is_table

IMAGE_SIDE = 28
PIXELS = IMAGE_SIDE * IMAGE_SIDE
NUM_CLASSES = 10
BOOK_VALIDATION_SIZE = 10_000  # the book holds out the last 10,000 training images
SPLITS = ("book", "standard")
PART_NAMES = ("training", "validation", "test")
# File names looked for in a folder when it holds no IDX files.
ARCHIVE_NAMES = ("mnist.npz", "mnist.pkl.gz", "mnist.pkl")
_ZIP_MAGIC = b"PK\x03\x04"


def load_mnist(path: str | os.PathLike[str] | None = None, split: str = "book", dtype: str | np.dtype | type = "float32", *,
               download: bool = True, mirrors: Sequence[str] | None = None, cache_dir: str | os.PathLike[str] | None = None
               ) -> tuple[tuple[NDArray, NDArray], tuple[NDArray, NDArray], tuple[NDArray, NDArray]]:
    """Load MNIST as ``(X_train, y_train), (X_val, y_val), (X_test, y_test)``.

    X arrays are C-contiguous (n, 784) ``dtype`` (float32 or float64) pixels in
    [0, 1]; y arrays are (n,) int64 digits 0..9.

    ``split="book"``: 50,000 / 10,000 / 10,000: the first 50,000 training
    images, the last 10,000 as validation, the 10,000 test images (the split of
    Nielsen's book and of its mnist.pkl.gz). ``split="standard"``: 60,000 /
    empty / 10,000; the validation pair is then X (0, 784) and y (0,).

    ``path``: folder or file to read (see the module docstring); when None the
    data is looked for in ``$FASTNET_DATA``, then ``cache_dir`` (default:
    the user cache), then downloaded into ``cache_dir`` from ``mirrors``
    (default ``fastnet.data.MIRRORS``) unless ``download=False``.
    """
    split = _check_split(split)
    dtype = as_dtype(dtype)
    mirrors = check_mirrors(mirrors)
    located, origin = locate_mnist(path, download=download, mirrors=mirrors,
                                   cache_dir=cache_dir)
    where = f"{located} (from {origin})"
    try:
        return _split_and_convert(_read_source(located, where), split, dtype, where)
    except DataError as error:
        if not is_table(located):
            raise
        raise DataError(f"{error}. {located} is a table of features, not MNIST: read it with "
                        "fastnet.data.read_table(path), which returns its parts as (X, labels)") \
            from None


def locate_mnist(path: str | os.PathLike[str] | None = None, *, download: bool = True, mirrors: Sequence[str] | None = None,
                 cache_dir: str | os.PathLike[str] | None = None, argument: str = "path") -> tuple[Path, str]:
    """Where ``load_mnist`` would read from: returns ``(Path, origin)``; may download.

    ``origin`` says how the path was found (used in error messages);
    ``argument`` is what the caller calls ``path`` (the CLI: "--data").
    """
    if path is not None:
        if not isinstance(path, (str, os.PathLike)):
            raise TypeError(
                f"{argument}: expected a str or os.PathLike naming a folder of MNIST IDX "
                f"files, a .npz file or mnist.pkl.gz, got {type(path).__name__}"
            )
        return _existing(Path(path), f"{argument}={os.fspath(path)!r}"), argument
    from_env = os.environ.get("FASTNET_DATA")
    if from_env:
        return _existing(Path(from_env), f"$FASTNET_DATA={from_env!r}"), "$FASTNET_DATA"
    if cache_dir is not None and not isinstance(cache_dir, (str, os.PathLike)):
        raise TypeError(f"cache_dir: expected a str or os.PathLike folder, got {type(cache_dir).__name__}")
    cache = Path(default_cache_dir() if cache_dir is None else cache_dir)
    if find_idx_files(cache, where=str(cache)) is not None:
        return cache, "cache"
    if not download:
        raise DataError(
            f"MNIST not found: no path given, $FASTNET_DATA not set, and the cache "
            f"{cache} does not hold the four IDX files (download=False).\n{LOCAL_COPY_HELP}"
        )
    return download_mnist(cache, mirrors=mirrors), "download"


def _existing(path, described):
    if not path.exists():
        raise DataError(
            f"{described} does not exist; point it at a folder holding the four "
            f"MNIST IDX files ({', '.join(MNIST_FILES)}), a .npz file or "
            "Nielsen's mnist.pkl.gz"
        )
    return path


def _read_source(path, where):
    """Read the folder or file at ``path`` into raw ``(train, val or None, test)`` pairs."""
    if path.is_dir():
        idx_files = find_idx_files(path, where)
        if idx_files is not None:
            return _read_idx_folder(*idx_files)
        archive = next((path / n for n in ARCHIVE_NAMES if (path / n).is_file()), None)
        if archive is None:
            raise DataError(
                f"{where} holds no MNIST data; expected the four IDX files "
                f"({', '.join(MNIST_FILES)}) or one of {', '.join(ARCHIVE_NAMES)}"
            )
        path = archive
    try:
        with open(path, "rb") as handle:
            is_zip = handle.read(len(_ZIP_MAGIC)) == _ZIP_MAGIC
    except OSError as exc:
        raise DataError(f"{where}: cannot read the file ({exc})") from exc
    return read_mnist_npz(path) if is_zip else read_mnist_pickle(path)


def read_idx_pair(images_path: str | os.PathLike[str], labels_path: str | os.PathLike[str]) -> tuple[NDArray, NDArray]:
    """Read one MNIST images file and its labels file; returns (images (n, 28, 28) uint8, labels (n,)).

    Checks the images are (n, 28, 28) uint8, the labels (n,) uint8, and that
    both files hold the same n.
    """
    images, labels = read_idx(images_path), read_idx(labels_path)
    if images.dtype != np.uint8 or images.ndim != 3 or images.shape[1:] != (IMAGE_SIDE, IMAGE_SIDE):
        raise DataError(
            f"{images_path}: expected MNIST images, uint8 of shape (n, 28, 28); "
            f"got {images.dtype} {images.shape}"
        )
    if labels.dtype != np.uint8 or labels.ndim != 1:
        raise DataError(
            f"{labels_path}: expected MNIST labels, uint8 of shape (n,); "
            f"got {labels.dtype} {labels.shape}"
        )
    if len(images) != len(labels):
        raise DataError(
            f"{images_path} holds {len(images)} images but {labels_path} holds "
            f"{len(labels)} labels; the two files must come from the same set"
        )
    return images, labels


def _read_idx_folder(train_images, train_labels, test_images, test_labels):
    return read_idx_pair(train_images, train_labels), None, read_idx_pair(test_images, test_labels)


def _split_and_convert(parts, split, dtype, where):
    """Apply ``split`` to raw ``(train, val or None, test)`` pairs and convert each pair.

    ``where`` names the source in error messages.
    """
    pairs = {name: _checked_pair(pair, where, name)
             for name, pair in zip(PART_NAMES, parts) if pair is not None}
    if split == "book" and "validation" not in pairs:
        images, labels = pairs["training"]
        if len(images) <= BOOK_VALIDATION_SIZE:
            raise DataError(
                f"{where}: split='book' holds out the last {BOOK_VALIDATION_SIZE} training "
                f"images but the data has only {len(images)}; use split='standard'"
            )
        keep = len(images) - BOOK_VALIDATION_SIZE
        pairs["training"], pairs["validation"] = (images[:keep], labels[:keep]), (images[keep:], labels[keep:])
    converted = {name: (_to_pixels(images, where, name, dtype), labels.astype(np.int64))
                 for name, (images, labels) in pairs.items()}
    if split == "standard":
        if "validation" in converted:  # convert first: the parts may differ in dtype
            (X_train, y_train), (X_val, y_val) = converted["training"], converted["validation"]
            converted["training"] = (np.concatenate([X_train, X_val]), np.concatenate([y_train, y_val]))
        converted["validation"] = (np.empty((0, PIXELS), dtype), np.empty(0, np.int64))
    return tuple(converted[name] for name in PART_NAMES)


def _checked_pair(pair, where, name):
    """Raw (images, labels) as ((n, 784) numbers, (n,) digits), or ``DataError``."""
    images, labels = _flat_images(pair[0], where, name), _flat_labels(pair[1], where, name)
    if len(images) != len(labels):
        raise DataError(f"{where}: the {name} set has {len(images)} images but {len(labels)} labels")
    return images, labels


def _flat_images(X, where, name):
    """``X`` as (n, 784), checking it is numeric and MNIST-shaped."""
    X = np.asarray(X)
    if X.dtype.kind not in "uif" or X.shape[1:] not in ((PIXELS,), (IMAGE_SIDE, IMAGE_SIDE)):
        raise DataError(
            f"{where}: the {name} images are {X.dtype} {X.shape}; expected numbers of "
            "shape (n, 784) or (n, 28, 28)"
        )
    return X.reshape(len(X), PIXELS)


def _flat_labels(y, where, name):
    """``y`` as a 1-D integer array, checking it holds digits 0..9."""
    y = np.asarray(y)
    if y.dtype.kind not in "ui" or y.ndim != 1:
        raise DataError(f"{where}: the {name} labels are {y.dtype} {y.shape}; expected integers of shape (n,)")
    if len(y) and (y.min() < 0 or y.max() >= NUM_CLASSES):
        raise DataError(
            f"{where}: the {name} labels range over {y.min()}..{y.max()}; expected digits 0..9"
        )
    return y


def _to_pixels(X, where, name, dtype):
    """(n, 784) images as a new C-contiguous ``dtype`` array in [0, 1]."""
    if X.dtype == np.uint8:
        pixels = np.empty(X.shape, dtype=dtype)
        return np.divide(X, dtype.type(255), out=pixels, dtype=dtype)  # each byte / 255, rounded once
    if X.dtype.kind != "f":
        raise DataError(f"{where}: the {name} images are {X.dtype}; expected uint8 0..255 or floats in [0, 1]")
    if len(X) and not (np.isfinite(X).all() and X.min() >= 0 and X.max() <= 1):
        raise DataError(
            f"{where}: the {name} images hold values outside [0, 1] (min {X.min()}, "
            f"max {X.max()}); store uint8 0..255 or floats scaled to [0, 1]"
        )
    return np.array(X, dtype=dtype, order="C", copy=True)


def _check_split(split):
    """'book' (50,000/10,000/10,000) or 'standard' (60,000/0/10,000)."""
    return choice("split", split, SPLITS)
