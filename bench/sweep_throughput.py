"""Throughput of a sweep: N [784,30,10] runs on W dask workers vs the same runs one after another.

    python -m bench.sweep_throughput [--runs 8] [--workers 2] [--limit N] [--epochs 30]

Both sides train the same recipes (chapter 1's network, seeds 1..N) with one
Numba thread per run, through ``fastnet.sweeps.tasks.run_task``: in this process one
after another, then as tasks on an embedded LocalCluster.  Compilation and
data loading are done before the clocks start (one warm-up run in this
process and on each worker), and each side's wall time covers its N runs and
their run folders (checkpoints, history, plot: a few tenths of a second per
run, so runs much shorter than the default make the ratio about that
overhead).  The target is a speed-up of at least 0.9 x W.  The load
average is printed before and after: on a machine busy with other work the
ratio says little (the other processes take cores from the workers).
"""
import argparse
import os
import tempfile
import time
from pathlib import Path

from fastnet.data import locate_mnist
from fastnet.sweeps.cluster import connect
from fastnet.sweeps.grid import base_recipe
from fastnet.sweeps.run import execute
from fastnet.sweeps.storage import Results
from fastnet.sweeps.tasks import plan, run_task

TARGET_PER_WORKER = 0.9


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--limit", type=int, help="training images per run (default: all 50,000)")
    parser.add_argument("--epochs", type=int, default=30,
                        help="epochs per run (default 30, the chapter-1 recipe as it is)")
    parser.add_argument("--data", help="MNIST (default: $FASTNET_DATA, the cache, a download)")
    args = parser.parse_args(argv)
    data, _ = locate_mnist(args.data)
    recipe = base_recipe("ch1", limit=args.limit, epochs=args.epochs)
    print(f"sweep throughput: {args.runs} runs of {' -> '.join(map(str, recipe.sizes))}, "
          f"{args.limit or 50_000} images x {args.epochs} epochs; load average {_load()}")
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        warm = lambda name, n: plan(recipe.replace(epochs=1), seeds=range(1000, 1000 + n),  # noqa: E731
                                    data=data, out=folder / name)
        run_task(warm("warm-here", 1)[0])
        began = time.perf_counter()
        for task in plan(recipe, seeds=range(1, args.runs + 1), data=data, out=folder / "one-by-one"):
            run_task(task)
        sequential = time.perf_counter() - began
        with connect(workers=args.workers) as client:
            addresses = list(client.nthreads())
            futures = [client.submit(run_task, task, workers=[address], pure=False)
                       for task, address in zip(warm("warm-workers", len(addresses)), addresses)]
            client.gather(futures)
            tasks = plan(recipe, seeds=range(1, args.runs + 1), data=data, out=folder / "sweep")
            began = time.perf_counter()
            execute(client, tasks, Results(folder / "sweep"), echo=lambda line: None)
            parallel = time.perf_counter() - began
    speedup = sequential / parallel
    target = TARGET_PER_WORKER * args.workers
    print(f"one after another  {sequential:7.1f} s")
    print(f"{args.workers} dask workers     {parallel:7.1f} s")
    print(f"speed-up           {speedup:7.2f}x (target {target:.1f}x: "
          f"{'met' if speedup >= target else 'NOT met'}); load average now {_load()}")
    return 0


def _load():
    try:
        return "/".join(f"{load:.1f}" for load in os.getloadavg()) + f" on {os.cpu_count()} cores"
    except OSError:
        return "unknown"


if __name__ == "__main__":
    raise SystemExit(main())
