"""Users' own data on the command line: ``fastnet train / evaluate --data FILE`` and ``fastnet predict``.

``--data`` takes MNIST as before (a folder of its IDX files, its .npz or
mnist.pkl.gz), or a table (``fastnet.data.table``): a .csv file, an .npz
with ``X`` and ``y`` (or ``x_train`` ... keys), or a folder of IDX files
whose images are not MNIST's 28 x 28 digits.  The network's input and output
sizes come from the data; ``--hidden`` sets the hidden layers (else the
preset's are kept); an explicit ``--sizes`` that disagrees with the data is
refused before anything is written.  A table that comes whole is split
(seeded, stratified) by ``--split``; ``--standardize`` takes mean and std
from the training part and stores them in the model file, so that
``evaluate``, ``predict`` and the ONNX export apply them to new rows.
"""
import argparse
import csv
import io
import sys

import numpy as np

from .data import locate_mnist
from .data.errors import DataError
from .data.table import (encode_labels, is_table, read_features, read_table)
from .cli_checks import add_force
from .files.outputs import OutputKind, atomic_write, check_output
from .network import Network
from .run_setup import network_inputs

PREDICTIONS = OutputKind("a table written by fastnet predict", rb"prediction[,\r\n]")


# ------------------------------------------------------------------ flags
def add_table_flags(group):
    """The ``fastnet train`` flags for users' data, in the argparse ``group``."""
    add_csv_flags(group)
    group.add_argument("--hidden", type=_hidden, metavar="N,N,...",
                       help="hidden layer sizes, e.g. 100,50; the input and output layers come "
                            "from the data (default: the preset's hidden layers)")
    group.add_argument("--split", type=_split, metavar="T,V,E",
                       help="training, validation and test fractions of a table given as one "
                            "file (default 0.8,0.1,0.1), split per class with the run's seed")
    group.add_argument("--standardize", action=argparse.BooleanOptionalAction,
                       help="feed the network (x - mean) / std, statistics from the training "
                            "part, saved in the model file")


def add_csv_flags(parser):
    """The flags of reading a CSV file: ``--label-column`` and ``--header``."""
    parser.add_argument("--label-column", metavar="NAME|INDEX",
                        help="CSV column holding the labels: a header name or a 0-based index "
                             "(default: the last column)")
    parser.add_argument("--header", action=argparse.BooleanOptionalAction,
                        help="whether the CSV file's first line is a header (default: detected, "
                             "see docs/your-data.md)")


def _hidden(text):
    try:
        sizes = tuple(int(part) for part in text.split(","))
    except ValueError:
        sizes = ()
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a comma-separated list of positive "
                                         "integers such as 100,50")
    return sizes


def _split(text):
    try:
        fractions = tuple(float(part) for part in text.split(","))
    except ValueError:
        fractions = ()
    if len(fractions) != 3:
        raise argparse.ArgumentTypeError(f"{text!r}: expected three fractions such as 0.8,0.1,0.1")
    return fractions


# --------------------------------------------------------------- evaluate
def needs_table_evaluation(net, data_path):
    """Whether ``fastnet evaluate`` goes through ``evaluate_table`` instead of plain MNIST."""
    return (data_path is not None and is_table(data_path)) or net.standardize is not None \
        or net.classes is not None


def evaluate_table(net, args):
    """``fastnet evaluate MODEL --data FILE``: a table whole (or its --split part, if it comes
    split) or MNIST, through the model's standardization and classes."""
    from .cli import _architecture, confusion_lines, score_line
    if args.data is not None and is_table(args.data):
        table = read_table(args.data, args.label_column, args.header)
        part = args.split if args.split in table.parts else "all" if "all" in table.parts else None
        if part is None:
            raise ValueError(f"split: {args.data} has no {args.split} part (it has "
                             f"{', '.join(table.parts)}); pass one of those")
        X, labels = table.parts[part]
        where = f"{args.data}" + ("" if part == "all" else f", {part} part")
        name = "data" if part == "all" else part
    else:
        located, origin = locate_mnist(args.data, argument="--data")
        from .data import load_mnist
        parts = dict(zip(("training", "validation", "test"), load_mnist(located, dtype=net.dtype)))
        X, labels = parts[args.split]
        where, name = f"{located} ({origin}), {args.split} set", args.split
    if net._is_regression:
        y, classes = regression_targets(labels, args.data), None
    else:
        classes = model_classes(net)
        y = encode_labels(labels, classes, args.data)
    X = prepared_inputs(net, X)
    print(f"model    {args.model}: {_architecture(net)}")
    print(f"data     {where}: {len(y):,} samples")
    print(score_line(name, net, X, y))
    if classes is None:  # a regression: its cost is its score
        return 0
    print("confusion matrix (rows: true class, columns: predicted class)")
    if net.classes is not None:
        print("classes  " + ", ".join(f"{i}={label}" for i, label in enumerate(net.classes)))
    for line in confusion_lines(y, net.predict(X), len(classes)):
        print(line)
    return 0


