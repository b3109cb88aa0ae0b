"""Argument checks shared by the public API.

Every failure raises ``ValueError`` or ``TypeError`` with a message that names
the argument, says what was wrong and what to pass instead.
"""
import numbers
import os

import numpy as np

from .kernels.update import all_finite

DTYPES = {"float32": np.float32, "float64": np.float64}


def as_dtype(dtype):
    """The NumPy dtype for "float32" / "float64" (or the dtype objects)."""
    try:
        # np.dtype(None) is float64: None must not pass for a choice.
        name = None if dtype is None else np.dtype(dtype).name
    except TypeError:
        name = None
    if name is None:
        raise TypeError(f"dtype: expected 'float32' or 'float64', got {dtype!r}")
    if name not in DTYPES:
        raise ValueError(f"dtype: {name!r} is not supported; pass 'float32' or 'float64'")
    return np.dtype(DTYPES[name])


def choice(name, value, options):
    """value if it is one of ``options`` (a dict or sequence of names)."""
    listed = ", ".join(repr(o) for o in options)
    if not isinstance(value, str):
        raise TypeError(f"{name}: expected a name, one of {listed}, got {value!r}")
    if value not in options:
        raise ValueError(f"{name}: unknown value {value!r}; pass one of {listed}")
    return value


def integer(name, value, minimum=0, maximum=None):
    """value as an int, which must be >= minimum (and <= maximum, if given)."""
    kind = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name}: expected {kind}, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name}: must be {kind}, got {value}; pass {minimum} or more")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name}: {value} is too large; pass an integer from {minimum} to {maximum}")
    return int(value)


def seed(name, value):
    """A seed: an integer in [0, 2**63) (the compiled loop takes it as an int64)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
        raise TypeError(f"{name}: expected a non-negative integer, got {value!r}")
    if value >= 2**63:
        raise ValueError(f"{name}: {value} is too large; pass an integer below 2**63")
    return int(value)


def positive_int(name, value):
    """value as an int, which must be >= 1."""
    return integer(name, value, minimum=1)


def cores():
    """The CPU cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # no affinity outside Linux: every core
        return os.cpu_count() or 1


def threads(name, value):
    """A training thread count: None (the plan's choice), "auto", or from 1 to ``cores()``.

    More threads than cores are refused, not capped: the threads meet at
    every batch, so each one without a core of its own makes every batch wait
    for it, and a silent cap would change the weights (they depend on the count)."""
    if value is None or isinstance(value, str) and value == "auto":
        return value
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name}: expected a positive integer or 'auto', got {value!r}")
    value, available = positive_int(name, value), cores()
    if value > available:
        raise ValueError(f"{name}: {value} threads, but this process may run on {available} "
                         f"cores; pass at most {available} (or 'auto'): threads beyond the cores "
                         "wait for each other at every batch")
    return value


def real(name, value, low=0.0, high=np.inf, low_open=False, high_open=False):
    """value as a finite float within [low, high] (open ends as asked)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name}: expected a number, got {value!r}")
    value = float(value)
    too_low = value <= low if low_open else value < low
    too_high = value >= high if high_open else value > high
    if not np.isfinite(value) or too_low or too_high:
        left = "(" if low_open else "["
        right = ")" if high_open or high == np.inf else "]"
        raise ValueError(f"{name}: {value!r} is out of range; pass a finite number "
                         f"in {left}{low:g}, {high:g}{right}")
    return value


def memory():
    """This machine's physical memory in bytes (None where unknown)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return None


def fits_in_memory(name, sizes, dtype):
    """Refuse layer ``sizes`` whose parameters alone, in ``dtype``, need more
    than this machine's memory, before anything is allocated."""
    sizes, dtype, limit = [positive_int(f"{name}[]", size) for size in sizes], as_dtype(dtype), memory()
    if limit is not None and n_parameters(sizes) * dtype.itemsize > limit:
        raise too_large(name, sizes, dtype, f"than this machine's {limit / 2**30:,.1f} GiB of memory")


def n_parameters(sizes):
    """Weights and biases of a fully-connected network of layer ``sizes``."""
    return sum(n_in * n_out + n_out for n_in, n_out in zip(sizes, sizes[1:]))


