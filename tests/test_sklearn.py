"""fastnet.sklearn: scikit-learn's estimator checks, and the estimators in Pipelines, searches, pickles."""
import os
import pickle
import warnings

import numpy as np
import pytest

pytest.importorskip("sklearn")  # guard only: CI installs the sklearn extra
# scikit-learn's array-API check (with NumPy arrays) runs only when this is set.
os.environ.setdefault("SCIPY_ARRAY_API", "1")

from sklearn.base import clone  # noqa: E402
from sklearn.datasets import load_diabetes, load_digits, make_blobs, make_regression  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.model_selection import GridSearchCV, cross_val_score, train_test_split  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from sklearn.utils import estimator_checks  # noqa: E402
from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

from fastnet import Network  # noqa: E402
from fastnet.sklearn import FastNetClassifier, FastNetRegressor  # noqa: E402

from sklearn.neural_network import MLPClassifier, MLPRegressor  # noqa: E402

import fastnet  # noqa: E402

# Weights against repeated rows sum in another order: the float32 networks agree
# within ~4e-7 relative, and these checks compare at rtol=1e-7 (made for float64).
FLOAT32_ROUNDING = {
    name: "float32 rounding (~4e-7) against the check's rtol=1e-7; passes in float64 (see below)"
    for name in ("check_sample_weight_equivalence_on_dense_data",
                 "check_sample_weight_equivalence_on_sparse_data")}

@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@parametrize_with_checks([FastNetClassifier(solver="sgd"), FastNetRegressor(solver="sgd")],
                         expected_failed_checks=lambda estimator: FLOAT32_ROUNDING)
def test_scikit_learn_estimator_checks_at_the_defaults_with_sgd(estimator, check):
    check(estimator)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@parametrize_with_checks([FastNetClassifier(), FastNetRegressor()],
                         expected_failed_checks=lambda estimator: FLOAT32_ROUNDING)
def test_scikit_learn_estimator_checks_at_the_defaults(estimator, check):
    check(estimator)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("kind", [FastNetClassifier, FastNetRegressor])
@pytest.mark.parametrize("name", sorted(FLOAT32_ROUNDING))
def test_sample_weight_equivalence_checks_pass_in_float64(kind, name):
    """The two checks that compare at rtol=1e-7 pass where the network computes in float64."""
    getattr(estimator_checks, name)(kind.__name__, kind(dtype="float64"))


def blobs(n=200, classes=3, seed=0):
    X, y = make_blobs(n_samples=n, centers=classes, n_features=4, random_state=seed)
    return (X - X.mean(axis=0)) / X.std(axis=0), y


