"""``Network.fit``: SGD steps against the reference, dropout, reproducibility,
schedules, early stopping and divergence.

The step tests train with one mini-batch holding the whole tiny data set
(batch_size = n), so the shuffle cannot matter, and compare with the
reference's full-batch steps; each also checks that the feature under test
moves the result by far more than the tolerance, so ignoring it would fail.
"""
import numba
import numpy as np
import pytest

import fastnet
import reference as ref
from fastnet import schedules

FEATURES = {"plain": {}, "momentum": dict(momentum=0.9),
            "nesterov": dict(momentum=0.9, nesterov=True),
            "l2": dict(l2=5.0), "l1": dict(l1=4.0),
            "all": dict(momentum=0.6, nesterov=True, l2=5.0, l1=4.0)}
TOLERANCE = {"float64": 1e-12, "float32": 2e-5}


def problem(dtype="float64", sizes=(4, 6, 3), activation="tanh", output="softmax",
            cost="log_likelihood", n=12, seed=0):
    rng = np.random.default_rng(1000 + seed)
    X = rng.random((n, sizes[0]))
    y = np.arange(n) % sizes[-1]
    net = fastnet.Network(list(sizes), activation=activation, output=output, cost=cost,
                          dtype=dtype, seed=seed)
    return net, X, y


def flat(net):
    return ref.flatten(net.weights, net.biases)[0]


def copy_parameters(target, source):
    """Give ``target`` the weights and biases of ``source`` (same sizes)."""
    for mine, theirs in zip(target.weights + target.biases, source.weights + source.biases):
        mine[...] = theirs


def reference_fit(net, batches, n, eta, **options):
    """The reference's parameters after SGD over ``batches`` of (X, y)."""
    batches = [(X, ref.one_hot(y, net.sizes[-1])) for X, y in batches]
    return ref.flatten(*ref.train(*ref.of(net), batches, n, eta, **options))[0]


def assert_close(actual, expected, dtype):
    np.testing.assert_allclose(actual, expected, rtol=TOLERANCE[dtype], atol=TOLERANCE[dtype])


# ---------------------------------------------------------------- SGD steps
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("feature", list(FEATURES))
def test_full_batch_steps_match_reference(feature, dtype):
    net, X, y = problem(dtype)
    epochs, eta = 3, 0.8
    expected = reference_fit(net, [(X, y)] * epochs, len(y), eta, **FEATURES[feature])
    if feature != "plain":  # the feature matters: ignoring it would fail this test
        # (Nesterov ignored is classical momentum; "all" ignored is plain SGD.)
        ignored = {k: v for k, v in FEATURES[feature].items() if k != feature}
        without = reference_fit(net, [(X, y)] * epochs, len(y), eta,
                                **(ignored if feature != "all" else {}))
        assert np.abs(expected - without).max() > 1e3 * TOLERANCE[dtype]
    history = net.fit(X, y, epochs=epochs, batch_size=len(y), eta=eta, monitor=False,
                      **FEATURES[feature])
    assert_close(flat(net), expected, dtype)
    assert history["eta"] == [eta] * epochs


@pytest.mark.parametrize("feature", ["plain", "l2", "l1", "all"])
def test_short_last_batch_and_regularisers_over_the_training_set_size(feature):
    """Five identical samples in batches of 2, 2, 1: the shuffle cannot matter,
    the last batch is short (its mean is over 1), and l2/n, l1/n use n = 5,
    not the batch size."""
    net, X, y = problem()
    X, y = np.repeat(X[:1], 5, axis=0), np.repeat(y[:1], 5)
    eta, epochs = 0.5, 2
    batches = [(X[:2], y[:2]), (X[:2], y[:2]), (X[:1], y[:1])] * epochs
    expected = reference_fit(net, batches, 5, eta, **FEATURES[feature])
    if feature != "plain":
        by_batch = reference_fit(net, batches, 2, eta, **FEATURES[feature])
        assert np.abs(expected - by_batch).max() > 1e-6
    net.fit(X, y, epochs=epochs, batch_size=2, eta=eta, monitor=False, **FEATURES[feature])
    assert_close(flat(net), expected, "float64")


