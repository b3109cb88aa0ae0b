"""A sweep's report: its table sorted by validation accuracy, and the book's chapter-3 plots.

Reads ``OUT/results.json`` only (the rows hold each run's history), so a
report can be redrawn anywhere the file is.  The swept settings are the recipe
settings whose values differ between runs (the seed aside); runs that differ
only in their seed form one group.  Plots, drawn with matplotlib (the ``plot``
extra) into ``OUT/plots/``:

* ``training-cost.png``: training cost per epoch, one curve per group (mean
  over seeds): chapter 3's learning-rate figure when eta is swept;
* ``validation-accuracy.png``: validation accuracy per epoch, the same way;
* ``accuracy-by-<setting>.png``: best validation accuracy against each swept
  setting, every run a dot, the mean over the other settings and seeds a line.
"""
from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..files.outputs import atomic_write
from ..files.pictures import MatplotlibMissing
from .storage import RESULTS_JSON
from .tasks import Row

if TYPE_CHECKING:
    from matplotlib.figure import Figure

PLOTS = "plots"


def load_rows(out: str | os.PathLike[str]) -> list[Row]:
    """The rows of ``OUT/results.json``; ValueError naming the folder if there are none."""
    path = Path(out) / RESULTS_JSON
    if not path.is_file():
        raise ValueError(f"report: {out} holds no {RESULTS_JSON}; pass the --out folder of a sweep")
    try:
        return json.loads(path.read_text(encoding="utf-8"))["rows"]
    except (ValueError, KeyError, TypeError) as error:
        raise ValueError(f"{path}: not a readable sweep result file ({error})") from None


def swept(rows: Sequence[Row]) -> list[str]:
    """The recipe settings whose values differ between the rows, seed and preset aside."""
    names = []
    for name in rows[0]["recipe"] if rows else []:
        values = {json.dumps(row["recipe"][name]) for row in rows}
        if len(values) > 1 and name not in ("seed", "preset"):
            names.append(name)
    return names


def group_label(row: Row, names: Sequence[str]) -> str:
    """'eta=0.25 l2=5' for the swept settings ``names`` of a row."""
    return " ".join(f"{name}={_text(row['recipe'][name])}" for name in names) or "all runs"


def _text(value: Any) -> str:
    if isinstance(value, list):
        return ",".join(map(str, value))
    return f"{value:g}" if isinstance(value, float) else str(value)


def table_lines(rows: Sequence[Row]) -> list[str]:
    """The table of runs, best validation accuracy first; failed runs last, with their error."""
    names = swept(rows)
    done = sorted((row for row in rows if row["status"] == "done"),
                  key=lambda row: -row["best_validation_accuracy"])
    failed = [row for row in rows if row["status"] != "done"]
    widths = [max(len(name), *(len(_text(row["recipe"][name])) for row in rows)) for name in names]
    header = "rank  " + "  ".join(f"{name:>{width}}" for name, width in zip(names, widths)) + \
        "   seed  val acc  epoch  test acc  train cost  seconds"
    lines = [header]
    for rank, row in enumerate(done + failed, 1):
        settings = "  ".join(f"{_text(row['recipe'][name]):>{width}}" for name, width in zip(names, widths))
        if row["status"] == "done":
            outcome = (f"{100 * row['best_validation_accuracy']:6.2f}%  {row['best_epoch']:>5}  "
                       f"{100 * row['test_accuracy']:7.2f}%  {row['final_training_cost']:10.4f}  "
                       f"{row['seconds']:7.1f}")
        else:
            outcome = f"failed: {row['error']}"
        lines.append(f"{rank:>4}  {settings}   {row['recipe']['seed']:>4}  {outcome}")
    return lines


