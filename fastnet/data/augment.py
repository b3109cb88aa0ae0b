"""More training images from the ones you have: the book's shifts, rotations, elastic distortions.

* ``expand(X, y)``: Nielsen's ``expand_mnist.py``: every image plus four
  copies moved one pixel down, up, right and left (50,000 -> 250,000),
  optionally plus randomly rotated and elastically distorted copies.
* ``Distort``: a callable for ``Network.fit(..., augment=...)`` that returns
  a freshly distorted copy of the training set each epoch, so no variant is
  kept in memory. Deterministic in ``(seed, epoch)``.

Images are rows of ``X``, shape (n, side*side) with side = 28 for MNIST. A
distortion resamples each image at displaced coordinates with bilinear
interpolation and zero outside the image (``scipy.ndimage.map_coordinates``).
Output pixels are convex combinations of input pixels and zero, so data in
[0, 1] stays in [0, 1]. Elastic displacement fields follow Simard, Steinkraus
& Platt (2003): uniform noise in [-1, 1], smoothed by a Gaussian of width
``elastic_sigma`` pixels, scaled by ``elastic_alpha`` pixels. The defaults
(alpha 36, sigma 6) are in the range Ciresan et al. (2010) used for MLPs;
Simard's alpha 34, sigma 4 is stronger (moves a digit's centre of mass about
1.2 pixels on average against 0.85). The smoothing is done as two small
matrix products per image, much faster than filtering each field.
"""
from __future__ import annotations

import math

from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ..checks import integer, real
from ..kernels.tunables import CHUNK_IMAGES

# The book's four shifts as (rows, cols): down, up, right, left.
BOOK_SHIFTS = ((1, 0), (-1, 0), (0, 1), (0, -1))
# The largest scale (relative change of size) and shear (degrees) Distort
# takes: beyond them a digit shrinks to a point or leans flat.
MAX_SCALE, MAX_SHEAR = 0.5, 45.0
# Entropy tags that keep expand()'s rotated and elastic copies independent.
_ROTATED, _ELASTIC = 1, 2


def shift_images(X: NDArray, rows: int, cols: int) -> NDArray:
    """Return a new (n, side*side) array: each image moved ``rows`` down and ``cols`` right.

    Negative values move up / left; pixels shifted in from outside are zero.
    """
    images = _square_images(X, "X")
    out = np.zeros_like(images)
    _shift_into(out, images, rows, cols)
    return out.reshape(X.shape)


def _shift_into(out, images, rows, cols):
    """Write ``images`` (n, side, side) moved by (rows, cols) into zeroed ``out`` (same shape)."""
    side = images.shape[1]
    if abs(rows) >= side or abs(cols) >= side:
        return
    out[:, max(rows, 0):side + min(rows, 0), max(cols, 0):side + min(cols, 0)] = \
        images[:, max(-rows, 0):side - max(rows, 0), max(-cols, 0):side - max(cols, 0)]


def warp_images(images: NDArray, angles: ArrayLike, offsets: ArrayLike, displacements: NDArray | None = None,
                out: NDArray | None = None) -> NDArray:
    """Resample ``images`` (n, side, side): rotate by ``angles``, move by ``offsets``, then displace.

    Output pixel p takes the input at ``c + R(angle) (p - c) - offset +
    displacement[p]`` (c: the image centre), bilinearly, zero outside.
    ``angles``: (n,) degrees; ``offsets``: (n, 2) pixels (rows, cols), positive
    = down / right; ``displacements``: (n, 2, side, side) pixels or None.
    Writes into and returns ``out`` (n, side, side), new if None.
    """
    return _resample(images, _rotations(angles), offsets, displacements, out)


def _rotations(angles):
    """(n, 2, 2) rotation matrices R(angle) on (row, col) offsets, angles in degrees."""
    radians = np.deg2rad(np.asarray(angles, dtype=np.float64))
    cos, sin = np.cos(radians), np.sin(radians)
    return np.stack([np.stack([cos, -sin], -1), np.stack([sin, cos], -1)], -2)


