"""How a network of any depth is laid out in flat arrays.

Every layer's width is padded to ``width`` = n_out rounded up to a multiple of
``lanes.LANES``, so that the inner loops run whole vectors.  The padding holds
zeros, and stays zero: its weights, biases and deltas are all zero, so every
update adds zero to it.

All parameters live in one flat vector ``theta``: first every layer's weights,
then every layer's biases, so that regularisation touches the prefix
``theta[:n_weights]`` only.  Layer l's weights are the block
``theta[w_off : w_off + n_in*width]``, row-major (n_in, width): row i holds
the weights leaving input unit i, so z = a @ W + b and every inner loop runs
over contiguous memory.  Its biases are ``theta[b_off : b_off + width]``.

Per-sample unit buffers (pre-activations, activations, deltas) are flat too,
sample by sample: sample s's units of layer l start at ``s * U + u_off``
(U = ``n_units``, padded units in all layers), whatever the batch size m.  So
a short last batch reuses the same places, and padding that has only ever
held zeros still holds zeros.

The kernels take 1-D slices only: slicing a 1-D array costs nothing, while a
reshape inside a compiled loop costs tens of nanoseconds.

The table ``layers`` (n_layers, 8) int64 has one row per layer with the columns
below; ``build`` makes it.  ``ENGINE`` says how the training and evaluation
kernels compute the layer for a batch: ``PER_SAMPLE`` (fastnet's vector
kernels, one sample at a time: the engine for sparse inputs), ``BLOCKED``
(fastnet's register-blocked products over blocks of samples: each weight row
loaded once per block) or ``GEMM`` (one BLAS product for the whole batch:
best for wide layers and large batches).  ``plan`` picks it per layer from
the batch size and the input layout; the choice changes rounding only.
"""
import numpy as np

from .jit import kernel
from .lanes import padded

N_IN, N_OUT, WIDTH, W_OFF, B_OFF, ACT, U_OFF, ENGINE = 0, 1, 2, 3, 4, 5, 6, 7
N_COLUMNS = 8
PER_SAMPLE, GEMM, BLOCKED = 0, 1, 2
ENGINES = {"per_sample": PER_SAMPLE, "gemm": GEMM, "blocked": BLOCKED}
# BLAS pays from these batch sizes on (hidden layers; a dense first layer);
# below them the register-blocked products win.  Measured with
# bench/engines.py (AMD EPYC, AVX2, OpenBLAS; a busy machine: rough).
GEMM_MIN_BATCH = 8
GEMM_MIN_BATCH_INPUT = 16


def build(sizes, codes):
    """The (L, 8) int64 layer table for layer sizes (L+1,) and activation
    codes (L,), every layer on the ``PER_SAMPLE`` engine."""
    pairs = list(zip(sizes[:-1], sizes[1:]))
    n_weights = sum(n_in * padded(n_out) for n_in, n_out in pairs)
    layers = np.zeros((len(pairs), N_COLUMNS), dtype=np.int64)
    w_off, b_off, u_off = 0, n_weights, 0
    for l, ((n_in, n_out), code) in enumerate(zip(pairs, codes)):
        width = padded(n_out)
        layers[l] = (n_in, n_out, width, w_off, b_off, code, u_off, PER_SAMPLE)
        w_off, b_off, u_off = w_off + n_in * width, b_off + width, u_off + width
    return layers


def n_parameters(layers):
    """Length of the flat parameter vector (padding included)."""
    return int(layers[-1, B_OFF] + layers[-1, WIDTH])


def plan(layers, batch_size, dense_input, engine="auto"):
    """A copy of ``layers`` with the ENGINE column set for batches of
    ``batch_size``.  "auto": GEMM from GEMM_MIN_BATCH samples on
    (GEMM_MIN_BATCH_INPUT for the first layer), else BLOCKED; a sparse first
    layer always PER_SAMPLE.  "gemm", "blocked", "per_sample" force one engine."""
    planned = layers.copy()
    for l in range(len(layers)):
        if l == 0 and not dense_input:
            choice = PER_SAMPLE
        elif engine != "auto":
            choice = ENGINES[engine]
        elif batch_size >= (GEMM_MIN_BATCH if l > 0 else GEMM_MIN_BATCH_INPUT):
            choice = GEMM
        else:
            choice = BLOCKED
        planned[l, ENGINE] = choice
    return planned


@kernel
def weights_of(theta, layers, l):
    """Layer l's weights, flat (n_in*width,), row-major (n_in, width)."""
    off = layers[l, W_OFF]
    return theta[off:off + layers[l, N_IN] * layers[l, WIDTH]]


@kernel
def biases_of(theta, layers, l):
    """Layer l's biases, (width,)."""
    off = layers[l, B_OFF]
    return theta[off:off + layers[l, WIDTH]]


@kernel
def units_of(buffer, layers, l, m, s):
    """Sample s's units of layer l in a flat buffer for a batch of m, (width,).

    The place does not depend on m (see the module docstring)."""
    width = layers[l, WIDTH]
    off = s * n_units(layers) + layers[l, U_OFF]
    return buffer[off:off + width]


@kernel
def rows_of(buffer, layers, l):
    """Layer l's units of a whole batch in a flat buffer, from sample 0 on: a
    matrix with rows ``n_units`` apart (the leading dimension for ``gemm``)."""
    return buffer[layers[l, U_OFF]:]


@kernel
def n_units(layers):
    """Padded units in all layers together (U)."""
    last = layers.shape[0] - 1
    return layers[last, U_OFF] + layers[last, WIDTH]
