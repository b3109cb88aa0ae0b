"""scipy.sparse inputs: taken as CSR rows, never made dense, and trained,
evaluated and differentiated exactly as the same values in a dense array."""
import tracemalloc

import numpy as np
import pytest
import scipy.sparse as sp

import fastnet

pytestmark = pytest.mark.usefixtures("one_thread")


def problem(n=120, d=40, density=0.1, seed=0):
    """Sparse inputs with a signal: (X CSR float64 (n, d), labels (n,) of 3 classes)."""
    X = sp.random(n, d, density=density, format="csr", random_state=seed, dtype=np.float64)
    teacher = np.random.default_rng(seed).standard_normal((d, 3))
    return X, np.argmax(X @ teacher, axis=1)


def same_results(X, dense, y, sizes=(40, 8, 3), **fit):
    """Train two networks of one seed, on X and on its dense twin, and compare
    weights, outputs, cost and gradient bit for bit."""
    nets = [fastnet.Network(list(sizes), seed=5) for _ in range(2)]
    histories = [net.fit(inputs, y, epochs=2, batch_size=7, **fit) for net, inputs in zip(nets, (X, dense))]
    assert histories[0]["training_cost"] == histories[1]["training_cost"]
    a, b = nets
    for u, v in zip(a.weights + a.biases, b.weights + b.biases):
        np.testing.assert_array_equal(u, v)
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(dense))
    np.testing.assert_array_equal(a.predict(X), b.predict(dense))
    assert a.evaluate(X, y) == b.evaluate(dense, y) and a.cost(X, y) == b.cost(dense, y)
    for u, v in zip(*(sum(net.gradient(inputs, y), []) for net, inputs in zip(nets, (X, dense)))):
        np.testing.assert_array_equal(u, v)


@pytest.mark.parametrize("kind", ["csr", "csc", "coo", "csr_array", "lil"])
def test_every_sparse_format_trains_as_its_dense_array(kind):
    X, y = problem()
    converted = sp.csr_array(X) if kind == "csr_array" else X.asformat(kind)
    same_results(converted, X.toarray(), y)


def test_unsorted_duplicate_and_explicit_zero_entries_and_int64_indices():
    X, y = problem()
    rows = np.repeat(np.arange(X.shape[0]), np.diff(X.indptr))
    # every entry split in two halves, listed in reverse order, plus explicit zeros
    data = np.concatenate([X.data / 2, X.data / 2, np.zeros(50)])
    extra_rows, extra_cols = np.arange(50) % X.shape[0], (np.arange(50) * 7) % X.shape[1]
    order = np.arange(data.size)[::-1]
    messy = sp.coo_matrix((data[order], (np.concatenate([rows, rows, extra_rows])[order],
                                         np.concatenate([X.indices] * 2 + [extra_cols])[order])),
                          shape=X.shape).tocsr(copy=False)
    messy = sp.csr_matrix((messy.data, messy.indices.astype(np.int64), messy.indptr.astype(np.int64)),
                          shape=X.shape)  # int64 index arrays, as scipy makes for huge matrices
    before = messy.copy()
    reference = X.toarray()
    np.testing.assert_allclose(messy.toarray(), reference)
    # halves summed: equal to the dense values up to one rounding, so compare with that
    same_results(messy, messy.toarray(), y)
    data = fastnet.Dataset(messy)
    assert data.csr[2].shape[0] == np.count_nonzero(messy.toarray())  # zeros dropped
    assert all(np.all(np.diff(data.indices[a:b]) > 0) for a, b in zip(data.indptr, data.indptr[1:]))
    np.testing.assert_array_equal(messy.data, before.data)  # the caller's matrix untouched
    np.testing.assert_array_equal(messy.indices, before.indices)


