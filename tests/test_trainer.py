"""The one-way training loop: Trainer drives, optimizers only update."""
import numpy as np
import pytest

import fastnet
from fastnet import schedules
from fastnet.engine import cost_gradient
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
    assert np.array_equal(a.parameters.theta, b.parameters.theta)
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


@pytest.mark.parametrize("optimizer", [fastnet.SGD(eta=0.3, batch_size=5),
                                       fastnet.LBFGS(l2=0.1, iterations=2)], ids=["sgd", "lbfgs"])
def test_a_callback_ends_the_run_of_any_optimizer_with_a_stop_request(optimizer):
    net, X, y = problem()

    def stop_after_two(net, optimizer):
        if optimizer.epoch == 2:
            optimizer.stop_request = "enough"

    net.fit(X, y, epochs=10, optimizer=optimizer, callback=stop_after_two)
    assert (optimizer.epoch, optimizer.stop_reason, optimizer.stop_request) == (2, "enough", None)
    net.fit(X, y, epochs=3, optimizer=optimizer)  # the request ended one run only
    assert optimizer.epoch == 3 and optimizer.stop_reason is None


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
        gradient = np.empty_like(net.parameters.theta)
        cost_gradient(net, data, gradient)
        net.parameters.theta -= self.step * gradient
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
    assert np.array_equal(again.parameters.theta, net.parameters.theta)


# ------------------------------------------------------------ time budget
class FakeClock:
    """A clock that moves only when told: ``tick`` seconds per call to ``advance``."""

    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now

    def advance(self, seconds):
        self.now += seconds


def budget_run(budget, epoch_seconds=10.0, epochs=None, optimizer=None, clock=None, **options):
    """A Trainer run in which every epoch takes ``epoch_seconds`` of fake time."""
    net, X, y = problem()
    clock = clock or FakeClock()
    optimizer = optimizer or fastnet.SGD(eta=0.3, batch_size=5, **options)
    trainer = Trainer(net, optimizer, (X, y), monitor=False, clock=clock,
                      callback=lambda net, opt: clock.advance(epoch_seconds))
    return trainer, trainer.run(epochs, time_budget=budget)


def test_a_time_budget_stops_before_the_epoch_that_would_not_fit():
    clock = FakeClock()
    clock.advance(100.0)  # any starting time
    trainer, history = budget_run(35.0, clock=clock)
    # Each epoch's callback takes 10 s, counted in the next epoch (the first
    # costs nothing): after 3 epochs 30 s are used, and a 4th would end at 40 s.
    assert history["wall_seconds"] == [0.0, 10.0, 10.0]
    assert trainer.optimizer.stop_reason == ("time budget of 35 s: 30.0 s used, the next "
                                             "epoch would take about 10.0 s more")
    assert trainer.time_left() == pytest.approx(15.0)


def test_a_time_budget_never_overshoots_by_more_than_an_epoch_on_the_real_clock():
    net, X, y = problem(n=200)
    history = net.fit(X, y, time_budget=0.3, batch_size=1, eta=0.05, monitor=False,
                      callback=lambda net, opt: __import__("time").sleep(0.02))
    assert len(history["eta"]) >= 2  # stopped by the clock, not by an epoch count
    assert sum(history["wall_seconds"]) <= 0.3 + max(history["wall_seconds"])
    assert net.optimizer.stop_reason.startswith("time budget of 0.3 s")


def test_epochs_end_a_budgeted_run_first_if_fewer_fit():
    trainer, history = budget_run(1000.0, epochs=3)
    assert len(history["eta"]) == 3 and trainer.optimizer.stop_reason is None


def test_a_resumed_run_counts_the_budget_already_used(tmp_path):
    trainer, history = budget_run(25.0, schedule="cosine")
    assert history["wall_seconds"] == [0.0, 10.0]  # a 3rd epoch would end at 30 s
    fastnet.save_checkpoint(trainer.net, trainer.optimizer, tmp_path / "c.npz")
    net, optimizer = fastnet.load_checkpoint(tmp_path / "c.npz")
    assert optimizer.schedule.seconds == 25.0  # the schedule keeps annealing over 25 s
    assert optimizer.history["wall_seconds"] == [0.0, 10.0]
    clock = FakeClock()
    _, X, y = problem()
    history = Trainer(net, optimizer, (X, y), monitor=False, clock=clock,
                      callback=lambda net, opt: clock.advance(10.0)).run(None, time_budget=45.0)
    # 10 s used before; then 0, 10, 10: a 6th epoch would end at 50 s.
    assert history["wall_seconds"] == [0.0, 10.0, 0.0, 10.0, 10.0]


