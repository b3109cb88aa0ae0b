"""Element-wise copies and sums of 1-D arrays, written as loops.

A slice assignment between two arrays (``x[a:b] = y``) makes Numba compile a
shape check that formats its error message, which costs seconds of the first
compile; these loops do the same work without it.  Callers pass equal lengths.
"""
from .jit import kernel


@kernel
def copy_into(target, source):
    """target (n,) = source (n,)."""
    for i in range(target.shape[0]):
        target[i] = source[i]


@kernel(inline=True)
def add_into(target, source):
    """target (n,) += source (n,)."""
    for i in range(target.shape[0]):
        target[i] += source[i]