def small_classifier(**settings):
    return FastNetClassifier(**{"hidden_layer_sizes": (8,), "solver": "sgd", "max_iter": 30, "batch_size": 16,
                                "learning_rate_init": 0.05, "random_state": 0, **settings})


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_any_labels_come_back_as_given():
    X, y = blobs()
    names = np.array(["cat", "dog", "emu"])[y]
    model = small_classifier().fit(X, names)
    assert list(model.classes_) == ["cat", "dog", "emu"]
    assert model.score(X, names) > 0.95
    odd = np.array([-7, 3, 40])[y]
    np.testing.assert_array_equal(small_classifier().fit(X, odd).predict(X) == odd,
                                  model.predict(X) == names)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_binary_problems_get_two_softmax_units():
    X, y = blobs(classes=2)
    model = small_classifier().fit(X, y == 1)
    assert model.network_.sizes[-1] == 2 and model.network_.output == "softmax"
    P = model.predict_proba(X)
    assert P.shape == (len(X), 2) and P.dtype == np.float64
    np.testing.assert_allclose(P.sum(axis=1), 1.0, atol=1e-6)
    np.testing.assert_allclose(np.exp(model.predict_log_proba(X)), P, rtol=1e-12)
    assert model.score(X, y == 1) > 0.95


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_sigmoid_outputs_give_normalised_probabilities():
    X, y = blobs()
    model = small_classifier(output="sigmoid").fit(X, y)
    assert model.network_.cost_name == "cross_entropy"
    np.testing.assert_allclose(model.predict_proba(X).sum(axis=1), 1.0, atol=1e-12)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_attributes_are_the_networks_parameters_in_scikit_learns_layout():
    X, y = blobs()
    model = small_classifier(hidden_layer_sizes=(8, 5), n_iter_no_change=30).fit(X, y)
    assert [W.shape for W in model.coefs_] == [(4, 8), (8, 5), (5, 3)]
    assert [b.shape for b in model.intercepts_] == [(8,), (5,), (3,)]
    assert isinstance(model.network_, Network) and model.network_.sizes == (4, 8, 5, 3)
    assert model.n_features_in_ == 4 and model.n_iter_ == len(model.loss_curve_) == 30
    # predict_proba is the forward pass of coefs_ / intercepts_: relu hidden, softmax output
    a = X
    for W, b in zip(model.coefs_[:-1], model.intercepts_[:-1]):
        a = np.maximum(a @ W + b, 0)
    z = a @ model.coefs_[-1] + model.intercepts_[-1]
    expected = np.exp(z - z.max(axis=1, keepdims=True))
    np.testing.assert_allclose(model.predict_proba(X), expected / expected.sum(axis=1, keepdims=True),
                               atol=1e-5)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_alpha_is_scikit_learns_penalty_per_mini_batch():
    """With zero inputs the first layer's weights only decay: by (1 − lr·α/batch)
    per step in scikit-learn's mini-batch solvers, so in fastnet's too (not by
    fastnet's per-training-set 1 − lr·α/n)."""
    X, y = np.zeros((64, 4)), np.arange(64) % 3
    settings = dict(hidden_layer_sizes=(8,), solver="sgd", alpha=3.0, batch_size=16,
                    learning_rate_init=0.01, momentum=0.0, random_state=0)
    ratios = []
    for model in (MLPClassifier(**settings), FastNetClassifier(**settings, dtype="float64")):
        first = model.partial_fit(X, y, classes=[0, 1, 2]).coefs_[0].copy()
        ratios.append(model.partial_fit(X, y).coefs_[0] / first)
    np.testing.assert_allclose(ratios[0], (1 - 0.01 * 3.0 / 16) ** 4, rtol=1e-12)
    np.testing.assert_allclose(ratios[1], ratios[0], rtol=1e-12)
    # loss_ is scikit-learn's running loss: with one batch an epoch, the cost before its step
    X, y = blobs()
    model = small_classifier(alpha=0.0, batch_size=len(y), dtype="float64").partial_fit(X, y, classes=[0, 1, 2])
    before = model.network_.cost(X, y)
    assert model.partial_fit(X, y).loss_ == pytest.approx(before, rel=1e-12)
    assert model.loss_ != pytest.approx(model.network_.cost(X, y), rel=1e-6)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("solver", ["sgd", "adam", "lbfgs"])
def test_alpha_weighs_as_much_as_in_mlpclassifier(solver):
    """The same alpha, the same training accuracy as MLPClassifier's, from none
    to a penalty that collapses mini-batch training to chance (alpha=100,
    batches of 50; the old per-training-set scaling still reached 99 %)."""
    X, y = load_digits(return_X_y=True)
    X, y = StandardScaler().fit_transform(X[:500]), y[:500]
    settings = dict(hidden_layer_sizes=(32,), solver=solver, batch_size=50, max_iter=30,
                    learning_rate_init=0.01, random_state=0)
    for alpha in (1e-4, 10.0, 100.0):
        accuracies = [kind(**settings, alpha=alpha).fit(X, y).score(X, y)
                      for kind in (MLPClassifier, FastNetClassifier)]
        assert abs(accuracies[0] - accuracies[1]) < 0.1, (alpha, accuracies)


