"""scikit-learn estimators on top of ``fastnet.Network``: ``FastNetClassifier``, ``FastNetRegressor``.

They use only fastnet's public API (``Network``, ``Network.fit`` with an
optimizer passed back in to continue a run, ``predict_proba``, ``weights`` /
``biases`` / ``set_parameters``) and follow scikit-learn's conventions and
parameter names where ``MLPClassifier`` / ``MLPRegressor`` have one:

| scikit-learn             | fastnet                                              |
|--------------------------|------------------------------------------------------|
| hidden_layer_sizes       | the hidden entries of ``sizes``                      |
| activation               | "relu", "tanh", "logistic" (= "sigmoid")             |
| solver                   | "adam": ``fastnet.Adam``, "sgd": ``fastnet.SGD``, "lbfgs": ``fastnet.LBFGS`` |
| alpha                    | ``l2``, scaled as scikit-learn scales α (``_solver``) |
| learning_rate_init       | ``lr`` / ``eta`` (mean gradient of a mini-batch, as both do) |
| beta_1, beta_2, epsilon  | Adam's ``beta1``, ``beta2``, ``eps``                 |
| momentum, nesterovs_momentum | SGD's ``momentum``, ``nesterov``                 |
| max_fun                  | LBFGS's ``max_evaluations``                          |
| batch_size ("auto")      | ``batch_size`` (auto: min(200, n_samples))           |
| max_iter                 | epochs (lbfgs: its iterations)                       |

Each ``fit`` is one ``Network.fit`` call whose callback keeps the fitted
attributes after every epoch and applies scikit-learn's stopping rules (by
setting the optimizer's ``stop_request``): without ``early_stopping``, stop
once the training loss has not fallen by ``tol`` for ``n_iter_no_change``
epochs; with it, hold out a (stratified) ``validation_fraction``, stop once
its score has not risen by ``tol`` for ``n_iter_no_change`` epochs, and keep
the best epoch's weights.  "lbfgs" is one epoch of ``fastnet.LBFGS`` with
``max_iter`` iterations, as scikit-learn runs it.

A fresh ``fit`` that diverges (fastnet's ``DivergenceError``, where
scikit-learn's MLP would carry on) trains again at a smaller learning rate
with a ``ConvergenceWarning``.  ``fit`` and ``partial_fit`` take
``sample_weight`` (scikit-learn's rule: each batch steps along the weighted
mean gradient; with early stopping the weights are split with the data and
weigh the validation score) and scipy.sparse X, which reaches the network's
CSR kernels without a dense copy.  ``loss_curve_`` is the running cost of
the samples as they were trained, as scikit-learn's, summed by the compiled
epoch (no extra pass over the data).

scikit-learn is an optional dependency: ``pip install "fastnet[sklearn]"``.
"""
from __future__ import annotations

import warnings
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

try:
    from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.model_selection import train_test_split
    from sklearn.utils import check_random_state
    from sklearn.utils.multiclass import check_classification_targets
    from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data
except ImportError as missing:  # pragma: no cover - exercised without the extra only
    raise ImportError("fastnet.sklearn needs scikit-learn 1.6 or later, which is not installed; "
                      "install it with: pip install \"fastnet[sklearn]\"") from missing


from .checks import as_dtype, as_sample_weight, choice, fits_in_memory, positive_int, real
from .checks import threads as check_threads
from .costs import DEFAULT_COST
from .network import Network
from .optim import SGD, Adam, Optimizer
from .second_order import LBFGS
from .training import DivergenceError

if TYPE_CHECKING:
    from typing_extensions import Self

SPARSE_FORMATS = ("csr", "csc", "coo")  # fastnet makes any of them CSR once, never dense
ACTIVATION_NAMES = {"relu": "relu", "tanh": "tanh", "logistic": "sigmoid", "sigmoid": "sigmoid"}
SOLVERS = ("adam", "sgd", "lbfgs")
RETRIES = 3  # a fit that diverges runs again, at a smaller learning rate, at most this often

__all__ = ["FastNetClassifier", "FastNetRegressor"]


