"""fastnet: fast, exact fully-connected neural networks on MNIST-shaped data."""

__version__ = "0.1.0"

from . import schedules
from .data import DataError, Distort, download_mnist, expand, load_mnist, read_idx
from .network import Network
from .optim import SGD, DivergenceError
from .second_order import LBFGS, HessianFree
from .model_io import ModelFileError, load_checkpoint, save_checkpoint

__all__ = ["Network", "SGD", "LBFGS", "HessianFree", "DivergenceError", "schedules",
           "DataError", "Distort", "download_mnist", "expand", "load_mnist", "read_idx",
           "ModelFileError", "load_checkpoint", "save_checkpoint"]
