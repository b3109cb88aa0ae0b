"""What the commands share around a run, apart from training: the exit statuses of an
interruption, and SIGTERM turned into one that leaves a resumable run folder; the
preset line of the banner; the ``--force`` flag of the commands that write files
(``files.outputs.check_output``).  The checks before a run are ``fastnet.run_setup``'s.
"""
import signal
from contextlib import contextmanager

from ..presets import PRESETS

INTERRUPTED = 130  # 128 + SIGINT
TERMINATED = 143  # 128 + SIGTERM


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