class _FastNetEstimator(BaseEstimator):
    """What the classifier and the regressor share: parameters, the epoch loop, attributes."""

    _outputs: tuple[str, ...] = ()  # output layers this estimator allows; the first is the default

    def __init__(self, hidden_layer_sizes: Sequence[int] = (100,), activation: str = "relu", *,
                 solver: Literal["adam", "sgd", "lbfgs"] = "adam",
                 alpha: float = 0.0001, batch_size: int | Literal["auto"] = "auto",
                 learning_rate_init: float = 0.001, momentum: float = 0.9, nesterovs_momentum: bool = True,
                 beta_1: float = 0.9, beta_2: float = 0.999, epsilon: float = 1e-8,
                 max_iter: int = 200, max_fun: int = 15000, early_stopping: bool = False,
                 validation_fraction: float = 0.1, n_iter_no_change: int = 10, tol: float = 1e-4,
                 random_state: int | np.random.RandomState | None = None, warm_start: bool = False,
                 verbose: bool = False, dropout: float = 0.0, cost: str | None = None, output: str | None = None,
                 dtype: str | np.dtype | type = "float32", threads: int | Literal["auto"] | None = None) -> None:
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate_init = learning_rate_init
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.max_iter = max_iter
        self.max_fun = max_fun
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.random_state = random_state
        self.warm_start = warm_start
        self.verbose = verbose
        self.dropout = dropout
        self.cost = cost
        self.output = output
        self.dtype = dtype
        self.threads = threads

    # ------------------------------------------------------------ public API
    def fit(self, X: ArrayLike, y: ArrayLike, sample_weight: ArrayLike | None = None) -> Self:
        """Train on (X, y) for up to ``max_iter`` epochs; returns self.

        With ``warm_start`` and a fitted estimator, training continues from the
        current weights (and momentum) instead of starting afresh, unless
        ``hidden_layer_sizes``, ``activation``, ``output``, ``cost`` or ``dtype``
        changed since: then a new network starts.  X may be a scipy.sparse
        matrix; ``sample_weight`` (n_samples,) non-negative weights.
        """
        return self._fit(X, y, incremental=False, sample_weight=sample_weight)

    @property
    def coefs_(self) -> list[NDArray[np.floating]]:
        """Per layer, the (n_in, n_out) weights: views into ``network_``'s parameters."""
        check_is_fitted(self)
        return self.network_.weights

    @property
    def intercepts_(self) -> list[NDArray[np.floating]]:
        """Per layer, the (n_out,) biases: views into ``network_``'s parameters."""
        check_is_fitted(self)
        return self.network_.biases

    # -------------------------------------------------------------- training
    def _fit(self, X, y, incremental, classes=None, sample_weight=None):
        settings = self._checked_settings()
        if incremental and self.solver == "lbfgs":
            raise ValueError("solver: partial_fit trains one epoch of a stochastic solver, and "
                             "'lbfgs' is none; pass solver='adam' or 'sgd', or call fit")
        changed = self._changed(settings) if hasattr(self, "network_") else None
        if incremental and changed:
            raise ValueError(f"{', '.join(changed)}: changed since network_ was built "
                             f"({self.network_!r}); partial_fit continues that network: set "
                             f"{'them' if len(changed) > 1 else 'it'} back, or call fit to "
                             "start a new one")
        fresh = changed is None or bool(changed) or not (incremental or self.warm_start)
        X, y = validate_data(self, X, y, reset=fresh, dtype=(np.float64, np.float32),
                             accept_sparse=SPARSE_FORMATS, multi_output=self._multi_output,
                             y_numeric=self._multi_output)
        sample_weight = as_sample_weight("sample_weight", sample_weight, X.shape[0], np.dtype(np.float64))
        targets = self._encode_targets(y, fresh, classes)
        if fresh:
            self._start(X.shape[1], settings)
        X = X.astype(self.network_.dtype, copy=False)
        if incremental:
            self._epochs(X, targets, sample_weight, None, 1, stop_rules=False)
        elif fresh and self.solver != "lbfgs":
            self._fit_slower_if_diverged(X, targets, sample_weight)
        else:
            self._fit_epochs(X, targets, sample_weight)
        return self

    def _fit_slower_if_diverged(self, X, targets, sample_weight):
        """``_fit_epochs`` from the network's initial weights; where that
        diverges, again at the learning rate the DivergenceError suggests (or a
        tenth of it), up to ``RETRIES`` times, each with a ConvergenceWarning
        (scikit-learn's MLP trains, badly, where fastnet's divergence check
        stops a run)."""
        for retry in range(RETRIES + 1):
            try:
                return self._fit_epochs(X, targets, sample_weight)
            except DivergenceError as error:
                if retry == RETRIES:
                    raise
                failed = self.learning_rate_init * self._rate_scale
                rate = error.suggested_eta or failed / 10
                self._untrained()  # the network is back to its initial weights
                self._rate_scale = rate / self.learning_rate_init
                warnings.warn(f"{type(self).__name__}: {str(error).split('. ')[0]}; trained with "
                              f"learning_rate_init={rate:g} instead. Scale X (e.g. with "
                              "StandardScaler) and y, or pass a smaller learning_rate_init",
                              ConvergenceWarning, stacklevel=5)

    def _checked_settings(self):
        """The hyperparameters checked, with fastnet's names and values."""
        sizes = self.hidden_layer_sizes
        if isinstance(sizes, str) or not isinstance(sizes, (int, np.integer, Iterable)):
            raise TypeError(f"hidden_layer_sizes: expected a positive integer or a sequence of them, "
                            f"such as (100,) or (64, 32); got {sizes!r}")
        sizes = [sizes] if isinstance(sizes, (int, np.integer)) else list(sizes)
        hidden = [positive_int("hidden_layer_sizes[]", size) for size in sizes]
        if not isinstance(self.activation, str) or self.activation not in ACTIVATION_NAMES:
            raise ValueError(f"activation: unknown value {self.activation!r}; pass one of "
                             f"{', '.join(map(repr, ACTIVATION_NAMES))} (fastnet has no "
                             "'identity' hidden layer)")
        output = self._outputs[0] if self.output is None else self.output
        if output not in self._outputs:
            raise ValueError(f"output: {output!r} is not available here; pass one of "
                             f"{', '.join(map(repr, self._outputs))}")
        choice("solver", self.solver, SOLVERS)
        if self.batch_size != "auto":
            positive_int("batch_size", self.batch_size)
        for name in ("early_stopping", "warm_start", "nesterovs_momentum"):
            if not isinstance(getattr(self, name), (bool, np.bool_)):
                raise TypeError(f"{name}: expected True or False, got {getattr(self, name)!r}")
        positive_int("max_iter", self.max_iter)
        positive_int("n_iter_no_change", self.n_iter_no_change)
        real("tol", self.tol)
        real("validation_fraction", self.validation_fraction, 0.0, 1.0, low_open=True, high_open=True)
        check_threads("threads", self.threads)
        return {"hidden": hidden, "activation": ACTIVATION_NAMES[self.activation],
                "output": output, "cost": DEFAULT_COST[output] if self.cost is None else self.cost,
                "dtype": as_dtype(self.dtype)}

    def _changed(self, settings):
        """The parameters that describe another network than ``network_`` (changed
        by ``set_params`` since it was built)."""
        net = self.network_
        built = {"hidden_layer_sizes": list(net.sizes[1:-1]) == settings["hidden"],
                 "activation": set(net.activations) <= {settings["activation"]},
                 "output": net.output == settings["output"],
                 "cost": net.cost_name == settings["cost"],
                 "dtype": net.dtype == settings["dtype"]}
        return [name for name, same in built.items() if not same]

    def _start(self, n_features, settings):
        """A fresh network, no optimizer yet, and empty fitted attributes."""
        seed = int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))
        sizes = [n_features, *settings["hidden"], self._n_network_outputs()]
        fits_in_memory("hidden_layer_sizes", sizes, settings["dtype"])
        self.network_ = Network(sizes, activation=settings["activation"], output=settings["output"],
                                cost=settings["cost"], dtype=settings["dtype"], seed=seed)
        self._untrained()

    def _untrained(self):
        """The fitted attributes of a network not trained yet."""
        self._rate_scale = 1.0  # of learning_rate_init: less after a fit that diverged
        self.optimizer_ = None
        self.n_iter_ = 0
        self.t_ = 0
        self.loss_curve_ = []
        self.loss_ = None
        self.best_loss_ = np.inf
        self.validation_scores_ = None
        self.best_validation_score_ = None
        self._no_improvement = 0

    def _solver(self, n_samples: int, weight_total: float) -> tuple[type[Optimizer], dict]:
        """The fastnet optimizer for ``solver`` and its arguments, training on
        ``n_samples`` whose sample weights sum to ``weight_total``: the one
        place where scikit-learn's solver settings become fastnet's.  ``alpha``
        is scaled as scikit-learn scales it: "adam" and "sgd" add
        α/(2·Σ_batch sw)·Σw² to each mini-batch's (weighted) mean cost, which is
        fastnet's l2/(2n)·Σw² with l2 = α·n/batch·(n/Σsw) (exact for unit
        weights and for one batch; for weighted mini-batches, the batch's
        expected weight); "lbfgs" adds α/(2·Σsw)·Σw² to the whole set's,
        l2 = α·n/Σsw."""
        largest = float(np.finfo(self.network_.dtype).max)  # beyond, they overflow the network
        alpha = real("alpha", self.alpha, 0.0, largest) * n_samples / weight_total
        if self.solver == "lbfgs":
            return LBFGS, dict(l2=alpha, iterations=self.max_iter, gtol=self.tol,
                               max_evaluations=positive_int("max_fun", self.max_fun))
        batch = min(n_samples, 200 if self.batch_size == "auto" else self.batch_size)
        rate = real("learning_rate_init", self.learning_rate_init, 0.0, largest, low_open=True) \
            * self._rate_scale
        common = dict(batch_size=batch, l2=alpha * n_samples / batch,
                      dropout=real("dropout", self.dropout, 0.0, 1.0, high_open=True))
        if self.solver == "sgd":
            return SGD, dict(common, eta=rate,
                             momentum=real("momentum", self.momentum, 0.0, 1.0, high_open=True),
                             nesterov=bool(self.nesterovs_momentum))
        return Adam, dict(
            common, lr=rate, beta1=real("beta_1", self.beta_1, 0.0, 1.0, high_open=True),
            beta2=real("beta_2", self.beta_2, 0.0, 1.0, high_open=True),
            eps=real("epsilon", self.epsilon, 0.0, low_open=True))

    def _optimizer(self, n_samples, weight_total, previous):
        """The optimizer of ``_solver`` with the current hyperparameters; it
        continues ``previous``'s run (epoch count, history, momentum or moments)
        when that is of the same kind, so that ``set_params`` between
        warm-started fits or ``partial_fit`` calls takes effect."""
        kind, settings = self._solver(n_samples, weight_total)
        optimizer = kind(**settings)
        optimizer.eta_name = "learning_rate_init"  # messages name scikit-learn's parameter
        if type(previous) is kind:
            optimizer.epoch, optimizer.history = previous.epoch, previous.history
            optimizer.set_state(previous.state_values(), previous.state_arrays())
        return optimizer

    def _fit_epochs(self, X, targets, sample_weight):
        """Up to ``max_iter`` epochs with scikit-learn's stopping rules ("lbfgs":
        one epoch of ``max_iter`` iterations, without early stopping, as
        scikit-learn runs it)."""
        validation = None
        lbfgs = self.solver == "lbfgs"
        if self.early_stopping and not lbfgs:
            stratify = None if self._multi_output else targets
            parts = train_test_split(X, targets, *([] if sample_weight is None else [sample_weight]),
                                     test_size=self.validation_fraction, stratify=stratify,
                                     random_state=self.network_.seed)
            X, X_val, targets, t_val = parts[:4]
            sample_weight, w_val = parts[4:] or (None, None)
            if X_val.shape[0] < 2:
                raise ValueError(f"validation_fraction: {self.validation_fraction} of "
                                 f"{X.shape[0] + X_val.shape[0]} samples leaves fewer than 2 "
                                 "for validation; pass a larger validation_fraction or more data")
            validation = (X_val, self._decode(t_val), w_val)
            self.validation_scores_ = self.validation_scores_ or []
            self.best_loss_ = None
            if self.best_validation_score_ is None:
                self.best_validation_score_ = -np.inf
        self._no_improvement = 0
        converged, best = self._epochs(X, targets, sample_weight, validation,
                                       1 if lbfgs else self.max_iter, stop_rules=not lbfgs)
        if best is not None:
            self.network_.set_parameters(*best)
        if not converged:
            why = (f"solver='lbfgs' stopped before it converged ({self.optimizer_.result.message})"
                   if lbfgs else f"max_iter={self.max_iter} epochs reached and the optimization "
                   "has not converged yet")
            warnings.warn(f"{type(self).__name__}: {why}", ConvergenceWarning, stacklevel=4)

    def _epochs(self, X, targets, sample_weight, validation, epochs, stop_rules):
        """Train up to ``epochs`` epochs in one ``Network.fit`` call with a new
        ``optimizer_`` (see ``_optimizer``), keeping the fitted attributes after
        each epoch (its callback) and, with ``stop_rules``, stopping by
        scikit-learn's rules (the optimizer's ``stop_request``).

        Returns (whether the run converged: a stop rule fired, or L-BFGS
        converged; the (weights, biases) of the best validation epoch or None)."""
        best, stopped = {}, []
        weight_total = X.shape[0] if sample_weight is None else float(sample_weight.sum())
        self.optimizer_ = optimizer = self._optimizer(X.shape[0], weight_total, self.optimizer_)

        def after_epoch(net, optimizer):
            self.loss_ = float(optimizer.history["training_cost"][-1])
            self.loss_curve_.append(self.loss_)
            self.n_iter_ += optimizer.history["iterations"][-1] if "iterations" in optimizer.history else 1
            self.t_ += X.shape[0]
            if validation is not None:  # scikit-learn's _update_no_improvement_count
                X_val, y_val, w_val = validation
                score = self.score(X_val, y_val, sample_weight=w_val)
                self.validation_scores_.append(score)
                improved = not score < self.best_validation_score_ + self.tol
                if score > self.best_validation_score_:
                    self.best_validation_score_ = score
                    best["parameters"] = ([w.copy() for w in net.weights], [b.copy() for b in net.biases])
            else:
                lowest = np.inf if self.best_loss_ is None else self.best_loss_  # None after early stopping
                improved = not self.loss_ > lowest - self.tol
                self.best_loss_ = min(lowest, self.loss_)
            self._no_improvement = 0 if improved else self._no_improvement + 1
            if self.verbose:
                print(f"Iteration {self.n_iter_}, loss = {self.loss_:.8f}"
                      + (f", validation score = {score:.6f}" if validation is not None else ""), flush=True)
            if stop_rules and self._no_improvement > self.n_iter_no_change:
                optimizer.stop_request = (f"{'validation score' if validation else 'training loss'} did "
                                          f"not improve more than tol={self.tol} for "
                                          f"{self.n_iter_no_change} consecutive epochs")
                stopped.append(optimizer.stop_request)

        self.network_.threads = self.threads  # None: the plan's choice (Network.fit)
        self.network_.fit(X, targets, epochs=optimizer.epoch + epochs, optimizer=optimizer,
                          callback=after_epoch,
                          sample_weight=sample_weight, monitor="running")
        if stopped and self.verbose:
            print(stopped[0][0].upper() + stopped[0][1:] + ". Stopping.", flush=True)
        if isinstance(optimizer, LBFGS):
            return optimizer.result.status == 0, None
        return bool(stopped), best.get("parameters")

    def _outputs_of(self, X):
        """The network's outputs for X as float64, after scikit-learn's checks."""
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=(np.float64, np.float32),
                          accept_sparse=SPARSE_FORMATS)
        return self.network_.predict_proba(X.astype(self.network_.dtype, copy=False)).astype(np.float64)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags


