"""The names of a run folder's files, and how to tell a run folder (see ``fastnet.runs``).

Here rather than in ``fastnet.runs`` so that ``fastnet.files.outputs`` can refuse
to write over a run's files without importing what writes them.
"""
from __future__ import annotations

import os
from pathlib import Path

RECIPE, LAST, BEST, MODEL = "recipe.json", "checkpoint-last.npz", "checkpoint-best.npz", "model.npz"
HISTORY_JSON, HISTORY_CSV, CURVES = "history.json", "history.csv", "learning-curves.png"
FILES = (RECIPE, LAST, BEST, MODEL, HISTORY_JSON, HISTORY_CSV, CURVES)
UNSTARTED = {RECIPE}  # what a run that stopped before its first checkpoint leaves


def is_run_folder(folder: str | os.PathLike[str]) -> bool:
    """Whether ``folder`` holds a fastnet run (a recipe.json, checkpointed or not yet)."""
    return (Path(folder) / RECIPE).is_file()


def run_holding(path: str | os.PathLike[str]) -> Path | None:
    """The folder of the fastnet run whose own file ``path`` is (one of ``FILES``), else None."""
    path = Path(path)
    return path.parent if path.name in FILES and is_run_folder(path.parent) else None
