"""Users' own data: a CSV table, an .npz of feature vectors, or a folder of IDX files of any shape.

``read_table(path, label_column=None, header=None)`` returns a ``Table``: named parts
("all", or "training" / "validation" / "test" when the source comes split),
each (X (n, d) float64, labels (n,)), plus the feature names.

* CSV (``.csv``, or ``.csv.gz`` gzipped): one sample per line, numeric
  features, the label in the last column unless ``label_column`` names it (a
  header name, or a 0-based index, negative from the end).  Fields are
  separated by semicolons if the first line holds one, else by tabs if it
  holds one, else by commas.  The first line is a header if ``header`` is
  True, a sample if it is False; by default a header when it names the label
  column or holds a word where the other lines hold numbers, and refused as
  ambiguous when it is the column numbers (0, 1, ... or 1, 2, ...).  Header
  names must differ.
  The first bad value or missing label (empty, ``nan``, ``inf``) is reported
  with its line and column.
  Labels are integers if every label is one, else text; numbers are written
  one way (``0.0`` is ``0``), so that equal numbers are one class.
* ``.npz`` (opened without pickle): ``X`` and ``y`` for one table, or
  ``x_train``, ``y_train``, ``x_test``, ``y_test`` (and optionally both
  ``x_val`` and ``y_val``) for a split one.  X is (n, d) or (n, ...) images,
  flattened; uint8 arrays are pixels and scaled to [0, 1].
* A folder of the four IDX files with MNIST's names (gzipped or raw), images
  of any shape and type, integer labels: uint8 pixels are scaled to [0, 1].

``split_table`` makes training / validation / test parts; ``encode_labels``
turns labels into output-unit indices.
"""
from __future__ import annotations

import csv
import gzip
import io
import math
import os
import struct
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from .errors import DataError
from .gz import GZIP_MAGIC, read_maybe_gzipped
from .idx import find_idx_files, read_idx
from ..files.npz_entries import NotAnArchive, PickledEntry, read_entries

PARTS = ("training", "validation", "test")
SPLIT_KEYS = {"training": ("x_train", "y_train"), "validation": ("x_val", "y_val"),
              "test": ("x_test", "y_test")}
DEFAULT_SPLIT = (0.8, 0.1, 0.1)


@dataclass
class Table:
    """Parts by name ("all" or some of ``PARTS``): (X (n, d) float64, labels (n,))."""
    parts: dict[str, tuple[NDArray[np.float64], NDArray]]
    feature_names: list[str]
    source: str

    @property
    def n_features(self) -> int:
        return next(iter(self.parts.values()))[0].shape[1]

    def classes(self) -> NDArray:
        """Every label in the table, sorted."""
        return np.unique(np.concatenate([labels for _, labels in self.parts.values()]))


def is_table(path):
    """Whether ``path`` names data for ``read_table`` rather than MNIST in one of its forms:
    a .csv (.csv.gz) file, an .npz holding ``X`` and ``y``, or an .npz (``x_train`` ...) or
    IDX folder whose images are not 28 x 28 with labels 0..9.  ``DataError`` for an .npz
    holding pickled Python objects, which neither reader loads."""
    path = Path(path)
    if _is_csv(path):
        return True
    if path.is_file() and zipfile.is_zipfile(path):
        return _npz_is_table(path)
    found = find_idx_files(path, str(path)) if path.is_dir() else None
    if found is not None:
        return _idx_shape(found[0])[1:] != (28, 28) or not _digits(read_idx(found[1]))
    return False


def _is_csv(path):
    return path.name.lower().endswith((".csv", ".csv.gz"))


def _digits(labels):
    """Whether ``labels`` are MNIST's: integers 0..9."""
    return labels.dtype.kind in "ui" and (len(labels) == 0 or 0 <= labels.min() <= labels.max() <= 9)


def _npz_is_table(path):
    """An .npz with ``X``, or with ``x_train`` images that are not 28 x 28 (or 784) pixels
    or ``y_train`` labels that are not 0..9; the images' shape is read from their header only."""
    try:
        with zipfile.ZipFile(path) as archive:
            entries = _plain_entries(path, archive)
            if "X" in entries:
                return True
            if "x_train" not in entries or "y_train" not in entries:
                return False  # MNIST's reader names the missing keys
            shape = entries["x_train"].shape
            return shape[1:] not in ((28, 28), (28 * 28,)) or not _digits(entries["y_train"].read())
    except DataError:
        raise
    except (NotAnArchive, OSError, ValueError, zipfile.BadZipFile, EOFError):
        return False  # MNIST's reader says what is wrong with the file


