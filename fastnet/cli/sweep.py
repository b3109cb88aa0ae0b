"""``fastnet sweep``: many runs on dask.distributed (see docs/sweeps.md); ``fastnet tune`` is in tune.py.

    fastnet sweep [--preset NAME] [train flags] --grid NAME=VALUES ... [--random N]
                  [--seeds 1,2,3] [--out DIR] [--workers N | --scheduler ADDRESS]
    fastnet sweep --report DIR

Every ``fastnet train`` flag sets the recipe that the grid varies.  Exit
status as for ``train``; 130 when interrupted (finished runs are kept, and
the same command goes on where it stopped).
"""
import argparse
import sys

from ..files.outputs import FOLDER, check_output_folder
from ..recipe import FIRST_ORDER, FLAGS
from ..sweeps.cluster import DistributedMissing
from ..sweeps.grid import OPTIMIZER, base_recipe, parse_axis, parse_seeds
from ..sweeps.report import PLOTS, report
from ..sweeps.run import run_tasks
from ..sweeps.storage import OUTPUTS
from ..sweeps.tasks import plan
from . import second_order, train
from .checks import INTERRUPTED, TERMINATED, Terminated, terminate_as_interrupt

SWEEP_OUTPUTS = {**OUTPUTS, PLOTS: FOLDER}  # what a sweep writes in its --out, and of which kind


def add(commands):
    """Register ``fastnet sweep``: every ``fastnet train`` flag, and the sweep's own."""
    holder = argparse.ArgumentParser(add_help=False).add_subparsers()
    train.add(holder)
    sweep = commands.add_parser(
        "sweep", parents=[holder.choices["train"]], conflict_handler="resolve",
        help="train every combination of a grid of settings, as tasks on dask.distributed",
        description="Train one run per grid point and seed, in parallel on dask.distributed "
                    "(an embedded cluster of one worker per core, or --scheduler). Every train "
                    "flag but --threads, --hogwild and the second-order ones (--optimizer takes "
                    "sgd, adam or adamw) sets the recipe that the grid varies. Finished runs are kept: the "
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
    add_force(group)
    group.add_argument("--retry-failed", action="store_true",
                       help="train again the runs that failed before (default: keep their rows)")
    group.add_argument("--report", metavar="DIR",
                       help="print the table of the sweep in DIR and redraw its plots; train nothing")
    add_cluster(group)
    sweep.set_defaults(run=sweep_command)

def add_force(parser):
    """The ``--force`` of a command that writes into an ``--out`` folder."""
    parser.add_argument("--force", action="store_true",
                        help="write into an --out folder that holds other files too (never into "
                             "a run folder or the data, nor over a file or folder of an output's "
                             "name that it did not write)")


def add_cluster(parser):
    """``--workers`` and ``--scheduler``: the dask cluster a command runs on."""
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
    if args.report:
        return guarded(lambda: _report(report, args.report))
    if args.resume:
        parser.error("--resume: a sweep continues by running the same command again")
    mini_batch = args.optimizer in FIRST_ORDER
    unused = ["--threads"] * (args.threads is not None) + ["--hogwild"] * args.hogwild + \
        ["--" + name.replace("_", "-") for name in second_order.given(args)
         if not (mini_batch and name == "optimizer")]
    if unused:
        parser.error(f"{', '.join(unused)}: a sweep trains every run with SGD on one thread of "
                     "its worker (or Adam, AdamW: --optimizer adam, adamw), so this train flag "
                     "would be ignored; drop it (--workers sets how many runs train at once)")
    if not args.grid and args.random is None:
        parser.error("--grid: give at least one NAME=VALUES to sweep (e.g. --grid eta=0.1,1), "
                     "or --random N")
    if args.random is not None and args.random < 1:
        parser.error(f"--random: expected a positive number of points, got {args.random}")
    settings = {name: getattr(args, name) for name in FLAGS
                if name != "seed" and getattr(args, name) is not None}
    chosen = second_order.overrides(args, parser)  # flags of another optimizer are refused
    if chosen:  # --optimizer, as the grid's setting of that name, and Adam's eta
        settings[OPTIMIZER] = chosen.pop("optimizer_name")
        settings.update(chosen)
    seeds = args.seeds or [args.seed if args.seed is not None else 0]
    echo = (lambda line: None) if args.quiet else echo_line
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
    return guarded(run)


def _report(report, out):
    report(out)
    return 0


def guarded(run):
    """``run()``, with a missing dask.distributed reported as a one-line error (exit 1)."""
    try:
        return run()
    except DistributedMissing as missing:
        print(f"fastnet: error: {missing}", file=sys.stderr)
        return 1


def echo_line(line):
    """Print a progress line at once."""
    print(line, flush=True)
