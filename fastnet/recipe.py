"""``Recipe``: everything that defines a training run, as one JSON-able record.

A recipe names the network (sizes, activations, output, cost, init, dtype),
the optimizer (``optimizer_name``: SGD, Adam, AdamW, L-BFGS or Hessian-free;
epochs, batch size, eta, momentum, Nesterov, Adam's betas, AdamW's weight
decay, L2, L1, dropout, gradient-norm clipping, schedule, early stopping), the data (``limit``, ``expand``, ``distort``) and
the seed.  ``fastnet train`` builds one from a preset (``fastnet.presets``)
and its flags, stores it as ``recipe.json`` in the run folder, and ``--resume``
reads it back, so a resumed run trains exactly what the first one did.

``schedule`` is text: a name from ``fastnet.schedules`` ("constant", "step",
"exponential", "cosine", "plateau"), optionally with parameters, such as
"step:every=10,factor=0.5".  "cosine" spans the run's epochs unless given
``epochs=``.  ``minutes`` trains against a clock: the run stops before an
epoch that would end past it (``epochs`` None: no other limit), and "cosine"
anneals over it (over whichever of the epochs and the minutes runs out
first); ``warmup`` puts a linear warm-up over that fraction of the run in
front of the schedule (``fastnet.schedules.Warmup``).

``FLAGS``: the recipe's settings as command-line flags (type, help, choices),
defined once here; ``fastnet train`` adds them to its parser and a sweep's
grid converts its values with them.
"""
import dataclasses
from dataclasses import dataclass

import numpy as np

from .checks import DTYPES, fits_in_memory, positive_int, real
from .checks import seed as check_seed
from .costs import COSTS, OUTPUTS
from .data import Distort, expand, load_mnist
from .data.table import check_split
from .network import HIDDEN, INITS, Network
from .optim import SGD, Adam, AdamW, Optimizer
from .second_order import HessianFree, LBFGS  # noqa: F401 (registers "lbfgs" and "hf")
from .prefetch import Prefetch
from .schedules import SCHEDULES, Warmup, make_schedule


