"""Model files and checkpoints (fastnet.files.model_io) and atomic writes.

In-process and quick: small networks on a slice of the real MNIST training set.
"""
import json
import pickle

import numpy as np
import pytest

import fastnet
from conftest import synthetic_digits
from fastnet.files import model_io
from fastnet.files.model_io import FORMAT_VERSION, ModelFileError, read_model_file
from fastnet.schedules import Plateau


@pytest.fixture(scope="module")
def mnist():
    """(X, y) training and (X, y) validation data: MNIST-shaped synthetic digits,
    float32 in [0, 1] (model files are under test here, not the data)."""
    (X, y), (Xv, yv) = synthetic_digits(1500, seed=1), synthetic_digits(500, seed=2)
    scale = np.float32(255)
    return (X.reshape(1500, 784) / scale, y.astype(int)), (Xv.reshape(500, 784) / scale, yv.astype(int))


def trained(mnist, epochs=2, **network):
    """A small network trained with momentum, L2, dropout and a schedule; returns (net, sgd)."""
    settings = dict(sizes=[784, 20, 12, 10], activation=["relu", "tanh"], seed=11)
    net = fastnet.Network(**{**settings, **network})
    sgd = fastnet.SGD(eta=0.05, batch_size=16, momentum=0.9, l2=1.0, dropout=0.1,
                      schedule=Plateau(patience=1, factor=0.5))
    net.fit(*mnist[0], epochs, validation=mnist[1], optimizer=sgd)
    return net, sgd


def assert_same_network(a, b):
    assert (a.sizes, a.activations, a.output, a.cost_name, a.init, a.dtype, a.seed,
            a.epochs_trained) == (b.sizes, b.activations, b.output, b.cost_name, b.init,
                                  b.dtype, b.seed, b.epochs_trained)
    for x, y in zip(a.weights + a.biases, b.weights + b.biases):
        assert x.dtype == y.dtype and np.array_equal(x, y)


def assert_same_layers(net, flat, other_net, other_flat):
    """Two flat parameter-layout vectors hold the same per-layer values (padding aside)."""
    ours, theirs = net.split_parameters(flat), other_net.split_parameters(other_flat)
    for a, b in zip(ours[0] + ours[1], theirs[0] + theirs[1]):
        assert np.array_equal(a, b)


# ------------------------------------------------------------------ round trips
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_model_round_trip_keeps_weights_settings_and_cost(mnist, tmp_path, dtype):
    net, _ = trained(mnist, dtype=dtype, output="sigmoid", cost="cross_entropy", init="large")
    net.save(tmp_path / "m.npz")
    loaded = fastnet.Network.load(str(tmp_path / "m.npz"))
    assert_same_network(net, loaded)
    X, y = mnist[1]
    assert np.array_equal(net.predict_proba(X), loaded.predict_proba(X))
    # The cost includes the L2 term of the last fit (about half of it here).
    assert loaded.cost(X, y) == net.cost(X, y)


def test_model_file_is_plain_npz_with_json_header(mnist, tmp_path):
    net, _ = trained(mnist)
    net.save(tmp_path / "m.npz")
    with np.load(tmp_path / "m.npz", allow_pickle=False) as archive:
        assert sorted(archive.files) == ["biases_0", "biases_1", "biases_2", "header",
                                         "weights_0", "weights_1", "weights_2"]
        header = json.loads(str(archive["header"]))
        assert archive["weights_1"].shape == (20, 12)
    assert header["format"] == "fastnet-model" and header["format_version"] == FORMAT_VERSION
    assert header["fastnet_version"] == fastnet.__version__
    assert header["network"]["sizes"] == [784, 20, 12, 10]
    assert header["network"]["activations"] == ["relu", "tanh"]
    assert header["network"]["epochs_trained"] == 2


