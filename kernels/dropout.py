"""Inverted dropout masks from a counter-based hash: no hidden RNG state.

Whether hidden unit u of the sample at position p of epoch e is kept depends
only on (seed, e, p, u), through SplitMix64.  So the same seed gives the same
masks in every run, and a resumed run needs no saved generator state.
"""
import numpy as np

from .jit import kernel

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_TO_UNIT = 1.0 / 18446744073709551616.0  # 2**-64


@kernel
def splitmix64(x):
    """The SplitMix64 finaliser of x + golden ratio: uint64 -> uint64."""
    z = x + _GOLDEN
    z = (z ^ (z >> np.uint64(30))) * _MIX1
    z = (z ^ (z >> np.uint64(27))) * _MIX2
    return z ^ (z >> np.uint64(31))


@kernel
def stream_key(seed, epoch):
    """The key of one epoch's masks, from the seed and the epoch number."""
    return splitmix64(splitmix64(np.uint64(seed)) ^ np.uint64(epoch))


@kernel(inline=True)
def dropout_forward(dropped, mask, a, key, counter, keep):
    """dropped = a·mask, with mask (n,) = 1/keep for kept units, else 0.

    ``counter`` numbers the first unit; a, dropped, mask (n,) are overwritten.
    ``key`` is a uint64 from ``stream_key``.
    """
    key = np.uint64(key)  # an int64 key would turn key + counter·golden into a float
    scale = 1.0 / keep
    for j in range(a.shape[0]):
        u = splitmix64(key + np.uint64(counter + j) * _GOLDEN) * _TO_UNIT
        mask[j] = scale if u < keep else 0.0
        dropped[j] = a[j] * mask[j]