def test_cosine_over_a_budget_reaches_its_floor_at_the_budgets_end():
    trainer, history = budget_run(100.0, schedule=schedules.Cosine(floor=0.1))
    assert trainer.optimizer.schedule.seconds == 100.0
    expected = [0.1 + 0.45 * (1 + np.cos(np.pi * min(s, 100) / 100))
                for s in np.cumsum([0.0] + history["wall_seconds"][:-1])]
    assert history["eta"] == pytest.approx(0.3 * np.array(expected))
    cosine = trainer.optimizer.schedule
    assert cosine(99, 1.0, {"wall_seconds": [50.0, 50.0]}) == pytest.approx(0.1)
    assert cosine(0, 1.0, {"wall_seconds": []}) == 1.0


def test_verbose_lines_say_the_time_left(capsys):
    net, X, y = problem()
    clock = FakeClock()
    Trainer(net, fastnet.SGD(eta=0.3, batch_size=5), (X, y), verbose=True, clock=clock,
            callback=lambda net, opt: clock.advance(61.0)).run(None, time_budget=250.0)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("epoch   1  ") and lines[0].endswith("left 4:10")
    assert lines[1].endswith("left 3:09")


@pytest.mark.parametrize("budget, error, match", [
    (0, ValueError, r"time_budget: 0.0 is out of range; pass a finite number in \(0, inf\)"),
    (-5, ValueError, "time_budget: -5.0 is out of range"),
    (float("nan"), ValueError, "time_budget: nan is out of range"),
    ("60", TypeError, "time_budget: expected a number, got '60'"),
    (True, TypeError, "time_budget: expected a number"),
])
def test_bad_time_budgets_are_refused(budget, error, match):
    net, X, y = problem()
    with pytest.raises(error, match=match):
        net.fit(X, y, time_budget=budget)


def test_no_epochs_and_no_budget_is_refused_by_the_trainer():
    net, X, y = problem()
    with pytest.raises(ValueError, match="epochs: None .* needs a time_budget"):
        Trainer(net, fastnet.SGD(), (X, y)).run(None)
    assert len(net.fit(X, y, monitor=False)["eta"]) == 30  # fit's default stays 30 epochs


def test_the_wait_for_augmented_data_is_measured():
    net, X, y = problem()
    clock = FakeClock()

    def slow(X, y, epoch):
        clock.advance(2.0 + epoch)
        return X, y

    history = Trainer(net, fastnet.SGD(eta=0.3), (X, y), augment=slow, clock=clock).run(3)
    assert history["wait_seconds"] == [2.0, 3.0, 4.0]
    assert history["wall_seconds"] == [2.0, 3.0, 4.0]
    assert net.fit(X, y, epochs=2)["wait_seconds"] == [0.0, 0.0]


def test_warmup_rises_linearly_then_follows_its_schedule():
    warm = schedules.Warmup("cosine", fraction=0.4, start=0.2).for_run(10)
    history = {"eta": [], "wall_seconds": []}
    etas = [warm(e, 1.0, history) for e in range(10)]
    cosine = schedules.Cosine(epochs=10)
    ramp = [0.2, 0.4, 0.6, 0.8] + [1.0] * 6
    assert etas == pytest.approx([r * cosine(e, 1.0, history) for e, r in enumerate(ramp)])
    by_clock = schedules.Warmup(fraction=0.5).for_run(None, seconds=100.0)
    assert by_clock(2, 1.0, {"eta": [0.1, 0.5], "wall_seconds": [10.0, 15.0]}) == \
        pytest.approx(0.1 + 0.9 * 25 / 50)


def test_plateau_under_a_warmup_sees_its_own_etas():
    warm = schedules.Warmup(schedules.Plateau(patience=2), fraction=0.5).for_run(4)
    history = {"eta": [], "validation_accuracy": [], "training_accuracy": [], "wall_seconds": []}
    for epoch, score in enumerate([0.5, 0.6, 0.6, 0.6, 0.6, 0.6]):
        history["eta"].append(warm(epoch, 1.0, history))
        history["validation_accuracy"].append(score)
    assert history["eta"] == pytest.approx([0.1, 0.55, 1.0, 1.0, 0.5, 0.5])


def test_step_at_fractions_of_a_budget():
    step = schedules.Step(factor=0.1, at=(0.5, 0.75)).for_run(None, seconds=40.0)
    etas = [step(e, 1.0, {"wall_seconds": [10.0] * e}) for e in range(5)]
    assert etas == pytest.approx([1.0, 1.0, 0.1, 0.01, 0.01])
    assert schedules.Step(every=2).for_run(None, 40.0).epochs is None  # counts epochs


def test_budget_schedules_survive_a_checkpoint_description():
    warm = schedules.Warmup({"name": "step", "at": [0.5], "factor": 0.2}, fraction=0.1)
    warm = warm.for_run(None, seconds=60.0)
    again = schedules.make_schedule(schedules.describe_schedule(warm))
    history = {"eta": [], "wall_seconds": [7.0] * 9}
    assert [again(e, 1.0, history) for e in range(9)] == [warm(e, 1.0, history) for e in range(9)]
    assert again.schedule.at == (0.5,) and again.seconds == 60.0
    assert schedules.describe_schedule(schedules.Warmup(lambda e, eta, h: eta)) is None


