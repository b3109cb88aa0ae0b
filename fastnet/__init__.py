"""fastnet: fast, exact fully-connected neural networks on MNIST-shaped data."""

__version__ = "0.1.0"

# --- data layer (fastnet/data/) ---
from .data import DataError, Distort, download_mnist, expand, load_mnist, read_idx  # noqa: E402
