"""fastnet.data.table: users' CSV files, .npz feature tables, IDX folders of any shape; splits."""
import gzip

import numpy as np
import pytest

from data_files import write_mnist_folder
from fastnet.data import DataError
from fastnet.data.table import (encode_labels, is_table, read_features, read_table,
                                split_table, Table)


def write(path, text):
    path.write_text(text)
    return path


def test_csv_with_header_and_text_labels(tmp_path):
    path = write(tmp_path / "t.csv", "a,b,kind\n1,2.5,cat\n3,-4e1,dog\n\n5,6,cat\n")
    table = read_table(path)
    X, labels = table.parts["all"]
    np.testing.assert_array_equal(X, [[1, 2.5], [3, -40], [5, 6]])
    assert labels.tolist() == ["cat", "dog", "cat"] and table.feature_names == ["a", "b"]
    assert table.classes().tolist() == ["cat", "dog"] and is_table(path)


def test_csv_without_header_and_label_column_by_index_or_name(tmp_path):
    path = write(tmp_path / "t.csv", "7,1,2\n3,3,4\n")
    X, labels = read_table(path, label_column="0").parts["all"]
    np.testing.assert_array_equal(X, [[1, 2], [3, 4]])
    assert labels.dtype == np.int64 and labels.tolist() == [7, 3]
    assert read_table(path, label_column="-2").parts["all"][1].tolist() == [1, 3]
    with pytest.raises(DataError, match="'kind' is not a column .* its first line holds '7', '1', '2'"):
        read_table(path, label_column="kind")
    named = write(tmp_path / "n.csv", "kind,x\n1,0.5\n2,0.25\n")
    assert read_table(named, label_column="kind").parts["all"][1].tolist() == [1, 2]
    with pytest.raises(DataError, match="'size' is not a column"):
        read_table(named, label_column="size")
    with pytest.raises(DataError, match="index 5 is outside"):
        read_table(named, label_column="5")


@pytest.mark.parametrize("text, problem", [
    ("a,b,y\n1,2,0\n3,x,1\n", r"line 3, column 2 \(b\): 'x' is not a finite number"),
    ("1,2,0\n3,4,1\n5,nan,0\n", r"line 3, column 2 \(x1\): 'nan'"),
    ("1,2,0\n3,4\n", "line 2 has 2 columns but line 1 has 3"),
    ("", "is empty"),
    ("a,b,y\n", "header line but no samples"),
])
def test_bad_csv_files_name_line_and_column(tmp_path, text, problem):
    with pytest.raises(DataError, match=problem):
        read_table(write(tmp_path / "t.csv", text))


def test_an_empty_label_is_refused_with_its_line(tmp_path):
    path = write(tmp_path / "t.csv", "a,b,y\n1,2,0\n3,4, \n5,6,1\n")
    with pytest.raises(DataError, match=r"line 3, column 3 \(y\): the label is empty"):
        read_table(path)
    with pytest.raises(DataError, match="line 1, column 3 .* the label is empty"):
        read_table(write(tmp_path / "u.csv", "1,2,\n3,4,1\n"))  # not a header: a sample
    # rows to predict from skip the label column, so their labels may be missing
    np.testing.assert_array_equal(read_features(path, 2), [[1, 2], [3, 4], [5, 6]])


@pytest.mark.parametrize("label", ["nan", "NaN", "inf", "-Infinity"])
def test_a_label_that_is_not_a_finite_number_is_refused_as_missing(tmp_path, label):
    """Such a label used to become a text class of its own."""
    path = write(tmp_path / "t.csv", f"a,b,y\n1,2,0\n3,4,{label}\n5,6,1\n")
    with pytest.raises(DataError, match=rf"line 3, column 3 \(y\): the label '{label}' is not a "
                                        r"finite number \(a missing value\)"):
        read_table(path)


