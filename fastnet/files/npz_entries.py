"""Reading a .npz archive entry by entry, each array's header before its data.

``np.load`` of an .npz reads an array's data as soon as it is asked for it,
whatever its size: a file of a few hundred KB can hold a compressed array of
gigabytes.  ``read_entries`` lists every entry's declared shape and dtype from
the small .npy header at the start of each zip member, so that the caller can
check them against what it expects before ``Entry.read()`` allocates anything.
Nothing is ever unpickled: an entry with object dtype is refused.
"""
from __future__ import annotations

import zipfile
import zlib
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

ZIP_MAGIC, NPY_MAGIC = b"PK\x03\x04", b"\x93NUMPY"
EMPTY_ZIP = b"PK\x05\x06"
HEADER_READERS = {(1, 0): np.lib.format.read_array_header_1_0,
                  (2, 0): np.lib.format.read_array_header_2_0}


class NotAnArchive(ValueError):
    """The file is not a readable .npz archive; the message says what it is instead."""


class PickledEntry(NotAnArchive):
    """An entry holds pickled data (object dtype); ``name`` is its array's name."""

    def __init__(self, message: str, name: str) -> None:
        super().__init__(message)
        self.name = name


@dataclass
class Entry:
    """One array of an archive: its declared shape and dtype, data not yet read."""
    archive: zipfile.ZipFile
    member: str
    shape: tuple[int, ...]
    dtype: np.dtype
    fortran_order: bool

    def read(self) -> NDArray:
        """The array's data (allocates ``shape`` x ``dtype``; no pickle)."""
        with self.archive.open(self.member) as handle:
            return np.lib.format.read_array(handle, allow_pickle=False)


def read_entries(archive: zipfile.ZipFile) -> dict[str, Entry]:
    """{name: Entry} of every array in an open ``zipfile.ZipFile`` (.npz), from
    the members' .npy headers only.  Raises ``NotAnArchive`` for members that
    are not .npy arrays, ``PickledEntry`` for one that holds pickled (object) data."""
    entries = {}
    for info in archive.infolist():
        if not info.filename.endswith(".npy"):
            raise NotAnArchive(f"holds {info.filename!r}, which is not a NumPy array (.npy); "
                               "it is not a fastnet .npz file")
        try:
            with archive.open(info) as handle:
                version = np.lib.format.read_magic(handle)
                if version not in HEADER_READERS:
                    raise ValueError(f".npy format version {version} (fastnet writes 1.0)")
                shape, fortran_order, dtype = HEADER_READERS[version](handle)
        except (ValueError, EOFError, zlib.error, zipfile.BadZipFile, RuntimeError) as error:
            raise NotAnArchive(f"its entry {info.filename!r} is corrupt ({error})") from None
        if dtype.hasobject:
            raise PickledEntry(f"its entry {info.filename!r} holds pickled data (Python objects), "
                               "which fastnet never loads (unpickling can run code)",
                               info.filename[:-4])
        entries[info.filename[:-4]] = Entry(archive, info.filename, shape, dtype, fortran_order)
    return entries


def what_it_is(start: bytes) -> str:
    """A phrase for a file that begins with the bytes ``start`` but is no .npz."""
    if not start:
        return "is empty or truncated (0 bytes)"
    if start.startswith(NPY_MAGIC):
        return "is a single NumPy array (.npy), not a fastnet .npz archive"
    if start[:1] == b"\x80":  # the PROTO opcode that begins every pickle since protocol 2
        return ("looks like a Python pickle (pickled data, which fastnet never loads: "
                "unpickling can run code), not a .npz archive")
    if start.startswith(ZIP_MAGIC) or start.startswith(EMPTY_ZIP):
        return "is a truncated or damaged .npz (zip) archive"
    return "is not a .npz archive (fastnet model files are NumPy .npz archives)"
