"""fastnet.Dataset: inputs prepared once, sparse or dense by density."""
import numpy as np
import pytest

import fastnet
from fastnet.kernels.tunables import DENSE_FROM
from fastnet.kernels.csr import NARROW_COLUMNS


def pixels(n=60, d=12, density=0.3, seed=0):
    rng = np.random.default_rng(seed)
    X = (rng.integers(1, 256, (n, d)) * (rng.random((n, d)) < density)).astype(np.uint8)
    return X, rng.integers(0, 3, n)


def test_layout_follows_the_density_and_can_be_forced():
    sparse, y = pixels(density=DENSE_FROM / 2)
    dense, _ = pixels(density=1.0)
    assert fastnet.Dataset(sparse, y).layout == "sparse"
    assert fastnet.Dataset(dense, y).layout == "dense"
    assert fastnet.Dataset(dense, y, layout="sparse").layout == "sparse"
    data = fastnet.Dataset(sparse, y, layout="dense")
    assert data.layout == "dense" and data.n == 60 and data.n_in == 12
    assert abs(data.density - np.count_nonzero(sparse) / sparse.size) < 1e-12
    assert "layout='dense'" in repr(data)


def test_float32_dense_inputs_are_used_in_place():
    X = np.random.default_rng(1).random((40, 12), dtype=np.float32) + 0.1
    data = fastnet.Dataset(X, layout="dense")
    assert np.shares_memory(data.X, X)


def test_column_numbers_are_uint16_up_to_65536_inputs_then_int32():
    """Past 65,536 columns the CSR rows hold int32 column numbers (the last
    column among the non-zeros); a fit on them ends where the dense layout's
    does (float64: the two layouts add in different orders)."""
    assert fastnet.Dataset(pixels()[0]).indices.dtype == np.uint16
    rng = np.random.default_rng(0)
    n, n_in = 30, NARROW_COLUMNS + 100
    X = np.zeros((n, n_in))
    X[np.arange(n)[:, None], rng.integers(0, n_in, (n, 5))] = rng.random((n, 5))
    X[::3, -1] = 0.5
    y = rng.integers(0, 3, n)
    sparse = fastnet.Dataset(X, y, dtype="float64", layout="sparse")
    assert sparse.indices.dtype == np.int32 and sparse.indices.max() == n_in - 1
    weights = []
    for data in (sparse, fastnet.Dataset(X, y, dtype="float64", layout="dense")):
        net = fastnet.Network([n_in, 4, 3], dtype="float64", seed=1)
        net.fit(data, epochs=2, batch_size=5, eta=0.5, monitor=False)
        weights.append(net.weights)
    for a, b in zip(*weights):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)
    assert np.any(weights[0][0][-1] != fastnet.Network([n_in, 4, 3], dtype="float64",
                                                        seed=1).weights[0][-1])


