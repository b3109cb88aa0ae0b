"""``fastnet evaluate MODEL``: accuracy, cost and confusion matrix on MNIST or a table."""
from ..data import load_mnist, locate_mnist
from ..data.table import encode_labels, is_table, read_table, refuse_csv_flags
from ..network import Network
from .data import add_csv_flags, model_classes, prepared_inputs, regression_targets
from .scores import architecture, confusion_lines, score_line


def add(commands):
    """Register ``fastnet evaluate``."""
    evaluate = commands.add_parser(
        "evaluate", help="accuracy, cost and confusion matrix of a model on MNIST",
        description="Print a model's accuracy, cost and 10x10 confusion matrix on MNIST.")
    evaluate.add_argument("model", metavar="MODEL", help="model.npz or a checkpoint")
    evaluate.add_argument("--data", metavar="PATH", help="MNIST folder or file "
                          "(default: $FASTNET_DATA, then the user cache, then a download)")
    evaluate.add_argument("--split", choices=("test", "validation", "training"), default="test",
                          help="which part of the book's split (default: test)")
    evaluate.set_defaults(run=evaluate_command)
    add_csv_flags(evaluate)


def evaluate_command(args, parser):
    """``fastnet evaluate MODEL``: accuracy, cost and confusion matrix."""
    if args.data is None or not is_table(args.data):  # MNIST
        refuse_csv_flags(args.data, args.label_column, args.header)
    net = Network.load(args.model)
    if needs_table_evaluation(net, args.data):
        return evaluate_table(net, args)
    located, origin = locate_mnist(args.data, argument="--data")
    parts = dict(zip(("training", "validation", "test"), load_mnist(located, dtype=net.dtype)))
    X, y = parts[args.split]
    print(f"model    {args.model}: {architecture(net)}")
    print(f"data     {located} ({origin}), {args.split} set: {len(y):,} images")
    print(score_line(args.split, net, X, y))
    print("confusion matrix (rows: true digit, columns: predicted digit)")
    for line in confusion_lines(y, net.predict(X), net.sizes[-1]):
        print(line)
    return 0


def needs_table_evaluation(net, data_path):
    """Whether ``fastnet evaluate`` goes through ``evaluate_table`` instead of plain MNIST."""
    return (data_path is not None and is_table(data_path)) or net.standardize is not None \
        or net.classes is not None


def evaluate_table(net, args):
    """``fastnet evaluate MODEL --data FILE``: a table whole (or its --split part, if it comes
    split) or MNIST, through the model's standardization and classes."""
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
        parts = dict(zip(("training", "validation", "test"), load_mnist(located, dtype=net.dtype)))
        X, labels = parts[args.split]
        where, name = f"{located} ({origin}), {args.split} set", args.split
    if net.is_regression:
        y, classes = regression_targets(labels, args.data), None
    else:
        classes = model_classes(net)
        y = encode_labels(labels, classes, args.data)
    X = prepared_inputs(net, X)
    print(f"model    {args.model}: {architecture(net)}")
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
