"""Model files and checkpoints: NumPy .npz archives with a JSON header, never pickle.

A model file holds, for each layer l, ``weights_l`` (n_in, n_out) and
``biases_l`` (n_out,) in the network's dtype, plus ``header``: a 0-d unicode
array holding JSON such as::

    {"format": "fastnet-model", "format_version": 1, "fastnet_version": "0.1.0",
     "network": {"sizes": [784, 30, 10], "activations": ["sigmoid"],
                 "output": "sigmoid", "cost": "quadratic", "init": "large",
                 "dtype": "float32", "seed": 7, "epochs_trained": 30,
                 "regularisation": {"l2": 0.0, "l1": 0.0, "n": 50000}}}

("regularisation" is what the last fit added to the cost, so that
``net.cost`` gives the same number after loading.)  Optionally, the header
holds ``"standardize": true`` and the arrays ``standardize_mean`` and
``standardize_std`` (n_in,) float64 give ``net.standardize`` (inputs are
(x − mean) / std, see ``fastnet.standardize``); files without the entry load
as before, with ``net.standardize`` None.  Likewise an optional ``"classes"``
entry, a list of integers or strings, gives ``net.classes``: the label of each
output unit (for data whose labels are not 0..n_out-1).  A checkpoint
(``"format": "fastnet-checkpoint"``) adds the optimizer: the header's
"optimizer" entry holds its name ("sgd", ...), hyperparameters (a schedule as
a dict from ``describe_schedule``), epoch count, history, best epoch, stop
reason, scalar state ("state_values") and the names of its state arrays
("state_arrays", e.g. ["velocity"]); the arrays ``<name>_weights_l`` /
``<name>_biases_l`` (e.g. the momentum velocity) and ``best_weights_l`` /
``best_biases_l`` (the best validation epoch's parameters) hold the rest.
Checkpoints of fastnet 0.1 (an SGD, "velocity": true/false) still load.  The random streams need no state of their own:
shuffles, dropout masks and ``Distort`` are keyed by ``(net.seed, epoch)``,
both saved, so resuming from a checkpoint repeats the uninterrupted run
exactly.

This module knows the format, not the classes: ``Network.save`` and
``Network.load`` call it (the reader builds the class it is given), and
``fastnet.checkpoints`` holds ``save_checkpoint`` / ``load_checkpoint``.

Safety: files are read with ``np.load(allow_pickle=False)`` only, so loading
an untrusted file never runs code; every array's name, shape, dtype and
values are checked against the header before a network is built.  Files are
written atomically (``files.atomic_write``).  Any problem raises
``ModelFileError`` naming the file and what is wrong.
"""
from __future__ import annotations

import json
import math
import numbers
import os
import zipfile
import zlib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np
from numpy.typing import NDArray

from .._version import __version__
from ..checks import DTYPES
from .outputs import atomic_write, checked_path
from .npz_entries import EMPTY_ZIP, ZIP_MAGIC, Entry, NotAnArchive, read_entries, what_it_is
from ..optim import SECONDS_KEYS, Optimizer
from ..schedules import describe_schedule, make_schedule
from ..standardize import Standardize

if TYPE_CHECKING:  # network imports this module; the reader builds the class it is given
    from ..network import Network

N = TypeVar("N", bound="Network")  # the class that read_model_file builds

FORMAT_VERSION = 1
MODEL, CHECKPOINT = "fastnet-model", "fastnet-checkpoint"
HEADER = "header"
MAX_HEADER_BYTES = 1 << 24  # the JSON header: 4 M characters is far beyond any real one


