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

import inspect
import secrets
from collections.abc import Callable, Sequence
from os import PathLike
from typing import Any, Literal, NoReturn

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .checks import (as_dtype, as_sample_weight, as_targets, book_pairs, choice, fits_in_memory,
                     from_the_book, positive_int, too_large)
from .checks import n_parameters as count_parameters
from .checks import seed as check_seed
from .checks import threads as check_threads
from .costs import COSTS, DEFAULT_COST, OUTPUTS, check_pair, classes_of, regularisation
from .curvature import Curvature
from .kernels.activations import RELU, SIGMOID, TANH
from .dataset import Dataset
from . import engine
from .engine import Parameters, Plan
from .engine.plan import plan
from .files.model_io import read_model_file, save_model
from .kernels.layout import build, check_columns
from . import onnx_export
from .optim import SGD, Optimizer
from .schedules import Schedule
from .standardize import Standardize
from .training import Augment, Trainer

HIDDEN = {"sigmoid": SIGMOID, "tanh": TANH, "relu": RELU}
INITS = ("normalized", "large")


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
        # (l2, l1, n) of the last fit: cost() adds l2/(2n)·Σw² + l1/n·Σ|w| (kept with the model)
        self.regularisation: tuple[float, float, int] = (0.0, 0.0, 0)
        fits_in_memory("sizes", self.sizes, self.dtype)
        self.engine = "auto"  # how layers are computed: "auto" or one of kernels.layout.ENGINE_NAMES
        self.threads = None   # training threads: None (the plan's choice), N or "auto"; see engine/plan.py
        self.hogwild = False  # threads step without locks (kernels/hogwild.py)
        try:
            self.parameters: Parameters = self._initial_parameters()  # the weights and biases
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

    def _initial_parameters(self):
        """Weights N(0, 1/n_in) ("normalized") or N(0, 1) ("large"), biases
        N(0, 1), drawn layer by layer in the book's order; padding zero."""
        rng = np.random.default_rng(self.seed)
        parameters = Parameters(self._layout(), self.dtype)
        for W, b in zip(parameters.weights, parameters.biases):
            std = 1.0 / np.sqrt(W.shape[0]) if self.init == "normalized" else 1.0
            W[:] = rng.standard_normal(W.shape) * std
            b[:] = rng.standard_normal(b.shape)
        return parameters

    @property
    def n_parameters(self) -> int:
        """Number of weights and biases."""
        return count_parameters(self.sizes)

    @property
    def weights(self) -> list[NDArray[np.floating]]:
        """Per layer, an (n_in, n_out) view of the weights."""
        return self.parameters.weights

    @property
    def biases(self) -> list[NDArray[np.floating]]:
        """Per layer, an (n_out,) view of the biases."""
        return self.parameters.biases

    def split_parameters(self, flat: NDArray[np.floating]
                         ) -> tuple[list[NDArray[np.floating]], list[NDArray[np.floating]]]:
        """Per-layer views of a flat vector laid out like this network's
        parameters, such as an ``SGD``'s ``velocity`` or ``best_weights``:
        (weights list of (n_in, n_out), biases list of (n_out,)).  Editing the
        views edits ``flat``."""
        theta = self.parameters.theta
        if not isinstance(flat, np.ndarray) or flat.shape != theta.shape:
            shape = getattr(flat, "shape", type(flat).__name__)
            raise ValueError(f"flat: expected an array of shape {theta.shape} laid out like "
                             f"this network's parameters (e.g. an SGD's velocity), got {shape}")
        return self.parameters.split(flat)

    def join_parameters(self, weights: Sequence[ArrayLike], biases: Sequence[ArrayLike]) -> NDArray[np.floating]:
        """A new flat vector in this network's parameter layout (padding zero)
        from per-layer arrays shaped like ``weights`` and ``biases``; the
        inverse of ``split_parameters``.  Values are cast to ``dtype``; the
        vector starts on a cache line, like the parameters."""
        return self.parameters.join(weights, biases)

    def set_parameters(self, weights: Sequence[ArrayLike], biases: Sequence[ArrayLike]) -> None:
        """Overwrite every weight and bias from per-layer arrays shaped like
        ``net.weights`` [(n_in, n_out), ...] and ``net.biases`` [(n_out,), ...]."""
        self.parameters.theta[:] = self.join_parameters(weights, biases)

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
        on.  Default (None, the network's setting until one is given): the
        plan's choice, each epoch — every core where sharing the batches wins
        (batches of 32 or more with enough work, data of 2,048 samples or
        more, no layer BLAS already threads) and no other task waits for a
        core, else one thread (``fastnet.engine.plan.chosen_threads``; each
        batch synchronises the threads twice, once more with clip_norm, which costs milliseconds
        instead of microseconds when other processes share the cores).  Pass
        ``threads=1`` (or N) for weights that do not depend on the machine's
        load.  ``hogwild=True`` instead runs that many
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
        return plan(self.parameters.layers, data, batch_size, threads,
                    self.hogwild if hogwild is None else bool(hogwild), self.engine)

    # -------------------------------------------------------------- evaluation
    def prepare(self, X: ArrayLike, y: ArrayLike | None = None,
                layout: Literal["auto", "sparse", "dense"] = "auto") -> Dataset:
        """A ``fastnet.Dataset`` of X (and y) for this network: prepare once, then
        pass it to ``fit``, ``evaluate``, ``predict``, ... as often as you like.
        ``layout``: "auto" (by the inputs' density), "sparse" or "dense"."""
        data = self._dataset(Dataset(X, y, dtype=self.dtype, layout=layout,
                                     n_in=self.sizes[0]), "X")
        if y is not None:
            self.with_targets(data)  # check the targets now
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

    def with_targets(self, X: ArrayLike | Dataset, y: ArrayLike | None = None, *,
                     sample_weight: ArrayLike | None = None, name: str = "X") -> Dataset:
        """(X, y) checked and converted into a ``Dataset`` that holds this
        network's targets ``Y`` (n, n_out) (and ``sample_weight``), as
        ``fit``, ``evaluate`` and ``gradient`` take it; X may be a ``Dataset``
        already (y None: its own targets and weights).  ``name``: X's name in
        error messages."""
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

    @property
    def is_regression(self) -> bool:
        """One linear output unit: outputs are values, not classes."""
        return self.sizes[-1] == 1 and self.output == "linear"

    def regularisation_term(self) -> float:
        """The term ``cost`` adds to the mean cost: l2/(2n)·Σw² + l1/n·Σ|w| with
        (l2, l1, n) = ``regularisation``, those of the last fit."""
        l2, l1, n = self.regularisation
        return regularisation(self.parameters.theta[:self.parameters.n_weights], l2, l1, n)

    def evaluate(self, X: ArrayLike | Dataset, y: ArrayLike | None = None,
                 sample_weight: ArrayLike | None = None) -> tuple[float, float]:
        """(cost, accuracy) on (X, y) in one pass; see ``cost`` and ``accuracy``
        (accuracy is NaN for a regression: one linear output).  With
        ``sample_weight`` (n,), both are weighted means."""
        cost, accuracy = engine.evaluate(self, self.with_targets(X, y, sample_weight=sample_weight))
        return cost, float("nan") if accuracy is None else accuracy

    def accuracy(self, X: ArrayLike | Dataset, y: ArrayLike | None = None) -> float:
        """Fraction of samples whose predicted class (``predict``) is the label,
        in [0, 1]."""
        if self.is_regression:
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
        return engine.outputs(self, self._dataset(X, "X"))[0]

    def predict(self, X: ArrayLike | Dataset) -> NDArray:
        """Predicted labels (n,) int64: the index of the largest output; with one
        sigmoid output (binary classification) 1 where it exceeds 0.5, else 0.
        With one linear output (regression): the outputs, (n,) floats."""
        A = self.predict_proba(X)
        return A[:, 0].copy() if self.is_regression else classes_of(A)

    def gradient(self, X: ArrayLike | Dataset, y: ArrayLike | None = None,
                 sample_weight: ArrayLike | None = None
                 ) -> tuple[list[NDArray[np.floating]], list[NDArray[np.floating]]]:
        """Gradient of the mean unregularised cost over (X, y) (with
        ``sample_weight`` (n,), of the weighted mean Σ w_i·C_i / Σ w_i).

        Returns (gW, gb): lists shaped like ``weights`` and ``biases``.
        """
        grad = np.empty_like(self.parameters.theta)
        engine.cost_gradient(self, self.with_targets(X, y, sample_weight=sample_weight), grad)
        return self.parameters.split(grad)


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
