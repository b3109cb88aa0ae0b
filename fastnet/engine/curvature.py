"""The full-batch passes of the second-order methods: the cost, its gradient
and the curvature products H·v and G·v over a prepared ``Dataset``.

All three run the training passes (``kernels/train.py`` ``gradient_all`` and
``cost_all``: forward and backward over chunks of samples; ``kernels/curvature.py``
``product_all``: those and an R-forward and R-backward pass over the same
buffers) on the plan's evaluation engines, the samples summed in a fixed
number of blocks so that the result does not depend on the threads.  Vectors
are padded like ``net.parameters.theta`` (v's padding zero); costs and
products are of the (weighted) mean *unregularised* cost.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from ..costs import COSTS, OUTPUTS
from ..kernels.curvature import product_all
from ..kernels.train import cost_all, gradient_all
from .checked import check
from .plan import plan

if TYPE_CHECKING:
    from ..dataset import Dataset
    from ..network import Network


def full_batch(net: Network, data: Dataset, **padded: NDArray[np.floating]
               ) -> tuple[NDArray[np.int64], int | None, int, int]:
    """(the evaluation layer table, its threads, the output and cost codes) of
    the full-batch passes of ``net`` over ``data``, after checking ``data``
    and the ``padded`` vectors (each laid out like the parameters)."""
    theta = net.parameters.theta
    for name, array in padded.items():
        if array.shape != theta.shape or array.dtype != theta.dtype:
            raise ValueError(f"{name}: expected a {theta.shape} {theta.dtype.name} array laid out "
                             f"like the parameters, got {array.shape} {array.dtype}")
    planned = plan(net.parameters.layers, data, engine=net.engine)
    layers = planned.evaluation_table
    check(layers, theta, data, Y=data.Y)
    return layers, planned.evaluation_threads, OUTPUTS[net.output], COSTS[net.cost_name]


def cost_gradient(net: Network, data: Dataset, grad: NDArray[np.floating]) -> float:
    """The mean (weighted) unregularised cost of ``net`` over ``data``; its
    gradient is written into ``grad`` (padded like the parameters)."""
    layers, threads, output, cost = full_batch(net, data, grad=grad)
    return gradient_all(grad, net.parameters.theta, layers, data.record(), output, cost, threads)


def cost(net: Network, data: Dataset) -> float:
    """The mean (weighted) unregularised cost of ``net`` over ``data``: the
    forward passes of ``cost_gradient``, the same number."""
    layers, threads, output, code = full_batch(net, data)
    return cost_all(net.parameters.theta, layers, data.record(), output, code, threads)


def curvature_product(net: Network, data: Dataset, v: NDArray[np.floating], out: NDArray[np.floating],
                      gauss_newton: bool = False, threads: int | None = None) -> None:
    """out = H·v (or, ``gauss_newton``, G·v) over ``data``; v and out padded
    like the parameters, out overwritten; on the plan's threads unless
    ``threads`` says."""
    layers, planned, output, code = full_batch(net, data, v=v, out=out)
    product_all(out, net.parameters.theta, v, layers, data.record(), output, code, bool(gauss_newton),
                planned if threads is None else threads)
