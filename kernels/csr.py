"""Dense rows to CSR (the sparse first layer's inputs), on every core: from
``PARALLEL_ROWS`` rows on, one band of rows per thread (``bands.py``) is
counted, then filled; float32 rows eight values at a time where the CPU has
AVX2 (``pack.py``: 50,000 MNIST images in 7–9 ms against 34–45 ms one value
at a time)."""
import math

import numpy as np
from numba import types
from numba.extending import overload

from .bands import in_bands
from .jit import kernel
from .pack import PACK, available, pack_nonzeros, pack_table
from .tunables import PARALLEL_ROWS

NARROW_COLUMNS = 1 << 16  # up to this many columns, their numbers are stored as uint16
PACKED = available()  # float32 rows are filled PACK values at a time
ORDER = pack_table()


@kernel
def csr_counts(X, indptr, norms, first, last):
    """For each row r in [first, last) of X (n, d): indptr[r + 1] = its number
    of non-zeros, norms[r] = its L1 norm in float64, or NaN where the row
    holds a NaN or an infinity: one read of X for the CSR counts, the
    finiteness check and the row of largest norm (float64 sums of float32
    rows cannot overflow; of float64 ones they may, to inf, which is not
    NaN)."""
    for r in range(first, last):
        count = 0
        total = 0.0
        bad = False
        for i in range(X.shape[1]):
            x = X[r, i]
            count += x != 0
            total += abs(np.float64(x))
            bad |= not math.isfinite(x)
        indptr[r + 1] = count
        norms[r] = np.nan if bad else total


def value_of(x, table):
    """x's value in the CSR form: table[x] for a uint8 pixel, else x (compiled
    per type by ``_value_of``)."""
    return table[x] if isinstance(x, np.integer) else x


@overload(value_of, jit_options=dict(cache=True))
def _value_of(x, table):
    if isinstance(x, types.Integer):
        return lambda x, table: table[x]
    return lambda x, table: x


@kernel
def csr_fill(X, table, indptr, indices, values, first, last):
    """indices, values (nnz + 1 or more,) = the columns and values of the
    non-zeros of rows [first, last) of X, the values looked up in ``table``
    (uint8 X) or X's own (float X); nothing is written outside the band's
    places, except one spare place at the end by the last band.

    Branch-free: every value is written at the next free place, which only
    moves on past a non-zero (a branch per value would be mispredicted at
    MNIST's 19 % density: 10x slower).  The write after a row's last non-zero
    lands on the next row's first place, or the spare one; a row followed
    only by empty rows in its band (whose last write would land on the next
    band's first place) takes a branch per value instead.
    """
    end = indptr[last]
    spare = last == X.shape[0]
    for r in range(first, last):
        k = indptr[r]
        if indptr[r + 1] < end or spare:
            for i in range(X.shape[1]):
                x = X[r, i]
                indices[k] = i
                values[k] = value_of(x, table)
                k += x != 0
        else:
            for i in range(X.shape[1]):
                x = X[r, i]
                if x != 0:
                    indices[k] = i
                    values[k] = value_of(x, table)
                    k += 1


@kernel
def csr_fill_packed(flat, d, order, indptr, indices, values, first, last):
    """``csr_fill`` for float32 rows of d values back to back in ``flat``
    (n·d,), PACK values at a time (``pack.py``, AVX2; ``order`` its
    ``pack_table()``); indices, values (nnz + PACK,).  A block whose
    whole-vector stores would reach past the band's places (into the next
    band's, or beyond the PACK spare places after the last band), and the
    last d mod PACK values of a row, go one at a time with a branch."""
    limit = indptr[last] + (PACK if last * d == flat.shape[0] else 0)
    for r in range(first, last):
        k = indptr[r]
        row = flat[r * d:(r + 1) * d]
        i = 0
        while i + PACK <= d and k + PACK <= limit:
            k += pack_nonzeros(indices, values, k, flat, r * d + i, i, order)
            i += PACK
        for j in range(i, d):
            if row[j] != 0:
                indices[k] = j
                values[k] = row[j]
                k += 1


@kernel
def row_norms(indptr, values, norms):
    """norms (n,) = the L1 norm of every CSR row, summed in float64 (inf where
    even that overflows)."""
    for r in range(norms.shape[0]):
        total = 0.0
        for k in range(indptr[r], indptr[r + 1]):
            total += abs(values[k])
        norms[r] = total


def _threads(X):
    """One band for fewer than ``PARALLEL_ROWS`` rows, else one per thread."""
    return None if X.shape[0] >= PARALLEL_ROWS else 1


def counts_and_norms(X):
    """(indptr (n+1,) int64, norms (n,) float64): the running count of X's
    (n, d) non-zeros row by row, and each row's L1 norm, NaN for a row with
    a NaN or an infinity (``csr_counts``)."""
    indptr = np.zeros(X.shape[0] + 1, dtype=np.int64)
    norms = np.empty(X.shape[0])
    in_bands(lambda first, last: csr_counts(X, indptr, norms, first, last), X.shape[0],
             _threads(X))
    np.cumsum(indptr, out=indptr)
    return indptr, norms


def index_dtype(n_in):
    """The dtype of the column numbers of CSR rows of ``n_in`` columns: uint16
    up to ``NARROW_COLUMNS`` (a quarter less memory than int32 per non-zero),
    else int32."""
    return np.dtype(np.uint16 if n_in <= NARROW_COLUMNS else np.int32)


def to_csr(X, dtype=None, divisor=1, indptr=None):
    """The non-zeros of X (n, d) row by row: indptr (n+1,) int64, indices
    (nnz,) ``index_dtype(d)``, values (nnz,) of ``dtype`` (default X's) divided by
    ``divisor`` — e.g. uint8 pixels straight to float32 in [0, 1] with
    divisor 255, as NumPy's X.astype(dtype) / 255 gives them, without a
    dense float copy.  ``indptr``: X's ``counts_and_norms`` where already made."""
    dtype = X.dtype if dtype is None else np.dtype(dtype)
    indptr = counts_and_norms(X)[0] if indptr is None else indptr
    nnz = indptr[-1]
    indices = np.empty(nnz + PACK, dtype=index_dtype(X.shape[1]))  # spare places at the end
    values = np.empty(nnz + PACK, dtype=dtype)
    if X.dtype == np.uint8:
        table = np.arange(256).astype(dtype) / dtype.type(divisor)
    else:
        table = np.empty(0, dtype=dtype)
        X = X if divisor == 1 else X / divisor
    if PACKED and X.dtype == dtype == np.float32 and X.flags.c_contiguous:
        flat, d = X.reshape(-1), X.shape[1]
        fill = lambda first, last: csr_fill_packed(  # noqa: E731
            flat, d, ORDER, indptr, indices, values, first, last)
    else:
        fill = lambda first, last: csr_fill(  # noqa: E731
            X, table, indptr, indices, values, first, last)
    in_bands(fill, X.shape[0], _threads(X))
    return indptr, indices[:nnz], values[:nnz]
