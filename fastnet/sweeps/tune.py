"""``tune``: asynchronous successive halving (ASHA) over a default search space, within a budget.

Many short runs, the best promoted to longer ones: every configuration starts
at the first rung (``RUNGS[0]`` epochs); whenever a worker is free, a
configuration in the top third of a rung that has not gone on yet is retrained
at the next rung (3x the epochs), else a new configuration starts.  Each rung
run is an ordinary sweep task (``fastnet.sweeps.tasks``): keyed by its recipe, in a
run folder under ``OUT/runs/``, recorded in ``OUT/results.json`` and
``results.csv``.  When the search share of the budget is spent, the best
configuration (highest rung first, then validation accuracy) is trained here,
with Numba's threads on every core and the plan's choice of training threads
(``Network.fit``'s default: threads where they win, one beside the thread
that distorts the images), against the clock: for all the budget left
(its recipe's ``minutes``), with its cosine schedule annealed over that
time; then copied to ``OUT/best/``.  ``OUT/leaderboard.csv`` ranks every
configuration.
Tunes may share ``OUT``, even at the same time: the leaderboard is rewritten
with the results files, under their lock, from every tune's rows there; and
``best/`` is replaced only where it is a copy that a tune made.

The default space is meant for data sets not seen before, not tuned to MNIST
(n: training-set size; every draw independent):

    hidden layers       1, 2 or 3, all of one width
    width               log-uniform in [64, 1024], a multiple of 16
    activation          relu or tanh (softmax output, log-likelihood cost,
                        normalized init)
    optimizer           SGD, SGD with momentum 0.9, or Adam (one in three each)
    eta                 SGD: eta / (1 - momentum) log-uniform in [0.03, 1];
                        Adam: log-uniform in [1e-4, 3e-3]
    l2                  0 (one time in three) or n x a decay per image
                        log-uniform in [1e-6, 1e-3]
    dropout             0, 0.1 or 0.2
    batch size          16, 32, 64 or 128
    distort             on or off for MNIST's 28 x 28 images; off for a table
    schedule            cosine over each run's epochs
"""
from __future__ import annotations

import csv
import io
import json
import math
import os
import shutil
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..data import locate_mnist
from ..data.table import is_table, refuse_csv_flags
from ..files.outputs import FolderKind, OutputKind, atomic_write, check_output_folder, check_own
from ..files.run_layout import FILES, RECIPE
from ..recipe import Recipe
from .cluster import connect, require_distributed
from .run import outcome, submit
from .storage import OUTPUTS as SWEEP_OUTPUTS
from .storage import Results
from .tasks import RESULT, locked, make_task, run_data, run_task

RUNGS = (1, 3, 9)         # epochs of the successive-halving rungs
REDUCTION = 3             # the top 1/REDUCTION of a rung goes on to the next
LEADERBOARD, BEST = "leaderboard.csv", "best"
PUBLISHED = FolderKind("a run folder copied there by fastnet tune",  # a sweep run's files
                       holds=frozenset(FILES + (RESULT,)), needs=frozenset((RECIPE, RESULT)))
# What tune writes in OUT (files.check_output_folder).
OUTPUTS: dict[str, OutputKind | FolderKind] = {
    **SWEEP_OUTPUTS, BEST: PUBLISHED,
    LEADERBOARD: OutputKind("a leaderboard written by fastnet tune", rb"rank,trial,")}


