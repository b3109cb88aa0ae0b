"""sample_weight: a per-sample scale on the cost and the output delta, each
mean a weighted one, Σ w_i·x_i / Σ w_i (scikit-learn's MLP rule), per batch
when training."""
import numpy as np
import pytest
import scipy.sparse as sp

import fastnet
import reference as ref

pytestmark = pytest.mark.usefixtures("one_thread")


def problem(n=60, d=7, k=3, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.random((n, d)) * (rng.random((n, d)) < 0.6)
    return X, rng.integers(0, k, n), rng.integers(0, 4, n).astype(float)


def weighted_gradient(net, X, y, w):
    """NumPy's gradient of Σ w_i·C_i / Σ w_i: the output deltas scaled by
    w_i·n/Σw, then the unweighted backprop of ``reference.gradient``."""
    weights, biases, activations, output, cost = ref.of(net)
    Zs, As = ref.forward(weights, biases, activations, output, X)
    delta = ref.output_delta(output, cost, Zs[-1], As[-1], ref.one_hot(y, net.sizes[-1]))
    delta = delta * (w * len(w) / w.sum())[:, None]
    gW, gb = [None] * len(weights), [None] * len(weights)
    for l in range(len(weights) - 1, -1, -1):
        gW[l], gb[l] = As[l].T @ delta / len(w), delta.sum(axis=0) / len(w)
        if l:
            delta = (delta @ weights[l].T) * ref.derivative(activations[l - 1], Zs[l - 1])
    return gW, gb


@pytest.mark.parametrize("layout", ["dense", "sparse"])
@pytest.mark.parametrize("output", ["softmax", "sigmoid"])
def test_weighted_gradient_and_cost_match_numpy(layout, output):
    X, y, w = problem()
    net = fastnet.Network([7, 5, 3], activation="tanh", output=output, dtype="float64", seed=1)
    data = fastnet.Dataset(X, y, dtype="float64", layout=layout, sample_weight=w)
    for got, want in zip(sum(net.gradient(data), []), sum(weighted_gradient(net, X, y, w), [])):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-13)
    weights, biases, activations, out, cost = ref.of(net)
    Zs, As = ref.forward(weights, biases, activations, out, X)
    costs = ref.costs(out, cost, Zs[-1], As[-1], ref.one_hot(y, 3))
    assert net.cost(X, y, sample_weight=w) == pytest.approx(np.sum(w * costs) / w.sum(), rel=1e-12)
    assert net.cost(data) == net.cost(X, y, sample_weight=w)
    accuracy = np.sum(w * (np.argmax(As[-1], axis=1) == y)) / w.sum()
    assert net.evaluate(X, y, sample_weight=w)[1] == pytest.approx(accuracy, rel=1e-12)


def test_integer_weights_are_repeated_rows():
    """Gradient, cost and a full-batch fit with integer weights equal those of
    the data with each row repeated that many times (0: dropped)."""
    X, y, w = problem()
    repeated = np.repeat(np.arange(len(y)), w.astype(int))
    nets = [fastnet.Network([7, 6, 3], dtype="float64", seed=3) for _ in range(2)]
    a, b = nets
    for u, v in zip(sum(a.gradient(X, y, sample_weight=w), []), sum(b.gradient(X[repeated], y[repeated]), [])):
        np.testing.assert_allclose(u, v, rtol=1e-12, atol=1e-15)
    assert a.cost(X, y, sample_weight=w) == pytest.approx(b.cost(X[repeated], y[repeated]), rel=1e-13)
    a.fit(X, y, epochs=3, batch_size=len(y), eta=0.5, momentum=0.5, sample_weight=w)
    b.fit(X[repeated], y[repeated], epochs=3, batch_size=len(repeated), eta=0.5, momentum=0.5)
    np.testing.assert_allclose(a.flat_parameters(), b.flat_parameters(), rtol=1e-12, atol=1e-13)


def test_unit_weights_train_bit_for_bit_as_none():
    X, y, _ = problem(n=90)
    for options in (dict(), dict(threads=2, batch_size=30), dict(momentum=0.9, l2=0.5)):
        a, b = (fastnet.Network([7, 6, 3], seed=2) for _ in range(2))
        a.fit(X, y, epochs=2, **options)
        b.fit(X, y, epochs=2, sample_weight=np.ones(len(y)), **options)
        np.testing.assert_array_equal(a.flat_parameters(), b.flat_parameters())


def test_weighted_training_on_threads_sparse_and_datasets_agree():
    X, y, w = problem(n=120)
    fits = []
    for inputs, options in ((X, {}), (sp.csr_matrix(X), {}), (X, dict(threads=2)),
                            (fastnet.Dataset(X, y, sample_weight=w), {})):
        net = fastnet.Network([7, 6, 3], seed=4)
        given = dict(sample_weight=w) if not isinstance(inputs, fastnet.Dataset) else {}
        net.fit(inputs, None if isinstance(inputs, fastnet.Dataset) else y, epochs=3,
                batch_size=16, **given, **options)
        fits.append(net.flat_parameters())
    for other in fits[1:]:
        np.testing.assert_allclose(other, fits[0], rtol=1e-5, atol=1e-6)
    part = fastnet.Dataset(X, y, sample_weight=w).take([3, 1, 2])
    np.testing.assert_array_equal(part.sample_weight, w[[3, 1, 2]].astype(np.float32))


