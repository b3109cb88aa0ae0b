"""Time the data layer on the real MNIST files and print one line per measurement.

    python bench/time_data.py [FOLDER] [--repeat N]

FOLDER defaults to $FASTNET_DATA, else ../shared/data/mnist. Measures reading
the two IDX image files (70,000 images), loading everything with load_mnist
(book split, float32, labels and scaling included), the book's expansion of
the 50,000 training images to 250,000, one Distort epoch of those 50,000
(rotation, shift and elastic distortion), and one with Ciresan et al.'s affine
deformations added (scaling, horizontal shearing; still one resampling). Prints the best of N runs and every
run (the first also pays for fresh memory pages).
"""

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's fastnet

import fastnet  # noqa: E402


def _timed(function, repeat):
    """Wall-clock seconds of each of ``repeat`` calls of ``function``."""
    seconds = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        seconds.append(time.perf_counter() - start)
    return seconds


def main():
    default = os.environ.get("FASTNET_DATA") or Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist"
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", nargs="?", default=str(default))
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    print(f"cores: {os.cpu_count()}, load average: {os.getloadavg()[0]:.2f}")
    folder = Path(args.folder)
    image_files = [folder / "train-images-idx3-ubyte.gz", folder / "t10k-images-idx3-ubyte.gz"]
    _report("read_idx, the two image files (70,000 images, uint8)",
            lambda: [fastnet.read_idx(path) for path in image_files], args.repeat)
    loaded = []
    _report("load_mnist, all 70,000 images", lambda: loaded.append(fastnet.load_mnist(args.folder)), args.repeat)
    (X_train, y_train), _, _ = loaded[-1]
    _report("expand 50,000 -> 250,000 (book shifts)", lambda: fastnet.expand(X_train, y_train), args.repeat)
    _report("Distort, one epoch of 50,000", lambda: fastnet.Distort(seed=0)(X_train, y_train, 0), args.repeat)
    affine = fastnet.Distort(seed=0, rotation=15.0, scale=0.15, shear=15.0)
    _report("Distort with scale and shear, one epoch of 50,000", lambda: affine(X_train, y_train, 0), args.repeat)


def _report(name, function, repeat):
    seconds = _timed(function, repeat)
    runs = ", ".join(f"{value:.2f}" for value in seconds)
    print(f"{name}: best {min(seconds):.2f} s (runs: {runs} s)")


if __name__ == "__main__":
    main()