def _resample(images, matrices, offsets, displacements=None, out=None):
    """``warp_images`` with any (n, 2, 2) ``matrices`` A in place of R(angle):
    output pixel p takes the input at ``c + A (p - c) - offset + displacement[p]``,
    all in one bilinear resampling."""
    from scipy import ndimage  # imported on use: it adds ~0.3 s to `import fastnet`

    count, side = images.shape[0], images.shape[1]
    if out is None:
        out = np.empty_like(images)
    centre = (side - 1) / 2.0
    grid = np.arange(side, dtype=np.float64) - centre
    matrices = np.asarray(matrices, dtype=np.float64)[:, :, :, None, None]
    offsets = np.asarray(offsets, dtype=np.float64)
    coordinates = np.empty((2, count, side, side))
    rows, cols = coordinates
    np.multiply(matrices[:, 0, 0], grid[:, None], out=rows)
    rows += matrices[:, 0, 1] * grid
    rows += centre - offsets[:, 0, None, None]
    np.multiply(matrices[:, 1, 0], grid[:, None], out=cols)
    cols += matrices[:, 1, 1] * grid
    cols += centre - offsets[:, 1, None, None]
    if displacements is not None:
        coordinates += np.moveaxis(displacements, 1, 0)
    # Stack the images, each framed by one row / column of zeros, into one 2-D
    # array, and clamp coordinates into each image's frame: bilinear sampling
    # then fades to zero across the border and never reaches a neighbour.
    # (Twice as fast as a 3-D map_coordinates over the image stack.)
    framed = np.zeros((count, side + 2, side + 2), dtype=images.dtype)
    framed[:, 1:-1, 1:-1] = images
    np.clip(coordinates, -1.0, side, out=coordinates)
    coordinates += 1.0
    rows += (np.arange(count) * (side + 2.0))[:, None, None]
    ndimage.map_coordinates(framed.reshape(count * (side + 2), side + 2), coordinates,
                            output=out, order=1, mode="nearest")
    return out


def elastic_displacements(rng, count, side, alpha, sigma):
    """Simard's random displacement fields: (count, 2, side, side) float32 pixels.

    Uniform noise in [-1, 1], Gaussian-smoothed with width ``sigma`` (zero
    beyond the border), scaled by ``alpha``.
    """
    noise = rng.random((count, 2, side, side), dtype=np.float32)
    noise *= 2
    noise -= 1
    smoothing = _gaussian_matrix(side, sigma)
    return alpha * (smoothing @ noise @ smoothing.T)


def _gaussian_matrix(side, sigma):
    """The (side, side) matrix G with G @ v == gaussian_filter1d(v, sigma, mode='constant')."""
    from scipy import ndimage  # imported on use, as in warp_images
    identity = np.eye(side, dtype=np.float64)
    return ndimage.gaussian_filter1d(identity, sigma, axis=0, mode="constant").astype(np.float32)


def _distort_into(out, images, entropy, rotation, elastic_alpha, elastic_sigma, shift,
                  scale=0.0, shear=0.0):
    """Write randomly distorted ``images`` (n, side, side) into ``out``; deterministic in ``entropy``.

    Angles, offsets, displacement fields, scale factors and shears come from
    five independent streams of ``np.random.SeedSequence(entropy)``, drawn
    image by image, so an image's distortion does not depend on the chunking
    or on later images (and, with scale and shear 0, equals what fastnet drew
    before they existed).  The affine part and the elastic field make one
    resampling per image.
    """
    count, side = images.shape[0], images.shape[1]
    angle_seed, offset_seed, field_seed, scale_seed, shear_seed = np.random.SeedSequence(entropy).spawn(5)
    angles = np.random.default_rng(angle_seed).uniform(-rotation, rotation, count)
    offsets = np.random.default_rng(offset_seed).uniform(-shift, shift, (count, 2))
    matrices = _rotations(angles)
    if scale > 0 or shear > 0:
        matrices = _affine(matrices, np.random.default_rng(scale_seed).uniform(1 - scale, 1 + scale, (count, 2)),
                           np.random.default_rng(shear_seed).uniform(-shear, shear, count))
    field_rng = np.random.default_rng(field_seed)
    for start in range(0, count, CHUNK_IMAGES):
        stop = min(start + CHUNK_IMAGES, count)
        displacements = None
        if elastic_alpha > 0:
            displacements = elastic_displacements(field_rng, stop - start, side, elastic_alpha, elastic_sigma)
        _resample(images[start:stop], matrices[start:stop], offsets[start:stop],
                  displacements, out=out[start:stop])
    # Bilinear weights sum to 1 only up to rounding: keep values inside the input's range.
    low, high = min(0.0, float(images.min(initial=0.0))), max(0.0, float(images.max(initial=0.0)))
    np.clip(out, low, high, out=out)