def too_large(name, sizes, dtype, limit):
    """The error for layer ``sizes`` whose parameters in ``dtype`` need more
    memory ``limit`` (a phrase: "than ...")."""
    count = n_parameters(sizes)
    return ValueError(f"{name}: a network of layers {list(sizes)} has {count:,} weights and "
                      f"biases, {count * np.dtype(dtype).itemsize / 2**30:,.1f} GiB of "
                      f"{np.dtype(dtype).name} for its parameters alone (training needs a few "
                      f"times that), more {limit}; pass fewer units in {name}")


def as_inputs(name, X, n_in, dtype, finite=True):
    """X as a C-contiguous (n, n_in) array of ``dtype``, checked (for NaN and
    infinities too unless ``finite`` is False: the caller checks them and
    raises ``not_finite``).

    Float arrays of any precision are converted once; uint8 arrays are taken
    as pixel intensities and scaled to [0, 1].
    """
    try:
        X = np.asarray(X)
    except ValueError as error:  # e.g. rows of different lengths
        raise ValueError(f"{name}: cannot be read as an (n, {n_in}) array ({error}); "
                         "pass a 2-D array with one row per sample") from None
    if X.dtype == np.uint8:
        X = X.astype(dtype) / dtype.type(255)
    elif X.dtype.kind != "f":  # other integers are ambiguous: 0..255 pixels or features?
        raise TypeError(f"{name}: expected a float or uint8 array, got dtype {X.dtype}; "
                        f"pass {name}.astype('float32') (features as they are) or "
                        f"{name}.astype('uint8') (0..255 pixels, scaled to [0, 1])")
    if X.ndim == 1 and X.shape[0] == n_in:
        raise ValueError(f"{name}: expected a 2-D array (n, {n_in}), got one sample of shape "
                         f"{X.shape}; pass {name}.reshape(1, -1)")
    if X.ndim != 2 or X.shape[1] != n_in:
        raise ValueError(f"{name}: expected shape (n, {n_in}) for a network with {n_in} "
                         f"inputs, got {X.shape}")
    if X.shape[0] == 0:
        raise ValueError(f"{name}: is empty (0 samples); pass at least one sample")
    with np.errstate(over="ignore"):  # too large for dtype becomes inf, caught below
        X = np.ascontiguousarray(X, dtype=dtype)
    if finite and not all_finite(X.reshape(-1)):  # no temporary (n, n_in) array of booleans
        raise not_finite(name, dtype)
    return X


def not_finite(name, dtype):
    """The error for inputs ``name`` with NaN or infinite values."""
    return ValueError(f"{name}: contains NaN or infinite values (or values too large for "
                      f"{dtype.name}); clean or drop those samples first (e.g. np.nan_to_num)")


def as_sample_weight(name, weights, n, dtype):
    """Per-sample weights as an (n,) array of ``dtype``: finite, none negative,
    not all zero (None stays None: every sample counts once)."""
    if weights is None:
        return None
    w = np.asarray(weights)
    if w.dtype == np.bool_ or not np.issubdtype(w.dtype, np.number) or np.iscomplexobj(w):
        raise TypeError(f"{name}: expected an (n,) array of non-negative numbers, got dtype "
                        f"{w.dtype}; pass one float weight per sample")
    if w.shape != (n,):
        raise ValueError(f"{name}: expected shape ({n},), one weight per sample, got {w.shape}")
    with np.errstate(over="ignore"):
        w = np.ascontiguousarray(w, dtype=dtype)
    if not np.isfinite(w).all():
        raise ValueError(f"{name}: contains NaN or infinite weights (or weights too large for "
                         f"{dtype.name}); pass finite weights")
    if n and w.min() < 0:
        raise ValueError(f"{name}: weights must not be negative, got {w.min():g}; pass weights >= 0")
    if not w.any():
        raise ValueError(f"{name}: every weight is zero, so no sample counts; pass some positive weights")
    return w