@dataclass
class Recipe:
    """A complete training configuration; see the module docstring."""
    preset: str | None = None           # the preset it started from, for the record
    sizes: tuple = (784, 30, 10)
    activation: tuple = ("sigmoid",)    # one name for every hidden layer, or one per layer
    output: str = "sigmoid"
    cost: str | None = None             # None: the output's natural cost
    init: str = "normalized"
    dtype: str = "float32"
    epochs: int | None = 30             # None: as many as ``minutes`` holds
    batch_size: int = 10
    eta: float = 3.0
    momentum: float = 0.0
    nesterov: bool = False
    l2: float = 0.0
    l1: float = 0.0
    dropout: float = 0.0
    schedule: str = "constant"
    warmup: float | None = None         # a linear warm-up over this fraction of the run
    early_stopping: int | None = None   # patience in epochs; None: never stop early
    beta1: float | None = None          # Adam's and AdamW's moment decay rates; None: theirs (0.9, 0.999)
    beta2: float | None = None
    weight_decay: float | None = None   # AdamW's decoupled weight decay; None: AdamW's (0.01)
    clip_norm: float | None = None      # gradient-norm clipping (sgd, adam, adamw); None: none
    expand: bool = False                # train on the book's 5x expanded training set
    distort: bool = False               # a fresh elastic distortion of it every epoch
    seed: int | None = None
    minutes: float | None = None        # wall-clock minutes of training; None: no limit
    limit: int | None = None            # train on the first `limit` training images only
    optimizer_name: str = "sgd"         # one of OPTIMIZERS (the SGD fields apply to sgd, adam, adamw)
    optimizer_settings: dict | None = None  # keyword arguments of LBFGS / HessianFree
    # users' own data (fastnet.data.table): see docs/your-data.md
    hidden: tuple | None = None         # hidden layer sizes; None: the preset's
    label_column: str | None = None     # CSV label column, a name or an index; None: the last
    header: bool | None = None          # whether a CSV's first line is a header; None: detected
    split: tuple = (0.8, 0.1, 0.1)      # training / validation / test fractions of one table
    standardize: bool = False           # (x - mean) / std, statistics of the training part

    @classmethod
    def from_dict(cls, settings):
        """A recipe from a dict of field values (unknown keys are an error)."""
        names = {field.name for field in dataclasses.fields(cls)}
        if "early_stop" in settings:  # the name in fastnet 0.1's recipe.json files
            settings = {("early_stopping" if key == "early_stop" else key): value
                        for key, value in settings.items()}
        unknown = sorted(set(settings) - names)
        if unknown:
            raise ValueError(f"recipe: unknown setting {', '.join(map(repr, unknown))}; "
                             f"known settings are {', '.join(sorted(names))}")
        recipe = cls(**settings)
        recipe.sizes = tuple(recipe.sizes)
        recipe.split = tuple(recipe.split)
        recipe.hidden = None if recipe.hidden is None else tuple(recipe.hidden)
        recipe.activation = (recipe.activation,) if isinstance(recipe.activation, str) \
            else tuple(recipe.activation)
        return recipe

    def to_dict(self):
        """The recipe as a JSON-able dict (``from_dict`` reads it back)."""
        settings = dataclasses.asdict(self)
        settings["sizes"], settings["activation"] = list(self.sizes), list(self.activation)
        settings["split"] = list(self.split)
        settings["hidden"] = None if self.hidden is None else list(self.hidden)
        return settings

    def replace(self, **changes):
        """A copy with some settings changed."""
        return type(self).from_dict({**self.to_dict(), **changes})

    def check(self):
        """Raise ValueError / TypeError naming the first bad setting."""
        if self.epochs is not None or self.minutes is None:
            positive_int("epochs", self.epochs)
        if self.minutes is not None:
            real("minutes", self.minutes, 0.0, low_open=True)
        if self.warmup is not None:
            real("warmup", self.warmup, 0.0, 1.0, low_open=True)
        if self.limit is not None:
            positive_int("limit", self.limit)
        if self.early_stopping is not None:
            positive_int("early_stopping", self.early_stopping)
        check_seed("seed", self.seed)
        check_split(self.split)
        for size in self.hidden or ():
            positive_int("hidden[]", size)
        if self.label_column is not None and not isinstance(self.label_column, str):
            raise TypeError(f"label_column: expected a column name or index as text, got "
                            f"{self.label_column!r}")
        for name in ("nesterov", "expand", "distort", "standardize"):
            if not isinstance(getattr(self, name), bool):
                raise TypeError(f"{name}: expected true or false, got {getattr(self, name)!r}")
        if self.header is not None and not isinstance(self.header, bool):
            raise TypeError(f"header: expected true, false or null (detected), got {self.header!r}")
        fits_in_memory("sizes" if self.hidden is None else "hidden", self.sizes, self.dtype)
        self.network()
        self.optimizer()

    @property
    def time_budget(self):
        """``minutes`` in seconds, as ``fit`` takes it (None: no limit)."""
        return None if self.minutes is None else 60.0 * self.minutes

    def unfinished(self, optimizer):
        """Whether ``optimizer`` has epochs left to train (the clock aside)."""
        return self.epochs is None or optimizer.epoch < self.epochs

    # ----------------------------------------------------------------- builders
    def network(self):
        """A freshly initialised ``Network``."""
        activation = self.activation[0] if len(self.activation) == 1 else list(self.activation)
        return Network(list(self.sizes), activation=activation, output=self.output,
                       cost=self.cost, init=self.init, dtype=self.dtype, seed=self.seed)

    def optimizer(self):
        """A fresh optimizer with the recipe's hyperparameters: an ``SGD``,
        ``Adam`` or ``AdamW`` (``optimizer_name`` "sgd", "adam", "adamw"), or
        for "lbfgs" / "hf" an ``LBFGS`` / ``HessianFree`` with ``l2``,
        ``early_stopping`` and ``optimizer_settings``."""
        if self.optimizer_name not in OPTIMIZERS:
            raise ValueError(f"optimizer_name: unknown value {self.optimizer_name!r}; "
                             f"pass one of {', '.join(map(repr, OPTIMIZERS))}")
        if self.optimizer_name not in FIRST_ORDER:
            settings = self.optimizer_settings or {}
            if not isinstance(settings, dict):
                raise TypeError(f"optimizer_settings: expected a dict of settings, got "
                                f"{settings!r}")
            return Optimizer.registry[self.optimizer_name](
                l2=self.l2, early_stopping=self.early_stopping, **settings)
        shared = dict(eta=self.eta, batch_size=self.batch_size, dropout=self.dropout,
                      schedule=self.learning_schedule(), clip_norm=self.clip_norm,
                      early_stopping=self.early_stopping)
        if self.optimizer_name == "sgd":
            return SGD(momentum=self.momentum, nesterov=self.nesterov, l2=self.l2, l1=self.l1,
                       **shared)
        own = {name: getattr(self, name) for name in ("beta1", "beta2", "weight_decay")
               if getattr(self, name) is not None}  # None: the optimizer's default
        if self.optimizer_name == "adam":
            return Adam(l2=self.l2, **shared, **own)
        return AdamW(**shared, **own)

    def learning_schedule(self):
        """The schedule object of ``schedule`` (behind the ``warmup``), measuring
        the run: its epochs and its minutes (see ``fastnet.schedules``)."""
        schedule = make_schedule(parse_schedule(self.schedule))
        if self.warmup is not None:
            schedule = Warmup(schedule, fraction=self.warmup)
        for_run = getattr(schedule, "for_run", None)
        return schedule if for_run is None else for_run(self.epochs, self.time_budget)

    def augmenter(self):
        """The per-epoch augmentation for ``fit`` (a ``Prefetch`` to close after use), or None."""
        return Prefetch(Distort(seed=self.seed), self.epochs) if self.distort else None

    def load_data(self, path=None):
        """MNIST as the recipe wants it: ``(X_train, y_train), (X_val, y_val), (X_test, y_test)``.

        The book's split (50,000 / 10,000 / 10,000), in ``dtype``; the training
        set cut to its first ``limit`` images, then (``expand``) with the
        book's four one-pixel shifts of every image added.
        """
        (X, y), validation, test = load_mnist(path, split="book", dtype=self.dtype)
        if self.limit is not None:
            X, y = X[:self.limit], y[:self.limit]
        if self.expand:
            X, y = expand(X, y)
        return (np.ascontiguousarray(X), y), validation, test

    # ------------------------------------------------------------------ reading
    def describe(self):
        """Two lines for people: the network, then the training."""
        cost = self.cost or "natural"
        layers = " -> ".join(map(str, self.sizes))
        network = (f"network  {layers}, {'/'.join(self.activation)} hidden, {self.output} output, "
                   f"{cost} cost, init {self.init}, {self.dtype}")
        sgd, adamw = self.optimizer_name == "sgd", self.optimizer_name == "adamw"
        optimizer = self.optimizer()
        extras = [f"momentum {self.momentum:g}" + (" (Nesterov)" if self.nesterov else "")
                  if self.momentum and sgd else "",
                  f"betas {optimizer.beta1:g}, {optimizer.beta2:g}" if isinstance(optimizer, Adam) else "",
                  f"weight decay {optimizer.weight_decay:g}" if isinstance(optimizer, AdamW) else "",
                  f"gradient norm clipped to {self.clip_norm:g}" if self.clip_norm else "",
                  f"L2 {self.l2:g}" if self.l2 and not adamw else "",
                  f"L1 {self.l1:g}" if self.l1 and sgd else "",
                  f"dropout {self.dropout:g}" if self.dropout else "",
                  f"schedule {self.schedule}" if self.schedule != "constant" else "",
                  f"warm-up over {self.warmup:g} of the run" if self.warmup else "",
                  f"early stop after {self.early_stopping}" if self.early_stopping else "",
                  "expanded data" if self.expand else "", "distorted data" if self.distort else "",
                  "standardized inputs" if self.standardize else ""]
        if self.optimizer_name not in FIRST_ORDER:  # SGD's settings do not apply
            shown = ", ".join(f"{key} {value:g}" for key, value in
                              optimizer.hyperparameters().items()
                              if key not in ("l2", "early_stopping"))
            extras = [f"L2 {self.l2:g}" if self.l2 else ""] + extras[-4:]  # early stop, data
            training = ", ".join([f"training {self._length()} of "
                                  f"{type(optimizer).__name__} ({shown})"] + [e for e in extras if e])
            return [network, training + f", seed {self.seed}"]
        name = "" if sgd else {"adam": " of Adam", "adamw": " of AdamW"}[self.optimizer_name]
        training = ", ".join([f"training {self._length()}{name}, batch {self.batch_size}, "
                              f"eta {self.eta:g}"] + [e for e in extras if e])
        return [network, training + f", seed {self.seed}"]

    def _length(self):
        """'30 epochs', '5 minutes' or '30 epochs or 5 minutes'."""
        parts = ([] if self.epochs is None else [f"{self.epochs} epochs"]) + \
            ([] if self.minutes is None else [f"{self.minutes:g} minutes"])
        return " or ".join(parts)


