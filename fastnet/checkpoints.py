"""Checkpoints: a ``Network`` and its optimizer's run state in one file, to resume a run.

The file format is ``fastnet.files.model_io``'s; this module joins it to the
classes it holds, above both (``Network.save`` / ``Network.load`` call the
format module directly).
"""
from __future__ import annotations

import os

from .files.model_io import CHECKPOINT, read_model_file, write_checkpoint
from .network import Network
from .optim import Optimizer


def save_checkpoint(net: Network, optimizer: Optimizer, path: str | os.PathLike[str]) -> None:
    """Write ``net`` and the run state of ``optimizer`` (an ``SGD`` or another
    ``fastnet.optim.Optimizer``) to ``path``.

    ``load_checkpoint(path)`` gives both back, ready to continue with
    ``net.fit(..., optimizer=optimizer)``.  A schedule must be one of
    ``fastnet.schedules`` (a custom callable cannot be stored).
    """
    if not isinstance(net, Network):
        raise TypeError(f"net: expected a fastnet.Network, got {type(net).__name__}")
    if not isinstance(optimizer, Optimizer) or optimizer.name is None:
        raise TypeError(f"optimizer: expected a fastnet optimizer such as fastnet.SGD, "
                        f"got {type(optimizer).__name__}")
    write_checkpoint(net, optimizer, path)


def load_checkpoint(path: str | os.PathLike[str]) -> tuple[Network, Optimizer]:
    """``(net, optimizer)`` from a checkpoint written by ``save_checkpoint``.

    Continue the run with ``net.fit(X, y, epochs, optimizer=optimizer, ...)``
    (same data, validation and augmentation as before) to end with the same
    weights as a run that was never interrupted.
    """
    net, optimizer, _ = read_model_file(path, Network, kinds=(CHECKPOINT,))
    assert optimizer is not None  # a checkpoint always holds one
    return net, optimizer
