"""A sweep's grid: setting names and values as ``fastnet train``'s flags take them, ranges
for random search, the grid's points and the seeds, and the recipe a sweep starts from.

Settings are named as ``fastnet train``'s flags (``batch_size`` or
``batch-size``); ``optimizer`` (sgd, adam or adamw) sets the recipe's
``optimizer_name``.  Values are lists (``eta=0.025,0.25,2.5``;
``hidden=100/30,30``, as sizes contain commas) or, for random search, ranges
(``hidden=int:30:800`` draws one hidden layer's width):
``log:LOW:HIGH`` (log-uniform), ``float:LOW:HIGH`` (uniform),
``int:LOW:HIGH`` (uniform integer, both ends included).
"""
from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any, cast

import numpy as np

from ..presets import DEFAULT_PRESET, PRESETS
from ..recipe import FIRST_ORDER, FLAGS, Recipe

RANGE_KINDS = ("log", "float", "int")
TUPLES = ("sizes", "activation", "hidden", "split")   # settings whose values are lists
OPTIMIZER = "optimizer"  # the one setting beside the flags: the recipe's optimizer_name


@dataclasses.dataclass(frozen=True)
class Range:
    """A random-search range: ``kind`` log, float or int, from ``low`` to ``high``."""
    kind: str
    low: float
    high: float

    def draw(self, rng: np.random.Generator) -> int | float:
        """One value: floats rounded to 3 significant digits, ints with both ends included."""
        if self.kind == "int":
            return int(rng.integers(int(self.low), int(self.high) + 1))
        if self.kind == "log":
            value = math.exp(rng.uniform(math.log(self.low), math.log(self.high)))
        else:
            value = rng.uniform(self.low, self.high)
        return float(f"{value:.3g}")

    def __str__(self) -> str:
        return f"{self.kind}:{self.low:g}:{self.high:g}"


Axis = tuple[str, list[Any] | Range]  # a setting's name and its values, or a range to draw from
Grid = Mapping[str, Any] | str | Sequence[str | Axis]  # {name: values} or 'name=values' texts
Seeds = int | str | Sequence[int | str]  # 3, '1,2,3', [1, 2, 3] or range(3)


def setting_names() -> list[str]:
    """Every name a sweep can vary: the recipe's flags (``fastnet.recipe.FLAGS``) but the
    seed, and ``optimizer``."""
    return sorted(set(FLAGS) - {"seed"} | {OPTIMIZER})


def _name(name: str) -> str:
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


def _kind(name: str) -> type:
    """The Python type a setting's values have (int, float, bool, tuple or str)."""
    if name in TUPLES:
        return tuple
    parse = str if name == OPTIMIZER else FLAGS[name].parse
    if parse is None:
        return bool
    return parse if parse in (int, float) else str


def convert(name: str, value: Any) -> Any:
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
        try:
            value = text if name == OPTIMIZER else \
                cast(Callable[[str], Any], FLAGS[name].parse)(text)  # not None: kind is not bool
        except ValueError as error:
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
    choices = FIRST_ORDER if name == OPTIMIZER else FLAGS[name].choices
    if choices and value not in choices:
        raise ValueError(f"{flag}expected one of {', '.join(map(str, choices))}, got {value!r}")
    return value


def parse_axis(text: str) -> Axis:
    """``'name=v1,v2,...'`` or ``'name=KIND:LOW:HIGH'`` as ``(name, list or Range)``."""
    if not isinstance(text, str):
        raise TypeError(f"grid: expected text such as 'eta=0.025,0.25,2.5', got {text!r}")
    name, equals, values = text.partition("=")
    if not equals or not values.strip():
        raise ValueError(f"grid: {text!r} is not name=values; write e.g. 'eta=0.025,0.25,2.5' "
                         "or 'eta=log:0.01:3'")
    return axis(name, values)


def axis(name: str, values: Any) -> Axis:
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
    converted: list[Any] = []
    for item in items:
        value = convert(name, item)
        if value not in converted:
            converted.append(value)
    return name, converted


def _parse_range(name: str, text: str) -> Range:
    parts = text.split(":")
    if len(parts) != 3:
        raise ValueError(f"{name}: range {text!r} is not KIND:LOW:HIGH; write e.g. log:0.01:3")
    try:
        low, high = float(parts[1]), float(parts[2])
    except ValueError:
        raise ValueError(f"{name}: range {text!r} has bounds that are not numbers; "
                         "write e.g. log:0.01:3") from None
    return _check_range(name, Range(parts[0], low, high))


def _check_range(name: str, spec: Range) -> Range:
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


def points(grid: Grid | None, samples: int | None = None, seed: int = 0) -> list[dict[str, Any]]:
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
        combos: list[dict[str, Any]] = [{}]
        for name, values in axes:
            assert isinstance(values, list)  # no ranges (above)
            combos = [{**combo, name: value} for combo in combos for value in values]
        return combos
    if isinstance(samples, bool) or not isinstance(samples, int) or samples < 1:
        raise ValueError(f"samples: expected a positive number of random points, got {samples!r}")
    rng = np.random.default_rng(seed)
    return [{name: values.draw(rng) if isinstance(values, Range)
             else values[int(rng.integers(len(values)))] for name, values in axes}
            for _ in range(samples)]


def _axes(grid: Grid | None) -> list[str | Axis]:
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


def parse_seeds(seeds: Seeds) -> list[int]:
    """A list of distinct non-negative seeds from ints or text such as '1,2,3'."""
    items = seeds.split(",") if isinstance(seeds, str) else [seeds] if isinstance(seeds, int) \
        else list(seeds) if isinstance(seeds, (list, tuple, range)) else None
    if not items:
        raise ValueError(f"seeds: expected a non-empty list of seeds such as 1,2,3, got {seeds!r}")
    result: list[int] = []
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


def base_recipe(recipe: Recipe | str | None = None, **settings: Any) -> Recipe:
    """The recipe a sweep starts from: a ``Recipe``, a preset name or None (the
    default preset), with ``settings`` (train flag values) laid over it."""
    if recipe is None or isinstance(recipe, str):
        name = recipe or DEFAULT_PRESET
        if name not in PRESETS:
            raise ValueError(f"recipe: unknown preset {name!r}; pass a Recipe or one of "
                             f"{', '.join(PRESETS)}")
        start: Recipe = Recipe.from_dict({**PRESETS[name].settings, "preset": name})
    elif isinstance(recipe, Recipe):
        start = recipe
    else:
        raise TypeError(f"recipe: expected a fastnet.recipe.Recipe or a preset name, got {recipe!r}")
    changes = {"seed" if name == "seed" else _name(name):
               value if name == "seed" else convert(name, value)
               for name, value in settings.items() if value is not None}
    if "minutes" in changes and "epochs" not in changes:  # as fastnet train: as many as fit
        changes["epochs"] = None
    return apply(start, changes)


def apply(recipe: Recipe, changes: Mapping[str, Any]) -> Recipe:
    """``recipe`` with settings changed as ``fastnet train`` flags would change it
    (``early_stopping`` 0 means never; an int ``hidden`` is one hidden layer;
    ``optimizer`` is ``optimizer_name``)."""
    changes = {"optimizer_name" if name == OPTIMIZER else name:
               (value,) if name == "hidden" and isinstance(value, int) else value
               for name, value in changes.items()}
    if changes.get("early_stopping") == 0:
        changes["early_stopping"] = None
    recipe = recipe.replace(**changes)
    floats = {field.name: float(getattr(recipe, field.name)) for field in dataclasses.fields(recipe)
              if field.type is float}
    return recipe.replace(**floats)