OPTIMIZERS = ("sgd", "adam", "adamw", "lbfgs", "hf")  # optimizer_name's values
FIRST_ORDER = ("sgd", "adam", "adamw")  # those that take the mini-batch settings


def parse_schedule(text):
    """'name' or 'name:key=value,...' as a dict for ``make_schedule``."""
    if not isinstance(text, str) or not text:
        raise TypeError(f"schedule: expected text such as 'cosine' or 'step:every=10,factor=0.5', "
                        f"got {text!r}")
    name, _, arguments = text.partition(":")
    spec = {"name": name.strip()}
    if spec["name"] not in SCHEDULES:
        raise ValueError(f"schedule: unknown name {spec['name']!r} in {text!r}; use one of "
                         f"{', '.join(SCHEDULES)}, optionally with parameters such as "
                         "'step:every=10,factor=0.5'")
    for item in filter(None, (part.strip() for part in arguments.split(","))):
        key, equals, value = item.partition("=")
        if not equals or not key.strip():
            raise ValueError(f"schedule: {item!r} in {text!r} is not key=value; write e.g. "
                             "'step:every=10,factor=0.5'")
        spec[key.strip()] = _number(value.strip(), text)
    return spec


def _number(value, text):
    for kind in (int, float):
        try:
            return kind(value)
        except ValueError:
            pass
    raise ValueError(f"schedule: {value!r} in {text!r} is not a number")