def plot(rows: Sequence[Row], out: str | os.PathLike[str]) -> list[Path]:
    """Draw the report's plots into ``OUT/plots/``; returns their paths.

    Raises ``MatplotlibMissing`` without matplotlib."""
    try:
        from matplotlib.figure import Figure
    except ImportError as error:
        raise MatplotlibMissing("matplotlib is not installed; install it with "
                                "pip install 'fastnet[plot]' to draw a sweep's plots") from error
    done = [row for row in rows if row["status"] == "done" and row.get("history")]
    if not done:
        return []
    folder = Path(out) / PLOTS
    folder.mkdir(parents=True, exist_ok=True)
    names = swept(done)
    groups: dict[str, list[Row]] = {}
    for row in done:
        groups.setdefault(group_label(row, names), []).append(row)
    paths = []
    for key, title, ylabel, scale in (
            ("training_cost", "Training cost per epoch", "training cost", 1),
            ("validation_accuracy", "Validation accuracy per epoch", "validation accuracy (%)", 100)):
        figure = Figure(figsize=(7, 4.5), layout="constrained")
        axes = figure.subplots()
        for label, members in groups.items():
            curves = [row["history"][key] for row in members]
            length = min(map(len, curves))
            if length == 0:
                continue
            mean = scale * np.mean([curve[:length] for curve in curves], axis=0)
            seeds = f" ({len(members)} seeds)" if len(members) > 1 else ""
            axes.plot(np.arange(1, length + 1), mean, label=label + seeds)
        axes.set_xlabel("epoch")
        axes.set_ylabel(ylabel)
        axes.set_title(title)
        axes.grid(alpha=0.3)
        if len(groups) <= 12:
            axes.legend(fontsize="small")
        paths.append(_save(figure, folder / f"{key.replace('_', '-')}.png"))
    for name in names:
        paths.append(_save(_by_setting(Figure, done, name), folder / f"accuracy-by-{name}.png"))
    return paths


def _by_setting(Figure: type[Figure], rows: Sequence[Row], name: str) -> Figure:
    """Best validation accuracy against one setting: dots per run, the mean per value."""
    values = [row["recipe"][name] for row in rows]
    numeric = all(isinstance(value, (int, float)) and not isinstance(value, bool) for value in values)
    labels = sorted({_text(value) for value in values}, key=lambda text: float(text)) if numeric \
        else sorted({_text(value) for value in values})
    x = np.array([float(value) for value in values]) if numeric \
        else np.array([labels.index(_text(value)) for value in values], dtype=float)
    y = np.array([100 * row["best_validation_accuracy"] for row in rows])
    figure = Figure(figsize=(6, 4), layout="constrained")
    axes = figure.subplots()
    axes.scatter(x, y, alpha=0.6, label="one run")
    positions = np.unique(x)
    means = [y[x == position].mean() for position in positions]
    spread = [(y[x == position].min(), y[x == position].max()) for position in positions]
    axes.plot(positions, means, marker="o", color="black", label="mean")
    axes.vlines(positions, *zip(*spread), color="gray", alpha=0.5, label="spread (min to max)")
    positive = numeric and x.min() > 0 and x.max() / x.min() >= 20
    if positive:
        axes.set_xscale("log")
    if not numeric:
        axes.set_xticks(range(len(labels)), labels)
    axes.set_xlabel(name)
    axes.set_ylabel("best validation accuracy (%)")
    axes.set_title(f"Accuracy by {name}")
    axes.grid(alpha=0.3)
    axes.legend(fontsize="small")
    return figure


def _save(figure: Figure, path: Path) -> Path:
    with atomic_write(path) as handle:
        figure.savefig(handle, format="png", dpi=100)
    return path


def report(out: str | os.PathLike[str], rows: list[Row] | None = None, echo: Callable[[str], object] = print) -> list[Row]:
    """Print the table of ``rows`` (stored rows; default every run in ``out``) and redraw
    ``out``'s plots from every run it holds (when matplotlib is there)."""
    stored = load_rows(out)
    rows = stored if rows is None else rows
    done = sum(row["status"] == "done" for row in rows)
    others = len({row["key"] for row in stored} - {row["key"] for row in rows})
    more = f" ({others} more runs of other sweeps in the folder)" if others else ""
    echo(f"sweep {out}: {len(rows)} runs, {done} done, {len(rows) - done} failed{more}")
    for line in table_lines(rows):
        echo(line)
    try:
        paths = plot(stored, out)
    except MatplotlibMissing as missing:
        echo(f"plots    skipped: {missing}")
        return rows
    if paths:
        echo(f"plots    {', '.join(str(path) for path in paths)}")
    return rows
