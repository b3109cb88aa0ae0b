"""Subnormal results flushed to zero while the kernels run (x86: the MXCSR
register's FTZ bit, in the thread that runs them).

A sigmoid unit driven far into saturation gives values below float32's
smallest normal number (1.2e-38) — e.g. σ(−90) — and every product with
them then takes a microcode assist on x86, about a hundred times an
ordinary one: training [784,30,10] at the book's eta = 3.0 ran its fourth
epoch 10× slower than its first.  With FTZ set, a result that would be
subnormal is zero instead, so the kernels never make one (as under PyTorch's
``set_flush_denormal`` or a ``-ffast-math`` build).  Subnormal inputs stay
as they are (DAZ stays off): the CSR conversion keeps them, and a product
with one is computed exactly.  The bit is thread state, so ``flushed`` sets
it around a call and puts the caller's back after it: NumPy and the rest of
the process keep IEEE gradual underflow.  Elsewhere than x86 ``flushed``
changes nothing.
"""
import contextlib
import platform

from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

from .jit import kernel

X86 = platform.machine().lower() in ("x86_64", "amd64", "i386", "i686")
ALL = 0xFFFFFFFF
FLUSH = 0x8000  # MXCSR bit 15, FTZ: a subnormal result becomes 0


@intrinsic
def _update_mxcsr(typingctx, keep, bits):
    """MXCSR := (MXCSR & keep) | bits (uint32s); returns what it held."""
    if not (isinstance(keep, types.Integer) and isinstance(bits, types.Integer)):
        return None

    def codegen(context, builder, sig, args):
        slot = cgutils.alloca_once(builder, ir.IntType(32))
        pointer = builder.bitcast(slot, ir.PointerType(ir.IntType(8)))
        access = ir.FunctionType(ir.VoidType(), [pointer.type])
        read = cgutils.get_or_insert_function(builder.module, access, "llvm.x86.sse.stmxcsr")
        write = cgutils.get_or_insert_function(builder.module, access, "llvm.x86.sse.ldmxcsr")
        keep, bits = (context.cast(builder, a, t, types.uint32) for a, t in zip(args, sig.args))
        builder.call(read, [pointer])
        held = builder.load(slot)
        builder.store(builder.or_(builder.and_(held, keep), bits), slot)
        builder.call(write, [pointer])
        return held
    return types.uint32(keep, bits), codegen


@kernel
def update_mxcsr(keep, bits):
    """MXCSR := (MXCSR & keep) | bits in the calling thread; returns its old
    value (uint32)."""
    return _update_mxcsr(keep, bits)


@contextlib.contextmanager
def flushed():
    """Run the body with subnormals flushed to zero in this thread (x86), then
    restore the thread's own setting."""
    if not X86:
        yield
        return
    held = int(update_mxcsr(ALL, FLUSH))
    try:
        yield
    finally:
        update_mxcsr(0, held)
