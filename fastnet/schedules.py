"""Learning-rate schedules: the eta of the next epoch, from the history so far.

A schedule is any callable ``schedule(epoch, eta0, history) -> eta``; epoch
counts from 0 and ``history`` holds the finished epochs (see ``SGD``).  Since
every schedule here is a pure function of the history, resuming a run needs no
extra state.  Two optional hooks let a schedule take part in a run without the
optimizer knowing its type: ``for_run(epochs, seconds)`` returns the schedule
to use for a run of that many epochs and/or seconds of wall-clock time
(``Cosine`` without a length anneals over the run, ``Step(at=...)`` and
``Warmup`` measure the run), and ``stop_reason(eta, eta0)`` says why training
should stop before an epoch at ``eta`` (``Plateau``'s stop at eta0·min_ratio),
or None.  A run against a clock (``fit(..., time_budget=s)``) is measured by
the wall seconds of its finished epochs (``history["wall_seconds"]``), so a
resumed run goes on where it stopped: see ``run_fraction``.
``make_schedule`` turns names such as "constant", "step", "exponential",
"cosine", "plateau" or "warmup" into these objects.  ``describe_schedule``
turns them into JSON-able dicts (for checkpoints) that ``make_schedule`` reads
back.
"""
from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Sequence
from typing import Any, Union

from .checks import positive_int, real

History = dict[str, list]  # the finished epochs' values by history key (see fastnet.optim.HISTORY_KEYS)
ScheduleFunction = Callable[[int, float, History], float]  # schedule(epoch, eta0, history) -> eta
Schedule = Union[str, dict[str, Any], ScheduleFunction]  # what make_schedule (and fit's schedule=) takes


def run_fraction(epoch: int, history: History, epochs: int | None = None,
                 seconds: float | None = None) -> float:
    """How much of a run is done before ``epoch`` (0 to 1): epoch/epochs or the
    wall seconds of the finished epochs / seconds, whichever is larger (the run
    ends when either is used up); 0 when neither length is known."""
    done = 0.0 if epochs is None else epoch / epochs
    if seconds is not None:
        done = max(done, math.fsum(history.get("wall_seconds", ())[:epoch]) / seconds)
    return min(done, 1.0)


class _RunLength:
    """A schedule measured in fractions of its run: ``epochs`` and/or wall
    ``seconds``, None until ``for_run`` sets them."""

    def _check_length(self, epochs: int | None, seconds: float | None) -> None:
        self.epochs = None if epochs is None else positive_int("epochs", epochs)
        self.seconds = None if seconds is None else real("seconds", seconds, 0.0, low_open=True)

    def for_run(self, epochs: int | None, seconds: float | None = None) -> Any:
        """This schedule, or a copy measuring a run of ``epochs`` epochs and/or
        ``seconds`` seconds if it has no length of its own."""
        if self.epochs is not None or self.seconds is not None:
            return self
        return type(self)(**{**vars(self), "epochs": epochs, "seconds": seconds})

    def done(self, epoch: int, history: History) -> float:
        """The fraction of the run done before ``epoch`` (see ``run_fraction``)."""
        if self.epochs is None and self.seconds is None:
            raise ValueError(f"{type(self).__name__}: the number of epochs is unknown (and no "
                             "time budget); pass epochs=N or seconds=S, or use it through fit")
        return run_fraction(epoch, history, self.epochs, self.seconds)


class Constant:
    """eta0 every epoch."""

    def __call__(self, epoch: int, eta0: float, history: History) -> float:
        return eta0

    def __repr__(self) -> str:
        return "Constant()"


