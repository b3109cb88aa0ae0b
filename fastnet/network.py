"""``Network``: a fully-connected feed-forward network and its public API.

Layout (see also ``kernels/layout.py``): ``net.weights[l]`` is an
(n_in, n_out) array and ``net.biases[l]`` an (n_out,) array, so that layer l
computes z = a @ weights[l] + biases[l] for a row of activations a — the
transpose of the book's w, which is (n_out, n_in), and the layout of
scikit-learn's ``coefs_``.  Both lists hold views into one flat parameter
vector (whose rows are padded for the kernels): editing them in place edits
the network.
"""
from __future__ import annotations

import contextlib
import inspect
import secrets
import time
from collections.abc import Callable, Sequence
from os import PathLike
from typing import Any, Literal, NoReturn

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .checks import (as_dtype, as_sample_weight, as_targets, book_pairs, choice, fits_in_memory,
                     from_the_book, labels_of, positive_int, too_large)
from .checks import n_parameters as count_parameters
from .checks import seed as check_seed
from .checks import threads as check_threads
from .costs import COSTS, DEFAULT_COST, OUTPUTS, check_pair, regularisation
from .curvature import Curvature
from .kernels import blas
from .kernels.activations import RELU, SIGMOID, TANH
from .kernels.costs import output_costs
from .dataset import Dataset
from .engine.plan import Plan, plan
from .files.model_io import read_model_file, save_model
from .kernels.layout import (B_OFF, N_IN, N_OUT, W_OFF, WIDTH, build, check_arrays, check_columns,
                             line_aligned, line_aligned_zeros, n_parameters)
from .kernels.hogwild import hogwild_buffers, hogwild_epoch
from .kernels.threads import train_epoch_threads
from .kernels.train import Buffers, State, Step, buffers, forward_all, train_epoch
from .kernels.update import RULES, all_finite
from . import onnx_export
from .optim import SGD, Optimizer
from .schedules import Schedule
from .standardize import Standardize
from .training import Augment, Trainer

HIDDEN = {"sigmoid": SIGMOID, "tanh": TANH, "relu": RELU}
INITS = ("normalized", "large")
PROGRESS_STEPS = 20


