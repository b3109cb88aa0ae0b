"""Sweeps: many training runs as independent tasks on dask.distributed.

``sweep(recipe, grid=..., seeds=...)`` plans one run per grid point and seed
(or ``samples`` random points), trains each as a task that does what
``fastnet train`` with those flags would do, into its own run folder
``OUT/runs/<key>/``, and collects one row per run in ``OUT/results.json`` and
``OUT/results.csv``.

* The key is a hash of the full recipe (every setting but the preset's name)
  and the data path, so re-running a sweep skips the runs it finished and a
  changed grid trains only what is new.
* fastnet, not the scheduler, keeps the results: the client rewrites both
  result files atomically as each run finishes, and each task also leaves its
  row in its run folder (``result.json``), so a sweep whose client died
  loses nothing either.
* A worker lost mid-run (killed, out of memory) has its task rerun elsewhere
  by the scheduler; the rerun continues the run folder from its last epoch.
  A run that raises (``DivergenceError`` at a large eta) is recorded as
  failed with its message, and the sweep goes on.
* Workers load the data once each (a path, read into a per-process cache),
  not once per task.

Settings are named as ``fastnet train``'s flags (``batch_size`` or
``batch-size``).  Values are lists (``eta=0.025,0.25,2.5``;
``hidden=100/30,30``, as sizes contain commas) or, for random search, ranges
(``hidden=int:30:800`` draws one hidden layer's width):
``log:LOW:HIGH`` (log-uniform), ``float:LOW:HIGH`` (uniform),
``int:LOW:HIGH`` (uniform integer, both ends included).
"""
import argparse
import asyncio
import concurrent.futures
import contextlib
import csv
import dataclasses
import functools
import hashlib
import io
import json
import logging
import math
import os
import re
import socket
import time
from pathlib import Path

import numpy as np

try:
    import fcntl
except ImportError:  # Windows: no advisory locks; the results files are not guarded there
    fcntl = None

from .checks import cores
from .files.outputs import FOLDER, OutputKind, atomic_write
from .data.table import is_table
from .presets import DEFAULT_PRESET, PRESETS
from .recipe import Recipe
from .runs import LAST, MODEL, RECIPE, RunFolder

RESULT = "result.json"                    # a finished task's row, in its run folder
RESULTS_JSON, RESULTS_CSV, RUNS = "results.json", "results.csv", "runs"
OUTPUTS = {  # what a sweep writes in its out folder, each of the kind it writes (files.check_own)
    RESULTS_JSON: OutputKind("the results of a fastnet sweep", rb'\{\s*"rows"\s*:'),
    RESULTS_CSV: OutputKind("the results table of a fastnet sweep", rb"key,status[,\r\n]"),
    RUNS: FOLDER}
RANGE_KINDS = ("log", "float", "int")
OUTCOME = ("best_validation_accuracy", "best_epoch", "test_accuracy", "final_training_cost",
           "epochs_run", "stop_reason", "seconds", "worker", "error")
EXTRA = "pip install 'fastnet[sweep]'"
TUPLES = ("sizes", "activation", "hidden", "split")   # settings whose values are lists


class DistributedMissing(ImportError):
    """dask.distributed, the optional ``sweep`` extra, is not installed."""


def require_distributed():
    """The ``distributed`` module, or ``DistributedMissing`` saying how to install it."""
    try:
        import distributed
    except ImportError as error:
        raise DistributedMissing(f"sweeps and tuning run on dask.distributed, which is not "
                                 f"installed; install the sweep extra: {EXTRA}") from error
    return distributed


# ---------------------------------------------------------------- settings
@dataclasses.dataclass(frozen=True)
class Range:
    """A random-search range: ``kind`` log, float or int, from ``low`` to ``high``."""
    kind: str
    low: float
    high: float

    def draw(self, rng):
        """One value: floats rounded to 3 significant digits, ints with both ends included."""
        if self.kind == "int":
            return int(rng.integers(self.low, self.high + 1))
        if self.kind == "log":
            value = math.exp(rng.uniform(math.log(self.low), math.log(self.high)))
        else:
            value = rng.uniform(self.low, self.high)
        return float(f"{value:.3g}")

    def __str__(self):
        return f"{self.kind}:{self.low:g}:{self.high:g}"


@functools.lru_cache(maxsize=1)
def _train_flags():
    """``fastnet train``'s argparse actions of the recipe settings, by name."""
    from . import cli
    holder = argparse.ArgumentParser(add_help=False).add_subparsers()
    cli._add_train(holder)
    actions = {action.dest: action for action in holder.choices["train"]._actions}
    return {name: actions[name] for name in cli.RECIPE_FLAGS if name in actions}


