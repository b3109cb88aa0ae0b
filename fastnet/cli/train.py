"""``fastnet train``: train a recipe (a preset and the flags that change it) into a run folder.

    fastnet train [--preset NAME] [flags]   train on MNIST or your data; outputs in a run folder
    fastnet train --resume DIR              continue an interrupted run exactly
    fastnet train --minutes M [flags]       train against a clock (resumable the same way)

The recipe's flags are ``fastnet.recipe.FLAGS``; the second-order ones are
``fastnet.cli.second_order``'s.
"""
import argparse
import secrets
import sys
import time

from tqdm import tqdm

from .._version import __version__
from ..checks import threads as check_threads
from ..files.pictures import MatplotlibMissing
from ..files.run_layout import MODEL
from ..network import Network
from ..optim import HISTORY_KEYS
from ..presets import DEFAULT_PRESET, PRESETS
from ..recipe import FLAGS, Recipe
from ..run_setup import announce_compilation, check_data_fits, load_run_data
from ..runs import RunFolder
from ..training import format_epoch, left_text, time_left
from . import second_order
from .checks import INTERRUPTED, TERMINATED, Terminated, preset_line, terminate_as_interrupt
from .flags import recipe_flags
from .scores import score_line

RESUME_FLAGS = ("epochs", "minutes")  # recipe flags that may change when resuming


def add(commands):
    """Register ``fastnet train``."""
    presets = "\n".join(f"  {p.name:<9} {p.summary}" for p in PRESETS.values())
    train = commands.add_parser(
        "train", help="train a network on MNIST (a preset, flags override it)",
        description=f"Train on MNIST. Start from a preset (default {DEFAULT_PRESET}); every flag "
                    "overrides one of its settings. Outputs go to a run folder.",
        epilog=f"presets:\n{presets}", formatter_class=argparse.RawDescriptionHelpFormatter)
    train.add_argument("--preset", choices=PRESETS, metavar="NAME",
                       help=f"recipe to start from: {', '.join(PRESETS)} (default {DEFAULT_PRESET})")
    recipe_flags(train.add_argument_group("network"), _section("network"))
    recipe_flags(train.add_argument_group("training"), _section("training"))
    data = train.add_argument_group("data")
    data.add_argument("--data", metavar="PATH", help="MNIST folder or file, or your own data: "
                      "a .csv, an .npz with X and y, a folder of IDX files (default: MNIST from "
                      "$FASTNET_DATA, then the user cache, then a download)")
    recipe_flags(data, _section("data"))
    run = train.add_argument_group("run")
    recipe_flags(run, _section("run"))
    run.add_argument("--out", metavar="DIR", help="run folder (default: runs/<preset>-<time>)")
    run.add_argument("--resume", metavar="DIR",
                     help="continue the run in DIR from its last checkpoint "
                          "(--epochs or --minutes may extend it)")
    run.add_argument("--quiet", action="store_true", help="no progress bar or per-epoch lines")
    run.add_argument("-v", "--verbose", action="store_true", help="print the plan: the engine of each layer")
    run.add_argument("--threads", type=_threads, metavar="N|auto",
                     help="share every batch among N threads (auto: all of Numba's threads "
                          "from batch 32 on; default: the plan's choice, every core where sharing "
                          "wins and no other process is busy, else 1); see docs/speed.md")
    run.add_argument("--hogwild", action="store_true",
                     help="with --threads: run the threads' SGD steps at once on shared "
                          "weights, without locks (Hogwild!; plain SGD; not bit-reproducible)")
    second_order.add_flags(train)
    train.set_defaults(run=train_command)


