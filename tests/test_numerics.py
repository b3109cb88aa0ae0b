"""Extreme pre-activations through the public API: no NaN, finite costs and no
RuntimeWarning (warnings are errors in this suite) for every output and cost.

Weights are set by hand so that the pre-activations are exactly ±1000 or
±1e30, either at the output layer (saturated outputs) or at the hidden layer
(saturated hidden units).
"""
import numpy as np
import pytest

import fastnet
import reference as ref

pytestmark = pytest.mark.usefixtures("one_thread")

PAIRS = [("sigmoid", "quadratic"), ("softmax", "quadratic"), ("linear", "quadratic"),
         ("sigmoid", "cross_entropy"), ("softmax", "log_likelihood")]
BIG = [1000.0, 1e30]
X = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
Y = np.array([0, 0, 1, 2, 1])  # confidently right and confidently wrong samples


def gradient_fits(net):
    """Whether the true gradient fits the net's dtype.  Only a linear output
    can overflow: δ = a − y is unbounded (z ~ 1e30 gives gradients ~ 1e60);
    the other outputs keep |δ| ≤ 1.  (The reference's chain rule divides by
    a, so it is asked only about the linear output.)"""
    if net.output != "linear" or net.dtype == np.float64:
        return True
    gW, gb = ref.gradient(*ref.of(net), X, ref.one_hot(Y, 3))
    return max(np.abs(g).max() for g in gW + gb) < np.finfo(net.dtype).max


def check_everything_finite(net):
    proba = net.predict_proba(X)
    assert np.isfinite(proba).all()
    if net.output != "linear":
        assert ((proba >= 0) & (proba <= 1)).all()
    if net.output == "softmax":
        np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)
    cost, accuracy = net.evaluate(X, Y)
    assert np.isfinite(cost) and cost >= 0 and 0 <= accuracy <= 1
    W, b, acts, out, name = ref.of(net)
    Zs, As = ref.forward(W, b, acts, out, X)
    expected = ref.costs(out, name, Zs[-1], As[-1], ref.one_hot(Y, 3)).mean()
    assert cost == pytest.approx(expected, rel=1e-6, abs=1e-6)
    np.testing.assert_array_equal(net.predict(X), np.argmax(proba, axis=1))
    if gradient_fits(net):
        gW, gb = net.gradient(X, Y)
        assert all(np.isfinite(g).all() for g in gW + gb)


def check_fit(net, dtype, big):
    """One epoch: finite weights and history.  Only where float32 cannot hold
    the numbers (z ~ 1e30 times a step's change), or where unbounded units
    (ReLU, a linear output) carrying values ~1000 or more blow the cost or the
    weights up by orders of magnitude in one epoch (a divergence by
    ``fastnet.divergence``'s rule, though finite), may fit stop with a
    DivergenceError instead, and then the weights must be as they were."""
    before = net.parameters.theta.copy()
    try:
        history = net.fit(X, Y, epochs=1, batch_size=2, eta=1e-3, validation=(X, Y))
    except fastnet.DivergenceError as error:
        unbounded = net.output == "linear" or "relu" in net.activations
        assert (dtype == "float32" and big == 1e30) or unbounded, error
        assert "epoch 1" in str(error)
        np.testing.assert_array_equal(net.parameters.theta, before)
        return
    assert np.isfinite(history["training_cost"]).all()
    assert np.isfinite(history["validation_cost"]).all()
    assert all(np.isfinite(W).all() for W in net.weights + net.biases)


@pytest.mark.parametrize("big", BIG)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("output,cost", PAIRS)
def test_saturated_outputs(output, cost, dtype, big):
    # ReLU hidden layer with identity weights passes the one-hot inputs through,
    # so the output pre-activations are exactly the rows of the last weights.
    net = fastnet.Network([2, 2, 3], activation="relu", output=output, cost=cost,
                          dtype=dtype, seed=0)
    net.weights[0][:] = np.eye(2)
    net.biases[0][:] = 0.0
    net.weights[1][:] = [[big, -big, 0.0], [-big, -big, big]]
    net.biases[1][:] = 0.0
    check_everything_finite(net)
    check_fit(net, dtype, big)


@pytest.mark.parametrize("big", BIG)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "relu"])
@pytest.mark.parametrize("output,cost", PAIRS)
def test_saturated_hidden_units(output, cost, activation, dtype, big):
    net = fastnet.Network([2, 4, 3], activation=activation, output=output, cost=cost,
                          dtype=dtype, seed=0)
    net.weights[0][:] = big * np.array([[1.0, -1.0, 1.0, -1.0], [-1.0, 1.0, 1.0, -1.0]])
    net.biases[0][:] = 0.0
    check_everything_finite(net)
    if activation != "relu":  # saturated units pass no gradient back
        gW, gb = net.gradient(X[:2], Y[:2])
        assert not gW[0].any() and not gb[0].any()
    check_fit(net, dtype, big)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_large_init_and_inputs_train_without_warnings(dtype):
    rng = np.random.default_rng(0)
    X_big = rng.random((40, 20)) * 50.0
    y = rng.integers(0, 4, 40)
    net = fastnet.Network([20, 30, 4], activation="sigmoid", init="large", dtype=dtype, seed=1)
    history = net.fit(X_big, y, epochs=3, batch_size=5, eta=3.0)
    assert np.isfinite(history["training_cost"]).all()
