"""Subnormal results become zero while fastnet's kernels run (x86), and only then."""
import numba
import numpy as np
import pytest

import fastnet
from fastnet.engine import epoch as engine_epoch
from fastnet.kernels import subnormals
from fastnet.kernels.bands import at_once

pytestmark = pytest.mark.skipif(not subnormals.X86, reason="MXCSR is x86's; elsewhere nothing changes")

SMALLEST_NORMAL = np.finfo(np.float32).tiny  # 1.2e-38
SUBNORMAL = SMALLEST_NORMAL / 2  # made here, outside ``flushed`` (which NumPy's thread follows too)


@numba.njit
def scaled(x, k):
    """x[0]·k in float32, compiled (compiled code follows the thread's MXCSR;
    x is an array: a float argument would pass through float64 on its way in)."""
    return x[0] * np.float32(k)


def halve(x):
    return scaled(np.array([x], dtype=np.float32), 0.5)


def flushing():
    """Whether this thread flushes subnormal results now."""
    held = int(subnormals.update_mxcsr(subnormals.ALL, 0))
    return held & subnormals.FLUSH == subnormals.FLUSH


def test_flushed_sets_ftz_and_restores_the_threads_own():
    before = int(subnormals.update_mxcsr(subnormals.ALL, 0))
    assert not flushing()
    with subnormals.flushed():
        assert flushing()
        assert halve(SMALLEST_NORMAL) == 0.0
        assert scaled(np.array([SUBNORMAL]), 4.0) == SUBNORMAL * 4 > SMALLEST_NORMAL  # a subnormal input stays
        with subnormals.flushed():  # nested: the outer setting comes back
            pass
        assert flushing()
    assert int(subnormals.update_mxcsr(subnormals.ALL, 0)) == before
    assert halve(SMALLEST_NORMAL) == SMALLEST_NORMAL / 2 > 0  # IEEE gradual underflow again


def test_flushed_restores_after_an_error():
    with pytest.raises(RuntimeError), subnormals.flushed():
        raise RuntimeError("inside")
    assert not flushing()


def test_every_thread_of_at_once_flushes_and_the_caller_is_restored():
    seen = {}
    at_once(lambda t: seen.update({t: (flushing(), float(halve(SMALLEST_NORMAL)))}), 3)
    assert seen == {t: (True, 0.0) for t in range(3)}
    assert not flushing()


def test_a_saturated_unit_below_the_smallest_normal_predicts_exactly_zero():
    # sigmoid(-95) = 5.5e-42 is subnormal in float32; a linear output passes it through
    net = fastnet.Network([1, 1, 1], output="linear", cost="quadratic", seed=0)
    net.set_parameters([np.array([[1.0]]), np.array([[1.0]])], [np.array([-95.0]), np.array([0.0])])
    assert net.predict_proba(np.array([[0.0]], dtype=np.float32))[0, 0] == 0.0


@pytest.mark.parametrize("threads", [1, 2])
def test_training_epochs_run_flushed(monkeypatch, threads):
    monkeypatch.setattr(fastnet.checks, "cores", lambda: 8)
    seen = []
    for name in ("train_epoch", "train_epoch_threads"):
        kernel = getattr(engine_epoch, name)
        monkeypatch.setattr(engine_epoch, name,
                            lambda *args, kernel=kernel: (seen.append(flushing()), kernel(*args))[1])
    rng = np.random.default_rng(0)
    X = rng.random((200, 12), dtype=np.float32)
    net = fastnet.Network([12, 8, 3], seed=1)
    net.fit(X, rng.integers(0, 3, 200), epochs=2, batch_size=10, threads=threads, monitor=False)
    assert seen and all(seen)
    assert not flushing()
