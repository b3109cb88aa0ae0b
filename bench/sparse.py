"""A high-dimensional sparse problem: fastnet, scikit-learn and PyTorch on one CSR matrix.

    python -m bench.sparse [--n 20000] [--d 100000] [--density 0.005] [--epochs 5]
                           [--only fastnet,sklearn,torch,torch_sparse]

The inputs are TF-IDF-like: ``--n`` rows of ``--d`` features, ``--density``·d
columns drawn per row by a Zipf law as words are (repeats dropped: 0.34 %
non-zero at the defaults), values in [0, 1), float32 CSR. The labels carry
real signal: each is the argmax of the row's scores under a sparse random
linear teacher (``CLASSES`` classes, N(0, 1) weights on ``TEACHER_DENSITY`` of
the features; each class's scores standardised, so the classes are near
balanced), so test accuracy says whether a model learned something
(chance is 1/``CLASSES``). The last ``TEST_FRACTION`` of the rows are the test set.

Every contender trains the same network, [d, ``HIDDEN``, ``CLASSES``], ReLU
hidden units, softmax output with log-loss, mini-batch SGD with momentum
(``ETA``, ``MOMENTUM``, batch ``BATCH``), no L2, for ``--epochs`` epochs, and
gets the CSR matrix itself:

- fastnet: ``Network.fit`` on the CSR matrix (its first layer reads the non-zeros only)
- sklearn: ``MLPClassifier(solver="sgd")`` on the same CSR matrix
- torch: each batch's rows made dense (``X[batch].toarray()``), nn.Linear layers
  (the whole dense matrix, d·n·4 bytes, would not fit at the default size)
- torch_sparse: each batch as a ``torch.sparse_coo_tensor`` through ``torch.sparse.mm``

The time is the whole fit (for fastnet after one untimed fit of a few rows
that compiles its kernels); PyTorch contenders are skipped, with a line saying
so, where torch is not installed.
"""
from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import scipy.sparse as sp

import fastnet

CLASSES = 4
HIDDEN = 64
TEACHER_DENSITY = 0.1
ZIPF = 1.0
TEST_FRACTION = 0.2
BATCH = 64
ETA = 0.05
MOMENTUM = 0.9
SEED = 0
CONTENDERS = ("fastnet", "sklearn", "torch", "torch_sparse")


def problem(n: int, d: int, density: float, seed: int = SEED):
    """(X_train, y_train, X_test, y_test): float32 CSR rows and teacher labels.

    Each row's columns are drawn as words are, by a Zipf law (column j with
    probability ∝ 1/(j + 1)^``ZIPF``; repeats dropped, so rows hold a little
    under d·density), without the n·d-sized index draws of
    ``scipy.sparse.random`` (15 GB at the default size)."""
    rng = np.random.default_rng(seed)
    k = max(1, round(d * density))
    law = np.cumsum(1.0 / np.arange(1, d + 1) ** ZIPF)
    columns = np.sort(np.minimum(np.searchsorted(law, rng.random((n, k)) * law[-1]), d - 1), axis=1)
    keep = np.ones((n, k), dtype=bool)
    keep[:, 1:] = columns[:, 1:] != columns[:, :-1]
    indptr = np.concatenate([[0], np.cumsum(keep.sum(axis=1))])
    values = rng.random(int(indptr[-1]), dtype=np.float32)
    X = sp.csr_matrix((values, columns[keep], indptr), shape=(n, d))
    teacher = rng.standard_normal((d, CLASSES)) * (rng.random((d, 1)) < TEACHER_DENSITY)
    scores = X @ teacher
    y = np.argmax((scores - scores.mean(axis=0)) / scores.std(axis=0), axis=1)  # near-balanced classes
    cut = n - int(n * TEST_FRACTION)
    return X[:cut], y[:cut], X[cut:], y[cut:]


def run_fastnet(X, y, X_test, epochs):
    d = X.shape[1]
    fastnet.Network([d, HIDDEN, CLASSES], activation="relu", seed=SEED).fit(
        X[:BATCH], y[:BATCH], epochs=1, batch_size=BATCH, eta=ETA, momentum=MOMENTUM)  # compile
    net = fastnet.Network([d, HIDDEN, CLASSES], activation="relu", seed=SEED)
    began = time.perf_counter()
    net.fit(X, y, epochs=epochs, batch_size=BATCH, eta=ETA, momentum=MOMENTUM, monitor=False)
    return time.perf_counter() - began, net.predict(X_test)