class FastNetClassifier(ClassifierMixin, _FastNetEstimator):
    """A multi-layer perceptron classifier trained by fastnet's compiled Adam, SGD or L-BFGS.

    Labels may be anything ``np.unique`` sorts (strings, non-contiguous
    integers); ``classes_`` holds them.  The output layer has one unit per
    class: ``output="softmax"`` (default, with the log-likelihood cost) or
    ``"sigmoid"`` (cross-entropy per unit; ``predict_proba`` then normalises
    each row).  Binary problems use two softmax units.

    Fitted attributes: ``classes_``, ``n_features_in_``, ``feature_names_in_``
    (for DataFrames with string column names), ``n_iter_``, ``loss_``,
    ``loss_curve_``, ``best_loss_``, ``validation_scores_``,
    ``best_validation_score_``, ``coefs_``, ``intercepts_``, ``network_``
    (the ``fastnet.Network``) and ``optimizer_`` (its ``fastnet.Adam``,
    ``SGD`` or ``LBFGS``).
    """

    _outputs = ("softmax", "sigmoid")
    _multi_output = False

    def partial_fit(self, X: ArrayLike, y: ArrayLike, classes: ArrayLike | None = None,
                    sample_weight: ArrayLike | None = None) -> Self:
        """One epoch over (X, y) (weighted by ``sample_weight``); ``classes``
        (every label) is needed on the first call."""
        if not hasattr(self, "network_") and classes is None:
            raise ValueError("classes: the first call to partial_fit needs every label the "
                             "data can have; pass classes=np.unique(y_all)")
        return self._fit(X, y, incremental=True, classes=classes, sample_weight=sample_weight)

    def _encode_targets(self, y, fresh, classes):
        y = column_or_1d(y, warn=True)
        labels = _sorted_labels("y", y)
        check_classification_targets(y)
        if classes is not None:
            classes = _sorted_labels("classes", np.asarray(classes))
        if fresh:
            self.classes_ = labels if classes is None else classes
            if len(self.classes_) < 2:
                raise ValueError(f"y: has only one class ({self.classes_[0]!r}); a classifier "
                                 "needs samples of at least 2 classes")
        elif classes is not None and not np.array_equal(classes, self.classes_):
            raise ValueError(f"classes: {classes.tolist()} differs from the classes "
                             f"of the first call, {self.classes_.tolist()}; pass the same classes")
        index = np.searchsorted(self.classes_, y)
        index = np.minimum(index, len(self.classes_) - 1)
        unknown = self.classes_[index] != y
        if unknown.any():
            raise ValueError(f"y: label {y[unknown][0]} is not one of classes_ "
                             f"{self.classes_.tolist()}; pass every label in classes= on the "
                             "first call to partial_fit")
        return index.astype(np.int64)

    def _decode(self, targets):
        return self.classes_[targets]

    def _n_network_outputs(self):
        return len(self.classes_)

    def predict_proba(self, X: ArrayLike) -> NDArray[np.floating]:
        """Class probabilities, (n_samples, n_classes), columns in the order of ``classes_``."""
        P = self._outputs_of(X)
        if self.network_.output == "sigmoid":
            totals = P.sum(axis=1, keepdims=True)
            P = np.divide(P, totals, out=np.full_like(P, 1.0 / P.shape[1]), where=totals > 0)
        return P

    def predict_log_proba(self, X: ArrayLike) -> NDArray[np.floating]:
        """Logarithm of ``predict_proba`` (probabilities below the smallest float count as it)."""
        return np.log(np.maximum(self.predict_proba(X), np.finfo(np.float64).tiny))

    def predict(self, X: ArrayLike) -> NDArray:
        """The most probable class of each sample, (n_samples,), from ``classes_``."""
        P = self.predict_proba(X)
        return self.classes_[np.argmax(P, axis=1)]


