"""The ``fastnet`` command (also ``python -m fastnet``).

    fastnet train [--preset NAME] [flags]   train on MNIST; outputs in a run folder
    fastnet train --resume DIR              continue an interrupted run exactly
    fastnet evaluate MODEL [--data PATH]    accuracy, cost and confusion matrix
    fastnet show MODEL [--png FILE]         the architecture; first-layer weights as tiles
    fastnet predict MODEL --data FILE       predictions for new rows, as CSV (cli_data.py)
    fastnet export MODEL OUT.onnx           the model as ONNX (cli_export.py)
    fastnet bench [ARGS]                    the benchmark suite (source checkouts only)
    fastnet sweep --grid NAME=VALUES ...    many runs on dask.distributed (fastnet.cli_sweep)
    fastnet tune --data PATH --budget MIN   successive halving within a time budget

Exit status: 0 done; 1 an error fastnet reports in one line (missing or bad
data, a bad model file, training diverged); 2 a usage error (unknown flag,
bad value); 130 interrupted, 143 terminated by SIGTERM (the run folder can be
resumed); 141 output cut short by a closed pipe.  Set
FASTNET_DEBUG=1 to get tracebacks instead of one-line errors.
"""
import argparse
import os
import secrets
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

from ._version import __version__
from .checks import DTYPES
from .checks import threads as check_threads
from .cli_data import (add_csv_flags, add_predict, add_table_flags, evaluate_table, load_run_data,
                       needs_table_evaluation)
from .cli_export import add_export
from .costs import COSTS, OUTPUTS
from .kernels.blas import describe as describe_blas
from .kernels.lanes import describe as describe_lanes
from .data import load_mnist, locate_mnist
from .data.table import is_table, refuse_csv_flags
from .files.outputs import check_output
from .files.model_io import read_model_file
from .network import HIDDEN, INITS, Network
from .optim import HISTORY_KEYS
from .training import format_epoch
from .files.pictures import MatplotlibMissing, weight_tiles
from .files.png import PNG, write_png
from .presets import DEFAULT_PRESET, PRESETS
from .recipe import Recipe, parse_schedule
from .runs import MODEL, RunFolder
from . import cli_second_order
from .cli_checks import (TERMINATED, Terminated, add_force, announce_compilation, check_data_fits,
                           preset_line, terminate_as_interrupt)

ACTIVATIONS = tuple(HIDDEN)
RECIPE_FLAGS = ("sizes", "activation", "output", "cost", "init", "dtype", "epochs", "batch_size",
                "eta", "momentum", "nesterov", "l2", "l1", "dropout", "schedule", "early_stopping",
                "expand", "distort", "seed", "limit",
                "hidden", "label_column", "header", "split", "standardize")
RESUME_FLAGS = ("epochs",)  # recipe flags that may change when resuming
INTERRUPTED = 130
BROKEN_PIPE = 141  # 128 + SIGPIPE, what a shell reports for a Unix tool cut off by `head`


def main(argv=None):
    """Run the command line ``argv`` (default: sys.argv[1:]); returns the exit status."""
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser()
    if argv[:1] == ["bench"]:  # every argument after it belongs to bench.compare
        args = argparse.Namespace(run=bench_command, arguments=argv[1:], parser=parser)
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


