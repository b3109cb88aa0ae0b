"""The training loop: one owner drives the epochs, whatever the optimizer.

``Network.fit`` hands its arguments to a ``Trainer``, which prepares the data
once, then for every epoch asks the optimizer to train it
(``optimizer.train_epoch``), measures cost and accuracy, records the history,
keeps the best weights, stops early, detects divergence (and puts everything
back as it was before the fit) and calls the user's callback.  The optimizer
holds only its hyperparameters, state and update rule (``fastnet.optim``);
the network only computes (``Network._prepare``, ``_evaluate``, and the
kernel bridge the optimizer calls).

    Network.fit ──> Trainer.run ──> optimizer.train_epoch ──> Network._train_epoch ──> kernels
                          └──────> Network._evaluate ──> kernels
"""
import numpy as np

from .checks import positive_int
from .dataset import Dataset
from .divergence import advice, divergence, starting_point, suggest_eta
from .stall import STALL_AFTER, find_stall


class DivergenceError(ArithmeticError):
    """Training produced NaN or infinite weights or cost, or a cost or weight that
    blew up (see ``fastnet.divergence``).  ``suggested_eta`` is a learning rate
    that trained without blowing up on a sample of the data (None: none found)."""

    def __init__(self, message, suggested_eta=None):
        super().__init__(message)
        self.suggested_eta = suggested_eta


class Trainer:
    """Train ``net`` with ``optimizer`` on ``train`` = (X, y).

    ``validation`` is None or (X_val, y_val), evaluated after every epoch;
    ``monitor`` evaluates the training data too.  ``augment(X, y, epoch)``
    returns the (X, y) of an epoch (given a ``Dataset``, its ``toarray()`` and
    targets); ``callback(net, optimizer)`` runs after every epoch;
    ``progress(done, n)`` a few times within one; ``verbose`` prints a line
    per epoch; ``restore_best`` ends with the weights of the best validation
    epoch.
    """

    def __init__(self, net, optimizer, train, validation=None, augment=None, monitor=True,
                 restore_best=False, callback=None, progress=None, verbose=False):
        self.net, self.optimizer = net, optimizer
        self.train, self.validation = train, validation
        self.augment, self.monitor, self.restore_best = augment, monitor, restore_best
        self.callback, self.progress, self.verbose = callback, progress, verbose

    def run(self, epochs):
        """Train until ``optimizer.epoch == epochs`` (or an early stop); return the history."""
        net, optimizer = self.net, self.optimizer
        epochs = positive_int("epochs", epochs)
        if (optimizer.early_stopping or self.restore_best) and self.validation is None:
            raise ValueError("early_stopping / restore_best: need validation data; pass "
                             "validation=(X_val, y_val)")
        data = self.data = net._prepare(*self.train, name="X")
        source = self.train
        if self.augment is not None and isinstance(source[0], Dataset):  # augment takes arrays
            source = data.toarray(), data.y if source[1] is None else source[1]
        valid = None if self.validation is None else net._prepare(*self.validation, name="validation")
        for name, value in zip(("l2/n", "l1/n"), optimizer.regularisation()):
            net._scalar(name, value / data.n)  # ValueError if it overflows the network's dtype
        optimizer.start(net, data, epochs)
        before = self._snapshot()
        net._regularised_by = (*optimizer.regularisation(), data.n)
        try:  # the cost before the fit, with this fit's regularisation term as every epoch's has
            self.start = starting_point(net, data)
        except ValueError:  # X's scale overflows the dtype (not eta's fault)
            self._roll_back(before)
            raise
        optimizer.stop_reason = None
        while optimizer.epoch < epochs:
            optimizer.stop_reason = optimizer.stop_reason_before_epoch() or self._patience_ran_out()
            if optimizer.stop_reason:
                break
            if self.augment is not None:
                X, y = self.augment(*source, optimizer.epoch)
                data = net._prepare(X, y, name="augment(X)")
            row = optimizer.train_epoch(net, data, self.progress)
            optimizer.epoch += 1
            net.epochs_trained += 1
            if self.monitor:  # check=False: non-finite outputs here are divergence
                row["training_cost"], row["training_accuracy"] = net._evaluate(data, check=False)
            if valid is not None:
                row["validation_cost"], row["validation_accuracy"] = net._evaluate(valid, check=False)
            row = {key: value for key, value in row.items() if value is not None}
            self._check_divergence(before, row)
            self._record(row)
            if self.verbose:
                print(format_epoch(optimizer.epoch, epochs, row), flush=True)
            self._watch_for_stall(valid, data)
            if self.callback is not None:
                self.callback(net, optimizer)
        self._stall_at_the_end(valid, data)
        if self.restore_best and optimizer.best_weights is not None:
            net._theta[:] = optimizer.best_weights
        return optimizer.history

    # ------------------------------------------------------------ policy
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
            optimizer.best_weights = self.net._theta.copy()

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
        return dict(theta=net._theta.copy(), epochs_trained=net.epochs_trained,
                    regularised_by=net._regularised_by, epoch=optimizer.epoch,
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
        net._theta[:] = before["theta"]
        net.epochs_trained = before["epochs_trained"]
        net._regularised_by = before["regularised_by"]
        optimizer.epoch = before["epoch"]
        optimizer.set_state(before["values"], before["arrays"])
        optimizer.best_weights, optimizer.best_epoch = before["best"]
        optimizer.stall = before["stall"]
        for key, length in before["lengths"].items():
            del optimizer.history[key][length:]


def format_epoch(epoch, epochs, row):
    """One human-readable line for a finished epoch."""
    parts = [f"epoch {epoch:>3}/{epochs}"]
    for part, label in (("training", "train"), ("validation", "val")):
        if f"{part}_cost" in row:
            accuracy = row.get(f"{part}_accuracy")
            parts.append(f"{label} cost {row[part + '_cost']:.4f}"
                         + ("" if accuracy is None else f" acc {100 * accuracy:.2f}%"))
    if row.get("eta") is not None:
        parts.append(f"eta {row['eta']:.4g}")
    parts.append(f"{row['epoch_seconds']:.3f} s")
    return "  ".join(parts)
