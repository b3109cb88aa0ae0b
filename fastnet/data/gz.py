"""Reading a file's bytes, gunzipping them when they are gzip-compressed.

Compression is detected from the gzip magic bytes (1f 8b), never from the
file name, so ``train-images-idx3-ubyte`` may be gzipped and ``*.gz`` may not.
"""
from __future__ import annotations

import gzip
import os
import zlib

from .errors import DataError

GZIP_MAGIC = b"\x1f\x8b"


def gunzip_if_compressed(data: bytes, source: str) -> bytes:
    """Return ``data`` decompressed if it starts with the gzip magic, else unchanged.

    ``source`` names the file in error messages. A truncated or corrupt gzip
    stream raises ``DataError``.
    """
    if not data.startswith(GZIP_MAGIC):
        return data
    try:
        return gzip.decompress(data)
    except EOFError as exc:
        raise DataError(
            f"{source}: the gzip stream is truncated ({exc}); "
            "download or copy the file again"
        ) from exc
    except (OSError, zlib.error) as exc:
        raise DataError(
            f"{source}: the gzip data is corrupt ({exc}); "
            "download or copy the file again"
        ) from exc


def read_maybe_gzipped(path: str | os.PathLike[str]) -> bytes:
    """Read the file at ``path`` and return its bytes, gunzipped when compressed."""
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as exc:
        raise DataError(f"{os.fspath(path)}: cannot read the file ({exc})") from exc
    return gunzip_if_compressed(data, os.fspath(path))
