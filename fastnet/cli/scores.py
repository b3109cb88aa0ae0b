"""The lines that ``fastnet train``, ``evaluate`` and ``tune`` print about a model's scores."""
import numpy as np


def score_line(part, net, X, y):
    """'<part> accuracy 95.31% (9531/10000)  cost 0.0812' for ``net`` on (X, y); for a
    regression (one linear output) '<part> cost 0.0812'."""
    cost, accuracy = net.evaluate(X, y)
    if net.is_regression:
        return f"{part} cost {cost:.4f}"
    correct = int(round(accuracy * len(y)))
    return f"{part} accuracy {100 * accuracy:.2f}% ({correct}/{len(y)})  cost {cost:.4f}"


def confusion_lines(labels, predicted, n_classes):
    """The confusion matrix as text lines: a header, then one row per true class."""
    counts = np.bincount(labels * n_classes + predicted,
                         minlength=n_classes * n_classes).reshape(n_classes, n_classes)
    width = max(4, len(str(counts.max())) + 1)
    lines = [" " * 5 + "".join(f"{c:>{width}}" for c in range(n_classes))]
    lines += [f"{r:>4} " + "".join(f"{count:>{width}}" for count in row)
              for r, row in enumerate(counts)]
    return lines


def architecture(net):
    """'784 -> 30 sigmoid -> 10 sigmoid, cross_entropy cost'."""
    functions = " -> ".join(f"{n} {f}" for n, f in
                            zip(net.sizes[1:], net.activations + (net.output,)))
    return f"{net.sizes[0]} -> {functions}, {net.cost_name} cost"
