"""The one decorator every fastnet kernel is compiled with.

``FASTMATH`` deliberately leaves out ``nnan`` and ``ninf``: those flags let
LLVM assume no NaN or infinity ever appears, which would break log-sum-exp and
the divergence checks.  ``reassoc`` and ``contract`` let loops vectorise and
use FMA; the result is still bit-identical from run to run on one machine.
"""
import numba

FASTMATH = frozenset({"nsz", "arcp", "contract", "afn", "reassoc"})


def kernel(function=None, *, parallel=False, exact=False):
    """``numba.njit`` with fastnet's settings: cached, nogil, safe fastmath
    (none with ``exact``: IEEE results, e.g. a true division)."""
    options = dict(cache=True, nogil=True, fastmath=set() if exact else set(FASTMATH),
                   error_model="numpy", parallel=parallel)
    if function is None:
        return numba.njit(**options)
    return numba.njit(**options)(function)