def setting_names():
    """Every name a sweep can vary: the train flags' recipe settings."""
    return sorted(set(_train_flags()) - {"seed"})


def _name(name):
    """The canonical setting name for ``name`` (flag spelling allowed)."""
    if not isinstance(name, str):
        raise TypeError(f"grid: expected setting names as text, got {name!r}")
    canonical = name.strip().lstrip("-").replace("-", "_")
    if canonical == "seed":
        raise ValueError("grid: seed is not a grid setting; pass seeds=[...] (--seeds 1,2,3)")
    if canonical not in setting_names():
        raise ValueError(f"grid: unknown setting {name!r}; pass one of "
                         f"{', '.join(setting_names())}")
    return canonical


def _kind(name):
    """The Python type a setting's values have (int, float, bool, tuple or str)."""
    if name in TUPLES:
        return tuple
    action = _train_flags()[name]
    if isinstance(action, argparse.BooleanOptionalAction):
        return bool
    return action.type if action.type in (int, float) else str


def convert(name, value):
    """``value`` (text as on the command line, or a Python value) as setting ``name``
    takes it; ValueError / TypeError naming the setting otherwise."""
    name = _name(name)
    kind = _kind(name)
    flag = f"{name}: "
    if isinstance(value, str):
        text = value.strip()
        if kind is bool:
            words = {"true": True, "yes": True, "on": True, "1": True,
                     "false": False, "no": False, "off": False, "0": False}
            if text.lower() not in words:
                raise ValueError(f"{flag}expected true or false, got {value!r}")
            return words[text.lower()]
        action_type = _train_flags()[name].type or str
        try:
            value = action_type(text)
        except (argparse.ArgumentTypeError, ValueError) as error:
            raise ValueError(f"{flag}{value!r} is not a valid value ({error}); pass it as "
                             f"`fastnet train --{name.replace('_', '-')}` takes it") from None
    elif kind is bool:
        if not isinstance(value, (bool, np.bool_)):
            raise TypeError(f"{flag}expected True or False, got {value!r}")
        value = bool(value)
    elif kind is int:
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            raise TypeError(f"{flag}expected an integer, got {value!r}")
        value = int(value)
    elif kind is float:
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
            raise TypeError(f"{flag}expected a number, got {value!r}")
        value = float(value)
    elif kind is tuple:  # an int for hidden (a draw from int:LOW:HIGH): one hidden layer
        value = tuple(value) if isinstance(value, (list, tuple)) else (value,)
    else:
        raise TypeError(f"{flag}expected text, got {value!r}")
    choices = _train_flags()[name].choices
    if choices and value not in choices:
        raise ValueError(f"{flag}expected one of {', '.join(map(str, choices))}, got {value!r}")
    return value


def parse_axis(text):
    """``'name=v1,v2,...'`` or ``'name=KIND:LOW:HIGH'`` as ``(name, list or Range)``."""
    if not isinstance(text, str):
        raise TypeError(f"grid: expected text such as 'eta=0.025,0.25,2.5', got {text!r}")
    name, equals, values = text.partition("=")
    if not equals or not values.strip():
        raise ValueError(f"grid: {text!r} is not name=values; write e.g. 'eta=0.025,0.25,2.5' "
                         "or 'eta=log:0.01:3'")
    return axis(name, values)


def axis(name, values):
    """A grid axis from a name and values: a list (or comma-separated text) of values,
    a ``Range`` or range text ``KIND:LOW:HIGH``; returns ``(name, list or Range)``."""
    name = _name(name)
    if isinstance(values, str) and values.strip().split(":")[0] in RANGE_KINDS:
        return name, _parse_range(name, values.strip())
    if isinstance(values, Range):
        return name, _check_range(name, values)
    if isinstance(values, str):  # sizes, hidden, split contain commas: values separated by '/'
        items = values.split("/") if name in ("sizes", "hidden", "split") else values.split(",")
    elif isinstance(values, (list, tuple)):
        items = list(values)
    else:
        items = [values]
    if not items or any(isinstance(item, str) and not item.strip() for item in items):
        raise ValueError(f"{name}: expected a non-empty list of values, got {values!r}")
    converted = []
    for item in items:
        value = convert(name, item)
        if value not in converted:
            converted.append(value)
    return name, converted