def test_momentum_carries_across_mini_batches_and_epochs():
    net, X, y = problem()
    X, y = np.repeat(X[:1], 6, axis=0), np.repeat(y[:1], 6)
    batches = [(X[:3], y[:3])] * 6
    expected = reference_fit(net, batches, 6, 0.3, momentum=0.7)
    net.fit(X, y, epochs=3, batch_size=3, eta=0.3, momentum=0.7, monitor=False)
    assert_close(flat(net), expected, "float64")


def test_batch_size_larger_than_the_data_is_one_batch():
    a, X, y = problem()
    b, _, _ = problem()
    a.fit(X, y, epochs=2, batch_size=len(y), eta=0.5, monitor=False)
    b.fit(X, y, epochs=2, batch_size=10 * len(y), eta=0.5, monitor=False)
    np.testing.assert_array_equal(flat(a), flat(b))


@pytest.mark.parametrize("l2,l1", [(5.0, 0.0), (0.0, 3.0), (2.0, 1.0)])
def test_cost_includes_the_regularisation_of_the_last_fit(l2, l1):
    net, X, y = problem()
    W, b, acts, out, cost = ref.of(net)
    plain = ref.mean_cost(W, b, acts, out, cost, X, ref.one_hot(y, 3))
    assert net.cost(X, y) == pytest.approx(plain, rel=1e-12)
    net.fit(X, y, epochs=1, batch_size=len(y), eta=0.1, l2=l2, l1=l1, monitor=False)
    W, b, acts, out, cost = ref.of(net)
    expected = ref.mean_cost(W, b, acts, out, cost, X, ref.one_hot(y, 3)) + \
        ref.penalty(W, l2, l1, len(y))
    assert net.cost(X, y) == pytest.approx(expected, rel=1e-12)
    # The penalty uses the training-set size of the fit, whatever data is costed.
    W, b, acts, out, cost = ref.of(net)
    half = ref.mean_cost(W, b, acts, out, cost, X[:6], ref.one_hot(y[:6], 3)) + \
        ref.penalty(W, l2, l1, len(y))
    assert net.cost(X[:6], y[:6]) == pytest.approx(half, rel=1e-12)


def test_evaluation_matches_reference():
    net, X, y = problem(n=30)
    W, b, acts, out, cost = ref.of(net)
    _, As = ref.forward(W, b, acts, out, X)
    np.testing.assert_allclose(net.predict_proba(X), As[-1], rtol=1e-12)
    predicted = net.predict(X)
    assert predicted.shape == (30,) and np.issubdtype(predicted.dtype, np.integer)
    np.testing.assert_array_equal(predicted, As[-1].argmax(axis=1))
    accuracy = float(np.mean(predicted == y))
    assert net.accuracy(X, y) == accuracy
    assert net.evaluate(X, y) == (pytest.approx(net.cost(X, y)), accuracy)


def test_history_records_every_epoch():
    net, X, y = problem(n=30)
    history = net.fit(X, y, epochs=3, batch_size=4, eta=0.5, validation=(X[:10], y[:10]))
    for key in ("training_cost", "training_accuracy", "validation_cost",
                "validation_accuracy", "eta", "epoch_seconds"):
        assert len(history[key]) == 3, key
    assert all(s >= 0 for s in history["epoch_seconds"])
    assert history["training_cost"][-1] == pytest.approx(net.cost(X, y))
    assert history["validation_accuracy"][-1] == net.accuracy(X[:10], y[:10])
    assert history["training_cost"][-1] < history["training_cost"][0]
    quiet = problem(n=30)[0].fit(X, y, epochs=2, batch_size=4, eta=0.5, monitor=False)
    assert quiet["training_cost"] == [] and quiet["validation_cost"] == []


def test_fit_prints_only_when_verbose(capsys):
    net, X, y = problem()
    net.fit(X, y, epochs=2, batch_size=4, eta=0.5)
    assert capsys.readouterr().out == ""
    net.fit(X, y, epochs=2, batch_size=4, eta=0.5, verbose=True)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 and lines[0].startswith("epoch   1/2")


# ------------------------------------------------------------------ dropout
def dropout_step(seed=0, sizes=(5, 40, 30, 3), dropout=0.4):
    """One fit step on one sample, from the same data and initial weights
    whatever the seed, which then only picks the dropout masks.
    Returns (net, X, y, flat parameters before)."""
    base, X, y = problem(sizes=sizes, activation="sigmoid", n=1)
    net = fastnet.Network(list(sizes), activation="sigmoid", dtype="float64", seed=seed)
    copy_parameters(net, base)
    before = flat(net)
    net.fit(X, y, epochs=1, batch_size=1, eta=0.5, dropout=dropout, monitor=False)
    return net, X, y, before


