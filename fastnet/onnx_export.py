"""Export a ``Network`` as an ONNX model: ``to_onnx(net, path)`` / ``net.to_onnx(path)``.

The graph is one ``Gemm`` (y = x·W + b, W in fastnet's (n_in, n_out) layout)
followed by the layer's activation per layer — ``Sigmoid``, ``Tanh`` or
``Relu`` for hidden layers; ``Softmax`` (axis 1), ``Sigmoid`` or nothing
(linear) for the output layer.  Input ``input`` is (batch, n_in) and output
``output`` (batch, n_out), in the network's dtype, with a symbolic batch
dimension named ``batch``; the output is what ``net.predict_proba`` returns.
When ``net.standardize`` is set, (x − mean) / std is folded into the first
layer (W' = W / std per row, b' = b − (mean / std)·W), so the ONNX model
takes raw features.

Default opset: 17 (``DEFAULT_OPSET``), IR version 8, which every current
ONNX runtime reads; ``OPSETS`` (13 to 19) are the opsets accepted, each
checked with onnxruntime by the tests.  The model passes ``onnx.checker.check_model`` before it
is written, atomically.  The ``onnx`` package is an optional dependency:
``pip install "fastnet[onnx]"``.
"""
from __future__ import annotations

import os
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from ._version import __version__
from .checks import integer
from .files.outputs import OutputKind, atomic_write, checked_path

if TYPE_CHECKING:  # network imports this module, so it is not imported here
    import onnx

    from .network import Network

DEFAULT_OPSET = 17
IR_VERSION = 8
# 13: Softmax's per-axis definition; 19: the newest that onnx>=1.14 and onnxruntime>=1.16 know
OPSETS = range(13, 20)
PROTOBUF_LIMIT = 2**31 - 1  # bytes: a single ONNX file cannot be larger
NETWORK_ATTRIBUTES = ("sizes", "activations", "output", "dtype", "weights", "biases")  # what is exported
HIDDEN_OPS = {"sigmoid": "Sigmoid", "tanh": "Tanh", "relu": "Relu"}
OUTPUT_OPS = {"sigmoid": "Sigmoid", "softmax": "Softmax", "linear": None}
# how the files of ``to_onnx`` begin: ir_version (field 1), then producer_name (field 2) "fastnet"
ONNX = OutputKind("an ONNX model written by fastnet", rb"\x08[\x01-\x7f]\x12\x07fastnet")


def _onnx() -> ModuleType:
    try:
        import onnx
    except ImportError as missing:
        raise ImportError("ONNX export needs the onnx package, which is not installed; install it "
                          "with: pip install \"fastnet[onnx]\"") from missing
    return onnx


def folded_layers(net: Network) -> tuple[list[NDArray], list[NDArray]]:
    """Per layer (W (n_in, n_out), b (n_out,)) in the network's dtype, the
    input standardization folded into the first layer (computed in float64)."""
    weights = [np.array(W) for W in net.weights]
    biases = [np.array(b) for b in net.biases]
    scaling = getattr(net, "standardize", None)
    if scaling is not None:
        W = net.weights[0].astype(np.float64)
        weights[0] = (W / scaling.std[:, None]).astype(net.dtype)
        biases[0] = (net.biases[0] - (scaling.mean / scaling.std) @ W).astype(net.dtype)
    return weights, biases


def build_model(net: Network, opset: int | None = None) -> onnx.ModelProto:
    """The ``onnx.ModelProto`` of ``net`` (checked); see the module docstring."""
    onnx = _onnx()
    from onnx import TensorProto, helper, numpy_helper
    opset = DEFAULT_OPSET if opset is None else integer("opset", opset, OPSETS.start)
    if opset not in OPSETS:
        raise ValueError(f"opset: {opset} is not one fastnet tests its ONNX files with; pass one "
                         f"of {OPSETS.start}..{OPSETS.stop - 1} (default {DEFAULT_OPSET})")
    size = sum(W.nbytes + b.nbytes for W, b in zip(net.weights, net.biases))
    if size >= PROTOBUF_LIMIT:
        raise ValueError(f"net: its parameters take {size:,} bytes, more than the 2 GiB that "
                         "one ONNX file can hold; export a smaller network")
    element = TensorProto.FLOAT if net.dtype == np.float32 else TensorProto.DOUBLE
    nodes, initializers = [], []
    current = "input"
    functions = [HIDDEN_OPS[a] for a in net.activations] + [OUTPUT_OPS[net.output]]
    for l, (W, b, op) in enumerate(zip(*folded_layers(net), functions)):
        initializers += [numpy_helper.from_array(W, f"W{l}"), numpy_helper.from_array(b, f"b{l}")]
        last = l == len(functions) - 1
        z = "output" if last and op is None else f"z{l}"
        nodes.append(helper.make_node("Gemm", [current, f"W{l}", f"b{l}"], [z], name=f"gemm{l}"))
        current = z
        if op is not None:
            a = "output" if last else f"a{l}"
            extra: dict[str, Any] = {"axis": 1} if op == "Softmax" else {}
            nodes.append(helper.make_node(op, [z], [a], name=f"{op.lower()}{l}", **extra))
            current = a
    graph = helper.make_graph(
        nodes, "fastnet", [helper.make_tensor_value_info("input", element, ["batch", net.sizes[0]])],
        [helper.make_tensor_value_info("output", element, ["batch", net.sizes[-1]])],
        initializer=initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)],
                              ir_version=IR_VERSION, producer_name="fastnet",
                              producer_version=__version__,
                              doc_string=f"fastnet {net!r}" + (
                                  "; input standardization folded into layer 0"
                                  if getattr(net, "standardize", None) is not None else ""))
    onnx.checker.check_model(model)
    return model


def to_onnx(net: Network, path: str | os.PathLike[str], opset: int | None = None) -> Path:
    """Write ``net`` as an ONNX model to ``path`` (atomically); returns the path."""
    if not all(hasattr(net, name) for name in NETWORK_ATTRIBUTES):
        raise TypeError(f"net: expected a fastnet.Network, got {type(net).__name__}")
    target = checked_path("path", path)
    data = build_model(net, opset).SerializeToString()
    with atomic_write(target) as handle:
        handle.write(data)
    return target
