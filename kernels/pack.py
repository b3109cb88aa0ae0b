"""Left-packing: the non-zeros of eight float32 values at once, for the CSR
conversion (``csr.py``) on CPUs with AVX2.

One block of ``PACK`` values is loaded, compared with zero (an 8-bit mask),
and permuted so that its non-zeros come first, in order: the permutation for
each of the 256 masks is a row of ``pack_table()``.  The packed values and
their column numbers are stored as whole vectors and the place to write moves
on by the number of non-zeros.  A handful of vector instructions per eight
values, against a compare, two stores and an add per value one at a time: the
conversion reads the inputs at memory speed.

The values are moved, never computed: the result is bit for bit that of the
scalar conversion.  ``available()`` says whether the CPU Numba compiles for
has AVX2 (the permutation is its ``vpermps``).
"""
import numpy as np
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

from .lanes import cpu_flags, element_pointer

PACK = 8  # float32 values per AVX2 register


def available():
    """True where the CPU Numba compiles for has AVX2."""
    return "avx2" in cpu_flags()


def pack_table():
    """(256·PACK,) int32: row ``mask`` lists the positions of the set bits of
    ``mask`` in increasing order, then zeros."""
    table = np.zeros((256, PACK), dtype=np.int32)
    for mask in range(256):
        bits = [b for b in range(PACK) if mask >> b & 1]
        table[mask, :len(bits)] = bits
    return table.reshape(-1)


@intrinsic
def pack_nonzeros(typingctx, indices, values, k, x, x_off, column, table):
    """Store the non-zeros of x[x_off : +PACK] (float32) at values[k:] and
    their columns ``column`` + position at indices[k:] (uint16 or int32), in
    order; returns how many (int64).  Writes all of values[k : k+PACK] and
    indices[k : k+PACK]: the places past the non-zeros get whatever is left
    over, so the caller leaves room for them.  ``table`` is ``pack_table()``."""
    if not (values.dtype == x.dtype == types.float32 and table.dtype == types.int32
            and indices.dtype in (types.uint16, types.int32)):
        raise TypeError("pack_nonzeros takes float32 values, uint16 or int32 indices and an "
                        "int32 table")

    def codegen(context, builder, sig, args):
        t = sig.args
        i32, f32 = ir.IntType(32), ir.FloatType()
        floats, ints = ir.VectorType(f32, PACK), ir.VectorType(i32, PACK)

        def at(where, offset, offset_type, element):  # argument ``where`` from ``offset`` on
            return element_pointer(context, builder, t[where], args[where], offset, offset_type,
                                   element)
        block = builder.load(at(3, args[4], t[4], floats), align=1)
        nonzero = builder.fcmp_unordered("!=", block, ir.Constant(floats, None))
        mask = builder.zext(builder.bitcast(nonzero, ir.IntType(PACK)), i32)
        row = builder.mul(context.cast(builder, mask, types.int32, types.intp),
                          context.get_constant(types.intp, PACK))
        order = builder.load(at(6, row, types.intp, ints), align=1)
        permute = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(floats, [floats, ints]), "llvm.x86.avx2.permps")
        builder.store(builder.call(permute, [block, order]),
                      at(1, args[2], t[2], floats), align=1)
        column = context.cast(builder, args[5], t[5], types.int32)
        first = builder.insert_element(ir.Constant(ints, ir.Undefined), column, i32(0))
        columns = builder.add(order, builder.shuffle_vector(
            first, ir.Constant(ints, ir.Undefined), ir.Constant(ints, [0] * PACK)))
        narrow = ir.VectorType(ir.IntType(t[0].dtype.bitwidth), PACK)
        if narrow != ints:
            columns = builder.trunc(columns, narrow)
        builder.store(columns, at(0, args[2], t[2], narrow), align=1)
        count = builder.call(builder.module.declare_intrinsic("llvm.ctpop", [i32]), [mask])
        return context.cast(builder, count, types.int32, types.int64)

    return types.int64(indices, values, k, x, x_off, column, table), codegen
