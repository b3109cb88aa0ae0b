"""Adam, AdamW and gradient-norm clipping: against a NumPy reference built
from ``net.gradient`` on the same mini-batches, on one and two threads, and
resumed from checkpoints."""
import copy
import json

import numpy as np
import pytest

import fastnet
from fastnet.cli import main
from fastnet.recipe import Recipe
from fastnet.schedules import Cosine, Warmup
from fastnet.sweeps.grid import apply, base_recipe, points, setting_names
from fastnet.sweeps.tune import draw

N, BATCH = 23, 5  # the last batch of each epoch has 3 samples


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(4)
    return rng.normal(size=(N, 6)), rng.integers(0, 3, N)


def network(dtype, sizes=(6, 5, 3)):
    return fastnet.Network(list(sizes), activation="tanh", dtype=dtype, seed=3)


def numpy_train(net, X, y, etas, rule, batch_size=BATCH, beta1=0.9, beta2=0.999, eps=1e-8, l2=0.0,
                weight_decay=0.0, clip_norm=None, momentum=0.0):
    """``net`` trained in float64 by the update ``rule`` ("sgd", "adam" or
    "adamw") on the epochs' mini-batches (shuffled as fit shuffles them: by
    (seed, epoch)), one epoch per eta; the gradients from ``net.gradient``."""
    n = len(X)
    params = [p.astype(float) for p in (*net.weights, *net.biases)]
    decays = [True] * len(net.weights) + [False] * len(net.biases)  # weights: L2 and decay
    first = [np.zeros_like(p) for p in params]
    second = [np.zeros_like(p) for p in params]
    t = 0
    for epoch, eta in enumerate(etas):
        order = np.random.default_rng((net.seed, epoch)).permutation(n)
        for start in range(0, n, batch_size):
            rows = order[start:start + batch_size]
            net.set_parameters(params[:len(decays) // 2], params[len(decays) // 2:])
            grads = [g.astype(float) for g in sum(net.gradient(X[rows], y[rows]), [])]
            if clip_norm is not None:
                norm = np.sqrt(sum(np.sum(g * g) for g in grads))
                grads = [g * min(1.0, clip_norm / norm) for g in grads]
            t += 1
            for k, (p, g, decayed) in enumerate(zip(params, grads, decays)):
                if decayed and rule != "adamw":
                    g = g + l2 / n * p
                if rule == "sgd":
                    first[k] = momentum * first[k] - eta * g
                    params[k] = p + first[k]
                    continue
                first[k] = beta1 * first[k] + (1 - beta1) * g
                second[k] = beta2 * second[k] + (1 - beta2) * g * g
                if decayed and rule == "adamw":
                    p = p * (1 - eta * weight_decay)
                step = eta / (1 - beta1 ** t)
                params[k] = p - step * first[k] / (np.sqrt(second[k]) / np.sqrt(1 - beta2 ** t) + eps)
    return params


CASES = {
    "adam": (fastnet.Adam, dict(eta=0.01, batch_size=BATCH), dict(rule="adam")),
    "adam-l2-betas": (fastnet.Adam, dict(eta=0.02, batch_size=BATCH, l2=3.0, beta1=0.8, beta2=0.99,
                                         eps=1e-6), dict(rule="adam", l2=3.0, beta1=0.8, beta2=0.99,
                                                         eps=1e-6)),
    "adamw": (fastnet.AdamW, dict(eta=0.01, batch_size=BATCH, weight_decay=0.5),
              dict(rule="adamw", weight_decay=0.5)),
    "adamw-clip": (fastnet.AdamW, dict(eta=0.01, batch_size=BATCH, clip_norm=0.05),
                   dict(rule="adamw", weight_decay=0.01, clip_norm=0.05)),
    "sgd-clip": (fastnet.SGD, dict(eta=0.5, batch_size=BATCH, clip_norm=0.05),
                 dict(rule="sgd", clip_norm=0.05)),
    "sgd-momentum-l2-clip": (fastnet.SGD, dict(eta=0.3, batch_size=BATCH, momentum=0.9, l2=2.0,
                                               clip_norm=0.05),
                             dict(rule="sgd", momentum=0.9, l2=2.0, clip_norm=0.05)),
}


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("case", CASES)
def test_updates_match_the_numpy_reference(data, case, dtype):
    """Three epochs under a warm-up (eta rises over the first half of the run):
    the same weights as the NumPy update on net.gradient's mini-batch gradients."""
    kind, settings, reference = CASES[case]
    X, y = data
    net = network(dtype)
    start = copy.deepcopy(net)
    optimizer = kind(**settings, schedule=Warmup(fraction=0.5, start=0.2))
    history = net.fit(X, y, epochs=3, optimizer=optimizer, monitor=False)
    etas = history["eta"]
    assert etas[0] < etas[1] < etas[2] == settings["eta"]  # the warm-up reached the update
    expected = numpy_train(start, X, y, etas, **reference)
    got = [*net.weights, *net.biases]
    rtol, atol = (1e-9, 1e-12) if dtype == "float64" else (2e-4, 2e-6)
    for g, e in zip(got, expected):
        np.testing.assert_allclose(g, e, rtol=rtol, atol=atol)
    assert optimizer.steps == 3 * -(-N // BATCH)
    if "clip" in case:  # clipping changed the result: the test can tell
        unclipped = numpy_train(start, X, y, etas, **{**reference, "clip_norm": None})
        assert not np.allclose(unclipped[0], expected[0], rtol=10 * rtol, atol=10 * atol)


def test_adam_learns(data):
    X, y = data
    history = network("float32").fit(X, y, epochs=30, optimizer=fastnet.Adam(lr=0.01, batch_size=BATCH))
    assert history["training_cost"][-1] < 0.7 * history["training_cost"][0]


def threaded(data, threads, optimizer):
    rng = np.random.default_rng(0)
    X = (rng.random((240, 20)) * (rng.random((240, 20)) < 0.3)).astype(np.float32)
    y = rng.integers(0, 3, 240)
    net = fastnet.Network([20, 24, 16, 3], activation="relu", seed=1)
    if data == "dense":
        X = net.prepare(X, layout="dense")
    assert net.plan(40, X, threads).epoch == ("threads" if threads > 1 else "one_thread")
    net.fit(X, y, epochs=2, optimizer=copy.deepcopy(optimizer), monitor=False, threads=threads)
    return net.parameters.theta.copy()


@pytest.mark.parametrize("layout", ["sparse", "dense"])
@pytest.mark.parametrize("optimizer", [fastnet.Adam(eta=0.01, batch_size=40, l2=2.0, clip_norm=0.1),
                                       fastnet.AdamW(eta=0.01, batch_size=40),
                                       fastnet.SGD(eta=0.2, batch_size=40, clip_norm=0.1)],
                         ids=["adam-clip", "adamw", "sgd-clip"])
def test_threads_agree_with_one_thread_and_repeat_bit_for_bit(monkeypatch, layout, optimizer):
    """Two threads: each updates its own rows, and the clipping norm adds up
    the threads' partial sums; equal to one thread within rounding."""
    monkeypatch.setattr(fastnet.checks, "cores", lambda: 8)
    one = threaded(layout, 1, optimizer)
    for threads in (2, 3):
        first, again = threaded(layout, threads, optimizer), threaded(layout, threads, optimizer)
        np.testing.assert_array_equal(first, again)
        np.testing.assert_allclose(first, one, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("optimizer", [
    fastnet.Adam(eta=0.01, batch_size=BATCH, l2=1.0, clip_norm=0.2, schedule=Cosine(epochs=5)),
    fastnet.AdamW(eta=0.01, batch_size=BATCH, schedule=Warmup("cosine", fraction=0.5, epochs=5))],
    ids=["adam", "adamw"])
def test_resuming_from_a_checkpoint_is_bit_identical(data, tmp_path, dtype, optimizer):
    """4 epochs in one run, or 2 + checkpoint + load + 2: the same weights, bit
    for bit (the moments and the update count travel in the checkpoint)."""
    X, y = data
    whole = network(dtype)
    whole.fit(X, y, epochs=4, optimizer=copy.deepcopy(optimizer), monitor=False)
    half = network(dtype)
    first = copy.deepcopy(optimizer)
    half.fit(X, y, epochs=2, optimizer=first, monitor=False)
    fastnet.save_checkpoint(half, first, tmp_path / "c.npz")
    net, loaded = fastnet.load_checkpoint(tmp_path / "c.npz")
    assert type(loaded) is type(optimizer) and loaded.steps == first.steps == 2 * -(-N // BATCH)
    np.testing.assert_array_equal(loaded.second_moment, first.second_moment)
    net.fit(X, y, epochs=4, optimizer=loaded, monitor=False)
    np.testing.assert_array_equal(net.parameters.theta, whole.parameters.theta)
    np.testing.assert_array_equal(loaded.first_moment, whole.optimizer.first_moment)


def test_a_fresh_optimizer_starts_its_moments_and_count_from_zero(data):
    X, y = data
    optimizer = fastnet.Adam(batch_size=BATCH)
    assert optimizer.state_arrays() == {} and optimizer.state_values() == {"steps": 0}
    network("float32").fit(X, y, epochs=1, optimizer=optimizer, monitor=False)
    assert set(optimizer.state_arrays()) == {"first_moment", "second_moment"}
    assert optimizer.first_moment.dtype == np.float32 and optimizer.steps == -(-N // BATCH)


def test_hyperparameters_rebuild_the_optimizer():
    adamw = fastnet.AdamW(lr=0.003, weight_decay=0.1, clip_norm=1.0, beta2=0.99)
    assert adamw.eta == 0.003
    again = fastnet.AdamW(**adamw.hyperparameters())
    assert again.hyperparameters() == adamw.hyperparameters()
    assert "l2" not in adamw.hyperparameters()  # decoupled decay instead
    assert fastnet.Adam().eta == 0.001 and fastnet.SGD().eta == 0.5


@pytest.mark.parametrize("make, error, message", [
    (lambda: fastnet.Adam(beta1=1.0), ValueError, r"beta1: 1.0 is out of range"),
    (lambda: fastnet.Adam(beta2=-0.1), ValueError, r"beta2: -0.1 is out of range"),
    (lambda: fastnet.Adam(eps=0.0), ValueError, r"eps: 0.0 is out of range"),
    (lambda: fastnet.Adam(eta=0.0), ValueError, r"eta: 0.0 is out of range"),
    (lambda: fastnet.Adam(eta=0.1, lr=0.1), TypeError, r"lr: PyTorch's name for eta"),
    (lambda: fastnet.AdamW(weight_decay=-1.0), ValueError, r"weight_decay: -1.0 is out of range"),
    (lambda: fastnet.AdamW(l2=1.0), TypeError, r"l2"),
    (lambda: fastnet.SGD(clip_norm=0.0), ValueError, r"clip_norm: 0.0 is out of range"),
    (lambda: fastnet.Adam(clip_norm="1"), TypeError, r"clip_norm: expected a number"),
    (lambda: fastnet.Adam(batch_size=0), ValueError, r"batch_size"),
])
def test_bad_arguments_name_the_argument(make, error, message):
    with pytest.raises(error, match=message):
        make()


def test_hogwild_refuses_adam_and_clipping(data, monkeypatch):
    monkeypatch.setattr(fastnet.checks, "cores", lambda: 8)
    X, y = data
    for optimizer in (fastnet.Adam(), fastnet.AdamW(), fastnet.SGD(clip_norm=1.0)):
        with pytest.raises(ValueError, match="hogwild: plain SGD only"):
            network("float32").fit(X, y, epochs=1, optimizer=optimizer, threads=2, hogwild=True)


def test_fit_takes_clip_norm_like_the_other_sgd_keywords(data):
    X, y = data
    net = network("float64")
    net.fit(X, y, epochs=1, batch_size=BATCH, eta=0.5, clip_norm=0.05, monitor=False)
    assert net.optimizer.clip_norm == 0.05
    with pytest.raises(TypeError, match="clip_norm cannot be given with it"):
        net.fit(X, y, epochs=1, optimizer=fastnet.Adam(), clip_norm=1.0)


# ------------------------------------------------- the command, sweeps and tune
def checkpoint_arrays(path):
    with np.load(path, allow_pickle=False) as archive:
        return {name: archive[name] for name in archive.files if name != "header"}


def test_train_command_trains_adamw_and_resumes_to_the_same_weights(synthetic_mnist, tmp_path,
                                                                     monkeypatch, capsys):
    """--optimizer adamw with its flags; --eta left out is Adam's 0.001, not the
    preset's; 1 epoch + --resume to 2 gives the weights and moments of 2 straight."""
    monkeypatch.chdir(tmp_path)
    flags = ["train", "--data", str(synthetic_mnist), "--seed", "3", "--limit", "300", "--sizes",
             "784,16,10", "--quiet", "--optimizer", "adamw", "--weight-decay", "0.1",
             "--clip-norm", "2", "--beta2", "0.99"]
    assert main([*flags, "--epochs", "2", "--out", "straight"]) == 0
    assert "of AdamW, batch 10, eta 0.001, betas 0.9, 0.99, weight decay 0.1" in capsys.readouterr().out
    assert main([*flags, "--epochs", "1", "--out", "resumed"]) == 0
    assert main(["train", "--resume", "resumed", "--epochs", "2", "--quiet"]) == 0
    recipe = json.loads((tmp_path / "resumed" / "recipe.json").read_text())["recipe"]
    assert (recipe["optimizer_name"], recipe["eta"], recipe["clip_norm"]) == ("adamw", 0.001, 2.0)
    net, optimizer = fastnet.load_checkpoint(tmp_path / "resumed" / "checkpoint-last.npz")
    assert isinstance(optimizer, fastnet.AdamW) and optimizer.steps == 2 * 30
    assert (optimizer.weight_decay, optimizer.clip_norm, optimizer.beta2) == (0.1, 2.0, 0.99)
    straight = checkpoint_arrays(tmp_path / "straight" / "checkpoint-last.npz")
    resumed = checkpoint_arrays(tmp_path / "resumed" / "checkpoint-last.npz")
    assert sorted(straight) == sorted(resumed) and any(k.startswith("second_moment") for k in straight)
    for key in straight:
        np.testing.assert_array_equal(straight[key], resumed[key], err_msg=key)


@pytest.mark.parametrize("argv, message", [
    (["--optimizer", "adam", "--momentum", "0.9"], "--momentum does not apply to --optimizer adam"),
    (["--beta1", "0.8"], "--beta1 does not apply to --optimizer sgd"),
    (["--optimizer", "adam", "--weight-decay", "0.1"], "--weight-decay does not apply to --optimizer adam"),
    (["--optimizer", "adamw", "--l2", "5"], "--l2 does not apply to --optimizer adamw"),
    (["--optimizer", "lbfgs", "--clip-norm", "1"], "--clip-norm set SGD's hyperparameters"),
    (["--optimizer", "adam", "--beta2", "1"], "beta2: 1.0 is out of range"),
    (["--clip-norm", "0"], "clip_norm: 0.0 is out of range"),
    (["--optimizer", "adamw", "--eta", "0"], "eta: 0.0 is out of range"),
])
def test_train_command_refuses_flags_of_another_optimizer(argv, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exit_:
        main(["train", *argv])
    assert exit_.value.code == 2 and message in capsys.readouterr().err
    assert not list(tmp_path.iterdir())  # nothing written


def test_sweeps_vary_the_optimizer():
    assert points({"optimizer": ["sgd", "adamw"], "beta1": [0.8]}) == \
        [{"optimizer": "sgd", "beta1": 0.8}, {"optimizer": "adamw", "beta1": 0.8}]
    adam = base_recipe("ch1", optimizer="adam", eta=0.002, clip_norm=1)
    assert isinstance(adam.optimizer(), fastnet.Adam) and adam.optimizer().clip_norm == 1.0
    assert type(apply(adam, {"optimizer": "adamw"}).optimizer()) is fastnet.AdamW
    assert "optimizer" in setting_names()
    with pytest.raises(ValueError, match="optimizer: expected one of sgd, adam, adamw, got 'lbfgs'"):
        points({"optimizer": ["lbfgs"]})


def test_sweep_command_takes_a_mini_batch_optimizer(monkeypatch, tmp_path):
    """fastnet sweep --optimizer adam sets the recipe every grid point starts from."""
    import fastnet.cli.sweep as sweep
    planned = []
    monkeypatch.setattr(sweep, "plan", lambda recipe, *args: planned.append(recipe) or [])
    monkeypatch.setattr(sweep, "run_tasks", lambda *args, **kwargs: [])
    monkeypatch.setattr(sweep, "report", lambda *args: None)
    main(["sweep", "--grid", "beta1=0.8,0.9", "--optimizer", "adam", "--quiet", "--out",
          str(tmp_path / "out")])
    assert planned[0].optimizer_name == "adam" and planned[0].eta == 0.001


def test_tune_draws_sgd_momentum_and_adam():
    rng = np.random.default_rng(0)
    draws = [draw(rng, 784, 10, 50_000, images=True) for _ in range(60)]
    adam = [d for d in draws if d["optimizer_name"] == "adam"]
    sgd = [d for d in draws if d["optimizer_name"] == "sgd"]
    assert adam and {d["momentum"] for d in sgd} == {0.0, 0.9}
    assert all(1e-4 <= d["eta"] <= 3e-3 and d["momentum"] == 0.0 for d in adam)
    assert all(d["eta"] >= 0.003 for d in sgd)
    assert isinstance(Recipe.from_dict({**Recipe().to_dict(), **adam[0]}).optimizer(), fastnet.Adam)