def _sorted_labels(name, labels):
    """``np.unique(labels)``; TypeError naming ``name`` for labels of types that
    do not sort together (e.g. strings and integers)."""
    try:
        return np.unique(labels)
    except TypeError:
        kinds = sorted({type(label).__name__ for label in labels})
        raise TypeError(f"{name}: labels of mixed types ({', '.join(kinds)}) cannot be sorted "
                        f"into classes; pass labels of one type, e.g. {name}.astype(str)") from None


class FastNetRegressor(RegressorMixin, _FastNetEstimator):
    """A multi-layer perceptron regressor trained by fastnet's compiled Adam, SGD or L-BFGS.

    A linear output layer with the quadratic cost (½‖a − y‖² per sample) by
    default, one unit per target; ``output="sigmoid"`` for targets in [0, 1].
    y may be (n,) or (n, n_outputs).  Fitted attributes as for
    ``FastNetClassifier``, with ``n_outputs_`` instead of ``classes_``.
    """

    _outputs = ("linear", "sigmoid")
    _multi_output = True

    def partial_fit(self, X: ArrayLike, y: ArrayLike, sample_weight: ArrayLike | None = None) -> Self:
        """One epoch over (X, y) (weighted by ``sample_weight``)."""
        return self._fit(X, y, incremental=True, sample_weight=sample_weight)

    def _encode_targets(self, y, fresh, classes):
        y = np.asarray(y, dtype=np.float64)
        targets = y.reshape(-1, 1) if y.ndim == 1 else y
        if fresh:
            self.n_outputs_ = targets.shape[1]
        elif targets.shape[1] != self.n_outputs_:
            raise ValueError(f"y: has {targets.shape[1]} outputs but the estimator was fitted "
                             f"with {self.n_outputs_}; pass y with {self.n_outputs_} columns")
        return targets

    def _decode(self, targets):
        return targets[:, 0] if self.n_outputs_ == 1 else targets

    def _n_network_outputs(self):
        return self.n_outputs_

    def predict(self, X: ArrayLike) -> NDArray[np.floating]:
        """Predicted targets, (n_samples,) for one output, else (n_samples, n_outputs)."""
        outputs = self._outputs_of(X)
        return outputs[:, 0] if outputs.shape[1] == 1 else outputs

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags
