"""Helpers for the data tests: write small IDX files and MNIST folders."""

import gzip
import struct

import numpy as np

from fastnet.data import MNIST_FILES, read_idx

# dtype -> IDX type code
IDX_TYPE_CODES = {
    np.dtype("u1"): 0x08, np.dtype("i1"): 0x09, np.dtype(">i2"): 0x0B,
    np.dtype(">i4"): 0x0C, np.dtype(">f4"): 0x0D, np.dtype(">f8"): 0x0E,
}


def idx_bytes(array):
    """The IDX encoding of ``array`` (its dtype must be one IDX supports)."""
    big_endian = np.asarray(array).astype(np.dtype(array.dtype).newbyteorder(">"))
    if big_endian.dtype.itemsize == 1:
        big_endian = big_endian.astype(big_endian.dtype.newbyteorder("|"))
    code = IDX_TYPE_CODES[big_endian.dtype]
    header = struct.pack(f">BBBB{array.ndim}I", 0, 0, code, array.ndim, *array.shape)
    return header + big_endian.tobytes()


def write_bytes(path, data, compress=False):
    """Write ``data`` to ``path``, gzipped if ``compress``; returns ``path``."""
    path.write_bytes(gzip.compress(data, mtime=0) if compress else data)
    return path


def write_mnist_folder(folder, train, test, compress=True):
    """Write (images, labels) pairs ``train`` and ``test`` as the four MNIST IDX files in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    arrays = (train[0], train[1], test[0], test[1])
    for name, array in zip(MNIST_FILES, arrays):
        write_bytes(folder / (name if compress else name[:-3]), idx_bytes(array), compress)
    return folder


def real_test_slice(mnist_dir, count):
    """The first ``count`` real test images (count, 28, 28) uint8 and labels (count,) uint8."""
    images = read_idx(mnist_dir / "t10k-images-idx3-ubyte.gz")[:count]
    labels = read_idx(mnist_dir / "t10k-labels-idx1-ubyte.gz")[:count]
    return images, labels
