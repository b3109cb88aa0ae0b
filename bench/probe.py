"""Subprocess probes for ``bench.compare``; each prints one JSON line on stdout.

    python -m bench.probe jit
        import fastnet, then a tiny fit (100 random images, [784,30,10], batch 10,
        float32) twice: seconds of the import, the first fit and the repeated fit.
        compare.py runs it twice with the same empty NUMBA_CACHE_DIR: cold, then warm.
    python -m bench.probe rss --peer fastnet --sizes 784,100,10 --batch-size 10 --epochs 1
        import the peer, load the 50,000 training images, warm up, then train; the
        resident set size after the imports, before training and at its peak while
        training (VmHWM, reset just before training where the kernel allows it).

The clock for ``jit`` starts before numpy, numba or fastnet are imported.
"""

from __future__ import annotations

import time

_START = time.perf_counter()

import argparse  # noqa: E402  (after the clock starts, on purpose)
import json  # noqa: E402
import sys  # noqa: E402

TINY_IMAGES = 100


def probe_jit() -> dict:
    """Seconds for ``import fastnet``, the first tiny fit and a repeated (warm) tiny fit."""
    import fastnet

    imported = time.perf_counter()
    import numpy as np

    rng = np.random.default_rng(0)
    X = rng.random((TINY_IMAGES, 784), dtype=np.float32)
    y = rng.integers(0, 10, TINY_IMAGES)

    def tiny_fit() -> float:
        start = time.perf_counter()
        net = fastnet.Network([784, 30, 10], activation="sigmoid", output="softmax",
                              cost="log_likelihood", init="normalized", dtype="float32", seed=1)
        net.fit(X, y, epochs=1, batch_size=10, eta=0.1)
        return time.perf_counter() - start

    first = tiny_fit()
    return {"import_seconds": imported - _START, "first_fit_seconds": first,
            "repeat_fit_seconds": tiny_fit()}


def _proc_status_bytes(field: str) -> int | None:
    """A memory field of /proc/self/status (VmRSS, VmHWM) in bytes, None where absent."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def _reset_peak_rss() -> bool:
    """Reset VmHWM to the current RSS (Linux clear_refs 5); False where not allowed."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def probe_rss(peer_name: str, sizes: list[int], batch_size: int, epochs: int) -> dict:
    """Peak RSS while ``peer_name`` trains ``epochs`` epochs on the 50,000 training images."""
    import gc
    import resource

    from bench import data
    from bench.peers import load_peer
    from bench.workloads import ETA, SEED

    peer_class = load_peer(peer_name)  # imports the peer's libraries
    after_imports = _proc_status_bytes("VmRSS")
    mnist = data.load()
    X, y = mnist.X_train, mnist.y_train
    del mnist  # only the training set stays resident
    peer = peer_class(sizes, batch_size=batch_size, eta=ETA, seed=SEED)
    peer.warm_up(X, y)
    prepared = peer.prepare(X, y)
    gc.collect()
    before = _proc_status_bytes("VmRSS")
    reset = _reset_peak_rss()
    for epoch in range(epochs):
        peer.train_epoch(prepared, data.epoch_order(len(X), SEED, epoch))
    model_bytes = sum((n_in + 1) * n_out * 4 for n_in, n_out in zip(sizes[:-1], sizes[1:]))
    return {
        "peer": peer_name, "sizes": sizes, "batch_size": batch_size, "epochs": epochs,
        "rss_after_imports_bytes": after_imports,
        "rss_before_training_bytes": before,
        "peak_rss_bytes": _proc_status_bytes("VmHWM"),
        "peak_reset_before_training": reset,
        # getrusage's peak is never reset and, on Linux, starts from the parent's RSS at exec
        # (the forking process), so it is kept only for reference; VmHWM is the measurement.
        "ru_maxrss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        "train_set_bytes": X.nbytes + y.nbytes,
        "model_bytes": model_bytes,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.probe", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="probe", required=True)
    sub.add_parser("jit", help="cold/warm start-up of import fastnet + first fit")
    rss = sub.add_parser("rss", help="peak RSS while training")
    rss.add_argument("--peer", default="fastnet")
    rss.add_argument("--sizes", default="784,100,10")
    rss.add_argument("--batch-size", type=int, default=10)
    rss.add_argument("--epochs", type=int, default=1)
    args = parser.parse_args(argv)
    if args.probe == "jit":
        result = probe_jit()
    else:
        sizes = [int(s) for s in args.sizes.split(",")]
        result = probe_rss(args.peer, sizes, args.batch_size, args.epochs)
    sys.stdout.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
