"""The one decorator every fastnet kernel is compiled with.

``FASTMATH`` deliberately leaves out ``nnan`` and ``ninf``: those flags let
LLVM assume no NaN or infinity ever appears, which would break log-sum-exp and
the divergence checks.  ``reassoc`` and ``contract`` let loops vectorise and
use FMA; the result is still bit-identical from run to run on one machine.
"""
import numba

FASTMATH = frozenset({"nsz", "arcp", "contract", "afn", "reassoc"})


def kernel(function=None, *, parallel=False, exact=False, inline=False, allocates=False):
    """``numba.njit`` with fastnet's settings: cached, nogil, safe fastmath
    (none with ``exact``: IEEE results, e.g. a true division).

    No reference counting of arrays unless the kernel ``allocates`` them:
    the others only take arrays from their caller and make views of them,
    which live no longer than the call.  Numba counts each view with an
    atomic increment and decrement of its base array's count (per sample,
    several per layer); on the training epoch of [784,30,10] at batch 10
    they drew a fifth of the profile's samples, and without them the epoch
    ran 5–16 % faster (old and new code alternated).  A kernel that
    allocates without saying so fails to compile (no NumPy allocation is
    typed without it).  Without the counting, an array returned to Python
    would come back as the whole array it was cut from: the kernels that
    return views (``layout.weights_of`` and the like) are called from other
    kernels only.

    ``inline``: a call from another kernel copies this one's body into the
    caller before typing, instead of compiling it on its own and linking it
    in.  Each compile costs ~0.1–0.3 s of a cold start however small the
    function, and a linked one is optimised again inside every caller; so the
    small helpers and those with one caller are inlined (a call from Python
    compiles them as usual) — but not a tiny one called from dozens of
    places (``layout.n_units``): inlining re-runs Numba's front end at every
    call site.
    """
    options = dict(cache=True, nogil=True, fastmath=set() if exact else set(FASTMATH),
                   error_model="numpy", parallel=parallel, inline="always" if inline else "never",
                   _nrt=allocates)
    if function is None:
        return numba.njit(**options)
    return numba.njit(**options)(function)
