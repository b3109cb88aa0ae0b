"""Nielsen's mnist.pkl.gz: loaded from a real slice, and malicious or odd pickles rejected."""

import collections
import gzip
import os
import pickle
import struct

import numpy as np
import pytest

from fastnet import DataError, load_mnist
from fastnet.data import read_mnist_pickle
from conftest import synthetic_digits
from data_files import write_bytes


@pytest.fixture(scope="module")
def book_parts():
    """Three (float32 (n, 784), int64 (n,)) pairs of synthetic digits, like Nielsen's file."""
    images, labels = synthetic_digits(60)
    X = images.reshape(60, 784).astype(np.float32) / np.float32(256)  # floats in [0, 1), not byte/255
    y = labels.astype(np.int64)
    return (X[:30], y[:30]), (X[30:45], y[30:45]), (X[45:], y[45:])


def _write_pickle(path, obj, pickler=pickle.Pickler):
    with gzip.open(path, "wb") as handle:
        pickler(handle, protocol=2).dump(obj)
    return path


class _Python2StylePickler(pickle._Pickler):
    """Writes bytes as Python 2 str opcodes (BINSTRING), as the book's Python 2 file does."""

    dispatch = dict(pickle._Pickler.dispatch)

    def _save_bytes_as_str(self, data):
        self.write(pickle.BINSTRING + struct.pack("<i", len(data)) + data)
        self.memoize(data)

    dispatch[bytes] = _save_bytes_as_str


def test_protocol_2_pickle_of_real_data_loads(tmp_path, book_parts):
    path = _write_pickle(tmp_path / "mnist.pkl.gz", book_parts)
    loaded = load_mnist(path)
    for (X, y), (X_expected, y_expected) in zip(loaded, book_parts):
        np.testing.assert_array_equal(X, X_expected)
        np.testing.assert_array_equal(y, y_expected)
        assert X.dtype == np.float32 and X.flags.c_contiguous and y.dtype == np.int64
    (X_train, y_train), (X_val, _), _ = load_mnist(tmp_path, split="standard", dtype="float64")
    assert X_train.shape == (45, 784) and X_val.shape == (0, 784)
    np.testing.assert_array_equal(y_train, np.concatenate([book_parts[0][1], book_parts[1][1]]))


def test_python_2_pickle_with_old_numpy_module_name_loads(tmp_path, book_parts):
    path = tmp_path / "py2.pkl"
    _write_pickle(path, book_parts, _Python2StylePickler)
    data = gzip.decompress(path.read_bytes())
    assert b"numpy._core.multiarray\n" in data and b"_codecs" not in data
    path = write_bytes(tmp_path / "mnist.pkl.gz", data.replace(b"numpy._core.multiarray\n", b"numpy.core.multiarray\n"),
                       compress=True)
    (X_train, y_train), _, _ = read_mnist_pickle(path)
    np.testing.assert_array_equal(X_train, book_parts[0][0])
    np.testing.assert_array_equal(y_train, book_parts[0][1])


class _RunsShell:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


def test_pickle_calling_os_system_is_rejected_without_running(tmp_path, book_parts):
    marker = tmp_path / "pwned"
    evil = (book_parts[0], book_parts[1], (book_parts[2][0], _RunsShell(marker)))
    path = _write_pickle(tmp_path / "mnist.pkl.gz", evil)
    with pytest.raises(DataError, match=r"refers to (posix|os|nt)\.system.*refusing to load it") as caught:
        load_mnist(path)
    assert str(path) in str(caught.value)
    assert not marker.exists()


@pytest.mark.parametrize("obj, message", [
    (collections.OrderedDict(a=1), "refers to collections.OrderedDict"),
    (np.float64(1.5), "refers to numpy"),  # numpy scalars are not arrays
])
def test_pickle_with_a_disallowed_global_is_rejected(tmp_path, book_parts, obj, message):
    path = _write_pickle(tmp_path / "mnist.pkl.gz", (book_parts[0], book_parts[1], (book_parts[2][0], obj)))
    with pytest.raises(DataError, match=message):
        read_mnist_pickle(path)


@pytest.mark.parametrize("replace, message", [
    (lambda parts: (parts[0], parts[1], (parts[2][0], parts[2][1].tolist())), "test labels are a list, not a NumPy array"),
    (lambda parts: (parts[0], parts[1], (parts[2][0], "labels")), "test labels are a str"),
    (lambda parts: (parts[0], parts[1]), "got tuple"),
    (lambda parts: (parts[0], parts[1], parts[2][0]), "the test entry is a ndarray"),
    (lambda parts: {"train": parts[0]}, "got dict"),
    (lambda parts: (parts[0], parts[1], (parts[2][0], parts[2][1].astype(object))), "have dtype object"),
    (lambda parts: (parts[0], parts[1], (parts[2][0] * 3, parts[2][1])), r"outside \[0, 1\]"),
])
def test_pickle_with_non_array_or_wrong_content_is_rejected(tmp_path, book_parts, replace, message):
    path = _write_pickle(tmp_path / "mnist.pkl.gz", replace(book_parts))
    with pytest.raises(DataError, match=message) as caught:
        load_mnist(path)
    assert str(path) in str(caught.value)


@pytest.mark.parametrize("data, message", [
    (b"\x80\x02", "not a readable MNIST pickle"),
    (b"\x80\x02cbuiltins\neval\n.", "refers to builtins.eval"),
    (b"\x80\x02P1\n.", "persistent ids"),
    (pickle.dumps([1, 2, 3], protocol=2), "expected a tuple of 3"),
])
def test_broken_or_hostile_pickle_bytes(tmp_path, data, message):
    path = write_bytes(tmp_path / "mnist.pkl.gz", data, compress=True)
    with pytest.raises(DataError, match=message):
        read_mnist_pickle(path)
