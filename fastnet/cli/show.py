"""``fastnet show MODEL``: the architecture and training state; first-layer weights as a PNG."""
from pathlib import Path

import numpy as np

from ..files.model_io import read_model_file
from ..files.outputs import check_output
from ..files.pictures import weight_tiles
from ..files.png import PNG, write_png
from ..network import Network
from .checks import add_force
from .scores import architecture


def add(commands):
    """Register ``fastnet show``."""
    show = commands.add_parser(
        "show", help="a model's architecture; its first-layer weights as a PNG",
        description="Print a model's architecture and training state; with --png, draw "
                    "the first layer's weights, one tile per hidden unit.")
    show.add_argument("model", metavar="MODEL", help="model.npz or a checkpoint")
    show.add_argument("--png", metavar="FILE", help="write the first layer's weights here")
    add_force(show, "a PNG image")
    show.set_defaults(run=show_command)


def show_command(args, parser):
    """``fastnet show MODEL``: architecture, training state, optional weight picture."""
    net, optimizer, header = read_model_file(args.model, Network)
    kind = "checkpoint" if optimizer is not None else "model"
    print(f"{kind:<8} {args.model} (format {header['format_version']}, written by fastnet "
          f"{header.get('fastnet_version', '?')})")
    print(f"network  {architecture(net)}")
    for l, (W, b) in enumerate(zip(net.weights, net.biases)):
        function = (net.activations + (net.output,))[l]
        print(f"  layer {l + 1}: {W.shape[0]} -> {W.shape[1]} {function}, "
              f"{W.size:,} weights + {b.size:,} biases; |w| mean {np.abs(W).mean():.3f}")
    print(f"         {net.n_parameters:,} parameters, {net.dtype.name}, init {net.init}, "
          f"seed {net.seed}, {net.epochs_trained} epochs trained")
    if optimizer is not None:
        print(f"optimizer {optimizer!r}")
        scores = optimizer.history["validation_accuracy"]
        best = f"; best validation accuracy {100 * max(scores):.2f}% at epoch " \
               f"{optimizer.best_epoch}" if scores else ""
        print(f"         {optimizer.epoch} epochs done{best}")
    if args.png and Path(args.png).suffix.lower() != ".png":
        parser.error(f"--png: {args.png!r} does not end in .png; fastnet writes PNG images "
                     "only, so pass a file name ending in .png")
    if args.png:
        check_output(args.png, "--png", PNG, {"MODEL": args.model}, args.force)
        tiles = weight_tiles(net.weights[0])
        write_png(args.png, tiles)
        print(f"weights  of the {net.sizes[1]} units of layer 1 drawn in {args.png} "
              f"({tiles.shape[1]} x {tiles.shape[0]} pixels; red positive, blue negative)")
    return 0