def draw(rng, n_in, n_out, n_train, images):
    """One configuration from the default space (see the module docstring): recipe settings.

    ``images``: whether the inputs are MNIST's images, which ``distort`` can distort."""
    depth = int(rng.integers(1, 4))
    width = int(16 * round(math.exp(rng.uniform(math.log(64), math.log(1024))) / 16))
    arm = int(rng.integers(3))  # SGD, SGD with momentum, Adam
    momentum = 0.9 if arm == 1 else 0.0
    eta = math.exp(rng.uniform(math.log(1e-4), math.log(3e-3))) if arm == 2 else \
        math.exp(rng.uniform(math.log(0.03), math.log(1.0))) * (1 - momentum)
    decay = 0.0 if rng.random() < 1 / 3 else math.exp(rng.uniform(math.log(1e-6), math.log(1e-3)))
    return {"sizes": (n_in,) + (width,) * depth + (n_out,),
            "activation": (str(rng.choice(["relu", "tanh"])),), "output": "softmax",
            "cost": "log_likelihood", "init": "normalized", "momentum": momentum,
            "optimizer_name": "adam" if arm == 2 else "sgd", "eta": float(f"{eta:.3g}"),
            "l2": float(f"{decay * n_train:.3g}"),
            "dropout": float(rng.choice([0.0, 0.1, 0.2])),
            "batch_size": int(rng.choice([16, 32, 64, 128])),
            "distort": bool(images and rng.random() < 0.5), "schedule": "cosine"}


class Trial:
    """One configuration and its validation accuracy at each rung it ran."""

    def __init__(self, number: int, settings: dict[str, Any]) -> None:
        self.number, self.settings = number, settings
        self.scores: dict[int, float] = {}  # validation accuracy by rung
        self.pace: dict[int, float] = {}    # seconds per epoch by rung
        self.promoted: set[int] = set()     # rungs it went on from

    def top(self):
        """(highest rung finished, its validation accuracy), -inf for a failed run."""
        rung = max(self.scores, default=-1)
        return rung, self.scores.get(rung, -math.inf)

    def describe(self):
        s = self.settings
        return (f"{'-'.join(map(str, s['sizes']))} {s['activation'][0]}, "
                f"{s.get('optimizer_name', 'sgd')} eta {s['eta']:g}, momentum {s['momentum']:g}, "
                f"l2 {s['l2']:g}, dropout {s['dropout']:g}, "
                f"batch {s['batch_size']}" + (", distort" if s["distort"] else ""))


