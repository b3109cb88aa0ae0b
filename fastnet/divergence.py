"""When a run has diverged, and which learning rate to suggest instead.

A run has diverged after an epoch when (any of):

- a weight or the cost is NaN or infinite;
- the cost exceeds ``COST_FACTOR`` times its value before the fit (both with
  the fit's regularisation term; at least ``COST_FACTOR`` times 1.0, so that a run starting from an almost perfect
  network may still get somewhat worse): per sample, a cost 100 times the
  untrained one is far beyond any run that is learning;
- a weight exceeds ``WEIGHT_BOUND`` in magnitude (or ``COST_FACTOR`` times
  the largest weight before the fit, if that is more): sane runs of the
  book's networks stay below about 100 (inputs scaled to [0, 1]).

The suggestion tries a ladder of learning rates below the one that failed,
each for one epoch on a small sample of the training data from the weights
before the fit, and suggests the largest one that lowers the cost there.
"""
import copy

import numpy as np

from .engine import evaluate
from .kernels.tunables import PROBE_SAMPLES, START_SAMPLES

COST_FACTOR = 100.0  # also the factor for the weights
WEIGHT_BOUND = 1e6
LADDER = (10.0, 3.0, 1.0, 0.3, 0.1, 0.03, 0.01, 0.003, 0.001)


def starting_point(net, data):
    """(cost, largest weight magnitude) of ``net`` before a fit, for
    ``divergence``; ValueError naming X if the outputs overflow.

    The cost is the mean over ``START_SAMPLES`` evenly spaced samples plus the
    sample of largest L1 norm (the one most likely to overflow), not over the
    whole training set: a 100× threshold needs no more, and a whole pass
    would add an epoch's worth of evaluation to every ``fit``.
    """
    if data.n > START_SAMPLES:
        rows = np.unique(np.append(np.linspace(0, data.n - 1, START_SAMPLES).astype(np.int64),
                                   data.heaviest_row()))
        data = data.take(rows)
    return evaluate(net, data)[0], float(np.abs(net.parameters.theta).max(initial=0.0))


def divergence(net, row, start):
    """Why the epoch whose history values are ``row`` diverged, or None;
    ``start`` is ``starting_point``'s pair."""
    start_cost, start_weight = start
    if not net.parameters.finite():
        return "the weights became NaN or infinite"
    cost = row.get("training_cost", row.get("validation_cost"))
    if cost is not None and not np.isfinite(cost):
        return "the cost became NaN or infinite"
    limit = COST_FACTOR * max(start_cost, 1.0)
    if cost is not None and cost > limit:
        return (f"the cost blew up to {cost:.3g} (it was {start_cost:.3g} before the fit; "
                f"fastnet stops above {limit:.3g})")
    largest = float(np.abs(net.parameters.theta).max(initial=0.0))
    bound = max(WEIGHT_BOUND, COST_FACTOR * start_weight)
    if largest > bound:
        return f"a weight reached {largest:.3g} (fastnet stops above {bound:.3g})"
    return None


def suggest_eta(net, optimizer, data, start):
    """The largest eta of ``LADDER`` below the optimizer's that trains ``net`` (as it
    is now, before the fit) for one epoch on the first ``PROBE_SAMPLES`` of the
    prepared training ``data`` without diverging and lowers the cost there; None
    if none does, or if the optimizer has no eta.  ``net`` and ``optimizer`` are
    left untouched."""
    settings = optimizer.hyperparameters()
    if "eta" not in settings:
        return None
    data = data.take(slice(PROBE_SAMPLES))
    for eta in (e for e in LADDER if e < settings["eta"]):
        probe = copy.deepcopy(net)
        trial = type(optimizer)(**{**settings, "eta": eta, "schedule": None,
                                   "early_stopping": None})
        before = evaluate(probe, data, check_finite=False)[0]
        trial.start(probe, data, 1)
        row = trial.train_epoch(probe, data)
        row["training_cost"] = after = evaluate(probe, data, check_finite=False)[0]
        if divergence(probe, row, start) is None and after < before:
            return eta
    return None


def advice(eta, suggestion, name="eta"):
    """The sentence that ends a DivergenceError's message; ``name``: the learning
    rate's name where the user set it (e.g. scikit-learn's learning_rate_init)."""
    if suggestion is not None:
        return (f"; try a smaller {name}: {name}={suggestion:g} trains without blowing up on a "
                f"sample of the data (the largest of {', '.join(f'{e:g}' for e in LADDER)} "
                "that does)")
    if eta is not None:
        return (f"; no smaller {name} from {LADDER[0]:g} down to {LADDER[-1]:g} helped on a "
                "sample: check that the inputs are scaled (e.g. to [0, 1]) and that the "
                "targets fit the cost")
    return ""
