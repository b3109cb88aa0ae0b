"""``fastnet tune``: search settings for a data set by successive halving on dask.distributed,
within a time budget (see docs/sweeps.md).

    fastnet tune --data PATH --budget MINUTES [--out DIR] [--epochs N]
                 [--label-column NAME|INDEX] [--header | --no-header]

Exit status as for ``train``; 130 when interrupted (finished runs are kept).
"""
import sys

from ..files.outputs import check_output_folder
from ..network import Network
from ..recipe import Recipe
from ..sweeps.tasks import run_data
from ..sweeps.tune import BEST, OUTPUTS, tune
from .checks import INTERRUPTED, TERMINATED, Terminated, terminate_as_interrupt
from .data import add_csv_flags
from .scores import score_line
from .sweep import add_cluster, add_force, echo_line, guarded


def add(commands):
    """Register ``fastnet tune``."""
    tune = commands.add_parser(
        "tune", help="search settings for a data set by successive halving, within a time budget",
        description="Search a default space (depth, width, activation, eta, momentum, L2, dropout, "
                    "batch size, distortions of MNIST's images) by asynchronous successive halving on "
                    "dask.distributed, then train the best configuration here on every core for "
                    "the rest of the budget.")
    tune.add_argument("--data", metavar="PATH", help="the data set: a folder of IDX files, an .npz, "
                      "a pickle or a CSV file as for fastnet train (default: $FASTNET_DATA, the "
                      "cache, MNIST)")
    add_csv_flags(tune)
    tune.add_argument("--budget", type=float, required=True, metavar="MINUTES",
                      help="wall-clock minutes for everything, the final run included")
    tune.add_argument("--out", metavar="DIR", default="runs/tune",
                      help="results, leaderboard.csv and best/ (default runs/tune)")
    add_force(tune)
    tune.add_argument("--epochs", type=int, default=30, metavar="N",
                      help="epochs the search leaves time for in the final run of the best "
                           "configuration (default 30); that run then trains on every core for "
                           "all the budget left")
    tune.add_argument("--limit", type=int, metavar="N", help="use the first N training images only")
    tune.add_argument("--seed", type=int, default=0, metavar="N",
                      help="seed of the search and of every run (default 0)")
    add_cluster(tune)
    tune.set_defaults(run=tune_command)


def tune_command(args, parser):
    """``fastnet tune``: returns the exit status."""
    if args.epochs < 1:
        parser.error(f"--epochs: expected a positive number of epochs, got {args.epochs}")
    if not args.budget > 0:
        parser.error(f"--budget: expected a positive number of minutes, got {args.budget:g}")
    check_output_folder(args.out, "--out", OUTPUTS, {"--data": args.data}, args.force)

    def run():
        try:
            with terminate_as_interrupt():
                row = tune(args.data, budget=60 * args.budget, out=args.out, epochs=args.epochs,
                           seed=args.seed, limit=args.limit, scheduler=args.scheduler,
                           workers=args.workers, echo=echo_line, label_column=args.label_column,
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
        print(score_line("test", Network.load(f"{best}/model.npz"), *test))
        return 0
    return guarded(run)
