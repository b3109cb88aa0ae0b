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

The table ``layers`` (n_layers, 7) int64 has one row per layer with the columns
below.
"""
from .jit import kernel

N_IN, N_OUT, WIDTH, W_OFF, B_OFF, ACT, U_OFF = 0, 1, 2, 3, 4, 5, 6
N_COLUMNS = 7


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
def n_units(layers):
    """Padded units in all layers together (U)."""
    last = layers.shape[0] - 1
    return layers[last, U_OFF] + layers[last, WIDTH]
