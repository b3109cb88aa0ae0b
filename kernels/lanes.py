"""Explicit vector primitives: ``LANES`` values at a time, as LLVM vector IR.

``LANES`` comes from the CPU at import: 16 float32 lanes with AVX-512, 8
with AVX2, 4 otherwise (``lanes_for``).

Hidden layers are only 10 to a few hundred units wide.  LLVM's own loop
vectoriser unrolls by 32 floats and leaves anything shorter to scalar code,
so fastnet pads every layer's width to a multiple of ``LANES`` (the padding is
all zeros and stays so) and writes the inner loops with these intrinsics.
Each call loads, computes and stores one vector of ``LANES`` values; offsets
are in elements and need no alignment.
"""
from llvmlite import binding, ir
from numba import types
from numba.core import cgutils, config
from numba.extending import intrinsic


def lanes_for(features):
    """float32 lanes of the widest vector registers the CPU features name:
    16 with AVX-512, 8 with AVX/AVX2, else 4 (SSE, NEON and the like).
    ``features`` is an LLVM feature string such as "+avx2,-avx512f"."""
    flags = {f[1:] for f in features.split(",") if f.startswith("+")}
    if "avx512f" in flags:
        return 16
    if "avx" in flags or "avx2" in flags:
        return 8
    return 4


# Chosen once, from the features Numba compiles for (NUMBA_CPU_FEATURES, else
# the host's): those are part of Numba's cache key, so a cached kernel always
# matches this width.
LANES = lanes_for(config.CPU_FEATURES or binding.get_host_cpu_features().flatten())
_FLAGS = ("contract", "reassoc", "nsz", "arcp")