# ------------------------------------------------------------------ parser
def build_parser():
    """The argparse parser of every subcommand."""
    parser = argparse.ArgumentParser(
        prog="fastnet", description="Train fully-connected networks on MNIST, fast, on a CPU.")
    parser.add_argument("--version", action="version",
                        version=f"fastnet {__version__}, kernels: {describe_lanes()}, "
                                f"BLAS: {describe_blas()}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_train(commands)
    evaluate = commands.add_parser(
        "evaluate", help="accuracy, cost and confusion matrix of a model on MNIST",
        description="Print a model's accuracy, cost and 10x10 confusion matrix on MNIST.")
    evaluate.add_argument("model", metavar="MODEL", help="model.npz or a checkpoint")
    evaluate.add_argument("--data", metavar="PATH", help="MNIST folder or file "
                          "(default: $FASTNET_DATA, then the user cache, then a download)")
    evaluate.add_argument("--split", choices=("test", "validation", "training"), default="test",
                          help="which part of the book's split (default: test)")
    evaluate.set_defaults(run=evaluate_command)
    add_csv_flags(evaluate)
    show = commands.add_parser(
        "show", help="a model's architecture; its first-layer weights as a PNG",
        description="Print a model's architecture and training state; with --png, draw "
                    "the first layer's weights, one tile per hidden unit.")
    show.add_argument("model", metavar="MODEL", help="model.npz or a checkpoint")
    show.add_argument("--png", metavar="FILE", help="write the first layer's weights here")
    add_force(show, "a PNG image")
    show.set_defaults(run=show_command)
    add_predict(commands)
    add_export(commands)
    bench = commands.add_parser(
        "bench", add_help=False, help="run the benchmark suite (python -m bench.compare)",
        description="Run bench/compare.py of a fastnet source checkout; arguments go to it.")
    bench.add_argument("arguments", nargs=argparse.REMAINDER, help="passed to bench.compare")
    bench.set_defaults(run=bench_command)
    from .cli_sweep import add_commands  # fastnet sweep, fastnet tune
    add_commands(commands)
    for command in commands.choices.values():  # usage errors found after parsing name it
        command.set_defaults(parser=command)
    return parser


def _add_train(commands):
    presets = "\n".join(f"  {p.name:<9} {p.summary}" for p in PRESETS.values())
    train = commands.add_parser(
        "train", help="train a network on MNIST (a preset, flags override it)",
        description=f"Train on MNIST. Start from a preset (default {DEFAULT_PRESET}); every flag "
                    "overrides one of its settings. Outputs go to a run folder.",
        epilog=f"presets:\n{presets}", formatter_class=argparse.RawDescriptionHelpFormatter)
    train.add_argument("--preset", choices=PRESETS, metavar="NAME",
                       help=f"recipe to start from: {', '.join(PRESETS)} (default {DEFAULT_PRESET})")
    network = train.add_argument_group("network")
    network.add_argument("--sizes", type=_sizes, metavar="N,N,...",
                         help="units per layer, inputs first, e.g. 784,100,10")
    network.add_argument("--activation", type=_activations, metavar="NAME[,NAME...]",
                         help=f"hidden activation ({', '.join(ACTIVATIONS)}), "
                              "or one per hidden layer")
    network.add_argument("--output", choices=tuple(OUTPUTS))
    network.add_argument("--cost", choices=tuple(COSTS))
    network.add_argument("--init", choices=INITS,
                         help="normalized: N(0, 1/n_in) weights; large: N(0, 1) (chapter 1)")
    network.add_argument("--dtype", choices=tuple(DTYPES))
    training = train.add_argument_group("training")
    training.add_argument("--epochs", type=int, metavar="N")
    training.add_argument("--batch-size", type=int, metavar="N")
    training.add_argument("--eta", type=float, metavar="X", help="learning rate")
    training.add_argument("--momentum", type=float, metavar="X", help="in [0, 1)")
    training.add_argument("--nesterov", action=argparse.BooleanOptionalAction,
                          help="Nesterov momentum")
    training.add_argument("--l2", type=float, metavar="X",
                          help="L2 regularisation, the book's lambda (adds l2/(2n) sum w^2)")
    training.add_argument("--l1", type=float, metavar="X", help="L1 regularisation (l1/n sum |w|)")
    training.add_argument("--dropout", type=float, metavar="P",
                          help="probability of dropping a hidden unit, in [0, 1)")
    training.add_argument("--schedule", type=_schedule, metavar="NAME[:K=V,...]",
                          help="constant, step, exponential, cosine or plateau, with optional "
                               "parameters, e.g. step:every=10,factor=0.5")
    training.add_argument("--early-stopping", "--early-stop", type=int, metavar="N",
                          help="stop after N epochs without a better validation accuracy (0: never)")
    data = train.add_argument_group("data")
    data.add_argument("--data", metavar="PATH", help="MNIST folder or file, or your own data: "
                      "a .csv, an .npz with X and y, a folder of IDX files (default: MNIST from "
                      "$FASTNET_DATA, then the user cache, then a download)")
    data.add_argument("--expand", action=argparse.BooleanOptionalAction,
                      help="add the book's one-pixel shifts of every training image (x5)")
    data.add_argument("--distort", action=argparse.BooleanOptionalAction,
                      help="train each epoch on freshly rotated, shifted, "
                           "elastically distorted images")
    data.add_argument("--limit", type=int, metavar="N",
                      help="train on the first N training images only (quick tries)")
    add_table_flags(data)
    run = train.add_argument_group("run")
    run.add_argument("--seed", type=int, metavar="N",
                     help="seed of initialisation, shuffling, dropout and distortions "
                          "(default: a random one, printed and saved)")
    run.add_argument("--out", metavar="DIR", help="run folder (default: runs/<preset>-<time>)")
    run.add_argument("--resume", metavar="DIR",
                     help="continue the run in DIR from its last checkpoint "
                          "(--epochs may extend it)")
    run.add_argument("--quiet", action="store_true", help="no progress bar or per-epoch lines")
    run.add_argument("--threads", type=_threads, metavar="N|auto",
                     help="share every batch among N threads (auto: all of Numba's threads "
                          "from batch 32 on; default 1); see docs/speed.md")
    run.add_argument("--hogwild", action="store_true",
                     help="with --threads: run the threads' SGD steps at once on shared "
                          "weights, without locks (Hogwild!; plain SGD; not bit-reproducible)")
    cli_second_order.add_flags(train)
    train.set_defaults(run=train_command)


def _threads(text):
    if text == "auto":
        return text
    try:
        threads = int(text)
    except ValueError:
        threads = 0
    if threads < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: expected a positive number of threads or auto")
    return threads


def _sizes(text):
    try:
        sizes = [int(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a comma-separated list of "
                                         "integers such as 784,100,10") from None
    if len(sizes) < 2 or min(sizes) < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: need two or more positive sizes, "
                                         "inputs first, such as 784,100,10")
    return tuple(sizes)


def _activations(text):
    names = tuple(part.strip() for part in text.split(","))
    unknown = [name for name in names if name not in ACTIVATIONS]
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown activation {', '.join(map(repr, unknown))}; "
                                         f"use {', '.join(ACTIVATIONS)}")
    return names


