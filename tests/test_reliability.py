"""Regression tests for the failures found by attacking fastnet 0.1.0: each
case runs where a crash would only kill a child process (a subprocess) when
memory safety is at stake; see docs/reliability.md for the policies."""
import contextlib
import io
import json
import os
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import numpy as np
import pytest

import fastnet
from fastnet import Network
from fastnet.cli import main
from fastnet.engine import first_order_epoch
from conftest import synthetic_digits
from fastnet.kernels.layout import ENGINE, ROWS, check_arrays, check_columns, plan
from fastnet.runs import RunFolder

REPO = Path(__file__).resolve().parents[1]


def run_python(code, timeout=240):
    """Run ``code`` in a fresh interpreter with this checkout first on the path."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=env,
                          capture_output=True, text=True, timeout=timeout)


def blobs(n=200, n_in=20, n_out=10, seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((n, n_in)).astype(np.float32), rng.integers(0, n_out, n)


# ------------------------------------------------- 1: foreign optimizer state
def test_cli_names_a_network_too_large_for_memory(synthetic_mnist, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("FASTNET_DEBUG", raising=False)
    assert main(["train", "--data", str(synthetic_mnist), "--hidden", "1000000000",
                 "--out", "run"]) == 1
    stderr = capsys.readouterr().err
    assert stderr.startswith("fastnet: error: hidden: a network of layers [784, 1000000000, 10] "
                             "has 795,000,000,010 weights and biases, 2,961.6 GiB")
    assert stderr.strip().endswith("pass fewer units in hidden") and "Traceback" not in stderr
    assert not (tmp_path / "run").exists()


def test_optimizer_of_another_network_is_refused_not_a_crash():
    result = run_python("""
        import numpy as np
        from fastnet import Network
        rng = np.random.default_rng(0)
        X = rng.random((100, 784)).astype(np.float32); y = rng.integers(0, 10, 100)
        a = Network([784, 10, 10], seed=1); a.fit(X, y, epochs=1, momentum=0.9)
        b = Network([784, 100, 10], seed=1)
        before = b.parameters.theta.copy()
        try:
            b.fit(X, y, epochs=3, optimizer=a.optimizer)
        except ValueError as error:
            assert (b.parameters.theta == before).all()
            print("refused:", error)
    """)
    assert result.returncode == 0, result.stderr
    assert "refused: optimizer: its velocity" in result.stdout
    assert "belongs to another network" in result.stdout


def test_checkpoint_optimizer_on_another_network_is_refused(tmp_path):
    X, y = blobs()
    a = Network([20, 5, 10], seed=1)
    a.fit(X, y, epochs=1, momentum=0.5)
    fastnet.save_checkpoint(a, a.optimizer, tmp_path / "c.npz")
    _, optimizer = fastnet.load_checkpoint(tmp_path / "c.npz")
    with pytest.raises(ValueError, match="optimizer: its velocity"):
        Network([20, 7, 10], seed=1).fit(X, y, epochs=2, optimizer=optimizer)


def test_kernel_bridge_refuses_foreign_arrays_even_past_the_optimizer_check():
    """Every array that crosses into kernels/ is checked against the layer table."""
    X, y = blobs()
    net = Network([20, 5, 10], seed=0)
    data = net.with_targets(fastnet.Dataset(X, y, layout="sparse"), None)
    sgd = fastnet.SGD(momentum=0.9)
    velocity = np.zeros(7, net.dtype)  # no optimizer's check: straight to the engine
    with pytest.raises(ValueError, match="velocity: expected"):
        first_order_epoch(net, data, 0.1, sgd.update_rule(), (velocity, None), sgd.batch_size)
    layers, theta = net.parameters.layers, net.parameters.theta
    with pytest.raises(ValueError, match="theta"):
        check_arrays(layers, theta[:-1])
    with pytest.raises(ValueError, match="Y"):
        check_arrays(layers, theta, csr=data.csr,
                     Y=data.Y[:, :3].copy())
    with pytest.raises(ValueError, match="indptr"):
        bad = data.csr[0].copy()
        bad[5] = 10**9
        check_arrays(layers, theta, csr=(bad, *data.csr[1:]))
    with pytest.raises(ValueError, match="order"):
        check_arrays(layers, theta, csr=data.csr,
                     order=np.array([0, data.n], dtype=np.int64))
    with pytest.raises(ValueError, match="Z"):
        check_arrays(layers, theta, buffers=(("Z", np.zeros(3, net.dtype)),), batch_size=10)
    with pytest.raises(ValueError, match="layers"):
        broken = layers.copy()
        broken[0, 3] = 5
        check_arrays(broken, theta)
    broken = layers.copy()
    broken[-1, ENGINE] = ROWS  # a first-layer engine only
    with pytest.raises(ValueError, match="not a consistent layer table row"):
        check_arrays(broken, theta)
    n_in = int(layers[0, 0])
    check_arrays(layers, theta, row_splits=np.zeros(0, np.int64))
    check_arrays(layers, theta, row_splits=np.array([0, 3, n_in], np.int64))
    for splits in ([0, n_in - 1], [0, 5, 3, n_in], [1, n_in], [n_in]):
        with pytest.raises(ValueError, match="row_splits"):
            check_arrays(layers, theta, row_splits=np.array(splits, np.int64))
    with pytest.raises(ValueError, match="indices"):
        check_columns(np.array([0, 20], dtype=np.int32), 20)
    with pytest.raises(ValueError, match="matrix engine on the first layer needs dense inputs"):
        check_arrays(plan(layers, 10, True, "gemm"), theta, csr=data.csr)
    with pytest.raises(ValueError, match="values"):
        check_arrays(layers, theta, dense=np.zeros(7, net.dtype))


# --------------------------------------------------------- 3: one output unit
def test_one_sigmoid_output_is_binary_classification():
    rng = np.random.default_rng(0)
    X = rng.random((400, 20)).astype(np.float32)
    y = (X[:, 0] + X[:, 1] > 1).astype(int)
    net = Network([20, 8, 1], output="sigmoid", cost="cross_entropy", seed=0)
    net.fit(X, y, epochs=30, eta=1.0)
    assert net.predict_proba(X).shape == (400, 1)
    predicted = net.predict(X)
    assert predicted.dtype == np.int64 and set(np.unique(predicted)) <= {0, 1}
    np.testing.assert_array_equal(predicted, (net.predict_proba(X)[:, 0] > 0.5).astype(int))
    accuracy = net.accuracy(X, y)
    assert accuracy > 0.85
    assert net.accuracy(X, 1 - y) == pytest.approx(1 - accuracy)
    with pytest.raises(ValueError, match="labels 0 or 1"):
        net.fit(X, y + 1, epochs=1)


def test_softmax_with_one_output_is_refused():
    with pytest.raises(ValueError, match="output: a softmax over one unit"):
        Network([20, 1], output="softmax")


def test_one_linear_output_is_regression_with_n_targets():
    rng = np.random.default_rng(0)
    X = rng.random((300, 4))
    t = X @ np.array([1.0, -2.0, 0.5, 0.0]) + 0.3
    net = Network([4, 1], output="linear", dtype="float64", seed=0)
    history = net.fit(X, t, epochs=40, eta=0.1)
    assert history["training_accuracy"] == []  # no classes to count
    assert history["training_cost"][-1] < 1e-3
    assert net.predict(X).shape == (300,)
    np.testing.assert_allclose(net.predict(X), t, atol=0.1)
    assert np.isnan(net.evaluate(X, t)[1])
    with pytest.raises(ValueError, match="regression"):
        net.accuracy(X, t)


def test_real_labels_for_classes_name_both_ways_out():
    X, y = blobs()
    with pytest.raises(TypeError, match=r"y.astype\(int\) if these are class numbers"):
        Network([20, 10], output="linear").fit(X, y.astype(float), epochs=1)


# ------------------------------------------------------------- 4: batch size
def test_huge_batch_size_is_the_whole_data_set():
    X, y = blobs(n=50)
    huge, whole = Network([20, 6, 10], seed=0), Network([20, 6, 10], seed=0)
    huge.fit(X, y, epochs=2, batch_size=10**9)
    whole.fit(X, y, epochs=2, batch_size=50)
    np.testing.assert_array_equal(huge.parameters.theta, whole.parameters.theta)


# ------------------------------------------------------ 5: scale and NaN weights
def test_inputs_that_overflow_the_dtype_name_X():
    net = Network([784, 30, 10], activation="relu", seed=0)
    X, y = blobs(n=50, n_in=784)
    X[3] = 3e38
    for call in (net.predict_proba, lambda X: net.cost(X, y)):
        with pytest.raises(ValueError, match="X: the network's outputs overflow float32"):
            call(X)
    before = net.parameters.theta.copy()
    with pytest.raises(ValueError, match="X: "):
        net.fit(X, y, epochs=1)
    np.testing.assert_array_equal(net.parameters.theta, before)


def test_nan_weights_are_reported_not_predicted_as_zeros():
    net = Network([20, 6, 10], seed=0)
    net.weights[0][0, 0] = np.nan
    with pytest.raises(ValueError, match="weights: .* NaN"):
        net.predict(blobs()[0])


# --------------------------------------------------------- 6: model file bomb
def _bomb(path, declared_shape):
    """A model file whose weights_0 declares ``declared_shape`` (no data follows)."""
    net = Network([784, 30, 10], seed=0)
    net.save(path)
    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    header = {"descr": "<f4", "fortran_order": False, "shape": declared_shape}
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, header)
    members["weights_0.npy"] = buffer.getvalue()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads the peak from /proc")
def test_declared_shapes_are_checked_before_any_data_is_read(tmp_path):
    path = tmp_path / "bomb.npz"
    _bomb(path, (31360, 6000))
    result = run_python(f"""
        from fastnet import Network, ModelFileError
        try:
            Network.load({str(path)!r})
        except ModelFileError as error:
            print(error)
        # this process's peak (ru_maxrss would include the forking parent's)
        peak = [line for line in open("/proc/self/status") if line.startswith("VmHWM")]
        print(int(peak[0].split()[1]) // 1024, "MB")
    """)
    assert result.returncode == 0, result.stderr
    assert "weights_0 is float32 of shape (31360, 6000)" in result.stdout
    assert int(result.stdout.split()[-2]) < 400  # the bomb would need 750 MB


# ------------------------------------------------------------- the command line
def cli(*args, cwd, timeout=240, **popen):
    """Run ``fastnet ARGS`` in ``cwd`` without $FASTNET_DATA; CompletedProcess (text)."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    env.pop("FASTNET_DATA", None)
    env.pop("FASTNET_DEBUG", None)
    return subprocess.run([sys.executable, "-m", "fastnet", *map(str, args)], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout, **popen)


def test_out_folder_with_a_users_file_is_refused(synthetic_mnist, tmp_path):
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "model.npz").write_text("x")
    run = cli("train", "--data", synthetic_mnist, "--epochs", 1, "--limit", 100, "--out", "d",
              cwd=tmp_path)
    assert run.returncode == 1 and "is not empty and is not a fastnet run" in run.stderr
    assert (tmp_path / "d" / "model.npz").read_text() == "x"
    assert sorted(os.listdir(tmp_path / "d")) == ["model.npz"]


