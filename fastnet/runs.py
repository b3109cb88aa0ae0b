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
import time
from pathlib import Path

from .files import atomic_write
from .model_io import save_checkpoint, save_model
from .optim import HISTORY_KEYS
from .pictures import learning_curves_png
from .recipe import Recipe

RECIPE, LAST, BEST, MODEL = "recipe.json", "checkpoint-last.npz", "checkpoint-best.npz", "model.npz"
HISTORY_JSON, HISTORY_CSV, CURVES = "history.json", "history.csv", "learning-curves.png"
FILES = (RECIPE, LAST, BEST, MODEL, HISTORY_JSON, HISTORY_CSV, CURVES)
DEFAULT_BASE = "runs"


class RunFolder:
    """The folder of one run; ``folder.path / name`` for the files above."""

    def __init__(self, path):
        self.path = Path(path)

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
        if folder.path.exists() and not folder.path.is_dir():
            raise ValueError(f"out: {folder.path} is a file; pass a folder for the run's outputs")
        if (folder / RECIPE).exists():
            raise ValueError(f"out: {folder.path} already holds a run; pass a new folder, or "
                             f"--resume {folder.path} to continue that run")
        return folder

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
            return Recipe.from_dict(record["recipe"]), record.get("data")
        except (json.JSONDecodeError, KeyError, TypeError, ValueError) as error:
            raise ValueError(f"{path}: not a readable run recipe ({error})") from None

    # ------------------------------------------------------------------ epochs
    def start(self, recipe, data_path, net, optimizer):
        """Make the folder and write recipe.json and an epoch-0 last checkpoint, so that
        a run interrupted in its first epoch can be resumed too."""
        self.make()
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
            save_model(net, self / MODEL)
        save_checkpoint(net, optimizer, self / LAST)
        self.save_history(optimizer)

    def save_history(self, optimizer):
        """history.json and history.csv from an ``SGD``'s history."""
        history = optimizer.history
        record = {"epochs": optimizer.epoch, "best_epoch": optimizer.best_epoch,
                  "stop_reason": optimizer.stop_reason, "history": history}
        _write_text(self / HISTORY_JSON, json.dumps(record, indent=2) + "\n")
        table = io.StringIO()
        writer = csv.writer(table, lineterminator="\n")
        writer.writerow(("epoch",) + HISTORY_KEYS)
        for epoch in range(len(history["eta"])):
            writer.writerow([epoch + 1] + [_cell(history[key], epoch) for key in HISTORY_KEYS])
        _write_text(self / HISTORY_CSV, table.getvalue())

    def plot(self, history, title):
        """learning-curves.png (raises ``pictures.MatplotlibMissing`` without matplotlib)."""
        learning_curves_png(history, self / CURVES, title=title)

    def files(self):
        """Names of the run files present, in the order of ``FILES``."""
        return [name for name in FILES if (self / name).is_file()]


def _cell(values, epoch):
    return repr(values[epoch]) if epoch < len(values) else ""


def _write_text(path, text):
    with atomic_write(path, text=True) as handle:
        handle.write(text)