def _schedule(text):
    try:
        parse_schedule(text)
    except (TypeError, ValueError) as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    return text


# ------------------------------------------------------------------- train
def train_command(args, parser):
    """``fastnet train``: returns the exit status.

    Settings, the output folder and the data are all checked before anything
    is written, so a bad flag or missing data leaves no run folder behind.
    """
    try:
        check_threads("--threads", args.threads)  # no more than the cores
    except ValueError as error:
        parser.error(str(error))
    if args.resume:
        folder, recipe, data_path, net, optimizer = _resumed_run(args, parser)
    else:
        folder, recipe = _new_run(args, parser)
        data_path = args.data
    data = load_run_data(recipe, data_path, given={name for name in RECIPE_FLAGS
                                                   if getattr(args, name) is not None})
    recipe, ((X, y), validation, test) = data.recipe, data.parts
    if not args.resume:
        net, optimizer = data.network(), recipe.optimizer()
    check_data_fits(net, (X, y), validation, test)
    if args.resume:
        folder.save_recipe(recipe, data_path)
    else:
        folder.start(recipe, data_path, net, optimizer)
    print(f"fastnet {__version__}: {preset_line(recipe)}")
    for line in recipe.describe():
        print(line)
    print(data.line)
    if recipe.limit is not None and recipe.limit > len(y) // (5 if recipe.expand else 1):
        print(f"note     --limit {recipe.limit:,} is more than the training set holds; "
              f"training on all of it")
    resuming = f" (resuming after epoch {optimizer.epoch})" if args.resume else ""
    print(f"outputs  {folder}{resuming}")
    if optimizer.epoch >= recipe.epochs:
        print(f"nothing to train: the run has done {optimizer.epoch} of {recipe.epochs} epochs "
              "(--epochs N with --resume trains further)")
    report = EpochReport(folder, optimizer, recipe.epochs, quiet=args.quiet)
    first_epoch = optimizer.epoch
    augment = recipe.augmenter()
    began = time.perf_counter()
    try:
        with terminate_as_interrupt():
            if optimizer.epoch < recipe.epochs:
                announce_compilation(net, optimizer, X, y)
            began = time.perf_counter()  # the run's time leaves compilation out
            net.fit(X, y, recipe.epochs, validation=validation, optimizer=optimizer,
                    augment=augment, callback=report.epoch_done, progress=report.progress,
                    threads=args.threads, hogwild=args.hogwild)
    except KeyboardInterrupt as interrupt:  # the epoch said is the one --resume goes on from
        print(f"fastnet: {str(interrupt) or 'interrupted'} after epoch {folder.saved_epoch()}; "
              f"continue with: fastnet train --resume {folder}", file=sys.stderr)
        return TERMINATED if isinstance(interrupt, Terminated) else INTERRUPTED
    except OSError as error:  # e.g. a full disk: the epochs saved before it stay resumable
        raise OSError(f"{error}. The run is intact up to epoch {folder.saved_epoch()}: free some "
                      f"space (or fix the cause), then continue with: fastnet train --resume "
                      f"{folder}") from error
    finally:
        report.close()
        if augment is not None:
            augment.close()
        folder.unlock()
    _summarise(folder, recipe, optimizer, test, optimizer.epoch - first_epoch,
               time.perf_counter() - began)
    return 0


