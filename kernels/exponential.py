"""exp of a scalar as plain arithmetic, so that loops over it vectorise.

``math.exp`` and ``math.tanh`` compile to calls into the C library, one
element at a time: a loop that calls them cannot be vectorised, and the
tanh of the hidden layer took 100 ms of a float32 epoch of [784, 100, 10].
``exp_nonpositive`` is exp written as arithmetic — a power of two times a
polynomial — which LLVM inlines and vectorises like any other loop body
(4 doubles per AVX2 instruction): the same tanh takes 12 ms.

It works in float64 and is accurate to 10^-14 relative, so a float32
result rounded from it is the correctly rounded one: the tanh of float32
layers (``activations.py``) uses it; float64 ones keep the C library's
functions, the exact reference.
"""
import numpy as np
from llvmlite import ir
from numba import types
from numba.extending import intrinsic

from .jit import kernel

LOG2E = 1.4426950408889634
LN2 = 0.6931471805599453
SHIFTER = 6755399441055744.0  # 1.5 · 2^52: x + SHIFTER rounds x to an integer in the low bits
LOWEST = -700.0               # exp(−700) ≈ 10^-304, 0 in float32


@intrinsic
def low_int32(typingctx, x):
    """The low 32 bits of a float64's bit pattern, as an int32."""
    def codegen(context, builder, sig, args):
        return builder.trunc(builder.bitcast(args[0], ir.IntType(64)), ir.IntType(32))
    return types.int32(types.float64), codegen


@intrinsic
def power_of_two(typingctx, k):
    """2.0**k for an int32 k in [−1022, 1023], built from its exponent bits."""
    def codegen(context, builder, sig, args):
        bits = builder.add(builder.sext(args[0], ir.IntType(64)), ir.Constant(ir.IntType(64), 1023))
        bits = builder.shl(bits, ir.Constant(ir.IntType(64), 52))
        return builder.bitcast(bits, ir.DoubleType())
    return types.float64(types.int32), codegen


@kernel(inline=True)
def exp_nonpositive(x):
    """exp(x) for a float64 x ≤ 0, from x = −700 on (exp(−700) below that):
    x = k·ln2 + r with |r| ≤ ln2/2, exp(x) = 2^k · exp(r), exp(r) by its
    Taylor polynomial to r^12 (relative error below 10^-14).  k comes from the
    low bits of x/ln2 + 1.5·2^52, which round it to an integer without a
    branch or a conversion instruction."""
    x = max(x, LOWEST)
    k = low_int32(x * LOG2E + SHIFTER)
    r = x - np.float64(k) * LN2
    p = 1.0 / 479001600.0
    p = p * r + 1.0 / 39916800.0
    p = p * r + 1.0 / 3628800.0
    p = p * r + 1.0 / 362880.0
    p = p * r + 1.0 / 40320.0
    p = p * r + 1.0 / 5040.0
    p = p * r + 1.0 / 720.0
    p = p * r + 1.0 / 120.0
    p = p * r + 1.0 / 24.0
    p = p * r + 1.0 / 6.0
    p = p * r + 0.5
    p = p * r + 1.0
    p = p * r + 1.0
    return p * power_of_two(k)