def tune(data: str | os.PathLike[str] | None = None, budget: float = 600.0,
         out: str | os.PathLike[str] = "runs/tune", epochs: int = 30, seed: int = 0,
         limit: int | None = None, rungs: Sequence[int] = RUNGS, search_share: float = 0.5,
         client: Any = None, scheduler: str | None = None, workers: int | None = None,
         echo: Callable[[str], Any] = print, label_column: str | None = None,
         header: bool | None = None) -> dict[str, Any]:
    """Search the default space with ASHA for ``budget`` seconds in all; return the best run's row.

    ``search_share`` of the budget (more if ``epochs`` epochs of the best
    configuration are estimated to need less) goes to the search; the rest
    to training the best configuration into ``OUT/best/``, in this process on
    every core, for all the time left.  ``limit`` trains on the first
    ``limit`` images only; ``label_column`` and ``header`` read a CSV file as
    ``fastnet train`` does.  Cluster arguments as for ``sweep`` (the search
    runs there).
    """
    began = time.monotonic()
    deadline = began + _positive("budget", budget)
    require_distributed()
    images = data is None or not is_table(data)  # MNIST; distortions apply to its images only
    if images:
        refuse_csv_flags(data, label_column, header)
    located = locate_mnist(data)[0] if images else data
    check_output_folder(out, "out", OUTPUTS, {"data": located}, force=True)
    base = Recipe(limit=limit, seed=seed, label_column=label_column, header=header)
    fitted, loaded = run_data(base, None if located is None else os.fspath(located))
    n_in, n_out, n_train = fitted.sizes[0], fitted.sizes[-1], len(loaded.parts[0][1])
    rng = np.random.default_rng(seed)
    store = _Results(out)
    trials: list[Trial] = []
    echo(f"tune: {n_train:,} training {'images' if images else 'samples'} of {n_in} inputs, "
         f"{n_out} classes; rungs of {', '.join(map(str, rungs))} epochs; budget {budget:.0f} s; "
         f"results in {out}")
    if not images:
        echo(f"tune: distort stays off: it distorts MNIST's 28 x 28 images, and {located} is a "
             "table of features")

    def task(trial, epochs_, minutes=None):
        recipe = base.replace(**trial.settings, epochs=epochs_, minutes=minutes)
        settings = {"trial": trial.number, "epochs": epochs_}
        return make_task(recipe, settings if minutes is None else {**settings, "minutes": minutes},
                         located, out)

    def reserve():
        """Seconds kept for the final run: the best trial's pace times ``epochs``."""
        best = max(trials, key=Trial.top, default=None)
        if best is None or not best.pace:
            return (1 - search_share) * budget
        return 1.2 * best.pace[max(best.pace)] * epochs

    with connect(client, scheduler, workers) as connected:
        slots = sum(connected.nthreads().values()) or 1
        running: dict[Any, tuple[Trial, int, dict[str, Any], int]] = {}
        try:
            while True:
                search_ends = deadline - min(reserve(), (1 - search_share) * budget)
                while len(running) < slots:
                    trial, rung = _next_job(trials, rungs, rng, n_in, n_out, n_train, images)
                    if time.monotonic() + _estimate(trials, trial, rung, rungs) > search_ends:
                        if rung == 0 and trial is trials[-1] and not trial.scores:
                            trials.pop()  # drawn but never started
                        break
                    job = task(trial, rungs[rung])
                    if store.finished(job["key"]):
                        _record(trial, rung, store.rows[job["key"]], rungs, echo)
                        continue
                    running[submit(connected, job)] = (trial, rung, job, 0)
                if not running:
                    break
                finished = require_distributed().wait(list(running), return_when="FIRST_COMPLETED").done
                for future in finished:
                    trial, rung, job, attempt = running.pop(future)
                    row = outcome(future, job, attempt)
                    if row is None:  # lost by the cluster: train it again
                        running[submit(connected, job, attempt + 1)] = (trial, rung, job, attempt + 1)
                        continue
                    store.add(row, job)
                    _record(trial, rung, row, rungs, echo)
        except BaseException:
            connected.cancel(list(running))
            raise
    best = max(trials, key=Trial.top, default=None)
    if best is None or best.top()[1] == -math.inf:
        raise ArithmeticError("tune: no configuration trained successfully within the budget; "
                              "give a larger --budget (or look at the errors in results.csv)")
    # The search's workers are gone (or idle): the final run trains here on every core, against
    # the clock, for all the time left (at least one epoch at the best configuration's pace).
    seconds = max(deadline - time.monotonic(), best.pace[max(best.pace)])
    job = task(best, None, seconds / 60)
    echo(f"best configuration: trial {best.number} ({best.describe()}); training it for the "
         f"{seconds:.0f} s left, with the plan's choice of threads")
    store.add(run_task(job, threads=None), job)
    row = store.rows[job["key"]]  # with its settings and folder
    if row["status"] != "done":
        raise ArithmeticError(f"tune: the final run of trial {best.number} failed: {row['error']}")
    _publish(Path(job["folder"]), Path(out) / BEST)
    echo(f"tune: {len(trials)} configurations, {sum(len(t.scores) for t in trials)} runs, "
         f"{time.monotonic() - began:.0f} s of the {budget:.0f} s budget")
    return {**row, "recipe": job["recipe"], "data": located, "trials": len(trials)}


def _positive(name, value):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise ValueError(f"{name}: expected a positive number of seconds, got {value!r}")
    return float(value)


