"""The IDX reader: real files, every corruption it must name, and random bytes (hypothesis)."""

import gzip
import struct
from datetime import timedelta

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fastnet import DataError, read_idx
from fastnet.data import parse_idx
from data_files import IDX_TYPE_CODES, idx_bytes, write_bytes

REAL_SHAPES = {
    "train-images-idx3-ubyte.gz": (60000, 28, 28),
    "train-labels-idx1-ubyte.gz": (60000,),
    "t10k-images-idx3-ubyte.gz": (10000, 28, 28),
    "t10k-labels-idx1-ubyte.gz": (10000,),
}


@pytest.mark.parametrize("name", sorted(REAL_SHAPES))
def test_real_files_have_mnist_shapes(mnist_dir, name):
    array = read_idx(mnist_dir / name)
    assert array.shape == REAL_SHAPES[name]
    assert array.dtype == np.uint8
    assert array.flags.writeable and array.flags.c_contiguous


def test_real_labels_start_with_the_known_digits(mnist_dir):
    assert read_idx(mnist_dir / "train-labels-idx1-ubyte.gz")[:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
    assert read_idx(mnist_dir / "t10k-labels-idx1-ubyte.gz")[:10].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]


@pytest.mark.parametrize("dtype", list(IDX_TYPE_CODES))
def test_every_idx_type_round_trips_to_native_order(dtype):
    array = (np.arange(24) - 7).reshape(2, 3, 4).astype(dtype)
    if dtype.kind == "u":
        array = np.arange(24, dtype=dtype).reshape(2, 3, 4)
    parsed = parse_idx(idx_bytes(array))
    assert parsed.shape == (2, 3, 4)
    assert parsed.dtype.isnative
    np.testing.assert_array_equal(parsed, array)


def test_compression_is_detected_by_content_not_name(tmp_path):
    array = np.arange(12, dtype=np.uint8).reshape(3, 4)
    raw_named_gz = write_bytes(tmp_path / "raw.gz", idx_bytes(array))
    gz_named_raw = write_bytes(tmp_path / "compressed-idx1-ubyte", idx_bytes(array), compress=True)
    np.testing.assert_array_equal(read_idx(raw_named_gz), array)
    np.testing.assert_array_equal(read_idx(gz_named_raw), array)


def test_empty_array_is_valid():
    assert parse_idx(idx_bytes(np.zeros((0, 28, 28), np.uint8))).shape == (0, 28, 28)


@pytest.mark.parametrize("data, problem", [
    (b"\x00\x00\x08", "only 3 bytes"),
    (b"\x00\x01\x08\x01" + struct.pack(">I", 1) + b"\x00", "bad magic number 0x00010801"),
    (b"\x00\x00\x07\x01" + struct.pack(">I", 1) + b"\x00", "bad magic number 0x00000701"),
    (b"PK\x03\x04" + bytes(20), "bad magic number"),
    (b"\x00\x00\x08\x00", "declares 0 dimensions"),
    (b"\x00\x00\x08\x21" + struct.pack(">33I", *[1] * 33) + b"\x00", "declares 33 dimensions"),
    (b"\x00\x00\x08\x03" + struct.pack(">3I", 0, 2**32 - 1, 2**32 - 1), "too large for any array"),
    (b"\x00\x00\x08\x03" + struct.pack(">2I", 5, 28), "truncated header"),
    (b"\x00\x00\x08\x01" + struct.pack(">I", 10) + bytes(9), "only 9 bytes follow"),
    (b"\x00\x00\x08\x01" + struct.pack(">I", 10) + bytes(11), "1 unexpected bytes"),
    (b"\x00\x00\x0c\x01" + struct.pack(">I", 2) + bytes(7), "(8 data bytes)"),
])
def test_malformed_idx_is_named(tmp_path, data, problem):
    path = write_bytes(tmp_path / "bad-idx1-ubyte", data)
    with pytest.raises(DataError) as caught:
        read_idx(path)
    assert str(path) in str(caught.value)
    assert problem in str(caught.value)


