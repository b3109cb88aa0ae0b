"""Peer: PyTorch on the CPU — torch.nn.Sequential + CrossEntropyLoss + torch.optim.SGD.

The network is Linear, Sigmoid, ..., Linear (CrossEntropyLoss applies the
log-softmax, so this is softmax + log-likelihood), started from the same
initial weights as the NumPy peers and fed the same sample order, float32,
two intra-op threads. Skips cleanly when torch is not installed.
"""

from __future__ import annotations

import numpy as np

from bench.peers.base import Peer, initial_parameters

try:
    import torch
except ImportError:  # an optional peer: `pip install fastnet[bench]`
    torch = None

THREADS = 2


class TorchPeer(Peer):
    name = "torch"
    description = f"PyTorch CPU: nn.Sequential + CrossEntropyLoss + optim.SGD, {THREADS} threads"
    unavailable = None if torch else "torch is not installed (pip install fastnet[bench])"

    def __init__(self, sizes, *, batch_size, eta, seed=1, activation="sigmoid"):
        super().__init__(sizes, batch_size=batch_size, eta=eta, seed=seed)
        torch.set_num_threads(THREADS)
        layers = []
        for W, b in initial_parameters(self.sizes, self.seed):
            linear = torch.nn.Linear(*W.shape)
            with torch.no_grad():  # nn.Linear keeps weight as (n_out, n_in)
                linear.weight.copy_(torch.from_numpy(W.T.copy()))
                linear.bias.copy_(torch.from_numpy(b))
            layers += [linear, torch.nn.ReLU() if activation == "relu" else torch.nn.Sigmoid()]
        self.model = torch.nn.Sequential(*layers[:-1])  # no sigmoid after the last layer
        self.loss = torch.nn.CrossEntropyLoss()  # mean over the batch: steps of eta/m * sum
        self.optimizer = torch.optim.SGD(self.model.parameters(), lr=eta)

    def prepare(self, X, y):
        """Zero-copy float32 image tensor (n, 784) and int64 label tensor (n,)."""
        return torch.from_numpy(X), torch.from_numpy(y.astype(np.int64))

    def train_epoch(self, data, order):
        X, y = data
        order = torch.from_numpy(np.asarray(order, dtype=np.int64))
        bs = self.batch_size
        for start in range(0, len(order), bs):
            batch = order[start : start + bs]
            self.optimizer.zero_grad(set_to_none=True)
            self.loss(self.model(X[batch]), y[batch]).backward()
            self.optimizer.step()

    def parameters(self):
        linears = [m for m in self.model if isinstance(m, torch.nn.Linear)]
        return [(m.weight.detach().numpy().T.copy(), m.bias.detach().numpy().copy()) for m in linears]

    def predict(self, X):
        with torch.no_grad():
            return self.model(torch.from_numpy(X)).argmax(dim=1).numpy()


PEER = TorchPeer