class ModelFileError(ValueError):
    """A model or checkpoint file is truncated, corrupt, from a newer format
    version, or inconsistent.  ``path`` and ``problem`` hold the two halves of
    the message."""

    def __init__(self, path: str | os.PathLike[str], problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = str(path)
        self.problem = problem


# ------------------------------------------------------------------- writing
def save_model(net: Network, path: str | os.PathLike[str]) -> None:
    """Write ``net`` to ``path`` as a fastnet model file (atomically); ``net.save(path)``."""
    _write(path, _header(MODEL, net), {**_layer_arrays(net, "", net.weights, net.biases),
                                       **_standardize_arrays(net)})


def write_checkpoint(net: Network, optimizer: Optimizer, path: str | os.PathLike[str]) -> None:
    """Write ``net`` and the run state of ``optimizer`` (checked by
    ``fastnet.save_checkpoint``) to ``path`` as a checkpoint (atomically).

    A schedule must be one of ``fastnet.schedules`` (a custom callable cannot be stored).
    """
    hyperparameters = optimizer.hyperparameters()
    if "schedule" in hyperparameters:
        schedule = describe_schedule(hyperparameters["schedule"])
        if schedule is None:
            raise ValueError(f"optimizer.schedule: {hyperparameters['schedule']!r} is a custom callable, "
                             "which a checkpoint cannot store; use a schedule from fastnet.schedules "
                             "(constant, step, exponential, cosine, plateau)")
        hyperparameters["schedule"] = schedule
    arrays = {**_layer_arrays(net, "", net.weights, net.biases), **_standardize_arrays(net)}
    state = {key: array for key, array in optimizer.state_arrays().items() if array is not None}
    for key, array in state.items():
        arrays.update(_layer_arrays(net, f"{key}_", *net.split_parameters(array)))
    if optimizer.best_weights is not None:
        arrays.update(_layer_arrays(net, "best_", *net.split_parameters(optimizer.best_weights)))
    header = _header(CHECKPOINT, net)
    header["optimizer"] = {
        "name": optimizer.name,
        "hyperparameters": hyperparameters,
        "epoch": optimizer.epoch,
        "history": {key: [float(v) for v in optimizer.history[key]] for key in optimizer.history_keys},
        "best_epoch": optimizer.best_epoch,
        "stop_reason": optimizer.stop_reason,
        "stall": optimizer.stall,
        "state_values": optimizer.state_values(),
        "state_arrays": sorted(state),
        "best_weights": optimizer.best_weights is not None,
    }
    _write(path, header, arrays)


def _header(kind: str, net: Network) -> dict[str, Any]:
    l2, l1, n = net.regularisation
    header: dict[str, Any] = {"format": kind, "format_version": FORMAT_VERSION, "fastnet_version": __version__,
            "network": {"sizes": list(net.sizes), "activations": list(net.activations),
                        "output": net.output, "cost": net.cost_name, "init": net.init,
                        "dtype": net.dtype.name, "seed": net.seed,
                        "epochs_trained": net.epochs_trained,
                        "regularisation": {"l2": l2, "l1": l1, "n": n}}}
    if net.standardize is not None:
        header["standardize"] = True
    if net.classes is not None:
        header["classes"] = _checked_classes(net.classes, net.sizes[-1])
    return header


def _checked_classes(given: Sequence[Any], n_out: int) -> list[int | str]:
    classes = [value.item() if isinstance(value, np.generic) else value for value in given]
    problem = _classes_problem(classes, n_out)
    if problem:
        raise ValueError(f"net.classes: {problem}, got {given!r}; pass such a list or None")
    return classes


def _classes_problem(classes: list[Any], n_out: int) -> str | None:
    """Why ``classes`` cannot label ``n_out`` output units (a phrase), or None."""
    if len(classes) != n_out or not all(
            isinstance(c, str) or (isinstance(c, int) and not isinstance(c, bool)) for c in classes):
        return f"expected {n_out} labels (integers or strings), one per output unit"
    texts = [str(c) for c in classes]
    repeated = sorted({text for text in texts if texts.count(text) > 1})
    if repeated:
        return (f"expected {n_out} different labels, one per output unit, but "
                f"{', '.join(map(repr, repeated))} is there more than once")
    return None


def _standardize_arrays(net: Network) -> dict[str, NDArray]:
    """{"standardize_mean": (n_in,), "standardize_std": (n_in,)} if ``net.standardize`` is set."""
    scaling = getattr(net, "standardize", None)
    if scaling is None:
        return {}
    if not isinstance(scaling, Standardize) or scaling.mean.shape != (net.sizes[0],):
        raise ValueError(f"net.standardize: expected None or a fastnet.standardize.Standardize "
                         f"of {net.sizes[0]} features, got {scaling!r}")
    return {"standardize_mean": scaling.mean, "standardize_std": scaling.std}


def _layer_arrays(net: Network, prefix: str, weights: Sequence[NDArray],
                  biases: Sequence[NDArray]) -> dict[str, NDArray]:
    """{prefix + "weights_l": (n_in, n_out), prefix + "biases_l": (n_out,)} for every layer."""
    arrays = {}
    for l, (W, b) in enumerate(zip(weights, biases)):
        arrays[f"{prefix}weights_{l}"] = np.ascontiguousarray(W, dtype=net.dtype)
        arrays[f"{prefix}biases_{l}"] = np.ascontiguousarray(b, dtype=net.dtype)
    return arrays


def _write(path: str | os.PathLike[str], header: dict[str, Any], arrays: dict[str, NDArray]) -> None:
    with atomic_write(checked_path("path", path)) as handle:
        entries: dict[str, Any] = {HEADER: np.array(json.dumps(header)), **arrays}  # np.savez's keywords
        np.savez(handle, **entries)


# ------------------------------------------------------------------- reading
def read_model_file(path: str | os.PathLike[str], network: type[N],
                    kinds: Sequence[str] = (MODEL, CHECKPOINT)) -> tuple[N, Optimizer | None, dict[str, Any]]:
    """``(net, optimizer or None, header dict)`` from a model file or checkpoint;
    ``net`` is built by ``network`` (``fastnet.Network`` or a subclass).

    ``kinds`` lists the formats accepted ("fastnet-model", "fastnet-checkpoint").
    Raises ``ModelFileError`` for anything but a complete, consistent file;
    ``OSError`` (e.g. FileNotFoundError) if it cannot be opened.
    """
    path = checked_path("path", path)
    archive, arrays = _read_arrays(path)
    with archive:
        reader = _HeaderReader(path, _parse_header(path, arrays, kinds))
        net = _network(reader, arrays, network)
        net.standardize = _standardize(reader, arrays, net.sizes[0])
        net.classes = _classes(reader, net.sizes[-1])
        optimizer = None
        if reader.header["format"] == CHECKPOINT:
            optimizer = _optimizer(reader, arrays, net)
    if arrays:
        raise ModelFileError(path, "holds entries fastnet does not write: "
                                   + ", ".join(sorted(arrays)))
    return net, optimizer, reader.header


def _read_arrays(path: Path) -> tuple[zipfile.ZipFile, dict[str, Entry]]:
    """(open zip archive, every array in the .npz at ``path`` by name as an
    ``npz_entries.Entry``): declared shape and dtype known, data read only once
    they are checked."""
    with open(path, "rb") as handle:
        start = handle.read(8)
    if not (start.startswith(ZIP_MAGIC) or start.startswith(EMPTY_ZIP)):
        raise ModelFileError(path, what_it_is(start))
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, zlib.error, OSError, EOFError):
        raise ModelFileError(path, what_it_is(start) if start.startswith(ZIP_MAGIC)
                             else "is an empty .npz archive") from None
    try:
        return archive, read_entries(archive)
    except NotAnArchive as error:
        archive.close()
        raise ModelFileError(path, str(error)) from None