def inferred_masks(net, before):
    """Which hidden units were kept: a kept sigmoid unit's bias always moves
    (δ = mask·σ'(z)·(Wδ) ≠ 0); a dropped unit's bias cannot."""
    _, old_biases = ref.unflatten(before, net.weights, net.biases)
    return [b != old for b, old in zip(net.biases[:-1], old_biases[:-1])]


def test_dropout_step_matches_reference_with_the_same_masks():
    dropout = 0.4
    net, X, y, before = dropout_step(dropout=dropout)
    kept = inferred_masks(net, before)
    assert all(0 < k.sum() < k.size for k in kept)
    masks = [k[None].astype(float) / (1 - dropout) for k in kept]  # inverted dropout
    W, b = ref.unflatten(before, net.weights, net.biases)
    gW, gb = ref.gradient(W, b, list(net.activations), net.output, net.cost_name, X,
                          ref.one_hot(y, 3), masks=masks)
    expected = before - 0.5 * ref.flatten(gW, gb)[0]
    np.testing.assert_allclose(flat(net), expected, rtol=1e-12, atol=1e-14)
    # Without the 1/keep scaling the update would be measurably different.
    unscaled = [k[None].astype(float) for k in kept]
    gW, gb = ref.gradient(W, b, list(net.activations), net.output, net.cost_name, X,
                          ref.one_hot(y, 3), masks=unscaled)
    assert np.abs(before - 0.5 * ref.flatten(gW, gb)[0] - expected).max() > 1e-6


@pytest.mark.parametrize("dropout", [0.2, 0.5])
def test_dropout_drops_a_fraction_p_of_hidden_units(dropout):
    net, _, _, before = dropout_step(sizes=(5, 600, 3), dropout=dropout)
    dropped = 1 - inferred_masks(net, before)[0].mean()
    assert abs(dropped - dropout) < 0.07  # binomial sd ≤ 0.021


def test_dropout_masks_are_seeded():
    a, _, _, start = dropout_step(seed=0)
    b, _, _, _ = dropout_step(seed=0)
    c, _, _, _ = dropout_step(seed=1)
    np.testing.assert_array_equal(flat(a), flat(b))
    masks_a, masks_c = inferred_masks(a, start), inferred_masks(c, start)
    assert any((m != n).any() for m, n in zip(masks_a, masks_c))


def test_dropout_masks_change_between_epochs():
    net, X, y = problem(sizes=(5, 100, 3), activation="sigmoid", n=1)
    snapshots = [flat(net)]
    net.fit(X, y, epochs=2, batch_size=1, eta=0.5, dropout=0.5, monitor=False,
            callback=lambda net, opt: snapshots.append(flat(net)))
    masks = []
    for before, after in zip(snapshots, snapshots[1:]):
        _, b0 = ref.unflatten(before, net.weights, net.biases)
        _, b1 = ref.unflatten(after, net.weights, net.biases)
        masks.append(b1[0] != b0[0])
    assert (masks[0] != masks[1]).any()


def test_dropout_zero_and_positive_differ_and_inference_uses_no_dropout():
    a, X, y = problem(sizes=(4, 20, 3), n=12)
    b, _, _ = problem(sizes=(4, 20, 3), n=12)
    a.fit(X, y, epochs=2, batch_size=4, eta=0.5, dropout=0.0, monitor=False)
    b.fit(X, y, epochs=2, batch_size=4, eta=0.5, dropout=0.3, monitor=False)
    assert not np.allclose(flat(a), flat(b))
    W, bias, acts, out, _ = ref.of(b)
    np.testing.assert_allclose(b.predict_proba(X), ref.forward(W, bias, acts, out, X)[1][-1],
                               rtol=1e-12)


# ---------------------------------------------------------- reproducibility
def busy_fit(seed, dtype="float32", progress=None, **overrides):
    rng = np.random.default_rng(5)
    X = (rng.random((200, 12)) * (rng.random((200, 12)) < 0.3)).astype(np.float32)  # sparse
    y = rng.integers(0, 4, 200)
    net = fastnet.Network([12, 16, 8, 4], activation=["relu", "tanh"], dtype=dtype, seed=seed)
    options = dict(epochs=2, batch_size=3, eta=0.2, momentum=0.5, dropout=0.3, l2=1.0,
                   monitor=False, progress=progress)
    options.update(overrides)
    net.fit(X, y, **options)
    return net


