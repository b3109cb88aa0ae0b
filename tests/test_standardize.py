"""Standardize, and its optional, backward-compatible entry in model files."""
import json

import numpy as np
import pytest

from fastnet import ModelFileError, Network
from fastnet.standardize import Standardize


def test_statistics_and_application():
    X = np.array([[1.0, 5.0, 2.0], [3.0, 5.0, 4.0], [5.0, 5.0, 9.0]])
    scaling = Standardize.fit(X)
    np.testing.assert_allclose(scaling.mean, [3.0, 5.0, 5.0])
    np.testing.assert_allclose(scaling.std, [np.sqrt(8 / 3), 1.0, np.sqrt(26 / 3)])  # constant: 1
    Z = scaling.apply(X.astype(np.float32))
    assert Z.dtype == np.float32
    np.testing.assert_allclose(Z.mean(axis=0), 0.0, atol=1e-6)
    with pytest.raises(ValueError, match=r"X: expected shape \(n, 3\)"):
        scaling.apply(X[:, :2])
    with pytest.raises(ValueError, match="std: every entry must be positive"):
        Standardize([0.0], [0.0])


def test_model_files_keep_the_statistics(tmp_path):
    net = Network([3, 4, 2], seed=0)
    net.standardize = Standardize([1.0, 2.0, 3.0], [0.5, 1.0, 2.0])
    net.save(tmp_path / "m.npz")
    back = Network.load(tmp_path / "m.npz")
    np.testing.assert_array_equal(back.standardize.mean, [1.0, 2.0, 3.0])
    np.testing.assert_array_equal(back.standardize.std, [0.5, 1.0, 2.0])
    with np.load(tmp_path / "m.npz") as archive:
        assert json.loads(str(archive["header"][()]))["standardize"] is True


def test_files_without_the_entry_load_as_before(tmp_path):
    Network([3, 4, 2], seed=0).save(tmp_path / "m.npz")
    with np.load(tmp_path / "m.npz") as archive:
        header = json.loads(str(archive["header"][()]))
        assert "standardize" not in header and "standardize_mean" not in archive.files
    assert Network.load(tmp_path / "m.npz").standardize is None


def rewrite(path, header_change=None, **arrays):
    with np.load(path) as archive:
        contents = {name: archive[name] for name in archive.files}
    header = json.loads(str(contents["header"][()]))
    header.update(header_change or {})
    contents.update(arrays, header=np.array(json.dumps(header)))
    contents = {name: value for name, value in contents.items() if value is not None}
    np.savez(path, **contents)


@pytest.mark.parametrize("header, arrays, problem", [
    ({}, {"standardize_std": None}, "no 'standardize_std' array"),
    ({}, {"standardize_std": np.array([1.0, 0.0, 1.0])}, "zero or negative"),
    ({}, {"standardize_mean": np.ones(2)}, "standardize_mean is float64 of shape"),
    ({}, {"standardize_mean": np.array([1.0, np.nan, 1.0])}, "NaN"),
    ({"standardize": "yes"}, {}, "standardize is 'yes'"),
    ({"standardize": False}, {}, "entries fastnet does not write"),
])
def test_bad_statistics_are_refused(tmp_path, header, arrays, problem):
    net = Network([3, 4, 2], seed=0)
    net.standardize = Standardize([1.0, 2.0, 3.0], [0.5, 1.0, 2.0])
    net.save(tmp_path / "m.npz")
    rewrite(tmp_path / "m.npz", header, **arrays)
    with pytest.raises(ModelFileError, match=problem):
        Network.load(tmp_path / "m.npz")
