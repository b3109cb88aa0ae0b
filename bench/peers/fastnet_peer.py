"""fastnet itself behind the peer interface: ``Network.fit`` for one epoch per call.

fastnet shuffles with its own seeded generator, so it ignores the shared
order except for its length. ``fit`` converts X (to CSR) on every call, which
the other peers do once in ``prepare``; so ``last_internal_seconds`` keeps the
epoch time fastnet reports (``history["epoch_seconds"]``, training only) next
to the harness's wall time of the whole ``fit`` call. Per-epoch evaluation is
off (``monitor=False``), as for every peer. Skips while the core
(``fastnet.Network``) is not importable.
"""

from __future__ import annotations

from bench.peers.base import Peer, PeerUnavailable


def network_class():
    """``fastnet.Network``, or PeerUnavailable saying why it cannot be imported."""
    try:
        import fastnet

        return fastnet.Network
    except (ImportError, AttributeError) as exc:
        raise PeerUnavailable(f"fastnet.Network is not importable ({exc}); install the package "
                              "(pip install -e .)") from exc


class FastnetPeer(Peer):
    name = "fastnet"
    description = "fastnet.Network.fit (Numba kernels), float32"
    takes_order = False
    bench_rounds = 7

    @classmethod
    def check_available(cls):
        network_class()

    def __init__(self, sizes, *, batch_size, eta, seed=1):
        super().__init__(sizes, batch_size=batch_size, eta=eta, seed=seed)
        self.net = network_class()(
            list(self.sizes), activation="sigmoid", output="softmax", cost="log_likelihood",
            init="normalized", dtype="float32", seed=seed,
        )

    def train_epoch(self, data, order):
        """One ``fit`` epoch over the first ``len(order)`` images of ``data`` (fastnet shuffles)."""
        X, y = data
        n = len(order)
        history = self.net.fit(X[:n], y[:n], epochs=1, batch_size=self.batch_size, eta=self.eta,
                               monitor=False)
        self.last_internal_seconds = float(history["epoch_seconds"][-1])

    def parameters(self):
        return [(W.copy(), b.copy()) for W, b in zip(self.net.weights, self.net.biases)]

    def predict(self, X):
        return self.net.predict(X)

    def accuracy(self, X, y):
        return float(self.net.accuracy(X, y))


PEER = FastnetPeer
