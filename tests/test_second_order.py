"""L-BFGS and Hessian-free training through ``Network.fit``.

L-BFGS on a network without hidden layers is L2-regularised softmax
regression, a convex problem: it must land where scikit-learn's
``LogisticRegression`` does.  Hessian-free must never increase the cost, and
both must resume from a checkpoint exactly.
"""
import numpy as np
import pytest

import fastnet
from fastnet.second_order import conjugate_gradient, subset

pytestmark = pytest.mark.usefixtures("one_thread")


def blobs(n=240, d=5, k=3, seed=0):
    """Overlapping Gaussian classes: (X (n, d), y (n,))."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((k, d)) * 1.5
    y = np.arange(n) % k
    return centres[y] + rng.standard_normal((n, d)), y


def test_lbfgs_softmax_regression_matches_scikit_learn():
    linear_model = pytest.importorskip("sklearn.linear_model")
    X, y = blobs()
    C = 0.5
    reference = linear_model.LogisticRegression(C=C, tol=1e-12, max_iter=10_000).fit(X, y)
    net = fastnet.Network([5, 3], output="softmax", dtype="float64", seed=3)
    optimizer = fastnet.LBFGS(l2=1.0 / C, iterations=500, gtol=1e-10, ftol=0.0)
    net.fit(X, y, epochs=5, optimizer=optimizer)
    assert "converged" in optimizer.stop_reason and optimizer.epoch < 5
    np.testing.assert_allclose(net.weights[0], reference.coef_.T, rtol=0, atol=1e-4)
    # Softmax ignores a constant added to every bias and L2 leaves biases
    # alone, so only the biases' differences are determined.
    b = net.biases[0]
    np.testing.assert_allclose(b - b.mean(), reference.intercept_ - reference.intercept_.mean(),
                               rtol=0, atol=1e-4)
    np.testing.assert_allclose(net.predict_proba(X), reference.predict_proba(X), atol=1e-5)


def test_lbfgs_objective_is_the_training_cost_and_history_has_its_keys():
    X, y = blobs()
    net = fastnet.Network([5, 4, 3], activation="tanh", dtype="float64", seed=1)
    optimizer = fastnet.LBFGS(l2=2.0, iterations=5)
    history = net.fit(X, y, epochs=3, optimizer=optimizer)
    assert optimizer.epoch == 3 and optimizer.stop_reason is None
    assert history["iterations"] == [5, 5, 5]
    assert all(e >= i for e, i in zip(history["evaluations"], history["iterations"]))
    costs = history["training_cost"]
    assert costs[0] > costs[1] > costs[2]
    # the L-BFGS objective includes the L2 term, as training_cost does
    assert optimizer.result.fun == pytest.approx(costs[-1], rel=1e-12)
    assert optimizer.result.message == "STOP: TOTAL NO. OF ITERATIONS REACHED LIMIT"
    assert optimizer.regularisation() == (2.0, 0.0)


def test_lbfgs_reports_convergence_and_stops():
    X, y = blobs(n=60)
    net = fastnet.Network([5, 3], dtype="float64", seed=2)
    optimizer = fastnet.LBFGS(l2=1.0, iterations=300, gtol=1e-8)
    net.fit(X, y, epochs=10, optimizer=optimizer)
    assert optimizer.epoch == 1 and optimizer.result.success
    assert optimizer.stop_reason.startswith("L-BFGS converged after")
    assert str(optimizer.result.message) in optimizer.stop_reason
    assert np.linalg.norm(net.flat_gradient(X, y)
                          + np.concatenate([net.weights[0].ravel() / 60, 0 * net.biases[0]]),
                          np.inf) < 1e-6


@pytest.mark.parametrize("make", [lambda: fastnet.LBFGS(iterations=4),
                                  lambda: fastnet.HessianFree(iterations=2, curvature_batch=50)])
def test_resume_from_a_checkpoint_is_exact(make, tmp_path):
    X, y = blobs()
    whole = fastnet.Network([5, 6, 3], seed=4)
    whole.fit(X, y, epochs=4, optimizer=make())
    half = fastnet.Network([5, 6, 3], seed=4)
    optimizer = make()
    half.fit(X, y, epochs=2, optimizer=optimizer)
    fastnet.save_checkpoint(half, optimizer, tmp_path / "run.npz")
    net, resumed = fastnet.load_checkpoint(tmp_path / "run.npz")
    assert type(resumed) is type(optimizer) and resumed.epoch == 2
    assert resumed.state_values() == optimizer.state_values()
    net.fit(X, y, epochs=4, optimizer=resumed)
    np.testing.assert_array_equal(net.flat_parameters(), whole.flat_parameters())


def test_hessian_free_never_increases_the_cost_and_adapts_damping():
    X, y = blobs(n=300, seed=5)
    net = fastnet.Network([5, 8, 3], activation="tanh", dtype="float64", seed=6)
    optimizer = fastnet.HessianFree(l2=1.0, damping=1.0, iterations=1, curvature_batch=100)
    steps = []
    net.fit(X, y, epochs=15, optimizer=optimizer, monitor=True,
            callback=lambda net, opt: steps.append(dict(opt.last_step)))
    for step in steps:
        assert step["cost"] <= step["cost_before"]
    costs = optimizer.history["training_cost"]
    assert all(later <= earlier for earlier, later in zip(costs, costs[1:]))
    assert costs[-1] < 0.5 * steps[0]["cost_before"]
    assert len(set(optimizer.history["damping"])) > 1  # λ moves with the reduction ratio
    assert all(1 <= step["cg_iterations"] <= optimizer.max_cg for step in steps)
    assert optimizer.state_values()["steps"] == 15


def test_hessian_free_reaches_a_low_cost_on_a_convex_problem():
    """Softmax regression: damped Gauss-Newton = damped Newton; it must get
    close to L-BFGS's optimum."""
    X, y = blobs()
    exact = fastnet.Network([5, 3], dtype="float64", seed=1)
    exact.fit(X, y, epochs=3, optimizer=fastnet.LBFGS(l2=1.0, iterations=500, gtol=1e-10))
    net = fastnet.Network([5, 3], dtype="float64", seed=1)
    history = net.fit(X, y, epochs=4, optimizer=fastnet.HessianFree(l2=1.0, damping=0.01))
    assert history["training_cost"][-1] == pytest.approx(exact.cost(X, y), rel=1e-6)


