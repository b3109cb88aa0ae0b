"""Learning-rate schedules: the eta of the next epoch, from the history so far.

A schedule is any callable ``schedule(epoch, eta0, history) -> eta``; epoch
counts from 0 and ``history`` holds the finished epochs (see ``SGD``).  Since
every schedule here is a pure function of the history, resuming a run needs no
extra state.  Two optional hooks let a schedule take part in a run without the
optimizer knowing its type: ``for_run(epochs)`` returns the schedule to use
for a run of that many epochs (``Cosine`` without a length anneals over the
run), and ``stop_reason(eta, eta0)`` says why training should stop before an
epoch at ``eta`` (``Plateau``'s stop at eta0·min_ratio), or None.
``make_schedule`` turns names such as "constant", "step", "exponential",
"cosine" or "plateau" into these objects.  ``describe_schedule`` turns them
into JSON-able dicts (for checkpoints) that ``make_schedule`` reads back.
"""
from __future__ import annotations

import inspect
import math
from collections.abc import Callable
from typing import Any, Union

from .checks import positive_int, real

History = dict[str, list]  # the finished epochs' values by history key (see fastnet.optim.HISTORY_KEYS)
ScheduleFunction = Callable[[int, float, History], float]  # schedule(epoch, eta0, history) -> eta
Schedule = Union[str, dict[str, Any], ScheduleFunction]  # what make_schedule (and fit's schedule=) takes


class Constant:
    """eta0 every epoch."""

    def __call__(self, epoch: int, eta0: float, history: History) -> float:
        return eta0

    def __repr__(self) -> str:
        return "Constant()"