def stop_epoch_by_scikit_learns_rule(scores, tol, n_iter_no_change):
    """The epoch after which MLPClassifier's early stopping ends a run with these
    validation scores (its _update_no_improvement_count), None if it never does."""
    best, count = -np.inf, 0
    for epoch, score in enumerate(scores, 1):
        count = count + 1 if score < best + tol else 0
        best = max(best, score)
        if count > n_iter_no_change:
            return epoch
    return None


@pytest.mark.parametrize("settings", [dict(solver="sgd", learning_rate_init=0.01),
                                      {}], ids=["sgd", "defaults"])
def test_early_stopping_side_by_side_with_mlpclassifier(settings):
    """Standardised digits, (100,), max_iter=200: per seed, the run stops where
    scikit-learn's rule says for its validation scores; over three seeds, as
    many epochs and the same test accuracy as MLPClassifier's."""
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(StandardScaler().fit_transform(X), y,
                                                        test_size=0.25, stratify=y, random_state=0)
    runs = {MLPClassifier: [], FastNetClassifier: []}
    for seed in range(3):
        for kind, found in runs.items():
            model = kind(hidden_layer_sizes=(100,), early_stopping=True, max_iter=200,
                         random_state=seed, **settings).fit(X_train, y_train)
            assert stop_epoch_by_scikit_learns_rule(model.validation_scores_, model.tol,
                                                    model.n_iter_no_change) == model.n_iter_
            assert model.best_validation_score_ == max(model.validation_scores_)
            found.append((model.n_iter_, model.score(X_test, y_test)))
    (sk_epochs, sk_accuracy), (epochs, accuracy) = (np.mean(found, axis=0) for found in runs.values())
    assert 0.7 <= epochs / sk_epochs <= 1.4, runs
    assert abs(accuracy - sk_accuracy) < 0.015, runs


