"""A spinning barrier for threads that run compiled kernels at once.

``threads.py`` trains an epoch on T threads that each stay in one compiled
call for the whole epoch and meet twice per mini-batch.  They meet here: a
shared int64 array ``sync`` (``new_sync()``) holds an arrival count and a
generation number on cache lines of their own; each thread adds one to the
count, the last to arrive resets it and moves the generation on, the others
wait until the generation moves.  Waiting spins with the CPU's pause hint
for about a hundred microseconds, then gives its core away between looks
(``sched_yield``), so that more threads than cores, or a core taken by
another process, cost time but never a deadlock.

The count and the generation are changed with sequentially consistent atomic
operations and read with acquire loads: every write a thread made before the
barrier is visible to every thread after it.
"""
import platform

import numpy as np
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

from .jit import kernel
from .lanes import element_pointer
from .layout import CACHE_LINE, line_aligned_zeros
from .subnormals import X86
from .tunables import SPINS

LINE = CACHE_LINE // 8  # int64 values per cache line
COUNT, GENERATION = 0, LINE
POSIX = platform.system() != "Windows"


def new_sync():
    """A zeroed sync array for one group of threads: (2·LINE,) int64, the
    count and the generation each on a cache line of its own."""
    return line_aligned_zeros(2 * LINE, np.int64)


def _slot(context, builder, signature, args):
    """A pointer to array[index] (int64) for the arguments (array, index, ...)."""
    return element_pointer(context, builder, signature.args[0], args[0], args[1],
                           signature.args[1], ir.IntType(64))


def _value(context, builder, signature, args):
    """The argument ``value`` of (array, index, value) as int64."""
    return context.cast(builder, args[2], signature.args[2], types.int64)


@intrinsic
def atomic_add(typingctx, array, index, value):
    """array[index] += value atomically (sequentially consistent); returns the
    old value.  ``array`` is int64."""
    if array.dtype != types.int64:
        raise TypeError("atomic_add takes an int64 array")

    def codegen(context, builder, signature, args):
        return builder.atomic_rmw("add", _slot(context, builder, signature, args),
                                  _value(context, builder, signature, args), "seq_cst")
    return types.int64(array, index, value), codegen


@intrinsic
def atomic_read(typingctx, array, index):
    """array[index] read atomically (acquire).  ``array`` is int64."""
    if array.dtype != types.int64:
        raise TypeError("atomic_read takes an int64 array")

    def codegen(context, builder, signature, args):
        return builder.load_atomic(_slot(context, builder, signature, args), "acquire", 8)
    return types.int64(array, index), codegen


@intrinsic
def atomic_write(typingctx, array, index, value):
    """array[index] = value atomically (sequentially consistent).  ``array``
    is int64."""
    if array.dtype != types.int64:
        raise TypeError("atomic_write takes an int64 array")

    def codegen(context, builder, signature, args):
        builder.store_atomic(_value(context, builder, signature, args),
                             _slot(context, builder, signature, args), "seq_cst", 8)
        return context.get_dummy_value()
    return types.none(array, index, value), codegen


def _call(builder, name, result=None):
    """Call the function ``name`` (no arguments; returning ``result``, default
    void): an LLVM intrinsic or a C library's, which the JIT links by name."""
    signature = ir.FunctionType(result or ir.VoidType(), [])
    builder.call(cgutils.get_or_insert_function(builder.module, signature, name), [])


def _hint_or_yield(give_core):
    """An intrinsic that yields the core (``sched_yield``) where ``give_core``
    and the system has it, else gives the x86 ``pause`` hint (nothing
    elsewhere)."""
    @intrinsic
    def wait_a_little(typingctx):
        def codegen(context, builder, signature, args):
            if give_core and POSIX:
                _call(builder, "sched_yield", ir.IntType(32))
            elif X86:
                _call(builder, "llvm.x86.sse2.pause")
            return context.get_dummy_value()
        return types.none(), codegen
    return wait_a_little


pause = _hint_or_yield(False)       # the CPU's spin-wait hint
yield_core = _hint_or_yield(True)   # give this thread's core to another runnable thread


@kernel(inline=True)
def meet(sync, T):
    """Wait until all T threads of ``sync`` have called ``meet`` once more."""
    generation = atomic_read(sync, GENERATION)
    if atomic_add(sync, COUNT, 1) == T - 1:
        atomic_write(sync, COUNT, 0)
        atomic_add(sync, GENERATION, 1)
        return
    spins = 0
    while atomic_read(sync, GENERATION) == generation:
        if spins < SPINS:
            pause()
            spins += 1
        else:
            yield_core()