def _plain_entries(path, archive):
    """``read_entries`` of the open .npz ``archive`` at ``path``; ``DataError`` naming an
    array of pickled Python objects (object dtype), with the way to save it instead."""
    try:
        return read_entries(archive)
    except PickledEntry as error:
        raise DataError(f"{path}: {error.name} holds pickled Python objects (object dtype), which "
                        "fastnet does not load (unpickling can run code); save it as text or "
                        f"numbers, e.g. np.savez(..., {error.name}={error.name}.astype(str))") from None


def _idx_shape(path):
    """The shape in an IDX file's header (gzipped or raw), reading only the header."""
    with open(path, "rb") as raw:
        compressed = raw.read(2) == GZIP_MAGIC
        raw.seek(0)
        handle = gzip.open(raw) if compressed else raw
        try:
            head = handle.read(4)
            ndim = head[3] if len(head) == 4 else 0
            sizes = handle.read(4 * ndim)
        except (OSError, EOFError, zlib.error):
            sizes, ndim = b"", 1
    if len(sizes) != 4 * ndim:
        return ()  # not a complete header: read_table's full read reports it
    return struct.unpack(f">{ndim}I", sizes)


def read_table(path: str | os.PathLike[str], label_column: int | str | None = None, header: bool | None = None) -> Table:
    """The ``Table`` in the CSV file, .npz or IDX folder at ``path``; ``DataError`` if unreadable.
    ``label_column`` and ``header`` (whether the first line is one; None: detected) are a CSV
    file's."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: does not exist; pass a .csv (or .csv.gz) file, an .npz or a "
                        "folder of IDX files")
    if _is_csv(path):
        return _read_csv(path, label_column, header)
    refuse_csv_flags(path, label_column, header)
    if path.is_dir():
        return _read_idx_folder(path)
    return _read_npz(path)


# ---------------------------------------------------------------------- CSV
def _read_csv(path, label_column, header, n_features=None):
    """A one-part Table; with ``n_features``, a file of n_features columns has no labels
    and one of n_features + 1 columns has them, unread (the labels are then None)."""
    rows, lines, separator = _csv_rows(path)
    width = len(rows[0])
    if n_features is not None and width not in (n_features, n_features + 1):
        raise DataError(f"{path}: has {width} columns; the model takes {n_features} features "
                        f"(pass {n_features} columns, or {n_features + 1} with a label column)")
    has_labels = n_features is None or width == n_features + 1
    if not has_labels and label_column is not None:
        raise DataError(f"label_column: {path} has {width} columns, the model's {n_features} "
                        "features, and so no label column; leave it out")
    if has_labels and width < 2:
        raise DataError(f"{path}: line {lines[0]} has {width} column; expected features and a "
                        "label, separated by commas (or by semicolons or tabs)")
    label = _label_index(path, rows[0], label_column, width) if has_labels else None
    features = [c for c in range(width) if c != label]
    header = _is_header(path, rows, features, label, label_column) if header is None else header
    if not header and label is not None and label_column is not None and not _is_index(label_column):
        raise DataError(f"label_column: {label_column!r} is a name, but the first line of {path} "
                        "is a sample (header=False); pass the column's 0-based index")
    names = [field.strip() for field in rows[0]] if header else [f"x{c}" for c in range(width)]
    if header:
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise DataError(f"{path}: the header (line {lines[0]}) names "
                            f"{', '.join(map(repr, duplicates))} more than once; give every "
                            "column its own name")
        rows, lines = rows[1:], lines[1:]
    if not rows:
        raise DataError(f"{path}: holds a header line but no samples")
    cells = np.array(rows, dtype=object)
    try:
        X = cells[:, features].astype(np.float64)
    except ValueError:
        X = None
    if X is None or not np.isfinite(X).all():
        _raise_first_bad(path, rows, lines, features, names, separator)
    labels = None if label is None or n_features is not None else \
        _labels(path, cells[:, label], lines, f"column {label + 1} ({names[label]})")
    return Table({"all": (X, labels)}, [names[c] for c in features], str(path))


def _csv_rows(path):
    """The non-empty rows of a CSV file (gunzipped if it is gzip-compressed), all of one
    width, their 1-based line numbers, and the field separator: a semicolon if the first
    line holds one, else a tab if it holds one, else a comma."""
    try:
        text = read_maybe_gzipped(path).decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise DataError(f"{path}: cannot be read as a CSV file ({error}); save it as UTF-8 "
                        "text") from None
    first = next((line for line in text.splitlines() if line), "")
    separator = next((s for s in (";", "\t") if s in first), ",")
    try:
        rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=separator))
    except csv.Error as error:
        raise DataError(f"{path}: cannot be read as a CSV file ({error})") from None
    lines = [number for number, row in enumerate(rows, start=1) if row]
    rows = [row for row in rows if row]
    if not rows:
        raise DataError(f"{path}: is empty; expected one sample per line")
    for number, row in zip(lines, rows):
        if len(row) != len(rows[0]):
            raise DataError(f"{path}: line {number} has {len(row)} columns but line {lines[0]} has "
                            f"{len(rows[0])}; every line needs the same columns")
    return rows, lines, separator


def read_features(path, n_features, label_column=None, header=None):
    """Feature rows (n, n_features) float64 to predict from: a CSV file with n_features
    columns (or one more, the label column, which is dropped), or an .npz with ``X``."""
    path = Path(path)
    if _is_csv(path):
        X = _read_csv(path, label_column, header, n_features).parts["all"][0]
    else:
        refuse_csv_flags(path, label_column, header)
        if not path.is_file() or not zipfile.is_zipfile(path):
            raise DataError(f"{path}: is not a .csv (.csv.gz) file or an .npz archive; pass one "
                            "of those")
        with np.load(path, allow_pickle=False) as archive:
            if "X" not in archive.files:
                raise DataError(f"{path}: has no X array (it holds "
                                f"{', '.join(sorted(archive.files)) or 'nothing'}); store the "
                                "rows to predict as X")
            X = archive["X"]
        X = _checked_part(str(path), "X", X, np.zeros(len(X), np.int64))[0]
    if X.shape[1] != n_features:
        raise DataError(f"{path}: rows have {X.shape[1]} features; the model takes {n_features}")
    return X


def refuse_csv_flags(path, label_column, header):
    """DataError if a CSV file's flag is given for ``path``, which is not a CSV file
    (None: MNIST, found where ``load_mnist`` looks)."""
    for name, value in (("label_column", label_column), ("header", header)):
        if value is not None:
            raise DataError(f"{name}: applies to CSV files only, but "
                            f"{'MNIST' if path is None else path} is not a .csv; leave it out")


def _label_index(path, first_row, label_column, width):
    if label_column is None:
        return width - 1
    if _is_index(label_column):
        index = int(label_column)
        if not -width <= index < width:
            raise DataError(f"label_column: index {index} is outside the {width} columns of {path}; "
                            f"pass 0..{width - 1} or -{width}..-1")
        return index % width
    names = [field.strip() for field in first_row]
    if label_column not in names:
        raise DataError(f"label_column: {label_column!r} is not a column of {path}; its first line "
                        f"holds {', '.join(map(repr, names))}")
    return names.index(label_column)


def _is_header(path, rows, features, label, label_column):
    """Whether the first of ``rows`` names the columns: it holds the ``label_column`` name,
    or a word in a feature column, or a word in the label column above numbers.  A line of
    the column numbers (0, 1, ... or 1, 2, ..., as pandas writes a table without names)
    could be either: ``DataError``."""
    first = rows[0]
    if label is not None and label_column is not None and not _is_index(label_column):
        return True  # _label_index found the name on this line
    if not all(_is_number(first[c]) for c in features):
        return True
    if label is not None and not _is_number(first[label]):
        return bool(first[label].strip()) and all(_is_number(row[label]) for row in rows[1:])
    numbers = [float(field) for field in first]
    if numbers in (list(range(len(first))), list(range(1, len(first) + 1))):
        raise DataError(f"header: the first line of {path} ({','.join(first)}) is the column "
                        "numbers, a header or a sample; say which: pass --header or --no-header "
                        "(header=True or False)")
    return False


def _is_index(text):
    try:
        int(text)
    except (TypeError, ValueError):
        return False
    return True


def _is_number(text):
    try:
        float(text)
    except ValueError:
        return False
    return True


def _raise_first_bad(path, rows, lines, features, names, separator):
    for number, row in zip(lines, rows):
        for column in features:
            try:
                value = float(row[column])
            except ValueError:
                value = None
            if value is None or not np.isfinite(value):
                hint = " (with a decimal point, not a comma)" if "," in row[column] and \
                    separator != "," else ""
                raise DataError(f"{path}: line {number}, column {column + 1} ({names[column]}): "
                                f"{row[column]!r} is not a finite number; features must be "
                                f"numbers{hint}")
    raise DataError(f"{path}: holds features that are not finite numbers")  # pragma: no cover


def _labels(path, values, lines, column):
    """Labels as int64 when every one is an integer, else as text, each number written one
    way (``_label_text``); ``DataError`` naming the line of the first missing label: empty,
    or a number that is not finite (``nan``, ``inf``)."""
    texts = [str(value).strip() for value in values]
    for number, text in zip(lines, texts):
        if not text or (_is_number(text) and not math.isfinite(float(text))):
            what = f"{text!r} is not a finite number" if text else "is empty"
            raise DataError(f"{path}: line {number}, {column}: the label {what} (a missing "
                            "value); give every sample a label, or leave the line out")
    texts = np.array([_label_text(text) for text in texts])
    try:
        return texts.astype(np.int64)
    except (ValueError, OverflowError):
        return texts


def _label_text(text):
    """A number as one text whatever its spelling (``0``, ``0.0``, ``-0``, ``0e3``: ``0``;
    ``0.50``: ``0.5``), so that equal numbers make one class; other labels as they are."""
    try:
        value = float(text)
    except ValueError:
        return text
    if not value.is_integer():
        return repr(value)
    try:
        return str(int(text))  # exact also beyond float's 2**53
    except ValueError:
        return str(int(value))


# ---------------------------------------------------------------------- npz
def _read_npz(path):
    if not zipfile.is_zipfile(path):
        raise DataError(f"{path}: not a .npz archive; pass a .csv file, an .npz or a folder of IDX files")
    try:
        with np.load(path, allow_pickle=False) as archive:
            keys = set(archive.files)
            if {"X", "y"} <= keys:
                parts = {"all": (archive["X"], archive["y"])}
            else:
                present = [part for part, pair in SPLIT_KEYS.items() if set(pair) & keys]
                missing = [key for part in {"training", "test", *present} for key in SPLIT_KEYS[part]
                           if key not in keys]
                if missing:
                    raise DataError(f"{path}: expected the keys X and y, or x_train, y_train, x_test, "
                                    f"y_test (and optionally x_val, y_val); it has "
                                    f"{', '.join(sorted(keys)) or 'nothing'}")
                parts = {part: (archive[x], archive[y]) for part, (x, y) in SPLIT_KEYS.items()
                         if part in present}
    except DataError:
        raise
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as error:
        raise DataError(f"{path}: not a readable .npz of plain arrays ({error})") from None
    parts = {name: _checked_part(path, name, X, y) for name, (X, y) in parts.items()}
    return Table(parts, [f"x{c}" for c in range(next(iter(parts.values()))[0].shape[1])], str(path))


def _checked_part(source, name, X, y):
    """(X as (n, d) float64, y as (n,) labels), with uint8 pixels scaled to [0, 1]."""
    X, y = np.asarray(X), np.asarray(y)
    the = "the" if name == "all" else f"the {name}"  # a one-part table: "the features"
    if X.dtype.kind not in "uif" or X.ndim < 2 or len(X) == 0:
        raise DataError(f"{source}: {the} features are {X.dtype} of shape {X.shape}; "
                        "expected numbers of shape (n, d) or (n, ...) with n > 0")
    if y.ndim != 1 or len(y) != len(X) or y.dtype.kind not in "uiU":
        raise DataError(f"{source}: {the} labels are {y.dtype} of shape {y.shape}; expected "
                        f"({len(X)},) integers or text, one per sample")
    flat = X.reshape(len(X), -1)
    flat = flat / 255.0 if X.dtype == np.uint8 else flat.astype(np.float64)
    if not np.isfinite(flat).all():
        raise DataError(f"{source}: {the} features hold NaN or infinite values")
    return flat, y.astype(np.int64) if y.dtype.kind in "ui" else y


# ---------------------------------------------------------------------- IDX
def _read_idx_part(images_path, labels_path):
    images, labels = read_idx(images_path), read_idx(labels_path)
    if labels.ndim != 1 or labels.dtype.kind not in "ui" or len(labels) != len(images):
        raise DataError(f"{labels_path}: expected {len(images)} integer labels for the images of "
                        f"{images_path}, got {labels.dtype} of shape {labels.shape}")
    return images, labels


def _read_idx_folder(folder):
    found = find_idx_files(folder, str(folder))
    if found is None:
        raise DataError(f"{folder}: holds no IDX files; expected the four files named like "
                        "MNIST's (train-images-idx3-ubyte[.gz], ...)")
    parts = {}
    for name, (images_path, labels_path) in zip(("training", "test"), (found[:2], found[2:])):
        parts[name] = _checked_part(os.fspath(images_path), name, *_read_idx_part(images_path, labels_path))
    return Table(parts, [f"x{c}" for c in range(parts["training"][0].shape[1])], str(folder))


# -------------------------------------------------------------------- split
def check_split(split):
    """``split`` as three fractions (training, validation, test) summing to 1."""
    try:
        fractions = tuple(float(f) for f in split)
    except (TypeError, ValueError):
        fractions = ()
    if len(fractions) != 3 or not all(0 <= f <= 1 for f in fractions) or fractions[0] == 0 \
            or abs(sum(fractions) - 1) > 1e-9:
        raise ValueError(f"split: expected three fractions (training, validation, test) that are "
                         f"numbers from 0 to 1 (training above 0) and sum to 1, e.g. 0.8,0.1,0.1; "
                         f"got {split!r}")
    return fractions


def split_table(table: Table, split: tuple[float, float, float] = DEFAULT_SPLIT, seed: int = 0
                ) -> dict[str, tuple[NDArray, NDArray]]:
    """{"training": (X, labels), "validation": ..., "test": ...} from ``table``.

    A table that comes whole is split by the fractions in ``split``; one that
    comes with training and test parts keeps them and, without a validation
    part, moves validation / (training + validation) of its training part
    there.  Splits are stratified (every class in proportion, rounded per
    class) and seeded.
    """
    train, validation, test = check_split(split)
    parts = dict(table.parts)
    if "all" in parts:
        X, labels = parts.pop("all")
        pieces = _stratified(labels, (train, validation, test), seed)
        return {name: (X[index], labels[index]) for name, index in zip(PARTS, pieces)}
    if "validation" not in parts:
        X, labels = parts["training"]
        keep, held = _stratified(labels, (train, validation), seed)
        parts["training"], parts["validation"] = (X[keep], labels[keep]), (X[held], labels[held])
    return {name: parts[name] for name in PARTS}


def _stratified(labels, fractions, seed):
    """Index arrays, one per fraction: each class's shuffled samples cut by the fractions."""
    rng = np.random.default_rng(seed)
    weights = np.asarray(fractions) / sum(fractions)
    pieces = [[] for _ in fractions]
    for label in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == label))
        cuts = np.round(np.cumsum(weights)[:-1] * len(members)).astype(int)
        for piece, chunk in zip(pieces, np.split(members, cuts)):
            piece.append(chunk)
    return [np.sort(np.concatenate(piece)) for piece in pieces]


def encode_labels(labels, classes, source):
    """Indices into ``classes`` (a list) of ``labels``, matched as text; ``DataError`` naming
    the first unknown label."""
    lookup = {str(label): index for index, label in enumerate(classes)}
    indices = np.empty(len(labels), dtype=np.int64)
    for position, label in enumerate(np.asarray(labels).tolist()):
        index = lookup.get(str(label))
        if index is None:
            raise DataError(f"{source}: label {label!r} is not one of the model's classes "
                            f"{list(classes)}")
        indices[position] = index
    return indices