def _read_entry(path: Path, entry: Entry) -> NDArray:
    """The data of a checked ``Entry``; ModelFileError if it cannot be read."""
    try:
        return entry.read()
    except (ValueError, EOFError, zlib.error, zipfile.BadZipFile, OSError) as error:
        raise ModelFileError(path, f"its entry {entry.member!r} is corrupt ({error})") from None


def _parse_header(path: Path, arrays: dict[str, Entry], kinds: Sequence[str]) -> dict[str, Any]:
    """The header dict, after checking its format and version."""
    if HEADER not in arrays:
        raise ModelFileError(path, f"has no {HEADER!r} entry, so it is not a fastnet model file "
                                   f"(it holds {', '.join(sorted(arrays)) or 'nothing'})")
    entry = arrays.pop(HEADER)
    if entry.shape != () or entry.dtype.kind != "U" or entry.dtype.itemsize > MAX_HEADER_BYTES:
        raise ModelFileError(path, f"the header is a {entry.dtype} array of shape {entry.shape}, "
                                   "not the JSON text fastnet writes")
    raw = _read_entry(path, entry)
    try:
        header = json.loads(str(raw[()]))
    except json.JSONDecodeError as error:
        raise ModelFileError(path, f"the header is not valid JSON ({error})") from None
    if not isinstance(header, dict) or header.get("format") not in (MODEL, CHECKPOINT):
        found = header.get("format") if isinstance(header, dict) else header
        raise ModelFileError(path, f"the header's format is {found!r}; expected {MODEL!r} "
                                   f"or {CHECKPOINT!r}")
    version = header.get("format_version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise ModelFileError(path, f"the header's format_version is {version!r}; expected a "
                                   "positive integer")
    if version > FORMAT_VERSION:
        raise ModelFileError(path, f"was written by fastnet {header.get('fastnet_version', '?')} "
                                   f"in format version {version}; this fastnet ({__version__}) "
                                   f"reads format version {FORMAT_VERSION}; upgrade fastnet")
    if header["format"] not in kinds:
        raise ModelFileError(path, "is a model file, not a checkpoint: it holds no optimizer "
                                   "state to resume from; pass a checkpoint (e.g. "
                                   "checkpoint-last.npz in a run folder)")
    return header


