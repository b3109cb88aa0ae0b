"""``fastnet export MODEL OUT.onnx``: a model file as an ONNX model (see ``fastnet.onnx_export``)."""
import sys

from ..files.outputs import check_output
from ..network import Network
from ..onnx_export import DEFAULT_OPSET, ONNX, OPSETS
from .checks import add_force


def add(commands):
    """Register ``fastnet export``."""
    export = commands.add_parser(
        "export", help="write a model as ONNX (needs the onnx extra)",
        description="Write MODEL as an ONNX model: one Gemm and activation per layer, the "
                    "input standardization folded in, a symbolic batch dimension.")
    export.add_argument("model", metavar="MODEL", help="model.npz or a checkpoint")
    export.add_argument("out", metavar="OUT.onnx", help="the ONNX file to write")
    export.add_argument("--opset", type=int, choices=OPSETS, metavar="N",
                        help=f"ONNX opset, {OPSETS.start} to {OPSETS.stop - 1} (default "
                             f"{DEFAULT_OPSET})")
    add_force(export, "an ONNX model written by fastnet")
    export.set_defaults(run=export_command)


def export_command(args, parser):
    check_output(args.out, "OUT.onnx", ONNX, {"MODEL": args.model}, args.force)
    net = Network.load(args.model)
    try:
        net.to_onnx(args.out, opset=args.opset)
    except ImportError as missing:  # the onnx extra is not installed: one line, exit 1
        print(f"fastnet: error: {missing}", file=sys.stderr)
        return 1
    print(f"wrote {args.out}: {' -> '.join(map(str, net.sizes))}, {net.output} output"
          + (", standardization folded in" if net.standardize is not None else ""))
    return 0
