"""ONNX export: onnxruntime's outputs equal predict_proba for every activation x output."""
import itertools

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")  # guard only: CI installs the onnx and test extras
ort = pytest.importorskip("onnxruntime")

from fastnet import Network  # noqa: E402
from fastnet.cli import main  # noqa: E402
from fastnet.onnx_export import DEFAULT_OPSET, OPSETS, build_model, to_onnx  # noqa: E402
from fastnet.standardize import Standardize  # noqa: E402


def run(path, X):
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(["output"], {"input": X})[0]


@pytest.mark.parametrize("activation, output", list(itertools.product(
    ("sigmoid", "tanh", "relu"), ("softmax", "sigmoid", "linear"))))
def test_onnxruntime_gives_predict_proba(tmp_path, activation, output):
    net = Network([6, 9, 7, 4], activation=activation, output=output, seed=3)
    X = np.random.default_rng(0).standard_normal((33, 6)).astype(np.float32)
    net.to_onnx(tmp_path / "net.onnx")
    got = run(tmp_path / "net.onnx", X)
    assert got.dtype == np.float32 and got.shape == (33, 4)
    np.testing.assert_allclose(got, net.predict_proba(X), rtol=0, atol=1e-5)
    # the batch dimension is symbolic: one row works as well as 33
    np.testing.assert_allclose(run(tmp_path / "net.onnx", X[:1]), net.predict_proba(X[:1]), atol=1e-5)


def test_graph_is_one_gemm_and_activation_per_layer_with_the_stated_opset():
    model = build_model(Network([5, 8, 3], activation="relu", output="softmax", seed=0))
    assert [node.op_type for node in model.graph.node] == ["Gemm", "Relu", "Gemm", "Softmax"]
    assert model.opset_import[0].version == DEFAULT_OPSET
    assert model.graph.input[0].type.tensor_type.shape.dim[0].dim_param == "batch"
    onnx.checker.check_model(model)
    assert [n.op_type for n in build_model(Network([5, 3], output="linear", seed=0)).graph.node] == ["Gemm"]


@pytest.mark.parametrize("opset", OPSETS)
def test_every_accepted_opset_runs_in_onnxruntime(tmp_path, opset):
    net = Network([5, 8, 3], activation="tanh", output="softmax", seed=1)
    X = np.random.default_rng(4).standard_normal((9, 5)).astype(np.float32)
    net.to_onnx(tmp_path / "net.onnx", opset=opset)
    assert onnx.load(tmp_path / "net.onnx").opset_import[0].version == opset
    np.testing.assert_allclose(run(tmp_path / "net.onnx", X), net.predict_proba(X), atol=1e-5)


@pytest.mark.parametrize("opset", [12, OPSETS.stop, 999])
def test_an_untested_opset_is_refused_before_writing(tmp_path, capsys, opset):
    net = Network([4, 3], seed=0)
    with pytest.raises(ValueError, match="opset"):
        net.to_onnx(tmp_path / "net.onnx", opset=opset)
    net.save(tmp_path / "m.npz")
    with pytest.raises(SystemExit) as usage:
        main(["export", str(tmp_path / "m.npz"), str(tmp_path / "net.onnx"), "--opset", str(opset)])
    assert usage.value.code == 2 and "--opset: invalid choice" in capsys.readouterr().err
    assert not (tmp_path / "net.onnx").exists()


def test_standardization_is_folded_into_the_first_layer(tmp_path):
    rng = np.random.default_rng(1)
    raw = rng.normal(50.0, 20.0, (40, 6))
    net = Network([6, 10, 3], activation="tanh", seed=2)
    net.standardize = Standardize.fit(raw)
    net.to_onnx(tmp_path / "net.onnx")
    expected = net.predict_proba(net.standardize.apply(raw.astype(np.float32)))
    np.testing.assert_allclose(run(tmp_path / "net.onnx", raw.astype(np.float32)), expected, atol=1e-5)


def test_float64_networks_export_as_double(tmp_path):
    net = Network([4, 5, 2], dtype="float64", seed=0)
    X = np.random.default_rng(2).random((7, 4))
    net.to_onnx(tmp_path / "net.onnx")
    np.testing.assert_allclose(run(tmp_path / "net.onnx", X), net.predict_proba(X), atol=1e-12)


def test_bad_arguments_are_named_and_nothing_is_left_behind(tmp_path):
    net = Network([4, 5, 2], seed=0)
    with pytest.raises(ValueError, match="opset"):
        net.to_onnx(tmp_path / "net.onnx", opset=11)
    with pytest.raises(TypeError, match="path"):
        net.to_onnx(3)
    with pytest.raises(FileNotFoundError):
        net.to_onnx(tmp_path / "missing" / "net.onnx")
    with pytest.raises(TypeError, match="net: expected a fastnet.Network, got list"):
        to_onnx([[1.0]], tmp_path / "net.onnx")
    assert list(tmp_path.iterdir()) == []


def test_a_missing_onnx_package_is_named_with_the_extra(monkeypatch, tmp_path):
    import sys
    monkeypatch.setitem(sys.modules, "onnx", None)
    with pytest.raises(ImportError, match=r"pip install \"fastnet\[onnx\]\""):
        Network([4, 2], seed=0).to_onnx(tmp_path / "net.onnx")


def test_a_network_too_large_for_one_onnx_file_says_why(monkeypatch, tmp_path):
    import fastnet.onnx_export
    net = Network([4, 5, 2], seed=0)
    monkeypatch.setattr(fastnet.onnx_export, "PROTOBUF_LIMIT", 100)  # instead of 2 GiB
    with pytest.raises(ValueError, match="more than the 2 GiB that one ONNX file can hold"):
        net.to_onnx(tmp_path / "net.onnx")
    assert not (tmp_path / "net.onnx").exists()


def test_fastnet_export_without_onnx_is_a_one_line_error(monkeypatch, tmp_path, capsys):
    import sys

    from fastnet.cli import main
    Network([4, 2], seed=0).save(tmp_path / "m.npz")
    monkeypatch.setitem(sys.modules, "onnx", None)
    assert main(["export", str(tmp_path / "m.npz"), str(tmp_path / "m.onnx")]) == 1
    assert capsys.readouterr().err.startswith("fastnet: error: ONNX export needs the onnx package")
    assert not (tmp_path / "m.onnx").exists()
