"""fastnet's FastNetClassifier against scikit-learn's MLPClassifier: accuracy and fit time.

Both get the same network (ReLU hidden layer, softmax output, log-loss), the
same optimizer (mini-batch SGD, constant learning rate, Nesterov momentum,
L2 alpha) and the same number of epochs (the stopping rules are switched off
by ``n_iter_no_change > max_iter``), on scikit-learn's ``load_digits``
(8 x 8 images, 1,347 training / 450 test, stratified) and on an MNIST subset
(the first N of the book's training images, the 10,000 test images).  They
differ in what each library does by design: initialisation (fastnet
N(0, 1/n_in) weights and N(0, 1) biases, scikit-learn Glorot-uniform),
shuffling streams and float32 (fastnet) vs float64 (scikit-learn) arithmetic.
The time is the whole ``fit()`` call, median of ``--repeats`` runs, after one
untimed warm-up fit that compiles fastnet's kernels.  scikit-learn runs twice:
with its BLAS's default threads, and limited to one BLAS thread (threadpoolctl),
which on a machine shared with other work often waits less.

    python -m bench.sklearn_compare [--mnist-train 10000] [--repeats 3]
"""
import argparse
import contextlib
import os
import statistics
import time
import warnings

from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier
from threadpoolctl import threadpool_limits

from fastnet.sklearn import FastNetClassifier


def settings(hidden, epochs, batch_size, eta, seed):
    """The constructor arguments both estimators share, in scikit-learn's names."""
    return dict(hidden_layer_sizes=(hidden,), activation="relu", solver="sgd", alpha=1e-4,
                batch_size=batch_size,
                learning_rate_init=eta, momentum=0.9, nesterovs_momentum=True, max_iter=epochs,
                n_iter_no_change=epochs + 1, early_stopping=False, random_state=seed)


def estimators(shared):
    """(label, estimator, BLAS threads or None for the default) of each contender."""
    sklearn = dict(learning_rate="constant", shuffle=True, **shared)
    return [("fastnet FastNetClassifier", FastNetClassifier(**shared), None),
            ("sklearn MLPClassifier(sgd)", MLPClassifier(**sklearn), None),
            ("sklearn MLPClassifier(sgd), 1 BLAS thread", MLPClassifier(**sklearn), 1)]


def timed_fit(model, X, y):
    began = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X, y)
    return time.perf_counter() - began


def compare(name, X_train, y_train, X_test, y_test, shared, repeats):
    """Print one line per estimator: accuracy on the test part and fit seconds."""
    timed_fit(FastNetClassifier(**{**shared, "max_iter": 1}), X_train[:50], y_train[:50])  # compile
    for label, model, blas_threads in estimators(shared):
        limit = threadpool_limits(blas_threads) if blas_threads else contextlib.nullcontext()
        with limit:
            seconds = [timed_fit(model, X_train, y_train) for _ in range(repeats)]
        accuracy = model.score(X_test, y_test)
        print(f"| {name} | {label} | {100 * accuracy:.2f}% | {statistics.median(seconds):.2f} s "
              f"| {min(seconds):.2f}-{max(seconds):.2f} s |", flush=True)


def mnist_subset(n_train):
    from fastnet import load_mnist
    folder = os.environ.get("FASTNET_DATA")
    if folder is None:
        candidate = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data", "mnist")
        folder = candidate if os.path.isdir(candidate) else None
    (X, y), _, (X_test, y_test) = load_mnist(folder, split="book", dtype="float32")
    return X[:n_train], y[:n_train], X_test, y_test


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mnist-train", type=int, default=10_000, help="MNIST training images")
    parser.add_argument("--repeats", type=int, default=3, help="timed fits per estimator")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    print("| data | estimator | test accuracy | fit time (median) | range |")
    print("|---|---|---|---|---|")
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X / 16.0, y, test_size=450, stratify=y,
                                                        random_state=args.seed)
    compare("digits, [64, 64, 10], 100 epochs, batch 32", X_train, y_train, X_test, y_test,
            settings(64, 100, 32, 0.05, args.seed), args.repeats)
    compare(f"MNIST {args.mnist_train:,}, [784, 100, 10], 10 epochs, batch 32",
            *mnist_subset(args.mnist_train), settings(100, 10, 32, 0.05, args.seed), args.repeats)


if __name__ == "__main__":
    main()