def _parse_range(name, text):
    parts = text.split(":")
    if len(parts) != 3:
        raise ValueError(f"{name}: range {text!r} is not KIND:LOW:HIGH; write e.g. log:0.01:3")
    try:
        low, high = float(parts[1]), float(parts[2])
    except ValueError:
        raise ValueError(f"{name}: range {text!r} has bounds that are not numbers; "
                         "write e.g. log:0.01:3") from None
    return _check_range(name, Range(parts[0], low, high))


def _check_range(name, spec):
    kind = int if name == "hidden" else _kind(name)  # hidden=int:30:800: one layer
    if spec.kind not in RANGE_KINDS:
        raise ValueError(f"{name}: range kind {spec.kind!r} is unknown; use one of "
                         f"{', '.join(RANGE_KINDS)}")
    if kind not in (int, float) or (kind is int) != (spec.kind == "int"):
        wanted = "int:LOW:HIGH" if kind is int else "log:LOW:HIGH or float:LOW:HIGH" \
            if kind is float else "a list of values"
        raise ValueError(f"{name}: {spec.kind} ranges do not fit this setting; pass {wanted}")
    if not (math.isfinite(spec.low) and math.isfinite(spec.high)) or spec.low > spec.high:
        raise ValueError(f"{name}: range {spec} needs finite LOW <= HIGH")
    if spec.kind == "log" and spec.low <= 0:
        raise ValueError(f"{name}: log range {spec} needs LOW > 0; use float:LOW:HIGH to include 0")
    if spec.kind == "int" and (spec.low != int(spec.low) or spec.high != int(spec.high)):
        raise ValueError(f"{name}: int range {spec} needs integer bounds")
    return spec


def points(grid, samples=None, seed=0):
    """The grid's points (dicts of setting values): every combination, or with
    ``samples`` that many random draws (lists as choices, ranges sampled).

    Draws come from ``np.random.default_rng(seed)`` one point after another,
    so a larger ``samples`` keeps the earlier points (and their runs)."""
    axes = [entry if isinstance(entry, tuple) else parse_axis(entry) for entry in _axes(grid)]
    names = [name for name, _ in axes]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise ValueError(f"grid: {', '.join(repeated)} given more than once; give each setting once")
    if samples is None:
        ranges = [name for name, values in axes if isinstance(values, Range)]
        if ranges:
            raise ValueError(f"grid: {', '.join(ranges)} is a range, which only random search "
                             "draws from; pass samples=N (--random N) or list the values")
        combos = [{}]
        for name, values in axes:
            combos = [{**combo, name: value} for combo in combos for value in values]
        return combos
    if isinstance(samples, bool) or not isinstance(samples, int) or samples < 1:
        raise ValueError(f"samples: expected a positive number of random points, got {samples!r}")
    rng = np.random.default_rng(seed)
    return [{name: values.draw(rng) if isinstance(values, Range)
             else values[int(rng.integers(len(values)))] for name, values in axes}
            for _ in range(samples)]


def _axes(grid):
    """Grid entries as a list: a dict {name: values} becomes (name, values) axes."""
    if grid is None:
        return []
    if isinstance(grid, dict):
        return [axis(name, values) for name, values in grid.items()]
    if isinstance(grid, str):
        return [grid]
    if isinstance(grid, (list, tuple)):
        return list(grid)
    raise TypeError(f"grid: expected a dict {{name: values}} or a list of 'name=values' texts, "
                    f"got {type(grid).__name__}")


def parse_seeds(seeds):
    """A list of distinct non-negative seeds from ints or text such as '1,2,3'."""
    items = seeds.split(",") if isinstance(seeds, str) else [seeds] if isinstance(seeds, int) \
        else list(seeds) if isinstance(seeds, (list, tuple, range)) else None
    if not items:
        raise ValueError(f"seeds: expected a non-empty list of seeds such as 1,2,3, got {seeds!r}")
    result = []
    for item in items:
        try:
            seed = int(item.strip()) if isinstance(item, str) else item
        except ValueError:
            seed = None
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise ValueError(f"seeds: {item!r} is not a non-negative integer; pass e.g. 1,2,3")
        if int(seed) not in result:
            result.append(int(seed))
    return result


# ------------------------------------------------------------------- plan
def base_recipe(recipe=None, **settings):
    """The recipe a sweep starts from: a ``Recipe``, a preset name or None (the
    default preset), with ``settings`` (train flag values) laid over it."""
    if recipe is None or isinstance(recipe, str):
        name = recipe or DEFAULT_PRESET
        if name not in PRESETS:
            raise ValueError(f"recipe: unknown preset {name!r}; pass a Recipe or one of "
                             f"{', '.join(PRESETS)}")
        recipe = Recipe.from_dict({**PRESETS[name].settings, "preset": name})
    elif not isinstance(recipe, Recipe):
        raise TypeError(f"recipe: expected a fastnet.recipe.Recipe or a preset name, got {recipe!r}")
    changes = {"seed" if name == "seed" else _name(name):
               value if name == "seed" else convert(name, value)
               for name, value in settings.items() if value is not None}
    return apply(recipe, changes)


