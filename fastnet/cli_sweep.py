"""``fastnet sweep`` and ``fastnet tune``: many runs on dask.distributed (see docs/sweeps.md).

    fastnet sweep [--preset NAME] [train flags] --grid NAME=VALUES ... [--random N]
                  [--seeds 1,2,3] [--out DIR] [--workers N | --scheduler ADDRESS]
    fastnet sweep --report DIR
    fastnet tune --data PATH --budget MINUTES [--out DIR] [--epochs N]
                 [--label-column NAME|INDEX] [--header | --no-header]

Every ``fastnet train`` flag sets the recipe that the grid varies.  Exit
status as for ``train``; 130 when interrupted (finished runs are kept, and
the same command goes on where it stopped).
"""
import argparse
import sys

from . import cli
from .cli_checks import TERMINATED, Terminated, terminate_as_interrupt
from .cli_data import add_csv_flags
from .files.outputs import FOLDER, check_output_folder
from .sweep import OUTPUTS, DistributedMissing, parse_axis, parse_seeds, run_data
from .sweep_report import PLOTS
from .tune import BEST, OUTPUTS as TUNE_OUTPUTS

INTERRUPTED = 130
SWEEP_OUTPUTS = {**OUTPUTS, PLOTS: FOLDER}  # what each writes in its --out, and of which kind


def add_commands(commands):
    """Register ``sweep`` and ``tune`` on the ``fastnet`` command's subparsers."""
    holder = argparse.ArgumentParser(add_help=False).add_subparsers()
    cli._add_train(holder)
    sweep = commands.add_parser(
        "sweep", parents=[holder.choices["train"]], conflict_handler="resolve",
        help="train every combination of a grid of settings, as tasks on dask.distributed",
        description="Train one run per grid point and seed, in parallel on dask.distributed "
                    "(an embedded cluster of one worker per core, or --scheduler). Every train "
                    "flag but --threads, --hogwild and the second-order ones sets the recipe "
                    "that the grid varies. Finished runs are kept: the "
                    "same command again trains only what is missing.",
        epilog="example: fastnet sweep --preset ch3 --grid eta=0.025,0.25,2.5 --grid l2=0,5 "
               "--seeds 1,2,3 --out runs/ch3-eta")
    group = sweep.add_argument_group("sweep")
    group.add_argument("--grid", action="append", type=_axis, default=[], metavar="NAME=VALUES",
                       help="a setting (a train flag's name) and its values: eta=0.025,0.25,2.5, "
                            "hidden=100/30,30 (layer lists separated by /); with --random also "
                            "ranges log:LOW:HIGH, float:LOW:HIGH, int:LOW:HIGH. Repeat per setting")
    group.add_argument("--random", type=int, metavar="N",
                       help="random search: N points drawn from the --grid values and ranges")
    group.add_argument("--seeds", type=_seeds, metavar="N,N,...",
                       help="the seeds of every point (default: --seed, else 0)")
    group.add_argument("--seed", type=int, metavar="N", help="one seed for every point (default 0)")
    group.add_argument("--resume", help=argparse.SUPPRESS)  # train's; refused below
    group.add_argument("--out", metavar="DIR", default="runs/sweep",
                       help="results.csv, results.json, runs/, plots/ (default runs/sweep)")
    _add_force(group)
    group.add_argument("--retry-failed", action="store_true",
                       help="train again the runs that failed before (default: keep their rows)")
    group.add_argument("--report", metavar="DIR",
                       help="print the table of the sweep in DIR and redraw its plots; train nothing")
    _add_cluster(group)
    sweep.set_defaults(run=sweep_command)

    tune = commands.add_parser(
        "tune", help="search settings for a data set by successive halving, within a time budget",
        description="Search a default space (depth, width, activation, eta, momentum, L2, dropout, "
                    "batch size, distortions of MNIST's images) by asynchronous successive halving on "
                    "dask.distributed, then train the best configuration to completion.")
    tune.add_argument("--data", metavar="PATH", help="the data set: a folder of IDX files, an .npz, "
                      "a pickle or a CSV file as for fastnet train (default: $FASTNET_DATA, the "
                      "cache, MNIST)")
    add_csv_flags(tune)
    tune.add_argument("--budget", type=float, required=True, metavar="MINUTES",
                      help="wall-clock minutes for everything, the final run included")
    tune.add_argument("--out", metavar="DIR", default="runs/tune",
                      help="results, leaderboard.csv and best/ (default runs/tune)")
    _add_force(tune)
    tune.add_argument("--epochs", type=int, default=30, metavar="N",
                      help="epochs of the final run of the best configuration (default 30)")
    tune.add_argument("--limit", type=int, metavar="N", help="use the first N training images only")
    tune.add_argument("--seed", type=int, default=0, metavar="N",
                      help="seed of the search and of every run (default 0)")
    _add_cluster(tune)
    tune.set_defaults(run=tune_command)


