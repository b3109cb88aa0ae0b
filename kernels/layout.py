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

``theta``, the momentum velocity, the gradient buffer and the batch buffers
start on a cache line (``line_aligned_zeros``; NumPy's own arrays start 16
bytes into one, or 32, or 48, as the allocator hands them out).  A register
tile of 32 float32 weights then spans two cache lines instead of three
wherever its row starts on a line: at [784, 100, 10] (rows of 416 bytes,
every other one on a line) the epochs ran 20–25 % faster than from 16 or 48
bytes in, and [784, 30, 10] and [784, 800, 10] 10 % faster.

The table ``layers`` (n_layers, 8) int64 has one row per layer with the columns
below; ``build`` makes it.  ``ENGINE`` says how the training and evaluation
kernels compute the layer for a batch: ``PER_SAMPLE`` (fastnet's vector
kernels, one sample at a time: the engine for sparse inputs), ``BLOCKED``
(fastnet's register-blocked products over blocks of samples: each weight row
loaded once per block) or ``GEMM`` (one BLAS product for the whole batch:
best for wide layers and large batches); with Hogwild! threads a sparse
first layer runs ``ROWS`` (``PER_SAMPLE`` reading and writing whole
rows of W in order, never in register tiles: tiles pass over the rows a
vector at a time, and with another thread writing the same rows every pass
waits for them to come back: 2.7-5x slower).  ``plan`` picks the engine per
layer from the batch size and the input layout; the choice changes
rounding only.
"""
import numpy as np

from .csr import index_dtype
from .dense import TILED_WIDTH
from .jit import kernel
from .lanes import padded
from .tunables import GEMM_MIN_BATCH, GEMM_MIN_BATCH_INPUT

N_IN, N_OUT, WIDTH, W_OFF, B_OFF, ACT, U_OFF, ENGINE = 0, 1, 2, 3, 4, 5, 6, 7
N_COLUMNS = 8
PER_SAMPLE, GEMM, BLOCKED, ROWS, COLUMNS = 0, 1, 2, 3, 4
ENGINES = {"per_sample": PER_SAMPLE, "blocked": BLOCKED, "gemm": GEMM}  # those a user may force
ENGINE_NAMES = ("auto", *ENGINES)  # what ``plan`` (and ``Network.engine``) accepts


CACHE_LINE = 64  # bytes


def line_aligned_zeros(n, dtype):
    """Zeros (n,) of ``dtype`` whose first element starts a cache line."""
    itemsize = np.dtype(dtype).itemsize
    raw = np.zeros(n + CACHE_LINE // itemsize, dtype=dtype)
    skip = (-raw.ctypes.data % CACHE_LINE) // itemsize
    return raw[skip:skip + n]


def line_aligned(array):
    """``array`` (n,) itself if it starts a cache line, else a copy that does."""
    if array.ctypes.data % CACHE_LINE == 0:
        return array
    copy = line_aligned_zeros(array.shape[0], array.dtype)
    copy[:] = array
    return copy


def build(sizes, codes):
    """The (L, 8) int64 layer table for layer sizes (L+1,) and activation
    codes (L,), every layer on the ``PER_SAMPLE`` engine."""
    pairs = list(zip(sizes[:-1], sizes[1:]))
    n_weights = sum(n_in * padded(n_out) for n_in, n_out in pairs)
    layers = np.zeros((len(pairs), N_COLUMNS), dtype=np.int64)
    w_off, b_off, u_off = 0, n_weights, 0
    for l, ((n_in, n_out), code) in enumerate(zip(pairs, codes)):
        width = padded(n_out)
        layers[l] = (n_in, n_out, width, w_off, b_off, code, u_off, PER_SAMPLE)
        w_off, b_off, u_off = w_off + n_in * width, b_off + width, u_off + width
    return layers


def n_parameters(layers):
    """Length of the flat parameter vector (padding included)."""
    return int(layers[-1, B_OFF] + layers[-1, WIDTH])


def plan(layers, batch_size, dense_input, engine="auto", threads=1, hogwild=False,
         thread_blas=False):
    """A copy of ``layers`` with the ENGINE column set for batches of
    ``batch_size``.  "auto": GEMM from GEMM_MIN_BATCH samples on
    (GEMM_MIN_BATCH_INPUT for the first layer; counted per thread), else
    BLOCKED; a sparse first layer PER_SAMPLE, or COLUMNS for its step where
    it is wider than ``dense.TILED_WIDTH`` (``columns.py``).  "gemm",
    "blocked", "per_sample" force one engine ("gemm" and "blocked" leave a
    sparse first layer as "auto" does, "per_sample" makes it PER_SAMPLE).
    With more than one thread (``threads.py``) BLOCKED stands in for GEMM unless
    ``thread_blas`` (BLAS pinned to one thread for the fit:
    ``blas.one_thread``), as for ``hogwild`` threads (``hogwild.py``, each on
    its own samples: ``threads`` 1), whose sparse first layer is ROWS:
    threads calling BLAS would start BLAS's own threads on top."""
    planned = layers.copy()
    no_gemm = hogwild or (threads > 1 and not thread_blas)
    share = batch_size // threads  # the samples of one thread's products
    for l in range(len(layers)):
        if l == 0 and not dense_input:
            wide = layers[0, WIDTH] > TILED_WIDTH and engine != "per_sample"
            choice = ROWS if hogwild else COLUMNS if wide else PER_SAMPLE
        elif engine != "auto":
            choice = ENGINES[engine]
        elif share >= (GEMM_MIN_BATCH if l > 0 else GEMM_MIN_BATCH_INPUT):
            choice = GEMM
        else:
            choice = BLOCKED
        planned[l, ENGINE] = BLOCKED if choice == GEMM and no_gemm else choice
    return planned


