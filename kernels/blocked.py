"""Small matrix products for a mini-batch, register-blocked across its samples.

The ``BLOCKED`` engine's three products, the same ones ``blas.gemm`` makes for
the ``GEMM`` engine, on row-major matrices that start at the first element of
1-D arrays with the given row strides (``ld*``).  They are written for the
shapes of a mini-batch — a few to a few dozen samples, layers ten to a few
hundred units wide (``width`` a multiple of ``LANES``) — where a BLAS call
costs more than it saves: each loaded vector of weights serves up to
``ROW_TILE`` samples, whose sums stay in registers.
"""
from .jit import kernel
from .lanes import (LANES, lanes_tile_1x1, lanes_tile_1x2, lanes_tile_2x1, lanes_tile_2x2,
                    lanes_tile_3x1, lanes_tile_3x2, lanes_tile_4x1, lanes_tile_4x2, lanes_tile_5x1,
                    lanes_tile_5x2)
from .tunables import ROW_TILE_AVX2, ROW_TILE_AVX512

BLOCK = 4  # samples per pass of ``block_backward``
ROW_TILE = ROW_TILE_AVX512 if LANES == 16 else ROW_TILE_AVX2  # most rows of a product's tile


@kernel
def block_product(C, c_off, ldc, A, a_off, a_row, a_step, B, ldb, rows, width, count, alpha,
                  add):
    """C[r, :width] (= or +=) alpha·Σ_q A[r·a_row + q·a_step]·B[q, :width] for r < rows:
    tiles of up to ``ROW_TILE`` rows × 2 vectors held in registers (``lanes.py``),
    the rows cut into equal blocks (10 rows: 5 + 5, not 4 + 4 + 1 + 1: each
    loaded vector of B serves a whole block); each sum runs over q in order
    whatever the tile, so the result does not depend on the tiles' shapes.
    Strips of B (count × 2 vectors) outside, rows inside: a strip stays in the
    cache while every block of rows uses it."""
    blocks = (rows + ROW_TILE - 1) // ROW_TILE
    j = 0
    while j < width:
        wide = width - j >= 2 * LANES
        r = 0
        for k in range(blocks):
            tall = rows // blocks + (1 if k < rows % blocks else 0)
            row_tile(tall, wide, C, c_off + r * ldc + j, ldc, A, a_off + r * a_row, a_row,
                     a_step, B, j, ldb, count, alpha, add)
            r += tall
        j += 2 * LANES if wide else LANES


@kernel(inline=True)
def row_tile(tall, wide, C, c, ldc, A, a, a_row, a_step, B, b, ldb, count, alpha, add):
    """One register tile of ``block_product``: ``tall`` (1 to 5) rows × 2
    vectors where ``wide``, else 1."""
    if wide:
        if tall == 5:
            lanes_tile_5x2(C, c, ldc, A, a, a_row, a_step, B, b, ldb, count, alpha, add)
        elif tall == 4:
            lanes_tile_4x2(C, c, ldc, A, a, a_row, a_step, B, b, ldb, count, alpha, add)
        elif tall == 3:
            lanes_tile_3x2(C, c, ldc, A, a, a_row, a_step, B, b, ldb, count, alpha, add)
        elif tall == 2:
            lanes_tile_2x2(C, c, ldc, A, a, a_row, a_step, B, b, ldb, count, alpha, add)
        else:
            lanes_tile_1x2(C, c, ldc, A, a, a_row, a_step, B, b, ldb, count, alpha, add)
    elif tall == 5:
        lanes_tile_5x1(C, c, ldc, A, a, a_row, a_step, B, b, ldb, count, alpha, add)
    elif tall == 4:
        lanes_tile_4x1(C, c, ldc, A, a, a_row, a_step, B, b, ldb, count, alpha, add)
    elif tall == 3:
        lanes_tile_3x1(C, c, ldc, A, a, a_row, a_step, B, b, ldb, count, alpha, add)
    elif tall == 2:
        lanes_tile_2x1(C, c, ldc, A, a, a_row, a_step, B, b, ldb, count, alpha, add)
    else:
        lanes_tile_1x1(C, c, ldc, A, a, a_row, a_step, B, b, ldb, count, alpha, add)


@kernel(inline=True)
def block_forward(C, ldc, A, lda, B, width, m, k, alpha):
    """C (m, width) = alpha·A (m, k) @ B (k, width), overwritten; B's row stride is width."""
    block_product(C, 0, ldc, A, 0, lda, 1, B, width, m, width, k, alpha, False)


@kernel
def block_accumulate(C, width, A, lda, D, ldd, m, k, alpha):
    """C (k, width) += alpha·Aᵀ (k, m) @ D (m, width); C's row stride is width:
    each row of C is read and written once per batch."""
    block_product(C, 0, width, A, 0, 1, lda, D, ldd, k, width, m, alpha, True)


@kernel(inline=True)
def block_backward(C, ldc, D, ldd, B, width, m, n, alpha):
    """C (m, n) = alpha·D (m, width) @ Bᵀ (width, n), overwritten, B (n, width)
    with row stride width: each row of B is loaded once for a block of samples."""
    for t0 in range(0, m, BLOCK):
        t1 = min(t0 + BLOCK, m)
        for i in range(n):
            row = B[i * width:(i + 1) * width]
            for t in range(t0, t1):
                delta = D[t * ldd:t * ldd + width]
                total = row[0] * delta[0]
                for j in range(1, width):
                    total += row[j] * delta[j]
                C[t * ldc + i] = alpha * total
