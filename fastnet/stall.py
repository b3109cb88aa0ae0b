"""Stalled runs: a class the network has stopped predicting altogether.

With the book's chapter-1 settings (sigmoid outputs, quadratic cost, large
initial weights) an output unit sometimes saturates near 0 for every input:
its sigmoid's slope is then almost 0, the quadratic cost's gradient through
it vanishes, and the unit never recovers, so its digit is never predicted
and the accuracy stalls about 10 points low (the book notes such run-to-run
variation in chapter 1; its network.py does the same).  fastnet keeps the
algorithm as the book has it, but says so: ``find_stall`` looks for classes
that occur in the data (at least ``MIN_SAMPLES`` times among ``STALL_SAMPLES``
evenly spaced samples) yet are never predicted, from epoch ``STALL_AFTER``
on, and explains why and what to do.
"""
import numpy as np

from .costs import classes_of
from .engine import outputs
from .kernels.tunables import STALL_SAMPLES

MIN_SAMPLES = 10    # a class needs this many samples in the data to count
SATURATED = 0.05    # a sigmoid output below this for every sample is saturated near 0


def find_stall(net, data, where, epoch):
    """A dict describing the classes never predicted on the prepared ``data``
    (``where``: "validation" or "training") after ``epoch``, or None.

    Keys: epoch, data, classes (never predicted), saturated (those whose
    sigmoid output stays below ``SATURATED`` for every sample), message (one line).
    """
    n_out = net.sizes[-1]
    if n_out < 3 or net.is_regression:
        return None
    if data.n > STALL_SAMPLES:
        data = data.take(np.linspace(0, data.n - 1, STALL_SAMPLES).astype(np.int64))
    A, _ = outputs(net, data, check_finite=False)
    predicted = np.bincount(classes_of(A), minlength=n_out)
    present = np.bincount(classes_of(data.Y), minlength=n_out)
    missing = [c for c in range(n_out) if predicted[c] == 0 and present[c] >= MIN_SAMPLES]
    if not missing:
        return None
    saturated = [c for c in missing if net.output == "sigmoid" and A[:, c].max() < SATURATED]
    return {"epoch": epoch, "data": where, "classes": missing, "saturated": saturated,
            "message": _message(net, where, epoch, missing, saturated)}


def _message(net, where, epoch, missing, saturated):
    names = ", ".join(map(str, missing))
    which = f"class {names} is" if len(missing) == 1 else f"classes {names} are"
    if saturated:
        why = (f"output unit {', '.join(map(str, saturated))} saturated near 0 for every sample, "
               "where the sigmoid's slope all but vanishes")
        if net.cost_name == "quadratic":
            why += " and the quadratic cost cannot pull it back"
    else:
        why = "the network has learned to predict other classes instead"
    return (f"stalled: {which} never predicted on the {where} data after epoch {epoch} ({why}); "
            "the book's chapter-1 networks do this for some seeds. Try another seed "
            "(fastnet train --seed N), or the cross-entropy cost (--preset ch3), which cures it")
