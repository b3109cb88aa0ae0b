"""Atomic file writing: a file is either complete or not there at all.

``atomic_write(path)`` hands out a temporary file in the same folder; when the
``with`` block ends normally the file is flushed, fsynced and renamed over
``path`` (``os.replace`` is atomic on POSIX and Windows), then the folder is
fsynced so that the rename survives a crash.  If the block raises, the
temporary file is removed and ``path`` keeps its old content.  Models,
checkpoints, histories and pictures are all written this way, so an
interrupted run never leaves a half-written file behind.
"""
import os
import secrets
from contextlib import contextmanager
from pathlib import Path


def checked_path(name, path):
    """``path`` (str or os.PathLike) as a ``Path``; TypeError naming ``name`` otherwise."""
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"{name}: expected a file path (str or os.PathLike), "
                        f"got {type(path).__name__}")
    return Path(path)


@contextmanager
def atomic_write(path, text=False):
    """Context manager: a file object that becomes ``path`` only if the block succeeds.

    Binary by default; ``text=True`` gives a UTF-8 text file with Unix newlines.
    The folder must exist (FileNotFoundError names it otherwise).
    """
    path = checked_path("path", path)
    folder = path.parent
    if not folder.is_dir():
        raise FileNotFoundError(f"{path}: the folder {folder} does not exist; create it first")
    temporary = folder / f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
    options = {"encoding": "utf-8", "newline": "\n"} if text else {}
    try:
        with open(temporary, "x" if text else "xb", **options) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    _fsync_folder(folder)


def _fsync_folder(folder):
    """Make a rename in ``folder`` durable (a no-op where folders cannot be opened)."""
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)
