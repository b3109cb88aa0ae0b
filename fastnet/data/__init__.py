"""fastnet's data layer: MNIST readers, cache and download, the book's split, augmentation.

Modules, one idea each: ``idx`` (the IDX format), ``pickled`` (Nielsen's
mnist.pkl.gz, safely), ``npz`` (.npz archives), ``gz`` (gzip by magic bytes),
``download`` (mirrors, checksums, the cache), ``mnist`` (``load_mnist``:
finding, splitting, scaling), ``augment`` (``expand`` and ``Distort``),
``table`` (users' own data: CSV, .npz feature tables, IDX sets of any shape).
"""

from .augment import Distort, expand, shift_images, warp_images
from .download import MIRRORS, MNIST_FILES, SHA256, default_cache_dir, download_mnist
from .errors import DataError
from .idx import parse_idx, read_idx
from .mnist import load_mnist, locate_mnist, read_idx_pair
from .npz import read_mnist_npz
from .pickled import read_mnist_pickle
from .table import read_table, split_table

__all__ = [
    "DataError", "Distort", "MIRRORS", "MNIST_FILES", "SHA256", "default_cache_dir",
    "download_mnist", "expand", "load_mnist", "locate_mnist", "parse_idx", "read_idx",
    "read_idx_pair", "read_mnist_npz", "read_mnist_pickle", "read_table", "shift_images",
    "split_table", "warp_images",
]