def test_checkpoint_round_trip_keeps_the_optimizer_state(mnist, tmp_path):
    net, sgd = trained(mnist, epochs=3)
    fastnet.save_checkpoint(net, sgd, tmp_path / "c.npz")
    loaded_net, loaded = fastnet.load_checkpoint(tmp_path / "c.npz")
    assert_same_network(net, loaded_net)
    assert repr(loaded) == repr(sgd)
    assert (loaded.epoch, loaded.best_epoch, loaded.stop_reason) == (3, sgd.best_epoch, None)
    assert loaded.history == sgd.history
    assert_same_layers(net, sgd.velocity, loaded_net, loaded.velocity)
    assert_same_layers(net, sgd.best_weights, loaded_net, loaded.best_weights)
    assert np.any(sgd.velocity != 0)


def test_network_load_reads_the_model_inside_a_checkpoint(mnist, tmp_path):
    net, sgd = trained(mnist)
    fastnet.save_checkpoint(net, sgd, tmp_path / "c.npz")
    assert_same_network(net, fastnet.Network.load(tmp_path / "c.npz"))


def test_resuming_from_a_checkpoint_equals_an_uninterrupted_run(mnist, tmp_path):
    """Momentum, dropout, a history-driven schedule and per-epoch distortions all resume exactly."""
    settings = dict(sizes=[784, 24, 10], activation="relu", seed=5)

    def optimizer():
        return fastnet.SGD(eta=0.05, batch_size=20, momentum=0.9, nesterov=True, dropout=0.2,
                           l2=0.5, schedule=Plateau(patience=1, factor=0.5))

    def fit(net, epochs, sgd):
        net.fit(*mnist[0], epochs, validation=mnist[1], optimizer=sgd,
                augment=fastnet.Distort(seed=5))

    straight = fastnet.Network(**settings)
    straight_sgd = optimizer()
    fit(straight, 4, straight_sgd)

    first = fastnet.Network(**settings)
    first_sgd = optimizer()
    fit(first, 2, first_sgd)
    fastnet.save_checkpoint(first, first_sgd, tmp_path / "c.npz")
    resumed, resumed_sgd = fastnet.load_checkpoint(tmp_path / "c.npz")
    fit(resumed, 4, resumed_sgd)

    assert_same_network(straight, resumed)
    assert_same_layers(straight, straight_sgd.velocity, resumed, resumed_sgd.velocity)
    assert straight_sgd.history["eta"] == resumed_sgd.history["eta"]
    assert straight_sgd.history["validation_cost"] == resumed_sgd.history["validation_cost"]
    assert straight_sgd.best_epoch == resumed_sgd.best_epoch


def test_fresh_optimizer_checkpoint_has_no_velocity_or_best(tmp_path):
    net = fastnet.Network([784, 5, 10], seed=1)
    fastnet.save_checkpoint(net, fastnet.SGD(schedule="step"), tmp_path / "c.npz")
    _, sgd = fastnet.load_checkpoint(tmp_path / "c.npz")
    assert sgd.velocity is None and sgd.best_weights is None and sgd.epoch == 0
    assert repr(sgd.schedule) == "Step(every=10, factor=0.5)"


