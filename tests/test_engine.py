"""The engine layer: the parameter object and the optimizers' one way to the kernels."""
import copy
import pickle

import numpy as np
import pytest

import fastnet
from fastnet import engine
from fastnet.kernels.layout import CACHE_LINE, WIDTH


def problem(sizes=(6, 5, 3), n=40, dtype="float32"):
    rng = np.random.default_rng(3)
    X = rng.random((n, sizes[0]))
    y = np.arange(n) % sizes[-1]
    return fastnet.Network(list(sizes), activation="relu", dtype=dtype, seed=2), X, y


def test_the_parameter_object_is_the_network_s_weights_and_biases():
    net, X, y = problem()
    parameters = net.parameters
    assert isinstance(parameters, engine.Parameters) and parameters.dtype == net.dtype
    theta = parameters.theta
    assert theta.ctypes.data % CACHE_LINE == 0
    for W, b, W_net, b_net in zip(parameters.weights, parameters.biases, net.weights, net.biases):
        assert np.shares_memory(W, theta) and np.shares_memory(b, theta)
        np.testing.assert_array_equal(W, W_net)
        np.testing.assert_array_equal(b, b_net)
    np.testing.assert_array_equal(theta[parameters.flat_index], net.flat_parameters())
    # the weights' prefix is what the regularisation term sums
    weights = np.concatenate([W.ravel() for W in net.weights]).astype(float)
    assert theta[parameters.n_weights:].size == parameters.layers[:, WIDTH].sum()  # padded biases
    net.regularisation = (2.0, 0.5, 40)
    assert net.regularisation_term() == pytest.approx(2.0 / 80 * weights @ weights
                                                      + 0.5 / 40 * np.abs(weights).sum())
    # split and join are inverses; the padding of a joined vector is zero
    joined = parameters.join(*parameters.split(theta))
    np.testing.assert_array_equal(joined, theta)
    assert joined is not theta and joined.ctypes.data % CACHE_LINE == 0
    zeros = parameters.zeros()
    assert zeros.shape == theta.shape and not zeros.any() and zeros.ctypes.data % CACHE_LINE == 0
    with pytest.raises(ValueError, match=r"weights\[1\]: expected shape \(5, 3\)"):
        parameters.join([np.zeros((6, 5)), np.zeros((3, 5))], [np.zeros(5), np.zeros(3)])
    assert parameters.finite()
    net.weights[0][0, 0] = np.nan
    assert not parameters.finite()
    for other in (copy.deepcopy(net), pickle.loads(pickle.dumps(net))):
        assert other.parameters.theta.ctypes.data % CACHE_LINE == 0
        np.testing.assert_array_equal(other.parameters.theta, theta)


@pytest.mark.parametrize("make", [lambda: fastnet.SGD(eta=0.2, momentum=0.8, l2=1.0, batch_size=8),
                                  lambda: fastnet.Adam(eta=0.01, batch_size=8)])
def test_an_optimizer_trains_through_the_engine_with_its_own_rule_and_state(make):
    """first_order_epoch on the optimizer's public rule and state arrays is what fit runs."""
    net, X, y = problem()
    fitted = copy.deepcopy(net)
    fitted.fit(X, y, epochs=1, optimizer=make(), monitor=False)
    optimizer = make()
    data = net.with_targets(X, y)
    net.regularisation = (*optimizer.regularisation(), data.n)
    optimizer.start(net, data, 1)
    seconds, cost = engine.first_order_epoch(net, data, optimizer.eta, optimizer.update_rule(),
                                             optimizer.update_arrays(), optimizer.batch_size,
                                             optimizer.dropout, optimizer.steps)
    assert seconds >= 0.0 and np.isfinite(cost)
    np.testing.assert_array_equal(net.parameters.theta, fitted.parameters.theta)
    for name, array in optimizer.state_arrays().items():
        np.testing.assert_array_equal(array, fitted.optimizer.state_arrays()[name])


def test_the_engine_s_passes_are_the_network_s_answers():
    net, X, y = problem(dtype="float64")
    data = net.with_targets(X, y)
    cost, accuracy = engine.evaluate(net, data)
    assert (cost, accuracy) == net.evaluate(X, y)
    A, _ = engine.outputs(net, data)
    np.testing.assert_array_equal(A, net.predict_proba(X))
    grad = net.parameters.zeros()
    engine.cost_gradient(net, data, grad)
    for mine, theirs in zip(net.parameters.split(grad)[0], net.gradient(X, y)[0]):
        np.testing.assert_array_equal(mine, theirs)
    with pytest.raises(ValueError, match="l2/n: 1e\\+300 overflows this float32"):
        engine.scalar(np.dtype(np.float32), "l2/n", 1e300)
