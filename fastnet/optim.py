"""Optimizers: hyperparameters, state and update rule — nothing else.

The epochs are driven by ``fastnet.training.Trainer``; an optimizer only says
how one epoch changes the parameters.  Every optimizer subclasses
``Optimizer``, which also carries the progress of its run (epoch count,
history, best epoch and weights, stop reason) so that a checkpoint holds one
object to resume from.  A subclass names itself (``name``, used in
checkpoints) and implements:

    hyperparameters()        -> dict of the constructor's arguments
    start(net, data, epochs) -> allocate or check its state for this network
    train_epoch(net, data, progress) -> dict of this epoch's history values
    next_eta(), stop_reason() (optional), state_values() / state_arrays() /
    set_state(values, arrays) (when it has state).

``SGD``, ``Adam`` and ``AdamW`` share ``FirstOrder`` (the mini-batch
settings); their update rules run compiled (``kernels/update.py``).
``SGD`` is mini-batch stochastic gradient descent.  Regularisation follows
the book: with n the training-set size, L2 adds l2/(2n)·Σw² to the cost, so
each plain-SGD step multiplies the weights by (1 − eta·l2/n); L1 adds
l1/n·Σ|w|.  Biases are not regularised.  PyTorch's ``weight_decay=wd`` with
``lr=eta`` matches ``l2 = wd·n``.
"""
from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .checks import positive_int, real
from .engine import first_order_epoch
from .schedules import Schedule, make_schedule
from .training import Trainer

if TYPE_CHECKING:  # network imports this module
    from .dataset import Dataset
    from .network import Network

HISTORY_KEYS = ("training_cost", "training_accuracy", "validation_cost",
                "validation_accuracy", "eta", "epoch_seconds", "wall_seconds", "wait_seconds")
# The history's clock readings: epoch_seconds (the compiled training loop),
# wall_seconds (the whole epoch: waiting for data, training, evaluating, the
# callback; the first one also the fit's set-up) and wait_seconds (of those,
# the wait for the epoch's data from ``augment``).
SECONDS_KEYS = ("epoch_seconds", "wall_seconds", "wait_seconds")


