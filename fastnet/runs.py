"""``RunFolder``: the files of one training run, written as training goes.

    recipe.json          the run's settings (``fastnet.recipe.Recipe``) and data path
    checkpoint-last.npz  network + optimizer after the latest epoch (for --resume)
    checkpoint-best.npz  network + optimizer at the best validation epoch so far
    model.npz            the network of the best validation epoch (for evaluate / show)
    history.json         per-epoch cost, accuracy, eta and seconds, plus the best epoch
    history.csv          the same per-epoch numbers as a table
    learning-curves.png  cost and accuracy per epoch (needs matplotlib)

Every file is written atomically after each epoch (the plot at the end), so
an interrupted run leaves a consistent folder that ``--resume`` continues.
"""
import csv
import io
import json
import os
import time
from pathlib import Path

try:
    import fcntl
except ImportError:  # Windows: no advisory locks; runs are not guarded there
    fcntl = None  # type: ignore[assignment]

from .checkpoints import load_checkpoint, save_checkpoint
from .files.outputs import atomic_write
from .files.pictures import learning_curves_png
from .files.run_layout import (BEST, CURVES, FILES, HISTORY_CSV, HISTORY_JSON, LAST, MODEL, RECIPE,
                               UNSTARTED)
from .recipe import Recipe
from .schedules import describe_schedule

DEFAULT_BASE = "runs"


