"""A run's key: a hash of the full recipe (every setting but the preset's name) and the
data path, so that re-running a sweep skips the runs it finished and a changed grid
trains only what is new."""
from __future__ import annotations

import hashlib
import json

from ..recipe import Recipe
from .grid import apply

KEYED_WHEN_SET = ("header", "minutes", "warmup", "beta1", "beta2", "weight_decay",
                  "clip_norm")  # settings newer than 0.2's keys: part of a key only when not None


def run_key(recipe: Recipe, data: str | None) -> str:
    """16 hex digits of SHA-256 of the recipe (all but the preset's name) and the data path.
    A setting of ``KEYED_WHEN_SET`` left at None is left out, so that the runs of an earlier
    version's sweep keep their keys."""
    settings = {name: value for name, value in apply(recipe, {}).to_dict().items()
                if name != "preset" and not (name in KEYED_WHEN_SET and value is None)}
    text = json.dumps({"recipe": settings, "data": data}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]