FIELD_KINDS: dict[str, tuple[Callable[[Any], bool], str]] = {
    "count": (lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 0,
              "a non-negative integer"),
    "number": (lambda v: isinstance(v, numbers.Real) and not isinstance(v, bool)
               and math.isfinite(v), "a finite number"),
    "str": (lambda v: isinstance(v, str), "a string"),
    "bool": (lambda v: isinstance(v, bool), "true or false"),
    "list": (lambda v: isinstance(v, list), "a list"),
    "dict": (lambda v: isinstance(v, dict), "an object"),
}


def is_kind(kind: str, value: Any) -> bool:
    """Whether a JSON value is of ``kind`` (a key of ``FIELD_KINDS``)."""
    return FIELD_KINDS[kind][0](value)


class _HeaderReader:
    """Typed access to header fields; a missing or mistyped field is a ``ModelFileError``."""

    def __init__(self, path: Path, header: dict[str, Any]) -> None:
        self.path, self.header = path, header

    def error(self, problem: str) -> ModelFileError:
        return ModelFileError(self.path, problem)

    def get(self, mapping: dict[str, Any], key: str, kind: str, where: str, optional: bool = False) -> Any:
        """mapping[key], checked to be of ``kind``, a key of ``FIELD_KINDS``."""
        if key not in mapping:
            raise self.error(f"the header's {where} has no {key!r} entry")
        value = mapping[key]
        if value is None and optional:
            return None
        if not is_kind(kind, value):
            raise self.error(f"the header's {where}.{key} is {value!r}; expected "
                             f"{FIELD_KINDS[kind][1]}" + (" or null" if optional else ""))
        return value

    def array(self, arrays: dict[str, Entry], name: str, shape: tuple[int, ...], dtype: np.dtype) -> NDArray:
        """arrays.pop(name), checked for shape, dtype and finite values."""
        if name not in arrays:
            raise self.error(f"has no {name!r} array, which the header's network needs")
        entry = arrays.pop(name)
        if entry.shape != shape or entry.dtype != dtype:  # before reading: no bombs
            raise self.error(f"{name} is {entry.dtype} of shape {entry.shape}; the header's "
                             f"network needs {dtype} of shape {shape}")
        array = _read_entry(self.path, entry)
        if not np.isfinite(array).all():
            raise self.error(f"{name} holds NaN or infinite values")
        return array

    def layers(self, arrays: dict[str, Entry], prefix: str, sizes: Sequence[int],
               dtype: np.dtype) -> tuple[list[NDArray], list[NDArray]]:
        """Per-layer (weights, biases) lists named with ``prefix``."""
        pairs = list(zip(sizes[:-1], sizes[1:]))
        weights = [self.array(arrays, f"{prefix}weights_{l}", (n_in, n_out), dtype)
                   for l, (n_in, n_out) in enumerate(pairs)]
        biases = [self.array(arrays, f"{prefix}biases_{l}", (n_out,), dtype)
                  for l, (_, n_out) in enumerate(pairs)]
        return weights, biases


def _network(reader: _HeaderReader, arrays: dict[str, Entry], network: type[N]) -> N:
    """The ``network`` (a class) described by the header, with the file's weights."""
    spec = reader.get(reader.header, "network", "dict", "header")
    sizes = reader.get(spec, "sizes", "list", "network")
    if len(sizes) < 2 or not all(isinstance(s, int) and not isinstance(s, bool) and s > 0
                                 for s in sizes):
        raise reader.error(f"the header's network.sizes is {sizes!r}; expected two or more "
                           "positive integers")
    dtype = reader.get(spec, "dtype", "str", "network")
    if dtype not in DTYPES:
        raise reader.error(f"the header's network.dtype is {dtype!r}; expected 'float32' "
                           "or 'float64'")
    # Check the arrays against the header before allocating a network of that size.
    weights, biases = reader.layers(arrays, "", sizes, np.dtype(dtype))
    regularisation = reader.get(spec, "regularisation", "dict", "network")
    try:
        net = network(sizes, activation=reader.get(spec, "activations", "list", "network"),
                      output=reader.get(spec, "output", "str", "network"),
                      cost=reader.get(spec, "cost", "str", "network"),
                      init=reader.get(spec, "init", "str", "network"), dtype=dtype,
                      seed=reader.get(spec, "seed", "count", "network"))
    except (TypeError, ValueError) as error:
        raise reader.error(f"the header describes no valid network: {error}") from None
    net.set_parameters(weights, biases)
    net.epochs_trained = reader.get(spec, "epochs_trained", "count", "network")
    net.regularisation = (reader.get(regularisation, "l2", "number", "network.regularisation"),
                          reader.get(regularisation, "l1", "number", "network.regularisation"),
                          reader.get(regularisation, "n", "count", "network.regularisation"))
    return net


