"""Sweeps: many training runs as independent tasks on dask.distributed.

``sweep(recipe, grid=..., seeds=...)`` plans one run per grid point and seed
(or ``samples`` random points), trains each as a task that does what
``fastnet train`` with those flags would do, into its own run folder
``OUT/runs/<key>/``, and collects one row per run in ``OUT/results.json`` and
``OUT/results.csv``.
"""
from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..recipe import Recipe
from .cluster import connect, require_distributed
from .grid import Grid, Seeds, base_recipe
from .storage import RESULTS_CSV, Results
from .tasks import OUTCOME, Row, Task, plan, read_result, run_task

if TYPE_CHECKING:
    import distributed


def execute(client: distributed.Client, tasks: list[Task], store: Results, echo: Callable[[str], object] = print) -> None:
    """Submit ``tasks`` to ``client``, record each row in ``store`` as it finishes, and
    echo a progress line.  Ctrl-C cancels what has not finished (rows kept)."""
    distributed = require_distributed()
    futures = {submit(client, task): (task, 0) for task in tasks}
    threads = sum(client.nthreads().values()) or 1
    done = failed = 0
    best: Row | None = None
    pending = distributed.as_completed(list(futures))
    try:
        for future in pending:
            task, attempt = futures.pop(future)
            row = outcome(future, task, attempt)
            if row is None:  # lost by the cluster: train it again (it resumes its checkpoint)
                again = submit(client, task, attempt + 1)
                futures[again] = (task, attempt + 1)
                pending.add(again)
                continue
            store.add(row, task)
            done += 1
            failed += row["status"] == "failed"
            if row["status"] == "done" and (best is None or row["best_validation_accuracy"]
                                            > best["best_validation_accuracy"]):
                best = row
            echo(progress_line(row, done, len(tasks), min(threads, len(tasks) - done), failed, best))
    except BaseException:
        client.cancel(list(futures))
        raise


RETRIES = 2  # submissions again of a run whose result the cluster lost (not one that failed)


def submit(client: distributed.Client, task: Task, attempt: int = 0) -> distributed.Future:
    """The future of ``run_task(task)``, named after the run's key (and the attempt,
    from the second on)."""
    key = f"fastnet-run-{task['key']}" + (f"-attempt{attempt + 1}" if attempt else "")
    return client.submit(run_task, task, key=key, pure=False)


def outcome(future: distributed.Future, task: Task, attempt: int = RETRIES) -> Row | None:
    """The row a finished future returned.  A run's own errors come back as failed rows;
    an error raised here is the cluster's (a lost connection or result, a cancelled
    task): None while ``attempt < RETRIES`` (submit the run again: it resumes from
    its checkpoint, or returns the row it wrote), else a failed row saying why.
    ``KilledWorker`` (the run took down one worker after another) is never retried."""
    try:
        return future.result()
    except Exception as error:
        if attempt < RETRIES and not isinstance(error, require_distributed().KilledWorker):
            return None
        return {"key": task["key"], "label": task["label"], "status": "failed",
                **{name: None for name in OUTCOME}, "error": f"{type(error).__name__}: {error}"}


def progress_line(row: Row, done: int, total: int, running: int, failed: int, best: Row | None) -> str:
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


def sweep(recipe: Recipe | str | None = None, grid: Grid | None = None, seeds: Seeds = (0,),
          samples: int | None = None, out: str | os.PathLike[str] = "runs/sweep",
          data: str | os.PathLike[str] | None = None,
          client: distributed.Client | None = None, scheduler: str | None = None, workers: int | None = None,
          retry_failed: bool = False, echo: Callable[[str], object] = print, **settings: Any) -> Any:
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


def run_tasks(tasks: list[Task], out: str | os.PathLike[str], client: distributed.Client | None = None,
              scheduler: str | None = None, workers: int | None = None, retry_failed: bool = False,
              echo: Callable[[str], object] = print) -> list[Row]:
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


def table(rows: list[Row]) -> Any:
    """Rows without their histories: a pandas DataFrame if pandas is installed, else dicts."""
    records = [{**row["settings"], **{name: row.get(name) for name in ("status", *OUTCOME)},
                "key": row["key"], "folder": row["folder"]} for row in rows]
    try:
        import pandas
    except ImportError:
        return records
    return pandas.DataFrame.from_records(records)