def _new_run(args, parser):
    """(folder, recipe) for a run that starts now; the folder is not made yet."""
    overrides = {name: getattr(args, name) for name in RECIPE_FLAGS
                 if getattr(args, name) is not None}
    if overrides.get("early_stopping", 0) < 0:
        parser.error(f"--early-stopping: expected 0 (never stop early) or a positive number of "
                     f"epochs, got {overrides['early_stopping']}")
    if overrides.get("early_stopping") == 0:
        overrides["early_stopping"] = None
    overrides.update(cli_second_order.overrides(args, parser))
    if "seed" not in overrides:
        overrides["seed"] = secrets.randbelow(100_000)
    preset = args.preset or DEFAULT_PRESET
    recipe = Recipe.from_dict({**PRESETS[preset].settings, "preset": preset, **overrides})
    _check_recipe(recipe, parser)
    return RunFolder.planned(args.out, label=preset), recipe


def _resumed_run(args, parser):
    """(folder, recipe, data path, net, optimizer) of the run in ``args.resume``."""
    fixed = [name for name in RECIPE_FLAGS if name not in RESUME_FLAGS
             and getattr(args, name) is not None] + cli_second_order.given(args)
    if fixed or args.preset or args.out:
        given = [f"--{name.replace('_', '-')}" for name in fixed]
        given += ["--preset"] * bool(args.preset) + ["--out"] * bool(args.out)
        parser.error(f"--resume continues a run with the settings in its recipe.json; "
                     f"{', '.join(given)} cannot change them (only --epochs, --data, --quiet, "
                     "--threads and --hogwild may be given with --resume)")
    folder = RunFolder.existing(args.resume)
    recipe, data_path, net, optimizer = folder.load_run()
    if args.epochs is not None:
        recipe = recipe.replace(epochs=args.epochs)
        _check_recipe(recipe, parser)
        if hasattr(optimizer, "schedule"):
            # A schedule whose length is the run's (cosine) stretches over the new total;
            # the others do not depend on it.  The epochs done keep their history.
            optimizer.schedule = recipe.optimizer().schedule
    return folder, recipe, args.data or data_path, net, optimizer


def _check_recipe(recipe, parser):
    """A bad setting is a usage error (exit 2), reported before any data is read."""
    try:
        recipe.check()
    except (TypeError, ValueError) as error:
        parser.error(str(error))


class EpochReport:
    """What the user sees during training: a progress bar within each epoch
    (on a terminal), one line per epoch; and the run files saved after each."""

    def __init__(self, folder, optimizer, epochs, quiet):
        self.folder, self.optimizer, self.epochs, self.quiet = folder, optimizer, epochs, quiet
        self.bar = None

    def progress(self, done, total):
        """``fit``'s progress callback: images done of ``total`` in this epoch."""
        if self.quiet:
            return
        if self.bar is None:
            self.bar = tqdm(total=total, desc=f"epoch {self.optimizer.epoch + 1}/{self.epochs}",
                            unit="img", unit_scale=True, leave=False, disable=None)
        self.bar.update(done - self.bar.n)
        if done >= total:
            self.close()

    def epoch_done(self, net, optimizer):
        """``fit``'s callback after each epoch: save the run files, print the epoch's line."""
        self.close()
        self.folder.save_epoch(net, optimizer)
        if not self.quiet:
            history = optimizer.history
            row = {key: history[key][-1] for key in HISTORY_KEYS if history[key]}
            best = "  *" if optimizer.best_epoch == optimizer.epoch else ""
            print(format_epoch(optimizer.epoch, self.epochs, row) + best, flush=True)
            if optimizer.stall is not None and optimizer.stall["epoch"] == optimizer.epoch:
                print(f"warning  {optimizer.stall['message']}", flush=True)

    def close(self):
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def _summarise(folder, recipe, optimizer, test, epochs_run, seconds):
    """The last lines of ``fastnet train``: best epoch, test score, time, files."""
    if optimizer.stop_reason:
        print(f"stopped early: {optimizer.stop_reason}")
    if optimizer.stall is not None and "recovered" not in optimizer.stall:
        print(f"warning  {optimizer.stall['message']}")
    scores = optimizer.history["validation_accuracy"]
    best = Network.load(folder / MODEL)
    print(f"best validation accuracy {100 * max(scores):.2f}% at epoch {optimizer.best_epoch}; "
          f"its weights are in {folder / MODEL}")
    print(score_line("test", best, *test))
    loop = sum(optimizer.history["epoch_seconds"][optimizer.epoch - epochs_run:])
    print(f"time     {seconds:.1f} s for {epochs_run} epochs, {loop:.1f} s of it in the "
          "training loop")
    try:
        folder.plot(optimizer.history, title=_title(recipe))
    except MatplotlibMissing as missing:
        print(f"plot     skipped: {missing}")
    print(f"outputs  {folder}/: {', '.join(folder.files())}")