def test_folder_left_with_only_a_recipe_can_take_a_new_run(synthetic_mnist, tmp_path):
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "recipe.json").write_text("{}")
    run = cli("train", "--data", synthetic_mnist, "--epochs", 1, "--limit", 100, "--out", "d",
              "--quiet", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert (tmp_path / "d" / "checkpoint-last.npz").is_file()


def test_settings_that_do_not_fit_the_data_write_nothing(synthetic_mnist, tmp_path):
    for sizes in ("783,30,10", "784,30,5"):
        run = cli("train", "--data", synthetic_mnist, "--sizes", sizes, "--limit", 100,
                  "--out", "r1", cwd=tmp_path)
        assert run.returncode == 1 and "--sizes" in run.stderr, run.stderr
        assert not (tmp_path / "r1").exists()


def test_a_second_training_into_a_busy_folder_is_refused(synthetic_mnist, tmp_path):
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from fastnet.runs import RunFolder; "
         "held = RunFolder(sys.argv[1]).make().lock(); print('locked', flush=True); time.sleep(60)",
         str(tmp_path / "busy")], env={**os.environ, "PYTHONPATH": str(REPO)},
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        run = cli("train", "--data", synthetic_mnist, "--epochs", 1, "--limit", 100,
                  "--out", "busy", cwd=tmp_path)
        assert run.returncode == 1 and "is training in this folder right now" in run.stderr
    finally:
        holder.kill()
        holder.wait()
        holder.stdout.close()
    # the holder died: its lock went with it, nothing stale is left to clear by hand
    run = cli("train", "--data", synthetic_mnist, "--epochs", 1, "--limit", 100, "--out", "busy",
              "--quiet", cwd=tmp_path)
    assert run.returncode == 0, run.stderr


