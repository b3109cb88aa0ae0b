"""How a network of any depth is laid out in flat arrays.

All parameters live in one flat vector ``theta``: first every layer's weights,
then every layer's biases, so that regularisation touches the prefix
``theta[:n_weights]`` only.  Layer l's weights are the block
``theta[w_off : w_off + n_in*n_out]`` viewed as (n_in, n_out) — row i holds the
weights leaving input unit i, so z = a @ W + b and every inner loop runs over
contiguous memory.  Its biases are ``theta[b_off : b_off + n_out]``.

Per-sample unit buffers (pre-activations, activations, deltas) are flat too:
layer l's block for a batch of m samples starts at ``m * u_off`` and is viewed
as (m, n_out).

The table ``layers`` (n_layers, 6) int64 has one row per layer with the columns
below.
"""
from .jit import kernel

N_IN, N_OUT, W_OFF, B_OFF, ACT, U_OFF = 0, 1, 2, 3, 4, 5
N_COLUMNS = 6


@kernel
def weights_of(theta, layers, l):
    """View of layer l's weights, (n_in, n_out)."""
    n_in, n_out, off = layers[l, N_IN], layers[l, N_OUT], layers[l, W_OFF]
    return theta[off:off + n_in * n_out].reshape((n_in, n_out))


@kernel
def biases_of(theta, layers, l):
    """View of layer l's biases, (n_out,)."""
    off = layers[l, B_OFF]
    return theta[off:off + layers[l, N_OUT]]


@kernel
def units_of(buffer, layers, l, m):
    """View of layer l's per-sample units in a flat batch buffer, (m, n_out)."""
    n_out, off = layers[l, N_OUT], layers[l, U_OFF] * m
    return buffer[off:off + m * n_out].reshape((m, n_out))
