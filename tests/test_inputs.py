"""Bad input gets a ValueError or TypeError whose message names the argument;
good input of any float dtype or uint8 is accepted and converted once."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import fastnet

EXAMPLES = settings(max_examples=40, deadline=None)  # deadline: the first call may compile
NETS = {}


def net_for(n_in, dtype="float32", output="softmax"):
    """One network per shape and dtype, reused across examples (never trained)."""
    key = (n_in, dtype, output)
    if key not in NETS:
        NETS[key] = fastnet.Network([n_in, 4, 3], output=output, dtype=dtype, seed=0)
    return NETS[key]


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    return rng.random((6, 4)), np.array([0, 1, 2, 0, 1, 2])


@pytest.fixture
def net():
    return fastnet.Network([4, 5, 3], seed=0)


# ------------------------------------------------------------------ Network()
@pytest.mark.parametrize("kwargs,error,message", [
    (dict(sizes=5), TypeError, "sizes: expected a list"),
    (dict(sizes=[784]), ValueError, "sizes: need at least an input and an output layer"),
    (dict(sizes=[4, 0, 3]), ValueError, r"sizes\[\]: must be a positive integer"),
    (dict(sizes=[4, -2, 3]), ValueError, r"sizes\[\]: must be a positive integer"),
    (dict(sizes=[4, 2.5, 3]), TypeError, r"sizes\[\]: expected a positive integer"),
    (dict(activation="softsign"), ValueError, "activation: unknown value 'softsign'; pass one of"),
    (dict(activation="softmax"), ValueError, "activation: unknown value 'softmax'"),
    (dict(activation=["relu"]), ValueError, "activation: got 1 names for 2 hidden layers"),
    (dict(activation=["relu", "tanh", "relu"]), ValueError, "activation: got 3 names"),
    (dict(activation=["relu", "swish"]), ValueError, "activation: unknown value 'swish'"),
    (dict(activation=None), TypeError, "activation"),
    (dict(activation=3), TypeError, "activation"),
    (dict(output="relu"), ValueError, "output: unknown value 'relu'; pass one of"),
    (dict(output=None), TypeError, "output: expected a name, one of"),
    (dict(cost="hinge"), ValueError, "cost: unknown value 'hinge'; pass one of"),
    (dict(output="sigmoid", cost="log_likelihood"), ValueError,
     "cost: 'log_likelihood' does not fit a 'sigmoid' output.*pass cost="),
    (dict(output="linear", cost="cross_entropy"), ValueError,
     "cost: 'cross_entropy' does not fit a 'linear' output.*pass cost='quadratic'"),
    (dict(output="softmax", cost="cross_entropy"), ValueError,
     "cost: 'cross_entropy' does not fit"),
    (dict(output="linear", cost="log_likelihood"), ValueError,
     "cost: 'log_likelihood' does not fit"),
    (dict(init="xavier"), ValueError, "init: unknown value 'xavier'; pass one of"),
    (dict(dtype="float16"), ValueError, "dtype: 'float16' is not supported; pass 'float32' or"),
    (dict(dtype="int32"), ValueError, "dtype: 'int32' is not supported"),
    (dict(dtype=np.complex128), ValueError, "dtype: .* is not supported"),
    (dict(dtype="double precision"), TypeError, "dtype: expected 'float32' or 'float64'"),
    (dict(dtype=None), TypeError, "dtype: expected 'float32' or 'float64', got None"),
    (dict(seed=-1), (TypeError, ValueError), "seed"),
    (dict(seed=1.5), TypeError, "seed: expected a non-negative integer"),
    (dict(seed="1"), TypeError, "seed: expected a non-negative integer"),
    (dict(seed=2**64), ValueError, "seed"),
])
def test_network_rejects_bad_arguments(kwargs, error, message):
    kwargs = dict(dict(sizes=[4, 5, 6, 3]), **kwargs)
    with pytest.raises(error, match=message):
        fastnet.Network(**kwargs)


def test_network_accepts_its_documented_arguments():
    for output, cost in [("sigmoid", "quadratic"), ("softmax", "quadratic"),
                         ("linear", "quadratic"), ("sigmoid", "cross_entropy"),
                         ("softmax", "log_likelihood")]:
        net = fastnet.Network([4, 5, 6, 3], activation=["relu", "tanh"], output=output,
                              cost=cost, init="large", dtype=np.float64, seed=np.int64(3))
        assert net.cost_name == cost and net.dtype == np.float64 and net.seed == 3
    defaults = {"softmax": "log_likelihood", "sigmoid": "cross_entropy", "linear": "quadratic"}
    for output, cost in defaults.items():
        assert fastnet.Network([2, 2], output=output).cost_name == cost
    assert fastnet.Network([2, 2]).dtype == np.float32
    assert fastnet.Network([2, 3, 2], seed=2**63 - 1).seed == 2**63 - 1


def test_init_scales():
    normalized = fastnet.Network([400, 300, 10], dtype="float64", seed=0)
    large = fastnet.Network([400, 300, 10], init="large", dtype="float64", seed=0)
    assert normalized.weights[0].std() == pytest.approx(1 / np.sqrt(400), rel=0.02)
    assert normalized.weights[1].std() == pytest.approx(1 / np.sqrt(300), rel=0.1)
    assert normalized.biases[0].std() == pytest.approx(1.0, rel=0.15)
    assert large.weights[0].std() == pytest.approx(1.0, rel=0.02)
    assert abs(normalized.weights[0].mean()) < 0.01


def test_weights_and_biases_are_views_of_the_parameters():
    net = fastnet.Network([3, 4, 2], dtype="float64", seed=0)
    assert [W.shape for W in net.weights] == [(3, 4), (4, 2)]
    assert [b.shape for b in net.biases] == [(4,), (2,)]
    net.weights[1][:] = 0.0
    net.biases[1][:] = [5.0, -5.0]
    np.testing.assert_allclose(net.predict_proba(np.ones((2, 3))),
                               [[1 / (1 + np.exp(-10)), np.exp(-10) / (1 + np.exp(-10))]] * 2)


# ------------------------------------------------------------------------ fit
@pytest.mark.parametrize("kwargs,error,message", [
    (dict(batch_size=0), ValueError, "batch_size: must be a positive integer"),
    (dict(batch_size=-3), ValueError, "batch_size: must be a positive integer"),
    (dict(batch_size=2.5), TypeError, "batch_size: expected a positive integer"),
    (dict(epochs=0), ValueError, "epochs: must be a positive integer"),
    (dict(epochs=-1), ValueError, "epochs: must be a positive integer"),
    (dict(epochs=1.0), TypeError, "epochs: expected a positive integer"),
    (dict(eta=0.0), ValueError, r"eta: 0.0 is out of range; pass a finite number in \(0, inf\)"),
    (dict(eta=-0.5), ValueError, "eta: -0.5 is out of range"),
    (dict(eta=float("nan")), ValueError, "eta: nan is out of range"),
    (dict(eta=float("inf")), ValueError, "eta: inf is out of range"),
    (dict(eta="0.5"), TypeError, "eta: expected a number"),
    (dict(momentum=1.0), ValueError, r"momentum: 1.0 is out of range.*\[0, 1\)"),
    (dict(momentum=-0.1), ValueError, "momentum: -0.1 is out of range"),
    (dict(nesterov="yes"), TypeError, "nesterov: expected True or False"),
    (dict(l2=-1.0), ValueError, "l2: -1.0 is out of range"),
    (dict(l1=-1.0), ValueError, "l1: -1.0 is out of range"),
    (dict(dropout=1.0), ValueError, "dropout: 1.0 is out of range"),
    (dict(dropout=-0.2), ValueError, "dropout: -0.2 is out of range"),
    (dict(schedule="linear"), ValueError, "schedule: unknown name 'linear'"),
    (dict(schedule=3), TypeError, "schedule: expected a name or a callable"),
    (dict(early_stopping=0), ValueError, "early_stopping: must be a positive integer"),
    (dict(validation=([[0.0] * 4],)), TypeError, r"validation: expected a pair \(X_val, y_val\)"),
    (dict(callback=3), TypeError, "callback"),
    (dict(progress="yes"), TypeError, "progress"),
    (dict(augment=1), TypeError, "augment"),
    (dict(optimizer="sgd"), TypeError, "optimizer"),
])
def test_fit_rejects_bad_hyperparameters_and_changes_nothing(net, data, kwargs, error, message):
    X, y = data
    before = net.parameters.theta.copy()
    with pytest.raises(error, match=message):
        net.fit(X, y, **dict(dict(epochs=1, batch_size=2, eta=0.1), **kwargs))
    np.testing.assert_array_equal(net.parameters.theta, before)
    assert net.epochs_trained == 0


@pytest.mark.parametrize("kwargs,message", [
    (dict(lmbda=5.0), "lmbda: 'lmbda' is the book's name; fastnet's is l2"),
    (dict(mini_batch_size=10), "fastnet's is batch_size"),
    (dict(evaluation_data=[]), r"fastnet's is validation=\(X_val, y_val\)"),
    (dict(monitor_evaluation_accuracy=True), r"validation=\(X_val, y_val\).*validation_accuracy"),
    (dict(monitor_training_cost=True), "monitor=True"),
    (dict(early_stopping_n=10), "fastnet's is early_stopping"),
    (dict(epoch=3), r"^fit\(\) got an unexpected keyword argument 'epoch'$"),
])
def test_the_books_names_are_answered_with_fastnets(net, data, kwargs, message):
    with pytest.raises(TypeError, match=message):
        net.fit(*data, epochs=1, **kwargs)
    assert net.epochs_trained == 0


def test_the_books_sgd_cost_and_data_layout_are_answered_with_fastnets(net, data):
    X, y = data
    with pytest.raises(TypeError, match=r"'SGD' is the book's name; fastnet's is net.fit\(X, y,"):
        net.SGD(list(zip(X, y)), 30, 10, 3.0)
    for cost in ("CrossEntropyCost", type("CrossEntropyCost", (), {})):
        with pytest.raises(TypeError, match="fastnet's is cost='cross_entropy'"):
            fastnet.Network([4, 5, 3], output="sigmoid", cost=cost)
    pairs = [(x.reshape(-1, 1), np.eye(3)[t].reshape(-1, 1)) for x, t in zip(X, y)]
    with pytest.raises(TypeError, match=r"X: got a list of \(x, y\) pairs, the book's data layout"):
        net.fit(pairs, 1, 1, 2, 0.1)  # net.SGD(training_data, epochs, mini_batch_size, eta) as fit


@pytest.mark.parametrize("name,function", [("callback", lambda net: None),
                                           ("progress", lambda done: None),
                                           ("augment", lambda X, y: (X, y))])
def test_a_function_of_too_few_arguments_is_refused_before_training(net, data, name, function):
    with pytest.raises(TypeError, match=f"^{name}: fastnet calls {name}\\(.*pass a function of"):
        net.fit(*data, epochs=1, **{name: function})
    assert net.epochs_trained == 0
    net.fit(*data, epochs=1, callback=lambda *args: None, progress=max)  # any that take them (max: no signature)


def bad_data(X, y):
    """(X, y, error, message) cases for every entry point that takes data."""
    return [
        (X[:, :3], y, ValueError, r"X: expected shape \(n, 4\) for a network with 4 inputs"),
        (X[0], y[:1], ValueError, r"X: expected a 2-D array .* pass X.reshape\(1, -1\)"),
        (X[None], y, ValueError, r"X: expected shape \(n, 4\)"),
        (X[:0], y[:0], ValueError, "X: is empty"),
        (np.where(np.eye(6, 4) > 0, np.nan, X), y, ValueError, "X: contains NaN or infinite"),
        (np.where(np.eye(6, 4) > 0, np.inf, X), y, ValueError, "X: contains NaN or infinite"),
        (np.full((6, 4), 1e300), y, ValueError, "X: contains NaN or infinite"),  # inf in float32
        (X.astype(np.complex64), y, TypeError, "X: expected a float or uint8 array"),
        (X > 0.5, y, TypeError, "X: expected a float or uint8 array, got dtype bool"),
        (X.astype(str), y, TypeError, "X: expected a float or uint8 array"),
        ([[0.0] * 4, [0.0] * 3], y[:2], (TypeError, ValueError), "X"),
        (X, y[:5], ValueError, "y: has 5 labels but the inputs have 6 samples"),
        (X, np.r_[y[:5], 3], ValueError, r"y: labels must lie in \[0, 2\] for 3 outputs"),
        (X, np.r_[y[:5], -1], ValueError, r"y: labels must lie in \[0, 2\]"),
        (X, y.astype(float), TypeError, r"y: class labels must be integers, got dtype float64"),
        (X, y.astype(bool), TypeError, "y: class labels must be integers"),
        (X, y.astype(str), TypeError, "y: class labels must be integers"),
        (X, np.eye(6, 3), ValueError, r"y: expected \(n,\) integer labels, got shape \(6, 3\)"),
        (X, 1, ValueError, r"y: expected \(n,\) integer labels"),
    ]


@pytest.mark.parametrize("case", range(len(bad_data(np.zeros((6, 4)), np.zeros(6, int)))))
def test_every_entry_point_rejects_bad_data(net, data, case):
    X, y, error, message = bad_data(*data)[case]
    before = net.parameters.theta.copy()
    with pytest.raises(error, match=message):
        net.fit(X, y, epochs=1, batch_size=2, eta=0.1)
    np.testing.assert_array_equal(net.parameters.theta, before)
    for method in (net.accuracy, net.cost, net.evaluate, net.gradient):
        with pytest.raises(error, match=message):
            method(X, y)
    if message.startswith("X"):
        for method in (net.predict, net.predict_proba):
            with pytest.raises(error, match=message):
                method(X)


def test_bad_validation_data_is_named_and_rejected_before_training(net, data):
    X, y = data
    before = net.parameters.theta.copy()
    with pytest.raises(ValueError, match=r"validation: expected shape \(n, 4\)"):
        net.fit(X, y, epochs=1, validation=(X[:, :2], y))
    with pytest.raises(ValueError, match=r"validation\[1\]: has 5 labels"):
        net.fit(X, y, epochs=1, validation=(X, y[:5]))
    np.testing.assert_array_equal(net.parameters.theta, before)


def test_labels_beside_a_dataset_with_its_own_targets_are_refused(net, data):
    """A Dataset made with y carries its targets: a second set beside it is
    refused, not trained on in their place."""
    X, y = data
    prepared, before = fastnet.Dataset(X, y), net.parameters.theta.copy()
    with pytest.raises(ValueError, match="y: X is a Dataset made with its own targets, so it "
                                         "takes no labels beside them"):
        net.fit(prepared, y[::-1], epochs=1)
    np.testing.assert_array_equal(net.parameters.theta, before)
    with pytest.raises(ValueError, match=r"validation\[1\]: validation is a Dataset made with"):
        net.fit(X, y, epochs=1, validation=(prepared, y))
    for method in (net.accuracy, net.cost, net.evaluate, net.gradient):
        with pytest.raises(ValueError, match="y: X is a Dataset made with its own targets"):
            method(prepared, y)
    assert net.cost(prepared) == net.cost(X, y) == net.cost(fastnet.Dataset(X), y)


def test_a_network_too_large_for_memory_is_named_before_allocating(monkeypatch):
    """The size, the memory it needs and the argument to change, instead of a
    MemoryError; also when the allocation itself fails."""
    with pytest.raises(ValueError, match=r"sizes: a network of layers \[784, 1000000000, 10\] "
                                         r"has 795,000,000,010 weights and biases, 2,961.6 GiB of "
                                         r"float32 .* more than this machine's [\d,.]+ GiB of "
                                         r"memory; pass fewer units in sizes"):
        fastnet.Network([784, 10**9, 10])

    def fails(*args):
        raise MemoryError

    monkeypatch.setattr("fastnet.engine.parameters.line_aligned_zeros", fails)
    with pytest.raises(ValueError, match=r"sizes: a network of layers \[4, 5, 3\] has 43 weights "
                                         r"and biases, 0.0 GiB .*than this process can allocate"):
        fastnet.Network([4, 5, 3], dtype="float64")


def test_real_targets_only_for_sigmoid_and_linear_outputs(data):
    X, _ = data
    targets = np.random.default_rng(1).random((6, 3))
    for output in ("sigmoid", "linear"):
        net = fastnet.Network([4, 5, 3], output=output, dtype="float64", seed=0)
        net.fit(X, targets, epochs=1, batch_size=3, eta=0.1)
        with pytest.raises(ValueError,
                           match=r"y: real targets must have shape \(6, 3\), got \(6, 2\)"):
            net.fit(X, targets[:, :2], epochs=1)
        with pytest.raises(ValueError, match="y: real targets must be finite"):
            net.fit(X, np.where(targets > 0.9, np.nan, targets), epochs=1)
        small = fastnet.Network([4, 5, 3], output=output, dtype="float32", seed=0)
        with pytest.raises(ValueError, match="y: real targets must be finite.*float32"):
            small.fit(X, np.full((6, 3), 1e300), epochs=1)  # overflows float32
    softmax = fastnet.Network([4, 5, 3], seed=0)
    with pytest.raises(ValueError, match=r"y: expected \(n,\) integer labels, got shape"):
        softmax.fit(X, targets, epochs=1)


# ------------------------------------------------- dtypes and shapes (hypothesis)
@EXAMPLES
@given(X=hnp.arrays(st.sampled_from([np.float16, np.float32, np.float64, np.uint8]),
                    hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=12),
                    elements=st.integers(0, 255)),
       net_dtype=st.sampled_from(["float32", "float64"]),
       fortran=st.booleans())
def test_float_and_uint8_inputs_are_accepted_and_converted(X, net_dtype, fortran):
    net = net_for(X.shape[1], net_dtype)
    if fortran:
        X = np.asfortranarray(X)
    if X.dtype == np.uint8:
        expected_input = X.astype(net_dtype) / 255  # pixel intensities to [0, 1]
    else:
        expected_input = X.astype(net_dtype)
    proba = net.predict_proba(X)
    assert proba.dtype == np.dtype(net_dtype) and proba.shape == (X.shape[0], 3)
    np.testing.assert_allclose(proba, net.predict_proba(expected_input), rtol=1e-6)
    y = np.arange(X.shape[0]) % 3
    assert 0.0 <= net.accuracy(X, y) <= 1.0


@EXAMPLES
@given(label_dtype=st.sampled_from([np.int8, np.uint8, np.int16, np.int32, np.int64, np.uint64]),
       n=st.integers(1, 9))
def test_labels_of_any_integer_dtype_are_accepted(label_dtype, n):
    net = net_for(2, "float64")
    X = np.linspace(0, 1, 2 * n).reshape(n, 2)
    y = (np.arange(n) % 3).astype(label_dtype)
    assert net.accuracy(X, y) == net.accuracy(X, y.astype(np.int64))


@EXAMPLES
@given(shape=hnp.array_shapes(min_dims=1, max_dims=3, min_side=0, max_side=6),
       n_in=st.integers(1, 5))
def test_wrong_input_shapes_are_named(shape, n_in):
    if len(shape) == 2 and shape[1] == n_in and shape[0] > 0:
        return  # a valid shape
    net = net_for(n_in)
    with pytest.raises(ValueError, match="^X: "):
        net.predict(np.zeros(shape, dtype=np.float32))


@EXAMPLES
@given(labels=st.lists(st.integers(-5, 8), min_size=4, max_size=4))
def test_out_of_range_labels_are_named(labels):
    net = net_for(2, "float64")
    X = np.zeros((4, 2))
    y = np.array(labels)
    if y.min() >= 0 and y.max() < 3:
        assert 0 <= net.accuracy(X, y) <= 1
    else:
        with pytest.raises(ValueError, match=r"^y: labels must lie in \[0, 2\]"):
            net.accuracy(X, y)


@EXAMPLES
@given(dtype=st.sampled_from([np.complex64, np.bool_, np.object_, "U3", "M8[s]", "m8[s]"]))
def test_unsupported_input_dtypes_are_named(dtype):
    net = net_for(2)
    X = np.zeros((3, 2)).astype(dtype)
    with pytest.raises(TypeError, match="^X: expected a float or uint8 array"):
        net.predict(X)


@pytest.mark.parametrize("dtype", [np.int16, np.int32, np.int64, np.uint16])
def test_integer_inputs_other_than_uint8_are_refused(dtype):
    net = fastnet.Network([4, 3], output="softmax", seed=0)
    X = np.ones((2, 4), dtype=dtype)
    with pytest.raises(TypeError, match=r"X: expected a float or uint8 array.*astype\('uint8'\)"):
        net.predict(X)


def test_cross_entropy_targets_outside_the_unit_interval_are_refused():
    net = fastnet.Network([4, 3], output="sigmoid", cost="cross_entropy", seed=0)
    X = np.ones((2, 4))
    net.fit(X, np.array([[0.0, 0.5, 1.0], [1.0, 0.25, 0.0]]), epochs=1, monitor=False)
    with pytest.raises(ValueError, match=r"y: the cross-entropy needs targets in \[0, 1\]"):
        net.fit(X, np.array([[0.0, 1.5, 1.0], [1.0, 0.0, 0.0]]), epochs=1)
