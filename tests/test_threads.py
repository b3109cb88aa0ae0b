"""fit(threads=N): every batch shared by N threads, each owning a band of every layer's units."""
import numpy as np
import pytest

import fastnet


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = (rng.random((240, 20)) * (rng.random((240, 20)) < 0.5)).astype(np.float32)
    return X, rng.integers(0, 3, 240)


def train(data, threads, sizes=(20, 24, 16, 3), engine="auto", **options):
    net = fastnet.Network(list(sizes), activation="relu", seed=1)
    net.engine = engine
    net.fit(*data, epochs=2, batch_size=40, eta=0.1, monitor=False, threads=threads, **options)
    return net._theta.copy()


OPTIONS = [{}, {"l2": 3.0}, {"l2": 2000.0}, {"momentum": 0.9, "nesterov": True}, {"dropout": 0.3},
           {"l1": 2.0}]


@pytest.mark.parametrize("options", OPTIONS)
def test_threads_are_reproducible_and_agree_with_one_thread(data, options):
    """threads > 1 put fastnet's BLOCKED kernels where one thread would call
    BLAS: equal within rounding, and bit-identical from run to run."""
    one = train(data, 1, **options)
    for threads in (2, 3):
        first, again = train(data, threads, **options), train(data, threads, **options)
        np.testing.assert_array_equal(first, again)
        np.testing.assert_allclose(first, one, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("sizes", [(20, 3), (20, 24, 16, 3), (20, 40, 3)])
@pytest.mark.parametrize("engine", ["per_sample", "blocked"])
@pytest.mark.parametrize("options", OPTIONS)
def test_bands_compute_what_one_thread_computes(data, sizes, engine, options):
    """Each thread's band of units runs one thread's kernels on the same
    values in the same order: the same engine gives the same weights, bit
    for bit, whatever the thread count (2: bands of 16 units; 3: a thread
    with an empty band in the narrow layers)."""
    one = train(data, 1, sizes, engine, **options)
    for threads in (2, 3):
        np.testing.assert_array_equal(train(data, threads, sizes, engine, **options), one)


def test_bands_on_dense_inputs(data):
    dense = (np.random.default_rng(5).random((240, 20)) + 0.1).astype(np.float32), data[1]
    for engine in ("per_sample", "blocked"):
        np.testing.assert_array_equal(train(dense, 2, engine=engine), train(dense, 1, engine=engine))
    np.testing.assert_allclose(train(dense, 2), train(dense, 1), rtol=1e-4, atol=1e-5)


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
