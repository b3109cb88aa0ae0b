"""The training loop: one owner drives the epochs, whatever the optimizer.

``Network.fit`` hands its arguments to a ``Trainer``, which prepares the data
once, then for every epoch asks the optimizer to train it
(``optimizer.train_epoch``), measures cost and accuracy, records the history,
keeps the best weights, stops early or when a time budget would run out,
detects divergence (and puts everything back as it was before the fit) and
calls the user's callback.  The optimizer
holds only its hyperparameters, state and update rule (``fastnet.optim``);
the engine computes (``fastnet.engine``: the epoch, the evaluation).

    Network.fit ──> Trainer.run ──> optimizer.train_epoch ──> engine.first_order_epoch ──> kernels
                          └──────> engine.evaluate ──> kernels
"""
from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .checks import positive_int, real
from .dataset import Dataset
from .engine import evaluate, scalar
from .divergence import advice, divergence, starting_point, suggest_eta
from .kernels.tunables import STALL_AFTER
from .stall import find_stall

if TYPE_CHECKING:  # network and optim import this module
    from .network import Network
    from .optim import Optimizer

# augment(X, y, epoch) -> the (X, y) to train on in that epoch (X an array, y as given to fit)
Augment = Callable[[NDArray, Any, int], tuple[ArrayLike, ArrayLike | None]]


class DivergenceError(ArithmeticError):
    """Training produced NaN or infinite weights or cost, or a cost or weight that
    blew up (see ``fastnet.divergence``).  ``suggested_eta`` is a learning rate
    that trained without blowing up on a sample of the data (None: none found)."""

    def __init__(self, message: str, suggested_eta: float | None = None) -> None:
        super().__init__(message)
        self.suggested_eta = suggested_eta