class Optimizer:
    """What every optimizer shares: early stopping and the progress of its run.

    ``early_stopping`` is a patience in epochs without improvement of the
    validation accuracy (None: never stop).  ``epoch``, ``history``,
    ``best_epoch``, ``best_weights`` and ``stop_reason`` are written by the
    ``Trainer``; ``history_keys`` lists the history's keys (subclasses may add
    their own after ``HISTORY_KEYS``).  A ``fit`` callback may set
    ``stop_request`` (a reason) to end the run before the next epoch; the
    ``Trainer`` then makes it the ``stop_reason`` (a request left when
    the last epoch ends the run is dropped when the next run starts).
    """
    name: str | None = None
    history_keys: tuple[str, ...] = HISTORY_KEYS
    eta_name = "eta"  # the learning rate's name in messages (a wrapper may use its own)
    stop_request: str | None = None  # set by a callback: see above
    registry: dict[str, type[Optimizer]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.name is not None:
            Optimizer.registry[cls.name] = cls

    def __init__(self, early_stopping: int | None = None) -> None:
        self.early_stopping = None if early_stopping is None else \
            positive_int("early_stopping", early_stopping)
        self.epoch = 0
        self.history: dict[str, list] = {key: [] for key in self.history_keys}
        self.best_weights: NDArray | None = None
        self.best_epoch: int | None = None
        self.stop_reason: str | None = None
        self.stall: dict[str, Any] | None = None  # a class never predicted: see fastnet.stall

    # ---------------------------------------------------- for subclasses
    def hyperparameters(self) -> dict[str, Any]:
        """The constructor's arguments as a dict: ``type(opt)(**opt.hyperparameters())``
        starts a fresh run with the same settings."""
        return {"early_stopping": self.early_stopping}

    def start(self, net: Network, data: Dataset, epochs: int | None, seconds: float | None = None) -> None:
        """Get ready to train ``net`` on the prepared ``data`` up to ``epochs``
        (None: no limit) or ``seconds`` of wall-clock time (None: no limit):
        allocate the state, or check that the state held fits this network."""

    def train_epoch(self, net: Network, data: Dataset,
                    progress: Callable[[int, int], Any] | None = None) -> dict[str, Any]:
        """Run one epoch on ``net``'s parameters, in place; return its history
        values, at least ``{"epoch_seconds": s}``, and where the method
        computes it as it goes, ``"training_cost"``: the mean cost of the
        samples as trained plus the regularisation term (``fit``'s
        ``monitor="running"``)."""
        raise NotImplementedError

    def next_eta(self) -> float | None:
        """The learning rate of the coming epoch (None if the method has none)."""
        return None

    def stop_reason_before_epoch(self) -> str | None:
        """Why the method itself wants to stop before the coming epoch (None: go on)."""
        return None

    def regularisation(self) -> tuple[float, float]:
        """(l2, l1) that this optimizer adds to the cost (the book's λ's)."""
        return 0.0, 0.0

    def state_values(self) -> dict[str, Any]:
        """The optimizer's scalar state, JSON-able (e.g. a damping factor)."""
        return {}

    def state_arrays(self) -> dict[str, NDArray]:
        """The optimizer's array state: name -> flat array laid out like the
        network's parameters (e.g. ``{"velocity": v}``); empty before ``start``."""
        return {}

    def set_state(self, values: dict[str, Any], arrays: dict[str, NDArray]) -> None:
        """Put back what ``state_values`` and ``state_arrays`` returned."""

    # --------------------------------------------------------------- shared
    def __repr__(self) -> str:
        arguments = ", ".join(f"{key}={value!r}" for key, value in self.hyperparameters().items())
        return f"{type(self).__name__}({arguments})"

    def check_state_shape(self, net: Network) -> None:
        """Raise ValueError when any state array is not laid out like ``net``'s
        parameters (e.g. an optimizer taken from a network of another size)."""
        expected = net.parameters.theta.shape
        for key, array in self.state_arrays().items():
            if array is not None and (array.shape != expected or array.dtype != net.dtype):
                raise ValueError(
                    f"optimizer: its {key} has shape {array.shape} ({array.dtype}) but this "
                    f"network's parameters have shape {expected} ({net.dtype}); it belongs to "
                    f"another network: pass a fresh optimizer, e.g. "
                    f"fastnet.{type(self).__name__}(**optimizer.hyperparameters())")
        if self.best_weights is not None and self.best_weights.shape != expected:
            raise ValueError(f"optimizer: its best_weights have shape {self.best_weights.shape} but "
                             f"this network's parameters have shape {expected}; pass a fresh optimizer")


class FirstOrder(Optimizer):
    """What the mini-batch gradient optimizers (``SGD``, ``Adam``, ``AdamW``)
    share: the learning rate ``eta`` of each epoch from ``schedule`` (see
    ``fastnet.schedules``), ``batch_size``, L2 in the book's units (``l2``/n
    per sample of n), ``dropout``, gradient-norm clipping and early stopping.

    ``clip_norm``: before each update, the mini-batch gradient of the cost
    (every weight and bias; L2 and L1 are added after) is scaled down to this
    L2 norm where its norm is larger (None: never), as
    ``torch.nn.utils.clip_grad_norm_`` does before a step.  ``lr`` is
    PyTorch's name for ``eta``: pass one of them.
    A subclass names its update rule (``update_rule``) and the arrays it
    keeps (``update_arrays``); ``train_epoch`` hands both to the engine
    (``fastnet.engine.first_order_epoch``), whose compiled epoch
    (``kernels/update.py``) applies them.  ``steps`` counts the updates made so far (Adam's t).
    """
    name: str | None = None

    def __init__(self, eta: float | None, batch_size: int, l2: float, dropout: float,
                 schedule: Schedule | None, clip_norm: float | None, early_stopping: int | None,
                 lr: float | None, default_eta: float) -> None:
        super().__init__(early_stopping)
        if lr is not None and eta is not None:
            raise TypeError("lr: PyTorch's name for eta; pass one of eta and lr, not both")
        self.eta = real("eta", default_eta if lr is None and eta is None else
                        lr if eta is None else eta, 0.0, low_open=True)
        self.batch_size = positive_int("batch_size", batch_size)
        self.l2 = real("l2", l2)
        self.dropout = real("dropout", dropout, 0.0, 1.0, high_open=True)
        self.schedule = make_schedule(schedule)
        self.clip_norm = None if clip_norm is None else real("clip_norm", clip_norm, 0.0,
                                                             low_open=True)
        self.steps = 0

    def hyperparameters(self) -> dict[str, Any]:
        """The constructor's arguments as a dict (the schedule object is shared)."""
        return {"eta": self.eta, "batch_size": self.batch_size, "l2": self.l2,
                "dropout": self.dropout, "schedule": self.schedule, "clip_norm": self.clip_norm,
                "early_stopping": self.early_stopping}

    def update_rule(self) -> dict[str, Any]:
        """The update's settings for the compiled epoch: ``rule`` ("sgd",
        "adam" or "adamw"), ``l2``, ``clip_norm`` and the rule's own."""
        return {"rule": "sgd", "l2": self.l2, "clip_norm": self.clip_norm}

    def update_arrays(self) -> tuple[NDArray, NDArray | None]:
        """The update's state (p,) laid out like the parameters: SGD's velocity
        or Adam's first moment, and Adam's second moment (SGD: None)."""
        raise NotImplementedError

    def allocate(self, net: Network) -> None:
        """Make the zeroed state arrays for ``net`` where there are none."""
        raise NotImplementedError

    def start(self, net: Network, data: Dataset, epochs: int | None, seconds: float | None = None) -> None:
        """Fix a run-length schedule's length (e.g. "cosine") and make the state."""
        for_run = getattr(self.schedule, "for_run", None)
        if for_run is not None:
            self.schedule = for_run(epochs) if seconds is None else for_run(epochs, seconds)
        self.allocate(net)
        self.check_state_shape(net)

    def next_eta(self) -> float:
        """The learning rate of the coming epoch, from the schedule."""
        return float(self.schedule(self.epoch, self.eta, self.history))

    def stop_reason_before_epoch(self) -> str | None:
        """The schedule's own stop rule (e.g. the book's plateau schedule stops
        once eta has fallen far enough)."""
        stop = getattr(self.schedule, "stop_reason", None)
        return None if stop is None else stop(self.next_eta(), self.eta)

    def regularisation(self) -> tuple[float, float]:
        return self.l2, 0.0

    def train_epoch(self, net: Network, data: Dataset,
                    progress: Callable[[int, int], Any] | None = None) -> dict[str, Any]:
        eta = self.next_eta()
        if not eta > 0.0 or not np.isfinite(eta):
            raise ValueError(f"schedule: returned eta={eta!r} for epoch {self.epoch + 1}; a "
                             "schedule must return a finite learning rate above 0")
        seconds, cost = first_order_epoch(net, data, eta, self.update_rule(), self.update_arrays(),
                                          self.batch_size, self.dropout, self.steps, progress)
        self.steps += -(-data.n // self.batch_size)
        return {"eta": eta, "epoch_seconds": seconds,
                "training_cost": cost + net.regularisation_term()}

    def state_values(self) -> dict[str, Any]:
        return {"steps": self.steps}

    def set_state(self, values: dict[str, Any], arrays: dict[str, NDArray]) -> None:
        steps = values.get("steps", 0)  # absent in checkpoints of fastnet 0.2
        if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 0:
            raise ValueError(f"steps: expected a count of updates (an integer >= 0), got {steps!r}")
        self.steps = int(steps)


class SGD(FirstOrder):
    """Mini-batch stochastic gradient descent with momentum (or Nesterov), L2,
    L1, dropout and gradient-norm clipping (see ``FirstOrder``); the learning
    rate of each epoch (``eta``, default 0.5) comes from ``schedule``.
    Parameters mirror ``Network.fit``.
    """
    name: str | None = "sgd"  # a subclass may set None: then it is not registered

    def __init__(self, eta: float | None = None, batch_size: int = 10, momentum: float = 0.0,
                 nesterov: bool = False, l2: float = 0.0, l1: float = 0.0, dropout: float = 0.0,
                 schedule: Schedule | None = None, early_stopping: int | None = None,
                 clip_norm: float | None = None, *, lr: float | None = None) -> None:
        super().__init__(eta, batch_size, l2, dropout, schedule, clip_norm, early_stopping, lr,
                         default_eta=0.5)
        self.momentum = real("momentum", momentum, 0.0, 1.0, high_open=True)
        if not isinstance(nesterov, (bool, np.bool_)):
            raise TypeError(f"nesterov: expected True or False, got {nesterov!r}")
        self.nesterov = bool(nesterov)
        self.l1 = real("l1", l1)
        self.velocity: NDArray | None = None

    def hyperparameters(self) -> dict[str, Any]:
        return {"eta": self.eta, "batch_size": self.batch_size, "momentum": self.momentum,
                "nesterov": self.nesterov, "l2": self.l2, "l1": self.l1, "dropout": self.dropout,
                "schedule": self.schedule, "early_stopping": self.early_stopping,
                "clip_norm": self.clip_norm}

    def update_rule(self) -> dict[str, Any]:
        return {**super().update_rule(), "momentum": self.momentum, "nesterov": self.nesterov,
                "l1": self.l1}

    def update_arrays(self) -> tuple[NDArray, NDArray | None]:
        assert self.velocity is not None, "start() makes the velocity"
        return self.velocity, None

    def allocate(self, net: Network) -> None:
        if self.velocity is None:
            self.velocity = net.parameters.zeros()

    def regularisation(self) -> tuple[float, float]:
        return self.l2, self.l1

    def state_arrays(self) -> dict[str, NDArray]:
        return {} if self.velocity is None else {"velocity": self.velocity}

    def set_state(self, values: dict[str, Any], arrays: dict[str, NDArray]) -> None:
        super().set_state(values, arrays)
        self.velocity = arrays.get("velocity")

    def run(self, net: Network, train: tuple[ArrayLike | Dataset, ArrayLike | None],
            validation: tuple[ArrayLike | Dataset, ArrayLike | None] | None, epochs: int,
            **options: Any) -> dict[str, list]:
        """Deprecated: use ``net.fit(X, y, epochs, optimizer=sgd, ...)``."""
        warnings.warn("SGD.run is deprecated; use net.fit(X, y, epochs, optimizer=sgd, ...)",
                      DeprecationWarning, stacklevel=2)
        return Trainer(net, self, train, validation, **options).run(epochs)


class Adam(FirstOrder):
    """Adam (Kingma & Ba 2015): each parameter's step is eta (default 0.001) times its
    gradient's running mean over the root of its running mean square, both
    bias-corrected (``kernels/update.py`` has the formulas).  The learning
    rate of each epoch comes from ``schedule`` (e.g. ``Warmup("cosine")``).

    ``l2`` is the book's L2 added to the cost (l2/n per sample), so its
    gradient (l2/n)·w joins the weights' gradient before the moments, like
    ``torch.optim.Adam(weight_decay=l2/n)`` — which also decays the biases;
    fastnet never does.  ``beta1``, ``beta2``: the moments' decay rates in
    [0, 1); ``eps`` > 0 keeps the division finite.  ``clip_norm``,
    ``dropout``, ``early_stopping``, ``lr`` as for ``FirstOrder``.  The
    moments (``first_moment``, ``second_moment``) and the update count
    ``steps`` are kept in checkpoints, so a resumed run continues exactly.
    """
    name: str | None = "adam"

    def __init__(self, eta: float | None = None, batch_size: int = 32, beta1: float = 0.9,
                 beta2: float = 0.999, eps: float = 1e-8, l2: float = 0.0, dropout: float = 0.0,
                 schedule: Schedule | None = None, clip_norm: float | None = None,
                 early_stopping: int | None = None, *, lr: float | None = None) -> None:
        super().__init__(eta, batch_size, l2, dropout, schedule, clip_norm, early_stopping, lr,
                         default_eta=1e-3)
        self.beta1 = real("beta1", beta1, 0.0, 1.0, high_open=True)
        self.beta2 = real("beta2", beta2, 0.0, 1.0, high_open=True)
        self.eps = real("eps", eps, 0.0, low_open=True)
        self.first_moment: NDArray | None = None
        self.second_moment: NDArray | None = None

    def hyperparameters(self) -> dict[str, Any]:
        return {"eta": self.eta, "batch_size": self.batch_size, "beta1": self.beta1,
                "beta2": self.beta2, "eps": self.eps, "l2": self.l2, "dropout": self.dropout,
                "schedule": self.schedule, "clip_norm": self.clip_norm,
                "early_stopping": self.early_stopping}

    def update_rule(self) -> dict[str, Any]:
        return {**super().update_rule(), "rule": "adam", "beta1": self.beta1,
                "beta2": self.beta2, "eps": self.eps}

    def update_arrays(self) -> tuple[NDArray, NDArray | None]:
        assert self.first_moment is not None, "start() makes the moments"
        return self.first_moment, self.second_moment

    def allocate(self, net: Network) -> None:
        if self.first_moment is None or self.second_moment is None:
            self.first_moment, self.second_moment = (net.parameters.zeros() for _ in range(2))

    def state_arrays(self) -> dict[str, NDArray]:
        if self.first_moment is None or self.second_moment is None:
            return {}
        return {"first_moment": self.first_moment, "second_moment": self.second_moment}

    def set_state(self, values: dict[str, Any], arrays: dict[str, NDArray]) -> None:
        super().set_state(values, arrays)
        self.first_moment = arrays.get("first_moment")
        self.second_moment = arrays.get("second_moment")


class AdamW(Adam):
    """AdamW (Loshchilov & Hutter 2019): Adam with decoupled weight decay —
    each update first multiplies the weights by 1 − eta·weight_decay (eta
    this epoch's learning rate), and no L2 enters the gradient.  The biases
    are not decayed.  ``torch.optim.AdamW(weight_decay=wd)`` decays every
    parameter it is given, biases too; to match fastnet, give it the biases
    in a parameter group of their own with ``weight_decay=0``.  The other
    arguments as for ``Adam``.
    """
    name: str | None = "adamw"

    def __init__(self, eta: float | None = None, batch_size: int = 32, beta1: float = 0.9,
                 beta2: float = 0.999, eps: float = 1e-8, weight_decay: float = 0.01,
                 dropout: float = 0.0, schedule: Schedule | None = None,
                 clip_norm: float | None = None, early_stopping: int | None = None, *,
                 lr: float | None = None) -> None:
        super().__init__(eta, batch_size, beta1, beta2, eps, 0.0, dropout, schedule, clip_norm,
                         early_stopping, lr=lr)
        self.weight_decay = real("weight_decay", weight_decay)

    def hyperparameters(self) -> dict[str, Any]:
        return {("weight_decay" if key == "l2" else key): (self.weight_decay if key == "l2" else value)
                for key, value in super().hyperparameters().items()}

    def update_rule(self) -> dict[str, Any]:
        return {**super().update_rule(), "rule": "adamw", "weight_decay": self.weight_decay}
