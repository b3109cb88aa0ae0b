"""A sweep's tasks: one training run each, planned from the grid, trained on a worker as
``fastnet train`` would into its own run folder ``OUT/runs/<key>/``, which also
holds its row (``result.json``); and the folder lock that guards shared files.

* A worker lost mid-run (killed, out of memory) has its task rerun elsewhere
  by the scheduler; the rerun continues the run folder from its last epoch.
  A run that raises (``DivergenceError`` at a large eta) is recorded as
  failed with its message, and the sweep goes on.
* Workers load the data once each (a path, read into a per-process cache),
  not once per task.
"""
from __future__ import annotations

import contextlib
import functools
import io
import json
import os
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, cast

try:
    import fcntl
except ImportError:  # Windows: no advisory locks; the results files are not guarded there
    fcntl = None  # type: ignore[assignment]

from ..checks import cores
from ..data.table import is_table
from ..files.outputs import atomic_write
from ..files.pictures import MatplotlibMissing
from ..network import Network
from ..recipe import Recipe
from ..files.run_layout import LAST, MODEL, RECIPE
from ..run_setup import RunData, announce_compilation, check_data_fits, load_run_data
from ..runs import RunFolder
from .grid import Grid, Seeds, apply, parse_seeds, points
from .keys import run_key

RESULT = "result.json"                    # a finished task's row, in its run folder
RUNS = "runs"                             # the run folders, OUT/runs/<key>/
OUTCOME = ("best_validation_accuracy", "best_epoch", "test_accuracy", "final_training_cost",
           "epochs_run", "stop_reason", "seconds", "worker", "error")
Task = dict[str, Any]  # a planned run: key, label, settings, recipe (a dict), data, folder (``make_task``)
Row = dict[str, Any]   # a run's outcome: key, label, status, the OUTCOME fields, history (``run_task``)


def plan(recipe: Recipe, grid: Grid | None = None, seeds: Seeds = (0,), samples: int | None = None,
         data: str | os.PathLike[str] | None = None, out: str | os.PathLike[str] = "runs/sweep") -> list[Task]:
    """One task per point and seed: dicts with key, label, settings, recipe, data, folder.

    Every recipe is checked before anything runs, so a bad value stops the
    sweep before it starts.  On a table (data that is not MNIST) every run has
    MNIST's augmentations ``expand`` and ``distort`` off, and a grid that varies
    them is refused."""
    tasks: list[Task] = []
    keys: set[str] = set()
    grid_points = points(grid, samples)
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


def make_task(recipe: Recipe, settings: Mapping[str, Any], data: str | os.PathLike[str] | None,
              out: str | os.PathLike[str]) -> Task:
    """The task that trains ``recipe`` (checked here) on ``data`` into OUT/runs/<key>/;
    ``settings`` are the values that set it apart (its label)."""
    recipe.check()
    path = None if data is None else str(Path(data).resolve())
    key = run_key(recipe, path)
    label = " ".join(f"{name}={_text(value)}" for name, value in settings.items())
    return {"key": key, "label": label, "settings": settings, "recipe": recipe.to_dict(),
            "data": path, "folder": str(Path(out).resolve() / RUNS / key)}


def _text(value: Any) -> str:
    if isinstance(value, (tuple, list)):
        return ",".join(map(str, value))
    return f"{value:g}" if isinstance(value, float) else str(value)


@functools.lru_cache(maxsize=2)
def _data(data: str | None, dtype: str, limit: int | None, expand: bool, label_column: Any, header: Any,
          split: tuple[float, ...], standardize: bool, seed: int) -> RunData:
    """The run's data as ``fastnet train`` reads it (MNIST, or a table split by ``seed``),
    loaded once per worker process for each set of these arguments."""
    recipe = Recipe(dtype=dtype, limit=limit, expand=expand, label_column=label_column,
                    header=header, split=split, standardize=standardize, seed=seed)
    return load_run_data(recipe, data)


