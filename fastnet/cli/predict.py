"""``fastnet predict MODEL --data FILE``: a model's predictions for new rows, as CSV."""
import csv
import io
import sys

from ..data.table import read_features
from ..files.outputs import OutputKind, atomic_write, check_output
from ..network import Network
from .checks import add_force
from .data import add_csv_flags, model_classes, prepared_inputs

PREDICTIONS = OutputKind("a table written by fastnet predict", rb"prediction[,\r\n]")


def add(commands):
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
