"""The whole-data passes: outputs, evaluation and the gradient over a prepared
``Dataset``, in chunks of ``EVAL_CHUNK`` samples on the plan's evaluation
engines and threads (``kernels/train.py`` ``forward_all``; ``kernels/costs.py``
``output_costs``; the gradient is ``curvature.cost_gradient``).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from ..costs import COSTS, OUTPUTS, classes_of
from ..kernels.costs import output_costs
from ..kernels.train import forward_all
from ..kernels.update import all_finite
from .checked import check
from .plan import plan

if TYPE_CHECKING:
    from ..dataset import Dataset
    from ..network import Network


def outputs(net: Network, data: Dataset, check_finite: bool = True
            ) -> tuple[NDArray[np.floating], NDArray[np.floating]]:
    """Outputs A and pre-activations Z (n, n_out) of ``net``'s last layer on
    ``data``; with ``check_finite``, ValueError saying why if they are not
    finite (training checks its own)."""
    parameters = net.parameters
    A = np.empty((data.n, net.sizes[-1]), dtype=parameters.dtype)
    Z = np.empty_like(A)
    planned = plan(parameters.layers, data, engine=net.engine)
    layers = planned.evaluation_table
    targets = {} if data.Y is None else {"Y": data.Y}  # output_costs reads Y
    check(layers, parameters.theta, data, outputs=(("A", A), ("Z", Z)), **targets)
    forward_all(A, Z, parameters.theta, layers, data.record(), threads=planned.evaluation_threads)
    if check_finite and not all_finite(Z.reshape(-1)):
        explain_overflow(net, data)
    return A, Z


def explain_overflow(net: Network, data: Dataset) -> None:
    """Raise ValueError saying why ``net``'s outputs on ``data`` are not finite:
    NaN/inf weights, or inputs whose scale overflows the dtype."""
    if not net.parameters.finite():
        raise ValueError("weights: the network's parameters hold NaN or infinite values "
                         "(set by hand, or left by a failed run); load a saved model or "
                         "set finite weights with net.set_parameters(...)")
    largest = float(np.abs(data.X if data.dense else data.csr[2]).max(initial=0.0))
    raise ValueError(f"X: the network's outputs overflow {net.dtype.name} for these "
                     f"inputs (largest |x| = {largest:.3g}); scale X down (e.g. to [0, 1] "
                     "or zero mean and unit variance), or use dtype='float64'")


def evaluate(net: Network, data: Dataset, check_finite: bool = True) -> tuple[float, float | None]:
    """(mean cost plus ``net``'s regularisation term, accuracy) on ``data`` (a
    ``Dataset`` with targets), both weighted means where it has sample
    weights; accuracy None for a regression (one linear output).
    ``check_finite`` as for ``outputs``."""
    assert data.Y is not None, "evaluate takes a Dataset with targets (Network.with_targets)"
    A, Z = outputs(net, data, check_finite)
    costs = np.empty(data.n, dtype=np.float64)
    output_costs(costs, A, Z, data.Y, OUTPUTS[net.output], COSTS[net.cost_name])
    weights = data.sample_weight
    cost = float(np.average(costs, weights=weights)) + net.regularisation_term()
    if net.is_regression:
        return cost, None
    return cost, float(np.average(classes_of(A) == classes_of(data.Y), weights=weights))