def test_same_seed_gives_bit_identical_weights():
    np.testing.assert_array_equal(flat(busy_fit(3)), flat(busy_fit(3)))


def test_different_seeds_give_different_weights():
    assert not np.allclose(flat(busy_fit(3)), flat(busy_fit(4)))


def test_seed_drives_the_shuffle():
    """Same initial weights, no dropout, different seeds: only the order differs."""
    rng = np.random.default_rng(0)
    X, y = rng.random((40, 4)), rng.integers(0, 3, 40)
    nets = [fastnet.Network([4, 5, 3], dtype="float64", seed=s) for s in (1, 2)]
    copy_parameters(nets[1], nets[0])
    for net in nets:
        net.fit(X, y, epochs=1, batch_size=4, eta=0.5, monitor=False)
    assert not np.allclose(flat(nets[0]), flat(nets[1]))


@pytest.mark.parametrize("overrides", [{}, dict(momentum=0.0)])  # momentum 0: lazy L2 decay
def test_progress_chunks_give_the_same_weights(overrides):
    calls = []
    chunked = busy_fit(3, progress=lambda done, n: calls.append((done, n)), **overrides)
    np.testing.assert_array_equal(flat(chunked), flat(busy_fit(3, **overrides)))
    assert len(calls) > 2 and calls[-1] == (200, 200)
    assert all(n == 200 for _, n in calls)
    per_epoch = len(calls) // 2
    dones = [done for done, _ in calls[:per_epoch]]
    assert dones == sorted(dones) and dones[-1] == 200


def test_resuming_an_optimizer_equals_one_run():
    rng = np.random.default_rng(0)
    X, y = rng.random((30, 4)), rng.integers(0, 3, 30)
    whole = fastnet.Network([4, 5, 3], dtype="float64", seed=1)
    whole.fit(X, y, epochs=3, batch_size=4, eta=0.5, momentum=0.8, monitor=False)
    parts = fastnet.Network([4, 5, 3], dtype="float64", seed=1)
    opt = fastnet.SGD(eta=0.5, batch_size=4, momentum=0.8)
    parts.fit(X, y, epochs=1, optimizer=opt, monitor=False)
    parts.fit(X, y, epochs=3, optimizer=opt, monitor=False)
    np.testing.assert_array_equal(flat(parts), flat(whole))


def test_evaluation_does_not_depend_on_the_thread_count():
    net = busy_fit(3, epochs=1)
    X = np.random.default_rng(1).random((700, 12))
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = net.predict_proba(X)
    finally:
        numba.set_num_threads(before)
    np.testing.assert_array_equal(net.predict_proba(X), one)


# ---------------------------------------------------------------- schedules
def test_schedule_values():
    h = {"eta": [], "validation_accuracy": [], "training_accuracy": []}
    assert [schedules.Constant()(e, 0.4, h) for e in range(3)] == [0.4] * 3
    assert [schedules.Step(every=2, factor=0.5)(e, 0.4, h) for e in range(5)] == \
        pytest.approx([0.4, 0.4, 0.2, 0.2, 0.1])
    assert [schedules.Exponential(0.5)(e, 0.4, h) for e in range(3)] == \
        pytest.approx([0.4, 0.2, 0.1])
    cosine = schedules.Cosine(epochs=4, floor=0.1)
    assert [cosine(e, 1.0, h) for e in (0, 2, 4, 9)] == pytest.approx([1.0, 0.55, 0.1, 0.1])
    with pytest.raises(ValueError, match="Cosine: the number of epochs is unknown"):
        schedules.Cosine()(0, 1.0, h)


def plateau_history(etas, scores):
    return {"eta": list(etas), "validation_accuracy": list(scores), "training_accuracy": []}


