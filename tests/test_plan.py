"""The plan (fastnet/engine/plan.py): one function decides every engine, the
epoch kernel, the threads and BLAS pinning, and exactly as the kernels' table
writer ``kernels/layout.plan`` does for the same settings."""
import itertools

import numba
import numpy as np
import pytest

import fastnet
import fastnet.checks
from fastnet.engine.plan import NAMES
from fastnet.kernels import blas, layout
from fastnet.kernels.dense import TILED_WIDTH
from fastnet.kernels.tunables import EVAL_CHUNK, THREADS_FROM_BATCH

SIZES = [(20, 7, 3), (20, TILED_WIDTH + 9, 3), (20, 24, 16, 3), (20, 2)]


@pytest.fixture(autouse=True)
def cores(monkeypatch):
    """Plans for up to 3 threads whatever this machine's cores (fit refuses more threads than cores)."""
    monkeypatch.setattr(fastnet.checks, "cores", lambda: 8)


def dataset(n, dense):
    X = np.random.default_rng(0).random((n, 20)).astype(np.float32)
    return fastnet.Dataset(X, layout="dense" if dense else "sparse")


def resolved(threads, batch, hogwild):
    """The thread count of a threads setting (as fit documents it)."""
    if threads is None:
        return 1
    if threads == "auto":
        return numba.get_num_threads() if batch >= THREADS_FROM_BATCH or hogwild else 1
    return threads


@pytest.mark.parametrize("sizes, batch, threads, dense, hogwild, engine", list(itertools.product(
    SIZES, [1, 7, 8, 16, 40, 500], [None, 1, 2, 3, "auto"], [False, True], [False, True],
    ["auto", "blocked", "gemm", "per_sample"])))
def test_the_plan_is_the_table_writers_choice(sizes, batch, threads, dense, hogwild, engine):
    net = fastnet.Network(sizes, seed=0)
    net.engine = engine
    data = dataset(300, dense)
    planned = net.plan(batch, data, threads, hogwild)
    batch = min(batch, data.n)
    count = resolved(threads, batch, hogwild)
    wild = hogwild and count > 1
    pin = count > 1 and not wild and blas.CAN_PIN
    table = layout.plan(net.parameters.layers, batch, dense, engine, 1 if wild else count, wild, pin)
    evaluation = layout.plan(net.parameters.layers, EVAL_CHUNK, dense, "blocked" if engine == "auto" else engine)
    np.testing.assert_array_equal(planned.table, table)
    np.testing.assert_array_equal(planned.evaluation_table, evaluation)
    assert (planned.batch_size, planned.threads, planned.pin_blas) == (batch, count, pin)
    assert planned.epoch == ("hogwild" if wild else "threads" if count > 1 else "one_thread")
    assert planned.layout == ("dense" if dense else "sparse")
    for l, layer in enumerate(planned.layers):
        code = table[l, layout.ENGINE]
        assert layer.step == NAMES[code]
        assert layer.backward == (None if l == 0 else NAMES[code])
        assert layer.forward == ("per_sample" if code == layout.COLUMNS else NAMES[code])
        assert (layer.n_in, layer.n_out) == (sizes[l], sizes[l + 1])


def test_a_plan_prints_one_line_per_layer():
    net = fastnet.Network([784, TILED_WIDTH + 9, 30, 10], seed=0)
    text = str(net.plan(32))
    head, *lines = text.splitlines()
    assert head.startswith("plan     batch 32, sparse inputs, engine auto: one thread")
    assert len(lines) == 3
    assert f"784 -> {TILED_WIDTH + 9}" in lines[0]
    assert "forward per_sample" in lines[0] and "backward -" in lines[0] and "step columns" in lines[0]
    assert "forward gemm" in lines[1] and "evaluate blocked" in lines[1]
    dense = net.plan(4, np.ones((10, 784), np.float32))
    assert "dense inputs" in str(dense) and "forward blocked" in str(dense).splitlines()[1]
    assert "2 Hogwild! threads" in str(net.plan(10, threads=2, hogwild=True))


def test_a_plan_follows_the_networks_settings_and_refuses_bad_ones():
    net = fastnet.Network([20, 7, 3], seed=0)
    net.threads, net.hogwild = 2, True
    assert net.plan().epoch == "hogwild" and net.plan(hogwild=False).epoch == "threads"
    assert net.plan(threads=1).epoch == "one_thread"
    assert net.plan(X=dataset(5, True)).batch_size == 5  # a batch larger than the data is all of it
    with pytest.raises(ValueError, match="batch_size"):
        net.plan(0)
    with pytest.raises(TypeError, match="hogwild"):
        net.plan(hogwild="yes")
    with pytest.raises(ValueError, match="threads"):
        net.plan(threads=0)
    net.engine = "fast"
    with pytest.raises(ValueError, match="engine"):
        net.plan()