def _affine(rotations, factors, shears):
    """Sampling matrices of images scaled by ``factors`` (n, 2) (rows, cols),
    sheared horizontally by ``shears`` (n,) degrees, then rotated by
    ``rotations`` (n, 2, 2): the inverse map, output pixel -> input pixel."""
    unshear = np.zeros((len(shears), 2, 2))
    unshear[:, 0, 0] = unshear[:, 1, 1] = 1.0
    unshear[:, 1, 0] = -np.tan(np.deg2rad(shears))  # a sheared image moves row r by tan·r columns
    return (1.0 / factors)[:, :, None] * (unshear @ rotations)


def expand(X: NDArray, y: ArrayLike, *, shift: int = 1, rotations: int = 0, distortions: int = 0,
           max_angle: float = 10.0, elastic_alpha: float = 36.0, elastic_sigma: float = 6.0,
           seed: int = 0) -> tuple[NDArray, NDArray]:
    """The book's expanded training set, optionally with rotated and elastic copies.

    ``X``: (n, side*side) float32/float64 images, ``y``: (n,) labels. Returns
    ``(X_expanded, y_expanded)`` of (m*n, side*side) and (m*n,), in blocks of
    n images in this order: the originals; if ``shift`` > 0, the images moved
    ``shift`` pixels down, up, right and left (zero fill); ``rotations``
    blocks rotated by uniform random angles in [-max_angle, max_angle]
    degrees; ``distortions`` blocks of Simard elastic distortions
    (``elastic_alpha``, ``elastic_sigma`` in pixels). Labels repeat per block.
    Deterministic for a given ``seed``. With the defaults, 50,000 -> 250,000.
    """
    images = _square_images(X, "X")
    labels = _check_labels(y, len(images))
    shift = integer("shift", shift)
    rotations = integer("rotations", rotations)
    distortions = integer("distortions", distortions)
    max_angle = _check_amount("max_angle", max_angle)
    elastic_alpha = _check_amount("elastic_alpha", elastic_alpha)
    elastic_sigma = _check_amount("elastic_sigma", elastic_sigma, positive=True)
    seed = integer("seed", seed)
    if shift >= images.shape[1]:
        raise ValueError(
            f"shift: expected less than the image side ({images.shape[1]}), got {shift}; "
            "pass 1 as the book does (0 leaves the shifted copies out)"
        )
    shifts = BOOK_SHIFTS if shift else ()
    blocks = np.zeros((1 + len(shifts) + rotations + distortions, *images.shape), dtype=images.dtype)
    blocks[0] = images
    for block, (rows, cols) in zip(blocks[1:], shifts):
        _shift_into(block, images, rows * shift, cols * shift)
    first_rotated = 1 + len(shifts)
    for copy in range(rotations):
        _distort_into(blocks[first_rotated + copy], images, (seed, _ROTATED, copy),
                      max_angle, 0.0, elastic_sigma, 0.0)
    first_elastic = first_rotated + rotations
    for copy in range(distortions):
        _distort_into(blocks[first_elastic + copy], images, (seed, _ELASTIC, copy),
                      0.0, elastic_alpha, elastic_sigma, 0.0)
    return blocks.reshape(-1, images.shape[1] * images.shape[2]), np.tile(labels, len(blocks))


