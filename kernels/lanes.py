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

from .tunables import COLUMN_TILE, TILE


def lanes_for(features):
    """float32 lanes of the widest vector registers the CPU features name:
    16 with AVX-512, 8 with AVX/AVX2, else 4 (SSE, NEON and the like).
    ``features`` is an LLVM feature string such as "+avx2,-avx512f"."""
    flags = flags_of(features)
    if "avx512f" in flags:
        return 16
    if "avx" in flags or "avx2" in flags:
        return 8
    return 4


def cpu_features():
    """The LLVM feature string Numba compiles for: NUMBA_CPU_FEATURES, else the
    host's.  It is part of Numba's cache key, so a cached kernel always
    matches what is chosen from it."""
    return config.CPU_FEATURES or binding.get_host_cpu_features().flatten()


def flags_of(features):
    """The set of features an LLVM feature string turns on, e.g. {"avx2", "fma"}."""
    return {f[1:] for f in features.split(",") if f.startswith("+")}


def cpu_flags():
    """The features ``cpu_features`` turns on."""
    return flags_of(cpu_features())


LANES = lanes_for(cpu_features())  # chosen once
_FLAGS = ("contract", "reassoc", "nsz", "arcp")


def padded(n):
    """n rounded up to a multiple of LANES."""
    return -(-n // LANES) * LANES


def element_pointer(context, builder, array_type, array, offset, offset_type, element):
    """A pointer to array[offset] as a pointer to the LLVM type ``element``
    (a vector of the array's values, a byte, ...): what every intrinsic here
    and in ``pack.py`` and ``barrier.py`` loads or stores through."""
    data = context.make_array(array_type)(context, builder, array).data
    offset = context.cast(builder, offset, offset_type, types.intp)
    return builder.bitcast(builder.gep(data, [offset]), element.as_pointer())


def _lane_pointer(context, builder, array_type, array, offset, offset_type):
    """Pointer to the vector array[offset : offset + LANES]."""
    vector = ir.VectorType(context.get_value_type(array_type.dtype), LANES)
    return element_pointer(context, builder, array_type, array, offset, offset_type, vector)


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


def _entry(context, builder, sig, args, at, k):
    """Sparse entry k of the arguments at positions ``at`` = (w_off, width,
    indices, values): the offset of its row tile in W (intp) and its value."""
    t = sig.args
    w_off, width, indices, values = at
    index_data = context.make_array(t[indices])(context, builder, args[indices]).data
    value_data = context.make_array(t[values])(context, builder, args[values]).data
    index = context.cast(builder, builder.load(builder.gep(index_data, [k])),
                         t[indices].dtype, types.intp)
    row = builder.mul(index, context.cast(builder, args[width], t[width], types.intp))
    row = builder.add(row, context.cast(builder, args[w_off], t[w_off], types.intp))
    return row, builder.load(builder.gep(value_data, [k]))


def _tile_pointer(context, builder, sig, args, where, offset, v):
    """Pointer to vector v of the tile at intp ``offset`` of array argument ``where``."""
    intp = context.get_value_type(types.intp)
    return _lane_pointer(context, builder, sig.args[where], args[where],
                         builder.add(offset, ir.Constant(intp, v * LANES)), types.intp)


def _length(context, builder, sig, args, where):
    """The length of the 1-D array argument ``where``."""
    array = context.make_array(sig.args[where])(context, builder, args[where])
    return builder.extract_value(array.shape, 0)


def _sparse_sum(vectors, sets):
    """An intrinsic ``sum(z, z_off, W, w_off, width, indices, values)`` for one
    tile of ``vectors`` vectors and a sparse row (indices, values (nnz,)):

    z[z_off : +vectors·LANES] += Σ_k values[k] · W[indices[k]·width + w_off : +vectors·LANES]

    The tile stays in registers for the whole loop over k, four entries at a
    time into ``sets`` separate sums per vector added at the end: with one
    running sum each vector would wait on the latency of every addition (a
    narrow tile has too few vectors to hide it).  The sparse forward pass.
    """
    at = (3, 4, 5, 6)

    @intrinsic
    def sparse_sum(typingctx, z, z_off, W, w_off, width, indices, values):
        _check(z, W)
        _check(z, values)

        def codegen(context, builder, sig, args):
            intp = context.get_value_type(types.intp)
            dtype = sig.args[0].dtype
            z_off_ = context.cast(builder, args[1], sig.args[1], types.intp)
            z_tile = [_tile_pointer(context, builder, sig, args, 0, z_off_, v)
                      for v in range(vectors)]
            zero = ir.Constant(ir.VectorType(context.get_value_type(dtype), LANES), None)
            sums = [[cgutils.alloca_once_value(builder, builder.load(p, align=1) if q == 0
                                               else zero) for p in z_tile]
                    for q in range(sets)]

            def add(q, row, x, v):
                pointer = _tile_pointer(context, builder, sig, args, 2, row, v)
                term = builder.fmul(x, builder.load(pointer, align=1), flags=_FLAGS)
                total = builder.fadd(builder.load(sums[q][v]), term, flags=_FLAGS)
                builder.store(total, sums[q][v])

            def entry(k):
                row, value = _entry(context, builder, sig, args, at, k)
                return row, _splat(context, builder, value, dtype, dtype)

            four = ir.Constant(intp, 4)
            n = _length(context, builder, sig, args, 5)
            groups = builder.sdiv(n, four)
            with cgutils.for_range(builder, groups, intp=intp) as loop:
                first = builder.mul(loop.index, four)
                rows = [entry(builder.add(first, ir.Constant(intp, q))) for q in range(4)]
                for v in range(vectors):
                    for q, (row, x) in enumerate(rows):
                        add(q % sets, row, x, v)
            with cgutils.for_range_slice(builder, builder.mul(groups, four), n,
                                         ir.Constant(intp, 1), intp=intp) as (k, _):
                row, x = entry(k)
                for v in range(vectors):
                    add(0, row, x, v)
            for v in range(vectors):
                total = builder.load(sums[0][v])
                for q in range(1, sets):
                    total = builder.fadd(total, builder.load(sums[q][v]), flags=_FLAGS)
                builder.store(total, z_tile[v], align=1)
            return context.get_dummy_value()

        return types.void(z, z_off, W, w_off, width, indices, values), codegen

    return sparse_sum


def _sparse_update(vectors):
    """An intrinsic ``update(W, w_off, width, indices, values, d, d_off,
    alpha)`` for one tile of ``vectors`` vectors and a sparse row (indices,
    values (nnz,)):

    W[indices[k]·width + w_off : +vectors·LANES] += (alpha·values[k]) · d[d_off : +vectors·LANES]

    for every k, the tile of d loaded once (as ``lanes_axpy`` per entry
    otherwise): the sparse gradient step.
    """
    at = (1, 2, 3, 4)

    @intrinsic
    def sparse_update(typingctx, W, w_off, width, indices, values, d, d_off, alpha):
        _check(W, d)
        _check(W, values)

        def codegen(context, builder, sig, args):
            intp = context.get_value_type(types.intp)
            dtype = sig.args[0].dtype
            d_off_ = context.cast(builder, args[6], sig.args[6], types.intp)
            alpha_ = context.cast(builder, args[7], sig.args[7], dtype)
            d_tile = [builder.load(_tile_pointer(context, builder, sig, args, 5, d_off_, v),
                                   align=1) for v in range(vectors)]
            n = _length(context, builder, sig, args, 3)
            with cgutils.for_range(builder, n, intp=intp) as loop:
                row, value = _entry(context, builder, sig, args, at, loop.index)
                x = _splat(context, builder, builder.fmul(alpha_, value), dtype, dtype)
                for v in range(vectors):
                    pointer = _tile_pointer(context, builder, sig, args, 0, row, v)
                    total = builder.fadd(builder.load(pointer, align=1),
                                         builder.fmul(x, d_tile[v], flags=_FLAGS), flags=_FLAGS)
                    builder.store(total, pointer, align=1)
            return context.get_dummy_value()

        return types.void(W, w_off, width, indices, values, d, d_off, alpha), codegen

    return sparse_update


def _column_update(vectors):
    """An intrinsic ``update(W, w_off, D, d_off, ld, samples, values, alpha)``
    for one tile of ``vectors`` vectors of one row of W and the batch's
    non-zeros of that row's input (samples, values (k,)):

    W[w_off : +vectors·LANES] += (alpha·values[k]) · D[samples[k]·ld + d_off : +vectors·LANES]

    for every k in order, the tile of W held in registers: loaded and stored
    once, not once per entry as ``sparse_update`` does (the same operations
    on each weight in the same order: the same result, bit for bit).
    """
    at = (3, 4, 5, 6)

    @intrinsic
    def column_update(typingctx, W, w_off, D, d_off, ld, samples, values, alpha):
        _check(W, D)
        _check(W, values)

        def codegen(context, builder, sig, args):
            intp = context.get_value_type(types.intp)
            dtype = sig.args[0].dtype
            w_off_ = context.cast(builder, args[1], sig.args[1], types.intp)
            alpha_ = context.cast(builder, args[7], sig.args[7], dtype)
            pointers = [_tile_pointer(context, builder, sig, args, 0, w_off_, v)
                        for v in range(vectors)]
            tile = [cgutils.alloca_once_value(builder, builder.load(p, align=1))
                    for p in pointers]
            n = _length(context, builder, sig, args, 5)
            with cgutils.for_range(builder, n, intp=intp) as loop:
                row, value = _entry(context, builder, sig, args, at, loop.index)
                x = _splat(context, builder, builder.fmul(alpha_, value), dtype, dtype)
                for v in range(vectors):
                    d = builder.load(_tile_pointer(context, builder, sig, args, 2, row, v),
                                     align=1)
                    total = builder.fadd(builder.load(tile[v]),
                                         builder.fmul(x, d, flags=_FLAGS), flags=_FLAGS)
                    builder.store(total, tile[v])
            for v in range(vectors):
                builder.store(builder.load(tile[v]), pointers[v], align=1)
            return context.get_dummy_value()

        return types.void(W, w_off, D, d_off, ld, samples, values, alpha), codegen

    return column_update


lanes_sparse_sum4 = _sparse_sum(TILE, 2)
# the last vectors of a row (fewer than a tile), four sums each as one alone has
lanes_sparse_sum1, lanes_sparse_sum2, lanes_sparse_sum3 = (_sparse_sum(v, 4) for v in (1, 2, 3))
lanes_sparse_update4, lanes_sparse_update1, lanes_sparse_update2, lanes_sparse_update3 = (
    _sparse_update(v) for v in (TILE, 1, 2, 3))
lanes_column_update8 = _column_update(COLUMN_TILE)
lanes_column_update4, lanes_column_update1 = _column_update(TILE), _column_update(1)


@intrinsic
def prefetch(typingctx, array, index):
    """Ask the CPU to start loading the cache line holding array[index]."""
    if not isinstance(array, types.Array):
        raise TypeError("prefetch takes an array")

    def codegen(context, builder, sig, args):
        pointer = element_pointer(context, builder, sig.args[0], args[0], args[1], sig.args[1],
                                  ir.IntType(8))
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


(lanes_tile_1x1, lanes_tile_2x1, lanes_tile_3x1, lanes_tile_4x1, lanes_tile_5x1,
 lanes_tile_1x2, lanes_tile_2x2, lanes_tile_3x2, lanes_tile_4x2, lanes_tile_5x2) = (
    _tile(rows, vectors) for vectors in (1, 2) for rows in (1, 2, 3, 4, 5))


def describe():
    """One line for ``fastnet --version`` and the bench: the vector width in use."""
    kind = {16: "AVX-512", 8: "AVX/AVX2"}.get(LANES, "portable")
    return f"{LANES} float32 lanes ({kind})"