def test_equal_numbers_are_one_class(tmp_path):
    path = write(tmp_path / "t.csv", "1,0\n2,0.0\n3,-0\n4,1.00\n5,1e0\n6,12345678901234567\n")
    labels = read_table(path).parts["all"][1]
    assert labels.dtype == np.int64 and labels.tolist() == [0, 0, 0, 1, 1, 12345678901234567]
    path = write(tmp_path / "u.csv", "1,0.5\n2,0.50\n3,5e-1\n4,2.0\n5,cat\n")
    assert read_table(path).classes().tolist() == ["0.5", "2", "cat"]


@pytest.mark.parametrize("first_line, labels, label_column, n_samples", [
    ("4,5,y", "12", None, 2),        # a word above numeric labels
    ("a,5,6", "12", None, 2),        # a word above numeric features
    ("4,5,6", "12", None, 3),        # numbers: a sample
    ("4,5,kind", "ab", None, 3),     # a word among text labels: a sample
    ("4,5,kind", "ab", "kind", 2),   # ... unless it names the label column
])
def test_which_first_lines_are_headers(tmp_path, first_line, labels, label_column, n_samples):
    path = write(tmp_path / "t.csv", f"{first_line}\n0.5,0.25,{labels[0]}\n0.75,0.125,{labels[1]}\n")
    X = read_table(path, label_column).parts["all"][0]
    assert len(X) == n_samples and X[-1].tolist() == [0.75, 0.125]


@pytest.mark.parametrize("first_line", ["1,2,3", "0,1,2", "0.0,1,2.0"])
def test_a_line_of_column_numbers_needs_to_be_called_a_header_or_a_sample(tmp_path, first_line):
    path = write(tmp_path / "t.csv", f"{first_line}\n0.5,0.25,1\n0.75,0.125,2\n")
    with pytest.raises(DataError, match="is the column numbers, a header or a sample; .* --header"):
        read_table(path)
    header = read_table(path, header=True)
    assert len(header.parts["all"][0]) == 2 and header.feature_names == first_line.split(",")[:2]
    assert read_table(path, header=False).parts["all"][1].tolist() == [float(first_line.split(",")[-1]), 1, 2]
    with pytest.raises(DataError, match=r"line 1, column 1 \(x0\): 'a' is not a finite number"):
        read_table(write(tmp_path / "u.csv", "a,b,y\n1,2,0\n"), header=False)
    with pytest.raises(DataError, match="'y' is a name, but the first line .* is a sample"):
        read_table(tmp_path / "u.csv", "y", header=False)
    np.savez(tmp_path / "t.npz", X=np.ones((2, 2)), y=np.arange(2))
    with pytest.raises(DataError, match="header: applies to CSV files only"):
        read_table(tmp_path / "t.npz", header=True)


def test_duplicate_header_names_are_refused(tmp_path):
    path = write(tmp_path / "t.csv", "a,b,a,y,b\n1,2,3,4,5\n")
    with pytest.raises(DataError, match=r"header \(line 1\) names 'a', 'b' more than once"):
        read_table(path)


@pytest.mark.parametrize("separator", [";", "\t"])
def test_semicolons_or_tabs_separate_fields_when_the_first_line_holds_them(tmp_path, separator):
    path = write(tmp_path / "t.csv", f"a{separator}b{separator}y\n1.5{separator}2{separator}0\n"
                                     f"3{separator}-4{separator}1\n")
    table = read_table(path)
    np.testing.assert_array_equal(table.parts["all"][0], [[1.5, 2], [3, -4]])
    assert table.feature_names == ["a", "b"]
    write(path, f"a{separator}b{separator}y\n1,5{separator}2{separator}0\n")
    with pytest.raises(DataError, match=r"line 2, column 1 \(a\): '1,5' .* numbers \(with a decimal point"):
        read_table(path)
    with pytest.raises(DataError, match="line 1 has 1 column; .* separated by commas"):
        read_table(write(tmp_path / "one.csv", "1 2 0\n3 4 1\n"))


def test_a_gzipped_csv_file(tmp_path):
    path = tmp_path / "t.csv.gz"
    path.write_bytes(gzip.compress(b"a,b,y\n1,2,0\n3,4,1\n"))
    assert is_table(path)
    np.testing.assert_array_equal(read_table(path).parts["all"][0], [[1, 2], [3, 4]])
    np.testing.assert_array_equal(read_features(path, 2), [[1, 2], [3, 4]])
    path.write_bytes(gzip.compress(b"a,b,y\n1,2,0\n3,4,1\n")[:-6])
    with pytest.raises(DataError, match="t.csv.gz: the gzip stream is truncated"):
        read_table(path)


