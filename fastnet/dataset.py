"""``Dataset``: inputs (and targets) prepared once for the compiled kernels.

``fit``, ``evaluate``, ``accuracy``, ``cost``, ``predict``, ``predict_proba``
and ``gradient`` accept a ``Dataset`` wherever they accept X, and then skip
the checks and the conversion that plain arrays go through on every call.

The inputs are kept in one of two layouts, picked by the measured fraction of
non-zero values (``density``) unless the caller forces one:

- "sparse": CSR rows (the non-zeros' columns and values). MNIST is about
  19 % non-zero, so the first layer does a fifth of the work. uint8 pixels go
  straight into float CSR values, without a dense float copy.
- "dense": the rows as they are; a C-contiguous float array of the network's
  dtype is used in place, not copied. Wide layers and large batches then run
  as BLAS matrix products.
"""
from __future__ import annotations

from typing import Any, Literal

import numpy as np
import scipy.sparse
from numpy.typing import ArrayLike, NDArray

from .checks import as_dtype, as_inputs, as_sample_weight, choice, not_finite
from .kernels.csr import counts_and_norms, index_dtype, row_norms, to_csr
from .kernels.train import dense_inputs, sparse_inputs
from .kernels.tunables import DENSE_FROM, SPLIT_STRIDE

LAYOUTS = ("auto", "sparse", "dense")


