"""One epoch of a mini-batch gradient method, compiled: the kernels' records
packed from a network and an optimizer's public update rule.

``first_order_epoch`` is the one way a first-order optimizer (``fastnet.SGD``,
``Adam``, ``AdamW``) trains: it shuffles from (seed, epoch), asks the plan
which epoch kernel runs (one thread, threads sharing every batch, Hogwild!),
checks every array against the layer table, pins BLAS where the plan says so,
and runs the kernel in a few slices so that ``progress`` can report.
"""
from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from ..costs import COSTS, OUTPUTS
from ..kernels import blas
from ..kernels.hogwild import hogwild_buffers, hogwild_epoch
from ..kernels.subnormals import flushed
from ..kernels.threads import train_epoch_threads
from ..kernels.train import Buffers, State, Step, buffers, epoch_parts, train_epoch
from ..kernels.update import RULES
from .checked import check, scalar
from .plan import plan

if TYPE_CHECKING:
    from ..dataset import Dataset
    from ..network import Network

PROGRESS_STEPS = 20  # slices of an epoch between progress reports
ADAM_SETTINGS = ("beta1", "beta2", "eps", "weight_decay")


def first_order_epoch(net: Network, data: Dataset, eta: float, rule: dict[str, Any],
                      arrays: tuple[NDArray, NDArray | None], batch_size: int, dropout: float = 0.0,
                      steps: int = 0, progress: Callable[[int, int], Any] | None = None
                      ) -> tuple[float, float]:
    """One epoch over ``data`` (a ``Dataset`` with targets) on ``net``'s
    parameters, in place, at learning rate ``eta`` in batches of
    ``batch_size``, dropping hidden units with probability ``dropout``.

    ``rule``: the update rule's settings (``FirstOrder.update_rule()``:
    "rule" of ``kernels/update.RULES``, "l2", "clip_norm" and the rule's
    own); ``arrays``: its state laid out like the parameters (SGD's
    velocity, or Adam's first and second moments; updated in place);
    ``steps``: the updates made before this epoch (Adam's t).  Returns
    (the seconds spent in the compiled loop, the (weighted) mean cost of
    the samples as they were trained)."""
    order = np.random.default_rng((net.seed, net.epochs_trained)).permutation(data.n)
    parameters = net.parameters
    theta, dtype = parameters.theta, parameters.dtype
    planned = plan(parameters.layers, data, batch_size, net.threads, net.hogwild, net.engine)
    batch, threads, layers = planned.batch_size, planned.threads, planned.table
    hogwild = planned.epoch == "hogwild"
    keep = 1.0 - dropout
    velocity, second = arrays
    grad = parameters.zeros()
    state = State(theta, velocity, grad, np.ones(1), *(() if second is None else (second,)))
    adam = {key: float(rule[key]) for key in ADAM_SETTINGS if key in rule}
    step = Step(batch, *(scalar(dtype, name, value) for name, value in
                         (("eta", eta), ("momentum", rule.get("momentum", 0.0)))),
                bool(rule.get("nesterov", False)), scalar(dtype, "l2/n", rule["l2"] / data.n),
                scalar(dtype, "l1/n", rule.get("l1", 0.0) / data.n), keep, net.seed,
                net.epochs_trained, OUTPUTS[net.output], COSTS[net.cost_name], True,
                rule=RULES[rule["rule"]], clip_norm=float(rule["clip_norm"] or 0.0),
                steps=int(steps), **adam)
    record = data.record()
    names = ("Z", "A", "D") + (("Ad", "M") if keep < 1.0 else ())
    if hogwild:
        if rule["rule"] != "sgd" or rule.get("momentum") or rule.get("l1") \
                or rule["clip_norm"] is not None:
            raise ValueError(f"hogwild: plain SGD only (no momentum, l1, clip_norm, Adam or "
                             f"AdamW; got the update rule {rule}): threads sharing one "
                             "velocity or moments would apply each other's steps; pass "
                             "hogwild=False")
        grads, scales, units, X, costs = hogwild_buffers(layers, batch, threads, dtype)
        check(layers, theta, data, velocity=velocity, gradients=grads, batch_size=batch,
              buffers=tuple((name, units[k, t]) for k, name in enumerate(Buffers._fields[:5])
                            for t in range(threads) if name in names),
              gathered=X[0], Y=data.Y, order=order)
        run = lambda order, start: hogwild_epoch(  # noqa: E731
            theta, velocity, grads, scales, units, X, costs, layers, record, order,
            start, step)
    else:
        work = buffers(layers, batch, dtype, keep < 1.0,
                       data.row_splits(threads) if threads > 1 and not data.dense else None,
                       0 if data.dense else data.longest_row(), threads)
        check(layers, theta, data, velocity=velocity, second=second, grad=state.grad,
              batch_size=batch, buffers=tuple((name, getattr(work, name)) for name in names),
              gathered=work.X, Y=data.Y, order=order, row_splits=work.row_splits,
              columns=(work.col_start, work.col_sample, work.col_value))
        costs = work.cost
        if costs.shape[0] < threads:  # each thread adds to its own sum
            raise ValueError(f"cost: {costs.shape[0]} sums for {threads} threads")
        if planned.epoch == "one_thread":
            parts = epoch_parts(layers, step)
            run = lambda order, start: train_epoch(  # noqa: E731
                state, work, layers, record, order, start, step, *parts)
        else:
            run = lambda order, start: train_epoch_threads(  # noqa: E731
                state, work, layers, record, order, start, step, threads)
    slices = PROGRESS_STEPS if progress is not None else 1
    bounds = [min(batch * (-(-data.n // batch) * k // slices), data.n)
              for k in range(slices + 1)]
    seconds = 0.0
    with blas.one_thread() if planned.pin_blas else contextlib.nullcontext():
        for start, stop in zip(bounds[:-1], bounds[1:]):
            began = time.perf_counter()
            with flushed():  # threads' epochs flush in each thread (bands.at_once)
                run(order[start:stop], start)
            seconds += time.perf_counter() - began
            if progress is not None:
                progress(stop, data.n)
    return seconds, float(costs.sum()) / data.weight_total
