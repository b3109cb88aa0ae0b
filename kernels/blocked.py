"""Small matrix products for a mini-batch, register-blocked across its samples.

The ``BLOCKED`` engine's three products, the same ones ``blas.gemm`` makes for
the ``GEMM`` engine, on row-major matrices that start at the first element of
1-D arrays with the given row strides (``ld*``).  They are written for the
shapes of a mini-batch — a few to a few dozen samples, layers ten to a few
hundred units wide (``width`` a multiple of ``LANES``) — where a BLAS call
costs more than it saves: each weight row is loaded once per block of
``BLOCK`` samples instead of once per sample, and zero inputs (ReLU, dropout)
skip their rows.
"""
from .jit import kernel
from .lanes import LANES, lanes_axpy, lanes_axpy4

BLOCK = 4


@kernel
def block_forward(C, ldc, A, lda, B, width, m, k, alpha):
    """C (m, width) = alpha·A (m, k) @ B (k, width), overwritten; B's row stride is width."""
    for t in range(m):
        C[t * ldc:t * ldc + width] = 0.0
    for t0 in range(0, m, BLOCK):
        t1 = min(t0 + BLOCK, m)
        i = 0
        while i + 4 <= k:
            row = i * width
            for t in range(t0, t1):
                a = t * lda + i
                x0, x1, x2, x3 = A[a], A[a + 1], A[a + 2], A[a + 3]
                if x0 != 0.0 or x1 != 0.0 or x2 != 0.0 or x3 != 0.0:
                    for j in range(0, width, LANES):
                        lanes_axpy4(C, t * ldc + j, B, row + j, row + width + j,
                                    row + 2 * width + j, row + 3 * width + j, x0, x1, x2, x3)
            i += 4
        while i < k:
            for t in range(t0, t1):
                x = A[t * lda + i]
                if x != 0.0:
                    for j in range(0, width, LANES):
                        lanes_axpy(C, t * ldc + j, B, i * width + j, x)
            i += 1
    if alpha != 1.0:
        for t in range(m):
            C[t * ldc:t * ldc + width] *= alpha


@kernel
def block_accumulate(C, width, A, lda, D, ldd, m, k, alpha):
    """C (k, width) += alpha·Aᵀ (k, m) @ D (m, width): for each row i of C, the
    samples' terms alpha·A[t, i]·D[t] four at a time, one load and store of the
    row per four samples.  C's row stride is width."""
    t = 0
    while t + 4 <= m:
        d0, d1, d2, d3 = t * ldd, (t + 1) * ldd, (t + 2) * ldd, (t + 3) * ldd
        for i in range(k):
            x0, x1 = alpha * A[t * lda + i], alpha * A[(t + 1) * lda + i]
            x2, x3 = alpha * A[(t + 2) * lda + i], alpha * A[(t + 3) * lda + i]
            if x0 != 0.0 or x1 != 0.0 or x2 != 0.0 or x3 != 0.0:
                row = i * width
                for j in range(0, width, LANES):
                    lanes_axpy4(C, row + j, D, d0 + j, d1 + j, d2 + j, d3 + j, x0, x1, x2, x3)
        t += 4
    while t < m:
        for i in range(k):
            x = alpha * A[t * lda + i]
            if x != 0.0:
                for j in range(0, width, LANES):
                    lanes_axpy(C, i * width + j, D, t * ldd + j, x)
        t += 1


@kernel
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