def _add_force(parser):
    parser.add_argument("--force", action="store_true",
                        help="write into an --out folder that holds other files too (never into "
                             "a run folder or the data, nor over a file or folder of an output's "
                             "name that it did not write)")


def _add_cluster(parser):
    parser.add_argument("--workers", type=int, metavar="N",
                        help="worker processes of the embedded cluster (default and most: one per core)")
    parser.add_argument("--scheduler", metavar="ADDRESS",
                        help="use the dask cluster of this scheduler, e.g. tcp://10.0.0.5:8786 "
                             "(default: $FASTNET_SCHEDULER, else an embedded cluster)")


def _axis(text):
    try:
        return parse_axis(text)
    except (TypeError, ValueError) as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _seeds(text):
    try:
        return parse_seeds(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def sweep_command(args, parser):
    """``fastnet sweep``: returns the exit status."""
    from .sweep import base_recipe, plan, run_tasks
    from .sweep_report import report
    if args.report:
        return _guarded(lambda: _report(report, args.report))
    if args.resume:
        parser.error("--resume: a sweep continues by running the same command again")
    unused = ["--threads"] * (args.threads is not None) + ["--hogwild"] * args.hogwild + \
        ["--" + name.replace("_", "-") for name in cli.cli_second_order.given(args)]
    if unused:
        parser.error(f"{', '.join(unused)}: a sweep trains every run with SGD on one thread of "
                     "its worker, so this train flag would be ignored; drop it (--workers sets "
                     "how many runs train at once)")
    if not args.grid and args.random is None:
        parser.error("--grid: give at least one NAME=VALUES to sweep (e.g. --grid eta=0.1,1), "
                     "or --random N")
    if args.random is not None and args.random < 1:
        parser.error(f"--random: expected a positive number of points, got {args.random}")
    settings = {name: getattr(args, name) for name in cli.RECIPE_FLAGS
                if name != "seed" and getattr(args, name) is not None}
    seeds = args.seeds or [args.seed if args.seed is not None else 0]
    echo = (lambda line: None) if args.quiet else _print
    check_output_folder(args.out, "--out", SWEEP_OUTPUTS, {"--data": args.data}, args.force)

    def run():
        tasks = plan(base_recipe(args.preset, **settings), args.grid, seeds, args.random, args.data,
                     args.out)
        try:
            with terminate_as_interrupt():
                rows = run_tasks(tasks, args.out, scheduler=args.scheduler, workers=args.workers,
                                 retry_failed=args.retry_failed, echo=echo)
        except KeyboardInterrupt as interrupt:
            print(f"fastnet: {str(interrupt) or 'interrupted'}; the finished runs are in "
                  f"{args.out}/results.csv and the same command goes on from there", file=sys.stderr)
            return TERMINATED if isinstance(interrupt, Terminated) else INTERRUPTED
        report(args.out, rows)  # this sweep's runs; --report shows every run in the folder
        return 0
    return _guarded(run)


def tune_command(args, parser):
    """``fastnet tune``: returns the exit status."""
    from .network import Network
    from .recipe import Recipe
    from .tune import tune
    if args.epochs < 1:
        parser.error(f"--epochs: expected a positive number of epochs, got {args.epochs}")
    if not args.budget > 0:
        parser.error(f"--budget: expected a positive number of minutes, got {args.budget:g}")
    check_output_folder(args.out, "--out", TUNE_OUTPUTS, {"--data": args.data}, args.force)

    def run():
        try:
            with terminate_as_interrupt():
                row = tune(args.data, budget=60 * args.budget, out=args.out, epochs=args.epochs,
                           seed=args.seed, limit=args.limit, scheduler=args.scheduler,
                           workers=args.workers, echo=_print, label_column=args.label_column,
                           header=args.header)
        except KeyboardInterrupt as interrupt:
            print(f"fastnet: {str(interrupt) or 'interrupted'}; the finished runs are in "
                  f"{args.out}/results.csv", file=sys.stderr)
            return TERMINATED if isinstance(interrupt, Terminated) else INTERRUPTED
        recipe = Recipe.from_dict(row["recipe"])
        for line in recipe.describe():
            print(line)
        _, _, test = run_data(recipe, row["data"])[1].parts
        best = f"{args.out}/{BEST}"
        print(f"best validation accuracy {100 * row['best_validation_accuracy']:.2f}% at epoch "
              f"{row['best_epoch']}; the run is in {best}/, the ranking in {args.out}/leaderboard.csv")
        print(cli.score_line("test", Network.load(f"{best}/model.npz"), *test))
        return 0
    return _guarded(run)


def _report(report, out):
    report(out)
    return 0


def _guarded(run):
    """``run()``, with a missing dask.distributed reported as a one-line error (exit 1)."""
    try:
        return run()
    except DistributedMissing as missing:
        print(f"fastnet: error: {missing}", file=sys.stderr)
        return 1


def _print(line):
    print(line, flush=True)
