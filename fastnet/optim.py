"""Mini-batch SGD: the training policy around the compiled epoch loop.

``SGD`` holds the hyperparameters (eta, batch size, momentum / Nesterov, L2,
L1, dropout, schedule, early stopping) and the state of a run (epoch count,
momentum velocities, history, best weights), so that a run can be saved and
resumed exactly.  The arithmetic of every mini-batch runs in
``fastnet.kernels.train.train_epoch``; this file decides what to run.

Regularisation follows the book: with n the training-set size, L2 adds
l2/(2n)·Σw² to the cost, so each plain-SGD step multiplies the weights by
(1 − eta·l2/n); L1 adds l1/n·Σ|w|.  Biases are not regularised.  PyTorch's
``weight_decay=wd`` with ``lr=eta`` matches ``l2 = wd·n``.
"""
import numbers

import numpy as np

from .checks import positive_int, real
from .schedules import Cosine, Plateau, make_schedule

HISTORY_KEYS = ("training_cost", "training_accuracy", "validation_cost",
                "validation_accuracy", "eta", "epoch_seconds")


class DivergenceError(ArithmeticError):
    """Training produced NaN or infinite weights or cost."""


class SGD:
    """Mini-batch stochastic gradient descent with its run state.

    Parameters mirror ``Network.fit``; ``early_stopping`` is a patience in
    epochs without improvement of the validation accuracy (None: never stop).
    """

    def __init__(self, eta=0.5, batch_size=10, momentum=0.0, nesterov=False,
                 l2=0.0, l1=0.0, dropout=0.0, schedule=None, early_stopping=None):
        self.eta = real("eta", eta, 0.0, low_open=True)
        self.batch_size = positive_int("batch_size", batch_size)
        self.momentum = real("momentum", momentum, 0.0, 1.0, high_open=True)
        if not isinstance(nesterov, (bool, np.bool_)):
            raise TypeError(f"nesterov: expected True or False, got {nesterov!r}")
        self.nesterov = bool(nesterov)
        self.l2 = real("l2", l2)
        self.l1 = real("l1", l1)
        self.dropout = real("dropout", dropout, 0.0, 1.0, high_open=True)
        self.schedule = make_schedule(schedule)
        self.early_stopping = None if early_stopping is None else \
            positive_int("early_stopping", early_stopping)
        self.epoch = 0
        self.velocity = None
        self.history = {key: [] for key in HISTORY_KEYS}
        self.best_weights = None
        self.best_epoch = None
        self.stop_reason = None

    def hyperparameters(self):
        """The constructor's arguments as a dict: ``SGD(**sgd.hyperparameters())``
        starts a fresh run with the same settings (the schedule object is shared)."""
        return {"eta": self.eta, "batch_size": self.batch_size, "momentum": self.momentum,
                "nesterov": self.nesterov, "l2": self.l2, "l1": self.l1, "dropout": self.dropout,
                "schedule": self.schedule, "early_stopping": self.early_stopping}

    def __repr__(self):
        arguments = ", ".join(f"{key}={value!r}" for key, value in self.hyperparameters().items())
        return f"SGD({arguments})"

    def next_eta(self):
        """The learning rate of the coming epoch, from the schedule; ValueError
        unless it is a positive finite number (as ``eta`` itself must be)."""
        eta = self.schedule(self.epoch, self.eta, self.history)
        if isinstance(eta, bool) or not isinstance(eta, numbers.Real) or not eta > 0 \
                or not np.isfinite(eta):
            raise ValueError(f"schedule: returned eta={eta!r} for epoch {self.epoch + 1}; a "
                             "schedule must return a positive finite learning rate (to stop "
                             "training, use early_stopping or fewer epochs)")
        return float(eta)

    def finished(self, eta):
        """Why training should stop before an epoch at ``eta`` (None: go on)."""
        if isinstance(self.schedule, Plateau) and eta < self.eta * self.schedule.min_ratio:
            return f"learning rate fell below eta/{1 / self.schedule.min_ratio:g}"
        scores = self.history["validation_accuracy"]
        if self.early_stopping and scores:
            since_best = len(scores) - 1 - int(np.argmax(scores))
            if since_best >= self.early_stopping:
                return f"no improvement in validation accuracy for {since_best} epochs"
        return None

    def record(self, **values):
        """Append one epoch's numbers to the history."""
        for key in HISTORY_KEYS:
            value = values.get(key)
            if value is not None:
                self.history[key].append(value)

    def run(self, net, train, validation, epochs, augment=None, monitor=True,
            restore_best=False, callback=None, progress=None, verbose=False):
        """Train ``net`` until ``self.epoch == epochs`` (or an early stop).

        ``train`` is (X, y) as the user passed it; ``validation`` is None or
        (X, y).  Returns the history dict.
        """
        epochs = positive_int("epochs", epochs)
        if isinstance(self.schedule, Cosine) and self.schedule.epochs is None:
            self.schedule.epochs = epochs  # schedule="cosine": anneal over this run
        if (self.early_stopping or restore_best) and validation is None:
            raise ValueError("early_stopping / restore_best: need validation data; pass "
                             "validation=(X_val, y_val)")
        data = net._prepare(*train, name="X")
        valid = None if validation is None else net._prepare(*validation, name="validation")
        net._outputs(data)  # inputs whose scale overflows the dtype are X's fault, not eta's
        self.check_state(net)
        if self.velocity is None:
            self.velocity = np.zeros_like(net._theta)
        before = self._snapshot(net)
        net._regularised_by = (self.l2, self.l1, data.n)
        self.stop_reason = None
        while self.epoch < epochs:
            eta = self.next_eta()
            self.stop_reason = self.finished(eta)
            if self.stop_reason:
                break
            if augment is not None:
                data = net._prepare(*augment(train[0], train[1], self.epoch), name="augment(X)")
            seconds = net._train_epoch(data, self, eta, progress)
            self.epoch += 1
            row = {"eta": eta, "epoch_seconds": seconds}
            if monitor:
                row["training_cost"], row["training_accuracy"] = net._evaluate(data, check=False)
            if valid is not None:
                row["validation_cost"], row["validation_accuracy"] = net._evaluate(valid, check=False)
            row = {key: value for key, value in row.items() if value is not None}
            self._check_finite(net, before, row, eta)
            self.record(**row)
            self._remember_best(net, row)
            if verbose:
                print(format_epoch(self.epoch, epochs, row), flush=True)
            if callback is not None:
                callback(net, self)
        if restore_best and self.best_weights is not None:
            net._theta[:] = self.best_weights
        return self.history

    def check_state(self, net):
        """Raise ValueError if this optimizer's state arrays belong to another network."""
        for name, array in (("velocity", self.velocity), ("best_weights", self.best_weights)):
            if array is not None and (array.shape != net._theta.shape or array.dtype != net.dtype):
                raise ValueError(
                    f"optimizer: its {name} has {array.size} {array.dtype} values but this "
                    f"{net.dtype.name} network {list(net.sizes)} has {net._theta.size} "
                    "(padded) parameters: the optimizer's state belongs to a network of another "
                    "size; pass a fresh optimizer, e.g. SGD(**optimizer.hyperparameters())")

    def _snapshot(self, net):
        """What a diverged run puts back: the network's and this optimizer's state."""
        return dict(theta=net._theta.copy(), epochs_trained=net.epochs_trained,
                    regularised_by=net._regularised_by, epoch=self.epoch,
                    velocity=self.velocity.copy(), best=(self.best_weights, self.best_epoch),
                    lengths={key: len(values) for key, values in self.history.items()})

    def _check_finite(self, net, before, row, eta):
        """Put everything back as it was before the run and raise if training diverged."""
        cost = row.get("training_cost", 0.0)
        if net._weights_finite() and np.isfinite(cost):
            return
        failed = self.epoch
        net._theta[:] = before["theta"]
        net.epochs_trained = before["epochs_trained"]
        net._regularised_by = before["regularised_by"]
        self.epoch, self.velocity = before["epoch"], before["velocity"]
        self.best_weights, self.best_epoch = before["best"]
        for key, length in before["lengths"].items():
            del self.history[key][length:]
        raise DivergenceError(
            f"training diverged in epoch {failed} (eta={eta:g}): the weights or the "
            f"cost became NaN or infinite. The network and the optimizer are back to what "
            f"they were before fit; try a smaller eta, e.g. eta={eta / 10:g}")

    def _remember_best(self, net, row):
        """Keep a copy of the weights of the best validation epoch so far."""
        scores = self.history["validation_accuracy"]
        if "validation_accuracy" in row and row["validation_accuracy"] > max(scores[:-1], default=-1.0):
            self.best_epoch = self.epoch
            self.best_weights = net._theta.copy()


def format_epoch(epoch, epochs, row):
    """One human-readable line for a finished epoch."""
    parts = [f"epoch {epoch:>3}/{epochs}"]
    for part, label in (("training", "train"), ("validation", "val")):
        if f"{part}_cost" in row:
            accuracy = row.get(f"{part}_accuracy")
            parts.append(f"{label} cost {row[part + '_cost']:.4f}"
                         + ("" if accuracy is None else f" acc {100 * accuracy:.2f}%"))
    parts.append(f"eta {row['eta']:.4g}")
    parts.append(f"{row['epoch_seconds']:.3f} s")
    return "  ".join(parts)