def _title(recipe):
    name = f"preset {recipe.preset}" if recipe.preset else "custom recipe"
    return f"fastnet {name}: {' -> '.join(map(str, recipe.sizes))}, seed {recipe.seed}"


def score_line(part, net, X, y):
    """'<part> accuracy 95.31% (9531/10000)  cost 0.0812' for ``net`` on (X, y); for a
    regression (one linear output) '<part> cost 0.0812'."""
    cost, accuracy = net.evaluate(X, y)
    if net._is_regression:
        return f"{part} cost {cost:.4f}"
    correct = int(round(accuracy * len(y)))
    return f"{part} accuracy {100 * accuracy:.2f}% ({correct}/{len(y)})  cost {cost:.4f}"


# ---------------------------------------------------------------- evaluate
def evaluate_command(args, parser):
    """``fastnet evaluate MODEL``: accuracy, cost and confusion matrix."""
    if args.data is None or not is_table(args.data):  # MNIST
        refuse_csv_flags(args.data, args.label_column, args.header)
    net = Network.load(args.model)
    if needs_table_evaluation(net, args.data):
        return evaluate_table(net, args)
    located, origin = locate_mnist(args.data, argument="--data")
    parts = dict(zip(("training", "validation", "test"), load_mnist(located, dtype=net.dtype)))
    X, y = parts[args.split]
    print(f"model    {args.model}: {_architecture(net)}")
    print(f"data     {located} ({origin}), {args.split} set: {len(y):,} images")
    print(score_line(args.split, net, X, y))
    print("confusion matrix (rows: true digit, columns: predicted digit)")
    for line in confusion_lines(y, net.predict(X), net.sizes[-1]):
        print(line)
    return 0


def confusion_lines(labels, predicted, n_classes):
    """The confusion matrix as text lines: a header, then one row per true class."""
    counts = np.bincount(labels * n_classes + predicted,
                         minlength=n_classes * n_classes).reshape(n_classes, n_classes)
    width = max(4, len(str(counts.max())) + 1)
    lines = [" " * 5 + "".join(f"{c:>{width}}" for c in range(n_classes))]
    lines += [f"{r:>4} " + "".join(f"{count:>{width}}" for count in row)
              for r, row in enumerate(counts)]
    return lines


# -------------------------------------------------------------------- show
def show_command(args, parser):
    """``fastnet show MODEL``: architecture, training state, optional weight picture."""
    net, optimizer, header = read_model_file(args.model)
    kind = "checkpoint" if optimizer is not None else "model"
    print(f"{kind:<8} {args.model} (format {header['format_version']}, written by fastnet "
          f"{header.get('fastnet_version', '?')})")
    print(f"network  {_architecture(net)}")
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


def _architecture(net):
    functions = " -> ".join(f"{n} {f}" for n, f in
                            zip(net.sizes[1:], net.activations + (net.output,)))
    return f"{net.sizes[0]} -> {functions}, {net.cost_name} cost"


# ------------------------------------------------------------------- bench
def bench_command(args, parser):
    """``fastnet bench ARGS``: ``python -m bench.compare ARGS`` in the source checkout."""
    root = Path(__file__).resolve().parent.parent
    script = root / "bench" / "compare.py"
    if not script.is_file():
        raise OSError(f"fastnet bench runs bench/compare.py of a fastnet source checkout, but "
                      f"{script} does not exist; run it from a full clone of the repository "
                      "installed with pip install -e '.[bench]'")
    return subprocess.call([sys.executable, "-m", "bench.compare", *args.arguments], cwd=root)