def test_conjugate_gradient_solves_a_positive_definite_system():
    rng = np.random.default_rng(0)
    M = rng.standard_normal((30, 30))
    A = M @ M.T + 0.1 * np.eye(30)
    b = rng.standard_normal(30)
    x, saved, iterations = conjugate_gradient(lambda v: A @ v, b, np.zeros(30), 200, 1e-12)
    np.testing.assert_allclose(x, np.linalg.solve(A, b), rtol=1e-6, atol=1e-8)
    assert np.array_equal(saved[-1], x) and 1 <= iterations <= 200
    phi = [0.5 * s @ A @ s - b @ s for s in saved]
    assert all(later <= earlier + 1e-12 for earlier, later in zip(phi, phi[1:]))


def test_subset_is_the_prepared_rows():
    net = fastnet.Network([5, 3], seed=0)
    X, y = blobs(n=20)
    X[X < 0] = 0.0  # sparse rows of different lengths
    rows = np.array([0, 3, 4, 17])
    picked, direct = subset(net.with_targets(X, y), rows), net.with_targets(X[rows], y[rows])
    for name in ("indptr", "indices", "values", "Y"):
        np.testing.assert_array_equal(getattr(picked, name), getattr(direct, name))


@pytest.mark.parametrize("make,message", [
    (lambda: fastnet.LBFGS(memory=0), "memory: must be a positive integer"),
    (lambda: fastnet.LBFGS(l2=-1), "l2: -1.0 is out of range"),
    (lambda: fastnet.LBFGS(memory=10**9), "memory: 1000000000 is too large; pass an integer "
                                          "from 1 to 100"),
    (lambda: fastnet.HessianFree(damping=0.0), "damping: 0.0 is out of range"),
    (lambda: fastnet.HessianFree(damping=1e308), r"damping: 1e\+308 is out of range; pass a "
                                                r"finite number in \(0, 1e\+06\]"),
    (lambda: fastnet.HessianFree(warm_start=2), "warm_start: 2.0 is out of range"),
])
def test_bad_settings_are_refused(make, message):
    with pytest.raises(ValueError, match=message):
        make()


@pytest.mark.parametrize("optimizer", [fastnet.LBFGS, fastnet.HessianFree, fastnet.SGD])
def test_an_l2_whose_l2_over_n_overflows_the_dtype_is_refused_by_name(optimizer):
    """As SGD's: a bad l2, refused before training, not a cost that blew up."""
    X, y = blobs(n=30)
    net = fastnet.Network([5, 4, 3], seed=0)
    before = net.parameters.theta.copy()
    with pytest.raises(ValueError, match=r"l2/n: 3\.3+e\+306 overflows this float32 network; "
                                         r"pass a value below 3\.4"):
        net.fit(X, y, epochs=1, optimizer=optimizer(l2=1e308))
    np.testing.assert_array_equal(net.parameters.theta, before)
    assert net.epochs_trained == 0