class RunFolder:
    """The folder of one run; ``folder.path / name`` for the files above."""

    def __init__(self, path):
        self.path = Path(path)
        self._lock = None

    def __truediv__(self, name):
        return self.path / name

    def __str__(self):
        return str(self.path)

    @classmethod
    def planned(cls, path=None, label="run"):
        """The folder for a new run, checked but not yet made (see ``make``):
        ``path``, or ./runs/<label>-<date>-<time> when None.  ``path`` may
        exist if it holds no run yet."""
        if path is None:
            stamp = time.strftime("%Y%m%d-%H%M%S")
            path = Path(DEFAULT_BASE) / f"{label}-{stamp}"
            suffix = 2
            while path.exists():
                path = Path(DEFAULT_BASE) / f"{label}-{stamp}-{suffix}"
                suffix += 1
        folder = cls(path)
        folder.check_unused()
        return folder

    def check_unused(self):
        """Raise ValueError unless the folder is missing, empty, or left by a run that
        stopped before its first checkpoint (only recipe.json): a new run may go there."""
        if self.path.exists() and not self.path.is_dir():
            raise ValueError(f"out: {self.path} is a file; pass a folder for the run's outputs")
        present = set(os.listdir(self.path)) if self.path.is_dir() else set()
        if RECIPE in present and LAST in present:
            raise ValueError(f"out: {self.path} already holds a run; pass a new folder, or "
                             f"--resume {self.path} to continue that run")
        foreign = sorted(present - UNSTARTED)
        if foreign:
            shown = ", ".join(foreign[:3]) + (", ..." if len(foreign) > 3 else "")
            raise ValueError(f"out: {self.path} is not empty and is not a fastnet run (it holds "
                             f"{shown}); pass a new or empty folder, so that no file of yours "
                             "is overwritten")

    def lock(self):
        """Take an exclusive lock on the folder itself for this process (held until
        ``unlock`` or exit).  The operating system drops it when the process dies,
        so a killed run leaves nothing stale, and no lock file is written.
        ValueError if another process holds it."""
        if fcntl is None or self._lock is not None:
            return self
        handle = os.open(self.path, os.O_RDONLY)
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(handle)
            raise ValueError(f"{self.path}: another fastnet process is training in this folder "
                             "right now; wait for it to finish, or pass another folder") from None
        self._lock = handle
        return self

    def __del__(self):
        self.unlock()

    def unlock(self):
        """Release the lock taken by ``lock`` (if any)."""
        if self._lock is not None:
            os.close(self._lock)
            self._lock = None

    def make(self):
        """Create the folder (and its parents)."""
        self.path.mkdir(parents=True, exist_ok=True)
        return self

    @classmethod
    def existing(cls, path):
        """The run folder at ``path``, which must hold a recipe and a last checkpoint."""
        folder = cls(path)
        missing = [name for name in (RECIPE, LAST) if not (folder / name).is_file()]
        if missing:
            raise ValueError(f"resume: {folder.path} holds no run to continue (no "
                             f"{' or '.join(missing)}); pass the folder of a run that "
                             "`fastnet train` started")
        return folder

    # ------------------------------------------------------------------ recipe
    def save_recipe(self, recipe, data_path=None):
        """Write recipe.json: the recipe and the data path it trained on, made absolute
        (None: the default location)."""
        data = None if data_path is None else str(Path(data_path).resolve())
        record = {"recipe": recipe.to_dict(), "data": data}
        _write_text(self / RECIPE, json.dumps(record, indent=2) + "\n")

    def load_recipe(self):
        """``(recipe, data path or None)`` from recipe.json."""
        path = self / RECIPE
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
            recipe = Recipe.from_dict(record["recipe"])
            recipe.check()
            data = record.get("data")
            if data is not None and not isinstance(data, str):
                raise TypeError(f"data: expected a path or null, got {data!r}")
            return recipe, data
        except (json.JSONDecodeError, KeyError, TypeError, ValueError) as error:
            raise ValueError(f"{path}: not a readable run recipe ({error}); fix the file, "
                             "or start a new run") from None

    def load_run(self):
        """Lock the folder and read its run: ``(recipe, data path, net, optimizer)``,
        after checking that the last checkpoint is the recipe's network and optimizer
        (a folder that mixes two runs' files is refused, naming the difference)."""
        self.lock()
        recipe, data_path = self.load_recipe()
        net, optimizer = load_checkpoint(self / LAST)
        fresh, settings = recipe.network(), recipe.optimizer().hyperparameters()
        found = optimizer.hyperparameters()
        pairs = [(name, getattr(fresh, name), getattr(net, name)) for name in
                 ("sizes", "activations", "output", "cost_name", "init", "dtype", "seed")]
        pairs.append(("optimizer", type(recipe.optimizer()).__name__, type(optimizer).__name__))
        pairs += [(name, settings[name], found.get(name)) for name in settings
                  if name != "schedule"]
        if "schedule" in settings:
            pairs.append(("schedule", _schedule_kind(settings["schedule"]),
                          _schedule_kind(found.get("schedule"))))
        for name, expected, actual in pairs:
            if expected != actual:
                raise ValueError(f"{self / LAST}: its {name} is {actual!r} but {self / RECIPE} "
                                 f"says {expected!r}; this folder mixes the files of two runs "
                                 "and cannot be resumed; start a new run with --out")
        return recipe, data_path, net, optimizer

    # ------------------------------------------------------------------ epochs
    def start(self, recipe, data_path, net, optimizer):
        """Make and lock the folder, check again under the lock that no other run
        got there first, and write recipe.json and an epoch-0 last checkpoint, so
        that a run interrupted in its first epoch can be resumed too."""
        self.make()
        self.lock()
        self.check_unused()
        self.save_recipe(recipe, data_path)
        save_checkpoint(net, optimizer, self / LAST)

    def save_epoch(self, net, optimizer):
        """After an epoch: the best checkpoint and model.npz if this epoch is the best so
        far, then the last checkpoint, then the history files.

        In this order an interruption between two writes never leaves model.npz
        older than the best epoch that the last checkpoint knows of.
        """
        if optimizer.best_epoch is not None and optimizer.best_epoch == optimizer.epoch:
            save_checkpoint(net, optimizer, self / BEST)
            net.save(self / MODEL)
        save_checkpoint(net, optimizer, self / LAST)
        self.save_history(optimizer)

    def saved_epoch(self):
        """The epoch of the last checkpoint: where --resume goes on from."""
        return load_checkpoint(self / LAST)[1].epoch

    def save_history(self, optimizer):
        """history.json and history.csv from an ``SGD``'s history."""
        history = optimizer.history
        record = {"epochs": optimizer.epoch, "best_epoch": optimizer.best_epoch,
                  "stop_reason": optimizer.stop_reason, "stall": optimizer.stall,
                  "history": history}
        _write_text(self / HISTORY_JSON, json.dumps(record, indent=2) + "\n")
        table = io.StringIO()
        writer = csv.writer(table, lineterminator="\n")
        keys = tuple(optimizer.history_keys)
        writer.writerow(("epoch",) + keys)
        for epoch in range(len(history["epoch_seconds"])):
            writer.writerow([epoch + 1] + [_cell(history[key], epoch) for key in keys])
        _write_text(self / HISTORY_CSV, table.getvalue())

    def plot(self, history, title):
        """learning-curves.png (raises ``pictures.MatplotlibMissing`` without matplotlib)."""
        learning_curves_png(history, self / CURVES, title=title)

    def files(self):
        """Names of the run files present, in the order of ``FILES``."""
        return [name for name in FILES if (self / name).is_file()]


def _schedule_kind(schedule):
    """A schedule's description without its length (--epochs and --minutes may extend
    a run), nor that of a schedule inside it (a warm-up's)."""
    return _without_length(describe_schedule(schedule) or {})


def _without_length(described):
    return {key: _without_length(value) if isinstance(value, dict) else value
            for key, value in described.items() if key not in ("epochs", "seconds")}


def _cell(values, epoch):
    return repr(values[epoch]) if epoch < len(values) else ""


def _write_text(path, text):
    with atomic_write(path, text=True) as handle:
        handle.write(text)
