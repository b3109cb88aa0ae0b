"""The ``fastnet`` command (also ``python -m fastnet``): one module per command.

    fastnet train [--preset NAME] [flags]   train on MNIST; outputs in a run folder
    fastnet train --resume DIR              continue an interrupted run exactly
    fastnet evaluate MODEL [--data PATH]    accuracy, cost and confusion matrix
    fastnet show MODEL [--png FILE]         the architecture; first-layer weights as tiles
    fastnet predict MODEL --data FILE       predictions for new rows, as CSV (cli/predict.py)
    fastnet export MODEL OUT.onnx           the model as ONNX (cli/export.py)
    fastnet bench [ARGS]                    the benchmark suite (source checkouts only)
    fastnet sweep --grid NAME=VALUES ...    many runs on dask.distributed (cli/sweep.py)
    fastnet tune --data PATH --budget MIN   successive halving within a time budget
    fastnet compile [--dtype D] [--layout L]  compile the kernels ahead (cli/compile.py)

Exit status: 0 done; 1 an error fastnet reports in one line (missing or bad
data, a bad model file, training diverged); 2 a usage error (unknown flag,
bad value); 130 interrupted, 143 terminated by SIGTERM (the run folder can be
resumed); 141 output cut short by a closed pipe.  Set
FASTNET_DEBUG=1 to get tracebacks instead of one-line errors.
"""
import argparse
import os
import sys

from .._version import __version__
from ..kernels.blas import describe as describe_blas
from ..kernels.lanes import describe as describe_lanes
from . import bench, compile, evaluate, export, predict, show, sweep, train, tune
from .checks import INTERRUPTED

BROKEN_PIPE = 141  # 128 + SIGPIPE, what a shell reports for a Unix tool cut off by `head`
COMMANDS = (train, evaluate, show, predict, export, bench, sweep, tune, compile)  # each with add(commands)


def main(argv=None):
    """Run the command line ``argv`` (default: sys.argv[1:]); returns the exit status."""
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser()
    if argv[:1] == ["bench"]:  # every argument after it belongs to bench.compare
        args = argparse.Namespace(run=bench.bench_command, arguments=argv[1:], parser=parser)
    else:
        args, unknown = parser.parse_known_args(argv)
        if unknown:  # named by the subcommand, with its usage line (argparse: the top level's)
            args.parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    try:
        return args.run(args, args.parser)  # the subcommand's parser: its usage line
    except BrokenPipeError:  # e.g. `fastnet evaluate m.npz | head -1`: stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return BROKEN_PIPE
    except KeyboardInterrupt:
        print("fastnet: interrupted", file=sys.stderr)
        return INTERRUPTED
    except (ValueError, TypeError, OSError, ArithmeticError) as error:
        if os.environ.get("FASTNET_DEBUG"):
            raise
        print(f"fastnet: error: {error}", file=sys.stderr)
        return 1


def build_parser():
    """The argparse parser of every subcommand."""
    parser = argparse.ArgumentParser(
        prog="fastnet", description="Train fully-connected networks on MNIST, fast, on a CPU.")
    parser.add_argument("--version", action="version",
                        version=f"fastnet {__version__}, kernels: {describe_lanes()}, "
                                f"BLAS: {describe_blas()}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in COMMANDS:
        command.add(commands)
    for command in commands.choices.values():  # usage errors found after parsing name it
        command.set_defaults(parser=command)
    return parser
