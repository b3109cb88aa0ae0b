"""The plan (fastnet/engine/plan.py): one function decides every engine, the
epoch kernel, the threads and BLAS pinning, and exactly as the kernels' table
writer ``kernels/layout.plan`` does for the same settings."""
import itertools
import os
import subprocess
import sys
import time

import numba
import numpy as np
import pytest

import fastnet
import fastnet.checks
import fastnet.engine.epoch
import fastnet.engine.plan
from fastnet.engine.plan import NAMES, others_running
from fastnet.prefetch import Prefetch
from fastnet.kernels import blas, layout
from fastnet.kernels.dense import TILED_WIDTH
from fastnet.kernels.tunables import BLAS_THREADS_PAY, EVAL_CHUNK, PARALLEL_FROM, THREADS_FROM_BATCH

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
    if count == 1:  # BLAS pinned unless a GEMM product is large enough for its threads
        gemm = [batch * n_in * n_out for n_in, n_out, code in
                table[:, [layout.N_IN, layout.N_OUT, layout.ENGINE]] if code == layout.GEMM]
        pin = blas.CAN_PIN and max(gemm, default=0) < BLAS_THREADS_PAY
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


def mnist_like(n):
    """n MNIST-like images (uint8, 19 % non-zero: the sparse layout) and labels."""
    rng = np.random.default_rng(0)
    images = (rng.integers(1, 256, (n, 784)) * (rng.random((n, 784)) < 0.19)).astype(np.uint8)
    return fastnet.Dataset(images, rng.integers(0, 10, n))


@pytest.fixture
def quiet(monkeypatch):
    """No other task waits for a core (whatever this machine is doing)."""
    monkeypatch.setattr(fastnet.engine.plan, "others_running", lambda reads=5: 0)


@pytest.mark.parametrize("sizes, batch, n, shares", [
    ([784, 800, 10], 32, PARALLEL_FROM, True),
    ([784, 100, 10], 100, PARALLEL_FROM, True),
    ([784, 30, 10], 100, PARALLEL_FROM, True),
    ([784, 100, 100, 10], 32, PARALLEL_FROM, True),
    ([784, 30, 10], 32, PARALLEL_FROM, False),            # too little work per batch
    ([784, 800, 10], 10, PARALLEL_FROM, False),           # a batch under THREADS_FROM_BATCH
    ([784, 800, 10], 32, PARALLEL_FROM - 1, False),       # too few samples
    ([784, 1000, 500, 10], 32, PARALLEL_FROM, False),     # BLAS threads the 1000 x 500 product
])
def test_the_default_shares_batches_where_threads_win(quiet, monkeypatch, sizes, batch, n, shares):
    monkeypatch.setattr(fastnet.engine.plan, "cores", lambda: 4)
    monkeypatch.setattr(numba, "get_num_threads", lambda: 3)
    planned = fastnet.Network(sizes, seed=0).plan(batch, mnist_like(n))
    assert (planned.threads, planned.epoch) == ((3, "threads") if shares else (1, "one_thread"))
    monkeypatch.setattr(fastnet.engine.plan, "cores", lambda: 1)  # one core: never
    assert fastnet.Network(sizes, seed=0).plan(batch, mnist_like(n)).threads == 1


@pytest.mark.parametrize("others", [1, 3, None])
def test_the_default_keeps_one_thread_while_other_tasks_run(monkeypatch, others):
    """A busy neighbour (or no way to tell, outside Linux): one thread."""
    monkeypatch.setattr(fastnet.engine.plan, "others_running", lambda reads=5: others)
    monkeypatch.setattr(fastnet.engine.plan, "cores", lambda: 4)
    assert fastnet.Network([784, 800, 10], seed=0).plan(32, mnist_like(PARALLEL_FROM)).threads == 1


def test_others_running_counts_a_spinning_process():
    spinner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(0.5)  # started and spinning
        counted = others_running()
    finally:
        spinner.kill()
        spinner.wait()
    if os.path.exists("/proc/loadavg"):
        assert counted is not None and counted >= 1
    else:
        assert counted is None


def test_fit_trains_on_the_plans_choice_by_default(quiet, monkeypatch):
    """A default fit where threads win runs the threads' epoch on every
    core, and one with threads=1 the one-thread epoch."""
    calls = []
    threaded = fastnet.engine.epoch.train_epoch_threads
    monkeypatch.setattr(fastnet.engine.epoch, "train_epoch_threads",
                        lambda *args: (calls.append(args[-1]), threaded(*args))[1])
    data = mnist_like(PARALLEL_FROM)
    fastnet.Network([784, 800, 10], seed=0).fit(data, epochs=1, batch_size=32, monitor=False)
    count = min(fastnet.engine.plan.cores(), numba.get_num_threads())
    assert calls == ([count] if count > 1 else [])
    fastnet.Network([784, 800, 10], seed=0).fit(data, epochs=1, batch_size=32, monitor=False,
                                                threads=1)
    assert calls == ([count] if count > 1 else [])


def test_the_default_keeps_one_thread_while_a_prefetch_is_open(quiet, monkeypatch):
    """A Prefetch's thread distorts the next epoch's images on the other core."""
    monkeypatch.setattr(fastnet.engine.plan, "cores", lambda: 4)
    monkeypatch.setattr(numba, "get_num_threads", lambda: 2)
    net, data = fastnet.Network([784, 800, 10], seed=0), mnist_like(PARALLEL_FROM)
    with Prefetch(lambda X, y, epoch: (X, y), 2):
        assert net.plan(32, data).threads == 1
    assert net.plan(32, data).threads == 2


@pytest.mark.skipif(not blas.CAN_PIN, reason="the bound BLAS's thread count cannot be set here")
def test_one_thread_pins_blas_below_the_products_its_threads_pay_for():
    dense = dataset(300, True)
    small = fastnet.Network([20, 64, 3], seed=0).plan(64, dense, threads=1)
    assert small.layers[0].forward == "gemm" and small.pin_blas  # 64 x 20 x 64: far below
    n_in = 4 * BLAS_THREADS_PAY // (64 * 1024) + 1  # one product of 64 x n_in x 1024 pays
    wide = fastnet.Network([n_in, 1024, 3], seed=0)
    rows = np.zeros((64, n_in), dtype=np.float32)
    large = wide.plan(64, fastnet.Dataset(rows, layout="dense"), threads=1)
    assert large.layers[0].forward == "gemm" and not large.pin_blas
    assert "BLAS pinned to one thread" in str(small) and "BLAS pinned" not in str(large)


@pytest.mark.skipif(not blas.CAN_PIN, reason="the bound BLAS's thread count cannot be set here")
def test_a_one_thread_epoch_runs_with_blas_pinned_and_restores_it(monkeypatch):
    get = blas._THREAD_COUNT[0]
    before, seen = get(), []
    kernel = fastnet.engine.epoch.train_epoch
    monkeypatch.setattr(fastnet.engine.epoch, "train_epoch",
                        lambda *args: (seen.append(get()), kernel(*args))[1])
    rng = np.random.default_rng(0)
    net = fastnet.Network([20, 64, 3], seed=0)
    net.fit(rng.random((200, 20), dtype=np.float32), rng.integers(0, 3, 200), epochs=1,
            batch_size=32, threads=1, monitor=False)
    assert seen and set(seen) == {1}
    assert get() == before
