"""MNIST in a NumPy ``.npz`` archive with documented keys.

Required keys: ``x_train``, ``y_train``, ``x_test``, ``y_test``; optional,
together: ``x_val``, ``y_val``. Images are (n, 28, 28) or (n, 784), either
uint8 0..255 or floats in [0, 1]; labels are (n,) integers 0..9. This is the
layout of Keras's ``mnist.npz`` (which has no validation keys). The archive is
opened with ``allow_pickle=False``, so it cannot run code.
"""
from __future__ import annotations

import os
import zipfile

import numpy as np
from numpy.typing import NDArray

from .errors import DataError

REQUIRED_KEYS = ("x_train", "y_train", "x_test", "y_test")
VALIDATION_KEYS = ("x_val", "y_val")


def read_mnist_npz(path: str | os.PathLike[str]
                   ) -> tuple[tuple[NDArray, NDArray], tuple[NDArray, NDArray] | None, tuple[NDArray, NDArray]]:
    """Read an MNIST ``.npz``; returns ``(train, val, test)`` pairs, ``val`` None if absent.

    Arrays are returned as stored (not yet validated or converted).
    """
    source = os.fspath(path)
    if not zipfile.is_zipfile(path):
        raise DataError(f"{source}: not a .npz archive (a .npz is a zip file)")
    try:
        with np.load(path, allow_pickle=False) as archive:
            keys = set(archive.files)
            missing = [key for key in REQUIRED_KEYS if key not in keys]
            val_keys = [key for key in VALIDATION_KEYS if key in keys]
            if len(val_keys) == 1:
                missing += [key for key in VALIDATION_KEYS if key not in keys]
            if missing:
                raise DataError(
                    f"{source}: missing key(s) {', '.join(missing)}; an MNIST .npz "
                    f"needs {', '.join(REQUIRED_KEYS)} and optionally both "
                    f"{' and '.join(VALIDATION_KEYS)} (it has: "
                    f"{', '.join(sorted(keys)) or 'nothing'})"
                )
            train = (archive["x_train"], archive["y_train"])
            test = (archive["x_test"], archive["y_test"])
            val = (archive["x_val"], archive["y_val"]) if val_keys else None
    except DataError:
        raise
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        raise DataError(
            f"{source}: not a readable .npz archive of plain arrays "
            f"({type(exc).__name__}: {exc})"
        ) from exc
    return train, val, test