def apply(recipe, changes):
    """``recipe`` with settings changed as ``fastnet train`` flags would change it
    (``early_stopping`` 0 means never; an int ``hidden`` is one hidden layer)."""
    changes = {name: (value,) if name == "hidden" and isinstance(value, int) else value
               for name, value in changes.items()}
    if changes.get("early_stopping") == 0:
        changes["early_stopping"] = None
    recipe = recipe.replace(**changes)
    floats = {field.name: float(getattr(recipe, field.name)) for field in dataclasses.fields(recipe)
              if field.type is float}
    return recipe.replace(**floats)


KEYED_WHEN_SET = ("header",)  # settings newer than 0.2's keys: part of a key only when not None


def run_key(recipe, data):
    """16 hex digits of SHA-256 of the recipe (all but the preset's name) and the data path.
    A setting of ``KEYED_WHEN_SET`` left at None is left out, so that the runs of an earlier
    version's sweep keep their keys."""
    settings = {name: value for name, value in apply(recipe, {}).to_dict().items()
                if name != "preset" and not (name in KEYED_WHEN_SET and value is None)}
    text = json.dumps({"recipe": settings, "data": data}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def plan(recipe, grid=None, seeds=(0,), samples=None, data=None, out="runs/sweep"):
    """One task per point and seed: dicts with key, label, settings, recipe, data, folder.

    Every recipe is checked before anything runs, so a bad value stops the
    sweep before it starts.  On a table (data that is not MNIST) every run has
    MNIST's augmentations ``expand`` and ``distort`` off, and a grid that varies
    them is refused."""
    tasks, keys, grid_points = [], set(), points(grid, samples)
    if data is not None and is_table(data):
        varied = [name for name in ("expand", "distort") if any(name in point for point in grid_points)]
        if varied:
            raise ValueError(f"{' / '.join(varied)}: work on MNIST's 28 x 28 images only; leave "
                             f"{'it' if len(varied) == 1 else 'them'} out of the grid for {data}")
        recipe = recipe.replace(expand=False, distort=False)  # a preset's, for MNIST only
    for point in grid_points:
        for seed in parse_seeds(seeds):
            task = make_task(apply(recipe, {**point, "seed": seed}), {**point, "seed": seed}, data, out)
            if task["key"] not in keys:
                keys.add(task["key"])
                tasks.append(task)
    return tasks


def make_task(recipe, settings, data, out):
    """The task that trains ``recipe`` (checked here) on ``data`` into OUT/runs/<key>/;
    ``settings`` are the values that set it apart (its label)."""
    recipe.check()
    data = None if data is None else str(Path(data).resolve())
    key = run_key(recipe, data)
    label = " ".join(f"{name}={_text(value)}" for name, value in settings.items())
    return {"key": key, "label": label, "settings": settings, "recipe": recipe.to_dict(),
            "data": data, "folder": str(Path(out).resolve() / RUNS / key)}


def _text(value):
    if isinstance(value, (tuple, list)):
        return ",".join(map(str, value))
    return f"{value:g}" if isinstance(value, float) else str(value)


# ------------------------------------------------------------------- task
@functools.lru_cache(maxsize=2)
def _data(data, dtype, limit, expand, label_column, header, split, standardize, seed):
    """The run's data as ``fastnet train`` reads it (MNIST, or a table split by ``seed``),
    loaded once per worker process for each set of these arguments."""
    from .cli_data import load_run_data
    recipe = Recipe(dtype=dtype, limit=limit, expand=expand, label_column=label_column,
                    header=header, split=split, standardize=standardize, seed=seed)
    return load_run_data(recipe, data)


def run_data(recipe, data):
    """``(recipe fitted to the data, RunData)``: the sizes' ends from the data, the hidden
    layers from ``hidden`` or ``sizes``, MNIST's augmentations off for a table."""
    table = data is not None and is_table(data)
    loaded = _data(data, recipe.dtype, recipe.limit, recipe.expand, recipe.label_column,
                   recipe.header, tuple(recipe.split), recipe.standardize, recipe.seed if table else 0)
    sizes = loaded.recipe.sizes
    hidden = recipe.hidden if recipe.hidden is not None else recipe.sizes[1:-1]
    recipe = recipe.replace(sizes=(sizes[0], *hidden, sizes[-1]))
    return (recipe.replace(expand=False, distort=False) if table else recipe), loaded


def run_task(task, threads=1):
    """Train one planned run as ``fastnet train`` would, in its run folder; return its row.

    A folder that already holds this run's finished row is not touched; one
    with an interrupted attempt (a lost worker) is continued from its last
    checkpoint.  Anything the run raises is caught and reported in the row
    (``status`` "failed", ``error``).  ``threads``: Numba threads for the run.
    """
    folder = RunFolder(task["folder"])
    finished = _finished(folder, task)
    if finished is not None:
        return finished
    _lock(folder.make())
    try:
        finished = _finished(folder, task)  # trained meanwhile by a copy of this task
        if finished is not None:
            return finished
        (folder / RESULT).unlink(missing_ok=True)  # the row of a failed attempt
        if threads:
            import numba
            numba.set_num_threads(max(1, min(threads, numba.config.NUMBA_NUM_THREADS)))
        began = time.perf_counter()
        row = {"key": task["key"], "label": task["label"], "status": "done",
               **{name: None for name in OUTCOME}, "compile_seconds": 0.0}
        try:
            row.update(train(Recipe.from_dict(task["recipe"]), task["data"], folder))
        except Exception as error:  # a failed run is a result too; the sweep goes on
            row.update(status="failed", error=f"{type(error).__name__}: {error}")
        seconds = time.perf_counter() - began - row.pop("compile_seconds")
        row.update(seconds=round(seconds, 3), worker=_worker())
        _write_json(folder / RESULT, row)
        return row
    finally:
        folder.unlock()


def _finished(folder, task):
    row = read_result(folder.path)
    return row if row is not None and row.get("key") == task["key"] and row["status"] == "done" \
        else None


def _lock(folder):
    """Take the run folder's lock, waiting while another process holds it: dask may,
    rarely, run one task twice at once (a worker thought lost that was not)."""
    while True:
        try:
            return folder.lock()
        except ValueError:
            time.sleep(1.0)


def train(recipe, data, folder):
    """Train ``recipe`` on ``data`` in the locked ``folder`` (continuing an interrupted
    attempt) and return its scores: what ``fastnet train --quiet`` does, without printing."""
    from .cli_checks import announce_compilation, check_data_fits
    from .network import Network
    from .files.pictures import MatplotlibMissing

    recipe, loaded = run_data(recipe, data)
    (X, y), validation, test = loaded.parts
    if (folder / RECIPE).is_file() and (folder / LAST).is_file():
        _, _, net, optimizer = folder.load_run()
    else:
        net, optimizer = recipe.network(), recipe.optimizer()
        net.standardize, net.classes = loaded.standardize, loaded.classes
        check_data_fits(net, (X, y), validation, test)
        folder.start(recipe, data, net, optimizer)
    compile_seconds = 0.0
    if optimizer.epoch < recipe.epochs:  # compile (or load) the kernels, off the run's clock
        with contextlib.redirect_stdout(io.StringIO()):
            compile_seconds = announce_compilation(net, optimizer, X, y)
    augment = recipe.augmenter()
    try:
        net.fit(X, y, recipe.epochs, validation=validation, optimizer=optimizer, augment=augment,
                callback=lambda net, optimizer: folder.save_epoch(net, optimizer))
    finally:
        if augment is not None:
            augment.close()
    history = optimizer.history
    _, test_accuracy = Network.load(folder / MODEL).evaluate(*test)
    with contextlib.suppress(MatplotlibMissing):
        folder.plot(history, title=f"fastnet sweep run {folder.path.name}")
    return {"best_validation_accuracy": max(history["validation_accuracy"]),
            "best_epoch": optimizer.best_epoch, "test_accuracy": float(test_accuracy),
            "final_training_cost": history["training_cost"][-1], "epochs_run": optimizer.epoch,
            "stop_reason": optimizer.stop_reason, "history": history,
            "compile_seconds": compile_seconds}


def _worker():
    """The dask worker's address, or this process when not on a worker."""
    try:
        from distributed import get_worker
        return get_worker().address
    except (ImportError, ValueError):
        return f"pid {os.getpid()}"


def read_result(folder):
    """The row in ``folder/result.json``, or None when there is none (or it is unreadable)."""
    try:
        return json.loads((Path(folder) / RESULT).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _write_json(path, record):
    with atomic_write(path, text=True) as handle:
        handle.write(json.dumps(record, indent=1) + "\n")


# ---------------------------------------------------------------- results
class Results:
    """``OUT/results.json`` and ``OUT/results.csv``: one row per run key, rewritten
    atomically whenever a row is added (the JSON rows also hold each run's history).

    Sweeps may share ``OUT``, even at the same time: each added row is merged, under
    a lock on the folder, with the rows the files hold by then."""

    def __init__(self, out):
        self.out = Path(out)
        self.rows = self._read()

    def _read(self):
        """The rows of results.json by key ({} when there is none)."""
        path = self.out / RESULTS_JSON
        if not path.is_file():
            return {}
        try:
            return {row["key"]: row for row in json.loads(path.read_text(encoding="utf-8"))["rows"]}
        except (ValueError, KeyError, TypeError) as error:
            raise ValueError(f"{path}: not a readable sweep result file ({error}); pass "
                             "another out folder or move the file away") from None

    def finished(self, key, retry_failed=False):
        """Whether the run ``key`` needs no training (done; or failed, unless retrying)."""
        row = self.rows.get(key)
        return row is not None and (row["status"] == "done" or not retry_failed)

    def add(self, row, task):
        """Record a run's row (with its settings) and rewrite both files with it, and with
        the rows that another sweep into this folder has written meanwhile."""
        self.out.mkdir(parents=True, exist_ok=True)
        with locked(self.out):
            self.rows = {**self.rows, **self._read(),
                         row["key"]: {**row, "settings": task["settings"], "recipe": task["recipe"],
                                      "folder": task["folder"]}}
            self.write()

    def write(self):
        _write_json(self.out / RESULTS_JSON, {"rows": list(self.rows.values())})
        table = io.StringIO()
        rows = [flat(row) for row in self.rows.values()]
        columns = list(dict.fromkeys(name for row in rows for name in row))
        writer = csv.DictWriter(table, columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        with atomic_write(self.out / RESULTS_CSV, text=True) as handle:
            handle.write(table.getvalue())


@contextlib.contextmanager
def locked(folder):
    """Hold an exclusive lock on ``folder`` during the block, waiting while another
    process (or thread) holds it; no lock file is written (a no-op without fcntl)."""
    if fcntl is None:
        yield
        return
    handle = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield
    finally:
        os.close(handle)


def flat(row):
    """A stored row as one flat record: key, status, every setting, then the outcome."""
    recipe = {name: ",".join(map(str, value)) if isinstance(value, (list, tuple)) else value
              for name, value in row["recipe"].items()}
    return {"key": row["key"], "status": row["status"], **recipe,
            **{name: row.get(name) for name in OUTCOME}, "folder": row["folder"]}


# ------------------------------------------------------------------ client
class SchedulerUnreachable(ConnectionError):
    """No dask scheduler answers at the address given (``scheduler``, ``--scheduler``)."""


@contextlib.contextmanager
def connect(client=None, scheduler=None, workers=None, timeout=None):
    """A dask client: ``client`` itself, one for ``scheduler`` (an address such as
    tcp://host:8786, default $FASTNET_SCHEDULER), or an embedded LocalCluster of
    ``workers`` processes (default and most: one per core), one thread and one Numba
    thread each, on 127.0.0.1 without a dashboard.

    A scheduler is asked who it is first (``check_scheduler``): an address where
    nothing or something else answers raises ``SchedulerUnreachable`` within
    twice ``timeout`` seconds (default dask's ``distributed.comm.timeouts.connect``,
    30 s)."""
    distributed = require_distributed()
    if client is not None:
        yield client
        return
    scheduler = scheduler or os.environ.get("FASTNET_SCHEDULER")
    if scheduler:
        seconds = check_scheduler(scheduler, timeout)
        with distributed.Client(scheduler, timeout=seconds) as connected:
            yield connected
        return
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        raise ValueError(f"workers: expected a positive number of worker processes, got {workers!r}")
    if workers is not None and workers > cores():
        raise ValueError(f"workers: {workers} worker processes, but this process may run on "
                         f"{cores()} cores; pass at most {cores()}: each worker trains on a core "
                         "of its own, and more only wait for the cores (and use their memory)")
    import dask
    single = {f"distributed.nanny.pre-spawn-environ.{name}": "1"
              for name in ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS")}
    with environment_kept() as restore, dask.config.set(single), \
            distributed.LocalCluster(n_workers=workers or cores(), threads_per_worker=1,
                                     processes=True, host="127.0.0.1", dashboard_address=None,
                                     scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},  # not 8787
                                     silence_logs=logging.ERROR) as cluster, \
            distributed.Client(cluster) as connected:
        restore()  # the workers have started with theirs; Numba compiles here need this one's
        yield connected


def check_scheduler(address, timeout=None):
    """Ask ``address`` for its identity in dask's protocol; return the timeout in seconds
    if a dask scheduler answers, else raise ``SchedulerUnreachable`` naming the address
    and what answered there (nothing, a silent peer, one that speaks another protocol,
    a dask worker).  Connecting may take ``timeout`` seconds (default dask's
    ``distributed.comm.timeouts.connect``), the whole check twice that; an address
    that is not one raises ValueError."""
    require_distributed()
    import dask
    from dask.utils import parse_timedelta
    from distributed.comm import CommClosedError, get_address_host_port
    if timeout is None:
        timeout = parse_timedelta(dask.config.get("distributed.comm.timeouts.connect"), default="seconds")
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout > 0:
        raise ValueError(f"timeout: expected a positive number of seconds, got {timeout!r}")
    if not isinstance(address, str):
        raise TypeError(f"scheduler: expected an address such as tcp://HOST:8786, got {address!r}")
    try:
        get_address_host_port(address)
    except ValueError as error:
        raise ValueError(f"scheduler: {address!r} is not a scheduler address ({error}); pass one "
                         "such as tcp://HOST:8786") from None
    instead = "pass the address of a running `dask scheduler`, such as tcp://HOST:8786"
    if address.startswith("tcp://"):  # a closed port fails at once, not after dask's retries
        host, port = get_address_host_port(address)
        try:
            socket.create_connection((host, port), timeout=timeout).close()
        except ConnectionRefusedError:
            raise SchedulerUnreachable(f"scheduler: nothing listens at {address} (connection "
                                       f"refused); {instead}") from None
        except OSError:
            pass  # unreachable or slow: dask's connect below says which, within ``timeout``
    with concurrent.futures.ThreadPoolExecutor(1) as thread:  # an event loop of its own
        try:
            answer = asyncio.wait_for(_identity(address, timeout), 2 * timeout)
            reply = thread.submit(asyncio.run, answer).result()
        except TimeoutError:  # connected (a failed connect ends in OSError after ``timeout``)
            raise SchedulerUnreachable(f"scheduler: {address} accepted the connection but gave no "
                                       f"dask answer within {2 * timeout:g} s, so it is not a dask "
                                       f"scheduler; {instead}") from None
        except CommClosedError:
            raise SchedulerUnreachable(f"scheduler: {address} closed the connection without a dask "
                                       f"handshake, so it is not a dask scheduler; {instead}") from None
        except OSError as error:  # dask's "Timed out trying to connect", caused by the real reason
            reason = re.sub(r"^in <[^>]*>: ", "", str(error.__cause__ or error))
            raise SchedulerUnreachable(f"scheduler: cannot connect to {address} within {timeout:g} s "
                                       f"({reason}); {instead}") from None
        except Exception:  # bytes that are not dask's: a huge frame size, undecodable data, ...
            raise SchedulerUnreachable(f"scheduler: {address} answered, but not in dask's protocol, "
                                       f"so it is not a dask scheduler (an HTTP server, such as "
                                       f"dask's dashboard, answers so); {instead}") from None
    kind = reply.get("type") if isinstance(reply, dict) else None
    if kind != "Scheduler":
        what = f"a dask {kind}" if isinstance(kind, str) else "a dask peer"
        raise SchedulerUnreachable(f"scheduler: {address} is {what}, not a scheduler; {instead}")
    return timeout


async def _identity(address, timeout):
    """The peer's answer to dask's ``identity`` request (``timeout`` seconds to connect)."""
    from distributed.comm import connect as open_comm
    comm = await open_comm(address, timeout=timeout)
    try:
        await comm.write({"op": "identity", "reply": True})
        return await comm.read()
    finally:
        comm.abort()


@contextlib.contextmanager
def environment_kept():
    """Yields ``restore``, which sets this process's environment variables back to
    what they were on entry; called again on exit.

    dask's nannies set their workers' variables (``pre-spawn-environ``: the
    thread counts above, OMP/MKL/OpenBLAS, malloc's) in this process's
    environment to spawn them, and leave them there; with NUMBA_NUM_THREADS
    left at 1, every later Numba compile here would fail once Numba's threads
    had started ("Cannot set NUMBA_NUM_THREADS ... once the threads have been
    launched")."""
    saved = dict(os.environ)

    def restore():
        for name in [name for name in os.environ if name not in saved]:
            del os.environ[name]
        for name, value in saved.items():
            if os.environ.get(name) != value:
                os.environ[name] = value
    try:
        yield restore
    finally:
        restore()


def execute(client, tasks, store, echo=print):
    """Submit ``tasks`` to ``client``, record each row in ``store`` as it finishes, and
    echo a progress line.  Ctrl-C cancels what has not finished (rows kept)."""
    distributed = require_distributed()
    futures = {submit(client, task): task for task in tasks}
    threads = sum(client.nthreads().values()) or 1
    done = failed = 0
    best = None
    try:
        for future in distributed.as_completed(futures):
            row = outcome(future, futures[future])
            store.add(row, futures[future])
            done += 1
            failed += row["status"] == "failed"
            if row["status"] == "done" and (best is None or row["best_validation_accuracy"]
                                            > best["best_validation_accuracy"]):
                best = row
            echo(progress_line(row, done, len(tasks), min(threads, len(tasks) - done), failed, best))
    except BaseException:
        client.cancel(list(futures))
        raise


def submit(client, task):
    """The future of ``run_task(task)``, named after the run's key."""
    return client.submit(run_task, task, key=f"fastnet-run-{task['key']}", pure=False)


def outcome(future, task):
    """The row a finished future returned, or a failed row saying why it has none
    (e.g. ``KilledWorker``: the run took down one worker after another)."""
    try:
        return future.result()
    except Exception as error:
        return {"key": task["key"], "label": task["label"], "status": "failed",
                **{name: None for name in OUTCOME}, "error": f"{type(error).__name__}: {error}"}


def progress_line(row, done, total, running, failed, best):
    """'[3/12] done eta=0.25 seed=1: val 95.31% test 95.02%, 12.3 s on tcp://...; ...'."""
    if row["status"] == "done":
        outcome = (f"val {100 * row['best_validation_accuracy']:.2f}% "
                   f"test {100 * row['test_accuracy']:.2f}%")
    else:
        outcome = row["error"]
    where = f", {row['seconds']:.1f} s on {row['worker']}" if row.get("seconds") is not None else ""
    best_text = f"; best val {100 * best['best_validation_accuracy']:.2f}% ({best['label']})" \
        if best else ""
    return (f"[{done}/{total}] {row['status']} {row['label']}: {outcome}{where}; "
            f"{running} running, {failed} failed{best_text}")


def sweep(recipe=None, grid=None, seeds=(0,), samples=None, out="runs/sweep", data=None, client=None,
          scheduler=None, workers=None, retry_failed=False, echo=print, **settings):
    """Train every point of ``grid`` (or ``samples`` random points) for every seed; return the rows.

    ``recipe``: a ``Recipe`` or preset name (default ``ch1``); ``settings``:
    train flag values laid over it for every run (``epochs=30``, ``limit=5000``).
    ``grid``: {name: values} (a list, or range text such as "log:0.01:3") or
    a list of 'name=values' texts.  ``client``: a ``distributed.Client`` to
    use; else ``scheduler`` (address) or an embedded LocalCluster of
    ``workers`` processes.  Runs already finished in ``out`` are not trained
    again (failed ones are, with ``retry_failed``).  Returns one row per run
    of this sweep (a pandas DataFrame when pandas is installed, else a list of
    dicts): the settings, seed, scores, seconds, worker, run folder.
    """
    tasks = plan(base_recipe(recipe, **settings), grid, seeds, samples, data, out)
    return table(run_tasks(tasks, out, client, scheduler, workers, retry_failed, echo))


def run_tasks(tasks, out, client=None, scheduler=None, workers=None, retry_failed=False, echo=print):
    """Train the ``tasks`` of ``plan`` that ``out`` does not hold finished, recording each
    row in ``out``'s results files; return the stored rows of ``tasks`` (``sweep``'s arguments)."""
    store = Results(out)
    for task in tasks:  # rows that a previous client did not live to record
        row = read_result(task["folder"])
        if task["key"] not in store.rows and row is not None and row.get("key") == task["key"]:
            store.add(row, task)
    todo = [task for task in tasks if not store.finished(task["key"], retry_failed)]
    echo(f"sweep: {len(tasks)} runs, {len(tasks) - len(todo)} finished before, {len(todo)} to train; "
         f"results in {Path(out) / RESULTS_CSV}")
    if todo:
        with connect(client, scheduler, workers) as connected:
            execute(connected, todo, store, echo)
    return [store.rows[task["key"]] for task in tasks]


def table(rows):
    """Rows without their histories: a pandas DataFrame if pandas is installed, else dicts."""
    records = [{**row["settings"], **{name: row.get(name) for name in ("status", *OUTCOME)},
                "key": row["key"], "folder": row["folder"]} for row in rows]
    try:
        import pandas
    except ImportError:
        return records
    return pandas.DataFrame.from_records(records)