def test_resume_refuses_a_checkpoint_of_another_recipe(synthetic_mnist, tmp_path):
    for out, sizes in (("a", "784,20,10"), ("b", "784,12,10")):
        assert cli("train", "--data", synthetic_mnist, "--epochs", 1, "--limit", 100, "--sizes",
                   sizes, "--out", out, "--quiet", cwd=tmp_path).returncode == 0
    (tmp_path / "a" / "checkpoint-last.npz").write_bytes(
        (tmp_path / "b" / "checkpoint-last.npz").read_bytes())
    run = cli("train", "--resume", "a", "--epochs", 2, cwd=tmp_path)
    assert run.returncode == 1 and "mixes the files of two runs" in run.stderr, run.stderr


def test_bad_value_in_recipe_json_names_the_file(synthetic_mnist, tmp_path):
    assert cli("train", "--data", synthetic_mnist, "--epochs", 1, "--limit", 100, "--out", "a",
               "--quiet", cwd=tmp_path).returncode == 0
    recipe = tmp_path / "a" / "recipe.json"
    recipe.write_text(recipe.read_text().replace('"batch_size": 10', '"batch_size": -3'))
    run = cli("train", "--resume", "a", cwd=tmp_path)
    assert run.returncode == 1 and "recipe.json: not a readable run recipe" in run.stderr
    assert "batch_size" in run.stderr


