"""load_mnist: the real data, the two splits, where the data is found, folders and .npz files."""

import numpy as np
import pytest

import fastnet
from fastnet import DataError, load_mnist, read_idx
from fastnet.data import MNIST_FILES
from conftest import synthetic_digits
from data_files import idx_bytes, write_bytes, write_mnist_folder

TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


@pytest.fixture(scope="module")
def book(mnist_dir):
    return load_mnist(mnist_dir)


@pytest.fixture(scope="module")
def raw_train_images(mnist_dir):
    return read_idx(mnist_dir / "train-images-idx3-ubyte.gz").reshape(60000, 784)


def test_book_split_shapes_dtypes_and_range(book):
    (X_train, y_train), (X_val, y_val), (X_test, y_test) = book
    for X, y, count in ((X_train, y_train, 50000), (X_val, y_val, 10000), (X_test, y_test, 10000)):
        assert X.shape == (count, 784) and X.dtype == np.float32 and X.flags.c_contiguous
        assert y.shape == (count,) and y.dtype == np.int64
        assert X.min() == 0.0 and X.max() == 1.0


def test_label_counts_per_digit(book):
    (_, y_train), (_, y_val), (_, y_test) = book
    assert np.bincount(np.concatenate([y_train, y_val]), minlength=10).tolist() == TRAIN_COUNTS
    assert np.bincount(y_test, minlength=10).tolist() == TEST_COUNTS
    assert y_train[:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
    assert y_test[:10].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]


def test_book_split_is_first_50000_and_last_10000_scaled_by_255(book, raw_train_images):
    (X_train, _), (X_val, _), _ = book
    rows = slice(None, None, 7)  # every 7th image keeps the comparison cheap
    assert np.array_equal(X_train[rows], raw_train_images[:50000][rows] / np.float32(255))
    assert np.array_equal(X_val[rows], raw_train_images[50000:][rows] / np.float32(255))
    assert np.array_equal(X_val[-1], raw_train_images[-1] / np.float32(255))


def test_standard_split_real_data(mnist_dir, book, raw_train_images):
    (X_train, y_train), (X_val, y_val), (X_test, y_test) = load_mnist(mnist_dir, split="standard")
    assert X_train.shape == (60000, 784) and X_train.dtype == np.float32 and X_train.flags.c_contiguous
    assert X_val.shape == (0, 784) and X_val.dtype == np.float32
    assert y_val.shape == (0,) and y_val.dtype == np.int64
    assert np.array_equal(X_train[::7], raw_train_images[::7] / np.float32(255))
    assert np.array_equal(y_train, np.concatenate([book[0][1], book[1][1]]))
    assert np.array_equal(X_test, book[2][0]) and np.array_equal(y_test, book[2][1])


def test_float64_pixels_are_byte_over_255(tmp_path):
    images, labels = synthetic_digits(50)
    folder = write_mnist_folder(tmp_path / "small", (images, labels), (images[:5], labels[:5]))
    (X_train, y_train), _, _ = load_mnist(folder, split="standard", dtype=np.float64)
    assert X_train.dtype == np.float64 and X_train.flags.c_contiguous
    np.testing.assert_array_equal(X_train, images.reshape(50, 784) / 255.0)
    np.testing.assert_array_equal(y_train, labels)


