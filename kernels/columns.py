"""A wide sparse first layer's step, row by row of W (the ``COLUMNS`` engine).

The step adds, for every sample s of the batch and every non-zero pixel i of
it, alpha·x_si·δ_s to row i of the first layer's weights W (n_in, width).
Sample by sample (``dense.sparse_accumulate``) every such addition loads and
stores its row of W; a row wider than the register tiles (``TILED_WIDTH``)
is also too wide for W to stay in the cache, so the rows stream in and out
once per sample.  Here the batch's non-zeros are first regrouped by pixel
(``group_by_column``: a CSC view of the batch, samples in batch order), and
then each row of W is loaded once, a tile of vectors at a time, gets all
its additions in registers in batch order, and is stored once
(``lanes.column_update``).  Each weight gets the same additions in the same
order: the same result, bit for bit.  Measured on MNIST rows, one thread:
width 800, batch 32: 484 against 246 µs per batch; width 136, batch 32: 86
against 71 µs; but at width 104 and batch 100 (tiled) 163 against 200 µs,
so narrower layers stay sample by sample.

Scratch: ``start`` (last − first + 1,) int64, ``sample`` (cap,) int32 and
``value`` (cap,) like W, cap ≥ the batch's non-zeros in the columns
[first, last) (``buffers``: batch_size × the data's longest row).
"""

from .jit import kernel
from .lanes import LANES, lanes_column_update1, lanes_column_update4, lanes_column_update8
from .tunables import COLUMN_TILE, TILE


@kernel(inline=True)
def first_not_below(ascending, x):
    """The first k with ascending[k] ≥ x, or n (ascending (n,) sorted):
    ``np.searchsorted``'s "left", whose generic code takes ~0.8 s of a cold
    start to compile."""
    lo, hi = 0, ascending.shape[0]
    while lo < hi:
        middle = (lo + hi) >> 1
        if ascending[middle] < x:
            lo = middle + 1
        else:
            hi = middle
    return lo


@kernel(inline=True)
def row_part(data, r, first, last):
    """[a, b): the non-zeros of CSR row r in columns [first, last) (the
    row's columns are sorted); no search at an end the whole row is inside."""
    lo, hi = data.indptr[r], data.indptr[r + 1]
    if hi == lo:
        return lo, hi
    columns = data.indices[lo:hi]
    a = lo if columns[0] >= first else lo + first_not_below(columns, first)
    b = hi if columns[hi - lo - 1] < last else lo + first_not_below(columns, last)
    return a, b


@kernel(inline=True)
def group_by_column(start, sample, value, data, rows, first, last):
    """The non-zeros of the CSR rows ``rows`` (m,) in columns [first, last),
    grouped by column: column c's are entries start[c − first] to
    start[c − first + 1] of sample (the row's place in ``rows``) and value,
    in the order of ``rows``."""
    n = last - first
    for c in range(n + 1):
        start[c] = 0
    for s in range(rows.shape[0]):
        a, b = row_part(data, rows[s], first, last)
        for k in range(a, b):
            start[data.indices[k] - first + 1] += 1
    for c in range(n):
        start[c + 1] += start[c]
    for s in range(rows.shape[0]):  # start[c] walks to column c's end ...
        a, b = row_part(data, rows[s], first, last)
        for k in range(a, b):
            c = data.indices[k] - first
            place = start[c]
            sample[place] = s
            value[place] = data.values[k]
            start[c] = place + 1
    for c in range(n, 0, -1):  # ... and moves back to its beginning
        start[c] = start[c - 1]
    start[0] = 0


@kernel
def column_accumulate(W, width, D, d_off, ld, data, rows, first, last, start, sample, value,
                      alpha, scale):
    """Rows [first, last) of W (n_in·width,) += alpha/scale · Σ_s x_s[i] ·
    D[s·ld + d_off : +width] over the batch ``rows`` (m,) of CSR inputs
    ``data``, row by row of W, each row tile in registers (``COLUMN_TILE``
    vectors, then ``TILE``, then one at a time)."""
    group_by_column(start, sample, value, data, rows, first, last)
    weight_alpha = W.dtype.type(alpha / scale)
    j = 0
    while j < width:
        vectors = COLUMN_TILE if j + COLUMN_TILE * LANES <= width else (
            TILE if j + TILE * LANES <= width else 1)
        for c in range(last - first):
            lo, hi = start[c], start[c + 1]
            if hi > lo:
                w_off = (first + c) * width + j
                if vectors == COLUMN_TILE:
                    lanes_column_update8(W, w_off, D, d_off + j, ld, sample[lo:hi], value[lo:hi],
                                         weight_alpha)
                elif vectors == TILE:
                    lanes_column_update4(W, w_off, D, d_off + j, ld, sample[lo:hi], value[lo:hi],
                                         weight_alpha)
                else:
                    lanes_column_update1(W, w_off, D, d_off + j, ld, sample[lo:hi], value[lo:hi],
                                         weight_alpha)
        j += vectors * LANES