class Dataset:
    """Inputs X (n, n_in) — float, or uint8 pixels scaled to [0, 1]; an array
    or a ``scipy.sparse`` matrix or array — and optional targets y (labels (n,) or real targets (n, n_out)), prepared for
    networks of ``dtype``. ``layout``: "auto" (by density), "sparse" or "dense".

    ``sample_weight`` (n,): each sample's weight in the cost and its gradient
    (``Network.fit``, ``cost``, ``gradient``, ...), None: all 1.

    Attributes: n, n_in, dtype, layout, density, y (as given, or None),
    sample_weight ((n,) of dtype, or None).
    """
    X: Any    # the dense layout's (n, n_in) array of dtype, else None
    csr: Any  # the CSR rows (indptr, indices, values): the sparse layout's, or made on first use; else None

    def __init__(self, X: ArrayLike, y: ArrayLike | None = None, *, dtype: str | np.dtype | type = "float32",
                 layout: Literal["auto", "sparse", "dense"] = "auto", n_in: int | None = None,
                 name: str = "X", sample_weight: ArrayLike | None = None) -> None:
        self.dtype = as_dtype(dtype)
        layout = choice("layout", layout, LAYOUTS)
        self.y = y
        self.Y: NDArray | None = None  # targets for a network, set by ``for_targets``
        self.columns_checked = False  # CSR column numbers checked against a network
        if scipy.sparse.issparse(X):
            self._from_sparse(X, layout, n_in, name)
        else:
            self._from_array(X, layout, n_in, name)
        self.sample_weight = as_sample_weight("sample_weight", sample_weight, self.n, self.dtype)

    def _from_array(self, X: Any, layout: str, n_in: int | None, name: str) -> None:
        """Take an array X: checked, then kept dense or made CSR rows by ``layout``."""
        if not isinstance(X, np.ndarray):
            try:
                X = np.asarray(X)
            except ValueError:  # ragged rows: let as_inputs say so in fastnet's words
                as_inputs(name, X, n_in or 0, self.dtype)
                raise
        if n_in is None:
            n_in = X.shape[1] if X.ndim == 2 else (X.shape[0] if X.ndim == 1 else 0)
        pixels = X.dtype == np.uint8 and X.ndim == 2 and X.shape[0] > 0
        if pixels:
            as_inputs(name, X[:1], n_in, self.dtype)  # the shape checks, on one row
        else:
            X = as_inputs(name, X, n_in, self.dtype, finite=False)  # checked below
        X = np.ascontiguousarray(X)
        self.n, self.n_in = X.shape
        counts, norms = counts_and_norms(X)  # one read of X for all three
        if np.isnan(norms).any():
            raise not_finite(name, self.dtype)
        self._heaviest = int(np.argmax(norms))
        self.density = counts[-1] / max(X.size, 1)
        if layout == "auto":
            layout = "dense" if self.density >= DENSE_FROM else "sparse"
        self.layout = layout
        if layout == "dense":
            self.X = as_inputs(name, X, n_in, self.dtype) if pixels else X
            self.csr = None
        else:
            self.X = None
            self.csr = to_csr(X, self.dtype, 255 if pixels else 1, counts)

    def _from_sparse(self, X: Any, layout: str, n_in: int | None, name: str) -> None:
        """Take a ``scipy.sparse`` X as CSR rows without a dense copy: indices
        sorted within each row, duplicates summed, explicit zeros dropped (the
        rows ``to_csr`` makes of the same values, so both train alike); uint8
        values scaled to [0, 1] as dense pixels are."""
        n, d = X.shape
        n_in = d if n_in is None else n_in
        if X.dtype != np.uint8 and X.dtype.kind != "f":
            raise TypeError(f"{name}: expected a sparse matrix of floats or uint8, got dtype "
                            f"{X.dtype}; pass {name}.astype('float32') (features as they are) "
                            f"or {name}.astype('uint8') (0..255 pixels, scaled to [0, 1])")
        if d != n_in:
            raise ValueError(f"{name}: expected shape (n, {n_in}) for a network with {n_in} "
                             f"inputs, got a sparse matrix of shape {X.shape}")
        if n == 0:
            raise ValueError(f"{name}: is empty (0 samples); pass at least one sample")
        X = X.tocsr()  # no copy for CSR; CSC, COO, ... converted once
        if not X.has_canonical_format or not X.data.all():
            X = X.copy()  # the caller's matrix stays as it was
            X.sum_duplicates()  # also sorts the indices
            X.eliminate_zeros()
        with np.errstate(over="ignore"):  # too large for dtype becomes inf, caught below
            values = (X.data.astype(self.dtype) / self.dtype.type(255) if X.dtype == np.uint8
                      else X.data.astype(self.dtype, copy=False))
        if not np.isfinite(values).all():
            raise not_finite(name, self.dtype)
        self.n, self.n_in = n, n_in
        self.csr = (X.indptr.astype(np.int64), X.indices.astype(index_dtype(n_in)), values)
        self.density = values.shape[0] / max(n * n_in, 1)
        self.X, self.layout = None, "sparse"
        if layout == "dense" or layout == "auto" and self.density >= DENSE_FROM:
            self.X, self.csr, self.layout = self.toarray(), None, "dense"

    @property
    def dense(self) -> bool:
        return self.layout == "dense"

    def for_targets(self, Y: NDArray) -> Dataset:
        """A shallow copy that shares the inputs and holds targets Y (n, n_out)."""
        copy = object.__new__(Dataset)
        copy.__dict__.update(self.__dict__)
        copy.Y = Y
        return copy

    def take(self, rows: Any) -> Dataset:
        """A Dataset of the samples ``rows`` (anything that indexes an (n,) array:
        integers, a range, a slice, a boolean mask), same layout, targets included."""
        rows = np.arange(self.n)[rows]
        if rows.ndim != 1:
            raise IndexError(f"rows: expected a 1-D selection of samples, got shape {rows.shape}")
        part = object.__new__(Dataset)
        part.__dict__.update(self.__dict__)
        part.__dict__.pop("_splits", None)
        part.__dict__.pop("_heaviest", None)
        part.__dict__.pop("_longest", None)
        part.n = len(rows)
        if self.dense:
            part.X = np.ascontiguousarray(self.X[rows])
        else:
            indptr = self.csr[0]
            starts, lengths = indptr[rows], indptr[rows + 1] - indptr[rows]
            new = np.zeros(len(rows) + 1, dtype=indptr.dtype)
            np.cumsum(lengths, out=new[1:])
            picked = np.repeat(starts - new[:-1], lengths) + np.arange(new[-1])
            part.csr = (new, self.csr[1][picked], self.csr[2][picked])
        for name in ("Y", "y", "sample_weight"):
            value = getattr(self, name)
            if value is not None:
                setattr(part, name, np.asarray(value)[rows])
        return part

    def toarray(self) -> NDArray[np.floating]:
        """The inputs as an (n, n_in) array of ``dtype``, uint8 pixels scaled to
        [0, 1]: the dense layout's own array, or a new one made from the CSR rows."""
        if self.dense:
            return self.X
        indptr, indices, values = self.csr
        X = np.zeros((self.n, self.n_in), self.dtype)
        X[np.repeat(np.arange(self.n), np.diff(indptr)), indices] = values
        return X

    def record(self) -> tuple:
        """The kernels' ``Inputs`` record (``kernels/train.py``)."""
        Y = self.Y if self.Y is not None else np.empty((0, 0), self.dtype)
        if self.dense:
            return dense_inputs(self.X, Y, self.sample_weight)
        return sparse_inputs(*self.csr, Y, self.sample_weight)

    @property
    def weight_total(self) -> float:
        """Σ sample_weight (n without weights): what a weighted mean divides by."""
        return self.n if self.sample_weight is None else float(self.sample_weight.sum(dtype=np.float64))

    # CSR views for kernels that read CSR only (kernels/curvature.py): a dense
    # Dataset converts once, on first use.
    @property
    def indptr(self) -> NDArray[np.int64]:
        return self._sparse()[0]

    @property
    def indices(self) -> NDArray[np.int32]:
        return self._sparse()[1]

    @property
    def values(self) -> NDArray[np.floating]:
        return self._sparse()[2]

    def row_splits(self, threads: int) -> NDArray[np.int64]:
        """(threads+1,) int64 input columns that cut the data's non-zeros into
        ``threads`` near-equal shares (thread t's rows of the first layer's
        weights: ``kernels/threads.py``), counted on every ``SPLIT_STRIDE``-th
        non-zero (a share of a few per cent off costs little; counting all of
        MNIST's 9.4 million took 35 ms)."""
        if getattr(self, "_splits", (None,))[0] != threads:
            counts = np.bincount(self._sparse()[1][::SPLIT_STRIDE], minlength=self.n_in)
            running = np.concatenate([[0], np.cumsum(counts)])
            shares = running[-1] * np.arange(threads + 1) // threads
            splits = np.minimum(np.searchsorted(running, shares), self.n_in).astype(np.int64)
            splits[0], splits[-1] = 0, self.n_in
            self._splits = threads, np.maximum.accumulate(splits)
        return self._splits[1]

    def longest_row(self) -> int:
        """The most non-zeros in one row of the CSR layout (0 for none): the
        scratch a wide first layer's step needs per sample (``kernels/columns.py``)."""
        if not hasattr(self, "_longest"):
            indptr = self._sparse()[0]
            self._longest = int(np.diff(indptr).max()) if self.n else 0
        return self._longest

    def heaviest_row(self) -> int:
        """The index of the row of largest L1 norm (summed in float64; a sum
        that overflows even that is inf, which wins): the sample most likely
        to overflow a network, which every ``fit`` checks first.  Found once
        per Dataset, by the same pass that counts the non-zeros."""
        if not hasattr(self, "_heaviest"):
            if self.dense:
                norms = counts_and_norms(self.X)[1]
            else:
                indptr, _, values = self.csr
                norms = np.empty(self.n)
                row_norms(indptr, values, norms)
            self._heaviest = int(np.argmax(norms))
        return self._heaviest

    def _sparse(self) -> tuple[NDArray, NDArray, NDArray]:
        if self.csr is None:
            self.csr = to_csr(self.X)
        return self.csr

    @property
    def nbytes(self) -> int:
        """Bytes held for the inputs (not counting a caller's array used in place)."""
        return sum(a.nbytes for a in self.csr or ()) + (0 if self.X is None else self.X.nbytes)

    def __repr__(self) -> str:
        return (f"Dataset(n={self.n}, n_in={self.n_in}, dtype={self.dtype.name!r}, "
                f"layout={self.layout!r}, density={self.density:.3f}, "
                f"targets={'yes' if self.y is not None else 'no'})")