def run_sklearn(X, y, X_test, epochs):
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier
    model = MLPClassifier(hidden_layer_sizes=(HIDDEN,), activation="relu", solver="sgd",
                          learning_rate="constant", learning_rate_init=ETA, momentum=MOMENTUM,
                          nesterovs_momentum=False, alpha=0.0, batch_size=BATCH, max_iter=epochs,
                          n_iter_no_change=epochs + 1, random_state=SEED)
    began = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X, y)
    return time.perf_counter() - began, model.predict(X_test)


def run_torch(X, y, X_test, epochs, sparse_batches=False):
    import torch
    torch.manual_seed(SEED)
    d = X.shape[1]
    first = torch.nn.Parameter(torch.empty(d, HIDDEN))
    torch.nn.init.normal_(first, std=d ** -0.5)
    bias = torch.nn.Parameter(torch.zeros(HIDDEN))
    head = torch.nn.Sequential(torch.nn.ReLU(), torch.nn.Linear(HIDDEN, CLASSES))
    parameters = [first, bias, *head.parameters()]
    optimizer = torch.optim.SGD(parameters, lr=ETA, momentum=MOMENTUM)
    loss = torch.nn.CrossEntropyLoss()
    labels = torch.from_numpy(y.astype(np.int64))

    def batch_of(rows):
        part = X[rows]
        if not sparse_batches:
            return torch.from_numpy(part.toarray())
        coo = part.tocoo()
        indices = torch.from_numpy(np.vstack([coo.row, coo.col]).astype(np.int64))
        return torch.sparse_coo_tensor(indices, torch.from_numpy(coo.data), coo.shape,
                                       check_invariants=False)  # built from a valid CSR: skip the checks

    def forward(rows):
        inputs = batch_of(rows)
        hidden = torch.sparse.mm(inputs, first) if sparse_batches else inputs @ first
        return head(hidden + bias)

    rng = np.random.default_rng(SEED)
    began = time.perf_counter()
    for _ in range(epochs):
        order = rng.permutation(X.shape[0])
        for start in range(0, len(order), BATCH):
            rows = order[start:start + BATCH]
            optimizer.zero_grad(set_to_none=True)
            loss(forward(rows), labels[rows]).backward()
            optimizer.step()
    seconds = time.perf_counter() - began
    X = X_test
    with torch.no_grad():
        predicted = torch.cat([forward(np.arange(s, min(s + 1000, X.shape[0])))
                               for s in range(0, X.shape[0], 1000)]).argmax(dim=1).numpy()
    return seconds, predicted


def unavailable(name: str) -> str | None:
    """Why contender ``name`` cannot run here (None: it can)."""
    module = "torch" if name.startswith("torch") else "sklearn" if name == "sklearn" else None
    if module is None:
        return None
    try:
        __import__(module)
    except ImportError:
        return f"{module} is not installed (pip install fastnet[bench])"
    return None


RUNS = {"fastnet": run_fastnet, "sklearn": run_sklearn, "torch": run_torch,
        "torch_sparse": lambda *args: run_torch(*args, sparse_batches=True)}


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(prog="python -m bench.sparse", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=20_000, help="rows, train and test together")
    parser.add_argument("--d", type=int, default=100_000, help="features")
    parser.add_argument("--density", type=float, default=0.005, help="fraction of non-zeros")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--only", default=",".join(CONTENDERS), help="comma-separated contenders")
    args = parser.parse_args(argv)
    names = args.only.split(",")
    for name in names:
        if name not in RUNS:
            parser.error(f"--only: unknown contender {name!r}; pass some of {', '.join(CONTENDERS)}")
    X, y, X_test, y_test = problem(args.n, args.d, args.density)
    print(f"{args.n:,} x {args.d:,} CSR, {X.nnz + X_test.nnz:,} non-zeros "
          f"({100 * (X.nnz + X_test.nnz) / (args.n * args.d):.2f} %), "
          f"{CLASSES} classes, [{args.d}, {HIDDEN}, {CLASSES}], {args.epochs} epochs, batch {BATCH}")
    print("| contender | test accuracy | fit seconds | per epoch |")
    print("|---|---|---|---|")
    results = []
    for name in names:
        reason = unavailable(name)
        if reason is not None:
            print(f"| {name} | skipped: {reason} | | |", flush=True)
            continue
        seconds, predicted = RUNS[name](X, y, X_test, args.epochs)
        accuracy = float(np.mean(predicted == y_test))
        results.append(dict(contender=name, accuracy=accuracy, seconds=seconds))
        print(f"| {name} | {100 * accuracy:.2f}% | {seconds:.2f} | {seconds / args.epochs:.3f} |",
              flush=True)
    return results


if __name__ == "__main__":
    main()