class Trainer:
    """Train ``net`` with ``optimizer`` on ``train`` = (X, y).

    ``validation`` is None or (X_val, y_val), evaluated after every epoch;
    ``monitor`` evaluates the training data too (True: a pass for the cost
    and accuracy; "running": the cost of the samples as trained, from the
    optimizer's epoch where it reports one, else from a pass; False: nothing).
    ``sample_weight`` (n,) weighs the training samples.  ``augment(X, y, epoch)``
    returns the (X, y) of an epoch (given a ``Dataset``, its ``toarray()`` and
    targets); ``callback(net, optimizer)`` runs after every epoch;
    ``progress(done, n)`` a few times within one; ``verbose`` prints a line
    per epoch (with the time left); ``restore_best`` ends with the weights of
    the best validation epoch.  ``clock()`` gives the time in seconds (tests
    pass a fake one).
    """

    def __init__(self, net: Network, optimizer: Optimizer, train: tuple[ArrayLike | Dataset, ArrayLike | None],
                 validation: tuple[ArrayLike | Dataset, ArrayLike | None] | None = None,
                 augment: Augment | None = None,
                 monitor: bool | str = True, restore_best: bool = False,
                 callback: Callable[[Network, Optimizer], Any] | None = None,
                 progress: Callable[[int, int], Any] | None = None, verbose: bool = False,
                 clock: Callable[[], float] = time.perf_counter,
                 sample_weight: ArrayLike | None = None) -> None:
        if not (isinstance(monitor, str) and monitor == "running"
                or isinstance(monitor, (bool, np.bool_))):
            raise TypeError(f"monitor: expected True (a pass over the training data after each "
                            f"epoch), 'running' (the cost as trained, no pass) or False, got "
                            f"{monitor!r}")
        if augment is not None and sample_weight is not None:
            raise ValueError("sample_weight: cannot follow augment's new samples each epoch; pass "
                             "augment=None, or weigh the samples by repeating them")
        self.sample_weight = sample_weight
        self.net, self.optimizer = net, optimizer
        self.train, self.validation = train, validation
        self.augment, self.monitor, self.restore_best = augment, monitor, restore_best
        self.callback, self.progress, self.verbose = callback, progress, verbose
        self.clock = clock

    def run(self, epochs: int | None, time_budget: float | None = None) -> dict[str, list]:
        """Train until ``optimizer.epoch == epochs`` (None: no limit), until the
        next epoch would not fit in ``time_budget`` seconds of wall-clock time
        (None: no limit), or an early stop; return the history.  The budget
        counts the whole run: a resumed optimizer's earlier epochs too."""
        net, optimizer = self.net, self.optimizer
        if time_budget is not None:
            time_budget = real("time_budget", time_budget, 0.0, low_open=True)
        if epochs is None and time_budget is None:
            raise ValueError("epochs: None (no limit) needs a time_budget in seconds; pass "
                             "epochs=N or time_budget=seconds")
        epochs = None if epochs is None else positive_int("epochs", epochs)
        self.epochs, self.time_budget = epochs, time_budget
        started = self.clock()
        if (optimizer.early_stopping or self.restore_best) and self.validation is None:
            raise ValueError("early_stopping / restore_best: need validation data; pass "
                             "validation=(X_val, y_val)")
        data = self.data = net.with_targets(*self.train, name="X", sample_weight=self.sample_weight)
        source: tuple[Any, Any] = self.train
        if self.augment is not None and isinstance(source[0], Dataset):  # augment takes arrays
            source = data.toarray(), data.y if source[1] is None else source[1]
        valid = None if self.validation is None else net.with_targets(*self.validation, name="validation")
        for name, value in zip(("l2/n", "l1/n"), optimizer.regularisation()):
            scalar(net.dtype, name, value / data.n)  # ValueError if it overflows the network's dtype
        optimizer.start(net, data, epochs, time_budget)
        before = self._snapshot()
        net.regularisation = (*optimizer.regularisation(), data.n)
        try:  # the cost before the fit, with this fit's regularisation term as every epoch's has
            self.start = starting_point(net, data)
        except ValueError:  # X's scale overflows the dtype (not eta's fault)
            self._roll_back(before)
            raise
        optimizer.stop_reason = optimizer.stop_request = None
        self._pad_seconds()
        mark = started  # the end of the last epoch (or the start of the fit)
        while epochs is None or optimizer.epoch < epochs:
            request, optimizer.stop_request = optimizer.stop_request, None
            optimizer.stop_reason = (request or optimizer.stop_reason_before_epoch()
                                     or self._patience_ran_out()
                                     or self._budget_ran_out(self.clock() - mark))
            if optimizer.stop_reason:
                break
            waited = 0.0
            if self.augment is not None:
                asked = self.clock()
                X, y = self.augment(*source, optimizer.epoch)
                waited = self.clock() - asked
                data = net.with_targets(X, y, name="augment(X)")
            row = optimizer.train_epoch(net, data, self.progress)
            row["wait_seconds"] = waited
            optimizer.epoch += 1
            net.epochs_trained += 1
            running = row.pop("training_cost", None)
            if isinstance(self.monitor, str):  # "running"
                row["training_cost"] = (evaluate(net, data, check_finite=False)[0]
                                        if running is None else running)
            elif self.monitor:  # check=False: non-finite outputs here are divergence
                row["training_cost"], row["training_accuracy"] = evaluate(net, data,
                                                                          check_finite=False)
            if valid is not None:
                row["validation_cost"], row["validation_accuracy"] = evaluate(net, valid,
                                                                              check_finite=False)
            row = {key: value for key, value in row.items() if value is not None}
            self._check_divergence(before, row)
            now = self.clock()  # (the callback's time counts in the next epoch)
            row["wall_seconds"], mark = now - mark, now
            self._record(row)
            if self.verbose:
                print(format_epoch(optimizer.epoch, epochs, row) + self._time_left(), flush=True)
            self._watch_for_stall(valid, data)
            if self.callback is not None:
                self.callback(net, optimizer)
        self._stall_at_the_end(valid, data)
        if self.restore_best and optimizer.best_weights is not None:
            net.parameters.theta[:] = optimizer.best_weights
        return optimizer.history

    # ------------------------------------------------------------ policy
    def _pad_seconds(self):
        """Histories from before the wall clock was recorded (a checkpoint of an
        older fastnet) get its entries: the training seconds, and no wait."""
        history = self.optimizer.history
        for key, like in (("wall_seconds", "epoch_seconds"), ("wait_seconds", None)):
            if key in history and len(history[key]) < len(history["epoch_seconds"]):
                known = len(history[key])
                history[key] += [0.0 if like is None else history[like][i]
                                 for i in range(known, len(history["epoch_seconds"]))]

    def elapsed(self, running: float = 0.0) -> float:
        """Wall seconds of the run so far: its finished epochs plus ``running``."""
        return math.fsum(self.optimizer.history.get("wall_seconds", ())) + running

    def _budget_ran_out(self, running):
        """The stop reason once the next epoch, expected to take as long as the
        last one, would end past the time budget (None: go on).  The first
        epoch of a fit always runs unless the budget is spent."""
        if self.time_budget is None:
            return None
        used = self.elapsed(running)
        last = self.optimizer.history.get("wall_seconds") or [0.0]
        if used + last[-1] > self.time_budget:
            return (f"time budget of {self.time_budget:g} s: {used:.1f} s used, the next epoch "
                    f"would take about {last[-1]:.1f} s more")
        return None

    def time_left(self) -> float | None:
        """Expected wall seconds until the run ends (see ``time_left``)."""
        return time_left(self.optimizer, self.epochs, self.time_budget)

    def _time_left(self):
        """' left m:ss' for the verbose line."""
        return left_text(self.time_left())

    def _patience_ran_out(self):
        """The early-stopping reason, once the validation accuracy has not
        improved for ``early_stopping`` epochs (None: go on)."""
        patience = self.optimizer.early_stopping
        scores = self.optimizer.history["validation_accuracy"]
        if patience and scores:
            since_best = len(scores) - 1 - int(np.argmax(scores))
            if since_best >= patience:
                return f"no improvement in validation accuracy for {since_best} epochs"
        return None

    def _record(self, row):
        """Append the epoch's values to the history and keep the best weights."""
        optimizer = self.optimizer
        for key in optimizer.history_keys:
            if row.get(key) is not None:
                optimizer.history[key].append(row[key])
        scores = optimizer.history["validation_accuracy"]
        if "validation_accuracy" in row and row["validation_accuracy"] > max(scores[:-1], default=-1.0):
            optimizer.best_epoch = optimizer.epoch
            optimizer.best_weights = self.net.parameters.theta.copy()

    # ------------------------------------------------------------ stalls
    def _watch_for_stall(self, valid, data):
        """From epoch ``STALL_AFTER`` on, until found: is a class never predicted?
        Kept in ``optimizer.stall`` (checkpoints and history.json record it);
        with ``verbose``, said in one line."""
        optimizer = self.optimizer
        if optimizer.stall is not None or optimizer.epoch < STALL_AFTER:
            return
        where = "training" if valid is None else "validation"
        optimizer.stall = find_stall(self.net, data if valid is None else valid, where,
                                     optimizer.epoch)
        if optimizer.stall is not None and self.verbose:
            print(f"warning  {optimizer.stall['message']}", flush=True)

    def _stall_at_the_end(self, valid, data):
        """A stall the run got out of by its end is marked ``recovered`` (the epoch)."""
        stall = self.optimizer.stall
        if stall is None or "recovered" in stall:
            return
        still = find_stall(self.net, data if valid is None else valid, stall["data"],
                           self.optimizer.epoch)
        if still is None:
            stall["recovered"] = self.optimizer.epoch
        elif self.verbose:
            print(f"warning  {still['message']}", flush=True)

    # -------------------------------------------------------- divergence
    def _snapshot(self):
        """What a diverged run puts back: the network's and the optimizer's state."""
        net, optimizer = self.net, self.optimizer
        return dict(theta=net.parameters.theta.copy(), epochs_trained=net.epochs_trained,
                    regularisation=net.regularisation, epoch=optimizer.epoch,
                    values=dict(optimizer.state_values()),
                    arrays={k: None if a is None else a.copy()
                            for k, a in optimizer.state_arrays().items()},
                    best=(optimizer.best_weights, optimizer.best_epoch), stall=optimizer.stall,
                    lengths={key: len(values) for key, values in optimizer.history.items()})

    def _check_divergence(self, before, row):
        """Put everything back as before the fit and raise if the epoch diverged
        (see ``fastnet.divergence`` for when, and for the suggested eta)."""
        reason = divergence(self.net, row, self.start)
        if reason is None:
            return
        failed = self.optimizer.epoch
        self._roll_back(before)
        eta, name = row.get("eta"), self.optimizer.eta_name
        hint = f" ({name}={eta:g})" if eta is not None else ""
        suggestion = suggest_eta(self.net, self.optimizer, self.data, self.start)
        raise DivergenceError(
            f"training diverged in epoch {failed}{hint}: {reason}. The network and the "
            f"optimizer are back to what they were before fit{advice(eta, suggestion, name)}",
            suggestion)

    def _roll_back(self, before):
        net, optimizer = self.net, self.optimizer
        net.parameters.theta[:] = before["theta"]
        net.epochs_trained = before["epochs_trained"]
        net.regularisation = before["regularisation"]
        optimizer.epoch = before["epoch"]
        optimizer.set_state(before["values"], before["arrays"])
        optimizer.best_weights, optimizer.best_epoch = before["best"]
        optimizer.stall = before["stall"]
        for key, length in before["lengths"].items():
            del optimizer.history[key][length:]


