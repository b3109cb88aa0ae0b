"""fastnet.Adam and AdamW against torch.optim.Adam and AdamW on identical gradients.

Both optimizers step from the same weights on the same gradients: the
gradient of each mini-batch (shuffled as ``fit`` shuffles it) comes from
``net.gradient`` at the weights PyTorch holds, so the comparison is of the
update rules alone. PyTorch is installed for the bench suite only (CI's bench
step); elsewhere these tests skip. Part of the CI smoke set (``-m smoke``).
"""

from __future__ import annotations

import numpy as np
import pytest

import fastnet

torch = pytest.importorskip("torch")

pytestmark = pytest.mark.smoke

N, BATCH, EPOCHS = 40, 8, 3


def problem():
    rng = np.random.default_rng(5)
    X = rng.normal(size=(N, 6))
    return X, rng.integers(0, 3, N)


def network():
    return fastnet.Network([6, 7, 3], activation="tanh", output="softmax", dtype="float64", seed=2)


def torch_run(kind, eta, l2=0.0, weight_decay=0.0, clip_norm=None, betas=(0.9, 0.999), eps=1e-8):
    """The weights after EPOCHS epochs of torch.optim.Adam / AdamW, fed the
    gradients fastnet computes at torch's weights; biases in a group without
    decay (fastnet never decays biases)."""
    X, y = problem()
    probe = network()
    weights = [torch.tensor(w, requires_grad=True) for w in probe.weights]
    biases = [torch.tensor(b, requires_grad=True) for b in probe.biases]
    decay = l2 / N if kind == "adam" else weight_decay
    groups = [{"params": weights, "weight_decay": decay}, {"params": biases, "weight_decay": 0.0}]
    optimizer = (torch.optim.Adam if kind == "adam" else torch.optim.AdamW)(
        groups, lr=eta, betas=betas, eps=eps)
    for epoch in range(EPOCHS):
        order = np.random.default_rng((probe.seed, epoch)).permutation(N)
        for start in range(0, N, BATCH):
            rows = order[start:start + BATCH]
            probe.set_parameters([w.detach().numpy() for w in weights],
                                 [b.detach().numpy() for b in biases])
            gW, gb = probe.gradient(X[rows], y[rows])
            for parameter, grad in zip(weights + biases, gW + gb):
                parameter.grad = torch.tensor(grad)
            if clip_norm is not None:
                torch.nn.utils.clip_grad_norm_(weights + biases, clip_norm)
            optimizer.step()
    return [w.detach().numpy() for w in weights], [b.detach().numpy() for b in biases]


@pytest.mark.parametrize("kind, settings, rtol", [
    ("adam", {}, 1e-9),
    ("adam", {"l2": 4.0, "betas": (0.8, 0.99), "eps": 1e-6}, 1e-9),
    ("adamw", {"weight_decay": 0.3}, 1e-9),
    ("adamw", {"weight_decay": 0.3, "clip_norm": 0.1}, 1e-5),  # torch divides by norm + 1e-6
])
def test_same_weights_as_torch_on_identical_gradients(kind, settings, rtol):
    X, y = problem()
    betas = settings.get("betas", (0.9, 0.999))
    options = dict(eta=0.01, batch_size=BATCH, beta1=betas[0], beta2=betas[1],
                   eps=settings.get("eps", 1e-8), clip_norm=settings.get("clip_norm"))
    optimizer = fastnet.Adam(l2=settings.get("l2", 0.0), **options) if kind == "adam" else \
        fastnet.AdamW(weight_decay=settings["weight_decay"], **options)
    net = network()
    net.fit(X, y, epochs=EPOCHS, optimizer=optimizer, monitor=False)
    expected_W, expected_b = torch_run(kind, 0.01, **settings)
    for got, expected in zip(net.weights + net.biases, expected_W + expected_b):
        np.testing.assert_allclose(got, expected, rtol=rtol, atol=rtol * 1e-2)
    assert not np.allclose(net.weights[0], network().weights[0])  # it trained
