"""Users' own data on the command line (``fastnet train / evaluate / predict --data FILE``): the CSV
flags, and new rows as a model takes them.

``--data`` takes MNIST as before (a folder of its IDX files, its .npz or
mnist.pkl.gz), or a table (``fastnet.data.table``): a .csv file, an .npz
with ``X`` and ``y`` (or ``x_train`` ... keys), or a folder of IDX files
whose images are not MNIST's 28 x 28 digits.  The network's input and output
sizes come from the data; ``--hidden`` sets the hidden layers (else the
preset's are kept); an explicit ``--sizes`` that disagrees with the data is
refused before anything is written.  A table that comes whole is split
(seeded, stratified) by ``--split``; ``--standardize`` takes mean and std
from the training part and stores them in the model file, so that
``evaluate``, ``predict`` and the ONNX export apply them to new rows.
"""

import numpy as np

from ..data.errors import DataError
from ..recipe import FLAGS
from ..run_setup import network_inputs
from .flags import recipe_flags



# --------------------------------------------------------------- evaluate
def add_csv_flags(parser):
    """The flags of reading a CSV file: ``--label-column`` and ``--header``."""
    recipe_flags(parser, [FLAGS["label_column"], FLAGS["header"]])


def model_classes(net):
    """The labels ``net.predict`` gives indices into: a binary model's (one sigmoid output)
    0 and 1, else the model's classes or its output units' indices."""
    if net.sizes[-1] == 1:
        return [0, 1]
    return net.classes if net.classes is not None else list(range(net.sizes[-1]))


def regression_targets(labels, source):
    """A regression's labels as float64 values; ``DataError`` naming the first that is no number."""
    values = np.asarray(labels)
    if values.dtype.kind in "uif":
        return values.astype(np.float64)
    for label in values.tolist():
        try:
            float(label)
        except ValueError:
            raise DataError(f"{source}: label {label!r} is not a number; the model is a "
                            "regression (one linear output), which takes numeric targets") from None
    return values.astype(np.float64)


def prepared_inputs(net, X):
    """X as the network takes it: through ``net.standardize``, in the network's dtype."""
    X = np.asarray(X)
    if X.ndim != 2 or X.shape[1] != net.sizes[0]:
        raise DataError(f"data: rows have {X.shape[1:] or 'no'} features; the model takes "
                        f"{net.sizes[0]}")
    return network_inputs(X.astype(np.float64, copy=False), net.standardize, net.dtype)