@pytest.fixture(scope="module")
def test_labels_gz():
    """A gzipped IDX file shaped like MNIST's t10k-labels: 10,000 labels."""
    labels = np.random.default_rng(0).integers(0, 10, 10000).astype(np.uint8)
    return gzip.compress(idx_bytes(labels), mtime=0)


def test_header_count_larger_than_data_in_real_file(tmp_path, test_labels_gz):
    data = gzip.decompress(test_labels_gz)
    inflated = data[:4] + struct.pack(">I", 10001) + data[8:]
    path = write_bytes(tmp_path / "t10k-labels-idx1-ubyte.gz", inflated, compress=True)
    with pytest.raises(DataError, match=r"promises shape \(10001,\).*only 10000 bytes follow"):
        read_idx(path)


def test_truncated_gzip_is_named(tmp_path, test_labels_gz):
    data = test_labels_gz
    path = write_bytes(tmp_path / "t10k-labels-idx1-ubyte.gz", data[: len(data) // 2])
    with pytest.raises(DataError, match="gzip stream is truncated") as caught:
        read_idx(path)
    assert str(path) in str(caught.value)


def test_corrupt_gzip_is_named(tmp_path, test_labels_gz):
    data = bytearray(test_labels_gz)
    data[100:110] = bytes(10)
    path = write_bytes(tmp_path / "t10k-labels-idx1-ubyte.gz", bytes(data))
    with pytest.raises(DataError, match="gzip data is corrupt"):
        read_idx(path)


def test_missing_file_and_wrong_argument_type(tmp_path):
    with pytest.raises(DataError, match="cannot read the file"):
        read_idx(tmp_path / "absent")
    with pytest.raises(TypeError, match="path: expected a str or os.PathLike"):
        read_idx(3)
    with pytest.raises(TypeError, match="data: expected bytes"):
        parse_idx("not bytes")


# Random input: the parser returns an array that matches its header, or raises DataError.
FUZZ = settings(max_examples=100, deadline=timedelta(seconds=2),
                suppress_health_check=[HealthCheck.too_slow])
VALID_SMALL = idx_bytes(np.arange(60, dtype=np.uint8).reshape(3, 4, 5))


def _parse_or_data_error(data):
    try:
        array = parse_idx(data)
    except DataError:
        return
    assert isinstance(array, np.ndarray) and array.dtype.isnative
    ndim = data[3] if data[:2] != b"\x1f\x8b" else array.ndim
    assert array.ndim == ndim


@FUZZ
@given(st.binary(max_size=300))
def test_random_bytes_parse_or_raise_data_error(data):
    _parse_or_data_error(data)


@FUZZ
@given(code=st.sampled_from(sorted(IDX_TYPE_CODES.values()) + [0, 7, 255]),
       sizes=st.lists(st.integers(0, 2**32 - 1) | st.integers(0, 6), max_size=6),
       body=st.binary(max_size=200))
def test_random_headers_parse_or_raise_data_error(code, sizes, body):
    _parse_or_data_error(struct.pack(f">BBBB{len(sizes)}I", 0, 0, code, len(sizes), *sizes) + body)


@FUZZ
@given(st.lists(st.tuples(st.integers(0, len(VALID_SMALL) - 1), st.integers(0, 255)), max_size=4),
       st.integers(0, len(VALID_SMALL) + 8), st.booleans())
def test_mutated_valid_file_parses_or_raises_data_error(flips, cut, compress):
    data = bytearray(VALID_SMALL + bytes(8))
    for position, value in flips:
        data[position] = value
    data = bytes(data[:cut])
    _parse_or_data_error(gzip.compress(data, mtime=0) if compress else data)


@FUZZ
@given(st.integers(0, 200), st.binary(max_size=16))
def test_damaged_gzip_parses_or_raises_data_error(cut, tail):
    _parse_or_data_error(gzip.compress(VALID_SMALL, mtime=0)[:cut] + tail)
