"""Expansion and distortion: exact shifts, geometry of the warp, determinism, range, centre of mass."""

import time

import numpy as np
import pytest

import fastnet.data.augment as augment_module
from fastnet import Distort, expand, read_idx
from fastnet.data import shift_images, warp_images
from data_files import real_test_slice


@pytest.fixture(scope="module")
def digits(mnist_dir):
    """300 real test images as float32 (300, 784) in [0, 1] and their labels."""
    images, labels = real_test_slice(mnist_dir, 300)
    return images.reshape(300, 784) / np.float32(255), labels.astype(np.int64)


def _rolled(X, rows, cols):
    """Reference shift: np.roll, then zero the rows / columns that wrapped around."""
    images = np.roll(X.reshape(-1, 28, 28), (rows, cols), axis=(1, 2)).copy()
    if rows > 0:
        images[:, :rows] = 0
    elif rows < 0:
        images[:, rows:] = 0
    if cols > 0:
        images[:, :, :cols] = 0
    elif cols < 0:
        images[:, :, cols:] = 0
    return images.reshape(X.shape)


def _centres_of_mass(X):
    """(n, 2) row and column centres of mass of (n, 784) images."""
    images = X.reshape(len(X), 28, 28).astype(np.float64)
    mass = images.sum(axis=(1, 2))
    grid = np.arange(28)
    return np.stack([(images.sum(2) * grid).sum(1) / mass, (images.sum(1) * grid).sum(1) / mass], axis=1)


@pytest.mark.parametrize("rows, cols", [(1, 0), (-1, 0), (0, 1), (0, -1), (2, -3), (28, 0)])
def test_shift_images_is_a_roll_with_zero_fill(digits, rows, cols):
    X, _ = digits
    shifted = shift_images(X, rows, cols)
    np.testing.assert_array_equal(shifted, _rolled(X, rows, cols))
    if rows == 1:
        assert not shifted.reshape(-1, 28, 28)[:, 0].any()
        np.testing.assert_array_equal(shifted.reshape(-1, 28, 28)[:, 1:], X.reshape(-1, 28, 28)[:, :-1])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_expand_is_the_books_five_blocks(digits, dtype):
    X, y = digits[0].astype(dtype), digits[1]
    X_big, y_big = expand(X, y)
    n = len(X)
    assert X_big.shape == (5 * n, 784) and X_big.dtype == dtype and X_big.flags.c_contiguous
    np.testing.assert_array_equal(X_big[:n], X)
    for block, (rows, cols) in enumerate([(1, 0), (-1, 0), (0, 1), (0, -1)], start=1):
        np.testing.assert_array_equal(X_big[block * n:(block + 1) * n], _rolled(X, rows, cols))
    np.testing.assert_array_equal(y_big, np.tile(y, 5))


def test_expand_with_rotations_and_distortions(digits):
    X, y = digits
    X_big, y_big = expand(X, y, shift=0, rotations=2, distortions=1, seed=3)
    n = len(X)
    assert X_big.shape == (4 * n, 784) and y_big.shape == (4 * n,)
    np.testing.assert_array_equal(X_big[:n], X)
    assert 0.0 <= X_big.min() and X_big.max() <= 1.0
    rotated_a, rotated_b, elastic = X_big[n:2 * n], X_big[2 * n:3 * n], X_big[3 * n:]
    assert not np.array_equal(rotated_a, rotated_b)
    for block in (rotated_a, rotated_b, elastic):
        assert not np.array_equal(block, X)
        moved = np.linalg.norm(_centres_of_mass(block) - _centres_of_mass(X), axis=1)
        assert moved.mean() < 1.0 and np.percentile(moved, 95) < 2.0
    again, _ = expand(X, y, shift=0, rotations=2, distortions=1, seed=3)
    np.testing.assert_array_equal(again, X_big)
    other_seed, _ = expand(X, y, shift=0, rotations=2, distortions=1, seed=4)
    assert not np.array_equal(other_seed[n:], X_big[n:])


def test_warp_with_nothing_to_do_is_exact(digits):
    images = digits[0].reshape(-1, 28, 28)
    n = len(images)
    np.testing.assert_array_equal(warp_images(images, np.zeros(n), np.zeros((n, 2))), images)


