"""fastnet's float64 weights equal a NumPy transcription of the book's own
network.py and network2.py (tests/book.py) after hundreds of mini-batches."""
import numpy as np
import pytest

import fastnet
from book import BookNetwork, CrossEntropyCost, QuadraticCost
from conftest import synthetic_digits

N, EPOCHS, BATCH = 600, 3, 10


def columns(X, y, n_out):
    """The book's training data: a list of (x (784, 1), one-hot y (10, 1)) pairs."""
    eye = np.eye(n_out)
    return [(x.reshape(-1, 1), eye[label].reshape(-1, 1)) for x, label in zip(X, y)]


@pytest.mark.parametrize("chapter", ["network.py", "network2.py"])
def test_fastnet_float64_equals_the_books_network(chapter):
    images, y = synthetic_digits(N, seed=4)
    X = images.reshape(N, -1) / 255.0
    if chapter == "network.py":
        net = fastnet.Network([784, 30, 10], output="sigmoid", cost="quadratic", init="large",
                              dtype="float64", seed=11)
        cost, eta, lmbda = QuadraticCost, 3.0, 0.0
    else:
        net = fastnet.Network([784, 30, 10], output="sigmoid", cost="cross_entropy",
                              dtype="float64", seed=11)
        cost, eta, lmbda = CrossEntropyCost, 0.5, 5.0
    book = BookNetwork([W.T for W in net.weights], [b.reshape(-1, 1) for b in net.biases], cost)
    # fastnet's shuffle of epoch e is a permutation keyed by (seed, e)
    orders = [np.random.default_rng((net.seed, epoch)).permutation(N) for epoch in range(EPOCHS)]
    book.SGD(columns(X, y, 10), orders, BATCH, eta, lmbda)
    net.fit(X, y, epochs=EPOCHS, batch_size=BATCH, eta=eta, l2=lmbda, monitor=False)
    for W, b, w_book, b_book in zip(net.weights, net.biases, book.weights, book.biases):
        np.testing.assert_allclose(W.T, w_book, rtol=1e-9, atol=1e-10)
        np.testing.assert_allclose(b, b_book[:, 0], rtol=1e-9, atol=1e-10)
    # 180 mini-batches moved the weights far from where they started
    start = fastnet.Network([784, 30, 10], dtype="float64", seed=11, init=net.init)
    assert np.abs(net.weights[1] - start.weights[1]).max() > 0.1
    outputs = np.hstack([book.feedforward(x.reshape(-1, 1)) for x in X[:50]]).T
    np.testing.assert_allclose(net.predict_proba(X[:50]), outputs, rtol=1e-9, atol=1e-12)