def _section(group):
    """The recipe's flags listed in the ``group`` section of ``fastnet train --help``."""
    return [flag for flag in FLAGS.values() if flag.group == group]


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
    data = load_run_data(recipe, data_path, given={name for name in FLAGS
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
    if args.verbose:
        print(net.plan(getattr(optimizer, "batch_size", len(y)), X, args.threads, args.hogwild))
    if not recipe.unfinished(optimizer):
        print(f"nothing to train: the run has done {optimizer.epoch} of {recipe.epochs} epochs "
              "(--epochs N with --resume trains further)")
    report = EpochReport(folder, optimizer, recipe.epochs, recipe.time_budget, quiet=args.quiet)
    first_epoch = optimizer.epoch
    augment = recipe.augmenter()
    began = time.perf_counter()
    try:
        with terminate_as_interrupt():
            if recipe.unfinished(optimizer):
                announce_compilation(net, optimizer, X, y)
            began = time.perf_counter()  # the run's time leaves compilation out
            net.fit(X, y, recipe.epochs, validation=validation, optimizer=optimizer,
                    augment=augment, callback=report.epoch_done, progress=report.progress,
                    threads=args.threads, hogwild=args.hogwild, time_budget=recipe.time_budget)
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
    overrides = {name: getattr(args, name) for name in FLAGS
                 if getattr(args, name) is not None}
    if overrides.get("early_stopping", 0) < 0:
        parser.error(f"--early-stopping: expected 0 (never stop early) or a positive number of "
                     f"epochs, got {overrides['early_stopping']}")
    if overrides.get("early_stopping") == 0:
        overrides["early_stopping"] = None
    if "minutes" in overrides and "epochs" not in overrides:  # as many epochs as fit
        overrides["epochs"] = None
    overrides.update(second_order.overrides(args, parser))
    if "seed" not in overrides:
        overrides["seed"] = secrets.randbelow(100_000)
    preset = args.preset or DEFAULT_PRESET
    recipe = Recipe.from_dict({**PRESETS[preset].settings, "preset": preset, **overrides})
    _check_recipe(recipe, parser)
    return RunFolder.planned(args.out, label=preset), recipe


def _resumed_run(args, parser):
    """(folder, recipe, data path, net, optimizer) of the run in ``args.resume``."""
    fixed = [name for name in FLAGS if name not in RESUME_FLAGS
             and getattr(args, name) is not None] + second_order.given(args)
    if fixed or args.preset or args.out:
        given = [f"--{name.replace('_', '-')}" for name in fixed]
        given += ["--preset"] * bool(args.preset) + ["--out"] * bool(args.out)
        parser.error(f"--resume continues a run with the settings in its recipe.json; "
                     f"{', '.join(given)} cannot change them (only --epochs, --minutes, --data, "
                     "--quiet, --threads and --hogwild may be given with --resume)")
    folder = RunFolder.existing(args.resume)
    recipe, data_path, net, optimizer = folder.load_run()
    longer = {name: getattr(args, name) for name in RESUME_FLAGS if getattr(args, name) is not None}
    if longer:
        recipe = recipe.replace(**longer)
        _check_recipe(recipe, parser)
    if hasattr(optimizer, "schedule"):
        # The recipe's length, which a resume may have extended (and saved, then been
        # interrupted before a checkpoint did): a schedule whose length is the run's
        # (cosine, warm-up) stretches over the new epochs and minutes; the others do not
        # depend on it.  The epochs done keep their history, and their minutes count.
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
    (on a terminal), one line per epoch with the time left (of ``epochs`` and/or
    ``time_budget`` seconds, ``training.time_left``); and the run files saved after each."""

    def __init__(self, folder, optimizer, epochs, time_budget, quiet):
        self.folder, self.optimizer, self.epochs, self.quiet = folder, optimizer, epochs, quiet
        self.time_budget = time_budget
        self.bar = None

    def left(self):
        """'  left m:ss' of the run ('' before its first epoch)."""
        return left_text(time_left(self.optimizer, self.epochs, self.time_budget))

    def progress(self, done, total):
        """``fit``'s progress callback: images done of ``total`` in this epoch."""
        if self.quiet:
            return
        if self.bar is None:
            of = "" if self.epochs is None else f"/{self.epochs}"
            self.bar = tqdm(total=total, desc=f"epoch {self.optimizer.epoch + 1}{of}{self.left()}",
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
            print(format_epoch(optimizer.epoch, self.epochs, row) + self.left() + best, flush=True)
            if optimizer.stall is not None and optimizer.stall["epoch"] == optimizer.epoch:
                print(f"warning  {optimizer.stall['message']}", flush=True)

    def close(self):
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def _summarise(folder, recipe, optimizer, test, epochs_run, seconds):
    """The last lines of ``fastnet train``: best epoch, test score, time, files."""
    if optimizer.stop_reason:  # against a clock, stopping before the next epoch is the plan
        print(f"stopped{'' if recipe.minutes else ' early'}: {optimizer.stop_reason}")
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