class Network(Curvature):
    """A fully-connected network trained by mini-batch SGD.

    sizes: units per layer, inputs first, e.g. [784, 30, 10].
    activation: "sigmoid", "tanh", "relu", or one name per hidden layer.
    output: "sigmoid", "softmax" or "linear".
    cost: "quadratic", "cross_entropy" or "log_likelihood" (default: the
        natural one for the output: log_likelihood for softmax,
        cross_entropy for sigmoid, quadratic for linear).
    init: "normalized" = weights N(0, 1/n_in), biases N(0, 1);
        "large" = N(0, 1) for both (the book's chapter 1).
    dtype: "float32" (default) or "float64".
    seed: makes initialisation, shuffling and dropout reproducible
        (None: a fresh random seed, kept in ``net.seed``).
    """

    def __init__(self, sizes: Sequence[int], activation: str | Sequence[str] = "sigmoid",
                 output: str = "softmax", cost: str | None = None, init: str = "normalized",
                 dtype: str | np.dtype | type = "float32", seed: int | None = None) -> None:
        self.sizes = self._check_sizes(sizes)
        n_hidden = len(self.sizes) - 2
        try:
            names = [activation] * n_hidden if isinstance(activation, str) else list(activation)
        except TypeError:
            raise TypeError(f"activation: expected a name such as 'sigmoid' or a list of names, "
                            f"one per hidden layer, got {activation!r}") from None
        if len(names) != n_hidden:
            raise ValueError(f"activation: got {len(names)} names for {n_hidden} hidden layers; "
                             "pass one name, or a list with one name per hidden layer")
        self.activations = tuple(choice("activation", a, HIDDEN) for a in names)
        self.output = choice("output", output, OUTPUTS)
        if self.output == "softmax" and self.sizes[-1] == 1:
            raise ValueError("output: a softmax over one unit is always 1 and learns nothing; "
                             "for two classes pass output='sigmoid' with one output unit and "
                             "0/1 labels (binary classification), or two softmax outputs")
        book = from_the_book("cost", getattr(cost, "__name__", cost))
        if book is not None:
            raise book
        self.cost_name = choice("cost", DEFAULT_COST[output] if cost is None else cost, COSTS)
        check_pair(self.output, self.cost_name)
        self.init = choice("init", init, INITS)
        self.dtype = as_dtype(dtype)
        if seed is None:
            seed = secrets.randbits(63)  # fresh entropy, as np.random.SeedSequence() draws it
        self.seed = check_seed("seed", seed)
        self.epochs_trained = 0
        self.standardize: Standardize | None = None  # kept with the model
        self.classes: list[Any] | None = None  # the label of each output unit, kept with the model (None: its index)
        self._regularised_by = (0.0, 0.0, 0)
        fits_in_memory("sizes", self.sizes, self.dtype)
        self._layers = self._layout()
        self.engine = "auto"  # how layers are computed: "auto" or one of kernels.layout.ENGINE_NAMES
        self.threads = None   # training threads: None (1), N or "auto"; see engine/plan.py
        self.hogwild = False  # threads step without locks (kernels/hogwild.py)
        try:
            self._theta = self._initial_parameters()
        except MemoryError:
            raise too_large("sizes", self.sizes, self.dtype,
                            "than this process can allocate now") from None

    def SGD(self, *args: Any, **kwargs: Any) -> NoReturn:  # noqa: N802 (the book's name)
        """The book's training method, which fastnet calls ``fit``: raises a TypeError saying so."""
        raise from_the_book("net", "SGD")

    # ----------------------------------------------------------------- layout
    @staticmethod
    def _check_sizes(sizes):
        try:
            sizes = tuple(sizes)
        except TypeError:
            raise TypeError(f"sizes: expected a list of layer sizes such as [784, 30, 10], "
                            f"got {sizes!r}") from None
        if len(sizes) < 2:
            raise ValueError(f"sizes: need at least an input and an output layer, got {list(sizes)}")
        return tuple(positive_int("sizes[]", s) for s in sizes)

    def _layout(self):
        """The layer table of ``kernels/layout.py``."""
        codes = [HIDDEN[a] for a in self.activations] + [OUTPUTS[self.output]]
        return build(self.sizes, codes)

    def __setstate__(self, state):
        """Unpickled and copied networks keep their parameters on a cache line
        (``kernels/layout.py``: the kernels run 10–25 % faster there)."""
        self.__dict__.update(state)
        self._theta = line_aligned(self._theta)

    def _initial_parameters(self):
        """Weights N(0, 1/n_in) ("normalized") or N(0, 1) ("large"), biases
        N(0, 1), drawn layer by layer in the book's order; padding zero."""
        rng = np.random.default_rng(self.seed)
        theta = line_aligned_zeros(n_parameters(self._layers), self.dtype)
        weights, biases = self._split(theta)
        for W, b in zip(weights, biases):
            std = 1.0 / np.sqrt(W.shape[0]) if self.init == "normalized" else 1.0
            W[:] = rng.standard_normal(W.shape) * std
            b[:] = rng.standard_normal(b.shape)
        return theta

    @property
    def n_parameters(self) -> int:
        """Number of weights and biases."""
        return count_parameters(self.sizes)

    @property
    def _n_padded_weights(self):
        """Length of the weights' prefix of the flat vector, padding included."""
        return int(self._layers[0, B_OFF])

    def _split(self, flat):
        """Per-layer views of a flat vector laid out like the parameters:
        (weights list of (n_in, n_out), biases list of (n_out,))."""
        weights, biases = [], []
        for row in self._layers:
            n_in, n_out, width = row[N_IN], row[N_OUT], row[WIDTH]
            block = flat[row[W_OFF]:row[W_OFF] + n_in * width].reshape(n_in, width)
            weights.append(block[:, :n_out])
            biases.append(flat[row[B_OFF]:row[B_OFF] + n_out])
        return weights, biases

    @property
    def weights(self) -> list[NDArray[np.floating]]:
        """Per layer, an (n_in, n_out) view of the weights."""
        return self._split(self._theta)[0]

    @property
    def biases(self) -> list[NDArray[np.floating]]:
        """Per layer, an (n_out,) view of the biases."""
        return self._split(self._theta)[1]

    def split_parameters(self, flat: NDArray[np.floating]
                         ) -> tuple[list[NDArray[np.floating]], list[NDArray[np.floating]]]:
        """Per-layer views of a flat vector laid out like this network's
        parameters, such as an ``SGD``'s ``velocity`` or ``best_weights``:
        (weights list of (n_in, n_out), biases list of (n_out,)).  Editing the
        views edits ``flat``."""
        if not isinstance(flat, np.ndarray) or flat.shape != self._theta.shape:
            shape = getattr(flat, "shape", type(flat).__name__)
            raise ValueError(f"flat: expected an array of shape {self._theta.shape} laid out like "
                             f"this network's parameters (e.g. an SGD's velocity), got {shape}")
        return self._split(flat)

    def join_parameters(self, weights: Sequence[ArrayLike], biases: Sequence[ArrayLike]) -> NDArray[np.floating]:
        """A new flat vector in this network's parameter layout (padding zero)
        from per-layer arrays shaped like ``weights`` and ``biases``; the
        inverse of ``split_parameters``.  Values are cast to ``dtype``; the
        vector starts on a cache line, like the parameters."""
        flat = line_aligned_zeros(self._theta.shape[0], self.dtype)
        views = self._split(flat)
        for name, given, targets in zip(("weights", "biases"), (weights, biases), views):
            given = list(given)
            if len(given) != len(targets):
                raise ValueError(f"{name}: expected {len(targets)} arrays, one per layer of "
                                 f"{list(self.sizes)}, got {len(given)}")
            for l, (array, target) in enumerate(zip(given, targets)):
                array = np.asarray(array)
                if array.shape != target.shape:
                    raise ValueError(f"{name}[{l}]: expected shape {target.shape} for layer {l} of "
                                     f"{list(self.sizes)}, got {array.shape}")
                target[...] = array
        return flat

    def set_parameters(self, weights: Sequence[ArrayLike], biases: Sequence[ArrayLike]) -> None:
        """Overwrite every weight and bias from per-layer arrays shaped like
        ``net.weights`` [(n_in, n_out), ...] and ``net.biases`` [(n_out,), ...]."""
        self._theta[:] = self.join_parameters(weights, biases)

    # ------------------------------------------------------------------ files
    def save(self, path: str | PathLike[str]) -> None:
        """Write this network to ``path``: a NumPy .npz of per-layer arrays and
        a JSON header, written atomically; see ``fastnet.files.model_io``."""
        save_model(self, path)

    @classmethod
    def load(cls, path: str | PathLike[str]) -> Network:
        """Read a network written by ``save`` (or the model in a checkpoint).

        Never unpickles; raises ``fastnet.ModelFileError`` naming the file and
        what is wrong with it."""
        return read_model_file(path, cls)[0]

    def to_onnx(self, path: str | PathLike[str], opset: int | None = None) -> None:
        """Write this network (with ``standardize`` folded in) as an ONNX model
        to ``path``, atomically; needs the ``onnx`` extra.  See ``fastnet.onnx_export``."""
        onnx_export.to_onnx(self, path, opset=opset)

    def __repr__(self):
        return (f"Network({list(self.sizes)}, activation={list(self.activations)}, "
                f"output={self.output!r}, cost={self.cost_name!r}, init={self.init!r}, "
                f"dtype={self.dtype.name!r}, seed={self.seed})")

    # ---------------------------------------------------------------- training
    def fit(self, X: ArrayLike | Dataset, y: ArrayLike | None = None, epochs: int | None = None,
            batch_size: int | None = None, eta: float | None = None, momentum: float | None = None,
            nesterov: bool | None = None, l2: float | None = None, l1: float | None = None,
            dropout: float | None = None, validation: tuple[ArrayLike | Dataset, ArrayLike | None] | None = None,
            schedule: Schedule | None = None, early_stopping: int | None = None, restore_best: bool = False,
            augment: Augment | None = None, monitor: bool | Literal["running"] = True,
            verbose: bool = False, callback: Callable[[Network, Optimizer], Any] | None = None,
            progress: Callable[[int, int], Any] | None = None, optimizer: Optimizer | None = None,
            threads: int | Literal["auto"] | None = None, hogwild: bool | None = None,
            time_budget: float | None = None, sample_weight: ArrayLike | None = None,
            clip_norm: float | None = None, **unknown: Any) -> dict[str, list]:
        """Train by mini-batch SGD (or ``optimizer``) and return the history (dict of per-epoch lists).

        X (n, n_in) float or uint8; y (n,) integer labels (or (n, n_out) real
        targets for sigmoid and linear outputs).  ``validation`` = (X_val, y_val)
        is evaluated after every epoch; ``monitor`` evaluates the training data
        too (cost and accuracy, one more pass over it), or, "running", records
        as the training cost the mean of the samples' costs as they were
        trained (summed by the compiled epoch, no extra pass; plus the
        regularisation term at the epoch's end; no accuracy).
        ``sample_weight`` (n,): each sample's weight; a batch's step follows
        the weighted mean gradient Σ w_i·g_i / Σ w_i (scikit-learn's rule), and
        the costs are weighted means.  ``dropout`` is the probability of dropping a hidden unit.
        ``schedule`` is a name or callable (see ``fastnet.schedules``);
        ``early_stopping`` a patience in epochs; ``restore_best`` keeps the
        weights of the best validation epoch.  ``augment(X, y, epoch)`` returns
        the (X, y) to train on in that epoch.  ``callback(net, optimizer)`` runs
        after each epoch; ``progress(done, n)`` a few times within each.
        The SGD keywords (batch_size, eta, momentum, nesterov, l2, l1, dropout,
        schedule, early_stopping, clip_norm) left None take ``fastnet.SGD``'s
        defaults (batch_size 10, eta 0.5, the rest off).
        Pass ``optimizer`` (e.g. ``fastnet.Adam(eta=1e-3)``, an ``SGD``, or any
        ``fastnet.optim.Optimizer``, e.g. from a checkpoint) to continue its run
        up to ``epochs`` epochs in total; it carries its own hyperparameters,
        so the SGD keywords cannot be given with it.  The loop itself is ``fastnet.training.Trainer``.

        ``time_budget``: seconds of wall-clock time for the run (an optimizer's
        earlier epochs count): training stops before an epoch that would not
        fit, judged by the last epoch's time (``optimizer.stop_reason`` says
        so), and "cosine", ``Step(at=...)`` and ``Warmup`` schedules anneal over
        the budget.  ``epochs`` None: 30, or no limit with a time_budget.

        X may be a prepared ``fastnet.Dataset`` (y None: its own targets; a
        Dataset made with targets takes no y beside them; ``augment`` then gets
        its inputs as an array, ``X.toarray()``, and the targets).
        ``threads`` shares every batch among that many threads, at most the
        cores this process may run on (bit-identical weights for a given
        count; equal to one thread within rounding);
        "auto": Numba's thread count (``NUMBA_NUM_THREADS``) from batch size 32
        on.  Default 1: each batch synchronises the threads twice (once more
        with clip_norm), which costs milliseconds instead of microseconds when
        other processes share the cores (see docs/speed.md).  ``hogwild=True`` instead runs that many
        threads of plain SGD at once on the shared weights, without locks
        (Hogwild!; for small batches; not bit-reproducible).

        The book's names (``lmbda``, ``mini_batch_size``, ``evaluation_data``,
        ``monitor_*``, ``net.SGD``, a list of (x, y) pairs) get a TypeError
        naming fastnet's (``fastnet.checks.BOOK_NAMES``); so does a callback,
        progress or augment that cannot take the arguments fastnet passes.

        History keys: training_cost, training_accuracy, validation_cost,
        validation_accuracy, eta, epoch_seconds (training time only),
        wall_seconds (the whole epoch), wait_seconds (of it, waiting for augment).
        """
        if unknown:
            keyword = next(iter(unknown))
            raise from_the_book(keyword, keyword) or TypeError(
                f"fit() got an unexpected keyword argument {keyword!r}")
        problem = book_pairs("X", X)
        if problem is not None:
            raise problem
        for name, value, signature in (("augment", augment, "augment(X, y, epoch)"),
                                       ("callback", callback, "callback(net, optimizer)"),
                                       ("progress", progress, "progress(done, n)")):
            if value is not None and not callable(value):
                raise TypeError(f"{name}: expected None or a function {signature}, got {value!r}")
            if value is not None and not takes(value, signature.count(",") + 1):
                raise TypeError(f"{name}: fastnet calls {signature}, which {value!r} cannot take; "
                                f"pass a function of {signature.count(',') + 1} arguments")
        self.threads = check_threads("threads", self.threads if threads is None else threads)
        if hogwild is not None:
            if not isinstance(hogwild, (bool, np.bool_)):
                raise TypeError(f"hogwild: expected True or False, got {hogwild!r}")
            self.hogwild = bool(hogwild)
        settings: dict[str, Any] = dict(eta=eta, batch_size=batch_size, momentum=momentum, nesterov=nesterov,
                        l2=l2, l1=l1, dropout=dropout, schedule=schedule,
                        early_stopping=early_stopping, clip_norm=clip_norm)
        given = [name for name, value in settings.items() if value is not None]
        if optimizer is None:
            optimizer = SGD(**{name: settings[name] for name in given})
        elif not isinstance(optimizer, Optimizer):
            raise TypeError(f"optimizer: expected None or a fastnet optimizer such as fastnet.SGD, "
                            f"got {optimizer!r}")
        elif given:
            kind, own = type(optimizer).__name__, optimizer.hyperparameters()
            foreign = [name for name in given if name not in own]
            instead = (f"{kind} has no {', '.join(foreign)}: drop it" if foreign else
                       f"pass them to its constructor instead ({kind}({given[0]}=...))")
            raise TypeError(f"optimizer: an optimizer carries its own hyperparameters, so "
                            f"{', '.join(given)} cannot be given with it; {instead}")
        self.optimizer = optimizer
        if validation is not None and (not isinstance(validation, (tuple, list))
                                       or len(validation) != 2):
            raise TypeError("validation: expected a pair (X_val, y_val)")
        trainer = Trainer(self, optimizer, (X, y), validation, augment=augment, monitor=monitor,
                          restore_best=restore_best, callback=callback, progress=progress,
                          verbose=verbose, sample_weight=sample_weight)
        if epochs is None and time_budget is None:
            epochs = 30
        return trainer.run(epochs, time_budget)

    def plan(self, batch_size: int = 10, X: ArrayLike | Dataset | None = None,
             threads: int | Literal["auto"] | None = None, hogwild: bool | None = None) -> Plan:
        """Which engine runs each layer and pass, on how many threads, when this
        network trains on X in batches of ``batch_size`` (``print`` it: one
        line per layer).  X: the inputs or a ``Dataset`` (their layout and size
        decide; an array is converted as ``fit`` would, so pass the Dataset of a
        large one), None for sparse inputs like MNIST's.  ``threads`` and
        ``hogwild`` as for ``fit`` (None: the network's settings, those of its
        last fit)."""
        batch_size = positive_int("batch_size", batch_size)
        threads = check_threads("threads", self.threads if threads is None else threads)
        if hogwild is not None and not isinstance(hogwild, (bool, np.bool_)):
            raise TypeError(f"hogwild: expected True, False or None (the network's own setting), "
                            f"got {hogwild!r}")
        data = None if X is None else self._dataset(X, "X")
        return self._plan(data, batch_size, threads, self.hogwild if hogwild is None else bool(hogwild))

    def _train_epoch(self, data, optimizer, eta, progress=None):
        """One epoch of ``optimizer`` (a ``fastnet.optim.FirstOrder``) over
        ``data`` (a ``Dataset`` with targets) at learning rate eta; returns
        (the seconds spent in the compiled loop, the (weighted) mean cost of
        the samples as they were trained)."""
        order = np.random.default_rng((self.seed, self.epochs_trained)).permutation(data.n)
        planned = self._plan(data, optimizer.batch_size, self.threads, self.hogwild)
        batch, threads, layers = planned.batch_size, planned.threads, planned.table
        hogwild = planned.epoch == "hogwild"
        keep = 1.0 - optimizer.dropout
        rule = optimizer.update_rule()
        velocity, second = optimizer.update_arrays()
        grad = line_aligned_zeros(self._theta.shape[0], self.dtype)
        state = State(self._theta, velocity, grad, np.ones(1),
                      *(() if second is None else (second,)))
        adam = {key: float(rule[key]) for key in ("beta1", "beta2", "eps", "weight_decay")
                if key in rule}
        step = Step(batch, *(self._scalar(name, value) for name, value in
                             (("eta", eta), ("momentum", rule.get("momentum", 0.0)))),
                    bool(rule.get("nesterov", False)), self._scalar("l2/n", rule["l2"] / data.n),
                    self._scalar("l1/n", rule.get("l1", 0.0) / data.n), keep, self.seed,
                    self.epochs_trained, OUTPUTS[self.output], COSTS[self.cost_name], True,
                    rule=RULES[rule["rule"]], clip_norm=float(rule["clip_norm"] or 0.0),
                    steps=int(optimizer.steps), **adam)
        record = data.record()
        names = ("Z", "A", "D") + (("Ad", "M") if keep < 1.0 else ())
        if hogwild:
            if rule["rule"] != "sgd" or rule.get("momentum") or rule.get("l1") \
                    or rule["clip_norm"] is not None:
                raise ValueError(f"hogwild: plain SGD only (no momentum, l1, clip_norm, Adam or "
                                 f"AdamW; got {optimizer!r}): threads sharing one velocity or "
                                 "moments would apply each other's steps; pass hogwild=False")
            grads, scales, units, X, costs = hogwild_buffers(layers, batch, threads, self.dtype)
            self._check(layers, data, velocity=velocity, gradients=grads, batch_size=batch,
                        buffers=tuple((name, units[k, t]) for k, name in enumerate(Buffers._fields[:5])
                                      for t in range(threads) if name in names),
                        gathered=X[0], Y=data.Y, order=order)
            run = lambda order, start: hogwild_epoch(  # noqa: E731
                self._theta, velocity, grads, scales, units, X, costs, layers, record, order,
                start, step)
        else:
            work = buffers(layers, batch, self.dtype, keep < 1.0,
                           data.row_splits(threads) if threads > 1 and not data.dense else None,
                           0 if data.dense else data.longest_row(), threads)
            self._check(layers, data, velocity=velocity, second=second, grad=state.grad,
                        batch_size=batch,
                        buffers=tuple((name, getattr(work, name)) for name in names),
                        gathered=work.X, Y=data.Y, order=order, row_splits=work.row_splits,
                        columns=(work.col_start, work.col_sample, work.col_value))
            costs = work.cost
            if costs.shape[0] < threads:  # each thread adds to its own sum
                raise ValueError(f"cost: {costs.shape[0]} sums for {threads} threads")
            if planned.epoch == "one_thread":
                run = lambda order, start: train_epoch(  # noqa: E731
                    state, work, layers, record, order, start, step)
            else:
                run = lambda order, start: train_epoch_threads(  # noqa: E731
                    state, work, layers, record, order, start, step, threads)
        steps = PROGRESS_STEPS if progress is not None else 1
        bounds = [min(batch * (-(-data.n // batch) * k // steps), data.n)
                  for k in range(steps + 1)]
        seconds = 0.0
        with blas.one_thread() if planned.pin_blas else contextlib.nullcontext():
            for start, stop in zip(bounds[:-1], bounds[1:]):
                began = time.perf_counter()
                run(order[start:stop], start)
                seconds += time.perf_counter() - began
                if progress is not None:
                    progress(stop, data.n)
        return seconds, float(costs.sum()) / data.weight_total

    def _check(self, layers, data, **arrays):
        """``check_arrays`` for this network's parameters and ``data``'s inputs."""
        inputs = dict(dense=data.X.reshape(-1)) if data.dense else dict(csr=data.csr)
        check_arrays(layers, self._theta, n_samples=data.n, **inputs, **arrays)

    def _scalar(self, name, value):
        """value in the network's dtype; ValueError naming it if it overflows."""
        with np.errstate(over="ignore"):
            cast = self.dtype.type(value)
        if not np.isfinite(cast):
            raise ValueError(f"{name}: {value:g} overflows this {self.dtype.name} network; "
                             f"pass a value below {np.finfo(self.dtype).max:g}")
        return cast

    # -------------------------------------------------------------- evaluation
    def prepare(self, X: ArrayLike, y: ArrayLike | None = None,
                layout: Literal["auto", "sparse", "dense"] = "auto") -> Dataset:
        """A ``fastnet.Dataset`` of X (and y) for this network: prepare once, then
        pass it to ``fit``, ``evaluate``, ``predict``, ... as often as you like.
        ``layout``: "auto" (by the inputs' density), "sparse" or "dense"."""
        data = self._dataset(Dataset(X, y, dtype=self.dtype, layout=layout,
                                     n_in=self.sizes[0]), "X")
        if y is not None:
            self._prepare(data, None)  # check the targets now
        return data

    def _dataset(self, X, name):
        """X as a checked ``Dataset`` for this network (converted once if need be)."""
        if not isinstance(X, Dataset):
            X = Dataset(X, dtype=self.dtype, n_in=self.sizes[0], name=name)
        elif X.n_in != self.sizes[0]:
            raise ValueError(f"{name}: a Dataset with {X.n_in} inputs, but this network has "
                             f"{self.sizes[0]}; pass data with {self.sizes[0]} columns")
        elif X.dtype != self.dtype:
            raise ValueError(f"{name}: a {X.dtype.name} Dataset for a {self.dtype.name} "
                             f"network; pass fastnet.Dataset(X, y, dtype={self.dtype.name!r})")
        if not X.dense and not X.columns_checked:
            check_columns(X.csr[1], self.sizes[0])  # once per data set, not per kernel call
            X.columns_checked = True
        return X

    def _prepare(self, X, y, name="X", sample_weight=None):
        """Check and convert (X, y) into a ``Dataset`` with targets (and
        ``sample_weight``); X may be a ``Dataset`` already (y None: its own
        targets and weights)."""
        data = self._dataset(X, name)
        if sample_weight is not None and data.sample_weight is not None:
            raise ValueError(f"sample_weight: {name} is a Dataset made with its own sample_weight, "
                             "so it takes none beside them; pass sample_weight None")
        label = "y" if name == "X" else f"{name}[1]" if name == "validation" else name + "'s y"
        if y is not None and isinstance(X, Dataset) and X.y is not None:
            raise ValueError(f"{label}: {name} is a Dataset made with its own targets, so it takes "
                             f"no labels beside them; pass {label} None, or a Dataset made "
                             "without y")
        if y is None:
            y = data.y
        if y is None:
            raise ValueError(f"{label}: no targets given; pass labels (n,) or a Dataset "
                             "made with y")
        Y = as_targets(label, y, data.n, self.sizes[-1], self.dtype,
                       allow_real=self.output in ("linear", "sigmoid"),
                       probabilities=self.cost_name == "cross_entropy",
                       regression=self.output == "linear")
        prepared = data.for_targets(Y)
        if sample_weight is not None:
            prepared.sample_weight = as_sample_weight("sample_weight", sample_weight, data.n,
                                                      self.dtype)
        return prepared

    def _inputs(self, X):
        return self._dataset(X, "X")

    def _plan(self, data, batch_size=10, threads=None, hogwild=False):
        """The ``Plan`` of this network's passes on the prepared ``data``."""
        return plan(self._layers, data, batch_size, threads, hogwild, self.engine)

    def _outputs(self, data, check=True):
        """Outputs A and pre-activations Z (n, n_out) of the last layer; with
        ``check``, ValueError if they are not finite (training checks its own)."""
        A = np.empty((data.n, self.sizes[-1]), dtype=self.dtype)
        Z = np.empty_like(A)
        planned = self._plan(data)
        layers = planned.evaluation_table
        targets = {} if data.Y is None else {"Y": data.Y}  # output_costs reads Y
        self._check(layers, data, outputs=(("A", A), ("Z", Z)), **targets)
        forward_all(A, Z, self._theta, layers, data.record(), threads=planned.evaluation_threads)
        if check and not all_finite(Z.reshape(-1)):
            self._explain_overflow(data)
        return A, Z

    def _explain_overflow(self, data):
        """Raise ValueError saying why the outputs are not finite: NaN/inf weights,
        or inputs whose scale overflows the dtype."""
        if not self._weights_finite():
            raise ValueError("weights: the network's parameters hold NaN or infinite values "
                             "(set by hand, or left by a failed run); load a saved model or "
                             "set finite weights with net.set_parameters(...)")
        largest = float(np.abs(data.X if data.dense else data.csr[2]).max(initial=0.0))
        raise ValueError(f"X: the network's outputs overflow {self.dtype.name} for these "
                         f"inputs (largest |x| = {largest:.3g}); scale X down (e.g. to [0, 1] "
                         "or zero mean and unit variance), or use dtype='float64'")

    def _evaluate(self, data, check=True):
        """(mean cost including the regularisation term, accuracy) on ``data``,
        both weighted means where it has sample weights; ``check`` as for
        ``_outputs``."""
        A, Z = self._outputs(data, check)
        costs = np.empty(data.n, dtype=np.float64)
        output_costs(costs, A, Z, data.Y, OUTPUTS[self.output], COSTS[self.cost_name])
        weights = data.sample_weight
        cost = float(np.average(costs, weights=weights)) + self._penalty()
        if self._is_regression:
            return cost, None
        return cost, float(np.average(self._classes(A) == self._classes(data.Y), weights=weights))

    @property
    def _is_regression(self):
        """One linear output unit: outputs are values, not classes."""
        return self.sizes[-1] == 1 and self.output == "linear"

    def _classes(self, A):
        """Classes of output (or target) rows A (n, n_out): the largest unit, or with
        one unit (binary classification) 1 where it exceeds 0.5; (n,) int64."""
        if A.shape[1] == 1:
            return (A[:, 0] > 0.5).astype(np.int64)
        return labels_of(A)

    def _penalty(self):
        l2, l1, n = self._regularised_by
        return regularisation(self._theta[:self._n_padded_weights], l2, l1, n)

    def _weights_finite(self):
        return all_finite(self._theta)

    def evaluate(self, X: ArrayLike | Dataset, y: ArrayLike | None = None,
                 sample_weight: ArrayLike | None = None) -> tuple[float, float]:
        """(cost, accuracy) on (X, y) in one pass; see ``cost`` and ``accuracy``
        (accuracy is NaN for a regression: one linear output).  With
        ``sample_weight`` (n,), both are weighted means."""
        cost, accuracy = self._evaluate(self._prepare(X, y, sample_weight=sample_weight))
        return cost, float("nan") if accuracy is None else accuracy

    def accuracy(self, X: ArrayLike | Dataset, y: ArrayLike | None = None) -> float:
        """Fraction of samples whose predicted class (``predict``) is the label,
        in [0, 1]."""
        if self._is_regression:
            raise ValueError("accuracy: this network has one linear output, a regression with "
                             "no classes to count; use net.cost(X, y) (the mean cost) instead")
        return self.evaluate(X, y)[1]

    def cost(self, X: ArrayLike | Dataset, y: ArrayLike | None = None,
             sample_weight: ArrayLike | None = None) -> float:
        """Mean cost over (X, y) plus the regularisation term of the last fit
        (l2/(2n)·Σw² + l1/n·Σ|w|, n its training-set size); with
        ``sample_weight`` (n,), the weighted mean Σ w_i·C_i / Σ w_i."""
        return self.evaluate(X, y, sample_weight)[0]

    def predict_proba(self, X: ArrayLike | Dataset) -> NDArray[np.floating]:
        """Outputs of the last layer, (n, n_out)."""
        return self._outputs(self._inputs(X))[0]

    def predict(self, X: ArrayLike | Dataset) -> NDArray:
        """Predicted labels (n,) int64: the index of the largest output; with one
        sigmoid output (binary classification) 1 where it exceeds 0.5, else 0.
        With one linear output (regression): the outputs, (n,) floats."""
        A = self.predict_proba(X)
        return A[:, 0].copy() if self._is_regression else self._classes(A)

    def gradient(self, X: ArrayLike | Dataset, y: ArrayLike | None = None,
                 sample_weight: ArrayLike | None = None
                 ) -> tuple[list[NDArray[np.floating]], list[NDArray[np.floating]]]:
        """Gradient of the mean unregularised cost over (X, y) (with
        ``sample_weight`` (n,), of the weighted mean Σ w_i·C_i / Σ w_i).

        Returns (gW, gb): lists shaped like ``weights`` and ``biases``.
        """
        grad = np.empty_like(self._theta)
        self._gradient_into(grad, self._prepare(X, y, sample_weight=sample_weight))
        return self._split(grad)

    def _gradient_into(self, grad, data):
        """grad (p,) = the gradient of the (weighted) mean unregularised cost over
        the prepared ``data``, in the padded parameter layout; overwritten."""
        self._cost_gradient(data, grad)


def takes(function: Callable, n: int) -> bool:
    """Whether ``function`` can be called with ``n`` positional arguments (True
    where Python cannot tell, e.g. for some builtins)."""
    try:
        inspect.signature(function).bind(*range(n))
    except TypeError:
        return False
    except ValueError:
        return True
    return True