@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_a_default_regressor_trains_on_unscaled_targets(solver):
    """load_diabetes with standardised X and raw y (about 25 to 350): at most
    warnings, as MLPRegressor, which trains too."""
    X, y = load_diabetes(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    for seed in range(3):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model = FastNetRegressor(solver=solver, random_state=seed).fit(X, y)
            reference = MLPRegressor(solver=solver, random_state=seed).fit(X, y)
        assert np.isfinite(model.predict(X)).all()
        assert model.score(X, y) >= min(reference.score(X, y), 0.5) - 0.05


@pytest.mark.filterwarnings("ignore:.*max_iter=30 epochs reached")
def test_a_fit_that_diverges_trains_again_at_a_smaller_learning_rate():
    X, y = blobs()
    with pytest.warns(ConvergenceWarning, match=r"diverged in epoch 1 \(learning_rate_init=10000\).*"
                                                r"trained with learning_rate_init=1 instead"):
        model = small_classifier(learning_rate_init=1e4, n_iter_no_change=30).fit(X, y)
    assert model.learning_rate_init == 1e4 and model.optimizer_.eta == 1.0
    assert model.score(X, y) > 0.9


def test_lbfgs_is_one_run_of_max_iter_iterations_and_max_fun_evaluations():
    X, y = blobs()
    model = small_classifier(solver="lbfgs", max_iter=200).fit(X, y)
    assert isinstance(model.optimizer_, fastnet.LBFGS) and model.optimizer_.l2 == 1e-4
    assert model.n_iter_ == model.optimizer_.result.nit <= 200 and model.score(X, y) > 0.95
    with pytest.warns(ConvergenceWarning, match="solver='lbfgs' stopped before it converged"):
        model = small_classifier(solver="lbfgs", max_iter=200, max_fun=5).fit(X, y)
    assert model.optimizer_.result.nfev <= 5 + 20  # SciPy checks maxfun between line searches
    with pytest.raises(ValueError, match="solver: partial_fit .* 'lbfgs' is none"):
        model.partial_fit(X, y)


def test_training_stops_by_scikit_learns_rules():
    X, y = blobs()
    model = small_classifier(max_iter=500, n_iter_no_change=3, tol=0.5).fit(X, y)
    assert model.n_iter_ == 5  # the loss never falls by 0.5 after the first epoch: 1 + 3 + 1
    with pytest.warns(ConvergenceWarning, match="max_iter=3"):
        small_classifier(max_iter=3, tol=0.0).fit(X, y)


def test_early_stopping_keeps_the_best_validation_epoch():
    X, y = blobs(n=400)
    model = small_classifier(early_stopping=True, max_iter=200, n_iter_no_change=4,
                             validation_fraction=0.25).fit(X, y)
    assert model.best_loss_ is None and len(model.validation_scores_) == model.n_iter_ < 200
    assert model.best_validation_score_ == max(model.validation_scores_)


def test_partial_fit_needs_classes_first_then_trains_one_epoch_per_call():
    X, y = blobs()
    model = small_classifier()
    with pytest.raises(ValueError, match="classes"):
        model.partial_fit(X, y)
    model.partial_fit(X[:100], y[:100], classes=[0, 1, 2])
    for _ in range(9):
        model.partial_fit(X, y)
    assert model.n_iter_ == 10 and model.optimizer_.epoch == 10
    assert model.score(X, y) > 0.9
    with pytest.raises(ValueError, match="label 7"):
        model.partial_fit(X[:2], [0, 7])


def test_partial_fit_epochs_equal_one_fit_with_as_many_epochs():
    X, y = blobs()
    whole = small_classifier(max_iter=6, n_iter_no_change=6)
    with pytest.warns(ConvergenceWarning):
        whole.fit(X, y)
    pieces = small_classifier()
    for _ in range(6):
        pieces.partial_fit(X, y, classes=[0, 1, 2])
    for W, V in zip(whole.coefs_, pieces.coefs_):
        np.testing.assert_array_equal(W, V)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_warm_start_continues_from_the_fitted_weights():
    X, y = blobs()
    model = small_classifier(max_iter=3, warm_start=True, n_iter_no_change=3).fit(X, y)
    network = model.network_
    model.fit(X, y)
    assert model.network_ is network and model.n_iter_ == 6 and network.epochs_trained == 6
    again = clone(model).set_params(warm_start=False, max_iter=6).fit(X, y)
    for W, V in zip(model.coefs_, again.coefs_):
        np.testing.assert_array_equal(W, V)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_regression_with_one_and_with_several_outputs():
    X, Y = make_regression(n_samples=200, n_features=5, n_targets=2, noise=1.0, random_state=0)
    Y = Y / Y.std(axis=0)
    settings = dict(hidden_layer_sizes=(16,), solver="sgd", max_iter=80, batch_size=16,
                    learning_rate_init=0.01, random_state=0)
    several = FastNetRegressor(**settings).fit(X, Y)
    assert several.predict(X).shape == (200, 2) and several.score(X, Y) > 0.9
    one = FastNetRegressor(**settings).fit(X, Y[:, 0])
    assert one.predict(X).shape == (200,) and one.score(X, Y[:, 0]) > 0.9
    assert one.network_.output == "linear" and one.network_.cost_name == "quadratic"


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_pipeline_grid_search_cross_validation_and_pickle():
    X, y = load_digits(return_X_y=True)
    X, y = X[:600], y[:600]
    pipeline = make_pipeline(StandardScaler(), small_classifier(hidden_layer_sizes=(32,), max_iter=30))
    assert cross_val_score(pipeline, X, y, cv=3).mean() > 0.85
    search = GridSearchCV(pipeline, {"fastnetclassifier__alpha": [1e-4, 1.0]}, cv=2, n_jobs=2)
    search.fit(X, y)
    assert search.best_score_ > 0.82  # MLPClassifier with the same settings: 0.848
    restored = pickle.loads(pickle.dumps(search.best_estimator_))
    np.testing.assert_array_equal(restored.predict_proba(X), search.best_estimator_.predict_proba(X))


def test_bad_settings_are_named():
    X, y = blobs()
    for settings, name in ((dict(activation="identity"), "activation"),
                           (dict(hidden_layer_sizes=(0,)), "hidden_layer_sizes"),
                           (dict(learning_rate_init=0.0), "learning_rate_init"),
                           (dict(alpha=-1.0), "alpha"), (dict(batch_size=0), "batch_size"),
                           (dict(output="linear"), "output"), (dict(dtype="int8"), "dtype"),
                           (dict(validation_fraction=1.0), "validation_fraction")):
        with pytest.raises((ValueError, TypeError), match=name):
            small_classifier(**settings).fit(X, y)


@pytest.mark.parametrize("sizes", [None, "64", 2.5])
def test_hidden_layer_sizes_that_are_no_sizes_are_named(sizes):
    X, y = blobs()
    with pytest.raises(TypeError, match=r"hidden_layer_sizes: expected a positive integer or a sequence"):
        small_classifier(hidden_layer_sizes=sizes).fit(X, y)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("estimator", ["classifier", "regressor"])
@pytest.mark.parametrize("solver", ["sgd", "adam", "lbfgs"])
def test_integer_sample_weights_train_as_repeated_rows(estimator, solver):
    """One batch per epoch (or L-BFGS): a weight of k steps as k copies of the row would."""
    X, y = blobs(n=60)
    if estimator == "regressor":
        y = X @ np.array([1.0, -2.0, 0.5, 3.0])
    weights = np.random.default_rng(0).integers(0, 4, len(y))
    kind = FastNetClassifier if estimator == "classifier" else FastNetRegressor
    settings = dict(hidden_layer_sizes=(8,), solver=solver, max_iter=5, learning_rate_init=0.01,
                    alpha=0.5, random_state=0, dtype="float64")
    weighted = kind(batch_size=len(y), **settings).fit(X, y, sample_weight=weights)
    repeated = kind(batch_size=int(weights.sum()), **settings).fit(
        np.repeat(X, weights, axis=0), np.repeat(y, weights))
    unweighted = kind(batch_size=len(y), **settings).fit(X, y)
    for a, b, c in zip(weighted.coefs_, repeated.coefs_, unweighted.coefs_):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)
        assert not np.allclose(a, c)
    np.testing.assert_allclose(weighted.loss_curve_, repeated.loss_curve_, rtol=1e-10)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_sample_weights_weigh_partial_fit_and_the_early_stopping_score():
    X, y = blobs(n=300)
    weights = np.where(y == 0, 0.0, 1.0)  # class 0 never counts
    model = small_classifier(early_stopping=True, max_iter=8).fit(X, y, sample_weight=weights)
    assert len(model.validation_scores_) == model.n_iter_
    model.partial_fit(X, y, sample_weight=weights)
    with pytest.raises(ValueError, match=r"sample_weight: expected shape \(300,\)"):
        small_classifier().fit(X, y, sample_weight=np.ones(3))
    with pytest.raises(ValueError, match="sample_weight: weights must not be negative"):
        small_classifier().fit(X, y, sample_weight=-np.ones(len(y)))


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("solver", ["sgd", "adam", "lbfgs"])
def test_sparse_X_trains_as_its_dense_array(solver):
    import scipy.sparse
    X, y = blobs(n=120)
    X[np.abs(X) < 0.6] = 0.0
    dense = small_classifier(solver=solver, max_iter=5).fit(X, y)
    for sparse in (scipy.sparse.csr_matrix(X), scipy.sparse.csc_array(X), scipy.sparse.coo_matrix(X)):
        model = small_classifier(solver=solver, max_iter=5).fit(sparse, y)
        for a, b in zip(model.coefs_, dense.coefs_):
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(model.predict_proba(sparse), dense.predict_proba(X), atol=1e-6)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_sparse_pipelines_never_make_the_inputs_dense(monkeypatch):
    import scipy.sparse
    from sklearn.feature_extraction.text import TfidfVectorizer
    words = ["apple", "pear", "plum", "fig", "kiwi", "lime", "date", "yuzu"]
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 200)
    texts = [" ".join(rng.choice(words[4 * label:4 * label + 4], 3)) + " " + " ".join(rng.choice(words, 2))
             for label in y]

    def refuse(*args, **kwargs):
        raise AssertionError("a sparse matrix was made dense")
    monkeypatch.setattr(scipy.sparse.csr_matrix, "toarray", refuse)
    monkeypatch.setattr(scipy.sparse.csr_matrix, "todense", refuse)
    for first in (TfidfVectorizer(),):
        model = make_pipeline(first, small_classifier(max_iter=20)).fit(texts, y)
        assert model.score(texts, y) > 0.95
    X = scipy.sparse.random(200, 50, density=0.1, random_state=0, format="csr")
    model = make_pipeline(StandardScaler(with_mean=False), small_classifier(max_iter=3)).fit(X, y)
    assert model.predict(X).shape == (200,)


