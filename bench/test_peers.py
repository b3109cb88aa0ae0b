"""The peers are real trainers: each learns, and the hand-written ones agree step for step.

A benchmark of a broken peer would be meaningless, so these run in the CI
smoke set (``-m smoke``, a few seconds).
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from bench import data
from bench.peers import PEER_NAMES
from bench.peers.base import sigmoid, softmax
from bench.workloads import SEED

pytestmark = pytest.mark.smoke

LEARN_IMAGES = 10_000
# One epoch of [784,30,10], batch 10, eta 0.1 on 10,000 images reaches about 0.88
# test accuracy for every peer here; 0.80 leaves room for seeds and initialisations.
MIN_ACCURACY = 0.80
# README of ../shared/data: label counts 0..9 of all 60,000 training and 10,000 test images.
TEST_LABEL_COUNTS = (980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009)


@pytest.mark.parametrize("peer_name", PEER_NAMES)
def test_peer_learns_in_one_epoch(peer_name, mnist, make_peer):
    peer = make_peer(peer_name, (784, 30, 10), 10)
    X, y = mnist.X_train[:LEARN_IMAGES], mnist.y_train[:LEARN_IMAGES]
    peer.train_epoch(peer.prepare(X, y), data.epoch_order(LEARN_IMAGES, SEED))
    accuracy = peer.accuracy(mnist.X_test, mnist.y_test)
    assert accuracy > MIN_ACCURACY, f"{peer_name} reached only {accuracy:.4f} after one epoch"


@pytest.mark.parametrize("sizes", [(784, 30, 10), (784, 20, 15, 10)], ids=["1-hidden", "2-hidden"])
@pytest.mark.parametrize("batch_size", [10, 7])  # 7: the last mini-batch of 1,000 images is short
@pytest.mark.parametrize("peer_name", ["book_loop", "torch"])
def test_peer_agrees_with_numpy_matrix(peer_name, sizes, batch_size, mnist, make_peer):
    """Same initial weights, same sample order: the same weights after an epoch."""
    X, y = mnist.X_train[:1000], mnist.y_train[:1000]
    order = data.epoch_order(len(X), SEED)
    peer = make_peer(peer_name, sizes, batch_size)
    reference = make_peer("numpy_matrix", sizes, batch_size)
    for trainer in (peer, reference):
        trainer.train_epoch(trainer.prepare(X, y), order)
    for (W, b), (W_ref, b_ref) in zip(peer.parameters(), reference.parameters()):
        np.testing.assert_allclose(W, W_ref, atol=2e-5)
        np.testing.assert_allclose(b, b_ref, atol=2e-5)


def test_fastnet_matches_numpy_peer_full_batch(mnist, make_peer):
    """Same start, full-batch steps (so fastnet's own shuffling cannot matter): same weights."""
    X, y = mnist.X_train[:500], mnist.y_train[:500]
    reference = make_peer("numpy_matrix", (784, 30, 10), len(X), eta=0.5)
    peer = make_peer("fastnet", (784, 30, 10), len(X), eta=0.5)
    for (W, b), W_net, b_net in zip(reference.parameters(), peer.net.weights, peer.net.biases):
        W_net[...], b_net[...] = W, b  # fastnet's weights are views into its parameter vector
    for _ in range(3):
        reference.train_epoch(reference.prepare(X, y), np.arange(len(X)))
        peer.train_epoch(peer.prepare(X, y), np.arange(len(X)))
    for (W, b), (W_ref, b_ref) in zip(peer.parameters(), reference.parameters()):
        np.testing.assert_allclose(W, W_ref, atol=2e-5)
        np.testing.assert_allclose(b, b_ref, atol=2e-5)


def test_numerics_do_not_overflow():
    z = np.array([-1000.0, -30.0, 0.0, 30.0, 1000.0], dtype=np.float32)
    s = sigmoid(z)
    assert s.dtype == np.float32 and s[0] == 0.0 and s[2] == 0.5 and s[-1] == 1.0
    p = softmax(np.stack([z, -z]), axis=1)
    assert np.all(np.isfinite(p)) and np.allclose(p.sum(axis=1), 1.0)


def test_book_split_shapes_and_labels(mnist):
    assert mnist.X_train.shape == (data.N_TRAIN, 784) and mnist.X_test.shape == (10_000, 784)
    assert mnist.X_train.dtype == np.float32 and mnist.X_train.flags.c_contiguous
    assert 0.0 == mnist.X_train.min() and mnist.X_train.max() == 1.0
    assert tuple(mnist.y_train[:5]) == (5, 0, 4, 1, 9)
    counts = Counter(mnist.y_test.tolist())
    assert tuple(counts[d] for d in range(10)) == TEST_LABEL_COUNTS