class Step:
    """eta0 · factor^(epoch // every)."""

    def __init__(self, every: int = 10, factor: float = 0.5) -> None:
        self.every = positive_int("every", every)
        self.factor = real("factor", factor, 0.0, 1.0, low_open=True)

    def __call__(self, epoch: int, eta0: float, history: History) -> float:
        return eta0 * self.factor ** (epoch // self.every)

    def __repr__(self) -> str:
        return f"Step(every={self.every}, factor={self.factor})"


class Exponential:
    """eta0 · gamma^epoch."""

    def __init__(self, gamma: float = 0.95) -> None:
        self.gamma = real("gamma", gamma, 0.0, 1.0, low_open=True)

    def __call__(self, epoch: int, eta0: float, history: History) -> float:
        return eta0 * self.gamma ** epoch

    def __repr__(self) -> str:
        return f"Exponential(gamma={self.gamma})"


class Cosine:
    """Cosine annealing from eta0 down to eta0·floor over ``epochs`` epochs
    (None: the epochs of the run that uses it, see ``for_run``)."""

    def __init__(self, epochs: int | None = None, floor: float = 0.0) -> None:
        self.epochs = None if epochs is None else positive_int("epochs", epochs)
        self.floor = real("floor", floor, 0.0, 1.0)

    def for_run(self, epochs: int) -> Cosine:
        """This schedule, or a copy annealing over ``epochs`` if it has no length."""
        return self if self.epochs is not None else Cosine(epochs, self.floor)

    def __call__(self, epoch: int, eta0: float, history: History) -> float:
        if self.epochs is None:
            raise ValueError("Cosine: the number of epochs is unknown; pass "
                             "Cosine(epochs=N) or use it through fit / SGD.run")
        progress = min(epoch / self.epochs, 1.0)
        low = eta0 * self.floor
        return low + 0.5 * (eta0 - low) * (1.0 + math.cos(math.pi * progress))

    def __repr__(self) -> str:
        return f"Cosine(epochs={self.epochs}, floor={self.floor})"


class Plateau:
    """The book's schedule: multiply eta by ``factor`` whenever the validation
    accuracy has not improved for ``patience`` epochs at the current eta.

    With ``min_ratio``, training stops once eta < eta0·min_ratio
    (the book uses factor 0.5, patience 10, stop at eta0/128).
    """

    def __init__(self, patience: int = 10, factor: float = 0.5, min_ratio: float = 1 / 128) -> None:
        self.patience = positive_int("patience", patience)
        self.factor = real("factor", factor, 0.0, 1.0, low_open=True, high_open=True)
        self.min_ratio = real("min_ratio", min_ratio, 0.0, 1.0)

    def __call__(self, epoch: int, eta0: float, history: History) -> float:
        etas = history["eta"]
        scores = history["validation_accuracy"] or history["training_accuracy"]
        if not etas or not scores:
            return eta0
        eta = etas[-1]
        since = 0
        while since < len(etas) and etas[-1 - since] == eta:
            since += 1
        window = scores[-since:]
        before = max(scores[:-since], default=-math.inf)
        best_at = max(range(len(window)), key=window.__getitem__)
        improved = window[best_at] > before
        stale = len(window) - 1 - best_at if improved else len(window)
        return eta * self.factor if stale >= self.patience else eta

    def stop_reason(self, eta: float, eta0: float) -> str | None:
        """Stop once eta has fallen below eta0·min_ratio."""
        if eta < eta0 * self.min_ratio:
            return f"learning rate fell below eta/{1 / self.min_ratio:g}"
        return None

    def __repr__(self) -> str:
        return f"Plateau(patience={self.patience}, factor={self.factor}, min_ratio={self.min_ratio})"


SCHEDULES = {"constant": Constant, "step": Step, "exponential": Exponential,
             "cosine": Cosine, "plateau": Plateau}


def describe_schedule(schedule: ScheduleFunction) -> dict[str, Any] | None:
    """A schedule of this module as a JSON-able dict ``{"name": ..., **parameters}``
    that ``make_schedule`` turns back into an equal schedule; None for any
    other callable."""
    for name, kind in SCHEDULES.items():
        if type(schedule) is kind:
            return {"name": name, **vars(schedule)}
    return None


def make_schedule(schedule: Schedule | None, epochs: int | None = None) -> ScheduleFunction:
    """A schedule object from None, a name, a dict from ``describe_schedule``
    (``{"name": "step", "every": 5}``: parameters left out take their
    defaults), or a callable.  ``epochs`` is the length of "cosine" by name."""
    if schedule is None:
        return Constant()
    if isinstance(schedule, dict):
        return _schedule_from_dict(schedule, epochs)
    if isinstance(schedule, str):
        if schedule not in SCHEDULES:
            raise ValueError(f"schedule: unknown name {schedule!r}; pass one of "
                             f"{', '.join(map(repr, SCHEDULES))} or a callable "
                             "schedule(epoch, eta0, history) -> eta")
        if schedule == "cosine":
            return Cosine(epochs)
        return SCHEDULES[schedule]()
    if callable(schedule):
        return schedule
    raise TypeError(f"schedule: expected a name or a callable, got {schedule!r}")


def _schedule_from_dict(spec: dict[str, Any], epochs: int | None) -> ScheduleFunction:
    parameters = dict(spec)
    name = parameters.pop("name", None)
    if name not in SCHEDULES:
        raise ValueError(f"schedule: unknown name {name!r} in {spec!r}; pass a dict whose "
                         f"'name' is one of {', '.join(map(repr, SCHEDULES))}")
    kind = SCHEDULES[name]
    if kind is Cosine and epochs is not None:
        parameters.setdefault("epochs", epochs)
    signature = inspect.signature(kind).parameters
    unknown = sorted(set(parameters) - set(signature))
    if unknown:
        raise ValueError(f"schedule: {name!r} has no parameter {', '.join(map(repr, unknown))}; "
                         f"it takes {', '.join(map(repr, signature))}")
    missing = [p for p, info in signature.items()
               if info.default is inspect.Parameter.empty and p not in parameters]
    if missing:
        raise ValueError(f"schedule: {name!r} needs {', '.join(map(repr, missing))}; "
                         f"got {spec!r}")
    return kind(**parameters)
