"""Time to accuracy of first- and second-order training on real MNIST.

    python -m bench.second_order [--n 10000] [--seconds 90] [--sizes 784,100,10]
                                 [--only NAME,...] [--out DIR]

Every method trains a [784,100,10] network (sigmoid hidden units) on the
first ``--n`` training images with the book's L2 λ = 5.0, which adds
λ/(2n)·Σw² to the mean cost.  scikit-learn's ``alpha`` adds alpha/(2m)·Σw²
with m the samples of one gradient: alpha = λ for its full-batch lbfgs, and
alpha = λ·m/n for adam's mini-batches of m = 200.  Each method is
stopped after ``--seconds`` of training.  After every epoch (or chunk of
iterations) the test accuracy on the 10,000 test images is measured outside
the clock.  Methods:

- SGD, the chapter-3 recipe (preset ch3-100: cross-entropy, eta 0.1, batch 10)
- SGD with momentum 0.9 (softmax + log-likelihood, eta 0.02, batch 10)
- fastnet.LBFGS() and fastnet.HessianFree() with their defaults (softmax)
- scikit-learn MLPClassifier(solver="lbfgs"), 10 iterations per call, warm start
- scikit-learn MLPClassifier(solver="adam"), one epoch per call, batch 200

Writes ``second_order.json`` (the curves), prints a markdown table and, when
matplotlib is installed, draws ``second-order.png`` (test accuracy against
training seconds) into ``--out``.
"""
import argparse
import json
import time
import warnings
from pathlib import Path


import fastnet
from fastnet.presets import PRESETS

THRESHOLDS = (0.90, 0.93, 0.95)
L2 = 5.0


def fastnet_curve(X, y, test, seconds, make_net, make_optimizer):
    """[(training seconds, test accuracy, epochs)] of one fastnet run."""
    net = make_net()
    warm = make_net()  # compile (or load from the cache) outside the clock
    warm.fit(X[:50], y[:50], epochs=1, optimizer=make_optimizer(), monitor=False)
    optimizer = make_optimizer()
    clock, curve = 0.0, []
    while clock < seconds:
        began = time.perf_counter()
        net.fit(X, y, epochs=optimizer.epoch + 1, optimizer=optimizer, monitor=False)
        clock += time.perf_counter() - began
        curve.append((clock, net.accuracy(*test), optimizer.epoch))
        if optimizer.stop_reason:
            break
    return curve


def sklearn_curve(X, y, test, seconds, solver, sizes):
    """The same for scikit-learn's MLPClassifier (None without scikit-learn)."""
    try:
        from sklearn.exceptions import ConvergenceWarning
        from sklearn.neural_network import MLPClassifier
    except ImportError:
        return None
    if solver == "lbfgs":
        options = dict(max_iter=10, alpha=L2)
    else:  # the penalty is divided by the batch's size, not by n
        options = dict(max_iter=1, batch_size=200, alpha=L2 * 200 / len(y))
    model = MLPClassifier(hidden_layer_sizes=tuple(sizes[1:-1]), activation="logistic",
                          solver=solver,
                          warm_start=True, random_state=1, tol=0.0, **options)
    clock, curve, calls = 0.0, [], 0
    while clock < seconds:
        began = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(X, y)
        clock += time.perf_counter() - began
        calls += 1
        curve.append((clock, float(model.score(*test)), calls))
    return curve


def methods(X, y, test, seconds, sizes, only):
    """name -> curve for every method whose name contains one of ``only``."""
    softmax = dict(sizes=sizes, output="softmax", seed=1)
    ch3 = PRESETS["ch3-100"].settings
    runs = {
        "SGD, ch3 recipe (eta 0.1, batch 10)": lambda: fastnet_curve(
            X, y, test, seconds, lambda: fastnet.Network(sizes, output=ch3["output"],
                                                         cost=ch3["cost"], seed=1),
            lambda: fastnet.SGD(eta=ch3["eta"], batch_size=ch3["batch_size"], l2=L2)),
        "SGD + momentum 0.9 (eta 0.02, batch 10)": lambda: fastnet_curve(
            X, y, test, seconds, lambda: fastnet.Network(**softmax),
            lambda: fastnet.SGD(eta=0.02, batch_size=10, momentum=0.9, l2=L2)),
        "fastnet.LBFGS() (10 iterations/epoch)": lambda: fastnet_curve(
            X, y, test, seconds, lambda: fastnet.Network(**softmax), fastnet.LBFGS),
        "fastnet.HessianFree() (5 steps/epoch)": lambda: fastnet_curve(
            X, y, test, seconds, lambda: fastnet.Network(**softmax), fastnet.HessianFree),
        "sklearn MLPClassifier lbfgs": lambda: sklearn_curve(X, y, test, seconds, "lbfgs",
                                                             sizes),
        "sklearn MLPClassifier adam": lambda: sklearn_curve(X, y, test, seconds, "adam", sizes),
    }
    return {name: run() for name, run in runs.items()
            if not only or any(part in name for part in only)}


def table(curves):
    """A markdown table: seconds to each threshold, best accuracy and when."""
    head = ["method"] + [f"s to {100 * t:.0f} %" for t in THRESHOLDS] + ["best test acc", "at s"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name, curve in curves.items():
        if curve is None:
            lines.append(f"| {name} | " + " | ".join(["not installed"] * (len(head) - 1)) + " |")
            continue
        reach = [next((f"{s:.1f}" for s, acc, _ in curve if acc >= t), "—") for t in THRESHOLDS]
        s, acc, _ = max(curve, key=lambda point: point[1])
        lines.append(f"| {name} | " + " | ".join(reach) + f" | {100 * acc:.2f} % | {s:.1f} |")
    return "\n".join(lines)


def plot(curves, path, title):
    """Test accuracy against training seconds; False without matplotlib."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    figure, axes = plt.subplots(figsize=(7, 4.5))
    for name, curve in curves.items():
        if curve:
            axes.plot([p[0] for p in curve], [100 * p[1] for p in curve], marker=".", label=name)
    axes.set(xlabel="training seconds", ylabel="test accuracy (%)", ylim=(85, 98), title=title)
    axes.grid(alpha=0.3)
    axes.legend(fontsize=8, loc="lower right")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return True


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.second_order", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=10_000, help="training images (default 10000)")
    parser.add_argument("--seconds", type=float, default=90.0,
                        help="training seconds per method (default 90)")
    parser.add_argument("--sizes", default="784,100,10", help="layer sizes (default 784,100,10)")
    parser.add_argument("--only", default="", help="comma-separated parts of method names "
                        "to run, e.g. fastnet.LBFGS,fastnet.HessianFree (default: all)")
    parser.add_argument("--data", help="MNIST folder (default: fastnet's usual search)")
    parser.add_argument("--out", default=".", help="folder for the json and the png")
    args = parser.parse_args(argv)
    (X, y), _, test = fastnet.load_mnist(args.data)
    X, y = X[:args.n], y[:args.n]
    sizes = [int(part) for part in args.sizes.split(",")]
    curves = methods(X, y, test, args.seconds, sizes, [p for p in args.only.split(",") if p])
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "second_order.json").write_text(json.dumps(curves, indent=1) + "\n")
    print(table(curves))
    title = f"[{args.sizes}], first {args.n:,} MNIST training images, L2 5.0"
    if plot(curves, out / "second-order.png", title):
        print(f"plot: {out / 'second-order.png'}")


if __name__ == "__main__":
    main()
