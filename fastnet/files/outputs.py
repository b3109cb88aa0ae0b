"""Atomic file writing: a file is either complete or not there at all.

``atomic_write(path)`` hands out a temporary file in the same folder; when the
``with`` block ends normally the file is flushed, fsynced and renamed over
``path`` (``os.replace`` is atomic on POSIX and Windows), then the folder is
fsynced so that the rename survives a crash.  If the block raises, the
temporary file is removed and ``path`` keeps its old content.  Models,
checkpoints, histories and pictures are all written this way, so an
interrupted run never leaves a half-written file behind.  An error while
writing names ``path``, never the hidden temporary file.

``check_output`` and ``check_output_folder`` are the rule of every command
that writes: never onto one of its own inputs or a file of a fastnet run
folder, never over a file of another kind without ``--force``, and never over
a file or folder of another kind in an output folder at all.
"""
from __future__ import annotations

import os
import re
import secrets
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from .run_layout import is_run_folder, run_holding


def checked_path(name: str, path: str | os.PathLike[str]) -> Path:
    """``path`` (str or os.PathLike) as a ``Path``; TypeError naming ``name`` otherwise."""
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"{name}: expected a file path (str or os.PathLike), "
                        f"got {type(path).__name__}")
    return Path(path)


@contextmanager
def atomic_write(path: str | os.PathLike[str], text: bool = False) -> Iterator[IO[Any]]:
    """Context manager: a file object that becomes ``path`` only if the block succeeds.

    Binary by default; ``text=True`` gives a UTF-8 text file with Unix newlines.
    The folder must exist (FileNotFoundError names it otherwise).
    """
    path = checked_path("path", path)
    folder = path.parent
    if not folder.is_dir():
        raise FileNotFoundError(f"{path}: the folder {folder} does not exist; create it first")
    temporary = folder / f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
    options: dict[str, Any] = {"encoding": "utf-8", "newline": "\n"} if text else {}
    try:
        with open(temporary, "x" if text else "xb", **options) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException as error:
        temporary.unlink(missing_ok=True)
        if isinstance(error, OSError) and error.errno and error.filename in (None, str(temporary)):
            raise OSError(error.errno, error.strerror, str(path)) from error  # e.g. a full disk
        raise
    _fsync_folder(folder)


def _fsync_folder(folder: Path) -> None:
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


# ------------------------------------------------------------------ outputs
@dataclass(frozen=True)
class OutputKind:
    """What a command writes: ``name`` for messages, ``start`` (a bytes regex) for how
    such a file begins, so that a file of this kind may be replaced."""
    name: str
    start: bytes

    def recognises(self, path: str | os.PathLike[str]) -> bool:
        """Whether the file at ``path`` begins as this kind of file does."""
        try:
            with open(path, "rb") as handle:
                head = handle.read(256)
        except OSError:
            return False
        return re.match(self.start, head) is not None


@dataclass(frozen=True)
class FolderKind:
    """A folder a command writes: ``name`` for messages; a folder of this kind holds every
    name in ``needs`` and, unless ``holds`` is None, nothing but names in ``holds`` (hidden
    entries aside)."""
    name: str
    holds: frozenset[str] | None = None
    needs: frozenset[str] = frozenset()

    def recognises(self, path: str | os.PathLike[str]) -> bool:
        """Whether ``path`` is a folder of this kind."""
        if not os.path.isdir(path):
            return False
        present = {name for name in os.listdir(path) if not name.startswith(".")}
        return self.needs <= present and (self.holds is None or present <= self.holds)


FOLDER = FolderKind("a folder")  # one a command writes into, beside what it holds
Inputs = Mapping[str, "str | os.PathLike[str] | None"]  # {argument: path} of what a command reads


def check_output(path: str | os.PathLike[str], argument: str, kind: OutputKind, inputs: Inputs | None = None,
                 force: bool = False) -> None:
    """Raise ValueError (naming ``argument``) unless a command may write the file ``path``:
    not a folder, not one of ``inputs`` ({argument: path} of what the command reads), not
    a file of a fastnet run folder, and not an existing file of another kind than ``kind``
    (an ``OutputKind``) unless ``force`` (the command's ``--force``)."""
    path = Path(path)
    if path.is_dir():
        raise ValueError(f"{argument}: {path} is a folder; pass the name of the file to write")
    _check_not_an_input(path, argument, inputs)
    run = run_holding(path)
    if run is not None:
        raise ValueError(f"{argument}: {path} is one of the files of the fastnet run in {run}, "
                         "which must stay as the run wrote them; pass another file name")
    if path.exists() and not force and not kind.recognises(path):
        raise ValueError(f"{argument}: {path} already exists and is not {kind.name}; pass a "
                         "new file name, or --force to replace it")


def check_output_folder(path: str | os.PathLike[str], argument: str, own: Mapping[str, OutputKind | FolderKind],
                        inputs: Inputs | None = None, force: bool = False) -> None:
    """Raise ValueError (naming ``argument``) unless a command may write into the folder
    ``path``: not a file, not one of ``inputs``, not a fastnet run folder, (unless
    ``force``) missing, empty or holding only names in ``own``, and every entry of ``path``
    named in ``own`` of its kind there.  ``own``: {name: ``OutputKind`` or ``FolderKind``}
    of what the command writes in ``path``; hidden entries, such as temporary files, aside."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise ValueError(f"{argument}: {path} is a file; pass a folder for the outputs")
    _check_not_an_input(path, argument, inputs)
    if is_run_folder(path):
        raise ValueError(f"{argument}: {path} is the folder of a fastnet run; pass another folder")
    present = sorted(name for name in (os.listdir(path) if path.is_dir() else ())
                     if not name.startswith("."))
    foreign = [name for name in present if name not in own]
    if foreign and not force:
        shown = ", ".join(foreign[:3]) + (", ..." if len(foreign) > 3 else "")
        raise ValueError(f"{argument}: {path} holds {shown}, which this command does not write; "
                         "pass a new or empty folder, or --force to write beside them")
    for name in present:
        if name in own:
            check_own(path / name, argument, own[name])


def check_own(path: str | os.PathLike[str], argument: str, kind: OutputKind | FolderKind) -> None:
    """Raise ValueError (naming ``argument``) if ``path`` exists and is not of ``kind``:
    a command replaces (or writes into) only what it wrote itself, --force or not."""
    if os.path.lexists(path) and not kind.recognises(path):
        raise ValueError(f"{argument}: {path} exists and is not {kind.name}, which this command "
                         "writes there; move it away, or pass another folder")


def _check_not_an_input(path: Path, argument: str, inputs: Inputs | None) -> None:
    for name, given in (inputs or {}).items():
        if given is not None and _same_file(path, given):
            noun = "folder" if path.is_dir() else "file"
            raise ValueError(f"{argument}: {path} is the {noun} given as {name}, which this "
                             "command reads; pass another name, so that it is not overwritten")


def _same_file(a: str | os.PathLike[str], b: str | os.PathLike[str]) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:  # one of them does not exist
        return False
