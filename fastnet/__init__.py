"""fastnet: fast, exact fully-connected neural networks on MNIST-shaped data."""

__version__ = "0.1.0"

from .network import Network
from .optim import SGD, DivergenceError
from . import schedules

__all__ = ["Network", "SGD", "DivergenceError", "schedules"]
