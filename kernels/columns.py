"""The sparse first layer a whole batch at a time, input column by input column.

Sample by sample (``dense.sparse_forward``, ``dense.sparse_accumulate``),
every non-zero input streams its row of W through the cache once per sample
in the forward pass, and reads and writes it again in the update.  The
threads of ``threads.py`` (engine ``COLUMNS``) first regroup the batch's
non-zeros by input column (``by_column``: a CSC view of the batch, made by a
counting sort, samples in order within a column; each thread makes the part
of its own columns), then each thread, over its own rows i of W,

    sums:     part_s += x_si · W_i            (``column_partial``)
    updates:  W_i += alpha · Σ_s x_si · δ_s    (``column_accumulate``, the sum
                                                built in a row-sized buffer)

so that each row of W is read once per batch in the forward pass and read
and written once in the update, always by the same thread: the first
layer's weights, the bulk of the parameters, never move between cores.
``add_partials`` adds the threads' sums in thread order for each sample.

The view lives in the batch's ``Buffers``: ``column_start`` (n_in+1,) int64,
``column_rows`` (≥ nnz of the batch,) int64 positions in the batch,
``column_values`` like theta, ``partial`` (T·batch·width,) and
``row_splits`` (T+1,), thread t's rows [row_splits[t], row_splits[t+1]).
"""
import numpy as np

from .dense import finish_sum, start_sum
from .jit import kernel
from .lanes import LANES, lanes_axpy


@kernel
def by_column(work, data, rows, first, last):
    """The batch ``rows``' (m,) CSR inputs regrouped by column into ``work``'s
    column_start, column_rows (position s in the batch) and column_values.

    Only columns [first, last): entries and ``column_start``
    [first, last), plus column_start[n_in] when last is n_in, so that
    threads can each make their own columns' part of one view at once.
    Returns where the part ends (a thread must not read column_start[last],
    another thread's, before the barrier).
    """
    start, where, values = work.column_start, work.column_rows, work.column_values
    indptr, indices = data.indptr, data.indices
    n = start.shape[0] - 1
    start[first:last] = 0
    base = 0  # entries of the columns before first: where this part begins
    for s in range(rows.shape[0]):
        for k in range(indptr[rows[s]], indptr[rows[s] + 1]):
            c = indices[k]
            if c < first:
                base += 1
            elif c < last:
                start[c] += 1
    running = base
    for i in range(first, last):
        count = start[i]
        start[i] = running
        running += count
    for s in range(rows.shape[0]):  # start[c] walks to the end of column c ...
        for k in range(indptr[rows[s]], indptr[rows[s] + 1]):
            c = indices[k]
            if first <= c < last:
                e = start[c]
                where[e] = s
                values[e] = data.values[k]
                start[c] = e + 1
    for i in range(last - 1, first, -1):  # ... so shift it back by one column
        start[i] = start[i - 1]
    if last > first:
        start[first] = base
    if last == n:
        start[n] = running
    return running


@kernel
def column_accumulate(TW, width, work, first, last, U, alpha):
    """Rows [first, last) of TW (n_in, width) += alpha·Σ_s outer(x_s, δ_s) over
    the batch: each row read and written once, the sum over its samples built
    in a buffer.  δ_s is the first layer's deltas, rows U apart in ``work.D``."""
    alpha = TW.dtype.type(alpha)
    total = np.empty(width, dtype=TW.dtype)
    start, where, values, D = work.column_start, work.column_rows, work.column_values, work.D
    for i in range(first, last):
        e0, e1 = start[i], start[i + 1]
        row = i * width
        if e1 - e0 == 1:  # one sample: straight into the row
            for j in range(0, width, LANES):
                lanes_axpy(TW, row + j, D, where[e0] * U + j, alpha * values[e0])
        elif e1 > e0:
            total[:] = 0.0
            for e in range(e0, e1):
                for j in range(0, width, LANES):
                    lanes_axpy(total, j, D, where[e] * U + j, values[e])
            for j in range(0, width, LANES):
                lanes_axpy(TW, row + j, total, j, alpha)


@kernel
def column_partial(work, W, width, first, last, end, m, part):
    """part (m, width) = Σ over columns [first, last) of x_si · W_i for the
    batch's m samples: one thread's share of the first layer's sums (its rows
    of W (n_in, width)), from its part of ``by_column``'s view, which ends at
    ``end``."""
    part[:m * width] = 0.0
    start, where = work.column_start, work.column_rows
    for i in range(first, last):
        row = i * width
        for e in range(start[i], start[i + 1] if i + 1 < last else end):
            x = work.column_values[e]
            z = where[e] * width
            for j in range(0, width, LANES):
                lanes_axpy(part, z + j, W, row + j, x)


@kernel
def add_partials(work, b, first, m, U, scale):
    """Z's first-layer units (width,) of the batch's samples [first, first + m)
    = b + scale·(the threads' partial sums, added in thread order); ``work.Z``
    holds sample ``first`` in its first row."""
    width = b.shape[0]
    T = work.row_splits.shape[0] - 1
    size = work.partial.shape[0] // T
    for s in range(m):
        z = work.Z[s * U:s * U + width]
        start_sum(z, b, scale)
        for t in range(T):
            part = work.partial[t * size + (first + s) * width:]
            for j in range(0, width, LANES):
                lanes_axpy(z, j, part, j, 1.0)
        finish_sum(z, b, scale)