def padded(n):
    """n rounded up to a multiple of LANES."""
    return -(-n // LANES) * LANES


def _lane_pointer(context, builder, array_type, array, offset, offset_type):
    """Pointer to the vector array[offset : offset + LANES]."""
    data = context.make_array(array_type)(context, builder, array).data
    offset = context.cast(builder, offset, offset_type, types.intp)
    vector = ir.VectorType(context.get_value_type(array_type.dtype), LANES)
    return builder.bitcast(builder.gep(data, [offset]), vector.as_pointer())


def _splat(context, builder, x, x_type, dtype):
    """A vector holding x (cast to dtype) in every lane."""
    x = context.cast(builder, x, x_type, dtype)
    vector = ir.VectorType(x.type, LANES)
    undefined = ir.Constant(vector, ir.Undefined)
    first = builder.insert_element(undefined, x, ir.Constant(ir.IntType(32), 0))
    zeros = ir.Constant(ir.VectorType(ir.IntType(32), LANES), [0] * LANES)
    return builder.shuffle_vector(first, undefined, zeros)


def _check(dst, src):
    if not (isinstance(dst, types.Array) and isinstance(src, types.Array)
            and dst.dtype == src.dtype and dst.ndim == src.ndim == 1):
        raise TypeError("lanes intrinsics take two 1-D arrays of one dtype")


@intrinsic
def lanes_axpy(typingctx, dst, dst_off, src, src_off, x):
    """dst[dst_off : +LANES] += x * src[src_off : +LANES]."""
    _check(dst, src)

    def codegen(context, builder, sig, args):
        d_type, d_off_type, s_type, s_off_type, x_type = sig.args
        d, d_off, s, s_off, x = args
        d_ptr = _lane_pointer(context, builder, d_type, d, d_off, d_off_type)
        s_ptr = _lane_pointer(context, builder, s_type, s, s_off, s_off_type)
        product = builder.fmul(_splat(context, builder, x, x_type, d_type.dtype),
                               builder.load(s_ptr, align=1), flags=_FLAGS)
        total = builder.fadd(builder.load(d_ptr, align=1), product, flags=_FLAGS)
        builder.store(total, d_ptr, align=1)
        return context.get_dummy_value()

    return types.void(dst, dst_off, src, src_off, x), codegen


@intrinsic
def lanes_axpy4(typingctx, dst, dst_off, src, off0, off1, off2, off3, x0, x1, x2, x3):
    """dst[dst_off : +LANES] += Σ_k x_k * src[off_k : +LANES], k = 0..3.

    One load and store of dst for four rows of src: the sparse forward pass.
    """
    _check(dst, src)

    def codegen(context, builder, sig, args):
        d_type, d_off_type, s_type = sig.args[:3]
        d_ptr = _lane_pointer(context, builder, d_type, args[0], args[1], d_off_type)
        terms = []
        for k in range(4):
            row = _lane_pointer(context, builder, s_type, args[2], args[3 + k], sig.args[3 + k])
            scale = _splat(context, builder, args[7 + k], sig.args[7 + k], d_type.dtype)
            terms.append(builder.fmul(scale, builder.load(row, align=1), flags=_FLAGS))
        pair0 = builder.fadd(terms[0], terms[1], flags=_FLAGS)
        pair1 = builder.fadd(terms[2], terms[3], flags=_FLAGS)
        total = builder.fadd(builder.load(d_ptr, align=1),
                             builder.fadd(pair0, pair1, flags=_FLAGS), flags=_FLAGS)
        builder.store(total, d_ptr, align=1)
        return context.get_dummy_value()

    return types.void(dst, dst_off, src, off0, off1, off2, off3, x0, x1, x2, x3), codegen


@intrinsic
def prefetch(typingctx, array, index):
    """Ask the CPU to start loading the cache line holding array[index]."""
    if not isinstance(array, types.Array):
        raise TypeError("prefetch takes an array")

    def codegen(context, builder, sig, args):
        data = context.make_array(sig.args[0])(context, builder, args[0]).data
        offset = context.cast(builder, args[1], sig.args[1], types.intp)
        pointer = builder.bitcast(builder.gep(data, [offset]), ir.IntType(8).as_pointer())
        i32 = ir.IntType(32)
        signature = ir.FunctionType(ir.VoidType(), [pointer.type, i32, i32, i32])
        function = builder.module.declare_intrinsic("llvm.prefetch", [pointer.type], signature)
        builder.call(function, [pointer, i32(0), i32(3), i32(1)])
        return context.get_dummy_value()

    return types.void(array, index), codegen


def _tile(rows, vectors):
    """An intrinsic for one register tile of ``rows`` × ``vectors`` vectors:

    C[c_off + r·ldc + v·LANES : +LANES] = (C if add else 0) +
        alpha · Σ_{q < count} A[a_off + r·a_row + q·a_step] · B[b_off + q·ldb + v·LANES : +LANES]

    for r < rows, v < vectors.  The rows·vectors sums stay in registers for
    the whole loop over q: each loaded vector of B serves ``rows`` products.
    """
    @intrinsic
    def tile(typingctx, C, c_off, ldc, A, a_off, a_row, a_step, B, b_off, ldb, count, alpha,
             add):
        _check(C, B)
        _check(C, A)

        def codegen(context, builder, sig, args):
            t = sig.args
            intp = context.get_value_type(types.intp)
            cast = lambda i: context.cast(builder, args[i], t[i], types.intp)  # noqa: E731
            C_, A_, B_ = args[0], args[3], args[7]
            c_off_, ldc_, a_off_, a_row_, a_step_ = cast(1), cast(2), cast(4), cast(5), cast(6)
            b_off_, ldb_, count_ = cast(8), cast(9), cast(10)
            dtype = t[0].dtype
            scalar = context.get_value_type(dtype)
            vector = ir.VectorType(scalar, LANES)
            a_data = context.make_array(t[3])(context, builder, A_).data
            zero = ir.Constant(vector, None)
            sums = [[cgutils.alloca_once_value(builder, zero) for _ in range(vectors)]
                    for _ in range(rows)]
            with cgutils.for_range(builder, count_, intp=intp) as loop:
                q = loop.index
                b_row = builder.add(b_off_, builder.mul(q, ldb_))
                loaded = [builder.load(_lane_pointer(
                    context, builder, t[7], B_,
                    builder.add(b_row, ir.Constant(intp, v * LANES)), types.intp), align=1)
                    for v in range(vectors)]
                for r in range(rows):
                    where = builder.add(builder.add(a_off_, builder.mul(ir.Constant(intp, r),
                                                                        a_row_)),
                                        builder.mul(q, a_step_))
                    x = builder.load(builder.gep(a_data, [where]))
                    x = _splat(context, builder, x, dtype, dtype)
                    for v in range(vectors):
                        total = builder.fadd(builder.load(sums[r][v]),
                                             builder.fmul(x, loaded[v], flags=_FLAGS),
                                             flags=_FLAGS)
                        builder.store(total, sums[r][v])
            scale = _splat(context, builder, args[11], t[11], dtype)
            add = context.cast(builder, args[12], t[12], types.boolean)
            for r in range(rows):
                for v in range(vectors):
                    off = builder.add(builder.add(c_off_, builder.mul(ir.Constant(intp, r), ldc_)),
                                      ir.Constant(intp, v * LANES))
                    pointer = _lane_pointer(context, builder, t[0], C_, off, types.intp)
                    value = builder.fmul(scale, builder.load(sums[r][v]), flags=_FLAGS)
                    old = builder.load(pointer, align=1)
                    value = builder.select(add, builder.fadd(old, value, flags=_FLAGS), value)
                    builder.store(value, pointer, align=1)
            return context.get_dummy_value()

        return types.void(C, c_off, ldc, A, a_off, a_row, a_step, B, b_off, ldb, count, alpha,
                          add), codegen

    return tile


lanes_tile_4x2 = _tile(4, 2)
lanes_tile_4x1 = _tile(4, 1)
lanes_tile_1x2 = _tile(1, 2)
lanes_tile_1x1 = _tile(1, 1)


def describe():
    """One line for ``fastnet --version`` and the bench: the vector width in use."""
    kind = {16: "AVX-512", 8: "AVX/AVX2"}.get(LANES, "portable")
    return f"{LANES} float32 lanes ({kind})"
