"""Tunables: every number chosen by measurement, in one place.

Above each: what it decides, then a ``Measured:`` line saying how it was
measured (the machine: a 2-core AMD EPYC, AVX2, OpenBLAS; "not recorded"
where no record exists).  They trade speed or memory, never what is
computed: where one moves rounding or when a check fires, its note says so.
kernels/ and fastnet/ import them from here (kernels never import fastnet).

Kernels freeze these values when they compile, and Numba's cache looks at
the file of the kernel, not at this one: after editing a value, clear the
``__pycache__`` folders of kernels/ before measuring.
"""

# -- inputs -----------------------------------------------------------------

# Fraction of non-zero inputs from which a Dataset is "dense" (below: sparse CSR);
# moves rounding only.
# Measured: whole fits on both cores, BLAS on two threads, 10,000 images, sparse vs
# dense epoch seconds on MNIST (19 % non-zero) and noisy MNIST (51 %) (docs/speed.md).
DENSE_FROM = 0.4

# Dataset.row_splits counts every SPLIT_STRIDE-th non-zero of the sparse inputs.
# Measured: row_splits on MNIST 53 -> 2.5 ms against every non-zero, the same splits.
SPLIT_STRIDE = 16

# Rows from which the CSR conversion runs one band of rows per thread.
# Measured: not recorded.
PARALLEL_ROWS = 4096

# Images resampled per map_coordinates call by data augmentation: bounds its
# coordinate buffer (3 x CHUNK_IMAGES x side x side float64, about 77 MB for MNIST).
# Measured: not recorded (sized for memory).
CHUNK_IMAGES = 4096

# -- engines ----------------------------------------------------------------

# Batch size (per thread) from which hidden layers run on BLAS (GEMM), below it
# on the register-blocked products; moves rounding only.
# Measured: bench/engines.py, single-thread CPU seconds per epoch of every forced
# (layout, engine) against the NumPy peer (a busy machine: rough).
GEMM_MIN_BATCH = 8

# The same for a dense first layer.
# Measured: bench/engines.py, as GEMM_MIN_BATCH.
GEMM_MIN_BATCH_INPUT = 16

# Vectors of a sparse row tile held in registers (4·2 sums + 4 broadcasts: 12 of
# 16 AVX2 registers).
# Measured: epochs on 50,000 MNIST images, tiles against none, alternated twice:
# [784,30,10] b10 0.094/0.099 -> 0.081/0.087 s, [784,100,10] b10 0.228/0.231 -> 0.181/0.213 s.
TILE = 4

# Rows of a register tile of the BLOCKED engine's products (``blocked.py``) with
# AVX2's 16 vector registers (4 rows x 2 vectors of sums, 2 loads and 4 broadcasts
# fill 14); the rows are cut into equal blocks of at most that many.  Each sum
# runs in the same order whatever the tile: the same weights bit for bit.
# Measured: the count from the registers; grey (dense) MNIST [784,100,10] b10 with
# AVX-512 turned off (8 lanes, 16 registers), one 1-epoch fit each: tiles of
# 4 + 4 + 1 + 1 rows 0.333 s against 4 + 4 + 2 rows 0.289 s; with AVX-512, min of 3
# alternated: 0.216 against 0.197 s.
ROW_TILE_AVX2 = 4

# The same with AVX-512's 32 vector registers (5 rows: 17 of them).
# Measured: as ROW_TILE_AVX2, 4 + 4 + 2 against 5 + 5 rows 0.191 against 0.177 s.
ROW_TILE_AVX512 = 5

# Vectors of a W row tile held by the COLUMNS step (8 sums, a broadcast and a
# load in 10 of 16 AVX2 registers): each sum waits on its own last addition,
# and 8 keep the multiply-add units busy where 4 do not; the same weights bit for bit.
# Measured: a whole epoch's steps of [784,800,10] b32, three alternated runs:
# 397/453/410 ms with 4 against 352/386/325 ms with 8 (width 256: 168/160 against 143/134).
COLUMN_TILE = 2 * TILE

# Vectors up to which a sparse first layer runs in register tiles; wider ones
# take the COLUMNS step (per_sample's rows stream instead).
# Measured: one batch's step on MNIST rows, by sample against by column: 86 against
# 71 µs at width 136, 163 against 200 µs at width 104 (docs/speed.md).
TILED_VECTORS = 4 * TILE

# Bytes of a sparse first layer's weights stepped as one band: wider weights are
# stepped band by band of rows, every sample of the batch in turn, so that a band
# stays in the cache (``sparse_step.py``; the same weights bit for bit).
# Measured: min of 4 alternated 1-epoch fits on 50,000 MNIST images, alone, AVX-512:
# [784,100,10] b10 (343 KiB: 3 bands) 0.149 -> 0.124 s, [784,60,10] b10 (196 KiB:
# 2 bands) 0.081 -> 0.076 s, [784,30,10] b10 (98 KiB) 0.044 unbanded against 0.058
# s in 5 bands.
STEP_BAND_BYTES = 128 * 1024

