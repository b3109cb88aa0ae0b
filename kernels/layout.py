"""How a network of any depth is laid out in flat arrays.

All parameters live in one flat vector ``theta``: first every layer's weights,
then every layer's biases, so that regularisation touches the prefix
``theta[:n_weights]`` only.  Layer l's weights are the block
``theta[w_off : w_off + n_in*n_out]``, row-major (n_in, n_out): row i holds
the weights leaving input unit i, so z = a @ W + b and every inner loop runs
over contiguous memory.  Its biases are ``theta[b_off : b_off + n_out]``.

Per-sample unit buffers (pre-activations, activations, deltas) are flat too:
for a batch of m samples, layer l's block starts at ``m * u_off`` and holds
(m, n_out) values row-major.

The kernels take 1-D slices only: slicing a 1-D array costs nothing, while a
reshape inside a compiled loop costs tens of nanoseconds.

The table ``layers`` (n_layers, 6) int64 has one row per layer with the columns
below.
"""
from .jit import kernel

N_IN, N_OUT, W_OFF, B_OFF, ACT, U_OFF = 0, 1, 2, 3, 4, 5
N_COLUMNS = 6


@kernel
def weights_of(theta, layers, l):
    """Layer l's weights, flat (n_in*n_out,), row-major (n_in, n_out)."""
    off = layers[l, W_OFF]
    return theta[off:off + layers[l, N_IN] * layers[l, N_OUT]]


@kernel
def biases_of(theta, layers, l):
    """Layer l's biases, (n_out,)."""
    off = layers[l, B_OFF]
    return theta[off:off + layers[l, N_OUT]]


@kernel
def units_of(buffer, layers, l, m, s):
    """Sample s's units of layer l in a flat buffer for a batch of m, (n_out,)."""
    n_out = layers[l, N_OUT]
    off = layers[l, U_OFF] * m + s * n_out
    return buffer[off:off + n_out]


@kernel
def n_units(layers):
    """Units in all layers together (U)."""
    last = layers.shape[0] - 1
    return layers[last, U_OFF] + layers[last, N_OUT]