def time_left(optimizer: Optimizer, epochs: int | None, time_budget: float | None) -> float | None:
    """Expected wall seconds until ``optimizer``'s run of ``epochs`` epochs and/or
    ``time_budget`` seconds ends: the budget left, or the epochs left at the mean
    epoch time so far, whichever is less (None before the first epoch)."""
    seconds = optimizer.history.get("wall_seconds")
    if not seconds:
        return None
    left = []
    if time_budget is not None:
        left.append(max(time_budget - math.fsum(seconds), 0.0))
    if epochs is not None:
        left.append(max(epochs - optimizer.epoch, 0) * math.fsum(seconds) / len(seconds))
    return min(left) if left else None


def left_text(seconds: float | None) -> str:
    """'  left m:ss' for an epoch's line ('' for None)."""
    if seconds is None:
        return ""
    minutes, seconds = divmod(round(seconds), 60)
    return f"  left {minutes}:{seconds:02d}"


def format_epoch(epoch: int, epochs: int | None, row: dict[str, Any]) -> str:
    """One human-readable line for a finished epoch (``epochs`` None: no limit)."""
    parts = [f"epoch {epoch:>3}" + ("" if epochs is None else f"/{epochs}")]
    for part, label in (("training", "train"), ("validation", "val")):
        if f"{part}_cost" in row:
            accuracy = row.get(f"{part}_accuracy")
            parts.append(f"{label} cost {row[part + '_cost']:.4f}"
                         + ("" if accuracy is None else f" acc {100 * accuracy:.2f}%"))
    if row.get("eta") is not None:
        parts.append(f"eta {row['eta']:.4g}")
    parts.append(f"{row['epoch_seconds']:.3f} s")
    return "  ".join(parts)