def test_warp_by_whole_pixels_equals_shift(digits):
    images = digits[0].reshape(-1, 28, 28)
    n = len(images)
    offsets = np.tile([2.0, -1.0], (n, 1))
    warped = warp_images(images, np.zeros(n), offsets)
    np.testing.assert_array_equal(warped.reshape(n, 784), _rolled(digits[0], 2, -1))


def test_warp_by_90_degrees_turns_clockwise(digits):
    images = digits[0].reshape(-1, 28, 28)
    warped = warp_images(images, np.full(len(images), 90.0), np.zeros((len(images), 2)))
    np.testing.assert_allclose(warped, np.rot90(images, k=-1, axes=(1, 2)), atol=1e-6)


def test_distort_returns_a_fresh_copy_in_range(digits):
    X, y = digits
    before = X.copy()
    X_epoch, y_epoch = Distort(seed=1)(X, y, 0)
    np.testing.assert_array_equal(X, before)  # the input is not touched
    assert X_epoch.shape == X.shape and X_epoch.dtype == X.dtype and X_epoch.flags.c_contiguous
    assert not np.shares_memory(X_epoch, X)
    assert y_epoch is y
    assert 0.0 <= X_epoch.min() and X_epoch.max() <= 1.0
    assert not np.array_equal(X_epoch, X)


def test_distort_is_deterministic_in_seed_and_epoch(digits):
    X, y = digits
    first = Distort(seed=7)(X, y, 3)[0]
    resumed = Distort(seed=7)(X, y, 3)[0]  # a new instance, as after a restart
    np.testing.assert_array_equal(first, resumed)
    assert not np.array_equal(first, Distort(seed=7)(X, y, 4)[0])
    assert not np.array_equal(first, Distort(seed=8)(X, y, 3)[0])


def test_distort_does_not_depend_on_chunking_or_later_images(digits, monkeypatch):
    X, y = digits
    whole = Distort(seed=2)(X, y, 1)[0]
    monkeypatch.setattr(augment_module, "CHUNK_IMAGES", 7)
    np.testing.assert_array_equal(Distort(seed=2)(X, y, 1)[0], whole)
    np.testing.assert_array_equal(Distort(seed=2)(X[:50], y[:50], 1)[0], whole[:50])


def test_distort_float64_stays_in_range(digits):
    X, y = digits[0].astype(np.float64), digits[1]
    X_epoch, _ = Distort(seed=0, rotation=15.0, elastic_alpha=40.0, shift=2.0)(X, y, 0)
    assert X_epoch.dtype == np.float64
    assert 0.0 <= X_epoch.min() and X_epoch.max() <= 1.0


def test_distort_without_randomness_is_the_identity(digits):
    X, y = digits
    identity = Distort(rotation=0.0, elastic_alpha=0.0, shift=0.0)
    np.testing.assert_array_equal(identity(X, y, 5)[0], X)


@pytest.mark.parametrize("kwargs, bound", [
    ({"rotation": 0.0, "elastic_alpha": 0.0}, np.sqrt(2) + 1e-6),  # shift only: at most the offset
    ({"shift": 0.0, "elastic_alpha": 0.0}, 1.0),  # rotation only, about the image centre
    ({"shift": 0.0, "rotation": 0.0}, 2.0),  # elastic only
    ({}, 2.5),  # all three, the defaults
])
def test_distort_keeps_the_centre_of_mass_in_place(digits, kwargs, bound):
    X, y = digits
    X_epoch, _ = Distort(seed=0, **kwargs)(X, y, 0)
    moved = np.linalg.norm(_centres_of_mass(X_epoch) - _centres_of_mass(X), axis=1)
    assert np.percentile(moved, 95) < bound
    assert moved.mean() < 1.5
    mass_ratio = X_epoch.sum(1) / X.sum(1)
    assert 0.5 < mass_ratio.min() and mass_ratio.max() < 2.0


CIRESAN = dict(rotation=15.0, scale=0.15, shear=15.0, elastic_alpha=36.0, elastic_sigma=6.0)


