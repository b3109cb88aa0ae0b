"""``fastnet compile``: compile the kernels of a typical run ahead of it (``fastnet.precompile``)."""
import time

from ..engine.entry_points import DTYPES, ENTRY_POINTS, LAYOUTS, precompile


def add(commands):
    """Register ``fastnet compile``."""
    compile_ = commands.add_parser(
        "compile", help="compile the kernels ahead, so that the first run starts at once",
        description="Compile the kernels a typical run needs (Numba caches them on disk), so that "
                    "the first fit compiles nothing: "
                    f"{', '.join(entry.name for entry in ENTRY_POINTS)}, for each dtype and "
                    "layout of the inputs. One line per entry point with the seconds it took.")
    compile_.add_argument("--dtype", choices=DTYPES, help="only this dtype (default: both)")
    compile_.add_argument("--layout", choices=LAYOUTS,
                          help="only this layout of the inputs (default: both; MNIST is sparse)")
    compile_.set_defaults(run=compile_command)


def compile_command(args, parser):
    """``fastnet compile``: every entry point of the dtypes and layouts asked for."""
    began = time.perf_counter()
    seconds = precompile(DTYPES if args.dtype is None else args.dtype,
                         LAYOUTS if args.layout is None else args.layout, verbose=True)
    print(f"done     {len(seconds)} entry points in {time.perf_counter() - began:.1f} s")
    return 0