class Distort:
    """Per-epoch random distortion of the training set, for ``Network.fit(..., augment=Distort())``.

    Each image is scaled by uniform factors in [1 - scale, 1 + scale] along
    each axis, sheared horizontally by a uniform angle in [-shear, shear]
    degrees, rotated by a uniform angle in [-rotation, rotation] degrees,
    moved by uniform offsets in [-shift, shift] pixels along each axis, and
    elastically distorted (Simard: ``elastic_alpha``, ``elastic_sigma`` pixels;
    alpha 0 turns it off): the affine deformations of Ciresan et al. (2010) and
    the elastic field, in one bilinear resampling per image.  Called as
    ``augment(X, y, epoch)`` (once per epoch, by ``fit``), it returns
    ``(X_epoch, y)``: a new C-contiguous array of X's shape and dtype, and
    ``y`` itself, unchanged. The random draws come from
    ``np.random.SeedSequence((seed, epoch))`` (the seeding of
    ``np.random.default_rng((seed, epoch))``), so a resumed run sees exactly
    the same data for the same epoch.  ``fastnet.prefetch.Prefetch`` computes the
    next epoch's while the current one trains.
    """

    def __init__(self, seed: int | Sequence[int] = 0, *, rotation: float = 10.0, elastic_alpha: float = 36.0,
                 elastic_sigma: float = 6.0, shift: float = 1.0, scale: float = 0.0, shear: float = 0.0) -> None:
        self.seed = integer("seed", seed)
        self.rotation = _check_amount("rotation", rotation)
        self.elastic_alpha = _check_amount("elastic_alpha", elastic_alpha)
        self.elastic_sigma = _check_amount("elastic_sigma", elastic_sigma, positive=True)
        self.shift = _check_amount("shift", shift)
        self.scale = real("scale", scale, 0.0, MAX_SCALE)
        self.shear = real("shear", shear, 0.0, MAX_SHEAR)

    def __repr__(self) -> str:
        return (f"Distort(seed={self.seed}, rotation={self.rotation}, "
                f"elastic_alpha={self.elastic_alpha}, elastic_sigma={self.elastic_sigma}, "
                f"shift={self.shift}, scale={self.scale}, shear={self.shear})")

    def __call__(self, X: NDArray, y: ArrayLike, epoch: int) -> tuple[NDArray, ArrayLike]:
        """Return ``(X_distorted, y)`` for this ``epoch``; X is (n, side*side) float32/float64."""
        images = _square_images(X, "X")
        _check_labels(y, len(images))
        epoch = integer("epoch", epoch)
        out = np.empty_like(images)
        _distort_into(out, images, (self.seed, epoch), self.rotation,
                      self.elastic_alpha, self.elastic_sigma, self.shift, self.scale, self.shear)
        return out.reshape(X.shape), y


def _square_images(X, name):
    """``X`` (n, side*side) float32/float64 viewed as C-contiguous (n, side, side) images."""
    if not isinstance(X, np.ndarray):
        raise TypeError(f"{name}: expected a NumPy array of images, shape (n, 784), got {type(X).__name__}")
    if X.dtype not in (np.float32, np.float64):
        raise TypeError(
            f"{name}: expected float32 or float64 pixels (e.g. from fastnet.load_mnist), "
            f"got {X.dtype}; pass X.astype(np.float32) / 255"
        )
    side = math.isqrt(X.shape[1]) if X.ndim == 2 else 0
    if X.ndim != 2 or side * side != X.shape[1] or side == 0:
        raise ValueError(
            f"{name}: expected shape (n, side*side), one flattened square image per "
            f"row, e.g. (n, 784) for MNIST, got shape {X.shape}"
        )
    return np.ascontiguousarray(X).reshape(len(X), side, side)


def _check_labels(y, count):
    """``y`` as a (count,) array."""
    labels = np.asarray(y)
    if labels.shape != (count,):
        raise ValueError(f"y: expected shape ({count},), one label per row of X, got shape {labels.shape}")
    return labels


def _check_amount(name, value, positive=False):
    """A finite non-negative (or positive) real argument, as float."""
    return real(name, value, 0.0, low_open=positive)
