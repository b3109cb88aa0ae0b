"""Finite-difference checks of ``Network.gradient`` on tiny float64 networks.

For every hidden activation × (output, cost) pair, with 1–3 hidden layers:
the gradient must match central differences of ``Network.cost`` and the
float64 reference's backprop, to a relative error ‖g − ĝ‖/(‖g‖ + ‖ĝ‖) < 1e-6.
"""
import numpy as np
import pytest

import fastnet
import reference as ref

pytestmark = pytest.mark.usefixtures("one_thread")

PAIRS = [("sigmoid", "quadratic"), ("softmax", "quadratic"), ("linear", "quadratic"),
         ("sigmoid", "cross_entropy"), ("softmax", "log_likelihood")]
ACTIVATIONS = ["sigmoid", "tanh", "relu"]
HIDDEN = [4, 5, 4]
N_IN, N_OUT, N_SAMPLES = 3, 3, 5
STEP = 1e-5
TOLERANCE = 1e-6
KINK_MARGIN = 1e-3  # ReLU inputs stay this far from 0, well beyond STEP's effect


def relative_error(g, h):
    g, h = flat(g), flat(h)
    return np.linalg.norm(g - h) / (np.linalg.norm(g) + np.linalg.norm(h))


def flat(pair):
    weights, biases = pair
    return np.concatenate([np.ravel(a) for a in list(weights) + list(biases)])


def tiny_problem(activation, output, cost, depth, real_targets=False):
    """A float64 network and data (X, y) whose ReLU units avoid their kink."""
    for seed in range(100):
        rng = np.random.default_rng(seed)
        net = fastnet.Network([N_IN] + HIDDEN[:depth] + [N_OUT], activation=activation,
                              output=output, cost=cost, dtype="float64", seed=seed)
        X = rng.standard_normal((N_SAMPLES, N_IN))
        if real_targets:
            y = rng.uniform(0.05, 0.95, (N_SAMPLES, N_OUT)) if output == "sigmoid" \
                else rng.standard_normal((N_SAMPLES, N_OUT))
        else:
            y = np.arange(N_SAMPLES) % N_OUT
        W, b, acts, out, _ = ref.of(net)
        Zs, _ = ref.forward(W, b, acts, out, X)
        if min(np.abs(Z).min() for Z in Zs[:-1]) > KINK_MARGIN:
            return net, X, y
    raise AssertionError("no seed keeps the ReLU inputs away from 0")


def targets(net, y):
    return ref.one_hot(y, net.sizes[-1]) if np.ndim(y) == 1 else np.asarray(y, float)


def numerical_gradient(net, X, y):
    """Central differences of net.cost over every weight and bias (in place)."""
    result = []
    for params in (net.weights, net.biases):
        grads = []
        for p in params:
            g = np.empty(p.shape)
            for index in np.ndindex(p.shape):
                saved = p[index]
                p[index] = saved + STEP
                up = net.cost(X, y)
                p[index] = saved - STEP
                down = net.cost(X, y)
                p[index] = saved
                g[index] = (up - down) / (2 * STEP)
            grads.append(g)
        result.append(grads)
    return tuple(result)


def check(net, X, y):
    analytic = net.gradient(X, y)
    numeric = numerical_gradient(net, X, y)
    assert relative_error(analytic, numeric) < TOLERANCE
    reference = ref.gradient(*ref.of(net), X, targets(net, y))
    assert relative_error(analytic, reference) < TOLERANCE
    # Layout: one (n_in, n_out) array per layer, like net.weights.
    assert [g.shape for g in analytic[0]] == [W.shape for W in net.weights]
    assert [g.shape for g in analytic[1]] == [b.shape for b in net.biases]


@pytest.mark.parametrize("depth", [1, 2, 3])
@pytest.mark.parametrize("output,cost", PAIRS)
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_gradient_matches_finite_differences(activation, output, cost, depth):
    check(*tiny_problem(activation, output, cost, depth))


@pytest.mark.parametrize("output,cost", [("linear", "quadratic"), ("sigmoid", "quadratic"),
                                         ("sigmoid", "cross_entropy")])
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_gradient_with_real_targets(activation, output, cost):
    check(*tiny_problem(activation, output, cost, depth=2, real_targets=True))


def test_gradient_with_one_activation_per_layer():
    net, X, y = tiny_problem(["relu", "tanh", "sigmoid"], "softmax", "log_likelihood", 3)
    check(net, X, y)


def test_gradient_is_the_mean_not_the_sum():
    """Doubling the data (each sample twice) must not change the gradient."""
    net, X, y = tiny_problem("tanh", "softmax", "log_likelihood", 1)
    once = flat(net.gradient(X, y))
    twice = flat(net.gradient(np.vstack([X, X]), np.concatenate([y, y])))
    np.testing.assert_allclose(twice, once, rtol=1e-12, atol=1e-15)


def test_gradient_ignores_the_regularisation_of_a_fit():
    """net.gradient is of the unregularised cost even after a fit with l2/l1."""
    net, X, y = tiny_problem("sigmoid", "softmax", "log_likelihood", 1)
    net.fit(X, y, epochs=1, batch_size=len(y), eta=0.1, l2=3.0, l1=2.0, monitor=False)
    reference = ref.gradient(*ref.of(net), X, targets(net, y))
    assert relative_error(net.gradient(X, y), reference) < TOLERANCE


@pytest.mark.parametrize("output,cost", PAIRS)
def test_float32_gradient_matches_reference(output, cost):
    net64, X, y = tiny_problem("tanh", output, cost, 2)
    net = fastnet.Network(net64.sizes, activation="tanh", output=output, cost=cost,
                          dtype="float32", seed=net64.seed)
    reference = ref.gradient(*ref.of(net), X, targets(net, y))
    gradient = net.gradient(X, y)
    assert all(g.dtype == np.float32 for g in gradient[0] + gradient[1])
    assert relative_error(gradient, reference) < 1e-5


def test_gradient_of_sparse_inputs_through_a_wide_first_layer():
    """A sparse first layer wider than the register tiles accumulates its gradient
    row by row of W (the COLUMNS engine); its scratch was once left empty (a crash)."""
    from fastnet.kernels.dense import TILED_WIDTH
    from fastnet.kernels.layout import COLUMNS, ENGINE
    rng = np.random.default_rng(5)
    X = np.where(rng.random((40, 30)) < 0.3, rng.random((40, 30)), 0.0)
    y = rng.integers(0, 3, 40)
    net = fastnet.Network([30, TILED_WIDTH + 8, 3], activation="relu", dtype="float64", seed=2)
    assert net.plan(X=X).evaluation_table[0, ENGINE] == COLUMNS
    reference = ref.gradient(*ref.of(net), X, targets(net, y))
    assert relative_error(net.gradient(X, y), reference) < TOLERANCE