def test_plateau_schedule():
    plateau = schedules.Plateau(patience=2, factor=0.5)
    assert plateau(0, 1.0, plateau_history([], [])) == 1.0
    # Improving: keep eta.
    assert plateau(3, 1.0, plateau_history([1, 1, 1], [0.1, 0.2, 0.3])) == 1.0
    # One epoch since the best: not yet stale for patience 2.
    assert plateau(3, 1.0, plateau_history([1, 1, 1], [0.1, 0.3, 0.3])) == 1.0
    # Two epochs since the best at this eta: halve.
    assert plateau(4, 1.0, plateau_history([1] * 4, [0.1, 0.3, 0.3, 0.3])) == 0.5
    # Just halved: the new eta gets its own patience.
    assert plateau(5, 1.0, plateau_history([1] * 4 + [.5], [.1, .3, .3, .3, .3])) == 0.5
    # Two epochs at 0.5 with no improvement over the best before them: halve again.
    assert plateau(6, 1.0, plateau_history([1] * 4 + [.5, .5], [.1, .3, .3, .3, .3, .2])) == 0.25
    # An improvement at the new eta restarts the count.
    assert plateau(6, 1.0, plateau_history([1] * 4 + [.5, .5], [.1, .3, .3, .3, .4, .2])) == 0.5
    # Without validation data the training accuracy counts.
    history = {"eta": [1] * 4, "validation_accuracy": [], "training_accuracy": [.1, .3, .3, .3]}
    assert plateau(4, 1.0, history) == 0.5


def test_make_schedule_by_name_and_bad_schedules():
    assert isinstance(schedules.make_schedule(None), schedules.Constant)
    for name, cls in schedules.SCHEDULES.items():
        assert isinstance(schedules.make_schedule(name), cls)
    with pytest.raises(ValueError, match="schedule: unknown name 'linear'"):
        schedules.make_schedule("linear")
    with pytest.raises(TypeError, match="schedule: expected a name or a callable"):
        schedules.make_schedule(3)
    with pytest.raises(ValueError, match="factor"):
        schedules.Step(factor=1.5)
    with pytest.raises(ValueError, match="every"):
        schedules.Step(every=0)


def test_fit_trains_at_the_scheduled_eta():
    net, X, y = problem()
    batch = [(X, ref.one_hot(y, 3))]
    W, b = ref.train(*ref.of(net), batch, len(y), 0.8)
    step2 = ref.train(W, b, *ref.of(net)[2:], batch, len(y), 0.4)
    history = net.fit(X, y, epochs=2, batch_size=len(y), eta=0.8, monitor=False,
                      schedule=schedules.Step(every=1, factor=0.5))
    assert history["eta"] == pytest.approx([0.8, 0.4])
    assert_close(flat(net), ref.flatten(*step2)[0], "float64")
    calls = []
    net.fit(X, y, epochs=3, batch_size=len(y), eta=0.8, monitor=False,
            schedule=lambda epoch, eta0, history: calls.append(epoch) or eta0 / (epoch + 1))
    assert calls == [0, 1, 2]


def test_cosine_schedule_by_name_anneals_over_the_fit():
    net, X, y = problem()
    history = net.fit(X, y, epochs=4, batch_size=len(y), eta=1.0, monitor=False,
                      schedule="cosine")
    assert history["eta"] == pytest.approx([1.0, 0.5 + 0.5 * np.cos(np.pi / 4), 0.5,
                                            0.5 + 0.5 * np.cos(3 * np.pi / 4)])


def test_plateau_schedule_in_fit_halves_eta_then_stops():
    net, X, y = problem()
    # eta so small that the accuracy cannot move: no epoch ever improves.
    history = net.fit(X, y, epochs=20, batch_size=len(y), eta=1e-9, validation=(X, y),
                      schedule=schedules.Plateau(patience=1, factor=0.5, min_ratio=0.25))
    assert history["eta"] == pytest.approx([1e-9, 1e-9, 0.5e-9, 0.25e-9])
    assert "learning rate" in net.optimizer.stop_reason


# ------------------------------------------------------ early stopping, best
def test_early_stopping_after_patience_epochs_without_improvement():
    net, X, y = problem()
    history = net.fit(X, y, epochs=20, batch_size=len(y), eta=1e-9, validation=(X, y),
                      early_stopping=2)
    assert len(history["validation_accuracy"]) == 3
    assert "no improvement" in net.optimizer.stop_reason
    with pytest.raises(ValueError, match="early_stopping"):
        net.fit(X, y, epochs=2, early_stopping=2)
    with pytest.raises(ValueError, match="restore_best"):
        net.fit(X, y, epochs=2, restore_best=True)