def test_sgd_keywords_are_refused_next_to_a_second_order_optimizer():
    """Any SGD keyword given, even at SGD's default value, is refused."""
    X, y = blobs(n=30)
    for given in (dict(eta=0.1), dict(batch_size=10), dict(eta=0.5, momentum=0.0)):
        with pytest.raises(TypeError, match=f"{', '.join(given)} cannot be given with it"):
            fastnet.Network([5, 3], seed=0).fit(X, y, epochs=1, optimizer=fastnet.LBFGS(), **given)
    # the way out named is the optimizer's own: LBFGS trains on the whole set, with no batch
    with pytest.raises(TypeError, match=r"batch_size cannot be given with it; LBFGS has no "
                                        r"batch_size: drop it$"):
        fastnet.Network([5, 3], seed=0).fit(X, y, epochs=1, batch_size=10, optimizer=fastnet.LBFGS())
    with pytest.raises(TypeError, match=r"l2 cannot be given with it; pass them to its "
                                        r"constructor instead \(HessianFree\(l2=...\)\)$"):
        fastnet.Network([5, 3], seed=0).fit(X, y, epochs=1, l2=1.0, optimizer=fastnet.HessianFree())


def test_lbfgs_belongs_to_one_network():
    """An LBFGS that trained one network refuses another instead of training it
    for 0 epochs and handing back the first one's history."""
    X, y = blobs(n=30)
    optimizer = fastnet.LBFGS(iterations=2)
    fastnet.Network([5, 3], seed=0).fit(X, y, epochs=1, optimizer=optimizer)
    other = fastnet.Network([5, 4, 3], seed=0)
    before = other.parameters.theta.copy()
    with pytest.raises(ValueError, match="this LBFGS trained a network of 18 parameters, but "
                                         "this network has 39"):
        other.fit(X, y, epochs=1, optimizer=optimizer)
    np.testing.assert_array_equal(other.parameters.theta, before)


def test_hessian_free_state_belongs_to_one_network():
    X, y = blobs(n=30)
    optimizer = fastnet.HessianFree(iterations=1)
    fastnet.Network([5, 3], seed=0).fit(X, y, epochs=1, optimizer=optimizer)
    with pytest.raises(ValueError, match="direction has shape"):
        fastnet.Network([5, 9, 3], seed=0).fit(X, y, epochs=2, optimizer=optimizer)


# ------------------------------------------------------------------ command line
def test_train_command_with_hessian_free_writes_and_resumes_a_run(synthetic_mnist, tmp_path,
                                                                   monkeypatch, capsys):
    import json

    from fastnet.cli import main
    monkeypatch.chdir(tmp_path)
    flags = ["--data", str(synthetic_mnist), "--sizes", "784,10,10", "--output", "softmax",
             "--seed", "3", "--limit", "500", "--quiet", "--optimizer", "hf",
             "--iterations", "1", "--curvature-batch", "200", "--damping", "0.1"]
    assert main(["train", *flags, "--epochs", "2", "--out", "run"]) == 0
    out = capsys.readouterr().out
    assert "training 2 epochs of HessianFree (damping 0.1, iterations 1," in out
    recipe = json.loads((tmp_path / "run" / "recipe.json").read_text())["recipe"]
    assert recipe["optimizer_name"] == "hf"
    assert recipe["optimizer_settings"] == {"iterations": 1, "curvature_batch": 200, "damping": 0.1}
    assert (tmp_path / "run" / "history.csv").read_text().splitlines()[0].endswith(
        "damping,cg_iterations,step_size,reduction_ratio")
    assert main(["train", "--resume", "run", "--epochs", "3"]) == 0
    _, optimizer = fastnet.load_checkpoint(tmp_path / "run" / "checkpoint-last.npz")
    assert isinstance(optimizer, fastnet.HessianFree) and optimizer.epoch == 3
    assert optimizer.state_values()["steps"] == 3


@pytest.mark.parametrize("argv, message", [
    (["--optimizer", "lbfgs", "--eta", "1"], "--eta set SGD's hyperparameters"),
    (["--optimizer", "lbfgs", "--damping", "1"], "--damping does not apply to --optimizer lbfgs"),
    (["--memory", "5"], "--memory does not apply to --optimizer sgd"),
    (["--optimizer", "lbfgs", "--memory", "0"], "memory: must be a positive integer"),
    (["--optimizer", "newton"], "invalid choice: 'newton'"),
])
def test_train_command_refuses_mixed_settings(argv, message, capsys, tmp_path, monkeypatch):
    from fastnet.cli import main
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exit_:
        main(["train", *argv])
    assert exit_.value.code == 2 and message in capsys.readouterr().err