def model_classes(net):
    """The labels ``net.predict`` gives indices into: a binary model's (one sigmoid output)
    0 and 1, else the model's classes or its output units' indices."""
    if net.sizes[-1] == 1:
        return [0, 1]
    return net.classes if net.classes is not None else list(range(net.sizes[-1]))


def regression_targets(labels, source):
    """A regression's labels as float64 values; ``DataError`` naming the first that is no number."""
    values = np.asarray(labels)
    if values.dtype.kind in "uif":
        return values.astype(np.float64)
    for label in values.tolist():
        try:
            float(label)
        except ValueError:
            raise DataError(f"{source}: label {label!r} is not a number; the model is a "
                            "regression (one linear output), which takes numeric targets") from None
    return values.astype(np.float64)


def prepared_inputs(net, X):
    """X as the network takes it: through ``net.standardize``, in the network's dtype."""
    X = np.asarray(X)
    if X.ndim != 2 or X.shape[1] != net.sizes[0]:
        raise DataError(f"data: rows have {X.shape[1:] or 'no'} features; the model takes "
                        f"{net.sizes[0]}")
    return network_inputs(X.astype(np.float64, copy=False), net.standardize, net.dtype)


# ---------------------------------------------------------------- predict
def add_predict(commands):
    """Register ``fastnet predict``."""
    predict = commands.add_parser(
        "predict", help="predicted classes and probabilities of a model for new rows (CSV)",
        description="Write one CSV line per row of FILE: the predicted class, then the "
                    "network's output for every class.")
    predict.add_argument("model", metavar="MODEL", help="model.npz or a checkpoint")
    predict.add_argument("--data", metavar="FILE", required=True,
                         help="rows to predict: a .csv file (the model's features, optionally "
                              "with a label column, which is ignored) or an .npz holding X")
    add_csv_flags(predict)
    predict.add_argument("--out", metavar="FILE.csv", help="write here (default: standard output)")
    add_force(predict, "a table written by fastnet predict")
    predict.set_defaults(run=predict_command)


def predict_command(args, parser):
    """``fastnet predict MODEL --data FILE [--out FILE.csv]``."""
    if args.out is not None:
        check_output(args.out, "--out", PREDICTIONS, {"MODEL": args.model, "--data": args.data},
                     args.force)
    net = Network.load(args.model)
    X = prepared_inputs(net, read_features(args.data, net.sizes[0], args.label_column, args.header))
    text = io.StringIO(newline="")
    csv.writer(text, lineterminator="\n").writerows(prediction_rows(net, X))
    if args.out is None:
        sys.stdout.write(text.getvalue())
    else:
        with atomic_write(args.out, text=True) as handle:
            handle.write(text.getvalue())
        print(f"predictions for {len(X):,} rows written to {args.out}", file=sys.stderr)
    return 0


def prediction_rows(net, X):
    """The lines of ``fastnet predict``: a header, then per row of X what ``net.predict``
    gives (a class; a regression's value) and, for a classifier, its outputs."""
    predicted, outputs = net.predict(X), net.predict_proba(X)
    if predicted.dtype.kind == "f":  # one linear output, a regression: the output is the value
        return [["prediction"], *([f"{value:.6g}"] for value in predicted)]
    classes = model_classes(net)
    units = [1] if net.sizes[-1] == 1 else classes  # one sigmoid output: class 1 above 0.5
    return [["prediction", *[f"output_{label}" for label in units]],
            *([classes[label], *[f"{value:.6g}" for value in row]]
              for label, row in zip(predicted, outputs))]
