"""A sparse first layer's step, sample by sample, in bands of its weights' rows.

The step adds, for every sample s of the batch and every non-zero pixel i of
it, alpha·x_si·δ_s to row i of the first layer's weights W (n_in, width).
Sample after sample, each addition loads and stores its row of W; weights
larger than the cache (``STEP_BAND_BYTES``) stream in and out once per
sample.  In bands, every sample of the batch adds its share to one band of
rows before the next band starts, so that the band's rows stay in the cache
while the batch uses them.  Each weight gets the same additions in the same
order, sample by sample: the same result, bit for bit.
"""
from .columns import row_part
from .dense import sparse_accumulate
from .jit import kernel
from .layout import N_IN, WIDTH, units_of
from .tunables import STEP_BAND_BYTES


@kernel(inline=True)
def band_rows(layers, itemsize):
    """Rows of the first layer's weights per band: all of them where they take
    ``STEP_BAND_BYTES`` or less, else equal bands below that."""
    n_in = layers[0, N_IN]
    bands = (n_in * layers[0, WIDTH] * itemsize + STEP_BAND_BYTES - 1) // STEP_BAND_BYTES
    return (n_in + bands - 1) // max(bands, 1)


@kernel(inline=True)
def sparse_step(TW, D, layers, data, rows, first, last, alpha, scale, tiled):
    """Rows [first, last) of the first layer's weights TW (n_in·width,) +=
    alpha/scale · Σ_s x_s ⊗ δ_s over the batch ``rows`` (m,) of CSR inputs
    ``data``, δ_s sample s's first-layer units in D; band by band of
    ``band_rows`` rows where ``tiled`` (else one band: Hogwild!'s rows,
    ``layout.ROWS``)."""
    n_in = layers[0, N_IN]
    band = band_rows(layers, TW.itemsize) if tiled else n_in
    for lo in range(first, last, band):
        hi = min(lo + band, last)
        for s in range(rows.shape[0]):
            a, b = row_part(data, rows[s], lo, hi)
            if b > a:
                sparse_accumulate(TW, data.indices[a:b], data.values[a:b],
                                  units_of(D, layers, 0, 0, s), alpha, scale, tiled)