# --------------------------------------------------------------------- flags
@dataclass(frozen=True)
class Flag:
    """A recipe setting as a ``fastnet train`` flag (``--batch-size`` for ``batch_size``).

    ``parse`` turns the flag's text into the setting's value, raising ValueError
    with the reason (None: a switch, ``--expand`` / ``--no-expand``); ``group``
    is the section of ``fastnet train --help`` that lists it."""
    name: str
    group: str                          # network, training, data or run
    parse: object = str                 # int, float, str, a parser below, or None (a switch)
    metavar: str | None = None
    help: str | None = None
    choices: tuple | None = None
    aliases: tuple = ()                 # older spellings, such as --early-stop

    @property
    def option(self):
        return "--" + self.name.replace("_", "-")


def parse_sizes(text):
    """'784,100,10' as (784, 100, 10): two or more positive sizes, inputs first."""
    try:
        sizes = tuple(int(part) for part in text.split(","))
    except ValueError:
        raise ValueError(f"{text!r} is not a comma-separated list of integers such as 784,100,10") from None
    if len(sizes) < 2 or min(sizes) < 1:
        raise ValueError(f"{text!r}: need two or more positive sizes, inputs first, such as 784,100,10")
    return sizes


def parse_activations(text):
    """'relu' or 'relu,tanh' as a tuple of hidden activation names."""
    names = tuple(part.strip() for part in text.split(","))
    unknown = [name for name in names if name not in HIDDEN]
    if unknown:
        raise ValueError(f"unknown activation {', '.join(map(repr, unknown))}; use {', '.join(HIDDEN)}")
    return names


def _comma_separated(text, convert):
    """The comma-separated values of ``text``, each through ``convert``; () if one fails."""
    try:
        return tuple(convert(part) for part in text.split(","))
    except ValueError:
        return ()


def parse_hidden(text):
    """'100,50' as the hidden layers' sizes (100, 50)."""
    sizes = _comma_separated(text, int)
    if not sizes or min(sizes) < 1:
        raise ValueError(f"{text!r} is not a comma-separated list of positive integers such as 100,50")
    return sizes