@pytest.mark.parametrize("layout", ["dense", "sparse"])
def test_curvature_products_weigh_samples_as_repeated_rows(layout):
    """H·v, G·v, the dense Hessian and the flat gradient with integer weights
    equal those of the rows repeated that many times (0: dropped)."""
    X, y, w = problem(n=40)
    repeated = np.repeat(np.arange(len(y)), w.astype(int))
    net = fastnet.Network([7, 5, 3], activation="tanh", dtype="float64", seed=6)
    weighted = fastnet.Dataset(X, y, dtype="float64", layout=layout, sample_weight=w)
    plain = fastnet.Dataset(X[repeated], y[repeated], dtype="float64", layout=layout)
    v = np.random.default_rng(1).standard_normal(net.n_parameters)
    for product in (net.hessian_vector, net.gauss_newton_vector):
        np.testing.assert_allclose(product(weighted, None, v), product(plain, None, v),
                                   rtol=1e-11, atol=1e-13)
    np.testing.assert_allclose(net.flat_gradient(weighted, None), net.flat_gradient(plain, None),
                               rtol=1e-11, atol=1e-14)
    np.testing.assert_allclose(net.hessian(weighted, None), net.hessian(plain, None),
                               rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("optimizer", [
    lambda: fastnet.LBFGS(l2=0.0, iterations=5),
    lambda: fastnet.HessianFree(l2=0.0, iterations=2, curvature_batch=1000)])
def test_second_order_optimizers_take_weights_as_repeated_rows(optimizer):
    """L-BFGS and Hessian-free minimise the weighted mean cost: integer weights
    train as the rows repeated (full batch, no L2: its n would differ), and
    scaling every weight changes nothing."""
    X, y, w = problem(n=50)
    repeated = np.repeat(np.arange(len(y)), w.astype(int))
    a, b, c = (fastnet.Network([7, 5, 3], dtype="float64", seed=7) for _ in range(3))
    a.fit(X, y, epochs=2, optimizer=optimizer(), sample_weight=w)
    b.fit(X[repeated], y[repeated], epochs=2, optimizer=optimizer())
    c.fit(X, y, epochs=2, optimizer=optimizer(), sample_weight=2.5 * w)
    # weights and repeated rows sum in other orders; Hessian-free's conjugate gradient
    # amplifies that rounding (to ~1e-6 relative with 8 float64 lanes instead of 16)
    np.testing.assert_allclose(a.flat_parameters(), b.flat_parameters(), rtol=1e-5, atol=1e-8)
    np.testing.assert_allclose(c.flat_parameters(), a.flat_parameters(), rtol=1e-5, atol=1e-8)
    assert not np.allclose(a.flat_parameters(), fastnet.Network([7, 5, 3], dtype="float64",
                                                                seed=7).flat_parameters())


def test_weights_change_training():
    X, y, w = problem()
    a, b = (fastnet.Network([7, 6, 3], seed=5) for _ in range(2))
    a.fit(X, y, epochs=2)
    b.fit(X, y, epochs=2, sample_weight=w)
    assert not np.allclose(a.flat_parameters(), b.flat_parameters())


@pytest.mark.parametrize("weights, error, words", [
    (-np.ones(60), ValueError, "must not be negative"),
    (np.full(60, np.nan), ValueError, "NaN or infinite"),
    (np.ones(59), ValueError, r"expected shape \(60,\)"),
    (np.zeros(60), ValueError, "every weight is zero"),
    (np.array(["a"] * 60), TypeError, "non-negative numbers"),
    (np.full(60, 1e300), ValueError, "too large for float32"),
])
def test_bad_weights_get_clear_errors(weights, error, words):
    X, y, _ = problem()
    net = fastnet.Network([7, 3], seed=0)
    for call in (lambda: net.fit(X, y, epochs=1, sample_weight=weights),
                 lambda: net.gradient(X, y, sample_weight=weights),
                 lambda: net.cost(X, y, sample_weight=weights),
                 lambda: fastnet.Dataset(X, y, sample_weight=weights)):
        with pytest.raises(error, match="sample_weight: .*" + words):
            call()


def test_weights_where_they_cannot_apply_are_refused():
    X, y, w = problem()
    net = fastnet.Network([7, 3], seed=0)
    with pytest.raises(ValueError, match="sample_weight: cannot follow augment"):
        net.fit(X, y, epochs=1, augment=lambda X, y, epoch: (X, y), sample_weight=w)
    with pytest.raises(ValueError, match="sample_weight: X is a Dataset made with its own"):
        net.fit(fastnet.Dataset(X, y, sample_weight=w), epochs=1, sample_weight=w)