class Step(_RunLength):
    """eta0 · factor^(epoch // every); with ``at`` (fractions of the run, e.g.
    (0.5, 0.75)) eta0 · factor^(how many of them the run has passed), for a run
    of ``epochs`` and/or wall ``seconds`` (None: the run's, see ``for_run``)."""

    def __init__(self, every: int = 10, factor: float = 0.5, at: Sequence[float] | None = None,
                 epochs: int | None = None, seconds: float | None = None) -> None:
        self.every = positive_int("every", every)
        self.factor = real("factor", factor, 0.0, 1.0, low_open=True)
        if at is not None:
            if isinstance(at, (str, bytes)) or not hasattr(at, "__iter__"):
                raise TypeError(f"at: expected fractions of the run such as (0.5, 0.75), got {at!r}")
            at = tuple(real("at", value, 0.0, 1.0, low_open=True, high_open=True) for value in at)
            if not at or list(at) != sorted(set(at)):
                raise ValueError(f"at: expected increasing fractions of the run in (0, 1) such "
                                 f"as (0.5, 0.75), got {at!r}")
        self.at = at
        self._check_length(epochs, seconds)

    def for_run(self, epochs: int | None, seconds: float | None = None) -> Step:
        """With ``at``: measure the run (see ``_RunLength.for_run``); else this schedule."""
        return self if self.at is None else super().for_run(epochs, seconds)

    def __call__(self, epoch: int, eta0: float, history: History) -> float:
        if self.at is None:
            return eta0 * self.factor ** (epoch // self.every)
        done = self.done(epoch, history)
        return eta0 * self.factor ** sum(done >= point for point in self.at)

    def __repr__(self) -> str:
        if self.at is None:
            return f"Step(every={self.every}, factor={self.factor})"
        return f"Step(factor={self.factor}, at={self.at}, epochs={self.epochs}, seconds={self.seconds})"


class Exponential:
    """eta0 · gamma^epoch."""

    def __init__(self, gamma: float = 0.95) -> None:
        self.gamma = real("gamma", gamma, 0.0, 1.0, low_open=True)

    def __call__(self, epoch: int, eta0: float, history: History) -> float:
        return eta0 * self.gamma ** epoch

    def __repr__(self) -> str:
        return f"Exponential(gamma={self.gamma})"


class Cosine(_RunLength):
    """Cosine annealing from eta0 down to eta0·floor over a run of ``epochs``
    epochs and/or ``seconds`` of wall-clock time (None: the run that uses it,
    see ``for_run``); at the run's end eta is eta0·floor."""

    def __init__(self, epochs: int | None = None, floor: float = 0.0, seconds: float | None = None) -> None:
        self._check_length(epochs, seconds)
        self.floor = real("floor", floor, 0.0, 1.0)

    def __call__(self, epoch: int, eta0: float, history: History) -> float:
        progress = self.done(epoch, history)
        low = eta0 * self.floor
        return low + 0.5 * (eta0 - low) * (1.0 + math.cos(math.pi * progress))

    def __repr__(self) -> str:
        seconds = "" if self.seconds is None else f", seconds={self.seconds}"
        return f"Cosine(epochs={self.epochs}, floor={self.floor}{seconds})"


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


class Warmup(_RunLength):
    """A linear warm-up in front of any ``schedule`` (a name, dict or schedule
    object; None: constant): eta rises from start·eta to the schedule's eta
    over the first ``fraction`` of the run (epochs and/or wall seconds, see
    ``for_run``), then is the schedule's.  The schedule sees its own etas in
    the history, so ``Plateau`` works under it too."""

    def __init__(self, schedule: Schedule | None = None, fraction: float = 0.05, start: float = 0.1,
                 epochs: int | None = None, seconds: float | None = None) -> None:
        self.schedule = make_schedule(schedule)
        if isinstance(self.schedule, Warmup):
            raise ValueError("schedule: a Warmup inside a Warmup; pass the inner schedule "
                             "and one fraction")
        self.fraction = real("fraction", fraction, 0.0, 1.0, low_open=True)
        self.start = real("start", start, 0.0, 1.0, low_open=True)
        self._check_length(epochs, seconds)

    def for_run(self, epochs: int | None, seconds: float | None = None) -> Warmup:
        """A copy measuring this run (or its own length, if it has one), with
        the inner schedule's ``for_run`` applied to the same length."""
        if self.epochs is not None or self.seconds is not None:
            epochs, seconds = self.epochs, self.seconds
        inner = getattr(self.schedule, "for_run", None)
        schedule = self.schedule if inner is None else inner(epochs, seconds)
        return Warmup(schedule, self.fraction, self.start, epochs, seconds)

    def factor(self, epoch: int, history: History) -> float:
        """The warm-up's multiplier of the inner schedule's eta before ``epoch``."""
        ramp = min(self.done(epoch, history) / self.fraction, 1.0)
        return self.start + (1.0 - self.start) * ramp

    def __call__(self, epoch: int, eta0: float, history: History) -> float:
        etas = history.get("eta")
        if etas:  # the inner schedule's own etas, without the warm-up
            history = {**history, "eta": [eta / self.factor(i, history) for i, eta in enumerate(etas)]}
        return self.factor(epoch, history) * self.schedule(epoch, eta0, history)

    def stop_reason(self, eta: float, eta0: float) -> str | None:
        """The inner schedule's stop rule, if it has one."""
        stop = getattr(self.schedule, "stop_reason", None)
        return None if stop is None else stop(eta, eta0)

    def describe(self) -> dict[str, Any] | None:
        """JSON-able parameters (the inner schedule as its dict, None if custom)."""
        inner = describe_schedule(self.schedule)
        if inner is None:
            return None
        return {"schedule": inner, "fraction": self.fraction, "start": self.start,
                "epochs": self.epochs, "seconds": self.seconds}

    def __repr__(self) -> str:
        return (f"Warmup({self.schedule!r}, fraction={self.fraction}, start={self.start}, "
                f"epochs={self.epochs}, seconds={self.seconds})")


SCHEDULES = {"constant": Constant, "step": Step, "exponential": Exponential,
             "cosine": Cosine, "plateau": Plateau, "warmup": Warmup}


def describe_schedule(schedule: ScheduleFunction) -> dict[str, Any] | None:
    """A schedule of this module as a JSON-able dict ``{"name": ..., **parameters}``
    that ``make_schedule`` turns back into an equal schedule; None for any
    other callable (or a warm-up around one)."""
    for name, kind in SCHEDULES.items():
        if type(schedule) is kind:
            describe = getattr(schedule, "describe", None)
            parameters = vars(schedule) if describe is None else describe()
            return None if parameters is None else {"name": name, **parameters}
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
