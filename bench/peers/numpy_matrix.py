"""Peer: vectorised NumPy mini-batch SGD, the matrix form of backpropagation.

A mini-batch is a matrix X (m, 784); layer l computes A_l = sigmoid(A_{l-1} @ W_l + b_l)
with W_l (n_in, n_out), and the output layer is a softmax trained with the
log-likelihood cost, so the output error is simply P - onehot(y). Any depth,
float32 throughout, no Python loop over samples.
"""

from __future__ import annotations

import numpy as np

from bench.peers.base import Peer, initial_parameters, sigmoid, softmax


class NumpyMatrix(Peer):
    name = "numpy_matrix"
    description = "vectorised NumPy mini-batch backprop (matrix form), float32"

    def __init__(self, sizes, *, batch_size, eta, seed=1, activation="sigmoid"):
        super().__init__(sizes, batch_size=batch_size, eta=eta, seed=seed)
        self.params = initial_parameters(self.sizes, self.seed)
        self.relu = activation == "relu"

    def _hidden(self, z: np.ndarray) -> np.ndarray:
        return np.maximum(z, 0, out=z) if self.relu else sigmoid(z)

    def _derivative(self, a: np.ndarray) -> np.ndarray:
        return (a > 0).astype(a.dtype) if self.relu else a * (1 - a)

    def _forward(self, X: np.ndarray) -> list[np.ndarray]:
        """Activations of every layer for X (m, 784): [X, A_1, ..., P (m, 10)]."""
        acts = [X]
        for W, b in self.params[:-1]:
            acts.append(self._hidden(acts[-1] @ W + b))
        W, b = self.params[-1]
        acts.append(softmax(acts[-1] @ W + b, axis=1))
        return acts

    def _step(self, X: np.ndarray, y: np.ndarray) -> None:
        """One SGD step on the mini-batch X (m, 784), y (m,): W -= eta/m * sum of gradients."""
        m = X.shape[0]
        acts = self._forward(X)
        delta = acts[-1]  # dC/dz of the output layer, (m, n_out), overwritten in place
        delta[np.arange(m), y] -= 1
        scale = np.float32(self.eta / m)
        for layer in range(len(self.params) - 1, -1, -1):
            W, b = self.params[layer]
            a_in = acts[layer]
            step = delta * scale  # (m, n_out): scaling here keeps the W update to one pass
            if layer:  # propagate with the weights before this step's update
                delta = (delta @ W.T) * self._derivative(a_in)
            W -= a_in.T @ step  # (n_in, n_out)
            b -= step.sum(axis=0)

    def train_epoch(self, data, order):
        X, y = data
        bs = self.batch_size
        for start in range(0, len(order), bs):
            batch = order[start : start + bs]
            self._step(X[batch], y[batch])

    def parameters(self):
        return [(W.copy(), b.copy()) for W, b in self.params]

    def predict(self, X):
        return self._forward(X)[-1].argmax(axis=1)


PEER = NumpyMatrix
