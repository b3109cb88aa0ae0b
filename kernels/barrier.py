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

LINE = 8            # int64 values per 64-byte cache line
COUNT, GENERATION = 0, LINE
SPINS = 4096        # pauses before a waiting thread starts yielding its core
X86 = platform.machine().lower() in ("x86_64", "amd64", "i386", "i686")
POSIX = platform.system() != "Windows"


def new_sync():
    """A zeroed sync array for one group of threads: (2·LINE,) int64."""
    return np.zeros(2 * LINE, dtype=np.int64)


def _slot(context, builder, array_type, array, index):
    """A pointer to array[index] (int64)."""
    data = context.make_array(array_type)(context, builder, array).data
    return builder.gep(data, [index])


@intrinsic
def atomic_add(typingctx, array, index, value):
    """array[index] += value atomically (sequentially consistent); returns the
    old value.  ``array`` is int64."""
    if array.dtype != types.int64:
        raise TypeError("atomic_add takes an int64 array")

    def codegen(context, builder, signature, args):
        array, index, value = args
        index = context.cast(builder, index, signature.args[1], types.intp)
        value = context.cast(builder, value, signature.args[2], types.int64)
        return builder.atomic_rmw("add", _slot(context, builder, signature.args[0], array, index),
                                  value, "seq_cst")
    return types.int64(array, index, value), codegen


@intrinsic
def atomic_read(typingctx, array, index):
    """array[index] read atomically (acquire).  ``array`` is int64."""
    if array.dtype != types.int64:
        raise TypeError("atomic_read takes an int64 array")

    def codegen(context, builder, signature, args):
        array, index = args
        index = context.cast(builder, index, signature.args[1], types.intp)
        return builder.load_atomic(_slot(context, builder, signature.args[0], array, index),
                                   "acquire", 8)
    return types.int64(array, index), codegen


@intrinsic
def atomic_write(typingctx, array, index, value):
    """array[index] = value atomically (sequentially consistent).  ``array``
    is int64."""
    if array.dtype != types.int64:
        raise TypeError("atomic_write takes an int64 array")

    def codegen(context, builder, signature, args):
        array, index, value = args
        index = context.cast(builder, index, signature.args[1], types.intp)
        value = context.cast(builder, value, signature.args[2], types.int64)
        builder.store_atomic(value, _slot(context, builder, signature.args[0], array, index),
                             "seq_cst", 8)
        return context.get_dummy_value()
    return types.none(array, index, value), codegen


@intrinsic
def pause(typingctx):
    """The CPU's spin-wait hint (x86 ``pause``; nothing elsewhere)."""
    def codegen(context, builder, signature, args):
        if X86:
            hint = cgutils.get_or_insert_function(builder.module, ir.FunctionType(ir.VoidType(), []),
                                                  "llvm.x86.sse2.pause")
            builder.call(hint, [])
        return context.get_dummy_value()
    return types.none(), codegen


@intrinsic
def yield_core(typingctx):
    """Give this thread's core to another runnable thread (``sched_yield``;
    a pause where there is none)."""
    def codegen(context, builder, signature, args):
        if POSIX:
            give = cgutils.get_or_insert_function(builder.module, ir.FunctionType(ir.IntType(32), []),
                                                  "sched_yield")
            builder.call(give, [])
        elif X86:
            hint = cgutils.get_or_insert_function(builder.module, ir.FunctionType(ir.VoidType(), []),
                                                  "llvm.x86.sse2.pause")
            builder.call(hint, [])
        return context.get_dummy_value()
    return types.none(), codegen


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
