"""fastnet.prefetch.Prefetch: the next epoch's augmented data computed ahead, same results."""
import threading

import numpy as np
import pytest

from fastnet.prefetch import Prefetch


class Recorder:
    """A pure augmenter (X + epoch) that records which thread computed each epoch."""

    def __init__(self):
        self.calls = []

    def __call__(self, X, y, epoch):
        self.calls.append((epoch, threading.current_thread().name))
        return X + epoch, y


def test_prefetch_returns_what_a_direct_call_returns_and_computes_ahead():
    X, y = np.zeros((3, 2)), np.arange(3)
    recorder = Recorder()
    with Prefetch(recorder, epochs=3) as augment:
        results = [augment(X, y, epoch) for epoch in range(3)]
    for epoch, (Xe, ye) in enumerate(results):
        assert np.array_equal(Xe, X + epoch) and ye is y
    epochs = [epoch for epoch, _ in recorder.calls]
    assert epochs == [0, 1, 2]  # each epoch computed once, none beyond the last
    threads = dict(recorder.calls)
    assert threads[0] == threading.current_thread().name
    assert threads[1].startswith("fastnet-prefetch") and threads[2].startswith("fastnet-prefetch")


def test_prefetch_recomputes_when_asked_for_another_epoch_or_other_data():
    X, y = np.zeros((2, 2)), np.arange(2)
    recorder = Recorder()
    with Prefetch(recorder, epochs=10) as augment:
        augment(X, y, 0)             # computes 1 ahead
        Xe, _ = augment(X, y, 5)     # not the prefetched epoch: computed directly
        assert np.array_equal(Xe, X + 5)
        other = np.ones((2, 2))
        Xo, _ = augment(other, y, 6)  # prefetched 6 was for X, not for other
        assert np.array_equal(Xo, other + 6)
    main = threading.current_thread().name
    assert (5, main) in recorder.calls and (6, main) in recorder.calls


def test_prefetch_passes_errors_through_and_refuses_non_callables():
    def broken(X, y, epoch):
        if epoch == 1:
            raise RuntimeError("epoch 1 is broken")
        return X, y

    with Prefetch(broken, epochs=3) as augment:
        augment(np.zeros((1, 1)), np.zeros(1), 0)
        with pytest.raises(RuntimeError, match="epoch 1 is broken"):
            augment(np.zeros((1, 1)), np.zeros(1), 1)
    with pytest.raises(TypeError, match="augment: expected a callable"):
        Prefetch(42, epochs=3)


def slow_identity(X, y, epoch):
    """An augmenter that takes 0.2 s (sleeping, so it leaves the GIL, as SciPy does)."""
    import time
    time.sleep(0.2)
    return X, y


@pytest.mark.parametrize("prefetch", [False, True])
def test_the_trainer_measures_how_long_it_waits_for_each_epochs_data(prefetch):
    import time

    import fastnet
    rng = np.random.default_rng(0)
    X, y = rng.random((20, 4)), np.arange(20) % 3
    net = fastnet.Network([4, 5, 3], seed=0)
    long_epoch = lambda net, optimizer: time.sleep(0.5)  # noqa: E731  (training time)
    if prefetch:
        with Prefetch(slow_identity, epochs=None) as augment:
            history = net.fit(X, y, epochs=4, augment=augment, callback=long_epoch)
    else:
        history = net.fit(X, y, epochs=4, augment=slow_identity, callback=long_epoch)
    waits = history["wait_seconds"]
    assert len(waits) == 4 and waits[0] >= 0.19  # nothing to prefetch before the first epoch
    if prefetch:  # computed while the previous epoch trained
        assert max(waits[1:]) < 0.1
    else:
        assert min(waits[1:]) >= 0.19
    assert all(wall >= wait for wall, wait in zip(history["wall_seconds"], waits))


def test_prefetch_refuses_a_bad_epoch_count():
    with pytest.raises(ValueError, match="epochs: must be an integer >= 0"):
        Prefetch(lambda X, y, epoch: (X, y), epochs=-1)