def test_a_missing_scikit_learn_is_named_with_the_extra(monkeypatch):
    import importlib
    import sys
    for name in [name for name in sys.modules if name.split(".")[0] == "sklearn"]:
        monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.delitem(sys.modules, "fastnet.sklearn")
    with pytest.raises(ImportError, match=r"pip install \"fastnet\[sklearn\]\""):
        importlib.import_module("fastnet.sklearn")


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_threads_leave_numbas_setting_alone_and_verbose_prints_each_epoch(capsys):
    import numba
    X, y = blobs()
    before = numba.get_num_threads()
    small_classifier(threads=1, max_iter=3, verbose=True).fit(X, y)
    assert numba.get_num_threads() == before
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(",")[0] for line in lines] == ["Iteration 1", "Iteration 2", "Iteration 3"]


def test_threads_train_the_network_on_that_many_threads(monkeypatch):
    """threads=2 reaches the network's fit: every batch is shared by two threads
    (kernels/threads.py), and the weights are those of Network.fit(threads=2)."""
    import fastnet.engine.epoch
    shared, counts = fastnet.engine.epoch.train_epoch_threads, []
    monkeypatch.setattr(fastnet.engine.epoch, "train_epoch_threads",
                        lambda *args: counts.append(args[-1]) or shared(*args))
    X, y = blobs()
    model = small_classifier(threads=2, max_iter=3, n_iter_no_change=3)
    with pytest.warns(ConvergenceWarning):
        model.fit(X, y)
    assert counts == [2, 2, 2] and model.network_.threads == 2
    assert model.network_.plan(16, X.astype(np.float32)).threads == 2
    net = Network([4, 8, 3], activation="relu", seed=model.network_.seed)
    net.fit(X.astype(np.float32), y, epochs=3, batch_size=16, eta=0.05, momentum=0.9,
            nesterov=True, l2=1e-4 * 200 / 16, threads=2)
    assert len(counts) == 6
    np.testing.assert_array_equal(model.network_.parameters.theta, net.parameters.theta)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("change", [dict(hidden_layer_sizes=(5,)), dict(activation="tanh"),
                                    dict(dtype="float64"), dict(output="sigmoid"),
                                    dict(hidden_layer_sizes=(8, 4))])