# ------------------------------------------------------------------ writing safely
def test_failed_write_leaves_the_old_file_and_no_temporary(mnist, tmp_path, monkeypatch):
    net, _ = trained(mnist)
    path = tmp_path / "m.npz"
    net.save(path)
    before = path.read_bytes()

    def crash(handle, **arrays):
        handle.write(b"PK\x03\x04 half a model")
        raise OSError("disk full")

    monkeypatch.setattr(model_io.np, "savez", crash)
    with pytest.raises(OSError, match="disk full"):
        net.save(path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.npz"]


def test_a_subclass_of_network_loads_as_itself(tmp_path):
    class Labelled(fastnet.Network):
        pass

    net = fastnet.Network([4, 3, 2], seed=5)
    net.save(tmp_path / "m.npz")
    loaded = Labelled.load(tmp_path / "m.npz")
    assert type(loaded) is Labelled
    assert_same_network(net, loaded)
    assert type(fastnet.Network.load(tmp_path / "m.npz")) is fastnet.Network


def test_save_into_a_missing_folder_names_the_folder(tmp_path):
    net = fastnet.Network([784, 5, 10], seed=1)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        net.save(tmp_path / "nowhere" / "m.npz")
    with pytest.raises(TypeError, match="path"):
        net.save(42)


def test_custom_schedule_cannot_be_checkpointed(tmp_path):
    net = fastnet.Network([784, 5, 10], seed=1)
    sgd = fastnet.SGD(schedule=lambda epoch, eta0, history: eta0)
    with pytest.raises(ValueError, match="custom callable"):
        fastnet.save_checkpoint(net, sgd, tmp_path / "c.npz")
    assert not (tmp_path / "c.npz").exists()
    with pytest.raises(TypeError, match="optimizer"):
        fastnet.save_checkpoint(net, "sgd", tmp_path / "c.npz")
    with pytest.raises(TypeError, match="net"):
        fastnet.save_checkpoint("net", sgd, tmp_path / "c.npz")


# ------------------------------------------------------------------ bad files
@pytest.fixture
def saved(tmp_path):
    """Path of a small saved model, its bytes, and its arrays and header."""
    net = fastnet.Network([784, 6, 10], seed=3)
    path = tmp_path / "m.npz"
    net.save(path)
    with np.load(path, allow_pickle=False) as archive:
        arrays = {name: archive[name] for name in archive.files}
    header = json.loads(str(arrays.pop("header")))
    return path, path.read_bytes(), arrays, header


def rewrite(path, header, arrays):
    """Write an archive with this header (dict, or raw array) and arrays."""
    raw = header if isinstance(header, np.ndarray) else np.array(json.dumps(header))
    np.savez(path, header=raw, **arrays)
    return path


def load_error(path):
    with pytest.raises(ModelFileError) as caught:
        fastnet.Network.load(path)
    assert str(path) in str(caught.value)
    return caught.value.problem


@pytest.mark.parametrize("fraction", [0.0, 0.1, 0.5, 0.9, 0.999])
def test_truncated_file(saved, fraction):
    path, data, _, _ = saved
    path.write_bytes(data[:int(len(data) * fraction)])
    assert "truncated" in load_error(path) or "corrupt" in load_error(path)


def test_flipped_byte_fails_the_checksum(saved):
    path, data, _, _ = saved
    corrupt = bytearray(data)
    corrupt[len(data) // 2] ^= 0xFF  # inside weights_0's bytes
    path.write_bytes(bytes(corrupt))
    assert "corrupt" in load_error(path)


@pytest.mark.parametrize("content, problem", [
    (b"just some text, not a model\n" * 4, "is not a .npz archive"),
    (bytes(range(256)) * 4, "is not a .npz archive"),
    (b"\x89PNG\r\n\x1a\n" + bytes(100), "is not a .npz archive"),
    (pickle.dumps({"weights": [1, 2, 3]}), "pickled data"),
])
def test_not_an_archive(tmp_path, content, problem):
    path = tmp_path / "m.npz"
    path.write_bytes(content)
    assert problem in load_error(path)


def test_single_npy_array(tmp_path):
    path = tmp_path / "m.npz"
    with open(path, "wb") as handle:
        np.save(handle, np.zeros(3))
    assert ".npy" in load_error(path)


class _RunsCode:
    """Unpickling this creates a file: proof that code ran."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_pickled_object_arrays_are_refused_without_running_them(saved, tmp_path):
    path, _, arrays, header = saved
    marker = tmp_path / "code-ran"
    evil = np.empty(1, dtype=object)
    evil[0] = _RunsCode(marker)
    rewrite(path, header, {**arrays, "weights_0": evil})
    assert "pickled data" in load_error(path)
    rewrite(path, evil, arrays)
    assert "pickled data" in load_error(path)
    assert not marker.exists()


def _edited(header, section, key, value):
    edited = json.loads(json.dumps(header))
    target = edited if section is None else edited[section]
    if value is _DELETE:
        del target[key]
    else:
        target[key] = value
    return edited


_DELETE = object()


@pytest.mark.parametrize("section, key, value, problem", [
    (None, "format_version", FORMAT_VERSION + 1, "upgrade fastnet"),
    (None, "format_version", "1", "format_version"),
    (None, "format", "pytorch", "format"),
    (None, "network", _DELETE, "no 'network'"),
    ("network", "sizes", [784, 7, 10], "needs float32 of shape (784, 7)"),
    ("network", "sizes", [784, 0, 10], "positive integers"),
    ("network", "dtype", "float16", "'float16'"),
    ("network", "dtype", "float64", "needs float64"),
    ("network", "activations", ["swish"], "no valid network"),
    ("network", "activations", ["relu", "relu"], "no valid network"),
    ("network", "cost", "cross_entropy", "no valid network"),  # needs a sigmoid output
    ("network", "seed", -1, "non-negative integer"),
    ("network", "epochs_trained", 1.5, "non-negative integer"),
    ("network", "regularisation", _DELETE, "regularisation"),
])
def test_inconsistent_header(saved, section, key, value, problem):
    path, _, arrays, header = saved
    rewrite(path, _edited(header, section, key, value), arrays)
    assert problem in load_error(path)


def test_header_that_is_not_json(saved):
    path, _, arrays, _ = saved
    rewrite(path, np.array("{not json"), arrays)
    assert "not valid JSON" in load_error(path)
    rewrite(path, np.arange(3), arrays)
    assert "not the JSON text" in load_error(path)


def test_missing_header(saved):
    path, _, arrays, _ = saved
    np.savez(path, **arrays)
    assert "no 'header' entry" in load_error(path)


@pytest.mark.parametrize("change, problem", [
    (lambda a: a.pop("biases_1"), "no 'biases_1' array"),
    (lambda a: a.update(weights_1=a["weights_1"][:3]), "shape (3, 10)"),
    (lambda a: a.update(weights_0=a["weights_0"].astype(np.float64)), "float64"),
    (lambda a: a.update(extra=np.zeros(2)), "does not write: extra"),
    (lambda a: a["biases_0"].__setitem__(2, np.nan), "NaN or infinite"),
])
def test_inconsistent_arrays(saved, change, problem):
    path, _, arrays, header = saved
    change(arrays)
    rewrite(path, header, arrays)
    assert problem in load_error(path)


def test_load_checkpoint_of_a_model_file_says_so(saved):
    path = saved[0]
    with pytest.raises(ModelFileError, match="not a checkpoint"):
        fastnet.load_checkpoint(path)


def test_inconsistent_checkpoint_history(mnist, tmp_path):
    net, sgd = trained(mnist)
    path = tmp_path / "c.npz"
    fastnet.save_checkpoint(net, sgd, path)
    with np.load(path, allow_pickle=False) as archive:
        arrays = {name: archive[name] for name in archive.files}
    header = json.loads(str(arrays.pop("header")))
    header["optimizer"]["history"]["eta"].append(0.1)
    rewrite(path, header, arrays)
    with pytest.raises(ModelFileError, match="3 entries for 2 epochs"):
        fastnet.load_checkpoint(path)
    header["optimizer"]["history"]["eta"].pop()
    header["optimizer"]["hyperparameters"]["schedule"] = {"name": "warp-speed"}
    rewrite(path, header, arrays)
    with pytest.raises(ModelFileError, match="warp-speed"):
        fastnet.load_checkpoint(path)


def test_missing_file_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_model_file(tmp_path / "absent.npz", fastnet.Network)


# ------------------------------------------------------------------ parameters
def test_split_and_join_parameters_are_inverse():
    net = fastnet.Network([784, 9, 10], seed=2)
    flat = net.join_parameters(net.weights, net.biases)
    weights, biases = net.split_parameters(flat)
    assert all(np.array_equal(a, b) for a, b in zip(weights + biases, net.weights + net.biases))
    with pytest.raises(ValueError, match=r"weights\[1\]: expected shape \(9, 10\)"):
        net.join_parameters([net.weights[0], np.zeros((9, 11))], net.biases)
    with pytest.raises(ValueError, match="expected 2 arrays"):
        net.set_parameters(net.weights[:1], net.biases)
    with pytest.raises(ValueError, match="flat"):
        net.split_parameters(np.zeros(5))