def test_restore_best_keeps_the_weights_of_the_best_validation_epoch():
    net, X, y = problem(n=30)
    wrong = (y + 1) % 3

    def augment(X, y, epoch):  # right labels first, then wrong ones: accuracy rises, then falls
        return X, (y if epoch < 4 else wrong)

    snapshots = []
    history = net.fit(X, y, epochs=8, batch_size=5, eta=1.0, validation=(X, y), augment=augment,
                      restore_best=True, callback=lambda net, opt: snapshots.append(flat(net)))
    scores = history["validation_accuracy"]
    best = int(np.argmax(scores))
    assert best < len(scores) - 1 and scores[best] > scores[-1], scores
    np.testing.assert_array_equal(flat(net), snapshots[best])
    assert net.optimizer.best_epoch == best + 1


# --------------------------------------------------------------- divergence
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("monitor", [True, False])
def test_divergence_raises_and_restores_the_weights(dtype, monitor):
    net, X, y = problem(dtype, output="linear", cost="quadratic")
    net.fit(X, y, epochs=1, batch_size=4, eta=0.01, monitor=False)  # a previous fit
    before = net.parameters.theta.copy()
    epochs_trained, cost = net.epochs_trained, net.cost(X, y)
    finished = []
    sgd = fastnet.SGD(eta=1e6, batch_size=4, momentum=0.5)
    with pytest.raises(fastnet.DivergenceError) as caught:
        net.fit(X, y, epochs=50, monitor=monitor, optimizer=sgd,
                callback=lambda net, opt: finished.append(opt.epoch))
    message = str(caught.value)
    assert f"epoch {len(finished) + 1} " in message
    assert "eta=1e+06" in message and "smaller eta" in message
    np.testing.assert_array_equal(net.parameters.theta, before)
    # Nothing of the failed run is left: counters, cost's regulariser, optimizer state.
    assert net.epochs_trained == epochs_trained and net.cost(X, y) == cost
    assert sgd.epoch == 0 and not sgd.velocity.any() and sgd.history["eta"] == []
    history = net.fit(X, y, epochs=2, batch_size=4, eta=0.01)  # still usable
    assert np.isfinite(history["training_cost"]).all()


def test_eta_that_overflows_the_dtype_is_rejected_by_name():
    net, X, y = problem("float32")
    before = flat(net)
    with pytest.raises(ValueError, match="eta: 1e[+]300 overflows this float32 network"):
        net.fit(X, y, epochs=1, eta=1e300)
    with pytest.raises(ValueError, match="l2/n: .* overflows"):
        net.fit(X, y, epochs=1, l2=1e300)
    np.testing.assert_array_equal(flat(net), before)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_parameters_and_training_arrays_start_on_a_cache_line(dtype, monkeypatch):
    """theta, velocity, the gradient buffer and the batch buffers start on a
    64-byte line (kernels/layout.py), also in copies, unpickled networks and
    resumed optimizers; the alignment helper keeps the values."""
    import copy
    import pickle
    from fastnet.kernels import layout, train

    def on_a_line(array):
        return array.ctypes.data % layout.CACHE_LINE == 0

    for n in (1, 7, 100, 1001):
        zeros = layout.line_aligned_zeros(n, dtype)
        assert zeros.shape == (n,) and zeros.dtype == dtype and on_a_line(zeros) and not zeros.any()
        shifted = np.arange(n + 4, dtype=dtype)[1:n + 1]  # starts 4 or 8 bytes past a line at best
        moved = layout.line_aligned(shifted)
        assert on_a_line(moved) and np.array_equal(moved, shifted)
        assert layout.line_aligned(moved) is moved
    net, X, y = problem(dtype, sizes=(5, 9, 3))
    seen = []
    epoch = train.train_epoch
    monkeypatch.setattr(fastnet.engine.epoch, "train_epoch",
                        lambda state, work, *rest: (seen.append((state, work)),
                                                    epoch(state, work, *rest))[1])
    sgd = fastnet.SGD(eta=0.1, momentum=0.9, batch_size=4)
    net.fit(X, y, epochs=1, optimizer=sgd, monitor=False)
    state, work = seen[0]
    assert all(on_a_line(a) for a in (state.theta, state.velocity, state.grad, work.Z, work.A,
                                       work.D))
    for other in (copy.deepcopy(net), pickle.loads(pickle.dumps(net))):
        assert on_a_line(other.parameters.theta) and np.array_equal(other.parameters.theta, net.parameters.theta)
    assert on_a_line(net.join_parameters(net.weights, net.biases))
