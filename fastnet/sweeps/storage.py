"""A sweep's results: ``OUT/results.json`` and ``OUT/results.csv``, one row per run.

fastnet, not the scheduler, keeps the results: the client rewrites both
result files atomically as each run finishes, and each task also leaves its
row in its run folder (``fastnet.sweeps.tasks``), so a sweep whose client
died loses nothing either.
"""
from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path
from typing import Any

from ..files.outputs import FOLDER, FolderKind, OutputKind, atomic_write
from .tasks import OUTCOME, RUNS, Row, Task, locked, write_json

RESULTS_JSON, RESULTS_CSV = "results.json", "results.csv"
# What a sweep writes in its out folder, each of the kind it writes (files.check_own).
OUTPUTS: dict[str, OutputKind | FolderKind] = {
    RESULTS_JSON: OutputKind("the results of a fastnet sweep", rb'\{\s*"rows"\s*:'),
    RESULTS_CSV: OutputKind("the results table of a fastnet sweep", rb"key,status[,\r\n]"),
    RUNS: FOLDER}


class Results:
    """``OUT/results.json`` and ``OUT/results.csv``: one row per run key, rewritten
    atomically whenever a row is added (the JSON rows also hold each run's history).

    Sweeps may share ``OUT``, even at the same time: each added row is merged, under
    a lock on the folder, with the rows the files hold by then."""

    def __init__(self, out: str | os.PathLike[str]) -> None:
        self.out = Path(out)
        self.rows = self._read()

    def _read(self) -> dict[str, Row]:
        """The rows of results.json by key ({} when there is none)."""
        path = self.out / RESULTS_JSON
        if not path.is_file():
            return {}
        try:
            return {row["key"]: row for row in json.loads(path.read_text(encoding="utf-8"))["rows"]}
        except (ValueError, KeyError, TypeError) as error:
            raise ValueError(f"{path}: not a readable sweep result file ({error}); pass "
                             "another out folder or move the file away") from None

    def finished(self, key: str, retry_failed: bool = False) -> bool:
        """Whether the run ``key`` needs no training (done; or failed, unless retrying)."""
        row = self.rows.get(key)
        return row is not None and (row["status"] == "done" or not retry_failed)

    def add(self, row: Row, task: Task) -> None:
        """Record a run's row (with its settings) and rewrite both files with it, and with
        the rows that another sweep into this folder has written meanwhile."""
        self.out.mkdir(parents=True, exist_ok=True)
        with locked(self.out):
            self.rows = {**self.rows, **self._read(),
                         row["key"]: {**row, "settings": task["settings"], "recipe": task["recipe"],
                                      "folder": task["folder"]}}
            self.write()

    def write(self) -> None:
        """Rewrite results.json and results.csv from ``rows``."""
        write_json(self.out / RESULTS_JSON, {"rows": list(self.rows.values())})
        table = io.StringIO()
        rows = [flat(row) for row in self.rows.values()]
        columns = list(dict.fromkeys(name for row in rows for name in row))
        writer = csv.DictWriter(table, columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        with atomic_write(self.out / RESULTS_CSV, text=True) as handle:
            handle.write(table.getvalue())


def flat(row: Row) -> dict[str, Any]:
    """A stored row as one flat record: key, status, every setting, then the outcome."""
    recipe = {name: ",".join(map(str, value)) if isinstance(value, (list, tuple)) else value
              for name, value in row["recipe"].items()}
    return {"key": row["key"], "status": row["status"], **recipe,
            **{name: row.get(name) for name in OUTCOME}, "folder": row["folder"]}
