"""Matrix products through BLAS, from compiled code.

``gemm`` is the full BLAS call — C = alpha·op(A)·op(B) + beta·C with leading
dimensions — on row-major matrices that start at the first element of 1-D
arrays.  Leading dimensions let a kernel multiply matrices embedded in
fastnet's flat buffers as they lie: the batch's units of layer l are rows
``U`` apart (see ``layout.py``), a layer's weights are rows ``width`` apart.

Which BLAS: the compiled code calls two symbols, ``fastnet_sgemm`` and
``fastnet_dgemm``, with CBLAS's signature and 64-bit integers; this module
binds them at import, so that cached machine code never holds an address:

- ``"numpy"`` (used when found): the OpenBLAS that NumPy's wheels ship
  (``scipy_cblas_sgemm64_``).  It is the library NumPy's own ``@`` runs on,
  and on the products of a batch of 32 against a wide layer it runs
  1.6× faster than the OpenBLAS that SciPy ships (``python -m bench.blas``).
- ``"scipy"``: SciPy's BLAS through Numba's own binding (``numba_xxgemm``),
  for NumPy builds without that library (e.g. Apple's Accelerate or conda's
  MKL); or set ``FASTNET_BLAS=scipy`` to choose it.
"""
import contextlib
import ctypes
import glob
import os

import numpy as np
from llvmlite import binding, ir
from numba import cfunc, types
from numba.core import cgutils
from numba.extending import intrinsic
from numba.np.linalg import ensure_blas

_KINDS = {types.float32: "s", types.float64: "d"}
ROW_MAJOR, NO_TRANS, TRANS = 101, 111, 112  # CBLAS's enum values


def _cblas_signature(scalar):
    """The LLVM type of cblas_?gemm with 64-bit integers, for scalars of ``scalar``."""
    i32, i64, pointer = ir.IntType(32), ir.IntType(64), scalar.as_pointer()
    return ir.FunctionType(ir.VoidType(), [i32, i32, i32, i64, i64, i64, scalar, pointer, i64,
                                           pointer, i64, scalar, pointer, i64])


@intrinsic
def gemm(typingctx, C, ldc, A, lda, trans_a, B, ldb, trans_b, m, n, k, alpha, beta):
    """C (m, n) = alpha·op(A) (m, k) @ op(B) (k, n) + beta·C, row-major, in place.

    A, B, C are 1-D arrays of one float dtype whose first element is the
    matrix's first; ``lda``, ``ldb``, ``ldc`` are their row strides in
    elements.  op(A) = A, or Aᵀ when ``trans_a`` is true (A then lies as a
    (k, m) matrix); likewise B.  With beta = 0, C need not be initialised.
    """
    if not all(isinstance(x, types.Array) and x.ndim == 1 for x in (A, B, C)):
        raise TypeError("gemm takes 1-D arrays")
    if not A.dtype == B.dtype == C.dtype or C.dtype not in _KINDS:
        raise TypeError("gemm takes float32 or float64 arrays of one dtype")
    dtype = C.dtype

    def codegen(context, builder, sig, args):
        c, ldc_, a, lda_, ta, b, ldb_, tb, m_, n_, k_, alpha_, beta_ = args
        t = sig.args
        i32 = ir.IntType(32)
        as_intp = lambda v, ty: context.cast(builder, v, ty, types.intp)  # noqa: E731
        data = lambda ty, v: context.make_array(ty)(context, builder, v).data  # noqa: E731

        def transposed(flag, flag_type):
            flag = context.cast(builder, flag, flag_type, types.boolean)
            return builder.select(flag, ir.Constant(i32, TRANS), ir.Constant(i32, NO_TRANS))

        function = cgutils.get_or_insert_function(
            builder.module, _cblas_signature(context.get_value_type(dtype)),
            f"fastnet_{_KINDS[dtype]}gemm")
        builder.call(function, (
            ir.Constant(i32, ROW_MAJOR), transposed(ta, t[4]), transposed(tb, t[7]),
            as_intp(m_, t[8]), as_intp(n_, t[9]), as_intp(k_, t[10]),
            context.cast(builder, alpha_, t[11], dtype), data(t[2], a), as_intp(lda_, t[3]),
            data(t[5], b), as_intp(ldb_, t[6]),
            context.cast(builder, beta_, t[12], dtype), data(t[0], c), as_intp(ldc_, t[1])))
        return context.get_dummy_value()

    return types.void(C, ldc, A, lda, trans_a, B, ldb, trans_b, m, n, k, alpha, beta), codegen


# ------------------------------------------------------------------ binding
def _shipped_functions(package, pattern, names):
    """ctypes functions ``names`` from the first shared library matching
    ``pattern`` that ``package``'s wheel ships (``<package>.libs`` on Linux and
    Windows, ``.dylibs`` on macOS) and that has them all; None if none has.
    The library is already loaded by the package: ctypes gets the same handle."""
    root = os.path.dirname(package.__file__)
    folders = (os.path.join(root, os.pardir, f"{package.__name__}.libs"),
               os.path.join(root, ".dylibs"))
    for path in sorted(p for folder in folders for p in glob.glob(os.path.join(folder, pattern))):
        try:
            library = ctypes.CDLL(path)
            return [getattr(library, name) for name in names]
        except (OSError, AttributeError):
            continue
    return None


