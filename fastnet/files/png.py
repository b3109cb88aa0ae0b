"""A minimal PNG encoder (8-bit grayscale or RGB) in NumPy and zlib.

``fastnet show --png`` must work without matplotlib, and a weight picture
needs one exact pixel per weight, not a plotting library: a PNG is a
signature, an IHDR chunk, zlib-compressed scanlines (each prefixed by filter
type 0) in an IDAT chunk and an IEND chunk, each chunk with its CRC-32.
"""
from __future__ import annotations

import os
import re
import struct
import zlib

import numpy as np
from numpy.typing import ArrayLike

from .outputs import OutputKind, atomic_write

SIGNATURE = b"\x89PNG\r\n\x1a\n"
PNG = OutputKind("a PNG image", re.escape(SIGNATURE))
GRAY, RGB = 0, 2  # PNG colour types


def encode_png(image: ArrayLike) -> bytes:
    """The PNG bytes of ``image``: (height, width) uint8 gray or (height, width, 3) uint8 RGB."""
    image = np.asarray(image)
    if image.dtype != np.uint8 or not (image.ndim == 2 or (image.ndim == 3 and image.shape[2] == 3)):
        raise ValueError(f"image: expected uint8 of shape (height, width) or (height, width, 3), "
                         f"got {image.dtype} {image.shape}")
    height, width = image.shape[:2]
    if height == 0 or width == 0:
        raise ValueError(f"image: is empty ({height} x {width} pixels)")
    colour = GRAY if image.ndim == 2 else RGB
    scanlines = np.zeros((height, 1 + image[0].size), dtype=np.uint8)  # column 0: filter type 0
    scanlines[:, 1:] = image.reshape(height, -1)
    header = struct.pack(">IIBBBBB", width, height, 8, colour, 0, 0, 0)
    return (SIGNATURE + _chunk(b"IHDR", header)
            + _chunk(b"IDAT", zlib.compress(scanlines.tobytes(), 9)) + _chunk(b"IEND", b""))


def write_png(path: str | os.PathLike[str], image: ArrayLike) -> None:
    """Write ``image`` (see ``encode_png``) to ``path`` atomically."""
    data = encode_png(image)
    with atomic_write(path) as handle:
        handle.write(data)


def _chunk(kind: bytes, payload: bytes) -> bytes:
    """One PNG chunk: length, type, payload, CRC-32 of type + payload."""
    return (struct.pack(">I", len(payload)) + kind + payload
            + struct.pack(">I", zlib.crc32(kind + payload) & 0xFFFFFFFF))