@pytest.mark.parametrize("make, error, match", [
    (lambda: schedules.Warmup(fraction=0), ValueError, r"fraction: 0.0 is out of range; .*\(0, 1\]"),
    (lambda: schedules.Warmup(start=1.5), ValueError, r"start: 1.5 is out of range"),
    (lambda: schedules.Warmup(schedules.Warmup()), ValueError, "a Warmup inside a Warmup"),
    (lambda: schedules.Warmup("nope"), ValueError, "schedule: unknown name 'nope'"),
    (lambda: schedules.Step(at=(0.75, 0.5)), ValueError, "at: expected increasing fractions"),
    (lambda: schedules.Step(at=(0.5, 1.0)), ValueError, r"at: 1.0 is out of range"),
    (lambda: schedules.Step(at=0.5), TypeError, "at: expected fractions of the run"),
    (lambda: schedules.Cosine(seconds=-1), ValueError, "seconds: -1.0 is out of range"),
    (lambda: schedules.Warmup()(0, 1.0, {}), ValueError, "Warmup: the number of epochs is unknown"),
])
def test_bad_budget_schedules_are_refused(make, error, match):
    with pytest.raises(error, match=match):
        make()


def test_a_checkpoint_from_before_the_clock_resumes_against_a_budget(tmp_path):
    import json
    net, X, y = problem()
    net.fit(X, y, epochs=2, eta=0.3, monitor=False)
    path = tmp_path / "old.npz"
    fastnet.save_checkpoint(net, net.optimizer, path)
    with np.load(path, allow_pickle=False) as archive:
        arrays = {name: archive[name] for name in archive.files}
    header = json.loads(str(arrays.pop("header")))
    for key in ("wall_seconds", "wait_seconds"):  # what an older fastnet wrote
        del header["optimizer"]["history"][key]
    np.savez(path, header=np.array(json.dumps(header)), **arrays)
    net, optimizer = fastnet.load_checkpoint(path)
    assert optimizer.history["wall_seconds"] == []
    trained = optimizer.history["epoch_seconds"][:]
    net.fit(X, y, epochs=3, optimizer=optimizer, monitor=False, time_budget=1000.0)
    assert optimizer.history["wall_seconds"][:2] == trained  # its training seconds stand in
    assert optimizer.history["wait_seconds"][:2] == [0.0, 0.0]
    fastnet.save_checkpoint(net, optimizer, path)
    assert fastnet.load_checkpoint(path)[1].history["wall_seconds"][:2] == trained


@pytest.mark.parametrize("weighted", [False, True])
def test_running_cost_is_the_cost_of_the_samples_as_trained(weighted):
    """monitor="running": with one batch per epoch every sample is forwarded at
    the weights the epoch starts from, so the running cost is the exact cost
    there (weighted where the samples are), plus the regularisation term at
    the epoch's end, as the exact monitoring adds it."""
    net, X, y = problem(n=30)
    w = np.arange(30) % 4 + 0.5 if weighted else None
    history = net.fit(X, y, epochs=3, batch_size=30, eta=0.3, l2=0.5, monitor="running",
                      sample_weight=w)
    assert "training_accuracy" not in history or history["training_accuracy"] == []
    net2, _, _ = problem(n=30)
    starts = [net2.cost(X, y, w)]
    penalties = []
    for _ in range(3):
        net2.fit(X, y, epochs=1, batch_size=30, eta=0.3, l2=0.5, sample_weight=w, monitor=False)
        penalties.append(net2.regularisation_term())
        starts.append(net2.cost(X, y, w) - penalties[-1])
    np.testing.assert_allclose(history["training_cost"],
                               np.array(starts[:3]) + np.array(penalties), rtol=1e-12)


def test_running_cost_needs_no_pass_over_the_training_data(monkeypatch):
    net, X, y = problem(n=40)
    calls = []
    evaluate = fastnet.training.evaluate  # the Trainer's evaluation passes (engine.evaluate)
    monkeypatch.setattr(fastnet.training, "evaluate", lambda net, data, check_finite=True: (
        calls.append(data.n), evaluate(net, data, check_finite))[1])
    for monitor, passes in (("running", 0), (True, 4), (False, 0)):
        calls.clear()
        history = net.fit(X, y, epochs=4, batch_size=8, eta=0.1, monitor=monitor)
        assert calls == [40] * passes
        assert len(history["training_cost"]) == (4 if monitor else 0)
    threads = [problem(n=40)[0] for _ in range(2)]
    costs = [t.fit(X, y, epochs=2, batch_size=8, eta=0.1, monitor="running", threads=c)["training_cost"]
             for t, c in zip(threads, (1, 2))]
    np.testing.assert_allclose(costs[0], costs[1], rtol=1e-12)
    with pytest.raises(TypeError, match="monitor: expected True .* 'running'"):
        net.fit(X, y, epochs=1, monitor="exact")
