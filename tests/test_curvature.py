"""Exact curvature products: H·v, G·v, the dense Hessian and the flat view.

H·v must match central differences of the gradient along v on tiny float64
networks for every hidden activation × (output, cost) pair, to a relative
error below 1e-7; H and G must be symmetric, G positive semi-definite, and
G = H where the cost is quadratic in the weights.
"""
import numba
import numpy as np
import pytest

import fastnet
import reference as ref

pytestmark = pytest.mark.usefixtures("one_thread")

PAIRS = [("sigmoid", "quadratic"), ("softmax", "quadratic"), ("linear", "quadratic"),
         ("sigmoid", "cross_entropy"), ("softmax", "log_likelihood")]
ACTIVATIONS = ["sigmoid", "tanh", "relu"]
STEP = 1e-5
KINK_MARGIN = 1e-3  # ReLU inputs stay this far from 0, well beyond STEP's effect


def relative_error(g, h):
    return np.linalg.norm(g - h) / (np.linalg.norm(g) + np.linalg.norm(h))


def problem(activation, output, cost, hidden=(5, 4), n=6, n_in=4, n_out=3, real=False,
            dtype="float64"):
    """A tiny network, data (X, y) whose ReLU inputs avoid the kink, and a direction v."""
    for seed in range(100):
        rng = np.random.default_rng(seed)
        net = fastnet.Network([n_in, *hidden, n_out], activation=activation, output=output,
                              cost=cost, dtype=dtype, seed=seed)
        X = rng.standard_normal((n, n_in))
        if real:
            y = rng.uniform(0.05, 0.95, (n, n_out))
        else:
            y = np.arange(n) % n_out
        Zs, _ = ref.forward(*ref.of(net)[:4], X)
        if not hidden or min(np.abs(Z).min() for Z in Zs[:-1]) > KINK_MARGIN:
            return net, X, y, rng.standard_normal(net.n_parameters)
    raise AssertionError("no seed keeps the ReLU inputs away from 0")


def gradient_difference(net, X, y, v, step=STEP):
    """Central difference of the flat gradient along v."""
    theta = net.flat_parameters()
    net.set_flat_parameters(theta + step * v)
    up = net.flat_gradient(X, y)
    net.set_flat_parameters(theta - step * v)
    down = net.flat_gradient(X, y)
    net.set_flat_parameters(theta)
    return (up - down) / (2 * step)


@pytest.mark.parametrize("output,cost", PAIRS)
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_hessian_vector_matches_differences_of_the_gradient(activation, output, cost):
    net, X, y, v = problem(activation, output, cost)
    assert relative_error(net.hessian_vector(X, y, v), gradient_difference(net, X, y, v)) < 1e-7


@pytest.mark.parametrize("output,cost", [("linear", "quadratic"), ("sigmoid", "quadratic"),
                                         ("sigmoid", "cross_entropy")])
def test_hessian_vector_with_real_targets_and_mixed_layers(output, cost):
    net, X, y, v = problem(["relu", "tanh", "sigmoid"], output, cost, hidden=(5, 4, 3), real=True)
    assert relative_error(net.hessian_vector(X, y, v), gradient_difference(net, X, y, v)) < 1e-7


@pytest.mark.parametrize("output,cost", PAIRS)
def test_hessian_vector_without_hidden_layers(output, cost):
    net, X, y, v = problem("sigmoid", output, cost, hidden=())
    assert relative_error(net.hessian_vector(X, y, v), gradient_difference(net, X, y, v)) < 1e-7


