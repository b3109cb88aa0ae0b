"""Downloading the four MNIST IDX files into the user cache, checksum-verified.

Each file is fetched from the first mirror in ``MIRRORS`` (or the caller's
list) that delivers it intact: the bytes stream into a hidden temporary file
in the cache folder while their SHA-256 is computed, and the temporaries are
renamed to their real names only after all four files have passed their
checksums. A failed or interrupted download leaves no file behind.
Only ``urllib`` from the standard library is used.
"""
from __future__ import annotations

import hashlib
import http.client
import os
import tempfile
import urllib.request
from collections.abc import Sequence
from pathlib import Path

from tqdm import tqdm

from .errors import DataError

# The four files of the MNIST database, in the order train images, train labels,
# test images, test labels, with the SHA-256 of the distributed .gz files.
MNIST_FILES = (
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
)
SHA256 = {
    "train-images-idx3-ubyte.gz": "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
    "train-labels-idx1-ubyte.gz": "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
    "t10k-images-idx3-ubyte.gz": "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
    "t10k-labels-idx1-ubyte.gz": "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
}

# Public mirrors of the original files, tried in order; each is a base URL
# to which a file name is appended.
MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
)

_CHUNK_BYTES = 1 << 16

LOCAL_COPY_HELP = (
    "To use a local copy instead, put the four MNIST IDX files ("
    + ", ".join(MNIST_FILES)
    + "; gzipped or not) in one folder and either run\n"
    "    export FASTNET_DATA=/path/to/that/folder\n"
    "or pass that folder: `fastnet train --data /path/to/that/folder` on the command "
    "line, fastnet.load_mnist(path=\"/path/to/that/folder\") in Python"
)


def default_cache_dir() -> Path:
    """The user cache folder: ``$XDG_CACHE_HOME/fastnet``, else ``~/.cache/fastnet``."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "fastnet"


def sha256_of(path):
    """The SHA-256 hex digest of the file at ``path``."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def check_mirrors(mirrors):
    """Validate ``mirrors`` (None means ``MIRRORS``); returns a tuple of base URLs ending in '/'."""
    if mirrors is None:
        return MIRRORS
    if isinstance(mirrors, (str, bytes)) or not hasattr(mirrors, "__iter__"):
        raise TypeError(
            f"mirrors: expected a list or tuple of base URLs, got {mirrors!r}; pass e.g. "
            f"[{MIRRORS[0]!r}] (wrap a single URL in a list)"
        )
    checked = []
    for url in mirrors:
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise ValueError(
                f"mirrors: expected http:// or https:// base URLs, got {url!r}"
            )
        checked.append(url if url.endswith("/") else url + "/")
    if not checked:
        raise ValueError(f"mirrors: is empty; pass at least one base URL, e.g. [{MIRRORS[0]!r}]")
    return tuple(checked)


def download_mnist(cache_dir: str | os.PathLike[str] | None = None, *, mirrors: Sequence[str] | None = None,
                   timeout: float = 30.0, progress: bool | None = None) -> Path:
    """Download the four MNIST IDX files into ``cache_dir`` and return that folder.

    ``cache_dir`` defaults to ``default_cache_dir()``; ``mirrors`` to ``MIRRORS``
    (base URLs tried in order for each file); ``timeout`` is seconds per
    connection; ``progress`` shows a progress bar (None: only on a terminal).
    Files already in the cache with the right SHA-256 are kept. Raises
    ``DataError`` naming every mirror's failure if a file cannot be fetched
    intact; then nothing new is left in the cache.
    """
    mirrors = check_mirrors(mirrors)
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout > 0:
        raise ValueError(f"timeout: expected a positive number of seconds, got {timeout!r}")
    cache_dir = Path(default_cache_dir() if cache_dir is None else cache_dir)
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DataError(
            f"cannot create the cache folder {cache_dir} ({exc}); pass "
            f"cache_dir= a writable folder.\n{LOCAL_COPY_HELP}"
        ) from exc
    needed = [
        name for name in MNIST_FILES
        if not (cache_dir / name).is_file() or sha256_of(cache_dir / name) != SHA256[name]
    ]
    fetched = {}
    try:
        for name in needed:
            fetched[name] = _fetch_from_mirrors(name, mirrors, cache_dir, timeout, progress)
        for name, temporary in fetched.items():
            os.replace(temporary, cache_dir / name)
    finally:
        for temporary in fetched.values():
            if temporary.exists():
                temporary.unlink()
    return cache_dir


def _fetch_from_mirrors(name, mirrors, cache_dir, timeout, progress):
    """Fetch ``name`` from the first mirror that delivers it intact; returns the temporary path."""
    failures = []
    for base in mirrors:
        url = base + name
        try:
            return _fetch_verified(url, name, cache_dir, timeout, progress)
        except (OSError, http.client.HTTPException, DataError) as exc:
            failures.append(f"  {url}: {exc}")
    raise DataError(
        f"could not download {name} intact from any mirror:\n"
        + "\n".join(failures)
        + f"\n{LOCAL_COPY_HELP}"
    )


def _fetch_verified(url, name, cache_dir, timeout, progress):
    """Stream ``url`` into a temporary file in ``cache_dir``; return its path once the SHA-256 matches."""
    handle, temporary = tempfile.mkstemp(dir=cache_dir, prefix=f".{name}.", suffix=".part")
    temporary = Path(temporary)
    try:
        digest = hashlib.sha256()
        received = 0
        with os.fdopen(handle, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as response:
            announced = response.headers.get("Content-Length")
            expected = int(announced) if announced and announced.isdigit() else None
            disable = None if progress is None else not progress
            with tqdm(total=expected, unit="B", unit_scale=True, unit_divisor=1024,
                      desc=name, disable=disable, leave=False) as bar:
                while chunk := response.read(_CHUNK_BYTES):
                    digest.update(chunk)
                    out.write(chunk)
                    received += len(chunk)
                    bar.update(len(chunk))
        if expected is not None and received != expected:
            raise DataError(
                f"the connection closed after {received} of {expected} bytes"
            )
        if digest.hexdigest() != SHA256[name]:
            raise DataError(
                f"SHA-256 mismatch: got {digest.hexdigest()}, expected {SHA256[name]}; "
                "the download is corrupt or the mirror serves a different file"
            )
        return temporary
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
