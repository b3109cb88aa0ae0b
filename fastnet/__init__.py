"""fastnet: fast, exact fully-connected neural networks on MNIST-shaped data."""

__version__ = "0.1.0"
