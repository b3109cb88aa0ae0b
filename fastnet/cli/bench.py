"""``fastnet bench ARGS``: the benchmark suite of a source checkout (``python -m bench.compare``)."""
import argparse
import subprocess
import sys
from pathlib import Path


def add(commands):
    """Register ``fastnet bench`` (``main`` hands it every argument after ``bench``)."""
    bench = commands.add_parser(
        "bench", add_help=False, help="run the benchmark suite (python -m bench.compare)",
        description="Run bench/compare.py of a fastnet source checkout; arguments go to it.")
    bench.add_argument("arguments", nargs=argparse.REMAINDER, help="passed to bench.compare")
    bench.set_defaults(run=bench_command)


def bench_command(args, parser):
    """``fastnet bench ARGS``: ``python -m bench.compare ARGS`` in the source checkout."""
    root = Path(__file__).resolve().parents[2]
    script = root / "bench" / "compare.py"
    if not script.is_file():
        raise OSError(f"fastnet bench runs bench/compare.py of a fastnet source checkout, but "
                      f"{script} does not exist; run it from a full clone of the repository "
                      "installed with pip install -e '.[bench]'")
    return subprocess.call([sys.executable, "-m", "bench.compare", *args.arguments], cwd=root)