def _standardize(reader: _HeaderReader, arrays: dict[str, Entry], n_in: int) -> Standardize | None:
    """The optional input standardization: a ``Standardize`` or None."""
    if "standardize" not in reader.header or not reader.get(reader.header, "standardize",
                                                             "bool", "header"):
        return None
    mean = reader.array(arrays, "standardize_mean", (n_in,), np.dtype(np.float64))
    std = reader.array(arrays, "standardize_std", (n_in,), np.dtype(np.float64))
    if (std <= 0).any():
        raise reader.error("standardize_std holds zero or negative values; expected positive "
                           "standard deviations")
    return Standardize(mean, std)


def _classes(reader: _HeaderReader, n_out: int) -> list[int | str] | None:
    """The optional labels of the output units: a list or None."""
    if "classes" not in reader.header:
        return None
    classes = reader.get(reader.header, "classes", "list", "header")
    problem = _classes_problem(classes, n_out)
    if problem:
        raise reader.error(f"the header's classes is {classes!r}; {problem}")
    return classes


def _optimizer(reader: _HeaderReader, arrays: dict[str, Entry], net: Network) -> Optimizer:
    """The optimizer of a checkpoint, with its run state, for ``net``."""
    state = reader.get(reader.header, "optimizer", "dict", "header")
    # fastnet 0.1's checkpoints hold an SGD and name no optimizer
    name = reader.get(state, "name", "str", "optimizer") if "name" in state else "sgd"
    if name not in Optimizer.registry:
        raise reader.error(f"the header's optimizer.name is {name!r}; this fastnet knows "
                           f"{', '.join(map(repr, sorted(Optimizer.registry)))}")
    settings = dict(reader.get(state, "hyperparameters", "dict", "optimizer"))
    try:
        if "schedule" in settings:
            settings["schedule"] = make_schedule(reader.get(settings, "schedule", "dict",
                                                            "optimizer.hyperparameters"))
        optimizer = Optimizer.registry[name](**settings)
    except (TypeError, ValueError) as error:
        raise reader.error("the header's optimizer.hyperparameters are not valid: "
                           f"{error}") from None
    optimizer.epoch = reader.get(state, "epoch", "count", "optimizer")
    history = reader.get(state, "history", "dict", "optimizer")
    if sorted(set(history) | set(SECONDS_KEYS[1:])) != sorted(optimizer.history_keys):  # older: no clock
        raise reader.error(f"the header's optimizer.history has keys {sorted(history)}; "
                           f"expected {sorted(optimizer.history_keys)}")
    for key in optimizer.history_keys:
        values = reader.get(history, key, "list", "optimizer.history") if key in history else []
        if not all(is_kind("number", value) for value in values):
            raise reader.error(f"the header's optimizer.history.{key} holds something other "
                               "than finite numbers")
        expected = (optimizer.epoch,) if key == "epoch_seconds" else (0, optimizer.epoch)
        if len(values) not in expected:
            raise reader.error(f"the header's optimizer.history.{key} has {len(values)} entries "
                               f"for {optimizer.epoch} epochs")
        optimizer.history[key] = list(values)
    optimizer.best_epoch = reader.get(state, "best_epoch", "count", "optimizer", optional=True)
    optimizer.stop_reason = reader.get(state, "stop_reason", "str", "optimizer", optional=True)
    if state.get("stall") is not None:  # absent in files of fastnet 0.1
        stall = reader.get(state, "stall", "dict", "optimizer")
        reader.get(stall, "message", "str", "optimizer.stall")
        optimizer.stall = stall
    if "state_arrays" in state:
        names = reader.get(state, "state_arrays", "list", "optimizer")
    else:  # fastnet 0.1 wrote {"velocity": true/false}
        names = ["velocity"] if reader.get(state, "velocity", "bool", "optimizer") else []
    if not all(isinstance(key, str) and key.isidentifier() for key in names):
        raise reader.error(f"the header's optimizer.state_arrays is {names!r}; expected names")
    state_arrays = {key: net.join_parameters(*reader.layers(arrays, f"{key}_", net.sizes, net.dtype))
                    for key in names}
    optimizer.set_state(reader.get(state, "state_values", "dict", "optimizer") if "state_values" in state
                        else {}, state_arrays)
    if reader.get(state, "best_weights", "bool", "optimizer"):
        optimizer.best_weights = net.join_parameters(
            *reader.layers(arrays, "best_", net.sizes, net.dtype))
    if (optimizer.best_epoch is None) != (optimizer.best_weights is None):
        raise reader.error("the header's optimizer.best_epoch and its best_* arrays disagree: "
                           "one is there without the other")
    return optimizer
