"""Peer: a per-sample loop in the style of the book's network.py (Nielsen, chapter 1-3).

Each sample is a column vector x (784, 1) with a one-hot target t (10, 1);
layer l holds W (n_out, n_in) and b (n_out, 1). Backpropagation runs once per
sample and the gradients are summed over the mini-batch before the update, as
in the book. It is slow: ``bench.compare`` times ``slice_images`` images and
scales the time to the full epoch (reported as "scaled from N images"); the
pytest-benchmark suite times one full epoch, once.
"""

from __future__ import annotations

import numpy as np

from bench.peers.base import Peer, initial_parameters, sigmoid, softmax


class BookLoop(Peer):
    name = "book_loop"
    description = "per-sample backprop loop in the style of the book's network.py, float32"
    slice_images = 5000
    bench_rounds = 1  # the suite times one full epoch (tens of seconds per workload at most)

    def __init__(self, sizes, *, batch_size, eta, seed=1):
        super().__init__(sizes, batch_size=batch_size, eta=eta, seed=seed)
        params = initial_parameters(self.sizes, self.seed)
        self.weights = [np.ascontiguousarray(W.T) for W, _ in params]  # (n_out, n_in)
        self.biases = [b.reshape(-1, 1).copy() for _, b in params]  # (n_out, 1)

    def prepare(self, X, y):
        """A list of (x (784, 1), one-hot t (n_out, 1)) pairs, like the book's training_data."""
        eye = np.eye(self.sizes[-1], dtype=np.float32)
        return [(x.reshape(-1, 1), eye[label].reshape(-1, 1)) for x, label in zip(X, y)]

    def _backprop(self, x: np.ndarray, t: np.ndarray) -> tuple[list, list]:
        """Gradients (dC/db, dC/dW) per layer for one sample x (784, 1) with target t (10, 1)."""
        activations = [x]
        for W, b in zip(self.weights[:-1], self.biases[:-1]):
            activations.append(sigmoid(W @ activations[-1] + b))
        output = softmax(self.weights[-1] @ activations[-1] + self.biases[-1], axis=0)
        delta = output - t  # softmax + log-likelihood: dC/dz of the output layer
        grad_b = [None] * len(self.weights)
        grad_W = [None] * len(self.weights)
        for layer in range(len(self.weights) - 1, -1, -1):
            a_in = activations[layer]
            grad_b[layer] = delta
            grad_W[layer] = delta @ a_in.T
            if layer:
                delta = (self.weights[layer].T @ delta) * a_in * (1 - a_in)
        return grad_b, grad_W

    def _update_mini_batch(self, batch: list) -> None:
        """Sum the per-sample gradients of ``batch`` and take one step of eta / len(batch)."""
        sum_b = [np.zeros_like(b) for b in self.biases]
        sum_W = [np.zeros_like(W) for W in self.weights]
        for x, t in batch:
            grad_b, grad_W = self._backprop(x, t)
            for layer in range(len(self.weights)):
                sum_b[layer] += grad_b[layer]
                sum_W[layer] += grad_W[layer]
        scale = np.float32(self.eta / len(batch))
        for layer in range(len(self.weights)):
            self.weights[layer] -= scale * sum_W[layer]
            self.biases[layer] -= scale * sum_b[layer]

    def train_epoch(self, data, order):
        bs = self.batch_size
        for start in range(0, len(order), bs):
            self._update_mini_batch([data[i] for i in order[start : start + bs]])

    def parameters(self):
        return [(W.T.copy(), b.ravel().copy()) for W, b in zip(self.weights, self.biases)]

    def predict(self, X):
        a = X.T  # (784, n): all columns at once, evaluation is not timed
        for W, b in zip(self.weights[:-1], self.biases[:-1]):
            a = sigmoid(W @ a + b)
        return (self.weights[-1] @ a + self.biases[-1]).argmax(axis=0)


PEER = BookLoop
