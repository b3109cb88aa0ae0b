"""Two threads against one: the whole fit() per epoch, as a user meets it.

    python -m bench.threads            # MNIST from $FASTNET_DATA (or ../shared/data/mnist)
    python -m bench.threads --epochs 3 --threads 2 --images 10000

Per workload: ``fit(Dataset, threads=1)``, ``fit(Dataset, threads=N)`` and,
for the small-batch workloads, ``fit(Dataset, threads=N, hogwild=True)``,
each the whole call's seconds per epoch (``monitor=False``, float32, the 50,000
training images prepared once), after a warm-up fit that compiles; then the
speed-up over one thread.  Each is run twice and the faster counts, because
a shared machine slows single runs at random.
"""
import argparse
import time

import fastnet

from .data import data_dir

# (sizes, activation, batch size, whether Hogwild! is measured too)
WORKLOADS = (([784, 30, 10], "sigmoid", 10, True), ([784, 100, 10], "sigmoid", 10, True),
             ([784, 100, 10], "sigmoid", 100, False), ([784, 800, 10], "relu", 32, False))


def seconds_per_epoch(train, sizes, activation, batch, epochs, **options):
    """Whole fit() seconds per epoch of a fresh network."""
    net = fastnet.Network(sizes, activation=activation, dtype="float32", seed=1)
    began = time.perf_counter()
    net.fit(train, epochs=epochs, batch_size=batch, eta=0.05, monitor=False, **options)
    return (time.perf_counter() - began) / epochs


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--images", type=int, default=50_000, help="training images (default all)")
    args = parser.parse_args(argv)
    (X, y), _, _ = fastnet.load_mnist(data_dir())
    train = fastnet.Dataset(X[:args.images], y[:args.images])
    warm = train.take(range(min(2000, args.images)))
    T = args.threads
    for sizes, activation, batch, hogwild in WORKLOADS:
        modes = [("1 thread", dict(threads=1)), (f"{T} threads", dict(threads=T))]
        if hogwild:
            modes.append((f"{T} Hogwild!", dict(threads=T, hogwild=True)))
        for _, options in modes:  # compile outside the timings
            seconds_per_epoch(warm, sizes, activation, batch, 1, **options)
        best = {label: min(seconds_per_epoch(train, sizes, activation, batch, args.epochs,
                                             **options) for _ in range(2))
                for label, options in modes}
        one = best["1 thread"]
        cells = [f"{label} {s:.3f} s" + ("" if label == "1 thread" else f" ({one / s:.2f}x)")
                 for label, s in best.items()]
        print(f"{sizes} {activation} b{batch}: " + " | ".join(cells), flush=True)


if __name__ == "__main__":
    main()