def parse_split(text):
    """'0.8,0.1,0.1' as the training, validation and test fractions."""
    fractions = _comma_separated(text, float)
    if len(fractions) != 3:
        raise ValueError(f"{text!r}: expected three fractions such as 0.8,0.1,0.1")
    return fractions


def check_schedule(text):
    """``text`` itself if ``parse_schedule`` reads it (a recipe keeps its schedule as text)."""
    parse_schedule(text)
    return text


FLAGS = {flag.name: flag for flag in (
    Flag("sizes", "network", parse_sizes, "N,N,...", "units per layer, inputs first, e.g. 784,100,10"),
    Flag("activation", "network", parse_activations, "NAME[,NAME...]",
         f"hidden activation ({', '.join(HIDDEN)}), or one per hidden layer"),
    Flag("output", "network", choices=tuple(OUTPUTS)),
    Flag("cost", "network", choices=tuple(COSTS)),
    Flag("init", "network", choices=INITS, help="normalized: N(0, 1/n_in) weights; large: N(0, 1) (chapter 1)"),
    Flag("dtype", "network", choices=tuple(DTYPES)),
    Flag("epochs", "training", int, "N", "epochs to train (default: the preset's; with --minutes: as many as "
                                         "fit, or at most N if given)"),
    Flag("minutes", "training", float, "M",
         "train against a clock: stop before an epoch that would end after M minutes of training; "
         "cosine and warm-up schedules anneal over them"),
    Flag("batch_size", "training", int, "N"),
    Flag("eta", "training", float, "X", "learning rate"),
    Flag("momentum", "training", float, "X", "in [0, 1)"),
    Flag("nesterov", "training", None, help="Nesterov momentum"),
    Flag("l2", "training", float, "X", "L2 regularisation, the book's lambda (adds l2/(2n) sum w^2)"),
    Flag("l1", "training", float, "X", "L1 regularisation (l1/n sum |w|)"),
    Flag("dropout", "training", float, "P", "probability of dropping a hidden unit, in [0, 1)"),
    Flag("schedule", "training", check_schedule, "NAME[:K=V,...]",
         "constant, step, exponential, cosine or plateau, with optional parameters, e.g. "
         "step:every=10,factor=0.5"),
    Flag("warmup", "training", float, "FRACTION",
         "raise eta linearly from a tenth over this fraction of the run (its epochs or minutes), "
         "in front of the schedule"),
    Flag("clip_norm", "training", float, "X",
         "scale each mini-batch gradient down to this L2 norm where it is larger "
         "(sgd, adam, adamw)"),
    Flag("beta1", "training", float, "X", "adam, adamw: decay rate of the gradient's mean "
                                         "(default 0.9)"),
    Flag("beta2", "training", float, "X", "adam, adamw: decay rate of the gradient's mean "
                                         "square (default 0.999)"),
    Flag("weight_decay", "training", float, "X",
         "adamw: decoupled weight decay, the weights shrink by eta*X per step (default 0.01)"),
    Flag("early_stopping", "training", int, "N",
         "stop after N epochs without a better validation accuracy (0: never)", aliases=("--early-stop",)),
    Flag("expand", "data", None, help="add the book's one-pixel shifts of every training image (x5)"),
    Flag("distort", "data", None, help="train each epoch on freshly rotated, shifted, elastically distorted images"),
    Flag("limit", "data", int, "N", "train on the first N training images only (quick tries)"),
    Flag("label_column", "data", str, "NAME|INDEX",
         "CSV column holding the labels: a header name or a 0-based index (default: the last column)"),
    Flag("header", "data", None, help="whether the CSV file's first line is a header (default: detected, "
                                      "see docs/your-data.md)"),
    Flag("hidden", "data", parse_hidden, "N,N,...",
         "hidden layer sizes, e.g. 100,50; the input and output layers come from the data (default: the "
         "preset's hidden layers)"),
    Flag("split", "data", parse_split, "T,V,E",
         "training, validation and test fractions of a table given as one file (default 0.8,0.1,0.1), "
         "split per class with the run's seed"),
    Flag("standardize", "data", None, help="feed the network (x - mean) / std, statistics from the training "
                                           "part, saved in the model file"),
    Flag("seed", "run", int, "N", "seed of initialisation, shuffling, dropout and distortions (default: a "
                                  "random one, printed and saved)"),
)}
