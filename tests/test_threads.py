"""fit(threads=N): every batch shared by N threads (samples for the passes, weight rows for the step)."""
import ast
import inspect
import re
from pathlib import Path

import numpy as np
import pytest

import fastnet


@pytest.fixture(autouse=True)
def cores(monkeypatch):
    """These tests check how a batch is shared, not this machine: allow up to 8
    threads whatever its cores (fit refuses more threads than cores)."""
    monkeypatch.setattr(fastnet.checks, "cores", lambda: 8)


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = (rng.random((240, 20)) * (rng.random((240, 20)) < 0.3)).astype(np.float32)
    assert fastnet.Dataset(X).layout == "sparse"  # the tests below say which layout they train
    return X, rng.integers(0, 3, 240)


def train(data, threads, sizes=(20, 24, 16, 3), engine="auto", **options):
    net = fastnet.Network(list(sizes), activation="relu", seed=1)
    net.engine = engine
    net.fit(*data, epochs=2, batch_size=40, eta=0.1, monitor=False, threads=threads, **options)
    return net.parameters.theta.copy()


OPTIONS = [{}, {"l2": 3.0}, {"l2": 2000.0}, {"momentum": 0.9, "nesterov": True}, {"dropout": 0.3},
           {"l1": 2.0}]


@pytest.mark.parametrize("options", OPTIONS)
def test_threads_are_reproducible_and_agree_with_one_thread(data, options):
    """Equal to one thread within rounding, and bit-identical from run to run."""
    one = train(data, 1, **options)
    for threads in (2, 3):
        first, again = train(data, threads, **options), train(data, threads, **options)
        np.testing.assert_array_equal(first, again)
        np.testing.assert_allclose(first, one, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("sizes", [(20, 3), (20, 24, 16, 3), (20, 40, 3)])
@pytest.mark.parametrize("options", OPTIONS)
def test_threads_on_sparse_inputs(data, sizes, options):
    """Sparse inputs: each thread forwards its samples with one thread's
    kernels, and adds each sample's non-zeros in its own rows of W in batch
    order, so every weight gets one thread's additions in one thread's
    order: the same weights, bit for bit.  3 threads: uneven shares; 7:
    threads with no rows of the narrow layers, and more threads than Numba
    has."""
    one = train(data, 1, sizes, "blocked", **options)
    for threads in (2, 3, 7):
        np.testing.assert_array_equal(train(data, threads, sizes, "blocked", **options), one)
    assert not np.allclose(one, fastnet.Network(list(sizes), activation="relu", seed=1).parameters.theta)


@pytest.mark.parametrize("engine", ["per_sample", "blocked"])
def test_threads_on_dense_inputs(data, engine):
    """Dense inputs: one thread's kernels on the same values in the same
    order, so the same weights, bit for bit."""
    dense = (np.random.default_rng(5).random((240, 20)) + 0.1).astype(np.float32), data[1]
    one = train(dense, 1, engine=engine, dropout=0.2)
    for threads in (2, 3):
        np.testing.assert_array_equal(train(dense, threads, engine=engine, dropout=0.2), one)


def test_threads_call_blas_pinned_to_one_thread(data):
    """Where one thread would call BLAS (dense first layer and hidden layers
    from batch 16/8), every thread calls it on its share with BLAS pinned to
    one thread for the fit: equal to one thread within rounding, bit-identical
    run to run, and BLAS's own thread count restored afterwards."""
    from fastnet.kernels import blas
    from fastnet.kernels.layout import ENGINE, GEMM, plan
    if not blas.CAN_PIN:
        pytest.skip("this BLAS's thread count cannot be set: threads use BLOCKED instead")
    layers = fastnet.Network([20, 24, 16, 3]).parameters.layers
    assert list(plan(layers, 40, True, threads=2, thread_blas=True)[:, ENGINE]) == [GEMM] * 3
    dense = (np.random.default_rng(5).random((240, 20)) + 0.1).astype(np.float32), data[1]
    before = blas._THREAD_COUNT[0]()
    one = train(dense, 1, dropout=0.2)
    for threads in (2, 3):
        first, again = train(dense, threads, dropout=0.2), train(dense, threads, dropout=0.2)
        np.testing.assert_array_equal(first, again)
        np.testing.assert_allclose(first, one, rtol=1e-4, atol=1e-5)
    assert blas._THREAD_COUNT[0]() == before


def test_default_threads_follow_the_batch_size_and_numba(monkeypatch):
    import numba
    net = fastnet.Network([4, 3, 2])
    assert net.plan(100).threads == 1
    net.threads = "auto"
    assert net.plan(10).threads == 1
    assert net.plan(100).threads == numba.get_num_threads()
    net.threads = 3
    assert net.plan(10).threads == 3
    with pytest.raises(ValueError, match="threads: must be a positive integer"):
        net.fit(np.zeros((4, 4), np.float32), np.zeros(4, int), epochs=1, threads=0)


def test_more_threads_than_cores_are_refused_everywhere(monkeypatch, tmp_path, capsys):
    """fit(threads=N), a network's own threads setting, fastnet train --threads and
    the estimators refuse more threads than the cores this process may run on:
    they would wait for each other at every batch (--threads 1000: 36 s for a
    run of seconds), and capping them would change the weights unannounced."""
    from fastnet.cli import main
    from fastnet.sklearn import FastNetClassifier
    monkeypatch.setattr(fastnet.checks, "cores", lambda: 2)
    X, y = np.zeros((8, 4), np.float32), np.arange(8) % 2
    net = fastnet.Network([4, 3, 2], seed=0)
    before = net.parameters.theta.copy()
    message = "threads: 3 threads, but this process may run on 2 cores; pass at most 2"
    with pytest.raises(ValueError, match=message):
        net.fit(X, y, epochs=1, threads=3)
    net.threads = 3
    with pytest.raises(ValueError, match=message):
        net.fit(X, y, epochs=1)
    with pytest.raises(TypeError, match="threads: expected a positive integer or 'auto'"):
        net.fit(X, y, epochs=1, threads="all")
    np.testing.assert_array_equal(net.parameters.theta, before)
    net.fit(X, y, epochs=1, threads=2)
    net.fit(X, y, epochs=1, threads="auto")
    with pytest.raises(ValueError, match=message):
        FastNetClassifier(hidden_layer_sizes=(3,), threads=3).fit(X, y)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exit_:
        main(["train", "--threads", "3", "--out", "run"])
    assert exit_.value.code == 2 and "--" + message in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("options", [{}, {"l2": 3.0}, {"l2": 3000.0}, {"dropout": 0.3}])
def test_hogwild_threads_share_the_weights(data, options):
    """Hogwild! threads each take a part of the epoch's samples and step the
    shared weights: they train (the loss falls like one thread's), touch no
    padding, and the network's own thread setting follows the call."""
    X, y = data
    losses = []
    for threads, hogwild in ((1, False), (2, True), (3, True)):
        net = fastnet.Network([20, 24, 16, 3], activation="relu", seed=1)
        before = net.cost(X, y)
        net.fit(X, y, epochs=5, batch_size=4, eta=0.05, monitor=False, threads=threads,
                hogwild=hogwild, **options)
        losses.append(net.cost(X, y))
        assert net.hogwild is hogwild and np.all(np.isfinite(net.parameters.theta))
        for W in net.weights:
            assert W.shape[1] in (24, 16, 3)
    assert max(losses) < before, (before, losses)
    assert max(losses) < 1.2 * min(losses), losses


def test_hogwild_takes_plain_sgd_only():
    net = fastnet.Network([4, 3, 2])
    X, y = np.zeros((4, 4), np.float32), np.zeros(4, int)
    with pytest.raises(TypeError, match="hogwild: expected True or False"):
        net.fit(X, y, epochs=1, hogwild="yes")
    for options in ({"momentum": 0.9}, {"l1": 1.0}):
        with pytest.raises(ValueError, match="hogwild: plain SGD only"):
            net.fit(X, y, epochs=1, threads=2, hogwild=True, **options)
    net.fit(X, y, epochs=1, threads=1, hogwild=True, momentum=0.9)  # one thread: no Hogwild


def test_hogwild_plans_whole_rows_and_no_blas():
    """Hogwild! threads write the same rows of W: a sparse first layer reads
    and writes them whole and in order (ROWS, never register tiles), and no
    layer calls BLAS from a thread."""
    from fastnet.kernels.layout import BLOCKED, ENGINE, GEMM, PER_SAMPLE, ROWS, plan
    layers = fastnet.Network([20, 24, 16, 3]).parameters.layers
    assert list(plan(layers, 32, False, hogwild=True)[:, ENGINE]) == [ROWS, BLOCKED, BLOCKED]
    assert list(plan(layers, 32, True, hogwild=True)[:, ENGINE]) == [BLOCKED] * 3
    assert list(plan(layers, 32, False)[:, ENGINE]) == [PER_SAMPLE, GEMM, GEMM]


# ------------------------------------------------------- kernels/barrier.py
@pytest.fixture(scope="module")
def barrier_kernels():
    from fastnet.kernels.barrier import COUNT, atomic_add, meet
    from fastnet.kernels.jit import kernel

    @kernel
    def rounds(seen, missed, sync, t, T, n):
        """n rounds: write the round number, meet, count the threads whose
        number is not there yet, meet."""
        for i in range(n):
            seen[t * 8] = i
            meet(sync, T)
            for u in range(T):
                missed[t] += seen[u * 8] != i
            meet(sync, T)

    @kernel
    def add_up(counter, n):
        for _ in range(n):
            atomic_add(counter, COUNT, 1)

    return rounds, add_up


def test_the_docs_count_the_barriers_of_a_batch_as_the_epoch_loop_meets():
    """Network.fit's docstring, kernels/threads.py and docs/speed.md say how often the
    threads meet per batch: as often as ``epoch_share``'s batch loop calls ``meet``
    outside its branches, and once more with clipping (the one ``meet`` in a branch)."""
    from fastnet.kernels import threads

    def meets(tree):
        return sum(isinstance(node, ast.Call) and getattr(node.func, "id", None) == "meet"
                   for node in ast.walk(tree))
    module = ast.parse(inspect.getsource(threads))
    epoch_share = next(node for node in module.body
                       if isinstance(node, ast.FunctionDef) and node.name == "epoch_share")
    batch_loop = next(node for node in epoch_share.body if isinstance(node, ast.For))
    assert meets(batch_loop) == meets(module)  # the threads meet nowhere else
    branched = sum(meets(node) for node in batch_loop.body if isinstance(node, ast.If))
    assert branched == 1  # clipping's
    always = meets(batch_loop) - branched
    times = {1: "once", 2: "twice"}.get(always, f"{always} times")
    speed = Path(__file__).resolve().parents[1] / "docs" / "speed.md"
    for where, text, said in (
            ("Network.fit", fastnet.Network.fit.__doc__, f"synchronises the threads {times}"),
            ("kernels/threads.py", threads.__doc__, f"{times} per batch"),
            ("docs/speed.md", speed.read_text(), f"barrier {times} per batch")):
        assert said in re.sub(r"\s+", " ", text), f"{where} does not say {said!r}"
        assert "once more with clip_norm" in re.sub(r"\s+", " ", text), \
            f"{where} does not say that clipping meets once more"


@pytest.mark.parametrize("T", [1, 2, 3, 5])
def test_barrier_lets_no_thread_past_before_all_arrive(barrier_kernels, T):
    """T threads (5: more than this machine's cores, so waiting threads yield
    their core) each write, meet and read every thread's write, 2,000 times:
    no thread ever sees another's value of the round before."""
    from fastnet.kernels.bands import at_once
    from fastnet.kernels.barrier import new_sync
    rounds, _ = barrier_kernels
    seen, missed, sync = np.full(8 * T, -1), np.zeros(T, dtype=np.int64), new_sync()
    at_once(lambda t: rounds(seen, missed, sync, t, T, 2000), T)
    assert missed.tolist() == [0] * T
    assert seen[::8].tolist() == [1999] * T


def test_atomic_add_loses_no_addition(barrier_kernels):
    from fastnet.kernels.bands import at_once
    from fastnet.kernels.barrier import new_sync
    _, add_up = barrier_kernels
    counter = new_sync()
    at_once(lambda t: add_up(counter, 100_000), 3)
    assert counter[0] == 300_000


def test_at_once_runs_every_call_in_its_own_thread_and_raises_their_errors():
    import threading

    from fastnet.kernels.bands import at_once
    together, names = threading.Barrier(4, timeout=30), {}

    def meet(t):  # fails (BrokenBarrierError) unless all four run at once
        together.wait()
        names[t] = threading.current_thread().name
    at_once(meet, 4)
    assert names == {0: threading.current_thread().name, 1: "fastnet-1", 2: "fastnet-2",
                     3: "fastnet-3"}

    def fail(t):
        if t == 2:
            raise ValueError("thread 2")
    with pytest.raises(ValueError, match="thread 2"):
        at_once(fail, 3)


@pytest.mark.parametrize("options", OPTIONS)
def test_wide_first_layer_steps_by_column_bit_for_bit(data, options, monkeypatch):
    """A sparse first layer wider than the register tiles steps row by row of
    W (COLUMNS): the same weights, bit for bit, as sample by sample, on one
    thread and on 2 and 3."""
    import fastnet.engine.plan
    from fastnet.kernels import layout
    from fastnet.kernels.dense import TILED_WIDTH
    sizes = (20, TILED_WIDTH + 9, 3)

    def sample_by_sample(*args, **kwargs):
        planned = layout.plan(*args, **kwargs)
        assert planned[0, layout.ENGINE] == layout.COLUMNS
        planned[0, layout.ENGINE] = layout.PER_SAMPLE
        return planned
    for threads in (1, 2, 3):
        by_column = train(data, threads, sizes, **options)
        with monkeypatch.context() as patch:
            patch.setattr(fastnet.engine.plan, "plan_table", sample_by_sample)
            np.testing.assert_array_equal(by_column, train(data, threads, sizes, **options))


@pytest.mark.parametrize("threads", [1, 2, 3])
def test_threads_give_the_same_weights_when_progress_splits_the_epoch(data, threads):
    """With a progress callback an epoch runs in several calls (its shares of
    the batches, the lazy decay and the COLUMNS step carried across them):
    the same weights, bit for bit, as in one call."""
    from fastnet.kernels.dense import TILED_WIDTH
    sizes, calls = (20, TILED_WIDTH + 9, 3), []
    plain = train(data, threads, sizes, l2=3.0)
    split = train(data, threads, sizes, l2=3.0,
                  progress=lambda done, total: calls.append(done))
    assert len(calls) > 2
    np.testing.assert_array_equal(split, plain)


def test_evaluation_and_curvature_wake_threads_from_the_same_sample_count(monkeypatch):
    """One rule for PARALLEL_FROM: from that many samples on, predict runs its
    bands on every thread and the full-batch gradient its blocks."""
    import numba

    import fastnet.curvature
    import fastnet.network
    from fastnet.kernels.tunables import PARALLEL_FROM

    net, asked, forward_all = fastnet.Network([3, 4, 2], seed=0), [], fastnet.engine.passes.forward_all

    def recording(*args, threads=None):
        asked.append(threads)
        return forward_all(*args, threads=threads)

    monkeypatch.setattr(fastnet.engine.passes, "forward_all", recording)
    for n in (PARALLEL_FROM - 1, PARALLEL_FROM):
        net.predict(np.ones((n, 3), dtype=np.float32))
    assert asked == [1, numba.get_num_threads()]
    seen, gradient_all = [], fastnet.engine.curvature.gradient_all

    def counting(*args):
        seen.append(args[-1])
        return gradient_all(*args)

    monkeypatch.setattr(fastnet.engine.curvature, "gradient_all", counting)
    for n in (PARALLEL_FROM - 1, PARALLEL_FROM):
        net.flat_gradient(np.ones((n, 3), dtype=np.float32), np.zeros(n, dtype=np.int64))
    assert seen == [1, numba.get_num_threads()]