@pytest.mark.parametrize("kwargs, error, message", [
    ({"split": "books"}, ValueError, "split: unknown value 'books'; pass one of 'book', 'standard'"),
    ({"split": 1}, TypeError, "split: expected a name"),
    ({"dtype": "float16"}, ValueError, "dtype: 'float16' is not supported; pass 'float32' or 'float64'"),
    ({"dtype": "int8"}, ValueError, "dtype: 'int8' is not supported"),
    ({"dtype": None}, TypeError, "dtype: expected 'float32' or 'float64', got None"),
    ({"dtype": "nonsense"}, TypeError, "dtype: expected"),
    ({"path": 5}, TypeError, "path: expected a str or os.PathLike"),
    ({"path": "/no/such/folder"}, DataError, "path='/no/such/folder' does not exist"),
    ({"mirrors": "http://127.0.0.1:9/"}, TypeError, "wrap a single URL in a list"),
])
def test_bad_arguments_are_named(kwargs, error, message):
    with pytest.raises(error, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_mnist(**kwargs)


def test_explicit_path_wins_over_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("FASTNET_DATA", str(tmp_path / "missing"))
    images, labels = synthetic_digits(20)
    folder = write_mnist_folder(tmp_path / "small", (images, labels), (images[:5], labels[:5]))
    (X_train, y_train), _, (X_test, _) = load_mnist(folder, split="standard")
    assert X_train.shape == (20, 784) and X_test.shape == (5, 784)
    np.testing.assert_array_equal(y_train, labels)


def test_environment_variable_is_used_before_cache(monkeypatch, tmp_path, user_cache):
    images, labels = synthetic_digits(12)
    folder = write_mnist_folder(tmp_path / "env", (images, labels), (images, labels), compress=False)
    monkeypatch.setenv("FASTNET_DATA", str(folder))
    (X_train, _), _, _ = load_mnist(split="standard", mirrors=["http://127.0.0.1:9/"])
    np.testing.assert_array_equal(X_train, images.reshape(12, 784) / np.float32(255))


def test_missing_environment_folder_is_named(monkeypatch, user_cache):
    monkeypatch.setenv("FASTNET_DATA", "/no/such/mnist")
    with pytest.raises(DataError, match=r"\$FASTNET_DATA='/no/such/mnist' does not exist"):
        load_mnist()


def test_user_cache_is_used_when_nothing_else_is_set(user_cache):
    images, labels = synthetic_digits(15)
    write_mnist_folder(user_cache, (images, labels), (images, labels))
    (X_train, _), _, _ = load_mnist(split="standard", download=False)
    np.testing.assert_array_equal(X_train, images.reshape(15, 784) / np.float32(255))


def test_nothing_found_without_download_says_how_to_point_at_data(user_cache):
    with pytest.raises(DataError) as caught:
        load_mnist(download=False)
    message = str(caught.value)
    assert "export FASTNET_DATA=/path/to/that/folder" in message
    assert 'fastnet.load_mnist(path="/path/to/that/folder")' in message
    assert str(user_cache) in message


def test_folder_with_some_files_missing_names_them(tmp_path):
    images, labels = synthetic_digits(10)
    folder = write_mnist_folder(tmp_path / "partial", (images, labels), (images, labels))
    (folder / MNIST_FILES[3]).unlink()
    with pytest.raises(DataError, match="not t10k-labels-idx1-ubyte.gz"):
        load_mnist(folder)


def test_folder_without_mnist_data(tmp_path):
    with pytest.raises(DataError, match="holds no MNIST data"):
        load_mnist(tmp_path)


def test_images_and_labels_count_mismatch_names_both_files(tmp_path):
    images, labels = synthetic_digits(10)
    folder = write_mnist_folder(tmp_path / "mismatch", (images, labels[:9]), (images, labels))
    with pytest.raises(DataError, match="holds 10 images but .*train-labels-idx1-ubyte.gz holds 9 labels") as caught:
        load_mnist(folder, split="standard")
    assert str(folder / "train-images-idx3-ubyte.gz") in str(caught.value)


def test_labels_file_where_images_belong(tmp_path):
    images, labels = synthetic_digits(10)
    folder = write_mnist_folder(tmp_path / "swapped", (images, labels), (images, labels))
    write_bytes(folder / MNIST_FILES[0], idx_bytes(labels), compress=True)
    with pytest.raises(DataError, match=r"expected MNIST images, uint8 of shape \(n, 28, 28\)"):
        load_mnist(folder, split="standard")


def test_book_split_needs_more_than_10000_training_images(tmp_path):
    images, labels = synthetic_digits(10)
    folder = write_mnist_folder(tmp_path / "small", (images, labels), (images, labels))
    with pytest.raises(DataError, match="split='book' holds out the last 10000 training images but the data has only 10"):
        load_mnist(folder)


@pytest.fixture(scope="module")
def npz_arrays():
    images, labels = synthetic_digits(10000)
    return {"x_train": np.concatenate([images[-20:], images]), "y_train": np.concatenate([labels[-20:], labels]),
            "x_test": images[:10].reshape(10, 784), "y_test": labels[:10]}


def test_npz_without_validation_keys_gets_the_book_split(npz_arrays, tmp_path):
    path = tmp_path / "mnist.npz"
    np.savez(path, **npz_arrays)
    (X_train, y_train), (X_val, y_val), (X_test, y_test) = load_mnist(path)
    assert X_train.shape == (20, 784) and X_val.shape == (10000, 784) and X_test.shape == (10, 784)
    np.testing.assert_array_equal(X_val, npz_arrays["x_train"][20:].reshape(-1, 784) / np.float32(255))
    np.testing.assert_array_equal(y_test, npz_arrays["y_test"])


def test_npz_with_validation_keys_and_float_pixels(npz_arrays, tmp_path):
    arrays = dict(npz_arrays, x_val=npz_arrays["x_test"] / 255.0, y_val=npz_arrays["y_test"].astype(np.int32))
    np.savez(tmp_path / "mnist.npz", **arrays)
    (X_train, _), (X_val, y_val), _ = load_mnist(tmp_path, dtype=np.float64)  # folder holding mnist.npz
    assert X_train.shape == (10020, 784)
    np.testing.assert_array_equal(X_val, arrays["x_val"])
    assert y_val.dtype == np.int64
    (X_train, y_train), (X_val, _), _ = load_mnist(tmp_path / "mnist.npz", split="standard")
    assert X_train.shape == (10030, 784) and X_val.shape == (0, 784)
    np.testing.assert_array_equal(y_train[-10:], npz_arrays["y_test"])


@pytest.mark.parametrize("change, message", [
    (lambda a: a.pop("y_test"), "missing key"),
    (lambda a: a.update(x_val=a["x_test"]), "missing key.*y_val"),
    (lambda a: a.update(x_test=a["x_test"] * 2.0), r"outside \[0, 1\]"),
    (lambda a: a.update(y_test=a["y_test"] + 5), "expected digits 0..9"),
    (lambda a: a.update(y_test=a["y_test"][:9]), "10 images but 9 labels"),
    (lambda a: a.update(x_train=a["x_train"][:, :27]), r"expected numbers of shape \(n, 784\)"),
    (lambda a: a.update(x_test=np.array(["a"] * 10)), "expected numbers"),
])
def test_bad_npz_is_named(npz_arrays, tmp_path, change, message):
    arrays = dict(npz_arrays)
    change(arrays)
    path = tmp_path / "bad.npz"
    np.savez(path, **arrays)
    with pytest.raises(DataError, match=message) as caught:
        load_mnist(path)
    assert str(path) in str(caught.value)


def _tables(folder):
    """A table of 4 features in each form load_mnist might be given: the .npz layouts
    (split parts, or X and y), a CSV file, a folder of IDX files of 2 x 2 images."""
    rng = np.random.default_rng(0)
    X, y = rng.random((30, 4)), np.arange(30) % 3
    np.savez(folder / "parts.npz", x_train=X[:20], y_train=y[:20], x_test=X[20:], y_test=y[20:])
    np.savez(folder / "whole.npz", X=X, y=y)
    (folder / "rows.csv").write_text("".join(",".join(map(str, [*r, c])) + "\n" for r, c in zip(X, y)))
    pixels = (X * 255).astype(np.uint8).reshape(30, 2, 2)
    write_mnist_folder(folder / "idx", (pixels[:20], y[:20].astype(np.uint8)),
                       (pixels[20:], y[20:].astype(np.uint8)))
    return [folder / name for name in ("parts.npz", "whole.npz", "rows.csv", "idx")]


def test_a_table_given_to_load_mnist_is_pointed_to_read_table(tmp_path):
    """It was refused as images not of shape (n, 784), a missing key or a bad pickle, with no
    word about reading it as the table it is."""
    for path in _tables(tmp_path):
        with pytest.raises(DataError, match=rf"{path} is a table of features, not MNIST: read it "
                                            r"with fastnet\.data\.read_table\(path\)"):
            load_mnist(path)
        assert fastnet.data.read_table(path).n_features == 4  # as the message says
    with pytest.raises(DataError) as caught:  # not a table: no such advice
        load_mnist(write_bytes(tmp_path / "notes.txt", b"not MNIST"))
    assert "read_table" not in str(caught.value)


def test_file_that_is_neither_npz_nor_pickle(tmp_path):
    path = write_bytes(tmp_path / "notes.txt", b"hello, this is not MNIST")
    with pytest.raises(DataError, match="not a readable MNIST pickle.* or a table of your own as "
                                        r"a \.csv file$"):  # a .tsv or .txt table: name it .csv
        load_mnist(path)
