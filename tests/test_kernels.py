"""Every kernel against the float64 NumPy reference and ``scipy.special``.

Each kernel runs on float32 and float64 arrays, and the activations and costs
also on the extremes z = ±1000 and ±1e30 (warnings are errors in this suite,
so any RuntimeWarning fails the test).
"""
import os
import subprocess
import sys
from pathlib import Path

import numba
import numpy as np
import pytest
import scipy.sparse
import scipy.special

import fastnet
import reference as ref
from fastnet.kernels import activations as act
from fastnet.kernels import blas
from fastnet.kernels import costs as kc
from fastnet.kernels.dense import (bias_accumulate, dense_accumulate, dense_backward, dense_forward,
                                   sparse_accumulate, sparse_forward)
from fastnet.kernels.dropout import dropout_forward, stream_key
from fastnet.kernels.exponential import exp_nonpositive
from fastnet.kernels.lanes import LANES, padded
from fastnet.kernels.blas import gemm
from fastnet.kernels.blocked import block_accumulate, block_backward, block_forward
from fastnet.kernels.jit import kernel
from fastnet.kernels.layout import plan
from fastnet.kernels.threads import train_epoch_threads
from fastnet.kernels import csr, pack
from fastnet.kernels.csr import to_csr
from fastnet.kernels.train import (State, Step, buffers, cost_all, dense_inputs, epoch_parts,
                                   forward_all, gradient_all, sparse_inputs, train_epoch)
from fastnet.kernels.tunables import EVAL_CHUNK, FINITE_CHUNK, PARALLEL_ROWS, STEP_BAND_BYTES, TILE
from fastnet.kernels.update import all_finite, scale, sgd_update

DTYPES = [np.float32, np.float64]
RTOL = {np.float32: 2e-6, np.float64: 1e-13}
EXTREMES = [-1e30, -1000.0, -50.0, -1.0, -1e-8, 0.0, 1e-8, 1.0, 50.0, 1000.0, 1e30]
HIDDEN = {"sigmoid": act.SIGMOID, "tanh": act.TANH, "relu": act.RELU}
OUTPUT = {"sigmoid": act.SIGMOID, "softmax": act.SOFTMAX, "linear": act.LINEAR}
COST = {"quadratic": kc.QUADRATIC, "cross_entropy": kc.CROSS_ENTROPY,
        "log_likelihood": kc.LOG_LIKELIHOOD}
PAIRS = [("sigmoid", "quadratic"), ("softmax", "quadratic"), ("linear", "quadratic"),
         ("sigmoid", "cross_entropy"), ("softmax", "log_likelihood")]


def close(actual, expected, dtype, rtol=None, atol=0.0):
    np.testing.assert_allclose(np.asarray(actual, dtype=float), expected,
                               rtol=rtol or RTOL[dtype], atol=atol)


def extreme_rows(dtype):
    """Rows of output pre-activations, mild and extreme, (8, 3)."""
    return np.array([[0.3, -1.2, 2.0], [1000.0, -1000.0, 0.0], [-1000.0, -1000.0, -999.0],
                     [1e30, -1e30, 0.0], [-1e30, 1e30, 1e30], [1e30, 1e30, 1e30],
                     [-1e30, -1e30, -1e30], [5.0, 5.0, -5.0]], dtype=dtype)


# ------------------------------------------------------------ scalar activations
@pytest.mark.parametrize("dtype", DTYPES)
def test_sigmoid_matches_expit(dtype):
    for z in np.array(EXTREMES, dtype=dtype):
        close(act.sigmoid(z), scipy.special.expit(np.float64(z)), dtype)


def test_float32_sigmoid_is_correctly_rounded():
    """A float32 layer's sigmoid is the float64 one rounded once, for every
    float32 scale from 1e-38 to the largest, both signs, and zero."""
    rng = np.random.default_rng(3)
    z = np.concatenate([rng.standard_normal(200_000) * 8, rng.standard_normal(10_000) * 1e-3,
                        np.geomspace(1e-38, 3.4e38, 2_000), -np.geomspace(1e-38, 3.4e38, 2_000),
                        [0.0, -0.0, 88.7, -88.7, 103.9, -103.9]]).astype(np.float32)
    a = np.full_like(z, np.nan)
    with np.errstate(over="ignore"):
        expected = (1.0 / (1.0 + np.exp(-z.astype(np.float64)))).astype(np.float32)
    act.activation_forward(a, z, act.SIGMOID)
    np.testing.assert_array_equal(a, expected)


@pytest.mark.parametrize("dtype", DTYPES)
def test_softplus_matches_logaddexp(dtype):
    for z in np.array(EXTREMES, dtype=dtype):
        close(act.softplus(z), np.logaddexp(0.0, np.float64(z)), dtype)


# ------------------------------------------------------------- vector activations
@pytest.mark.parametrize("dtype", DTYPES)
def test_softmax_forward_matches_scipy(dtype):
    for z in extreme_rows(dtype):
        a = np.full_like(z, np.nan)
        act.softmax_forward(a, z)
        close(a, scipy.special.softmax(z.astype(float)), dtype, atol=1e-300)
        assert abs(a.sum() - 1.0) < 10 * np.finfo(dtype).eps