def _spread(X):
    """(n, 2) standard deviations of each image's pixel mass along rows and columns."""
    images = X.reshape(len(X), 28, 28).astype(np.float64)
    grid = np.arange(28.0)
    spreads = []
    for profile in (images.sum(2), images.sum(1)):
        mass = profile.sum(1, keepdims=True)
        mean = (profile * grid).sum(1, keepdims=True) / mass
        spreads.append(np.sqrt((profile * (grid - mean) ** 2).sum(1) / mass[:, 0]))
    return np.stack(spreads, axis=1)


def test_affine_geometry_scales_and_shears_a_line():
    line = np.zeros((1, 28, 28), dtype=np.float32)
    line[0, 4:24, 14] = 1.0  # a vertical stroke, column 14 (0.5 right of the centre)
    no_rotation = augment_module._rotations(np.zeros(1))
    sheared = augment_module._resample(line, augment_module._affine(no_rotation, np.ones((1, 2)),
                                                                    np.array([20.0])), np.zeros((1, 2)))
    for row in range(6, 22):  # each row's ink moves tan(20°)·(row - centre) columns
        ink = sheared[0, row]
        assert (ink * np.arange(28)).sum() / ink.sum() == \
            pytest.approx(14 + np.tan(np.deg2rad(20)) * (row - 13.5), abs=1e-4)
    taller = augment_module._resample(line, augment_module._affine(no_rotation, np.array([[1.2, 1.0]]),
                                                                   np.zeros(1)), np.zeros((1, 2)))
    assert _spread(taller.reshape(1, 784))[0, 0] == pytest.approx(1.2 * _spread(line.reshape(1, 784))[0, 0],
                                                                  rel=0.02)


def test_scale_and_shear_draws_stay_within_their_ranges(digits):
    X, y = digits
    wide = (_spread(X) > 3).all(1)  # bilinear blur widens thin strokes (a "1") noticeably
    ratio = _spread(Distort(seed=4, rotation=0.0, elastic_alpha=0.0, shift=0.0, scale=0.2)(X, y, 0)[0]) \
        / _spread(X)
    ratio = ratio[wide]
    assert wide.sum() > 200 and 0.75 < ratio.min() and ratio.max() < 1.25  # factors in [0.8, 1.2]
    assert ratio.std(axis=0).min() > 0.07  # spread over the range (uniform: 0.2/sqrt(3) = 0.115)
    assert abs(np.corrcoef(ratio.T)[0, 1]) < 0.3  # rows and columns scaled independently
    sheared = Distort(seed=4, rotation=0.0, elastic_alpha=0.0, shift=0.0, shear=20.0)(X, y, 0)[0]
    rows = _centres_of_mass(sheared)[:, 0] - _centres_of_mass(X)[:, 0]
    # A horizontal shear leaves each row's ink in its row (unless some leaves the image).
    assert np.median(np.abs(rows)) < 1e-6 and np.abs(rows).max() < 0.1
    assert not np.allclose(_spread(sheared)[:, 1], _spread(X)[:, 1], rtol=0.02)


def test_ciresans_deformations_move_digits_a_bounded_amount_and_keep_their_mass(digits):
    X, y = digits
    X_epoch = Distort(seed=0, **CIRESAN)(X, y, 0)[0]
    moved = np.linalg.norm(_centres_of_mass(X_epoch) - _centres_of_mass(X), axis=1)
    assert 0.2 < moved.mean() < 2.0 and np.percentile(moved, 95) < 3.5
    mass_ratio = X_epoch.sum(1) / X.sum(1)
    assert abs(mass_ratio.mean() - 1) < 0.05 and 0.6 < mass_ratio.min() and mass_ratio.max() < 1.6


def test_ciresans_deformations_keep_the_digits_recognisable(digits, mnist_dir):
    """A nearest-class-mean classifier (no training) still reads most distorted digits;
    turning them by 90 degrees, which changes the digit, is what it cannot read."""
    X, y = digits
    train = read_idx(mnist_dir / "train-images-idx3-ubyte.gz")[:5000].reshape(5000, 784) / np.float32(255)
    labels = read_idx(mnist_dir / "train-labels-idx1-ubyte.gz")[:5000]
    means = np.stack([train[labels == digit].mean(0) for digit in range(10)])

    def accuracy(images):
        return np.mean(((images[:, None, :] - means) ** 2).sum(-1).argmin(1) == y)

    clean = accuracy(X)
    assert accuracy(Distort(seed=0, **CIRESAN)(X, y, 0)[0]) > max(0.5, clean - 0.25)
    assert accuracy(Distort(seed=0, rotation=90.0)(X, y, 0)[0]) < 0.45


