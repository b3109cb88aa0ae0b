"""The one-way training loop: Trainer drives, optimizers only update."""
import numpy as np
import pytest

import fastnet
from fastnet import schedules
from fastnet.optim import Optimizer
from fastnet.training import Trainer


def problem(sizes=(4, 6, 3), seed=0, n=12):
    rng = np.random.default_rng(seed)
    X = rng.random((n, sizes[0]))
    y = np.arange(n) % sizes[-1]
    return fastnet.Network(list(sizes), activation="tanh", dtype="float64", seed=seed), X, y


def test_fit_refuses_sgd_keywords_next_to_an_optimizer():
    net, X, y = problem()
    with pytest.raises(TypeError, match="optimizer: .*eta, momentum"):
        net.fit(X, y, epochs=1, optimizer=fastnet.SGD(), eta=0.1, momentum=0.5)
    net.fit(X, y, epochs=1, optimizer=fastnet.SGD(eta=0.1))  # the defaults may stay


def test_fit_is_a_trainer_run():
    a, X, y = problem()
    b, _, _ = problem()
    a.fit(X, y, epochs=3, batch_size=5, eta=0.3, momentum=0.5, monitor=False)
    Trainer(b, fastnet.SGD(eta=0.3, batch_size=5, momentum=0.5), (X, y), monitor=False).run(3)
    assert np.array_equal(a._theta, b._theta)
    assert a.epochs_trained == b.epochs_trained == 3


def test_sgd_run_still_works_with_a_deprecation_warning():
    net, X, y = problem()
    with pytest.warns(DeprecationWarning, match="SGD.run is deprecated"):
        history = fastnet.SGD(eta=0.3).run(net, (X, y), None, 2)
    assert len(history["eta"]) == 2


def test_cosine_by_name_does_not_change_the_users_schedule_object():
    net, X, y = problem()
    cosine = schedules.Cosine()
    net.fit(X, y, epochs=4, batch_size=len(y), eta=1.0, monitor=False, schedule=cosine)
    assert cosine.epochs is None
    assert net.optimizer.schedule.epochs == 4


def test_a_schedule_with_a_stop_hook_ends_the_run():
    class StopAfterTwo:
        def __call__(self, epoch, eta0, history):
            return eta0 / (epoch + 1)

        def stop_reason(self, eta, eta0):
            return "two epochs are enough" if eta < eta0 / 2 else None

    net, X, y = problem()
    history = net.fit(X, y, epochs=10, batch_size=len(y), eta=1.0, schedule=StopAfterTwo())
    assert len(history["eta"]) == 2
    assert net.optimizer.stop_reason == "two epochs are enough"


def test_a_schedule_returning_zero_is_refused():
    net, X, y = problem()
    with pytest.raises(ValueError, match="schedule: returned eta=0"):
        net.fit(X, y, epochs=2, schedule=lambda epoch, eta0, history: 0.0)


def test_an_optimizer_of_another_network_is_refused_before_any_kernel_runs():
    small, X, y = problem(sizes=(4, 6, 3))
    small.fit(X, y, epochs=1, momentum=0.9, monitor=False)
    large, _, _ = problem(sizes=(4, 60, 3))
    with pytest.raises(ValueError, match="optimizer: its velocity has shape"):
        large.fit(X, y, epochs=3, optimizer=small.optimizer)


class HalfStep(Optimizer):
    """A toy optimizer: full-batch gradient descent with a fixed step, to show
    that anything implementing the interface trains through fit."""
    name = "half_step_test"

    def __init__(self, step=0.5, early_stopping=None):
        super().__init__(early_stopping)
        self.step = step

    def hyperparameters(self):
        return {"step": self.step, **super().hyperparameters()}

    def train_epoch(self, net, data, progress=None):
        gradient = np.empty_like(net._theta)
        net._gradient_into(gradient, data)
        net._theta -= self.step * gradient
        return {"epoch_seconds": 0.0}


def test_any_optimizer_plugs_into_fit_and_checkpoints(tmp_path):
    net, X, y = problem()
    before = net.cost(X, y)
    history = net.fit(X, y, epochs=5, optimizer=HalfStep(), validation=(X, y))
    assert net.cost(X, y) < before
    assert len(history["validation_accuracy"]) == 5 and history["eta"] == []
    fastnet.save_checkpoint(net, net.optimizer, tmp_path / "c.npz")
    again, optimizer = fastnet.load_checkpoint(tmp_path / "c.npz")
    assert isinstance(optimizer, HalfStep) and optimizer.epoch == 5
    assert np.array_equal(again._theta, net._theta)