def test_warm_start_with_another_network_starts_a_new_one(change):
    """As scikit-learn's MLP: parameters that describe another network start it
    afresh, so that get_params() and network_ agree; partial_fit, which only
    continues, refuses them instead."""
    X, y = blobs()
    model = small_classifier(max_iter=3, warm_start=True).fit(X, y)
    first = model.network_
    model.set_params(**change).fit(X, y)
    fresh = clone(model).set_params(warm_start=False).fit(X, y)
    assert model.network_ is not first and model.n_iter_ == 3
    assert repr(model.network_) == repr(fresh.network_)
    np.testing.assert_array_equal(model.network_.parameters.theta, fresh.network_.parameters.theta)
    pieces = small_classifier().partial_fit(X, y, classes=[0, 1, 2])
    name = next(iter(change))
    with pytest.raises(ValueError, match=f"{name}(, cost)?: changed since network_ was built"):
        pieces.set_params(**change).partial_fit(X, y)
    assert pieces.n_iter_ == 1


def test_messages_use_scikit_learns_names():
    """learning_rate_init and alpha, not eta and l2/n; labels that do not sort
    together are named as such."""
    import re

    import fastnet
    X, y = blobs()
    for settings, name in ((dict(learning_rate_init=1e300), "learning_rate_init"),
                           (dict(alpha=1e300), "alpha")):
        with pytest.raises(ValueError, match=f"^{name}: 1e\\+300 is out of range"):
            small_classifier(**settings).fit(X, y)
    with pytest.raises(fastnet.DivergenceError) as caught:  # partial_fit continues: no retry
        small_classifier(learning_rate_init=1e4).partial_fit(X, y, classes=[0, 1, 2])
    message = str(caught.value)
    assert "(learning_rate_init=10000)" in message and "smaller learning_rate_init" in message
    assert not re.search(r"\beta\b", message), message
    mixed = np.array(["cat", 1, "emu"], dtype=object)[y]
    for call in (lambda: small_classifier().fit(X, mixed),
                 lambda: small_classifier().partial_fit(X, mixed, classes=["cat", 1, "emu"])):
        with pytest.raises(TypeError, match=r"y: labels of mixed types \(int, str\)"):
            call()
    with pytest.raises(TypeError, match=r"classes: labels of mixed types \(int, str\)"):
        small_classifier().partial_fit(X, y, classes=np.array([0, 1, "2"], dtype=object))


