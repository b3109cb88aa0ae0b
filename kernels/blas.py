"""Matrix products through the BLAS that SciPy ships (OpenBLAS), from compiled code.

``gemm`` is the full BLAS call — C = alpha·op(A)·op(B) + beta·C with leading
dimensions — on row-major matrices that start at the first element of 1-D
arrays.  Leading dimensions let a kernel multiply matrices embedded in
fastnet's flat buffers as they lie: the batch's units of layer l are rows
``U`` apart (see ``layout.py``), a layer's weights are rows ``width`` apart.
Numba's own ``np.dot`` calls the same BLAS entry point (``numba_xxgemm`` of
its helper library), so compiled code that uses it is cached like any other.
"""
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic
from numba.np.linalg import ensure_blas

ensure_blas()  # SciPy's BLAS must be importable; numba binds it on first use

_KINDS = {types.float32: "s", types.float64: "d"}


def _pointer(context, builder, array_type, array):
    data = context.make_array(array_type)(context, builder, array).data
    return builder.bitcast(data, cgutils.voidptr_t)


def _slot(context, builder, value, value_type, dtype):
    """A stack slot holding value cast to dtype (BLAS takes alpha, beta by pointer)."""
    cast = context.cast(builder, value, value_type, dtype)
    return builder.bitcast(cgutils.alloca_once_value(builder, cast), cgutils.voidptr_t)


@intrinsic
def gemm(typingctx, C, ldc, A, lda, trans_a, B, ldb, trans_b, m, n, k, alpha, beta):
    """C (m, n) = alpha·op(A) (m, k) @ op(B) (k, n) + beta·C, row-major, in place.

    A, B, C are 1-D arrays of one float dtype whose first element is the
    matrix's first; ``lda``, ``ldb``, ``ldc`` are their row strides in
    elements.  op(A) = A, or Aᵀ when ``trans_a`` is true (A then lies as a
    (k, m) matrix); likewise B.  With beta = 0, C need not be initialised.
    Returns the BLAS status (0 when the call was accepted).
    """
    if not all(isinstance(x, types.Array) and x.ndim == 1 for x in (A, B, C)):
        raise TypeError("gemm takes 1-D arrays")
    if not A.dtype == B.dtype == C.dtype or C.dtype not in _KINDS:
        raise TypeError("gemm takes float32 or float64 arrays of one dtype")
    dtype = C.dtype

    def codegen(context, builder, sig, args):
        c, ldc_, a, lda_, ta, b, ldb_, tb, m_, n_, k_, alpha_, beta_ = args
        t = sig.args
        char = ir.IntType(8)
        intp = context.get_value_type(types.intp)
        as_intp = lambda v, ty: context.cast(builder, v, ty, types.intp)  # noqa: E731

        def transposed(flag, flag_type):
            flag = context.cast(builder, flag, flag_type, types.boolean)
            return builder.select(flag, ir.Constant(char, ord("t")), ir.Constant(char, ord("n")))

        function = cgutils.get_or_insert_function(
            builder.module,
            ir.FunctionType(ir.IntType(32), [char, char, char, intp, intp, intp,
                                             cgutils.voidptr_t, cgutils.voidptr_t, intp,
                                             cgutils.voidptr_t, intp, cgutils.voidptr_t,
                                             cgutils.voidptr_t, intp]),
            "numba_xxgemm")
        # Row-major C = op(A)·op(B) is column-major Cᵀ = op(B)ᵀ·op(A)ᵀ: swap the operands.
        status = builder.call(function, (
            ir.Constant(char, ord(_KINDS[dtype])), transposed(tb, t[7]), transposed(ta, t[4]),
            as_intp(n_, t[9]), as_intp(m_, t[8]), as_intp(k_, t[10]),
            _slot(context, builder, alpha_, t[11], dtype), _pointer(context, builder, t[5], b),
            as_intp(ldb_, t[6]), _pointer(context, builder, t[2], a), as_intp(lda_, t[3]),
            _slot(context, builder, beta_, t[12], dtype), _pointer(context, builder, t[0], c),
            as_intp(ldc_, t[1])))
        return status

    signature = types.int32(C, ldc, A, lda, trans_a, B, ldb, trans_b, m, n, k, alpha, beta)
    return signature, codegen
