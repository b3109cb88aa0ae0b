"""Every optimizer on three problems: MNIST, a tabular one and a sparse one.

    python -m bench.optimizers [--problems mnist,tabular,sparse] [--epochs 10] [--quick]

Each optimizer trains the same network of a problem from the same initial
weights, with the setting a user would start from (below, ``SETTINGS``), and
the table gives the test accuracy and the whole ``fit()`` time (kernels
compiled beforehand by one untimed fit on a few rows):

- mnist: [784, 100, 10] ReLU/softmax on the book's 50,000 training images,
  MNIST's 10,000 test images;
- tabular: ``sklearn.datasets.make_classification`` — 20,000 rows of 40
  standardised features (20 informative), 4 classes, a quarter held out;
  [40, 64, 4];
- sparse: ``bench.sparse``'s problem at 20,000 × 20,000, 0.5 % (word-like
  columns, a sparse linear teacher's labels, 4 classes), [20000, 64, 4].

The second-order methods run a fixed number of iterations (L-BFGS: 20 per
epoch; Hessian-free: 5), so that every row takes a comparable time; their
rows are not "epochs" of the same cost.
"""
from __future__ import annotations

import argparse
import time

import numpy as np

import fastnet

SEED = 0
SETTINGS = {  # name -> (optimizer factory, what it is); one line each, as a user would start
    "SGD": lambda: fastnet.SGD(eta=0.1, batch_size=32),
    "SGD + momentum": lambda: fastnet.SGD(eta=0.05, batch_size=32, momentum=0.9),
    "SGD + Nesterov": lambda: fastnet.SGD(eta=0.05, batch_size=32, momentum=0.9, nesterov=True),
    "Adam": lambda: fastnet.Adam(lr=1e-3, batch_size=32),
    "AdamW": lambda: fastnet.AdamW(lr=1e-3, batch_size=32, weight_decay=1e-2),
    "L-BFGS": lambda: fastnet.LBFGS(l2=1.0, iterations=20),
    "Hessian-free": lambda: fastnet.HessianFree(l2=1.0, iterations=5),
}


def mnist(quick):
    from bench.data import load
    data = load()
    n = 10_000 if quick else len(data.y_train)
    return [784, 100, 10], data.X_train[:n], data.y_train[:n], data.X_test, data.y_test


def tabular(quick):
    from sklearn.datasets import make_classification
    n = 5_000 if quick else 20_000
    X, y = make_classification(n_samples=n, n_features=40, n_informative=20, n_classes=4,
                               random_state=SEED)
    X = ((X - X.mean(axis=0)) / X.std(axis=0)).astype(np.float32)
    cut = n * 3 // 4
    return [40, 64, 4], X[:cut], y[:cut], X[cut:], y[cut:]


def sparse(quick):
    from bench.sparse import problem
    X, y, X_test, y_test = problem(5_000 if quick else 20_000, 20_000, 0.005)
    return [X.shape[1], 64, 4], X, y, X_test, y_test


PROBLEMS = {"mnist": mnist, "tabular": tabular, "sparse": sparse}


def run(sizes, X, y, X_test, y_test, make, epochs):
    """(test accuracy, seconds of the whole fit) of one optimizer."""
    fastnet.Network(sizes, activation="relu", seed=SEED).fit(  # compiles, untimed
        X[:64], y[:64], epochs=1, optimizer=make(), monitor=False)
    net = fastnet.Network(sizes, activation="relu", seed=SEED)
    began = time.perf_counter()
    net.fit(X, y, epochs=epochs, optimizer=make(), monitor=False)
    seconds = time.perf_counter() - began
    return float(np.mean(net.predict(X_test) == y_test)), seconds


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(prog="python -m bench.optimizers", description=__doc__.split("\n")[0])
    parser.add_argument("--problems", default=",".join(PROBLEMS),
                        help="comma-separated, of: " + ", ".join(PROBLEMS))
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--quick", action="store_true", help="smaller data (a smoke run)")
    args = parser.parse_args(argv)
    wanted = [name.strip() for name in args.problems.split(",") if name.strip()]
    unknown = [name for name in wanted if name not in PROBLEMS]
    if unknown or args.epochs < 1:
        parser.error(f"--problems: unknown {', '.join(unknown)}; pass some of {', '.join(PROBLEMS)}"
                     if unknown else "--epochs: pass 1 or more")
    rows = []
    print(f"| problem | optimizer | test accuracy | fit time ({args.epochs} epochs) |")
    print("|---|---|---|---|")
    for problem in wanted:
        sizes, *data = PROBLEMS[problem](args.quick)
        for name, make in SETTINGS.items():
            accuracy, seconds = run(sizes, *data, make, args.epochs)
            rows.append(dict(problem=problem, optimizer=name, accuracy=accuracy, seconds=seconds))
            print(f"| {problem} | {name} | {100 * accuracy:.2f} % | {seconds:.2f} s |", flush=True)
    return rows


if __name__ == "__main__":
    main()