def test_broken_pipe_exits_quietly(synthetic_mnist, tmp_path):
    Network([784, 10, 10], seed=0).save(tmp_path / "m.npz")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    run = subprocess.run(f"{sys.executable} -m fastnet evaluate m.npz --data {synthetic_mnist}"
                         " | head -1; echo status=${PIPESTATUS[0]}", shell=True,
                         executable="/bin/bash", cwd=tmp_path, env=env, capture_output=True,
                         text=True, timeout=240)
    assert run.stdout.startswith("model ") and "status=141" in run.stdout
    assert "Broken pipe" not in run.stderr and "Traceback" not in run.stderr


def test_sigterm_leaves_a_resume_hint(synthetic_mnist, tmp_path):
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    process = subprocess.Popen([sys.executable, "-m", "fastnet", "train", "--data", str(synthetic_mnist),
                                "--epochs", "200", "--out", "t"], cwd=tmp_path, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for line in process.stdout:
        if line.startswith("epoch"):
            break
    process.terminate()
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 143
    assert "terminated (SIGTERM) after epoch" in stderr and "--resume t" in stderr


@pytest.mark.parametrize("argv, status, message", [
    (["show", "m.npz", "--png", "out.jpg"], 2, "does not end in .png"),
    (["train", "--early-stop", "-1"], 2, "--early-stopping: expected 0 (never stop early)"),
    (["train", "--schedule", "bogus"], 2, "use one of constant, step"),
    (["train", "--data", "no/such"], 1, "--data='no/such' does not exist"),
])
def test_small_cli_messages(argv, status, message, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("FASTNET_DEBUG", raising=False)
    Network([784, 10, 10], seed=0).save(tmp_path / "m.npz")
    with pytest.raises(SystemExit) if status == 2 else contextlib.nullcontext() as exit_:
        returned = main(argv)
    stderr = capsys.readouterr().err
    assert (exit_.value.code if status == 2 else returned) == status
    assert message in stderr and "dict" not in stderr and "path=" not in stderr
    assert not (tmp_path / "out.jpg").exists()


def test_cli_says_what_it_changed_limited_and_compiled(synthetic_mnist, tmp_path):
    run = cli("train", "--data", synthetic_mnist, "--epochs", 2, "--limit", 100000, "--out", "r",
              "--quiet", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert "--limit 100,000 is more than the training set holds" in run.stdout
    assert "changed by flags: epochs 2" in run.stdout and "30 epochs" not in run.stdout
    assert "kernels  compiling (first run only)..." in run.stdout


def test_schedule_returning_zero_is_refused():
    X, y = blobs()
    with pytest.raises(ValueError, match="schedule: returned eta=0"):
        Network([20, 10]).fit(X, y, epochs=2, schedule=lambda epoch, eta, history: 0.0)


# ------------------------------------------------------- 2: finite divergence
def digits(n=1000, seed=1):
    images, labels = synthetic_digits(n, seed)
    return images.reshape(n, -1), labels


@pytest.mark.parametrize("eta, output", [(1e30, "softmax"), (1e4, "softmax"), (1e4, "sigmoid")])
def test_finite_blow_up_raises_restores_and_suggests_a_sensible_eta(eta, output):
    X, y = digits()
    net = Network([784, 30, 10], output=output, seed=0)
    before = net.parameters.theta.copy()
    with pytest.raises(fastnet.DivergenceError) as caught:
        net.fit(X, y, epochs=3, eta=eta)
    np.testing.assert_array_equal(net.parameters.theta, before)
    assert net.epochs_trained == 0 and net.optimizer.epoch == 0
    message, suggested = str(caught.value), caught.value.suggested_eta
    assert "blew up" in message and "back to what they were before fit" in message
    assert suggested is not None and suggested <= 10 and f"eta={suggested:g} trains" in message
    assert "e+2" not in message.split("try a smaller eta")[1]
    history = Network([784, 30, 10], output=output, seed=0).fit(X, y, epochs=2, eta=suggested)
    assert history["training_cost"][-1] < history["training_cost"][0] * 10


def test_a_prepared_dataset_diverges_with_the_same_suggestion_as_arrays():
    X, y = digits()
    errors = []
    for data in ((X, y), (fastnet.Dataset(X, y),)):
        with pytest.raises(fastnet.DivergenceError) as caught:
            Network([784, 30, 10], seed=0).fit(*data, epochs=3, eta=1e4)
        errors.append(caught.value)
    assert errors[1].suggested_eta is not None
    assert str(errors[1]) == str(errors[0])


def test_divergence_is_found_from_the_weights_without_monitoring():
    X, y = digits()
    net = Network([784, 30, 10], seed=0)
    with pytest.raises(fastnet.DivergenceError, match="a weight reached"):
        net.fit(X, y, epochs=2, eta=1e30, monitor=False)


def test_healthy_runs_are_not_called_divergent():
    X, y = digits()
    for settings in (dict(output="sigmoid", cost="quadratic", init="large", eta=3.0),
                     dict(activation="relu", eta=0.1), dict(eta=0.5, momentum=0.9)):
        eta = settings.pop("eta")
        rest = {k: settings.pop(k) for k in ("momentum",) if k in settings}
        Network([784, 30, 10], seed=0, **settings).fit(X, y, epochs=5, eta=eta, **rest)


def test_a_large_regularisation_term_is_not_divergence():
    """On a small data set the book's L2 term l2/(2n)·Σw² alone can be 100 times the
    cost before the fit; the cost before the fit counts it too, as every epoch's does."""
    X, y = digits(10)
    net = Network([784, 30, 10], init="large", seed=0)
    unregularised = net.cost(X, y)
    history = net.fit(X, y, epochs=2, eta=0.01, l2=5.0)
    assert history["training_cost"][0] > 100 * max(unregularised, 1.0)
    assert history["training_cost"][-1] < history["training_cost"][0]


# --------------------------------------------------------- 12: stalled runs
def stalled_network():
    """A chapter-1 network whose output unit 4 is saturated near 0 for every input."""
    net = Network([784, 30, 10], output="sigmoid", cost="quadratic", init="large", seed=0)
    net.biases[1][4] = -60.0
    return net


def test_a_class_never_predicted_is_reported_once_recorded_and_kept(tmp_path, capsys):
    X, y = digits()
    Xv, yv = digits(500, seed=2)
    net = stalled_network()
    net.fit(X, y, epochs=4, eta=3.0, validation=(Xv, yv), verbose=True)
    stall = net.optimizer.stall
    assert stall["classes"] == [4] and stall["saturated"] == [4] and stall["epoch"] == 3
    assert stall["data"] == "validation" and "recovered" not in stall
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("warning")]
    assert len(lines) == 2  # when found, and at the end
    assert "class 4 is never predicted" in lines[0] and "--seed" in lines[0]
    assert "--preset ch3" in lines[0] and "saturated" in lines[0]
    fastnet.save_checkpoint(net, net.optimizer, tmp_path / "c.npz")
    assert fastnet.load_checkpoint(tmp_path / "c.npz")[1].stall == stall
    folder = RunFolder(tmp_path)
    folder.save_history(net.optimizer)
    assert json.loads((tmp_path / "history.json").read_text())["stall"] == stall


def test_healthy_run_reports_no_stall():
    X, y = digits()
    net = Network([784, 30, 10], seed=0)
    net.fit(X, y, epochs=4, eta=0.5, validation=digits(500, seed=2))
    assert net.optimizer.stall is None


def test_stall_is_said_in_the_cli_summary(synthetic_mnist, tmp_path):
    """Through the command line: the epoch it is found and the end of the run."""
    script = tmp_path / "stall.py"
    script.write_text(textwrap.dedent("""
        import sys
        from fastnet import Network, cli
        original = Network.__init__
        def saturated(self, *args, **kwargs):
            original(self, *args, **kwargs)
            if self.sizes == (784, 30, 10) and kwargs.get("seed") == 7:
                self.biases[1][4] = -60.0
        Network.__init__ = saturated
        sys.exit(cli.main(sys.argv[1:]))
    """))
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    run = subprocess.run([sys.executable, str(script), "train", "--data", str(synthetic_mnist),
                          "--epochs", "4", "--seed", "7", "--out", "s"], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=240)
    assert run.returncode == 0, run.stderr
    warnings = [line for line in run.stdout.splitlines() if line.startswith("warning  stalled")]
    assert len(warnings) == 2, run.stdout
    assert json.loads((tmp_path / "s" / "history.json").read_text())["stall"]["classes"] == [4]


@pytest.mark.parametrize("layout", ["sparse", "dense"])
def test_heaviest_row_finds_the_largest_l1_norm_in_bands(layout):
    from fastnet.kernels.tunables import PARALLEL_ROWS as CHUNK  # one band per thread from here on
    rng = np.random.default_rng(0)
    for n in (1, 5, 2 * CHUNK + 7):
        X = ((rng.random((n, 20)) < 0.2) * rng.uniform(-1, 1, (n, 20))).astype(np.float32)
        X[rng.random(n) < 0.3] = 0  # empty rows
        data = fastnet.Dataset(X, layout=layout)
        assert data.heaviest_row() == int(np.argmax(np.abs(X).sum(1)))
        if n == 1:
            continue
        heaviest = np.abs(X).sum(1).argmax()
        part = data.take(np.flatnonzero(np.arange(n) != heaviest))  # found again for a part
        assert part.heaviest_row() == int(np.argmax(np.abs(np.delete(X, heaviest, 0)).sum(1)))
    X = np.zeros((2 * CHUNK + 7, 20), np.float32)
    X[CHUNK + 3, 3:5] = 3e38  # its sum overflows float32, not the float64 norm
    X[CHUNK + 9, 3] = 3.1e38
    assert fastnet.Dataset(X, layout=layout).heaviest_row() == CHUNK + 3
    X = np.zeros((2 * CHUNK + 7, 20))
    X[CHUNK + 3, 3:5] = 1e308  # its sum overflows float64: inf wins, without a warning
    assert fastnet.Dataset(X, dtype="float64", layout=layout).heaviest_row() == CHUNK + 3


@pytest.mark.parametrize("layout", ["sparse", "dense"])
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_a_dataset_finds_a_non_finite_value_in_any_band(layout, bad):
    """The pass that counts the non-zeros (one band of rows per thread) also
    finds NaN and infinities, wherever they are; huge finite rows pass."""
    from fastnet.kernels.tunables import PARALLEL_ROWS
    n = 2 * PARALLEL_ROWS + 7
    for row, column in ((0, 0), (n // 2 + 1, 7), (n - 1, 19)):
        X = np.zeros((n, 20), np.float32)
        X[:, ::3] = 3e38  # finite, though every row's float32 sum overflows
        X[row, column] = bad
        with pytest.raises(ValueError, match="X: contains NaN or infinite"):
            fastnet.Dataset(X, layout=layout)
    X[row, column] = 1.0
    assert fastnet.Dataset(X, layout=layout).n == n