def test_a_dataset_of_a_sparse_matrix_is_the_dataset_of_its_array():
    X, y = problem(density=0.3)
    for layout in ("auto", "sparse", "dense"):
        a = fastnet.Dataset(X, y, layout=layout)
        b = fastnet.Dataset(X.toarray(), y, layout=layout)
        assert (a.layout, a.n, a.n_in, a.density) == (b.layout, b.n, b.n_in, b.density)
        np.testing.assert_array_equal(a.toarray(), b.toarray())
    assert fastnet.Dataset(X).layout == "sparse"
    dense_enough = sp.csr_matrix(np.where(X.toarray() == 0, 1.0, X.toarray()))
    assert fastnet.Dataset(dense_enough).layout == "dense"  # by density, as for arrays
    pixels = sp.csr_matrix((np.random.default_rng(1).random((30, 40)) > 0.8) * np.uint8(200))
    np.testing.assert_array_equal(fastnet.Dataset(pixels).toarray(),
                                  fastnet.Dataset(pixels.toarray()).toarray())
    net = fastnet.Network([40, 5, 3], seed=0)
    prepared = net.prepare(X, y)
    assert prepared.layout == "sparse"
    np.testing.assert_array_equal(net.predict(prepared), net.predict(X.toarray()))


def test_second_order_optimizers_and_curvature_take_sparse_inputs():
    X, y = problem()
    dense = X.toarray()
    for make in (lambda: fastnet.LBFGS(l2=0.1, iterations=5), lambda: fastnet.HessianFree(l2=0.1)):
        nets = [fastnet.Network([40, 6, 3], dtype="float64", seed=2) for _ in range(2)]
        for net, inputs in zip(nets, (X, dense)):
            net.fit(inputs, y, epochs=2, optimizer=make())
        np.testing.assert_allclose(nets[0].flat_parameters(), nets[1].flat_parameters(),
                                   rtol=1e-12, atol=1e-12)
    v = np.random.default_rng(0).standard_normal(nets[0].n_parameters)
    np.testing.assert_allclose(nets[0].hessian_vector(X, y, v), nets[0].hessian_vector(dense, y, v),
                               rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("bad, error, words", [
    (sp.csr_matrix(np.array([[0.0, np.nan, 1.0, 0, 0]] * 3)), ValueError, "X: contains NaN"),
    (sp.csr_matrix(np.array([[0.0, np.inf, 1.0, 0, 0]] * 3)), ValueError, "X: contains NaN"),
    (sp.csr_matrix(np.array([[1e300, 0, 0, 0, 0]] * 3)), ValueError, "too large for float32"),
    (sp.csr_matrix(np.ones((3, 4))), ValueError, r"expected shape \(n, 5\).*\(3, 4\)"),
    (sp.csr_matrix((0, 5)), ValueError, "X: is empty"),
    (sp.csr_matrix(np.ones((3, 5), dtype=np.int64)), TypeError, r"X.astype\('float32'\)"),
])
def test_bad_sparse_inputs_get_clear_errors(bad, error, words):
    net = fastnet.Network([5, 2], seed=0)
    with pytest.raises(error, match=words):
        net.fit(bad, np.zeros(bad.shape[0], dtype=int), epochs=1)
    with pytest.raises(error, match=words):
        net.predict(bad)


def test_sparse_inputs_are_never_made_dense():
    """2,000 x 20,000 at 0.5 % non-zero: dense, 160 MB of float32; CSR, 1.2 MB.
    Fit, predict, evaluate and gradient together must stay far below the dense size."""
    n, d = 2_000, 20_000
    X = sp.random(n, d, density=0.005, format="csr", random_state=0, dtype=np.float32)
    y = np.asarray(X[:, :50].sum(axis=1)).ravel() > np.median(np.asarray(X[:, :50].sum(axis=1)))
    y = y.astype(int)
    net = fastnet.Network([d, 8, 2], seed=0)
    for call in (net.fit, net.evaluate, net.gradient):  # compile outside the measurement
        call(X[:200], y[:200])
    net.predict_proba(X[:200])
    tracemalloc.start()
    try:
        net.fit(X, y, epochs=1, batch_size=50)
        net.predict_proba(X)
        net.evaluate(X, y)
        net.gradient(X, y)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    # the full-batch gradient sums CURVATURE_BLOCKS blocks, each into a vector of its own
    from fastnet.kernels.tunables import CURVATURE_BLOCKS
    gradients = (CURVATURE_BLOCKS + 2) * net.parameters.theta.nbytes
    assert peak < n * d * 4 / 20 + gradients, f"peak {peak / 1e6:.1f} MB"
