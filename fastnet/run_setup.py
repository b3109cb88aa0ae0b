"""What a training run needs before its first epoch, for ``fastnet train`` and a sweep's tasks.

``load_run_data``: the run's data (MNIST, or a table of users' own data split
and standardized as the recipe says) with the recipe's sizes fitted to it;
``check_data_fits``: data and network checked against each other before
anything is written; ``announce_compilation``: the first run's kernel
compilation, timed and announced, off the run's clock.
"""
import time
from dataclasses import dataclass

import numpy as np

from .data import locate_mnist
from .data.errors import DataError
from .data.table import encode_labels, is_table, read_table, refuse_csv_flags, split_table
from .network import Network
from .standardize import Standardize

COMPILE_NOTE_AFTER = 1.0  # seconds: slower than a cache load, so it compiled


@dataclass
class RunData:
    """The data of a training run, ready for ``fit``, and what the network needs from it."""
    recipe: object          # the Recipe, its sizes adapted to the data
    parts: tuple            # (X, y), (X_val, y_val), (X_test, y_test); y as unit indices
    line: str               # the "data ..." line printed by fastnet train
    standardize: object     # Standardize or None
    classes: list           # label of each output unit, or None (MNIST's digits)

    def network(self):
        """A fresh network of the recipe, carrying the standardization and classes."""
        net = self.recipe.network()
        net.standardize, net.classes = self.standardize, self.classes
        return net


def load_run_data(recipe, data_path, given=()):
    """``RunData`` for ``recipe`` from ``data_path`` (None: MNIST from the usual places).

    ``given``: the recipe settings set on the command line rather than by the
    preset: ``sizes`` must then fit the data, and ``expand`` / ``distort``
    (MNIST's augmentations) are refused for a table instead of switched off.
    """
    sizes_given = "sizes" in given
    if recipe.hidden is not None and sizes_given:
        raise ValueError("hidden: --hidden and --sizes both set the layers; pass one of them")
    if data_path is not None and is_table(data_path):
        augmentations = [name for name in ("expand", "distort") if getattr(recipe, name)]
        if set(augmentations) & set(given):
            raise ValueError("expand / distort: work on MNIST's 28 x 28 images only; leave them "
                             f"out for {data_path}")
        recipe = recipe.replace(expand=False, distort=False)  # a preset's, for MNIST only
        table = read_table(data_path, recipe.label_column, recipe.header)
        classes = table.classes().tolist()
        if len(classes) < 2:
            raise DataError(f"{data_path}: every label is {classes[0]!r}; training needs samples "
                            "of at least two classes")
        parts = split_table(table, recipe.split, recipe.seed)
        if recipe.limit is not None:
            X, y = parts["training"]
            parts["training"] = (X[:recipe.limit], y[:recipe.limit])
        for name, (_, labels) in parts.items():
            if len(labels) == 0:
                raise ValueError(f"split: the {name} part of {data_path} is empty; give it a "
                                 "larger fraction (e.g. --split 0.8,0.1,0.1) or more samples")
        parts = tuple((X, encode_labels(labels, classes, data_path)) for X, labels in parts.values())
        where, n_out = str(data_path), len(classes)
    else:
        refuse_csv_flags(data_path, recipe.label_column, recipe.header)
        located, origin = locate_mnist(data_path, argument="--data")
        parts, classes = recipe.load_data(located), None
        where, n_out = f"{located} ({origin})", 10
    sizes = _sizes_for(recipe, parts[0][0].shape[1], n_out, sizes_given)
    recipe = recipe.replace(sizes=sizes)
    recipe.check()
    standardize = Standardize.fit(parts[0][0]) if recipe.standardize else None
    dtype = np.dtype(recipe.dtype)
    parts = tuple((network_inputs(X, standardize, dtype), y) for X, y in parts)
    (_, y), (_, y_val), (_, y_test) = parts
    line = f"data     {where}: {len(y):,} training, {len(y_val):,} validation, {len(y_test):,} test "
    line += "images" if classes is None else f"samples, {sizes[0]} features, {n_out} classes"
    return RunData(recipe, parts, line, standardize, classes)


def _sizes_for(recipe, n_in, n_out, sizes_given):
    if sizes_given and (recipe.sizes[0], recipe.sizes[-1]) != (n_in, n_out):
        raise ValueError(f"sizes: {','.join(map(str, recipe.sizes))} does not fit the data, which "
                         f"has {n_in} features and {n_out} classes; pass --sizes "
                         f"{n_in},...,{n_out}, or --hidden with the hidden layers only")
    hidden = recipe.hidden if recipe.hidden is not None else recipe.sizes[1:-1]
    return (n_in, *hidden, n_out)


def network_inputs(X, standardize, dtype):
    """X as a network of ``dtype`` takes it: through ``standardize`` (None: as it is), C-contiguous."""
    X = X if standardize is None else standardize.apply(X.astype(np.float64, copy=False))
    return np.ascontiguousarray(X, dtype=dtype)


def check_data_fits(net, train, validation, test):
    """Raise ValueError (naming the flag) unless every part of the data fits ``net``:
    so that settings that cannot work fail before a run folder is written."""
    n_in, n_out = net.sizes[0], net.sizes[-1]
    for part, (X, y) in (("training", train), ("validation", validation), ("test", test)):
        if X.ndim != 2 or X.shape[1] != n_in:
            raise ValueError(f"--sizes: the network has {n_in} inputs but the {part} images "
                             f"have {X.shape[1] if X.ndim == 2 else X.shape} pixels; pass "
                             f"--sizes {X.shape[-1]},...")
        largest = int(np.max(y)) if len(y) else 0
        if n_out == 1 or largest >= n_out:
            raise ValueError(f"--sizes: the network has {n_out} output(s) but the {part} labels "
                             f"go up to {largest}; pass --sizes ...,{largest + 1} "
                             "(one output per class)")
    net.with_targets(train[0][:1], train[1][:1])  # the network's own checks, on one sample


def announce_compilation(net, optimizer, X, y):
    """Run every kernel of the coming fit once on a tiny copy, so that the first
    run's compilation (seconds; later runs load Numba's cache) is said out loud
    and kept out of epoch 1's time.  Returns the seconds it took."""
    print("kernels  compiling (first run only)...", end="", flush=True)
    began = time.perf_counter()
    tiny = Network(net.sizes, activation=list(net.activations), output=net.output,
                   cost=net.cost_name, dtype=net.dtype.name, seed=0)
    settings = {**optimizer.hyperparameters(), "early_stopping": None}
    if "schedule" in settings:
        settings["schedule"] = None
    try:
        tiny.fit(X[:2], y[:2], epochs=1, optimizer=type(optimizer)(**settings),
                 validation=(X[:2], y[:2]))
    except ArithmeticError:  # a diverging eta: compiled all the same; the run will say so
        pass
    seconds = time.perf_counter() - began
    done = "done in" if seconds >= COMPILE_NOTE_AFTER else "not needed: loaded from cache in"
    print(f" {done} {seconds:.1f} s", flush=True)
    return seconds