# -- threads ----------------------------------------------------------------

# Samples from which evaluation and the curvature products wake the other
# threads (runs_parallel); fewer run on the calling thread.
# Measured: no figures recorded ("the parallel region costs more than it saves there").
PARALLEL_FROM = 2048

# Batch size from which threads="auto" trains on Numba's threads (below: one).
# Measured: the cut-off itself not recorded; above it, python -m bench.threads: two
# threads 1.62x one at [784,100,10] b100 and 1.36x at [784,800,10] b32 (README).
THREADS_FROM_BATCH = 32

# Multiply-adds per batch (inputs read per sample x width, summed over the layers,
# x batch size) from which the default (threads=None) shares every batch among the
# cores; below it the threads' two meetings per batch cost more than they save.
# Measured: whole fit() per epoch on the 50,000 MNIST images, two threads against one,
# best of 3, alone on a 2-core AVX-512 VM: [784,30,10] b32 (153k) 0.92x, [784,30,10]
# b100 (480k) 1.46x, [784,100,10] b32 (512k) 1.05x, [784,100,100,10] b32 (832k)
# 1.18x, [784,100,10] b100 (1.6M) 1.12x, [784,800,10] b32 (4.1M) 1.32x.
THREADS_FROM_WORK = 400_000

# Multiply-adds of one layer's BLAS product per batch from which BLAS runs it on
# every core by itself (OpenBLAS: m*n*k from 65,536 x 4 on).
# Measured: not here; OpenBLAS's own threshold (GEMM_MULTITHREAD_THRESHOLD 4).
BLAS_THREADS_FROM = 262_144

# Multiply-adds of a BLAS product per batch from which BLAS's own threads pay in a
# one-thread epoch: below it on every product of the plan, the epoch pins BLAS to one
# thread (OpenBLAS starts its threads from BLAS_THREADS_FROM, and waking them for
# every batch's products costs more than they save up to a few million).
# Measured: grey [784,100,10] on the GEMM engine, one thread, epoch seconds with
# BLAS free against pinned, alternated (first layer's products): b16 (1.4M) 0.369 /
# 0.212, b24 (2.1M) 0.270 / 0.183, b32 (2.8M) 0.222 / 0.190, b64 (5.6M) 0.185 / 0.243.
BLAS_THREADS_PAY = 4_000_000

# Share of a batch's multiply-adds in such products from which one training thread
# already keeps every core busy, so the default keeps one training thread.
# Measured: whole fit() per epoch, two threads against one (as THREADS_FROM_WORK):
# [784,100,100,10] b32 (39 % in BLAS-threaded products) 1.18x; [784,1000,500,10] b32
# (76 %) 1.01x on the 50,000 MNIST images and 0.93x on 10,000 (bench fits, deep-fc).
BLAS_SHARE = 0.5

# Pauses a thread waiting at the barrier spins before it starts yielding its core.
# Measured: not recorded (the barrier itself: about 0.14 µs for two threads).
SPINS = 4096

# Blocks the full-batch passes (the gradient, its cost, the curvature products) sum
# the samples in, whatever the thread count (at most this many threads help);
# changing it moves rounding.
# Measured: not recorded.
CURVATURE_BLOCKS = 8

# -- chunks -----------------------------------------------------------------

# Samples per chunk of evaluation (forward_all) and of the full-batch gradient.
# Measured: not recorded.
EVAL_CHUNK = 256

# Entries all_finite checks with no exit inside (so the check vectorises).
# Measured: all_finite on 50,000 MNIST images 16.8 -> 4.8 ms against stopping at
# the first bad entry; the chunk size itself not recorded.
FINITE_CHUNK = 4096

# -- checks during a fit ----------------------------------------------------

# Evenly spaced samples the cost before a fit (divergence's reference) is taken on
# (plus the heaviest row); moves when divergence is found.
# Measured: a whole pass instead was most of the gap between a whole fit and its
# epochs (figures not recorded).
START_SAMPLES = 1024

# First training samples each eta of the divergence ladder is tried on; moves
# which eta a DivergenceError suggests.
# Measured: not recorded.
PROBE_SAMPLES = 1000

# Evenly spaced samples the stall watch looks at every epoch (a whole pass would
# cost as much as the monitoring the user may have switched off).
# Measured: python -m bench.prepared, whole fit against epoch seconds (figures not recorded).
STALL_SAMPLES = 2000

# Epoch from which a never-predicted class counts as a stall (when the warning comes).
# Measured: not recorded.
STALL_AFTER = 3


def runs_parallel(n_samples):
    """Whether ``n_samples`` are worth waking the other threads for: from
    ``PARALLEL_FROM`` on (evaluation and the curvature products)."""
    return n_samples >= PARALLEL_FROM
