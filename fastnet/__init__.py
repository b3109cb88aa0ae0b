"""fastnet: fast, exact fully-connected neural networks on MNIST-shaped data."""

from ._version import __version__

from . import schedules
from .data import DataError, Distort, download_mnist, expand, load_mnist, read_idx
from .dataset import Dataset
from .network import Network
from .engine.entry_points import precompile
from .optim import SGD, Adam, AdamW, Optimizer
from .second_order import LBFGS, HessianFree
from .training import DivergenceError, Trainer
from .checkpoints import load_checkpoint, save_checkpoint
from .files.model_io import ModelFileError
from .sweeps.run import sweep  # the package fastnet.sweeps holds the sweep modules
from .sweeps.tune import tune

__all__ = ["__version__", "Network", "Dataset", "SGD", "Adam", "AdamW", "LBFGS", "HessianFree", "Optimizer", "Trainer",
           "DivergenceError", "schedules",
           "DataError", "Distort", "download_mnist", "expand", "load_mnist", "read_idx",
           "ModelFileError", "load_checkpoint", "save_checkpoint", "sweep", "tune",
           "precompile"]
