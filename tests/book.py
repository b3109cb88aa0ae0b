"""The book's own networks, transcribed into NumPy for the tests.

Written from the algorithm of Nielsen's network.py (chapter 1: sigmoid
layers, quadratic cost) and network2.py (chapter 3: cross-entropy cost and L2
regularisation) in the book's conventions, not fastnet's: column vectors,
``weights[l]`` of shape (n_out, n_in), one sample at a time through
``backprop``, the gradients of a mini-batch summed, then every weight and
bias updated at once.  The shuffle is the only thing taken from outside: the
caller passes each epoch's order of the training samples.
"""
import numpy as np


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def sigmoid_prime(z):
    return sigmoid(z) * (1.0 - sigmoid(z))


class QuadraticCost:
    @staticmethod
    def delta(z, a, y):
        return (a - y) * sigmoid_prime(z)


class CrossEntropyCost:
    @staticmethod
    def delta(z, a, y):
        return a - y


class BookNetwork:
    """network.py (``cost=QuadraticCost``, ``lmbda=0``) or network2.py."""

    def __init__(self, weights, biases, cost=QuadraticCost):
        self.weights = [np.array(w, dtype=float) for w in weights]  # (n_out, n_in)
        self.biases = [np.array(b, dtype=float) for b in biases]    # (n_out, 1)
        self.cost = cost

    def feedforward(self, a):
        for b, w in zip(self.biases, self.weights):
            a = sigmoid(np.dot(w, a) + b)
        return a

    def SGD(self, training_data, orders, mini_batch_size, eta, lmbda=0.0):
        """One epoch per entry of ``orders`` (the shuffled sample numbers)."""
        n = len(training_data)
        for order in orders:
            shuffled = [training_data[i] for i in order]
            mini_batches = [shuffled[k:k + mini_batch_size] for k in range(0, n, mini_batch_size)]
            for mini_batch in mini_batches:
                self.update_mini_batch(mini_batch, eta, lmbda, n)

    def update_mini_batch(self, mini_batch, eta, lmbda, n):
        nabla_b = [np.zeros(b.shape) for b in self.biases]
        nabla_w = [np.zeros(w.shape) for w in self.weights]
        for x, y in mini_batch:
            delta_nabla_b, delta_nabla_w = self.backprop(x, y)
            nabla_b = [nb + dnb for nb, dnb in zip(nabla_b, delta_nabla_b)]
            nabla_w = [nw + dnw for nw, dnw in zip(nabla_w, delta_nabla_w)]
        self.weights = [(1 - eta * (lmbda / n)) * w - (eta / len(mini_batch)) * nw
                        for w, nw in zip(self.weights, nabla_w)]
        self.biases = [b - (eta / len(mini_batch)) * nb for b, nb in zip(self.biases, nabla_b)]

    def backprop(self, x, y):
        nabla_b = [np.zeros(b.shape) for b in self.biases]
        nabla_w = [np.zeros(w.shape) for w in self.weights]
        activation = x
        activations = [x]
        zs = []
        for b, w in zip(self.biases, self.weights):
            z = np.dot(w, activation) + b
            zs.append(z)
            activation = sigmoid(z)
            activations.append(activation)
        delta = self.cost.delta(zs[-1], activations[-1], y)
        nabla_b[-1] = delta
        nabla_w[-1] = np.dot(delta, activations[-2].transpose())
        for l in range(2, len(self.weights) + 1):
            sp = sigmoid_prime(zs[-l])
            delta = np.dot(self.weights[-l + 1].transpose(), delta) * sp
            nabla_b[-l] = delta
            nabla_w[-l] = np.dot(delta, activations[-l - 1].transpose())
        return nabla_b, nabla_w