def columns_part(layers):
    """The ``columns`` argument of the kernels that step a batch for the
    planned table ``layers``: True where its first layer steps on COLUMNS,
    else None, which leaves that engine's code out of what they compile
    (each value is a compiled entry point of its own: a first run compiles
    only the one its plan uses)."""
    return True if layers[0, ENGINE] == COLUMNS else None


@kernel(inline=True)
def is_matrix(layers, l):
    """Whether layer l runs on a matrix engine (GEMM or BLOCKED) for the batch."""
    return layers[l, ENGINE] == GEMM or layers[l, ENGINE] == BLOCKED


@kernel(inline=True)
def weights_of(theta, layers, l):
    """Layer l's weights, flat (n_in*width,), row-major (n_in, width)."""
    off = layers[l, W_OFF]
    return theta[off:off + layers[l, N_IN] * layers[l, WIDTH]]


@kernel(inline=True)
def biases_of(theta, layers, l):
    """Layer l's biases, (width,)."""
    off = layers[l, B_OFF]
    return theta[off:off + layers[l, WIDTH]]


@kernel(inline=True)
def units_of(buffer, layers, l, m, s):
    """Sample s's units of layer l in a flat buffer for a batch of m, (width,).

    The place does not depend on m (see the module docstring)."""
    width = layers[l, WIDTH]
    off = s * n_units(layers) + layers[l, U_OFF]
    return buffer[off:off + width]


@kernel(inline=True)
def rows_of(buffer, layers, l):
    """Layer l's units of a whole batch in a flat buffer, from sample 0 on: a
    matrix with rows ``n_units`` apart (the leading dimension for ``gemm``)."""
    return buffer[layers[l, U_OFF]:]


@kernel  # not inlined: called at 30 places, each inlined copy costs a cold start ~10 ms
def n_units(layers):
    """Padded units in all layers together (U)."""
    last = layers.shape[0] - 1
    return layers[last, U_OFF] + layers[last, WIDTH]


