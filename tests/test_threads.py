"""fit(threads=N): synchronous data-parallel batches."""
import numpy as np
import pytest

import fastnet


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = (rng.random((240, 20)) * (rng.random((240, 20)) < 0.5)).astype(np.float32)
    return X, rng.integers(0, 3, 240)


def train(data, threads, **options):
    net = fastnet.Network([20, 24, 16, 3], activation="relu", seed=1)
    net.fit(*data, epochs=2, batch_size=40, eta=0.1, monitor=False, threads=threads, **options)
    return net._theta.copy()


@pytest.mark.parametrize("options", [{}, {"l2": 3.0}, {"momentum": 0.9, "nesterov": True},
                                     {"dropout": 0.3}, {"l1": 2.0}])
def test_threads_are_reproducible_and_agree_with_one_thread(data, options):
    one = train(data, 1, **options)
    for threads in (2, 3):
        first, again = train(data, threads, **options), train(data, threads, **options)
        np.testing.assert_array_equal(first, again)
        np.testing.assert_allclose(first, one, rtol=1e-4, atol=1e-5)


def test_default_threads_follow_the_batch_size_and_numba(monkeypatch):
    import numba
    net = fastnet.Network([4, 3, 2])
    assert net._threads_for(100) == 1
    net.threads = "auto"
    assert net._threads_for(10) == 1
    assert net._threads_for(100) == numba.get_num_threads()
    net.threads = 3
    assert net._threads_for(10) == 3
    with pytest.raises(ValueError, match="threads: must be a positive integer"):
        net.fit(np.zeros((4, 4), np.float32), np.zeros(4, int), epochs=1, threads=0)
