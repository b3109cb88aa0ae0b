"""Peer: scikit-learn's MLPClassifier with solver="sgd", one epoch per ``fit`` call.

Same network and optimizer as the others (logistic hidden units, softmax
output with log-loss, constant learning rate eta, no momentum, no L2), but
scikit-learn shuffles with its own generator and uses its own (Glorot)
initialisation. ``warm_start`` makes each ``fit`` continue from the previous
weights, so repeated timed rounds keep training one network. The per-call input
validation is part of what a user of MLPClassifier pays and stays in the timing.
Skips cleanly when scikit-learn is not installed.
"""

from __future__ import annotations

import warnings

from bench.peers.base import Peer

try:
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier
except ImportError:  # an optional peer: `pip install fastnet[bench]`
    MLPClassifier = None


class SklearnPeer(Peer):
    name = "sklearn"
    description = "scikit-learn MLPClassifier(solver='sgd'), max_iter=1 per epoch"
    takes_order = False
    unavailable = None if MLPClassifier else "scikit-learn is not installed (pip install fastnet[bench])"

    def __init__(self, sizes, *, batch_size, eta, seed=1):
        super().__init__(sizes, batch_size=batch_size, eta=eta, seed=seed)
        self.model = MLPClassifier(
            hidden_layer_sizes=self.sizes[1:-1], activation="logistic", solver="sgd",
            learning_rate="constant", learning_rate_init=eta, momentum=0.0,
            nesterovs_momentum=False, alpha=0.0, batch_size=batch_size, max_iter=1,
            shuffle=True, early_stopping=False, warm_start=True, random_state=seed,
        )

    def train_epoch(self, data, order):
        """One epoch over all of ``data``; ``order`` only sets how many images (a prefix)."""
        X, y = data
        n = len(order)
        with warnings.catch_warnings():  # max_iter=1 always "fails to converge"
            warnings.simplefilter("ignore", ConvergenceWarning)
            self.model.fit(X[:n], y[:n])

    def predict(self, X):
        return self.model.predict(X)


PEER = SklearnPeer