@pytest.mark.parametrize("dtype", DTYPES)
def test_log_sum_exp_matches_scipy(dtype):
    for z in extreme_rows(dtype):
        close(act.log_sum_exp(z), scipy.special.logsumexp(z.astype(float)), dtype)
    close(act.log_sum_exp(np.array([2.5], dtype=dtype)), 2.5, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_log_softmax_matches_scipy(dtype):
    for z in extreme_rows(dtype):
        out = np.full_like(z, np.nan)
        act.log_softmax(out, z)
        expected = scipy.special.log_softmax(z.astype(float))
        # Entries ~1e30 carry float rounding of 1e30 itself; compare on that scale.
        close(out, expected, dtype, atol=RTOL[dtype] * np.abs(z).max(initial=1.0))
        assert np.isfinite(out).all()


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", ["sigmoid", "tanh", "relu", "linear", "softmax"])
def test_activation_forward_matches_reference(name, dtype):
    code = {**HIDDEN, **OUTPUT}[name]
    for z in [np.array(EXTREMES, dtype=dtype)] + list(extreme_rows(dtype)):
        a = np.full_like(z, np.nan)
        act.activation_forward(a, z, code)
        expected = ref.activate(name, z.astype(float)[None])[0]
        close(a, expected, dtype, atol=1e-300)
    z = np.array([-2.0, 0.5, 3.0], dtype=dtype)
    if name in ("sigmoid", "softmax"):
        a = np.empty_like(z)
        act.activation_forward(a, z, code)
        special = scipy.special.expit if name == "sigmoid" else scipy.special.softmax
        close(a, special(z.astype(float)), dtype)


@kernel
def exp_each(out, x):
    """out (n,) = exp_nonpositive of each x (n,) float64."""
    for j in range(x.shape[0]):
        out[j] = exp_nonpositive(x[j])


def test_exp_nonpositive_matches_numpy_to_1e13():
    rng = np.random.default_rng(5)
    x = -np.concatenate([np.linspace(0.0, 700.0, 700_001), rng.random(100_000) * 1e-6,
                         np.log(2.0) * np.arange(-1000, 1) * 0.5, [0.0, 5e-324, 1e-300]])
    out = np.empty_like(x)
    exp_each(out, x)
    np.testing.assert_allclose(out, np.exp(x), rtol=1e-13, atol=0.0)
    beyond = np.array([-700.0, -701.0, -1e4, -1e308])
    exp_each(out[:4], beyond)
    assert (out[:4] == out[0]).all()  # clamped to exp(−700): finite, no warning
    np.testing.assert_allclose(out[0], np.exp(-700.0), rtol=1e-13)


def test_float32_tanh_is_correctly_rounded():
    """The float32 tanh (float64 arithmetic, rounded once) equals float64 tanh
    rounded to float32 everywhere, across the series' threshold and the
    extremes; float64 layers keep the C library's tanh, within an ulp or two."""
    rng = np.random.default_rng(6)
    edge = act.SMALL_TANH
    z = np.concatenate([np.linspace(-20.0, 20.0, 400_001), rng.standard_normal(200_000) * 1e-2,
                        np.linspace(edge * 0.9, edge * 1.1, 10_001), -np.geomspace(1e-38, 1e38, 10_001),
                        np.geomspace(1e-38, 1e38, 10_001), [0.0, -0.0, 3.4e38, -3.4e38]])
    z32 = z.astype(np.float32)
    a = np.full_like(z32, np.nan)
    act.activation_forward(a, z32, act.TANH)
    np.testing.assert_array_equal(a, np.tanh(z32.astype(np.float64)).astype(np.float32))
    assert np.signbit(a[-3]) and not np.signbit(a[-4])  # tanh(−0) = −0
    z64 = z32.astype(np.float64)
    a64 = np.empty_like(z64)
    act.activation_forward(a64, z64, act.TANH)
    np.testing.assert_allclose(a64, np.tanh(z64), rtol=1e-15, atol=0.0)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", ["sigmoid", "tanh", "relu"])
def test_activation_backward_multiplies_by_the_derivative(name, dtype):
    z = np.array([z for z in EXTREMES if z != 0.0], dtype=dtype)  # ReLU has no f'(0)
    a = np.empty_like(z)
    act.activation_forward(a, z, HIDDEN[name])
    upstream = np.linspace(-2.0, 3.0, len(z)).astype(dtype)
    delta = upstream.copy()
    act.activation_backward(delta, a, HIDDEN[name])
    expected = upstream.astype(float) * ref.derivative(name, z.astype(float))
    # σ'(z) from a stored σ(z) is exact only up to the rounding of a.
    close(delta, expected, dtype, rtol=10 * RTOL[dtype], atol=np.finfo(dtype).eps)


# ------------------------------------------------------------------------ costs
def cost_case(output, dtype, rng, rows=None):
    """(A, Z, Y) for an output layer: Z (n, 3), A = f(Z), Y one-hot (n, 3)."""
    Z = rng.standard_normal((6, 3)).astype(dtype) if rows is None else rows
    A = np.empty_like(Z)
    for a, z in zip(A, Z):
        act.activation_forward(a, z, OUTPUT[output])
    Y = ref.one_hot(np.arange(len(Z)) % 3, 3).astype(dtype)
    return A, Z, Y


def reference_for(function, output, cost, Z, Y):
    """ref.costs or ref.output_delta in float64 for the same pre-activations."""
    Z = Z.astype(float)
    return function(output, cost, Z, ref.activate(output, Z), Y.astype(float))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("output,cost", PAIRS)
def test_sample_cost_and_output_costs_match_reference(output, cost, dtype):
    A, Z, Y = cost_case(output, dtype, np.random.default_rng(0))
    expected = reference_for(ref.costs, output, cost, Z, Y)
    costs = np.full(len(Z), np.nan)
    kc.output_costs(costs, A, Z, Y, OUTPUT[output], COST[cost])
    close(costs, expected, dtype, rtol=10 * RTOL[dtype])
    for s in range(len(Z)):
        close(kc.sample_cost(A[s], Z[s], Y[s], OUTPUT[output], COST[cost]), expected[s],
              dtype, rtol=10 * RTOL[dtype])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("output,cost", PAIRS)
def test_output_delta_matches_chain_rule(output, cost, dtype):
    A, Z, Y = cost_case(output, dtype, np.random.default_rng(1))
    expected = reference_for(ref.output_delta, output, cost, Z, Y)
    for s in range(len(Z)):
        delta = np.full_like(A[s], np.nan)
        kc.output_delta(delta, A[s], Y[s], OUTPUT[output], COST[cost])
        close(delta, expected[s], dtype, rtol=10 * RTOL[dtype], atol=10 * np.finfo(dtype).eps)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("output,cost", PAIRS)
def test_costs_and_deltas_at_extreme_pre_activations(output, cost, dtype):
    A, Z, Y = cost_case(output, dtype, None, rows=extreme_rows(dtype))
    costs = np.full(len(Z), np.nan)
    kc.output_costs(costs, A, Z, Y, OUTPUT[output], COST[cost])
    assert np.isfinite(costs).all(), costs
    assert (costs >= 0).all()
    expected = reference_for(ref.costs, output, cost, Z, Y)
    # log-sum-exp of z ~ 1e30 is 1e30 + log(k): the log(k) is below its rounding.
    scale = np.abs(Z.astype(float)).max() if cost == "log_likelihood" else 0.0
    close(costs, expected, dtype, rtol=10 * RTOL[dtype],
          atol=1e-6 + 4 * np.finfo(dtype).eps * scale)
    for s in range(len(Z)):
        delta = np.full_like(A[s], np.nan)
        kc.output_delta(delta, A[s], Y[s], OUTPUT[output], COST[cost])
        assert np.isfinite(delta).all(), (Z[s], delta)
        if output != "linear":
            assert (np.abs(delta) <= 1.0).all()


# ------------------------------------------------------------------------ dense
# The dense kernels take one layer's weights flat, row-major (n_in, width), and
# z, b, delta of ``width`` = n_out padded to whole vectors (kernels/layout.py);
# the padding holds zeros and must still hold zeros afterwards.
def dense_case(dtype, rng, n_out, n_in=11, nonzero=7):
    width = padded(n_out)
    a = np.zeros(n_in, dtype=dtype)
    a[rng.permutation(n_in)[:nonzero]] = rng.standard_normal(nonzero)  # zeros are skipped
    W = np.zeros((n_in, width), dtype=dtype)
    W[:, :n_out] = rng.standard_normal((n_in, n_out))
    b = np.zeros(width, dtype=dtype)
    b[:n_out] = rng.standard_normal(n_out)
    return a, W, b


def assert_padding_zero(x, n_out):
    assert not np.asarray(x).reshape(-1, padded(n_out))[:, n_out:].any()


# Widths that take every path of the sparse kernels at 8 and 16 lanes: the
# last 1, 2 or 3 vectors after four-vector tiles or without them, and rows
# wider than dense.TILED_WIDTH.
SPARSE_WIDTHS = [5, 11, 20, 40, 50, 90, 100, 300]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n_out", SPARSE_WIDTHS)
@pytest.mark.parametrize("nonzero", [0, 1, 4, 7, 9])  # sparse_forward takes inputs 4 at a time
@pytest.mark.parametrize("columns", [np.uint16, np.int32])  # csr.index_dtype's two
def test_dense_and_sparse_forward(dtype, n_out, nonzero, columns):
    a, W, b = dense_case(dtype, np.random.default_rng(2), n_out, nonzero=nonzero)
    expected = (a.astype(float) @ W.astype(float) + b)[:n_out]
    z = np.full(len(b), np.nan, dtype=dtype)
    dense_forward(z, a, W.ravel(), b)
    close(z[:n_out], expected, dtype, rtol=10 * RTOL[dtype], atol=np.finfo(dtype).eps)
    assert_padding_zero(z, n_out)
    indices = np.flatnonzero(a).astype(columns)
    z = np.full(len(b), np.nan, dtype=dtype)
    sparse_forward(z, indices, a[indices], W.ravel(), b)
    close(z[:n_out], expected, dtype, rtol=10 * RTOL[dtype], atol=np.finfo(dtype).eps)
    assert_padding_zero(z, n_out)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n_out", [5, 11])
def test_dense_backward(dtype, n_out):
    _, W, delta = dense_case(dtype, np.random.default_rng(3), n_out)
    delta_in = np.full(W.shape[0], np.nan, dtype=dtype)
    dense_backward(delta_in, W.ravel(), delta)
    close(delta_in, W.astype(float) @ delta.astype(float), dtype, rtol=10 * RTOL[dtype])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n_out", SPARSE_WIDTHS)
@pytest.mark.parametrize("columns", [np.uint16, np.int32])
def test_dense_and_sparse_accumulate_add_the_outer_product(dtype, n_out, columns):
    rng = np.random.default_rng(4)
    a, W, delta = dense_case(dtype, rng, n_out)
    bias = dense_case(dtype, rng, n_out)[2]
    alpha = -0.3
    expected_W = W.astype(float) + alpha * np.outer(a, delta)
    expected_b = bias.astype(float) + alpha * delta
    indices = np.flatnonzero(a).astype(columns)
    for accumulate, inputs in ((dense_accumulate, (a,)),
                               (sparse_accumulate, (indices, a[indices]))):
        TW, Tb = W.ravel().copy(), bias.copy()
        accumulate(TW, *inputs, delta, alpha)
        bias_accumulate(Tb, delta, alpha)
        close(TW, expected_W.ravel(), dtype, rtol=10 * RTOL[dtype],
              atol=10 * np.finfo(dtype).eps)
        close(Tb, expected_b, dtype, rtol=10 * RTOL[dtype])
        assert_padding_zero(TW, n_out)
        assert_padding_zero(Tb, n_out)


# ----------------------------------------------------------------------- update
UPDATES = {"plain": {}, "momentum": dict(momentum=0.9),
           "nesterov": dict(momentum=0.9, nesterov=True),
           "l2": dict(l2_rate=0.05), "l1": dict(l1_rate=0.02),
           "all": dict(momentum=0.5, nesterov=True, l2_rate=0.05, l1_rate=0.02)}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", list(UPDATES))
def test_sgd_update_matches_reference(case, dtype):
    rng = np.random.default_rng(5)
    options = dict(dict(momentum=0.0, nesterov=False, l2_rate=0.0, l1_rate=0.0), **UPDATES[case])
    p, n_weights, eta = 12, 8, 0.3
    theta = rng.standard_normal(p).astype(dtype)
    theta[[2, 9]] = 0.0  # sign(0) = 0: L1 leaves a zero weight to the gradient
    velocity = rng.standard_normal(p).astype(dtype)
    grad = rng.standard_normal(p).astype(dtype)
    mask = np.arange(p) < n_weights
    expected_theta, expected_v = ref.sgd_update(theta.astype(float), velocity.astype(float),
                                                grad.astype(float), mask, eta, **options)
    sgd_update(theta, velocity, grad, n_weights, eta, options["momentum"], options["nesterov"],
               options["l2_rate"], options["l1_rate"])
    close(theta, expected_theta, dtype, rtol=10 * RTOL[dtype], atol=10 * np.finfo(dtype).eps)
    close(velocity, expected_v, dtype, rtol=10 * RTOL[dtype], atol=10 * np.finfo(dtype).eps)
    assert not grad.any()  # consumed, ready for the next batch


@pytest.mark.parametrize("dtype", DTYPES)
def test_scale_and_all_finite(dtype):
    x = np.arange(5, dtype=dtype)
    scale(x, 0.5)
    close(x, np.arange(5) * 0.5, dtype)
    assert all_finite(x)
    for bad in (np.nan, np.inf, -np.inf):
        y = x.copy()
        y[3] = bad
        assert not all_finite(y)
    assert all_finite(x[:0])
    long = np.ones(3 * FINITE_CHUNK + 5, dtype=dtype)  # several chunks and a short one
    assert all_finite(long)
    for where in (0, FINITE_CHUNK - 1, FINITE_CHUNK, 2 * FINITE_CHUNK + 7, len(long) - 1):
        y = long.copy()
        y[where] = np.nan
        assert not all_finite(y)


# ---------------------------------------------------------------------- dropout
def key_of(seed, epoch):
    """stream_key as the compiled loop sees it (from Python it comes back an int)."""
    return np.uint64(stream_key(seed, epoch))


def masks(n, key, counter=0, keep=0.7, dtype=np.float64):
    a = np.linspace(0.5, 1.5, n).astype(dtype)
    dropped, mask = np.full_like(a, np.nan), np.full_like(a, np.nan)
    dropout_forward(dropped, mask, a, key, counter, keep)
    return a, dropped, mask


@pytest.mark.parametrize("dtype", DTYPES)
def test_dropout_forward_drops_a_fraction_p_and_scales_the_rest(dtype):
    keep, n = 0.7, 200_000
    a, dropped, mask = masks(n, key_of(1, 0), keep=keep, dtype=dtype)
    assert set(np.unique(mask)) == {dtype(0.0), dtype(1 / keep)}
    np.testing.assert_array_equal(dropped, a * mask)
    # Binomial standard deviation of the dropped fraction: 0.001.
    assert abs((mask == 0).mean() - (1 - keep)) < 0.006
    # Inverted dropout keeps the expected activation.
    assert abs(dropped.astype(float).mean() / a.astype(float).mean() - 1.0) < 0.02


def test_dropout_masks_are_a_function_of_key_and_counter():
    key = key_of(7, 3)
    _, _, first = masks(1000, key)
    _, _, again = masks(1000, key)
    np.testing.assert_array_equal(first, again)
    _, _, from_int = masks(1000, stream_key(7, 3))  # a Python int key gives the same masks
    np.testing.assert_array_equal(from_int, first)
    _, _, tail = masks(400, key, counter=600)
    np.testing.assert_array_equal(tail, first[600:])  # counter numbers the first unit
    for other in (key_of(8, 3), key_of(7, 4)):
        _, _, different = masks(1000, other)
        assert (different != first).mean() > 0.2
    keys = {int(stream_key(seed, epoch)) for seed in range(5) for epoch in range(5)}
    assert len(keys) == 25


# ------------------------------------------------------------------- train.py
@pytest.mark.parametrize("dtype", DTYPES)
def test_to_csr_round_trip(dtype):
    rng = np.random.default_rng(6)
    X = rng.standard_normal((6, 9)) * (rng.random((6, 9)) < 0.4)
    X[2] = 0.0  # an empty row
    X[4] = 1.0  # a full row
    X = (X * 10).astype(dtype)
    indptr, indices, values = to_csr(X)
    assert indptr.dtype == np.int64 and indices.dtype == np.uint16 and values.dtype == X.dtype
    assert indptr[-1] == np.count_nonzero(X) == len(values) == len(indices)
    back = scipy.sparse.csr_matrix((values, indices, indptr), shape=X.shape).toarray()
    np.testing.assert_array_equal(back, X)
    assert all(np.all(np.diff(indices[lo:hi]) > 0) for lo, hi in zip(indptr[:-1], indptr[1:]))
    empty = to_csr(np.zeros((3, 4), dtype=X.dtype))
    np.testing.assert_array_equal(empty[0], np.zeros(4))
    assert len(empty[1]) == len(empty[2]) == 0


needs_avx2 = pytest.mark.skipif(not pack.available(), reason="the packed fill needs AVX2")
FILLS = [pytest.param(True, marks=needs_avx2, id="packed"), pytest.param(False, id="scalar")]


def last_band_first(call, n, threads=None):
    """``bands.in_bands`` with three bands run one after the other, the last
    first: a band's writes past its own places would stay in the result."""
    bounds = [n * t // 3 for t in range(4)]
    for t in (2, 1, 0):
        call(bounds[t], bounds[t + 1])


@pytest.mark.parametrize("packed", FILLS)
@pytest.mark.parametrize("bands", ["one thread", "two threads", "last band first"])
@pytest.mark.parametrize("pixels", [False, True])
def test_to_csr_in_bands_equals_scipy(bands, pixels, packed, monkeypatch):
    """Bands of rows converted at once: rows with no non-zero around every band
    boundary and at the end, so a band's last writes would reach the next one's;
    300 columns, so each float32 row ends with 300 mod 8 values packed one by one."""
    monkeypatch.setattr(csr, "PACKED", packed)
    if bands == "last band first":
        monkeypatch.setattr(csr, "in_bands", last_band_first)
    rng = np.random.default_rng(7)
    n = 3 * PARALLEL_ROWS + 3
    X = (rng.random((n, 300)) < 0.3) * rng.integers(1, 256, (n, 300))
    for boundary in (n // 3, n // 2, 2 * n // 3):
        X[boundary - 5:boundary + 5] = 0
        X[boundary - 6, -4:] = 0
    X[-3:] = 0
    X = X.astype(np.uint8 if pixels else np.float32)
    previous = numba.get_num_threads()
    numba.set_num_threads(min(2 if bands == "two threads" else 1,
                              numba.config.NUMBA_NUM_THREADS))
    try:
        indptr, indices, values = to_csr(X, np.float32, 255 if pixels else 1)
    finally:
        numba.set_num_threads(previous)
    expected = scipy.sparse.csr_matrix(X.astype(np.float32) / np.float32(255 if pixels else 1))
    np.testing.assert_array_equal(indptr, expected.indptr)
    np.testing.assert_array_equal(indices, expected.indices)
    np.testing.assert_array_equal(values, expected.data)


@needs_avx2
@pytest.mark.parametrize("columns", [np.uint16, np.int32])
def test_pack_nonzeros_every_mask(columns):
    """Each of the 256 patterns of zeros in a block: its non-zeros first, in order,
    with their columns; NaN and infinities count as non-zeros, −0.0 as zero."""
    order = pack.pack_table()
    base = 65000 if columns == np.uint16 else 70000  # the top of uint16; past it

    @kernel
    def pack_all(blocks, indices, values, counts):
        for m in range(counts.shape[0]):
            counts[m] = pack.pack_nonzeros(indices, values, m * pack.PACK, blocks,
                                           m * pack.PACK, base + m, order)

    nonzero = np.array([[mask >> b & 1 for b in range(pack.PACK)] for mask in range(256)], bool)
    specials = np.array([1.5, np.nan, np.inf, -np.inf, -2.0, 1e-45, 3.0, 7.0], np.float32)
    blocks = np.where(nonzero, specials, np.float32(-0.0)).astype(np.float32)
    indices = np.full(256 * pack.PACK + pack.PACK, 7, columns)
    values = np.full(256 * pack.PACK + pack.PACK, 99, np.float32)
    counts = np.zeros(256, np.int64)
    pack_all(blocks.reshape(-1), indices, values, counts)
    for mask in range(256):
        where = np.flatnonzero(nonzero[mask])
        got = slice(mask * pack.PACK, mask * pack.PACK + len(where))
        assert counts[mask] == len(where)
        np.testing.assert_array_equal(indices[got], base + mask + where)
        np.testing.assert_array_equal(values[got], specials[where])


@pytest.mark.parametrize("packed", FILLS)
@pytest.mark.parametrize("width", [1, 7, 8, 9, 16, 23])
def test_to_csr_any_width_and_special_values(width, packed, monkeypatch):
    """Rows narrower than a block, whole blocks and tails; NaN, ±inf and
    subnormals kept, −0.0 dropped (as scipy, which keeps what != 0)."""
    monkeypatch.setattr(csr, "PACKED", packed)
    rng = np.random.default_rng(width)
    X = (rng.standard_normal((50, width)) * (rng.random((50, width)) < 0.4)).astype(np.float32)
    for value in (np.nan, np.inf, -np.inf, 1e-45, -0.0):
        X[rng.random((50, width)) < 0.03] = value
    X[20:23] = 0.0
    indptr, indices, values = to_csr(X)
    expected = scipy.sparse.csr_matrix(np.where(np.isnan(X), np.float32(5), X))
    np.testing.assert_array_equal(indptr, expected.indptr)
    np.testing.assert_array_equal(indices, expected.indices)
    np.testing.assert_array_equal(np.isnan(values), np.isnan(X[X != 0]))
    np.testing.assert_array_equal(np.where(np.isnan(values), np.float32(5), values), expected.data)


class Problem:
    """A small network in kernel form: the flat parameters and layer table of
    a ``Network`` (padding included), and inputs in CSR form."""

    def __init__(self, dtype, hidden=("tanh", "sigmoid"), output="softmax", cost="log_likelihood",
                 sizes=(6, 5, 4, 3), n=20, seed=0):
        rng = np.random.default_rng(seed)
        self.hidden, self.output, self.cost = list(hidden), output, cost
        self.net = fastnet.Network(list(sizes), activation=self.hidden, output=output,
                                   cost=cost, dtype=dtype, seed=seed)
        self.theta, self.layers = self.net.parameters.theta.copy(), self.net.parameters.layers
        X = rng.random((n, sizes[0])) * (rng.random((n, sizes[0])) < 0.6)
        self.X = X.astype(dtype)
        self.Y = ref.one_hot(np.arange(n) % sizes[-1], sizes[-1]).astype(dtype)
        self.csr = to_csr(self.X)

    def unpadded(self, theta):
        """The weights and biases of a flat vector, as the reference's flat vector."""
        return ref.flatten(*self.net.parameters.split(theta))[0]

    def assert_padding_zero(self, theta):
        real = np.zeros_like(theta)
        for view in sum(self.net.parameters.split(real), []):
            view[...] = 1
        assert not theta[real == 0].any()

    def reference(self):
        W, b = self.net.parameters.split(self.theta)
        return ([w.astype(float) for w in W], [x.astype(float) for x in b],
                self.hidden, self.output, self.cost)

    def inputs(self, layout, Y=None):
        """The kernels' Inputs record, CSR or dense."""
        Y = self.Y if Y is None else Y
        return sparse_inputs(*self.csr, Y) if layout == "sparse" else dense_inputs(self.X, Y)


ENGINES = [("sparse", "per_sample"), ("dense", "per_sample"), ("sparse", "gemm"),
           ("dense", "gemm"), ("sparse", "blocked"), ("dense", "blocked")]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("layout,engine", ENGINES)
def test_forward_all_and_gradient_sum_match_reference(dtype, layout, engine):
    # More samples than one evaluation chunk (256), so chunking is exercised.
    p = Problem(dtype, n=600)
    layers = plan(p.layers, EVAL_CHUNK, layout == "dense", engine)
    A = np.full((600, 3), np.nan, dtype=dtype)
    Z = np.full_like(A, np.nan)
    forward_all(A, Z, p.theta, layers, p.inputs(layout), threads=2 if engine == "gemm" else 1)
    Zs, As = ref.forward(*p.reference()[:4], p.X)
    close(Z, Zs[-1], dtype, rtol=100 * RTOL[dtype], atol=100 * np.finfo(dtype).eps)
    close(A, As[-1], dtype, rtol=100 * RTOL[dtype], atol=100 * np.finfo(dtype).eps)
    grad = np.full_like(p.theta, np.nan)
    cost = gradient_all(grad, p.theta, layers, p.inputs(layout), OUTPUT[p.output], COST[p.cost],
                        threads=2 if engine == "gemm" else 1)
    expected = ref.flatten(*ref.gradient(*p.reference(), p.X, p.Y.astype(float)))[0]
    close(p.unpadded(grad), expected, dtype, rtol=100 * RTOL[dtype],
          atol=100 * np.finfo(dtype).eps)
    p.assert_padding_zero(grad)
    assert cost == pytest.approx(ref.mean_cost(*p.reference(), p.X, p.Y.astype(float)),
                                 rel=100 * RTOL[dtype])
    assert cost_all(p.theta, layers, p.inputs(layout), OUTPUT[p.output], COST[p.cost]) == cost


@pytest.mark.parametrize("layout", ["sparse", "dense"])
def test_gradient_all_does_not_depend_on_the_threads(layout):
    """The full-batch gradient sums fixed blocks of samples, each on one thread,
    in block order: the same gradient and cost, bit for bit, on 1, 2 and 3
    threads."""
    p = Problem("float32", n=700)
    layers = plan(p.layers, EVAL_CHUNK, layout == "dense", "auto")
    results = []
    for threads in (1, 2, 3):
        grad = np.full_like(p.theta, np.nan)
        cost = gradient_all(grad, p.theta, layers, p.inputs(layout), OUTPUT[p.output],
                            COST[p.cost], threads=threads)
        results.append((grad, cost))
    for grad, cost in results[1:]:
        np.testing.assert_array_equal(grad, results[0][0])
        assert cost == results[0][1]


@pytest.mark.parametrize("layout", ["sparse", "dense"])
def test_forward_all_does_not_depend_on_the_bands(layout):
    """Bands of samples, one per thread, chunks cut at every band's start: the
    same outputs, bit for bit, for 1, 2 and 3 bands."""
    p = Problem("float32", n=700)
    layers = plan(p.layers, EVAL_CHUNK, layout == "dense", "auto")
    outputs = []
    for threads in (1, 2, 3):
        A, Z = np.full((700, 3), np.nan, np.float32), np.full((700, 3), np.nan, np.float32)
        forward_all(A, Z, p.theta, layers, p.inputs(layout), threads=threads)
        outputs.append((A, Z))
    for A, Z in outputs[1:]:
        np.testing.assert_array_equal(A, outputs[0][0])
        np.testing.assert_array_equal(Z, outputs[0][1])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", ["plain", "momentum", "nesterov", "l2", "l1", "all"])
@pytest.mark.parametrize("layout,engine,threads", [e + (1,) for e in ENGINES] + [
    ("sparse", "per_sample", 2), ("dense", "gemm", 3), ("sparse", "per_sample", 3)])
def test_train_epoch_matches_reference_mini_batches(case, dtype, layout, engine, threads):
    """One compiled epoch over a given order, batch 3 of 20 samples (the last
    batch has 2), against the reference's mini-batch loop."""
    options = dict(dict(momentum=0.0, nesterov=False, l2=0.0, l1=0.0),
                   **{"plain": {}, "momentum": dict(momentum=0.8),
                      "nesterov": dict(momentum=0.8, nesterov=True), "l2": dict(l2=4.0),
                      "l1": dict(l1=3.0),
                      "all": dict(momentum=0.5, nesterov=True, l2=4.0, l1=3.0)}[case])
    p = Problem(dtype, hidden=("relu", "tanh"), output="sigmoid", cost="cross_entropy")
    n, batch, eta = len(p.X), 3, 0.7
    order = np.random.default_rng(9).permutation(n)
    batches = [(p.X[order[s:s + batch]].astype(float), p.Y[order[s:s + batch]].astype(float))
               for s in range(0, n, batch)]
    W, b = ref.train(*p.reference(), batches, n, eta, **options)
    expected = ref.flatten(W, b)[0]
    layers = plan(p.layers, batch, layout == "dense", engine, threads)
    theta, velocity, grad = p.theta.copy(), np.zeros_like(p.theta), np.zeros_like(p.theta)
    as_dtype = np.dtype(dtype).type
    state = State(theta, velocity, grad, np.ones(1))  # the lazy L2 decay is folded in at the end
    step = Step(batch, as_dtype(eta), as_dtype(options["momentum"]), options["nesterov"],
                as_dtype(options["l2"] / n), as_dtype(options["l1"] / n), 1.0, 0, 0,
                OUTPUT[p.output], COST[p.cost], True)
    n_in = p.layers[0, 0]
    splits = np.arange(threads + 1, dtype=np.int64) * n_in // threads  # the weights' rows
    work = buffers(layers, batch, dtype, row_splits=splits if layout == "sparse" else None)
    if threads == 1:
        train_epoch(state, work, layers, p.inputs(layout), order, 0, step,
                    *epoch_parts(layers, step))
    else:
        train_epoch_threads(state, work, layers, p.inputs(layout), order, 0, step, threads)
    assert state.weight_scale[0] == 1.0
    close(p.unpadded(theta), expected, dtype, rtol=100 * RTOL[dtype],
          atol=100 * np.finfo(dtype).eps)
    assert not np.allclose(theta, p.theta)
    p.assert_padding_zero(theta)


# ------------------------------------------------------------------- blas.py
@kernel
def _gemm(C, ldc, A, lda, trans_a, B, ldb, trans_b, m, n, k, alpha, beta):
    return gemm(C, ldc, A, lda, trans_a, B, ldb, trans_b, m, n, k, alpha, beta)


def check_gemm(gemm_kernel, dtype, trans_a, trans_b):
    """C (5, 4) inside a (5, 6) array = 2·op(A)·op(B) + 0.5·C, with A and B
    embedded in wider arrays (row strides 9 and 11); the rest stays as it was."""
    rng = np.random.default_rng(3)
    m, n, k = 5, 4, 7
    A = rng.standard_normal((k, 9) if trans_a else (m, 9)).astype(dtype)
    B = rng.standard_normal((n, 11) if trans_b else (k, 11)).astype(dtype)
    C = rng.standard_normal((m, 6)).astype(dtype)
    opA = (A[:, :m].T if trans_a else A[:, :k]).astype(float)
    opB = (B[:, :k].T if trans_b else B[:, :n]).astype(float)
    expected = C.astype(float)
    expected[:, :n] = 2.0 * opA @ opB + 0.5 * expected[:, :n]
    gemm_kernel(C.reshape(-1), 6, A.reshape(-1), 9, trans_a, B.reshape(-1), 11, trans_b,
                m, n, k, 2.0, 0.5)
    close(C, expected, dtype, rtol=10 * RTOL[dtype], atol=10 * np.finfo(dtype).eps)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("trans_a", [False, True])
@pytest.mark.parametrize("trans_b", [False, True])
def test_gemm_on_embedded_matrices_matches_reference(dtype, trans_a, trans_b):
    check_gemm(_gemm, dtype, trans_a, trans_b)


GEMM_IN_A_FRESH_PROCESS = """
import itertools, numba, numpy as np
from fastnet.kernels import blas
from test_kernels import check_gemm
gemm = numba.njit(lambda *args: blas.gemm(*args))
for case in itertools.product([np.float32, np.float64], [False, True], [False, True]):
    check_gemm(gemm, *case)
print(blas.BLAS)
"""


@pytest.mark.parametrize("choice", ["numpy", "scipy"])
def test_gemm_on_either_blas(choice):
    """FASTNET_BLAS picks the library the compiled products call (NumPy's
    OpenBLAS where this NumPy ships one, else SciPy's); both give the product."""
    found = blas.numpy_cblas() is not None
    result = subprocess.run([sys.executable, "-c", GEMM_IN_A_FRESH_PROCESS], capture_output=True,
                            text=True, env={**os.environ, "FASTNET_BLAS": choice,
                                            "PYTHONPATH": str(Path(__file__).parent)})
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[-1] == (choice if found or choice == "scipy" else "scipy")


def test_unknown_blas_is_refused_by_name():
    with pytest.raises(ValueError, match="FASTNET_BLAS: 'mkl' is not a BLAS fastnet knows"):
        blas.bind("mkl")


# ---------------------------------------------------------------- blocked.py
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("m", [1, 4, 7])
def test_blocked_products_match_reference(dtype, m):
    """The three products on embedded matrices (row strides 13 and 11), with
    k = 10 (not a multiple of 4) and zero inputs that are skipped."""
    rng = np.random.default_rng(m)
    k, width, ld, ldd = 10, 16, 13, 19
    A = rng.standard_normal((m, ld)).astype(dtype)
    A[:, 3] = 0.0
    A[0, :8] = 0.0
    B = rng.standard_normal((k, width)).astype(dtype)
    C = np.full((m, ld + 5), 7.0, dtype=dtype)
    block_forward(C.reshape(-1), ld + 5, A.reshape(-1), ld, B.reshape(-1), width, m, k, 0.5)
    expected = np.full(C.shape, 7.0)
    expected[:, :width] = 0.5 * A[:, :k].astype(float) @ B.astype(float)
    close(C, expected, dtype, rtol=10 * RTOL[dtype], atol=10 * np.finfo(dtype).eps)
    D = rng.standard_normal((m, ldd)).astype(dtype)
    G = rng.standard_normal((k, width)).astype(dtype)
    expected = G.astype(float) - 0.3 * A[:, :k].astype(float).T @ D[:, :width].astype(float)
    block_accumulate(G.reshape(-1), width, A.reshape(-1), ld, D.reshape(-1), ldd, m, k,
                     dtype(-0.3))
    close(G, expected, dtype, rtol=10 * RTOL[dtype], atol=10 * np.finfo(dtype).eps)
    out = np.full((m, ld), 7.0, dtype=dtype)
    block_backward(out.reshape(-1), ld, D.reshape(-1), ldd, B.reshape(-1), width, m, k, 2.0)
    expected = np.full(out.shape, 7.0)
    expected[:, :k] = 2.0 * D[:, :width].astype(float) @ B.astype(float).T
    close(out, expected, dtype, rtol=10 * RTOL[dtype], atol=10 * np.finfo(dtype).eps)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("width,rows", [(100, (0, 784)), (100, (150, 700)), (20, (0, 784))])
def test_sparse_step_in_bands_gives_the_weights_of_one_band(dtype, width, rows):
    """The first layer's step band by band of W's rows (3 or 6 bands for width
    100, one or 2 for width 20) gives every weight the same additions in the
    same order as sample after sample over the whole rows: the same weights."""
    from fastnet.kernels.layout import n_parameters, n_units
    from fastnet.kernels.sparse_step import band_rows, sparse_step
    rng = np.random.default_rng(width)
    X = (rng.random((12, 784)) < 0.2) * rng.random((12, 784))
    data = sparse_inputs(*to_csr(X.astype(dtype)), np.zeros((12, 10), dtype=dtype))
    layers = fastnet.Network([784, width, 10], dtype=dtype).parameters.layers
    D = rng.standard_normal(10 * n_units(layers)).astype(dtype)
    theta = rng.standard_normal(n_parameters(layers)).astype(dtype)
    W = theta[:784 * layers[0, 2]]  # the first layer's weights (784, padded width)
    banded, one_band = W.copy(), W.copy()
    batch = np.array([3, 0, 11, 7, 5, 2, 9, 1, 4, 8], dtype=np.int64)
    sparse_step(banded, D, layers, data, batch, rows[0], rows[1], dtype(-0.1), 1.0, True)
    sparse_step(one_band, D, layers, data, batch, rows[0], rows[1], dtype(-0.1), 1.0, False)
    weight_bytes = 784 * layers[0, 2] * np.dtype(dtype).itemsize
    assert (band_rows(layers, np.dtype(dtype).itemsize) < 784) == (weight_bytes > STEP_BAND_BYTES)
    np.testing.assert_array_equal(banded, one_band)
    changed = np.zeros(784, dtype=bool)
    changed[rows[0]:rows[1]] = True
    moved = (banded != W).reshape(784, -1).any(axis=1)
    assert moved[changed].sum() > 100 and not moved[~changed].any()


@pytest.mark.parametrize("dtype", DTYPES)
def test_blocked_products_give_each_row_the_same_sums_whatever_the_tiles(dtype):
    """m rows are cut into blocks of up to ROW_TILE (1 to 5 rows each tile);
    each row's result is bit for bit the one it gets alone (a 1-row tile)."""
    rng = np.random.default_rng(4)
    k, width = 37, 48  # 3 vectors of 16 (2 + 1), 6 of 8
    B = rng.standard_normal((k, width)).astype(dtype)
    A = rng.standard_normal((13, k)).astype(dtype)
    alone = np.zeros((13, width), dtype=dtype)
    for r in range(13):
        block_forward(alone[r], width, A[r], k, B.reshape(-1), width, 1, k, 0.5)
    for m in range(1, 14):
        C = np.full((m, width), np.nan, dtype=dtype)
        block_forward(C.reshape(-1), width, A[:m].reshape(-1), k, B.reshape(-1), width, m, k,
                      0.5)
        np.testing.assert_array_equal(C, alone[:m])


def test_vector_width_follows_the_cpu_features():
    from numba.core import config
    from llvmlite import binding
    from fastnet.kernels.lanes import LANES, describe, lanes_for
    assert lanes_for("+64bit,+avx,+avx2,+avx512f,+fma") == 16
    assert lanes_for("+avx,+avx2,-avx512f") == 8
    assert lanes_for("+sse2,-avx,-avx2,-avx512f") == 4
    assert lanes_for("+neon") == 4
    host = config.CPU_FEATURES or binding.get_host_cpu_features().flatten()
    assert LANES == lanes_for(host)
    assert describe().startswith(f"{LANES} float32 lanes")
    assert fastnet.Network([3, 5, 2]).parameters.layers[0, 2] % LANES == 0


# ------------------------------------------------------------------ columns.py
def batch_csr(dtype, columns, m=9, n_in=70, seed=8):
    """A CSR batch of m rows (one empty, one full) and its dense rows (m, n_in)."""
    rng = np.random.default_rng(seed)
    X = (rng.standard_normal((m, n_in)) * (rng.random((m, n_in)) < 0.3)).astype(dtype)
    X[2] = 0.0
    X[5] = rng.standard_normal(n_in).astype(dtype) + 5.0
    indptr, indices, values = to_csr(X)
    return sparse_inputs(indptr, indices.astype(columns), values, np.zeros((m, 1), dtype)), X


@pytest.mark.parametrize("columns", [np.uint16, np.int32])
@pytest.mark.parametrize("first,last", [(0, 70), (13, 52), (40, 41), (30, 30)])
def test_group_by_column_is_the_batch_by_column_in_batch_order(columns, first, last):
    from fastnet.kernels.columns import group_by_column

    @kernel
    def group(start, sample, value, data, rows, first, last):
        group_by_column(start, sample, value, data, rows, first, last)

    data, X = batch_csr(np.float32, columns)
    rows = np.array([4, 2, 7, 5, 0, 8, 1], dtype=np.int64)
    start = np.full(last - first + 1, -1, dtype=np.int64)
    sample = np.full(rows.shape[0] * 70, -1, dtype=np.int32)
    value = np.zeros(rows.shape[0] * 70, dtype=np.float32)
    group(start, sample, value, data, rows, first, last)
    k = 0
    for c in range(first, last):
        expected = [s for s in range(rows.shape[0]) if X[rows[s], c] != 0.0]
        assert start[c - first] == k
        assert sample[k:k + len(expected)].tolist() == expected
        assert value[k:k + len(expected)].tolist() == [X[rows[s], c] for s in expected]
        k += len(expected)
    assert start[last - first] == k


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("width", [LANES, TILE * LANES, TILE * LANES + LANES, 2 * TILE * LANES,
                                   2 * TILE * LANES + TILE * LANES + LANES, 4 * TILE * LANES + LANES])
def test_column_accumulate_is_sample_by_sample_bit_for_bit(dtype, width):
    """Rows [first, last) of W get alpha/scale·Σ_s x_s[i]·δ_s: the float64
    outer products within rounding, the sample-by-sample kernel's result bit
    for bit, and the other rows nothing."""
    from fastnet.kernels.columns import column_accumulate
    rng = np.random.default_rng(6)
    data, X = batch_csr(dtype, np.uint16)
    n_in, ld, d_off = X.shape[1], width + 2 * LANES, LANES
    rows = np.array([4, 2, 7, 5, 0, 8, 1, 4], dtype=np.int64)
    D = rng.standard_normal(rows.shape[0] * ld).astype(dtype)
    W = rng.standard_normal(n_in * width).astype(dtype)
    alpha, scale, first, last = -0.3, 0.7, 11, 64
    by_column = W.copy()
    cap = rows.shape[0] * n_in
    column_accumulate(by_column, width, D, d_off, ld, data, rows, first, last,
                      np.zeros(last - first + 1, np.int64), np.zeros(cap, np.int32),
                      np.zeros(cap, dtype), alpha, scale)
    deltas = D.reshape(-1, ld)[:, d_off:d_off + width]
    inside = np.zeros(n_in, bool)
    inside[first:last] = True
    expected = W.reshape(n_in, width).astype(float) + alpha / scale * (
        X[rows].astype(float) * inside).T @ deltas.astype(float)
    close(by_column, expected.ravel(), dtype, rtol=10 * RTOL[dtype], atol=10 * np.finfo(dtype).eps)
    by_sample = W.copy()
    for s, r in enumerate(rows):
        lo, hi = data.indptr[r], data.indptr[r + 1]
        keep = (data.indices[lo:hi] >= first) & (data.indices[lo:hi] < last)
        sparse_accumulate(by_sample, data.indices[lo:hi][keep], data.values[lo:hi][keep],
                          deltas[s].copy(), alpha, scale)
    np.testing.assert_array_equal(by_column, by_sample)


def test_wide_sparse_first_layers_step_by_column():
    from fastnet.kernels.dense import TILED_WIDTH
    from fastnet.kernels.layout import COLUMNS, ENGINE, PER_SAMPLE, ROWS
    wide = fastnet.Network([20, TILED_WIDTH + 1, 3]).parameters.layers
    narrow = fastnet.Network([20, TILED_WIDTH, 3]).parameters.layers
    assert plan(wide, 32, False)[0, ENGINE] == COLUMNS
    assert plan(wide, 32, False, "blocked", threads=2)[0, ENGINE] == COLUMNS
    assert plan(wide, 32, False, "per_sample")[0, ENGINE] == PER_SAMPLE
    assert plan(wide, 32, False, hogwild=True)[0, ENGINE] == ROWS
    assert plan(wide, 32, True)[0, ENGINE] != COLUMNS
    assert plan(narrow, 32, False)[0, ENGINE] == PER_SAMPLE


def test_columns_scratch_is_checked():
    from fastnet.kernels.dense import TILED_WIDTH
    from fastnet.kernels.layout import check_arrays
    net = fastnet.Network([20, TILED_WIDTH + 1, 3])
    layers = plan(net.parameters.layers, 4, False)
    data, _ = batch_csr(net.dtype, np.uint16, m=6, n_in=20)
    csr = (data.indptr, data.indices, data.values)
    longest = int(np.diff(data.indptr).max())
    work = buffers(layers, 4, net.dtype, longest_row=longest)
    columns = (work.col_start, work.col_sample, work.col_value)
    check_arrays(layers, net.parameters.theta, csr=csr, batch_size=4, columns=columns)
    with pytest.raises(ValueError, match="col_sample: expected a contiguous int32 array"):
        check_arrays(layers, net.parameters.theta, csr=csr, batch_size=5, columns=columns)
    with pytest.raises(ValueError, match="col_start"):
        check_arrays(layers, net.parameters.theta, csr=csr, batch_size=4,
                     columns=(work.col_start[1:],) + columns[1:])
    with pytest.raises(ValueError, match="col_value"):
        check_arrays(layers, net.parameters.theta, csr=csr, batch_size=4,
                     columns=columns[:2] + (work.col_value.astype(np.float64),))
    grad = np.zeros_like(net.parameters.theta)  # a gradient accumulates through the scratch: it must be there
    check_arrays(layers, net.parameters.theta, csr=csr, batch_size=4, columns=columns, grad=grad)
    with pytest.raises(ValueError, match="columns: expected the scratch"):
        check_arrays(layers, net.parameters.theta, csr=csr, batch_size=4, grad=grad)
    check_arrays(layers, net.parameters.theta, csr=csr, batch_size=4)  # a forward pass needs none


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_trained_cost_is_the_sample_cost_within_rounding(dtype):
    """The running cost's per-sample formula (−ln a_y for softmax) against
    log-sum-exp, and its fallback where a_y underflows: never ln 0."""
    rng = np.random.default_rng(0)
    for z in [rng.standard_normal(10) * 5, np.array([1000.0, -1000.0, 0.0])]:
        z = z.astype(dtype)
        a = np.empty_like(z)
        act.activation_forward(a, z, act.SOFTMAX)
        for label in range(z.shape[0]):
            y = np.zeros_like(z)
            y[label] = 1
            want = kc.sample_cost(a, z, y, act.SOFTMAX, kc.LOG_LIKELIHOOD)
            got = kc.trained_cost(a, z, y, act.SOFTMAX, kc.LOG_LIKELIHOOD)
            assert np.isfinite(got) and got == pytest.approx(want, rel=1e-6, abs=1e-6)
    y = np.array([0.0, 1.0], dtype)
    z = np.array([0.3, -0.2], dtype)
    a = 1 / (1 + np.exp(-z))
    assert kc.trained_cost(a, z, y, act.SIGMOID, kc.CROSS_ENTROPY) == kc.sample_cost(
        a, z, y, act.SIGMOID, kc.CROSS_ENTROPY)