def test_a_network_too_large_for_memory_is_named_before_allocating():
    X, y = blobs()
    with pytest.raises(ValueError, match=r"hidden_layer_sizes: a network of layers "
                                         r"\[4, 1000000000, 3\] has 8,000,000,003 weights.*GiB"):
        small_classifier(hidden_layer_sizes=(10**9,)).fit(X, y)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_a_sigmoid_regressor_fits_targets_in_the_unit_interval():
    X, _ = blobs()
    targets = 1 / (1 + np.exp(-X[:, :2]))
    model = FastNetRegressor(hidden_layer_sizes=(16,), solver="sgd", output="sigmoid", max_iter=60, batch_size=16,
                             learning_rate_init=0.1, random_state=0).fit(X, targets)
    assert model.network_.cost_name == "cross_entropy" and model.score(X, targets) > 0.9


def test_changed_settings_apply_to_the_next_partial_fit_and_the_momentum_carries_over():
    X, y = blobs()
    model = small_classifier().partial_fit(X, y, classes=[0, 1, 2])
    velocity = model.optimizer_.velocity.copy()
    assert np.abs(velocity).max() > 0
    model.set_params(learning_rate_init=0.001, alpha=2.0).partial_fit(X, y)
    assert (model.optimizer_.eta, model.optimizer_.l2, model.optimizer_.epoch) == (0.001, 2.0 * 200 / 16, 2)
    assert not np.array_equal(model.optimizer_.velocity, velocity)  # moved on from epoch 1's


def test_partial_fit_after_an_early_stopped_fit():
    X, y = blobs(n=300)
    model = small_classifier(early_stopping=True, max_iter=200).fit(X, y)
    assert model.best_loss_ is None
    epochs = model.n_iter_
    model.partial_fit(X, y)
    assert model.n_iter_ == epochs + 1 and model.best_loss_ == model.loss_