def as_targets(name, y, n, n_out, dtype, allow_real, probabilities=False,
               regression=False):
    """Targets as an (n, n_out) array of ``dtype``: one-hot rows for labels.

    ``y`` is (n,) integer labels in [0, n_out), or, where ``allow_real`` says
    so, (n, n_out) real targets — in [0, 1] where ``probabilities`` says so
    (the cross-entropy's targets).  With one output unit (``n_out`` 1) and
    ``allow_real``, (n,) targets are that unit's column: 0/1 labels of a
    binary classifier, or (``regression``, a linear output) real values.
    """
    y = np.asarray(y)
    if n_out == 1 and y.ndim == 1 and allow_real and y.shape[0] == n:
        # One output unit: (n,) targets are its column: 0/1 labels of a binary
        # classifier (sigmoid) or the real targets of a regression (linear).
        if y.dtype == np.bool_ or np.issubdtype(y.dtype, np.integer):
            if probabilities or not regression:
                if n and (y.min() < 0 or y.max() > 1):
                    raise ValueError(f"{name}: a one-output sigmoid network is a binary "
                                     f"classifier and needs labels 0 or 1, got values from "
                                     f"{y.min()} to {y.max()}; pass (y == positive_class)"
                                     ".astype(int)")
            y = y.astype(np.float64)
        y = y.reshape(n, 1)
    if y.ndim == 2 and allow_real:
        if y.shape != (n, n_out):
            raise ValueError(f"{name}: real targets must have shape ({n}, {n_out}), got {y.shape}")
        if not np.issubdtype(y.dtype, np.number):
            raise ValueError(f"{name}: real targets must be finite numbers")
        with np.errstate(over="ignore"):
            Y = np.ascontiguousarray(y, dtype=dtype)
        if not np.isfinite(Y).all():
            raise ValueError(f"{name}: real targets must be finite numbers "
                             f"(and fit in {dtype.name})")
        if probabilities and (Y.min() < 0 or Y.max() > 1):
            raise ValueError(f"{name}: the cross-entropy needs targets in [0, 1], got values "
                             f"from {Y.min():g} to {Y.max():g}; rescale them, or use "
                             "cost='quadratic'")
        return Y
    if y.ndim != 1:
        kind = "(n,) integer labels" + (f" or (n, {n_out}) real targets" if allow_real else "")
        raise ValueError(f"{name}: expected {kind}, got shape {y.shape}")
    if y.shape[0] != n:
        raise ValueError(f"{name}: has {y.shape[0]} labels but the inputs have {n} samples; "
                         "pass one label per sample")
    if not np.issubdtype(y.dtype, np.integer) or y.dtype == np.bool_:
        real = (f", or real targets of shape ({n}, {n_out})" if allow_real else "")
        raise TypeError(f"{name}: class labels must be integers, got dtype {y.dtype}; "
                        f"pass {name}.astype(int) if these are class numbers{real}")
    if n and (y.min() < 0 or y.max() >= n_out):
        raise ValueError(f"{name}: labels must lie in [0, {n_out - 1}] for {n_out} outputs, "
                         f"got values from {y.min()} to {y.max()}")
    Y = np.zeros((n, n_out), dtype=dtype)
    Y[np.arange(n), y] = 1
    return Y


def labels_of(Y):
    """The class each target row stands for: argmax per row, (n,) int64."""
    return np.argmax(Y, axis=1)


# The book's names (Nielsen's network.py / network2.py) -> what to write in fastnet.
BOOK_NAMES = {
    "SGD": "net.fit(X, y, epochs, batch_size, eta)",
    "mini_batch_size": "batch_size", "lmbda": "l2", "early_stopping_n": "early_stopping",
    "evaluation_data": "validation=(X_val, y_val)", "test_data": "validation=(X_val, y_val)",
    "monitor_evaluation_accuracy": "validation=(X_val, y_val) (evaluated after every epoch: "
                                   "history['validation_accuracy'])",
    "monitor_evaluation_cost": "validation=(X_val, y_val) (evaluated after every epoch: "
                               "history['validation_cost'])",
    "monitor_training_accuracy": "monitor=True (history['training_accuracy'])",
    "monitor_training_cost": "monitor=True (history['training_cost'])",
    "CrossEntropyCost": "cost='cross_entropy'", "QuadraticCost": "cost='quadratic'",
}


def from_the_book(name, given):
    """TypeError for ``given``, a name of Nielsen's book that fastnet spells
    otherwise (see ``BOOK_NAMES``), naming fastnet's; None for other names."""
    instead = BOOK_NAMES.get(given)
    if instead is None:
        return None
    return TypeError(f"{name}: {given!r} is the book's name; fastnet's is {instead}")


def book_pairs(name, X):
    """TypeError if X is the book's list of (x, y) column-vector pairs, which
    fastnet takes as two arrays; None otherwise."""
    if isinstance(X, (list, tuple)) and X and isinstance(X[0], tuple) and len(X[0]) == 2:
        return TypeError(f"{name}: got a list of (x, y) pairs, the book's data layout; fastnet "
                         "takes two arrays: pass X = np.array([x.ravel() for x, _ in data]) "
                         "and y = np.array([np.argmax(t) if np.ndim(t) else t for _, t in data])")
    return None