def test_uint8_to_csr_equals_the_scaled_float_inputs():
    X, y = pixels()
    data = fastnet.Dataset(X, y, layout="sparse")
    floats = fastnet.Dataset(X.astype(np.float32) / np.float32(255), y, layout="sparse")
    for a, b in zip(data.csr, floats.csr):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("layout", ["sparse", "dense"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_every_entry_point_takes_a_dataset_with_the_same_results(layout, dtype):
    X, y = pixels()
    data = fastnet.Dataset(X, y, layout=layout, dtype=dtype)
    nets = [fastnet.Network([12, 8, 3], seed=4, dtype=dtype) for _ in range(2)]
    nets[0].fit(X, y, epochs=2, batch_size=5, eta=0.3, monitor=False)
    nets[1].fit(data, epochs=2, batch_size=5, eta=0.3, monitor=False)
    tol = dict(rtol=1e-5, atol=1e-6) if dtype == "float32" else dict(rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(nets[0].parameters.theta, nets[1].parameters.theta, **tol)
    net = nets[1]
    np.testing.assert_allclose(net.predict_proba(data), net.predict_proba(X), **tol)
    np.testing.assert_array_equal(net.predict(data), net.predict(X))
    assert net.evaluate(data) == pytest.approx(net.evaluate(X, y), rel=1e-5)
    assert net.accuracy(data) == net.accuracy(X, y)
    assert net.cost(data) == pytest.approx(net.cost(X, y), rel=1e-5)
    for g1, g2 in zip(net.gradient(data)[0], net.gradient(X, y)[0]):
        np.testing.assert_allclose(g1, g2, **tol)


def test_a_prepared_dataset_trains_bit_identically_on_every_layout_and_engine_choice():
    """Same seed, same engine: bit-identical weights; other engines agree to rounding."""
    X, y = pixels(n=80, density=0.8)
    data = fastnet.Dataset(X, y)
    runs = {}
    for engine in ("auto", "auto", "per_sample", "blocked", "gemm"):
        net = fastnet.Network([12, 16, 3], activation="relu", seed=2)
        net.engine = engine
        net.fit(data, epochs=2, batch_size=20, eta=0.2, monitor=False)
        runs.setdefault(engine, []).append(net.parameters.theta.copy())
    np.testing.assert_array_equal(*runs["auto"])
    for engine in ("per_sample", "blocked", "gemm"):
        np.testing.assert_allclose(runs[engine][0], runs["auto"][0], rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("layout", ["sparse", "dense"])
@pytest.mark.parametrize("targets", ["in the Dataset", "beside it"])
def test_augment_gets_a_datasets_inputs_as_an_array_and_its_targets(layout, targets):
    """fit(Dataset, augment=f) calls f with the inputs as the kernels see them and
    the targets, and trains as fit(those arrays, augment=f) does."""
    X, y = pixels(n=40, d=16, density=0.5)  # 4 x 4 images
    floats = X.astype(np.float32) / np.float32(255)
    data = fastnet.Dataset(X, y, layout=layout) if targets == "in the Dataset" else \
        fastnet.Dataset(X, layout=layout)
    seen, weights = [], []
    distort = fastnet.Distort(seed=0, rotation=20.0)

    def augment(X, y, epoch):
        seen.append((X, y))
        return distort(X, y, epoch)
    for inputs, labels in ((floats, y), (data, None if targets == "in the Dataset" else y)):
        net = fastnet.Network([16, 6, 3], seed=3)
        net.fit(inputs, labels, epochs=2, batch_size=8, eta=0.3, augment=augment, monitor=False)
        weights.append(net.parameters.theta)
    for X_seen, y_seen in seen[2:]:
        assert isinstance(X_seen, np.ndarray) and X_seen.dtype == np.float32
        np.testing.assert_array_equal(X_seen, floats)
        np.testing.assert_array_equal(y_seen, y)
    np.testing.assert_array_equal(*weights)
    assert np.array_equal(data.toarray(), floats)


def test_bad_datasets_are_refused_with_the_fix():
    X, y = pixels()
    net = fastnet.Network([12, 4, 3])
    with pytest.raises(ValueError, match="X: a Dataset with 12 inputs"):
        fastnet.Network([10, 4, 3]).fit(fastnet.Dataset(X, y), epochs=1)
    with pytest.raises(ValueError, match="dtype='float32'"):
        net.fit(fastnet.Dataset(X, y, dtype="float64"), epochs=1)
    with pytest.raises(ValueError, match="no targets given"):
        net.evaluate(fastnet.Dataset(X))
    with pytest.raises(ValueError, match="layout: unknown value 'csr'"):
        fastnet.Dataset(X, layout="csr")
    with pytest.raises(ValueError, match="expected shape"):
        net.prepare(X[:, :5], y)
    with pytest.raises(ValueError, match="labels must lie in"):
        net.prepare(X, y + 5)
    with pytest.raises(ValueError, match="engine: unknown value"):
        bad = fastnet.Network([12, 4, 3])
        bad.engine = "fast"
        bad.fit(X, y, epochs=1)


@pytest.mark.parametrize("layout", ["sparse", "dense"])
def test_take_keeps_the_layout_and_the_rows(layout):
    X, y = pixels()
    rows = np.array([0, 3, 4, 17])
    net = fastnet.Network([12, 4, 3], seed=0)
    part = net.with_targets(fastnet.Dataset(X, y, layout=layout), None).take(rows)
    direct = net.with_targets(fastnet.Dataset(X[rows], y[rows], layout=layout), None)
    assert part.layout == layout and part.n == 4
    for name in ("indptr", "indices", "values", "Y"):
        np.testing.assert_array_equal(getattr(part, name), getattr(direct, name))
    np.testing.assert_allclose(net.predict_proba(part), net.predict_proba(X[rows]), rtol=1e-5)


@pytest.mark.parametrize("layout", ["sparse", "dense"])
def test_take_accepts_any_selection_of_samples(layout):
    X, y = pixels()
    data = fastnet.Dataset(X, y, layout=layout)
    mask = np.zeros(len(y), bool)
    mask[[1, 2, 5]] = True
    for rows, expected in ((range(2, 5), [2, 3, 4]), ([1, 2, 5], [1, 2, 5]), (slice(2, 5), [2, 3, 4]),
                           (mask, [1, 2, 5]), (np.array([-1]), [len(y) - 1])):
        part = data.take(rows)
        assert part.n == len(expected)
        np.testing.assert_array_equal(part.y, y[expected])
        np.testing.assert_array_equal(part.indices, fastnet.Dataset(X[expected], layout=layout).indices)
    with pytest.raises(IndexError):
        data.take([len(y)])