def run_data(recipe: Recipe, data: str | None) -> tuple[Recipe, RunData]:
    """``(recipe fitted to the data, RunData)``: the sizes' ends from the data, the hidden
    layers from ``hidden`` or ``sizes``, MNIST's augmentations off for a table."""
    table = data is not None and is_table(data)
    loaded = _data(data, recipe.dtype, recipe.limit, recipe.expand, recipe.label_column,
                   recipe.header, tuple(recipe.split), recipe.standardize, recipe.seed if table else 0)
    sizes = cast(Recipe, loaded.recipe).sizes  # RunData.recipe is typed object
    hidden = recipe.hidden if recipe.hidden is not None else recipe.sizes[1:-1]
    recipe = recipe.replace(sizes=(sizes[0], *hidden, sizes[-1]))
    return (recipe.replace(expand=False, distort=False) if table else recipe), loaded


def run_task(task: Task, threads: int | None = 1) -> Row:
    """Train one planned run as ``fastnet train`` would, in its run folder; return its row.

    A folder that already holds this run's finished row is not touched; one
    with an interrupted attempt (a lost worker) is continued from its last
    checkpoint.  Anything the run raises is caught and reported in the row
    (``status`` "failed", ``error``).  ``threads``: Numba threads for the run,
    and the training threads of its fit (at most the cores: ``checks.threads``);
    None: Numba's threads on every core, and the plan's choice of training
    threads (``Network.fit``'s default).
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
        import numba
        most = numba.config.NUMBA_NUM_THREADS  # type: ignore[attr-defined]
        numba.set_num_threads(max(1, min(cores() if threads is None else threads, most)))
        began = time.perf_counter()
        row = {"key": task["key"], "label": task["label"], "status": "done",
               **{name: None for name in OUTCOME}, "compile_seconds": 0.0}
        try:
            row.update(train(Recipe.from_dict(task["recipe"]), task["data"], folder, threads))
        except Exception as error:  # a failed run is a result too; the sweep goes on
            row.update(status="failed", error=f"{type(error).__name__}: {error}")
        seconds = time.perf_counter() - began - row.pop("compile_seconds")
        row.update(seconds=round(seconds, 3), worker=_worker())
        write_json(folder / RESULT, row)
        return row
    finally:
        folder.unlock()


def _finished(folder: RunFolder, task: Task) -> Row | None:
    row = read_result(folder.path)
    return row if row is not None and row.get("key") == task["key"] and row["status"] == "done" \
        else None


def _lock(folder: RunFolder) -> RunFolder:
    """Take the run folder's lock, waiting while another process holds it: dask may,
    rarely, run one task twice at once (a worker thought lost that was not)."""
    while True:
        try:
            return folder.lock()
        except ValueError:
            time.sleep(1.0)


def train(recipe: Recipe, data: str | None, folder: RunFolder,
          threads: int | None = None) -> dict[str, Any]:
    """Train ``recipe`` on ``data`` in the locked ``folder`` (continuing an interrupted
    attempt) on ``threads`` threads and return its scores: what ``fastnet train --quiet``
    does, without printing."""
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
    if recipe.unfinished(optimizer):  # compile (or load) the kernels, off the run's clock
        with contextlib.redirect_stdout(io.StringIO()):
            compile_seconds = announce_compilation(net, optimizer, X, y)
    augment = recipe.augmenter()
    try:
        net.fit(X, y, recipe.epochs, validation=validation, optimizer=optimizer, augment=augment,
                callback=lambda net, optimizer: folder.save_epoch(net, optimizer),
                threads=threads, time_budget=recipe.time_budget)
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


def _worker() -> str:
    """The dask worker's address, or this process when not on a worker."""
    try:
        from distributed import get_worker
        return get_worker().address
    except (ImportError, ValueError):
        return f"pid {os.getpid()}"


def read_result(folder: str | os.PathLike[str]) -> Row | None:
    """The row in ``folder/result.json``, or None when there is none (or it is unreadable)."""
    try:
        return json.loads((Path(folder) / RESULT).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def write_json(path: str | os.PathLike[str], record: Any) -> None:
    """Write ``record`` as indented JSON to ``path``, atomically."""
    with atomic_write(path, text=True) as handle:
        handle.write(json.dumps(record, indent=1) + "\n")


@contextlib.contextmanager
def locked(folder: str | os.PathLike[str]) -> Iterator[None]:
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
