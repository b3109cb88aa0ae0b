"""The IDX file format of the MNIST database, read strictly.

An IDX file is a 4-byte magic number ``00 00 <type> <ndim>``, then ``ndim``
big-endian uint32 sizes, then the array's elements in C order, big-endian.
MNIST's image files are type 0x08 (uint8) with 3 dimensions (n, 28, 28) and
its label files type 0x08 with 1 dimension (n,). The parser checks the magic,
the type code, that the header is complete, and that exactly as many data
bytes follow as the sizes promise; anything else raises ``DataError``.
"""
from __future__ import annotations

import math
import os
import struct
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from .download import MNIST_FILES
from .errors import DataError
from .gz import gunzip_if_compressed, read_maybe_gzipped

# IDX type code -> big-endian element dtype.
IDX_DTYPES: dict[int, np.dtype] = {
    0x08: np.dtype("u1"),
    0x09: np.dtype("i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
MAX_DIMENSIONS = 32  # NumPy 1.x's limit


def parse_idx(data: bytes, source: str = "<bytes>") -> NDArray:
    """Parse IDX bytes (gzipped or raw) into a new, writable, native-endian array.

    Returns an array whose shape is the header's sizes. ``source`` names the
    data in error messages. Raises ``DataError`` for anything that is not a
    complete, well-formed IDX file.
    """
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(
            f"data: expected bytes holding an IDX file, got {type(data).__name__}"
        )
    data = gunzip_if_compressed(bytes(data), source)
    if len(data) < 4:
        raise DataError(
            f"{source}: only {len(data)} bytes; an IDX file starts with a "
            "4-byte magic number 00 00 <type> <ndim>"
        )
    zero_a, zero_b, type_code, ndim = data[:4]
    if zero_a or zero_b or type_code not in IDX_DTYPES:
        raise DataError(
            f"{source}: bad magic number 0x{data[:4].hex()}; an IDX file starts "
            "with 00 00, then a type code (08 for MNIST's uint8), then the "
            "number of dimensions. Is this really an MNIST IDX file?"
        )
    if ndim == 0 or ndim > MAX_DIMENSIONS:
        raise DataError(
            f"{source}: the header declares {ndim} dimensions; fastnet reads IDX "
            f"files with 1 to {MAX_DIMENSIONS} (MNIST's have 1 or 3)"
        )
    header_size = 4 + 4 * ndim
    if len(data) < header_size:
        raise DataError(
            f"{source}: truncated header: {ndim} dimensions need {header_size} "
            f"header bytes but the file has {len(data)}"
        )
    shape = struct.unpack(f">{ndim}I", data[4:header_size])
    dtype = IDX_DTYPES[type_code]
    count = math.prod(shape)
    expected = count * dtype.itemsize
    if math.prod(size for size in shape if size) * dtype.itemsize > np.iinfo(np.intp).max:
        raise DataError(f"{source}: the header's shape {shape} is too large for any array")
    present = len(data) - header_size
    if present < expected:
        raise DataError(
            f"{source}: the header promises shape {shape} ({expected} data bytes) "
            f"but only {present} bytes follow; the file is truncated or its "
            "header count is too large"
        )
    if present > expected:
        raise DataError(
            f"{source}: {present - expected} unexpected bytes after the "
            f"{expected} data bytes of shape {shape}; the header count is too "
            "small or the file is corrupt"
        )
    native = dtype.newbyteorder("=")
    if count == 0:
        return np.zeros(shape, dtype=native)
    elements = np.frombuffer(data, dtype=dtype, count=count, offset=header_size)
    return elements.reshape(shape).astype(native)


def read_idx(path: str | os.PathLike[str]) -> NDArray:
    """Read the IDX file at ``path`` (gzipped or raw) into an array; see ``parse_idx``."""
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(
            f"path: expected a str or os.PathLike naming an IDX file, "
            f"got {type(path).__name__}"
        )
    return parse_idx(read_maybe_gzipped(path), os.fspath(path))


def find_idx_files(folder: Path, where: str) -> list[Path] | None:
    """Paths of the four IDX files in ``folder`` (gzipped or raw names), or None if none is there.

    Raises ``DataError`` naming the missing ones when only some are present.
    """
    if not folder.is_dir():
        return None
    found: list[Path] = []
    missing: list[str] = []
    for name in MNIST_FILES:
        stem = name[: -len(".gz")]
        candidates = (name, stem, stem.replace("-idx", ".idx"))
        match = next((folder / c for c in candidates if (folder / c).is_file()), None)
        if match is None:
            missing.append(name)
        else:
            found.append(match)
    if not found:
        return None
    if missing:
        raise DataError(
            f"{where} holds some MNIST IDX files but not {', '.join(missing)}; "
            "copy all four files there"
        )
    return found