def test_npz_of_split_parts_is_a_table_unless_it_holds_mnist_digits(tmp_path):
    rng = np.random.default_rng(0)
    X, y = rng.random((10, 4)), np.arange(10) % 2
    np.savez(tmp_path / "t.npz", x_train=X[:8], y_train=y[:8], x_test=X[8:], y_test=y[8:])
    assert is_table(tmp_path / "t.npz")
    digits = rng.integers(0, 256, (10, 28, 28), dtype=np.uint8)
    np.savez(tmp_path / "m.npz", x_train=digits, y_train=y, x_test=digits, y_test=y)
    np.savez(tmp_path / "flat.npz", x_train=digits.reshape(10, 784), y_train=y, x_test=digits,
             y_test=y)
    assert not is_table(tmp_path / "m.npz") and not is_table(tmp_path / "flat.npz")
    np.savez(tmp_path / "letters.npz", x_train=digits, y_train=y + 10, x_test=digits, y_test=y)
    np.savez(tmp_path / "signed.npz", x_train=digits, y_train=y - 1, x_test=digits, y_test=y)
    assert is_table(tmp_path / "letters.npz") and is_table(tmp_path / "signed.npz")


def test_npz_tables_whole_or_split(tmp_path):
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "whole.npz", X=rng.random((10, 3)), y=np.arange(10) % 2)
    table = read_table(tmp_path / "whole.npz")
    assert list(table.parts) == ["all"] and table.n_features == 3 and is_table(tmp_path / "whole.npz")
    images = rng.integers(0, 256, (6, 4, 5), dtype=np.uint8)
    np.savez(tmp_path / "split.npz", x_train=images, y_train=np.array(list("abcabc")),
             x_test=images[:2], y_test=np.array(list("ab")))
    table = read_table(tmp_path / "split.npz")
    assert list(table.parts) == ["training", "test"]
    np.testing.assert_allclose(table.parts["training"][0], images.reshape(6, 20) / 255)
    np.savez(tmp_path / "bad.npz", x_train=images, y_train=np.arange(6))
    with pytest.raises(DataError, match="expected the keys X and y"):
        read_table(tmp_path / "bad.npz")


@pytest.mark.parametrize("arrays, message", [
    (dict(X=np.ones((4, 2)), y=np.arange(3)), r": the labels are int64 of shape \(3,\)"),
    (dict(X=np.ones(4), y=np.arange(4)), r": the features are float64 of shape \(4,\)"),
    (dict(X=np.full((4, 2), np.nan), y=np.arange(4)), ": the features hold NaN"),
    (dict(x_train=np.ones((4, 2)), y_train=np.arange(3), x_test=np.ones((2, 2)), y_test=np.arange(2)),
     ": the training labels are int64"),
])
def test_bad_npz_parts_are_named_in_plain_words(tmp_path, arrays, message):
    """A one-part table's arrays are "the features" / "the labels"; a split one names its part."""
    np.savez(tmp_path / "t.npz", **arrays)
    with pytest.raises(DataError, match=message):
        read_table(tmp_path / "t.npz")


def test_idx_folders_of_any_image_shape(tmp_path):
    rng = np.random.default_rng(1)
    train = rng.integers(0, 256, (30, 8, 8), dtype=np.uint8), (np.arange(30) % 4 + 1).astype(np.uint8)
    test = rng.integers(0, 256, (8, 8, 8), dtype=np.uint8), (np.arange(8) % 4 + 1).astype(np.uint8)
    folder = write_mnist_folder(tmp_path / "set", train, test)
    assert is_table(folder)
    table = read_table(folder)
    assert table.parts["training"][0].shape == (30, 64) and table.classes().tolist() == [1, 2, 3, 4]
    digits = np.zeros((30, 28, 28), np.uint8)
    mnist_like = write_mnist_folder(tmp_path / "digits", (digits, train[1]), (digits[:8], test[1]))
    assert not is_table(mnist_like)  # 28 x 28 with labels 0..9: read as MNIST
    raw = write_mnist_folder(tmp_path / "raw", (digits, train[1] + 20), (digits[:8], test[1]), compress=False)
    assert is_table(raw)  # labels beyond 9: a table, also from uncompressed files