def _next_job(trials, rungs, rng, n_in, n_out, n_train, images):
    """ASHA's choice: promote the best not-yet-promoted trial of the highest rung that has
    one in its top 1/REDUCTION; otherwise draw a new trial for rung 0."""
    for rung in reversed(range(len(rungs) - 1)):
        finished = sorted((t for t in trials if rung in t.scores and t.scores[rung] > -math.inf),
                          key=lambda t: -t.scores[rung])
        for trial in finished[:len([t for t in trials if rung in t.scores]) // REDUCTION]:
            if rung not in trial.promoted:
                trial.promoted.add(rung)
                return trial, rung + 1
    trials.append(Trial(len(trials) + 1, draw(rng, n_in, n_out, n_train, images)))
    return trials[-1], 0


def _estimate(trials, trial, rung, rungs):
    """Expected seconds of a job: the trial's own pace at a lower rung, else the median pace."""
    if trial.pace:
        return trial.pace[max(trial.pace)] * rungs[rung]
    paces = [t.pace[0] for t in trials if 0 in t.pace]
    return float(np.median(paces)) * rungs[rung] if paces else 0.0


def _record(trial, rung, row, rungs, echo):
    done = row["status"] == "done"
    trial.scores[rung] = row["best_validation_accuracy"] if done else -math.inf
    if done:
        # wall seconds per epoch: evaluation, checkpoints and distortions included (and
        # a worker's first compilation, which errs on the safe side)
        trial.pace[rung] = row["seconds"] / max(1, row["epochs_run"])
    result = f"val {100 * row['best_validation_accuracy']:.2f}%" if done else row["error"]
    echo(f"trial {trial.number:>3} rung {rung} ({rungs[rung]} epochs): {result}, "
         f"{row['seconds'] or 0:.1f} s  [{trial.describe()}]")


class _Results(Results):
    """The results files and leaderboard.csv, rewritten together under the folder's lock."""

    def write(self):
        super().write()
        _write_leaderboard(self.rows.values(), self.out / LEADERBOARD)


def _rank(row):
    """(epochs, validation accuracy) of a stored row: the epochs it trained (those planned if
    it failed; a final run against the clock plans none), -inf for a failed run."""
    done = row["status"] == "done"
    epochs = row["epochs_run"] if done else row["settings"]["epochs"] or 0
    return epochs, row["best_validation_accuracy"] if done else -math.inf


def _write_leaderboard(rows, path):
    """leaderboard.csv: every configuration that tune ran, as stored ``rows`` of the results
    (a sweep's aside), at its longest run; most epochs first, then validation accuracy."""
    longest = {}
    for row in rows:
        if "trial" not in row["settings"]:
            continue  # a sweep's run in the same folder
        configuration = json.dumps({**row["recipe"], "epochs": None, "minutes": None}, sort_keys=True)
        kept = longest.get(configuration)
        if kept is None or _rank(row) > _rank(kept):
            longest[configuration] = row

    table = io.StringIO()
    writer = csv.writer(table, lineterminator="\n")
    writer.writerow(["rank", "trial", "epochs", "validation_accuracy", "sizes", "activation",
                     "optimizer", "eta", "momentum", "l2", "dropout", "batch_size", "distort", "seed"])
    for number, row in enumerate(sorted(longest.values(), key=_rank, reverse=True), 1):
        epochs, score = _rank(row)
        r = row["recipe"]
        writer.writerow([number, row["settings"]["trial"], epochs, "" if score == -math.inf else score,
                         ",".join(map(str, r["sizes"])), r["activation"][0],
                         r.get("optimizer_name", "sgd"), r["eta"], r["momentum"],
                         r["l2"], r["dropout"], r["batch_size"], r["distort"], r["seed"]])
    with atomic_write(path, text=True) as handle:
        handle.write(table.getvalue())


def _publish(source, target):
    """Copy the run folder ``source`` to ``target``, replacing the copy a tune made before
    (and nothing else), so that ``target`` is at every moment either the old copy or the whole
    new one.  Tunes sharing the folder take turns; an error names ``target``."""
    fresh, old = target.with_name(f".{target.name}.new"), target.with_name(f".{target.name}.old")
    with locked(target.parent):
        check_own(target, "out", PUBLISHED)
        try:
            for leftover in (fresh, old):  # of a tune killed here
                shutil.rmtree(leftover, ignore_errors=True)
            fresh.mkdir()
            for file in sorted(source.iterdir()):
                if not file.name.startswith("."):  # e.g. the temporary file of a lost worker
                    shutil.copy2(file, fresh / file.name)
            if target.exists():
                target.rename(old)
            fresh.rename(target)
        except OSError as error:
            shutil.rmtree(fresh, ignore_errors=True)
            if old.exists() and not target.exists():
                old.rename(target)  # the earlier copy back in its place
            raise OSError(error.errno, error.strerror or type(error).__name__, str(target)) from error
        shutil.rmtree(old, ignore_errors=True)