def numpy_cblas():
    """{"s": address, "d": address} of cblas_sgemm/dgemm (64-bit integers) in
    the OpenBLAS that NumPy ships, or None where this NumPy has none."""
    functions = _shipped_functions(np, "*scipy_openblas64*",
                                   [f"scipy_cblas_{kind}gemm64_" for kind in "sd"])
    if functions is None:
        return None
    return {kind: ctypes.cast(f, ctypes.c_void_p).value for kind, f in zip("sd", functions)}


@intrinsic
def _xxgemm(typingctx, trans_a, trans_b, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc):
    """``gemm`` on raw pointers through Numba's binding of SciPy's BLAS."""
    dtype = C.dtype

    def codegen(context, builder, sig, args):
        ta, tb, m_, n_, k_, alpha_, a, lda_, b, ldb_, beta_, c, ldc_ = args
        t = sig.args
        char = ir.IntType(8)
        intp = context.get_value_type(types.intp)
        as_intp = lambda v, ty: context.cast(builder, v, ty, types.intp)  # noqa: E731
        void = lambda p: builder.bitcast(p, cgutils.voidptr_t)  # noqa: E731

        def slot(value, value_type):  # BLAS takes alpha, beta by pointer
            return void(cgutils.alloca_once_value(builder, context.cast(builder, value,
                                                                         value_type, dtype)))

        def transposed(flag):
            return builder.select(builder.icmp_signed("==", flag, ir.Constant(flag.type, TRANS)),
                                  ir.Constant(char, ord("t")), ir.Constant(char, ord("n")))

        function = cgutils.get_or_insert_function(
            builder.module,
            ir.FunctionType(ir.IntType(32), [char, char, char, intp, intp, intp,
                                             cgutils.voidptr_t, cgutils.voidptr_t, intp,
                                             cgutils.voidptr_t, intp, cgutils.voidptr_t,
                                             cgutils.voidptr_t, intp]),
            "numba_xxgemm")
        # Row-major C = op(A)·op(B) is column-major Cᵀ = op(B)ᵀ·op(A)ᵀ: swap the operands.
        builder.call(function, (
            ir.Constant(char, ord(_KINDS[dtype])), transposed(tb), transposed(ta),
            as_intp(n_, t[3]), as_intp(m_, t[2]), as_intp(k_, t[4]), slot(alpha_, t[5]),
            void(b), as_intp(ldb_, t[9]), void(a), as_intp(lda_, t[7]), slot(beta_, t[10]),
            void(c), as_intp(ldc_, t[12])))
        return context.get_dummy_value()

    return types.void(trans_a, trans_b, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc), codegen


def scipy_cblas():
    """{"s": address, "d": address} of compiled cblas_?gemm stand-ins (row-major
    only) that call SciPy's BLAS through Numba."""
    ensure_blas()
    addresses = {}
    for kind, dtype in (("s", types.float32), ("d", types.float64)):
        pointer, i32, i64 = types.CPointer(dtype), types.int32, types.int64
        signature = types.void(i32, i32, i32, i64, i64, i64, dtype, pointer, i64, pointer, i64,
                               dtype, pointer, i64)

        def stand_in(order, trans_a, trans_b, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc):
            _xxgemm(trans_a, trans_b, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc)

        addresses[kind] = cfunc(signature, cache=True, nopython=True)(stand_in).address
    return addresses


def bind(choice=None):
    """Bind fastnet_sgemm/dgemm to "numpy"'s BLAS where found, else "scipy"'s;
    ``choice`` defaults to $FASTNET_BLAS, else "numpy".  Returns the one bound."""
    choice = (choice or os.environ.get("FASTNET_BLAS") or "numpy").lower()
    if choice not in ("numpy", "scipy"):
        raise ValueError(f"FASTNET_BLAS: {choice!r} is not a BLAS fastnet knows; "
                         "pass 'numpy' or 'scipy'")
    addresses = numpy_cblas() if choice == "numpy" else None
    if addresses is None:
        choice, addresses = "scipy", scipy_cblas()
    for kind, address in addresses.items():
        binding.add_symbol(f"fastnet_{kind}gemm", address)
    return choice


BLAS = bind()


def _thread_count_functions():
    """(get, set) of the bound OpenBLAS's thread count through ctypes, or
    None where the bound BLAS is not an OpenBLAS fastnet can find."""
    import scipy
    package, pattern, suffix = {"numpy": (np, "*scipy_openblas64*", "64_"),
                                "scipy": (scipy, "*scipy_openblas*", "")}[BLAS]
    functions = _shipped_functions(package, pattern, [f"scipy_openblas_{verb}_num_threads{suffix}"
                                                      for verb in ("get", "set")])
    if functions is None:
        return None
    get, set_ = functions
    get.restype, get.argtypes = ctypes.c_int, []
    set_.restype, set_.argtypes = None, [ctypes.c_int]
    return get, set_


_THREAD_COUNT = _thread_count_functions()
CAN_PIN = _THREAD_COUNT is not None  # fastnet's threads may call BLAS (pinned to one thread)


@contextlib.contextmanager
def one_thread():
    """A context in which the bound BLAS runs every call on its caller's thread
    (so that fastnet's threads can each call it); the count is restored after."""
    if _THREAD_COUNT is None:
        raise RuntimeError("one_thread: the bound BLAS's thread count cannot be set here")
    get, set_ = _THREAD_COUNT
    before = get()
    set_(1)
    try:
        yield
    finally:
        set_(before)


def describe():
    """One line for ``fastnet --version`` and the bench: the BLAS in use."""
    return {"numpy": "NumPy's OpenBLAS", "scipy": "SciPy's BLAS"}[BLAS]