def check_arrays(layers, theta, *, velocity=None, grad=None, second=None, buffers=(), batch_size=1,
                 csr=None, dense=None, n_samples=None, Y=None, order=None, outputs=(),
                 gathered=None, gradients=None, row_splits=None, columns=None):
    """Raise ValueError unless every array is what the layer table promises.

    Plain Python, called once per kernel call (never per batch), so that no
    argument can make a compiled kernel read or write out of bounds.
    ``layers`` (L, 8) int64; theta (p,) float32/float64 with p the table's
    length; velocity, grad, second (p,) like theta; ``buffers`` pairs (name, array)
    of per-sample unit buffers, each at least batch_size·U long (U =
    ``n_units``); csr = (indptr (n+1,) int64 non-decreasing from 0, indices
    (nnz,) ``csr.index_dtype(n_in)`` with nnz = indptr[n], values (nnz,)
    like theta), or dense =
    values (n·n_in,) like theta (the rows of X); Y (n, n_out) like theta;
    order (m,) int64 in [0, n); ``outputs`` pairs (name, array) of (n, n_out)
    arrays like theta; ``gathered`` the batch's dense input rows
    (batch_size·n_in,) where the first layer runs on a matrix engine;
    ``gradients`` (T, p) per-thread gradient rows; ``row_splits`` (T+1,)
    int64 non-decreasing from 0 to n_in, or empty (the threads' rows of the
    first layer's weights); ``columns`` the scratch (start, sample, value)
    of a COLUMNS first layer for T threads (``columns.py``): start
    (T·(n_in+1),) int64, sample (T·cap,) int32 and value (T·cap,) like
    theta, cap ≥ batch_size × the longest CSR row (needed by the step, not
    by the forward pass).  A matrix engine on the first layer needs dense
    inputs.
    Checking that every CSR column index lies in [0, n_in) is
    ``check_columns``'s (once per data set).
    """
    def fail(name, expected, array):
        found = (f"{array.dtype} array of shape {array.shape}" if isinstance(array, np.ndarray)
                 else type(array).__name__)
        raise ValueError(f"{name}: expected {expected}, got {found}")

    def is_array(array, ndim, dtype):
        return (isinstance(array, np.ndarray) and array.ndim == ndim and array.dtype == dtype
                and array.flags.c_contiguous)

    if not is_array(layers, 2, np.int64) or layers.shape[0] < 1 or layers.shape[1] != N_COLUMNS:
        fail("layers", f"an (L, {N_COLUMNS}) int64 layer table", layers)
    w_off, b_off, u_off = 0, int(layers[0, B_OFF]), 0
    for l, row in enumerate(layers):
        n_in, n_out, width = int(row[N_IN]), int(row[N_OUT]), int(row[WIDTH])
        ok = (n_in >= 1 and 1 <= n_out <= width and row[W_OFF] == w_off and row[B_OFF] == b_off
              and row[U_OFF] == u_off and (l == 0 or n_in == layers[l - 1, N_OUT])
              and row[ENGINE] in (PER_SAMPLE, GEMM, BLOCKED, ROWS, COLUMNS)
              and (row[ENGINE] in (PER_SAMPLE, GEMM, BLOCKED) or l == 0))
        if not ok:
            raise ValueError(f"layers: row {l} {row.tolist()} is not a consistent layer table row")
        w_off, b_off, u_off = w_off + n_in * width, b_off + width, u_off + width
    if w_off != layers[0, B_OFF]:
        raise ValueError("layers: the biases do not start right after the weights")
    p = b_off
    if not isinstance(theta, np.ndarray) or theta.dtype not in (np.float32, np.float64) \
            or not is_array(theta, 1, theta.dtype) or theta.shape != (p,):
        fail("theta", f"a contiguous ({p},) float32 or float64 array", theta)
    dtype = theta.dtype
    for name, array in (("velocity", velocity), ("grad", grad), ("second", second)):
        if array is not None and (not is_array(array, 1, dtype) or array.shape != (p,)):
            fail(name, f"a contiguous ({p},) {dtype} array laid out like theta", array)
    needed = batch_size * u_off
    for name, array in buffers:
        if not is_array(array, 1, dtype) or array.shape[0] < needed:
            fail(name, f"a contiguous {dtype} buffer of at least {needed} values "
                       f"({batch_size} samples x {u_off} units)", array)
    n_in, n_out = int(layers[0, N_IN]), int(layers[-1, N_OUT])
    if gradients is not None and (not is_array(gradients, 2, dtype) or gradients.shape[1] != p):
        fail("gradients", f"a contiguous (T, {p}) {dtype} array", gradients)
    if row_splits is not None and not (is_array(row_splits, 1, np.int64) and (
            row_splits.shape[0] == 0 or (row_splits.shape[0] >= 2 and row_splits[0] == 0
                                         and row_splits[-1] == n_in
                                         and not np.any(np.diff(row_splits) < 0)))):
        fail("row_splits", f"an empty or a non-decreasing (T+1,) int64 array from 0 to {n_in}",
             row_splits)
    accumulates = grad is not None or gradients is not None  # a gradient or a step: the scratch is used
    if layers[0, ENGINE] == COLUMNS and csr is not None and (columns is not None or accumulates):
        if columns is None:
            fail("columns", "the scratch (start, sample, value) of a COLUMNS first layer", columns)
        start, sample, value = columns
        T = start.shape[0] // (n_in + 1) if is_array(start, 1, np.int64) else 0
        if T < 1 or start.shape[0] != T * (n_in + 1):
            fail("col_start", f"a contiguous (T·{n_in + 1},) int64 array", start)
        indptr = csr[0]
        longest = int(np.diff(indptr).max()) if isinstance(indptr, np.ndarray) \
            and indptr.ndim == 1 and indptr.shape[0] > 1 else 0
        needed = T * batch_size * longest
        if not is_array(sample, 1, np.int32) or sample.shape[0] < needed \
                or sample.shape[0] % T:
            fail("col_sample", f"a contiguous int32 array of T·cap >= {needed} values "
                               f"(T = {T}, {batch_size} samples x the longest row {longest})",
                 sample)
        if not is_array(value, 1, dtype) or value.shape != sample.shape:
            fail("col_value", f"a contiguous {dtype} array like col_sample", value)
    if layers[0, ENGINE] not in (PER_SAMPLE, ROWS, COLUMNS):
        if dense is None:
            raise ValueError("layers: a matrix engine on the first layer needs dense inputs")
        needed = batch_size * n_in
        if gathered is not None and (not is_array(gathered, 1, dtype)
                                     or gathered.shape[0] < needed):
            fail("X", f"a contiguous {dtype} buffer of at least {needed} values", gathered)
    if dense is not None:
        n = dense.shape[0] // n_in if isinstance(dense, np.ndarray) and dense.ndim == 1 else -1
        if not is_array(dense, 1, dtype) or n * n_in != dense.shape[0] \
                or (n_samples is not None and n != n_samples):
            fail("values", f"contiguous dense rows (n·{n_in},) of {dtype}", dense)
        n_samples = n
    if csr is not None:
        indptr, indices, values = csr
        n = n_samples if n_samples is not None else (
            indptr.shape[0] - 1 if isinstance(indptr, np.ndarray) and indptr.ndim == 1 else -1)
        if not is_array(indptr, 1, np.int64) or indptr.shape[0] != n + 1 or n < 0:
            fail("indptr", f"a contiguous ({n + 1},) int64 array", indptr)
        if indptr[0] != 0 or (n > 0 and np.any(indptr[1:] < indptr[:-1])):
            raise ValueError("indptr: must start at 0 and never decrease")
        nnz = int(indptr[-1])
        columns = index_dtype(layers[0, N_IN])
        if not is_array(indices, 1, columns) or indices.shape[0] != nnz:
            fail("indices", f"a contiguous ({nnz},) {columns} array", indices)
        if not is_array(values, 1, dtype) or values.shape[0] != nnz:
            fail("values", f"a contiguous ({nnz},) {dtype} array", values)
        n_samples = n
    if Y is not None and (not is_array(Y, 2, dtype) or Y.shape[1] != n_out
                          or (n_samples is not None and Y.shape[0] != n_samples)):
        fail("Y", f"a contiguous ({n_samples if n_samples is not None else 'n'}, {n_out}) "
                  f"{dtype} array", Y)
    if order is not None:
        if not is_array(order, 1, np.int64):
            fail("order", "a contiguous 1-D int64 array of sample numbers", order)
        if order.shape[0] and (order.min() < 0 or (n_samples is not None
                                                   and order.max() >= n_samples)):
            raise ValueError(f"order: sample numbers must lie in [0, {n_samples})")
    for name, array in outputs:
        if not is_array(array, 2, dtype) or array.shape[1] != n_out \
                or (n_samples is not None and array.shape[0] != n_samples):
            fail(name, f"a contiguous (n, {n_out}) {dtype} array", array)


def check_columns(indices, n_in):
    """Raise ValueError unless every CSR column index (nnz,) lies in [0, n_in)."""
    if indices.shape[0] and (indices.min() < 0 or indices.max() >= n_in):
        raise ValueError(f"indices: column numbers must lie in [0, {n_in})")