def test_split_is_stratified_seeded_and_covers_every_sample():
    labels = np.array([0] * 50 + [1] * 30 + [2] * 20)
    X = np.arange(100.0).reshape(100, 1)
    parts = split_table(Table({"all": (X, labels)}, ["x"], "t"), (0.6, 0.2, 0.2), seed=3)
    sizes = {name: np.bincount(y, minlength=3).tolist() for name, (_, y) in parts.items()}
    assert sizes == {"training": [30, 18, 12], "validation": [10, 6, 4], "test": [10, 6, 4]}
    together = np.sort(np.concatenate([Xp[:, 0] for Xp, _ in parts.values()]))
    np.testing.assert_array_equal(together, X[:, 0])
    again = split_table(Table({"all": (X, labels)}, ["x"], "t"), (0.6, 0.2, 0.2), seed=3)
    np.testing.assert_array_equal(again["test"][0], parts["test"][0])
    other = split_table(Table({"all": (X, labels)}, ["x"], "t"), (0.6, 0.2, 0.2), seed=4)
    assert not np.array_equal(other["test"][0], parts["test"][0])


def test_given_training_and_test_parts_lend_validation_from_training():
    X, labels = np.arange(40.0).reshape(40, 1), np.arange(40) % 2
    table = Table({"training": (X, labels), "test": (X[:4], labels[:4])}, ["x"], "t")
    parts = split_table(table, (0.8, 0.1, 0.1), seed=0)
    assert [len(y) for _, y in parts.values()] == [36, 4, 4]  # 0.1 / (0.8 + 0.1) of 40
    with pytest.raises(ValueError, match="split: expected three fractions"):
        split_table(table, (0.5, 0.2, 0.2))


@pytest.mark.parametrize("split", [(float("nan"), 0.1, 0.1), (0.8, float("nan"), 0.2),
                                   (float("inf"), 0, 0), (1.5, -0.25, -0.25), (0, 0.5, 0.5)])
def test_split_fractions_are_finite_numbers_from_0_to_1(split):
    with pytest.raises(ValueError, match="split: expected three fractions .* from 0 to 1"):
        split_table(Table({"all": (np.zeros((10, 1)), np.arange(10) % 2)}, ["x"], "t"), split)


def test_labels_become_unit_indices_and_unknown_ones_are_named():
    np.testing.assert_array_equal(encode_labels(np.array(["b", "a", "b"]), ["a", "b"], "f"), [1, 0, 1])
    np.testing.assert_array_equal(encode_labels(np.array([10, 2]), [2, 10], "f"), [1, 0])
    with pytest.raises(DataError, match="label 'c' is not one of the model's classes"):
        encode_labels(np.array(["c"]), ["a", "b"], "f")


def test_features_to_predict_with_or_without_the_label_column(tmp_path):
    np.testing.assert_array_equal(read_features(write(tmp_path / "a.csv", "1,2\n3,4\n"), 2, header=False),
                                  [[1, 2], [3, 4]])
    with pytest.raises(DataError, match="a header or a sample"):
        read_features(tmp_path / "a.csv", 2)
    np.testing.assert_array_equal(read_features(write(tmp_path / "b.csv", "x,y,k\n1,2,a\n"), 2), [[1, 2]])
    with pytest.raises(DataError, match="has 3 columns; the model takes 4 features"):
        read_features(tmp_path / "b.csv", 4)
    with pytest.raises(DataError, match=r"line 2, column 3 \(k\): 'a'"):
        read_features(tmp_path / "b.csv", 3)
    np.savez(tmp_path / "c.npz", X=np.ones((2, 2), np.float32))
    assert read_features(tmp_path / "c.npz", 2).shape == (2, 2)