def test_affine_distortions_are_reproducible_from_seed_and_epoch(digits, monkeypatch):
    X, y = digits
    first = Distort(seed=5, **CIRESAN)(X, y, 2)[0]
    np.testing.assert_array_equal(Distort(seed=5, **CIRESAN)(X, y, 2)[0], first)
    assert not np.array_equal(Distort(seed=5, **CIRESAN)(X, y, 3)[0], first)
    monkeypatch.setattr(augment_module, "CHUNK_IMAGES", 7)
    np.testing.assert_array_equal(Distort(seed=5, **CIRESAN)(X[:40], y[:40], 2)[0], first[:40])


@pytest.mark.parametrize("call, error, message", [
    (lambda X, y: Distort(scale=0.6), ValueError, r"scale: 0.6 is out of range; pass a finite number in \[0, 0.5\]"),
    (lambda X, y: Distort(scale=-0.1), ValueError, r"scale: -0.1 is out of range"),
    (lambda X, y: Distort(shear=50), ValueError, r"shear: 50.0 is out of range; pass a finite number in \[0, 45\]"),
    (lambda X, y: Distort(shear="15"), TypeError, "shear: expected a number"),
    (lambda X, y: expand(X.tolist(), y), TypeError, "X: expected a NumPy array"),
    (lambda X, y: expand((X * 255).astype(np.uint8), y), TypeError, "float32 or float64 pixels"),
    (lambda X, y: expand(X[:, :780], y), ValueError, r"shape \(n, side\*side\)"),
    (lambda X, y: expand(X, y[:-1]), ValueError, r"y: expected shape \(300,\)"),
    (lambda X, y: expand(X, y, rotations=-1), ValueError, "rotations: .*an integer >= 0"),
    (lambda X, y: expand(X, y, shift=1.5), TypeError, "shift: .*an integer >= 0"),
    (lambda X, y: expand(X, y, distortions=True), TypeError, "distortions: .*an integer >= 0"),
    (lambda X, y: expand(X, y, shift=28), ValueError, r"shift: expected less than the image side \(28\)"),
    (lambda X, y: expand(X, y, elastic_sigma=0), ValueError, r"elastic_sigma: 0.0 is out of range; pass .* in \(0"),
    (lambda X, y: Distort(rotation=float("nan")), ValueError, r"rotation: nan is out of range; pass a finite number in \[0"),
    (lambda X, y: Distort(seed=-1), ValueError, "seed: .*an integer >= 0"),
    (lambda X, y: Distort(shift="1"), TypeError, "shift: expected a number"),
    (lambda X, y: Distort()(X, y, -1), ValueError, "epoch: .*an integer >= 0"),
    (lambda X, y: Distort()(X, y, 1.0), TypeError, "epoch: .*an integer >= 0"),
])
def test_bad_arguments_are_named(digits, call, error, message):
    with pytest.raises(error, match=message):
        call(*digits)


def test_distorting_the_whole_training_set_takes_seconds(mnist_dir, capsys):
    """One distorted epoch of the 50,000 book training images (the only whole-set test)."""
    images = read_idx(mnist_dir / "train-images-idx3-ubyte.gz")[:50000]
    X_train = images.reshape(50000, 784) / np.float32(255)
    labels = np.zeros(50000, dtype=np.int64)
    start = time.perf_counter()
    X_epoch, _ = Distort(seed=0)(X_train, labels, 0)
    seconds = time.perf_counter() - start
    assert X_epoch.shape == (50000, 784) and 0.0 <= X_epoch.min() and X_epoch.max() <= 1.0
    moved = np.linalg.norm(_centres_of_mass(X_epoch[::10]) - _centres_of_mass(X_train[::10]), axis=1)
    assert moved.mean() < 1.5
    with capsys.disabled():
        print(f"\n[distort 50,000 images: {seconds:.2f} s]", end=" ")
    assert seconds < 60, "distorting 50,000 images should take seconds, not minutes"