def test_flat_gradient_is_the_gradient_in_flat_order():
    net, X, y, _ = problem("tanh", "softmax", "log_likelihood")
    gW, gb = net.gradient(X, y)
    expected = np.concatenate([part for W, b in zip(gW, gb) for part in (W.ravel(), b)])
    np.testing.assert_allclose(net.flat_gradient(X, y), expected, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("output,cost", PAIRS)
def test_products_are_symmetric(output, cost):
    net, X, y, u = problem("tanh", output, cost)
    v = np.random.default_rng(7).standard_normal(net.n_parameters)
    for product in (net.hessian_vector, net.gauss_newton_vector):
        left, right = u @ product(X, y, v), v @ product(X, y, u)
        assert abs(left - right) <= 1e-12 * (abs(left) + abs(right))


@pytest.mark.parametrize("output,cost", PAIRS)
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_gauss_newton_is_positive_semidefinite(activation, output, cost):
    net, X, y, _ = problem(activation, output, cost)
    G = net.hessian(X, y, gauss_newton=True)
    np.testing.assert_allclose(G, G.T, rtol=0, atol=1e-13 * np.abs(G).max())
    assert np.linalg.eigvalsh(G).min() >= -1e-12 * np.abs(G).max()
    rng = np.random.default_rng(3)
    for _ in range(5):
        v = rng.standard_normal(net.n_parameters)
        assert v @ net.gauss_newton_vector(X, y, v) >= 0.0


@pytest.mark.parametrize("output,cost", [("linear", "quadratic"), ("softmax", "log_likelihood"),
                                         ("sigmoid", "cross_entropy")])
def test_gauss_newton_equals_hessian_without_hidden_layers(output, cost):
    """With z linear in the weights, H = Jᵀ H_out J exactly for these pairs
    (for linear + quadratic the cost is a quadratic function of the weights)."""
    net, X, y, v = problem("sigmoid", output, cost, hidden=())
    np.testing.assert_allclose(net.gauss_newton_vector(X, y, v), net.hessian_vector(X, y, v),
                               rtol=1e-12, atol=1e-14)


def test_gauss_newton_differs_from_hessian_with_hidden_layers():
    net, X, y, v = problem("sigmoid", "softmax", "log_likelihood")
    assert relative_error(net.gauss_newton_vector(X, y, v), net.hessian_vector(X, y, v)) > 1e-3


@pytest.mark.parametrize("output,cost", [("softmax", "log_likelihood"), ("sigmoid", "quadratic")])
def test_dense_hessian_matches_the_jacobian_of_the_gradient(output, cost):
    net, X, y, _ = problem("tanh", output, cost, hidden=(3,))
    H = net.hessian(X, y)
    P = net.n_parameters
    assert H.shape == (P, P) and H.dtype == np.float64
    numeric = np.column_stack([gradient_difference(net, X, y, e) for e in np.eye(P)])
    assert relative_error(H, numeric) < 1e-7
    np.testing.assert_allclose(H, H.T, rtol=0, atol=1e-13 * np.abs(H).max())
    v = np.random.default_rng(5).standard_normal(P)
    np.testing.assert_allclose(H @ v, net.hessian_vector(X, y, v), rtol=1e-10, atol=1e-13)


def test_linear_quadratic_hessian_is_the_normal_matrix():
    """No hidden layer, linear output, quadratic cost: H = (1/n) [X 1]ᵀ[X 1] per output."""
    net, X, y, _ = problem("sigmoid", "linear", "quadratic", hidden=(), n_out=1, real=True)
    A = np.hstack([X, np.ones((len(X), 1))])
    normal = A.T @ A / len(X)
    order = [*range(X.shape[1]), X.shape[1]]  # weights (n_in, 1) row-major, then the bias
    np.testing.assert_allclose(net.hessian(X, y)[np.ix_(order, order)], normal, rtol=1e-12,
                               atol=1e-14)


def test_float32_products_agree_with_float64():
    net, X, y, v = problem("sigmoid", "softmax", "log_likelihood")
    net32 = fastnet.Network(net.sizes, activation="sigmoid", dtype="float32", seed=net.seed)
    for product in ("hessian_vector", "gauss_newton_vector"):
        exact = getattr(net, product)(X, y, v)
        single = getattr(net32, product)(X, y, v)
        assert single.dtype == np.float32
        assert relative_error(single.astype(float), exact) < 1e-5


def test_products_do_not_depend_on_the_thread_count():
    rng = np.random.default_rng(0)
    net = fastnet.Network([20, 8, 4], dtype="float32", seed=2)
    X, y = rng.random((300, 20)), rng.integers(0, 4, 300)
    v = rng.standard_normal(net.n_parameters)
    one = net.hessian_vector(X, y, v), net.flat_gradient(X, y)
    numba.set_num_threads(min(2, numba.config.NUMBA_NUM_THREADS))
    two = net.hessian_vector(X, y, v), net.flat_gradient(X, y)
    for a, b in zip(one, two):
        np.testing.assert_array_equal(a, b)


def test_products_are_means_over_the_samples():
    net, X, y, v = problem("relu", "softmax", "log_likelihood")
    once = net.hessian_vector(X, y, v)
    twice = net.hessian_vector(np.vstack([X, X]), np.concatenate([y, y]), v)
    np.testing.assert_allclose(twice, once, rtol=1e-12, atol=1e-15)


def test_flat_parameters_round_trip_and_order():
    net = fastnet.Network([3, 4, 2], seed=1)
    flat = net.flat_parameters()
    assert flat.shape == (net.n_parameters,) and flat.dtype == np.float32
    expected = np.concatenate([net.weights[0].ravel(), net.biases[0],
                               net.weights[1].ravel(), net.biases[1]])
    np.testing.assert_array_equal(flat, expected)
    flat[:] = np.arange(net.n_parameters)
    net.set_flat_parameters(flat)
    np.testing.assert_array_equal(net.weights[0].ravel(), np.arange(12))
    np.testing.assert_array_equal(net.biases[0], np.arange(12, 16))
    np.testing.assert_array_equal(net.flat_parameters(), flat)
    assert not np.shares_memory(net.flat_parameters(), net.parameters.theta)
    assert (net.parameters.theta[np.setdiff1d(np.arange(net.parameters.theta.size), net.parameters.flat_index)] == 0).all()


def test_bad_vectors_are_refused():
    net = fastnet.Network([3, 4, 2], seed=1)
    X, y = np.ones((2, 3)), np.array([0, 1])
    with pytest.raises(ValueError, match=r"v: expected a \(26,\) array"):
        net.hessian_vector(X, y, np.ones(25))
    with pytest.raises(ValueError, match="v: contains NaN"):
        net.set_flat_parameters(np.full(26, np.nan))
    with pytest.raises(ValueError, match="v: expected"):
        net.gauss_newton_vector(X, y, ["a"] * 26)
    with pytest.raises(ValueError, match="y: labels must lie"):
        net.hessian_vector(X, np.array([0, 5]), np.ones(26))


def test_dense_hessian_refuses_large_networks():
    net = fastnet.Network([784, 30, 10], seed=1)
    with pytest.raises(ValueError, match="hessian: this network has 23860 parameters.*"
                                         "hessian_vector"):
        net.hessian(np.zeros((1, 784)), np.array([0]))
