"""The engine layer: the Python side's one way to the kernels.

Only the modules of this package call the training, evaluation and gradient
kernels; they pack the kernels' records (``State``, ``Step``, ``Buffers``,
``Inputs``) and check every array that crosses (``check_arrays``).

``Parameters``: a network's weights and biases in the kernels' flat layout.
``plan.plan``: which engine runs each layer and pass, and on how many threads
(a ``Plan``; ``fastnet.engine.plan`` stays the module).
``first_order_epoch``: one epoch of SGD, Adam or AdamW, from the optimizer's rule.
``outputs``, ``evaluate``: the whole-data passes.
``cost``, ``cost_gradient``, ``curvature_product``: the full-batch passes: the one
gradient (``Network.gradient``'s too), and the second-order methods' H·v, G·v
(the R-operator over the training passes).
``check``, ``scalar``: what crosses into a kernel, checked.
"""
from .checked import check, scalar
from .curvature import cost, cost_gradient, curvature_product
from .epoch import first_order_epoch
from .parameters import Parameters
from .passes import evaluate, outputs
from .plan import Plan

__all__ = ["Parameters", "Plan", "check", "cost", "cost_gradient", "curvature_product", "evaluate",
           "first_order_epoch", "outputs", "scalar"]
