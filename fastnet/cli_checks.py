"""What ``fastnet train`` checks and says around a run, apart from training.

Data against the settings before anything is written; the preset line of the
banner; the first run's kernel compilation, timed and announced; SIGTERM
turned into an interruption that leaves a resumable run folder; the
``--force`` flag of the commands that write files (``files.check_output``).
"""
import signal
import time
from contextlib import contextmanager

import numpy as np

from .network import Network
from .presets import PRESETS

TERMINATED = 143  # 128 + SIGTERM
COMPILE_NOTE_AFTER = 1.0  # seconds: slower than a cache load, so it compiled


class Terminated(KeyboardInterrupt):
    """SIGTERM arrived: stop like Ctrl-C (the run folder stays resumable)."""


@contextmanager
def terminate_as_interrupt():
    """Within the block, SIGTERM raises ``Terminated`` (main thread only)."""
    def stop(signum, frame):
        raise Terminated("terminated (SIGTERM)")
    try:
        previous = signal.signal(signal.SIGTERM, stop)
    except ValueError:  # not the main thread: leave signals alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def add_force(parser, kind):
    """The ``--force`` flag of a command that writes ``kind``, e.g. "an ONNX model fastnet wrote"."""
    parser.add_argument("--force", action="store_true",
                        help=f"replace an existing file that is not {kind} (never one of the "
                             "command's inputs or a file of a run folder)")


def check_data_fits(net, train, validation, test):
    """Raise ValueError (naming the flag) unless every part of the data fits ``net``:
    so that settings that cannot work fail before a run folder is written."""
    n_in, n_out = net.sizes[0], net.sizes[-1]
    for part, (X, y) in (("training", train), ("validation", validation), ("test", test)):
        if X.ndim != 2 or X.shape[1] != n_in:
            raise ValueError(f"--sizes: the network has {n_in} inputs but the {part} images "
                             f"have {X.shape[1] if X.ndim == 2 else X.shape} pixels; pass "
                             f"--sizes {X.shape[-1]},...")
        largest = int(np.max(y)) if len(y) else 0
        if n_out == 1 or largest >= n_out:
            raise ValueError(f"--sizes: the network has {n_out} output(s) but the {part} labels "
                             f"go up to {largest}; pass --sizes ...,{largest + 1} "
                             "(one output per class)")
    net._prepare(train[0][:1], train[1][:1])  # the network's own checks, on one sample


def preset_line(recipe):
    """'preset ch1 (summary)', or with the flags that changed it, or 'custom recipe'."""
    preset = PRESETS.get(recipe.preset)
    if preset is None:
        return "custom recipe"
    settings = recipe.to_dict()
    changed = [f"{name} {_shown(settings[name])}" for name, value in preset.settings.items()
               if _shown(settings.get(name)) != _shown(value)]
    if not changed:
        return f"preset {preset.name} ({preset.summary})"
    return f"preset {preset.name}, changed by flags: {', '.join(changed)}"


def _shown(value):
    return ",".join(map(str, value)) if isinstance(value, (list, tuple)) else str(value)


def announce_compilation(net, optimizer, X, y):
    """Run every kernel of the coming fit once on a tiny copy, so that the first
    run's compilation (seconds; later runs load Numba's cache) is said out loud
    and kept out of epoch 1's time.  Returns the seconds it took."""
    print("kernels  compiling (first run only)...", end="", flush=True)
    began = time.perf_counter()
    tiny = Network(net.sizes, activation=list(net.activations), output=net.output,
                   cost=net.cost_name, dtype=net.dtype.name, seed=0)
    settings = {**optimizer.hyperparameters(), "early_stopping": None}
    if "schedule" in settings:
        settings["schedule"] = None
    try:
        tiny.fit(X[:2], y[:2], epochs=1, optimizer=type(optimizer)(**settings),
                 validation=(X[:2], y[:2]))
    except ArithmeticError:  # a diverging eta: compiled all the same; the run will say so
        pass
    seconds = time.perf_counter() - began
    done = "done in" if seconds >= COMPILE_NOTE_AFTER else "not needed: loaded from cache in"
    print(f" {done} {seconds:.1f} s", flush=True)
    return seconds
