"""Nielsen's ``mnist.pkl.gz``, loaded without executing pickled code.

The book's file is a gzipped, latin-1 pickle (written by Python 2) of a tuple
``(training, validation, test)``, each an ``(images, labels)`` pair of NumPy
arrays: images (n, 784) float32, labels (n,) int64, with n = 50,000 / 10,000 /
10,000. Unpickling can call any importable function, so this module uses an
unpickler that resolves only the few globals NumPy's array reconstruction
needs and rejects every other global with ``DataError`` before it is called.
"""
from __future__ import annotations

import io
import os
import pickle

import numpy as np
from numpy.typing import NDArray

from .errors import DataError
from .gz import read_maybe_gzipped

try:  # NumPy >= 2 keeps the implementation in numpy._core
    from numpy._core.multiarray import _reconstruct as _numpy_reconstruct
except ImportError:  # pragma: no cover - NumPy 1.x
    from numpy.core.multiarray import _reconstruct as _numpy_reconstruct  # type: ignore[no-redef]


def _latin1_bytes(text, encoding):
    """Stand-in for ``_codecs.encode``: Python 3 pickles bytes as latin-1 text at protocol 2."""
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1"):
        raise pickle.UnpicklingError(
            "only _codecs.encode(<str>, 'latin1') is allowed in an MNIST pickle"
        )
    return text.encode("latin-1")


# (module, name) -> object; the complete list of globals an MNIST pickle may use.
ALLOWED_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"): _numpy_reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _numpy_reconstruct,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
    ("_codecs", "encode"): _latin1_bytes,
}


class _ArrayOnlyUnpickler(pickle.Unpickler):
    """An unpickler that can rebuild NumPy arrays and plain containers, nothing else."""

    def __init__(self, file, source):
        super().__init__(file, encoding="latin1")
        self.source = source

    def find_class(self, module, name):
        try:
            return ALLOWED_GLOBALS[(module, name)]
        except KeyError:
            raise DataError(
                f"{self.source}: the pickle refers to {module}.{name}, which an "
                "MNIST pickle never needs; refusing to load it (only NumPy array "
                "reconstruction is allowed). Use a trusted copy of mnist.pkl.gz "
                "or the IDX files."
            ) from None

    def persistent_load(self, pid):
        raise DataError(f"{self.source}: the pickle uses persistent ids; refusing to load it")


def _check_structure(obj, source):
    """Check that ``obj`` is three (images, labels) pairs of numeric arrays."""
    expected = (
        "a tuple of 3 (images, labels) pairs of NumPy arrays, as in Nielsen's "
        "mnist.pkl.gz"
    )
    if not isinstance(obj, (tuple, list)) or len(obj) != 3:
        raise DataError(f"{source}: expected {expected}; got {type(obj).__name__}")
    for part_name, part in zip(("training", "validation", "test"), obj):
        if not isinstance(part, (tuple, list)) or len(part) != 2:
            raise DataError(
                f"{source}: the {part_name} entry is a {type(part).__name__}; "
                f"expected {expected}"
            )
        for array_name, array in zip(("images", "labels"), part):
            if not isinstance(array, np.ndarray):
                raise DataError(
                    f"{source}: the {part_name} {array_name} are a "
                    f"{type(array).__name__}, not a NumPy array; expected {expected}"
                )
            if array.dtype.kind not in "uif":
                raise DataError(
                    f"{source}: the {part_name} {array_name} have dtype "
                    f"{array.dtype}, not numbers; expected {expected}"
                )


def read_mnist_pickle(path: str | os.PathLike[str]) -> tuple[tuple[NDArray, NDArray], ...]:
    """Read Nielsen's ``mnist.pkl(.gz)`` safely.

    Returns ``((X_train, y_train), (X_val, y_val), (X_test, y_test))`` as stored
    in the file (not yet validated or converted). Raises ``DataError`` if the
    file is not such a pickle or refers to anything but NumPy arrays.
    """
    source = os.fspath(path)
    data = read_maybe_gzipped(path)
    unpickler = _ArrayOnlyUnpickler(io.BytesIO(data), source)
    try:
        obj = unpickler.load()
    except DataError:
        raise
    except Exception as exc:
        raise DataError(
            f"{source}: not a readable MNIST pickle ({type(exc).__name__}: {exc}); "
            "pass Nielsen's mnist.pkl.gz, a .npz file, a folder of IDX files, or a table "
            "of your own as a .csv file"
        ) from exc
    _check_structure(obj, source)
    return tuple((images, labels) for images, labels in obj)

