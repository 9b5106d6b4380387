"""SIMD vectors and software prefetch for the SpMM and dense kernels, and the atomic load and
pause instruction the thread pool polls with: LLVM features Numba does not expose.

Numba has no vector type, and it runs LLVM without the SLP vectoriser. A loop that adds a
neighbour's feature row into an output row therefore either loads and stores that row on every
edge (a store-to-load chain per edge), or, written over a fixed-size block, is fully unrolled
before the loop vectoriser runs and comes out scalar. Here an accumulator is a tuple of LLVM
``<8 x float>`` (``<4 x double>``) vectors: tuples live in registers, each ``vector_fma_row``
is one vector multiply-add per register, and the last vector loads and stores only its valid
lanes (masked, so it never touches memory past the row). Against the scalar kernels this
replaced, SpMM got several times faster at narrow widths and markedly faster at wide ones
(bench/kernel_parts.py measures the kernels as they ship).

Every function here has a pure-Python body that runs without the JIT (``NUMBA_DISABLE_JIT``),
so the kernel tests can also check the compiled kernels' Python logic.
"""

import platform

import numpy as np
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.core import config as numba_config
from numba.extending import intrinsic, models, register_model

from ._elementary import ERF_DENOMINATOR, ERF_LIMIT, ERF_NUMERATOR
from ._epilogue import gelu
from ._precompiled import target_features

# The kernels' FASTMATH as LLVM flags (contraction into FMA, reassociation), without nnan/ninf.
_FAST_MATH = ("contract", "reassoc", "nsz", "arcp", "afn")


_TARGET_FEATURES = target_features()
# Bytes of the widest float vector register of the CPU Numba compiles for (the host, unless
# NUMBA_CPU_NAME names another; Numba's cache is keyed by the same target, so a cached kernel
# always matches this width): 64 with AVX-512, else 32 (AVX2; LLVM splits a 32-byte vector
# into two on 128-bit SIMD such as NEON or SSE, which stays correct).
VECTOR_BYTES = 64 if "avx512f" in _TARGET_FEATURES else 32
# Whether the host's AVX-512 has VNNI (``vpdpbusd``: 64 byte products summed into 16 int32
# lanes per instruction) and Numba compiles for the host itself. An explicit target
# (``NUMBA_CPU_NAME``, as a precompiled bundle sets) never gets it: code for it must run on
# every CPU of that target.
HAS_BYTE_DOT = VECTOR_BYTES == 64 and numba_config.CPU_NAME is None \
    and {"avx512vnni", "avx512bw"} <= _TARGET_FEATURES
CHUNK_VECTORS = 8  # vectors per accumulator chunk: 8 of the 16 AVX2 (32 AVX-512) registers


def vector_lanes(itemsize: int) -> int:
    """Elements per vector of an ``itemsize``-byte float."""
    return VECTOR_BYTES // itemsize


class Vector(types.Type):
    """An LLVM SIMD vector of ``lanes`` floats of ``dtype`` (a Numba value in registers).

    ``masked``: in a tuple, the last vector loads and stores only its valid lanes; tuples of
    unmasked vectors always move whole vectors (masked stores are slow on AMD Zen).
    ``overread`` (masked tuples, without AVX-512): the last vector loads whole wherever that
    stays inside the array (it reads the next row's first elements), so its lanes past the
    valid ones hold any value: only for kernels that keep lanes apart and store masked."""

    def __init__(self, dtype, lanes: int, masked: bool = True, overread: bool = False):
        self.dtype, self.lanes, self.masked, self.overread = dtype, lanes, masked, overread
        kind = (", overread" if overread else "") if masked else ", full"
        super().__init__(name=f"Vector({dtype} x {lanes}{kind})")


@register_model(Vector)
class _VectorModel(models.PrimitiveModel):
    def __init__(self, dmm, fe_type):
        element = dmm.lookup(fe_type.dtype).get_value_type()
        super().__init__(dmm, fe_type, ir.VectorType(element, fe_type.lanes))


# ------------------------------------------------------------------------- Python bodies
def vector_zeros(like, count):
    """A tuple of ``count`` zero vectors of ``like``'s float dtype (``count`` a constant)."""
    return tuple(np.zeros(vector_lanes(like.itemsize), like.dtype) for _ in range(count))


def full_vector_zeros(like, count):
    """As ``vector_zeros``, for spans whose vectors are all whole (``tail`` is then ignored
    by the compiled intrinsics: callers pass the lane count)."""
    return vector_zeros(like, count)


def overread_vector_zeros(like, count):
    """As ``vector_zeros``, for kernels whose lanes never mix and whose stores are masked: a
    partial last vector may load whole where the array goes on past it (``Vector.overread``;
    the lanes past ``tail`` then hold any value, zeros here)."""
    return vector_zeros(like, count)


def vector_halves(like, low, high):
    """One whole vector of ``like``'s float dtype: ``low`` in the first half of its lanes,
    ``high`` in the second (two heads' weights against a row of two heads' channels)."""
    half = vector_lanes(like.itemsize) // 2
    return (np.array([low] * half + [high] * half, like.dtype),)


def vector_fma_row(accumulator, weight, x, row, column, tail):
    """``accumulator + weight * x[row, column:]``: vector ``i`` gets the ``lanes`` elements from
    ``column + i * lanes``, the last one only its first ``tail`` (the rest are 0).
    ``x`` is 2-D C-contiguous; the caller guarantees the span lies inside the row."""
    lanes = accumulator[0].shape[0]
    out = []
    for i, vector in enumerate(accumulator):
        valid = tail if i == len(accumulator) - 1 else lanes
        start = column + i * lanes
        loaded = np.zeros(lanes, vector.dtype)
        loaded[:valid] = x[row, start:start + valid]
        out.append(vector + vector.dtype.type(weight) * loaded)
    return tuple(out)


def vector_fma_codes(accumulator, weight, codes, row, column):
    """``accumulator + weight * codes[row, column:]`` for int8 ``codes`` (converted to the
    accumulator's float type); every vector is whole (the caller pads the row)."""
    lanes = accumulator[0].shape[0]
    return tuple(vector + vector.dtype.type(weight) * codes[row, column + i * lanes:
                                                           column + (i + 1) * lanes].astype(vector.dtype)
                 for i, vector in enumerate(accumulator))


def vector_dot_bytes(accumulator, packed, codes, row, column):
    """``vpdpbusd``: lane ``j`` of vector ``i`` gains ``sum_b u8(packed, byte b) *
    codes[row, column + (i * lanes + j) * 4 + b]`` for ``b < 4`` (``packed`` an int32 holding
    four unsigned bytes, least significant first; ``codes`` int8). The accumulator holds int32
    vectors; only where ``HAS_BYTE_DOT`` is true may compiled code call it."""
    lanes = accumulator[0].shape[0]
    query = np.frombuffer(np.int32(packed).astype("<i4").tobytes(), np.uint8).astype(np.int64)
    out = []
    for i, vector in enumerate(accumulator):
        start = column + i * lanes * 4
        span = codes[row, start:start + lanes * 4].astype(np.int64).reshape(lanes, 4)
        out.append((vector + span @ query).astype(vector.dtype))
    return tuple(out)


def vector_max(accumulator):
    """The largest lane of a tuple of float vectors (all lanes are finite)."""
    return max(float(vector.max()) for vector in accumulator)


def vector_byte_scores(accumulator, offsets, scales, row, factor):
    """Float vectors ``(accumulator - offsets[row, :]) * scales[row, :] * factor`` from int32
    sums (``vector_dot_bytes``): the difference is taken in int32, so it is exact, and only
    then converted. ``offsets`` int32 and ``scales`` float32 are 2-D with rows as wide as the
    tuple's lanes."""
    lanes = accumulator[0].shape[0]
    out = []
    for i, vector in enumerate(accumulator):
        span = slice(i * lanes, (i + 1) * lanes)
        exact = (vector.astype(np.int64) - offsets[row, span]).astype(np.float32)
        out.append(exact * scales[row, span] * np.float32(factor))
    return tuple(out)


def vector_store_row(accumulator, out, row, column, tail):
    """Write the tuple to ``out[row, column:]`` (the last vector's first ``tail`` lanes)."""
    lanes = accumulator[0].shape[0]
    for i, vector in enumerate(accumulator):
        valid = tail if i == len(accumulator) - 1 else lanes
        start = column + i * lanes
        out[row, start:start + valid] = vector[:valid]


def full_vectors(accumulator):
    """The same vectors, typed as whole ones (as ``full_vector_zeros`` makes): their later
    loads and stores move every lane. The lanes a masked load left out are zeros."""
    return accumulator


def vector_scale(accumulator, factor):
    """Every vector times ``factor``."""
    return tuple(vector * vector.dtype.type(factor) for vector in accumulator)


def vector_activate(accumulator, code, slope):
    """ReLU (``code`` 1), leaky ReLU (3, negative ``slope``) or, on float32, GELU (6) per
    lane, as ``finish_row`` computes them (NaN stays NaN); any other code leaves the vectors
    unchanged (``_epilogue.applied_in_registers``)."""
    if code == 6 and accumulator and accumulator[0].dtype == np.float32:
        return tuple(np.array([gelu(value) for value in v], v.dtype) for v in accumulator)
    if code == 1:
        return tuple(np.where(v > 0, v, v * 0) for v in accumulator)
    if code == 3:
        return tuple(np.where(v > 0, v, v * v.dtype.type(slope)) for v in accumulator)
    return accumulator


def vector_mul_row(accumulator, x, row, column, tail):
    """``accumulator * x[row, column:]`` lane by lane (spans and tails as ``vector_fma_row``)."""
    lanes = accumulator[0].shape[0]
    out = []
    for i, vector in enumerate(accumulator):
        valid = tail if i == len(accumulator) - 1 else lanes
        start = column + i * lanes
        loaded = np.zeros(lanes, vector.dtype)
        loaded[:valid] = x[row, start:start + valid]
        out.append(vector * loaded)
    return tuple(out)


def vector_add(first, second):
    """Lane-wise sum of two tuples of the same vector type and length."""
    return tuple(a + b for a, b in zip(first, second))


def vector_mul(first, second):
    """Lane-wise product of two tuples of the same vector type and length."""
    return tuple(a * b for a, b in zip(first, second))


def vector_add_scalar(accumulator, value):
    """Every lane plus ``value``."""
    return tuple(vector + vector.dtype.type(value) for vector in accumulator)


def transpose_tile(src, src_row, src_col, dst, dst_row, dst_col, rows, cols):
    """``dst[dst_row + j, dst_col + i] = src[src_row + i, src_col + j]`` for ``i < rows`` and
    ``j < cols`` (both at most ``lanes``, one vector): a tile's rows become columns.

    Both arrays are 2-D C-contiguous of one float dtype. The ``lanes`` rows of ``dst`` from
    ``dst_row`` are written whole when ``rows == cols == lanes``; otherwise only the ``cols``
    rows of the tile, each masked to ``rows`` lanes, so nothing outside the tile is read or
    written. Compiled, a whole tile is ``lanes`` loads, ``lanes * log2(lanes)`` shuffles
    (``transpose_network``) and ``lanes`` stores."""
    dst[dst_row:dst_row + cols, dst_col:dst_col + rows] = \
        src[src_row:src_row + rows, src_col:src_col + cols].T


def data_address(array):
    """The address of ``array``'s first element (to align views of it)."""
    return array.__array_interface__["data"][0]


def prefetch_row(accumulator, x, row, column):
    """Hint the CPU to fetch the span of ``x[row, column:]`` that ``accumulator`` covers; the
    hint never faults, whatever the address. Without the JIT it does nothing.

    Rows gathered through an index array defeat the hardware prefetcher; asking for a row a few
    edges ahead overlaps its memory latency with the current edge's arithmetic."""


def prefetch_row_for_write(accumulator, x, row, column):
    """``prefetch_row`` for a span about to be written: the lines arrive owned, so the stores
    need no read-for-ownership of their own."""


def load_acquire(flag):
    """``flag[0]`` (an int64 array), read from memory on every call: another thread's store
    becomes visible to a loop that polls it (a plain load may be hoisted out of the loop)."""
    return flag[0]


def spin_pause():
    """Tell the core that this is a polling loop (x86 ``pause``, Arm ``yield``): it waits a
    little between polls and spares the sibling hardware thread. Without the JIT, nothing."""


# ------------------------------------------------------------------------- compiled versions
def _is_vector_tuple(value) -> bool:
    return isinstance(value, types.UniTuple) and isinstance(value.dtype, Vector)


def _is_row_major(array) -> bool:
    return isinstance(array, types.Array) and array.ndim == 2 and array.layout == "C"


def _zeros(like, count, masked: bool, overread: bool = False):
    """Signature and codegen of a tuple of ``count`` zero vectors, or None."""
    if not (isinstance(like, types.Array) and isinstance(like.dtype, (types.Float, types.Integer))
            and isinstance(count, types.IntegerLiteral) and count.literal_value > 0):
        return None
    vector = Vector(like.dtype, vector_lanes(like.dtype.bitwidth // 8), masked, overread)
    result = types.UniTuple(vector, count.literal_value)

    def codegen(context, builder, signature, args):
        zero = ir.Constant(context.get_value_type(vector), None)
        return context.make_tuple(builder, result, [zero] * result.count)

    return result(like, count), codegen


@intrinsic
def _vector_zeros(typingctx, like, count):
    return _zeros(like, count, masked=True)


@intrinsic
def _full_vector_zeros(typingctx, like, count):
    return _zeros(like, count, masked=False)


@intrinsic
def _overread_vector_zeros(typingctx, like, count):
    return _zeros(like, count, masked=True, overread=VECTOR_BYTES < 64)


def _row_address(context, builder, array_type, array, row_type, row, column_type, column):
    """Integer address of ``array[row, column]`` (2-D C array; no bounds check)."""
    view = context.make_array(array_type)(context, builder, array)
    row_stride, item_stride = cgutils.unpack_tuple(builder, view.strides, 2)
    offset = builder.add(
        builder.mul(context.cast(builder, row, row_type, types.intp), row_stride),
        builder.mul(context.cast(builder, column, column_type, types.intp), item_stride))
    return builder.add(builder.ptrtoint(view.data, offset.type), offset)


def _element_bytes(context, vector):
    return context.get_abi_sizeof(context.get_value_type(vector.dtype))


def _lane_mask(builder, lanes: int, valid):
    """``<lanes x i1>``: lane ``i`` is on when ``i < valid`` (an i32)."""
    i32 = ir.IntType(32)
    lane_ids = ir.Constant(ir.VectorType(i32, lanes), list(range(lanes)))
    splat = builder.insert_element(ir.Constant(ir.VectorType(i32, lanes), None), valid,
                                   ir.Constant(i32, 0))
    splat = builder.shuffle_vector(splat, splat, ir.Constant(ir.VectorType(i32, lanes), [0] * lanes))
    return builder.icmp_signed("<", lane_ids, splat)


def _masked_intrinsic(builder, name: str, vector_type):
    """``llvm.masked.load`` / ``llvm.masked.store`` for ``vector_type``."""
    i32 = ir.IntType(32)
    mask_type = ir.VectorType(ir.IntType(1), vector_type.count)
    element = "f32" if isinstance(vector_type.element, ir.FloatType) else "f64"
    suffix = f"v{vector_type.count}{element}.p0"
    if name == "load":
        signature = ir.FunctionType(vector_type, [vector_type.as_pointer(), i32, mask_type,
                                                  vector_type])
    else:
        signature = ir.FunctionType(ir.VoidType(), [vector_type, vector_type.as_pointer(), i32,
                                                    mask_type])
    return cgutils.get_or_insert_function(builder.module, signature, f"llvm.masked.{name}.{suffix}")


def _lane_pieces(lanes: int, count: int):
    """``(offset, size)`` of whole sub-vectors of halving sizes that cover lanes ``0..count``."""
    pieces, offset, size = [], 0, lanes
    while size:
        if count & size:
            pieces.append((offset, size))
            offset += size
        size //= 2
    return pieces


def _per_lane_count(builder, vector_type, pointer, valid, piece):
    """``piece(count, address)`` emitted once per lane count ``1..lanes``, behind a switch on
    ``valid`` (an i32, clamped to ``0..lanes``; 0 runs none); returns ``[(value, block)]`` of
    the cases, and the default's block, with the builder at the join."""
    lanes = vector_type.count
    i32 = ir.IntType(32)
    count = builder.select(builder.icmp_signed(">", valid, ir.Constant(i32, lanes)),
                           ir.Constant(i32, lanes), valid)
    address = builder.ptrtoint(pointer, cgutils.intp_t)
    entry = builder.block
    join = builder.append_basic_block("lanes.join")
    switch = builder.switch(count, join)
    results = []
    for n in range(1, lanes + 1):
        block = builder.append_basic_block(f"lanes.{n}")
        switch.add_case(ir.Constant(i32, n), block)
        builder.position_at_end(block)
        value = piece(n, address)
        results.append((value, builder.block))
        builder.branch(join)
    builder.position_at_end(join)
    return results, entry


def _piece_pointer(builder, address, offset: int, size: int, element, element_bytes: int):
    piece_type = element if size == 1 else ir.VectorType(element, size)
    return builder.inttoptr(builder.add(address, ir.Constant(address.type, offset * element_bytes)),
                            piece_type.as_pointer())


def _load_lanes(builder, vector_type, pointer, valid, element_bytes: int):
    """The first ``valid`` lanes (an i32) of the vector at ``pointer``, the others zero, with no
    memory read past them: a masked load with AVX-512; else plain loads of whole sub-vectors of
    halving sizes (AVX2's ``vmaskmovps`` is microcoded on AMD Zen: bench/kernel_parts.py)."""
    if VECTOR_BYTES == 64:
        return builder.call(_masked_intrinsic(builder, "load", vector_type),
                            [pointer, ir.Constant(ir.IntType(32), element_bytes),
                             _lane_mask(builder, vector_type.count, valid),
                             ir.Constant(vector_type, None)])
    lanes, element, i32 = vector_type.count, vector_type.element, ir.IntType(32)
    zeros = ir.Constant(vector_type, [0.0] * lanes)

    def piece(count, address):
        value = zeros
        for offset, size in _lane_pieces(lanes, count):
            loaded = builder.load(_piece_pointer(builder, address, offset, size, element,
                                                 element_bytes), align=element_bytes)
            if size == 1:
                value = builder.insert_element(value, loaded, ir.Constant(i32, offset))
            elif size == lanes:
                value = loaded
            else:  # widen the piece, then put its lanes in place
                wide = builder.shuffle_vector(loaded, loaded, ir.Constant(
                    ir.VectorType(i32, lanes), [i % size for i in range(lanes)]))
                value = builder.shuffle_vector(value, wide, ir.Constant(
                    ir.VectorType(i32, lanes),
                    [lanes + i - offset if offset <= i < offset + size else i
                     for i in range(lanes)]))
        return value

    results, entry = _per_lane_count(builder, vector_type, pointer, valid, piece)
    merged = builder.phi(vector_type)
    merged.add_incoming(zeros, entry)
    for value, block in results:
        merged.add_incoming(value, block)
    return merged


def _store_lanes(builder, value, pointer, valid, element_bytes: int) -> None:
    """Store the first ``valid`` lanes (an i32) of ``value`` at ``pointer``, nothing past them:
    a masked store with AVX-512, else plain stores of whole sub-vectors (``_load_lanes``)."""
    vector_type = value.type
    if VECTOR_BYTES == 64:
        builder.call(_masked_intrinsic(builder, "store", vector_type),
                     [value, pointer, ir.Constant(ir.IntType(32), element_bytes),
                      _lane_mask(builder, vector_type.count, valid)])
        return
    lanes, element, i32 = vector_type.count, vector_type.element, ir.IntType(32)

    def piece(count, address):
        for offset, size in _lane_pieces(lanes, count):
            if size == 1:
                part = builder.extract_element(value, ir.Constant(i32, offset))
            elif size == lanes:
                part = value
            else:
                part = builder.shuffle_vector(value, value, ir.Constant(
                    ir.VectorType(i32, size), list(range(offset, offset + size))))
            builder.store(part, _piece_pointer(builder, address, offset, size, element,
                                               element_bytes), align=element_bytes)

    _per_lane_count(builder, vector_type, pointer, valid, piece)


def _vector_addresses(context, builder, vector, count, array_type, array, row_type, row,
                      column_type, column):
    vector_type = context.get_value_type(vector)
    base = _row_address(context, builder, array_type, array, row_type, row, column_type, column)
    step = vector.lanes * _element_bytes(context, vector)
    return vector_type, [builder.inttoptr(builder.add(base, ir.Constant(base.type, i * step)),
                                          vector_type.as_pointer()) for i in range(count)]


def _load_span(context, builder, vector, count, array_type, array, row_type, row, column_type,
               column, tail_type, tail):
    """The ``count`` vectors of ``array[row, column:]``; the last one loads only ``tail``
    lanes (masked) unless the vector type is unmasked, or overread where the whole vector
    lies inside the array (a C array: its ``nitems`` elements from ``data``)."""
    vector_type, pointers = _vector_addresses(context, builder, vector, count, array_type, array,
                                              row_type, row, column_type, column)
    element_bytes = _element_bytes(context, vector)
    valid = context.cast(builder, tail, tail_type, types.int32)
    loaded = []
    for i, pointer in enumerate(pointers):
        if i < len(pointers) - 1 or not vector.masked:
            loaded.append(builder.load(pointer, align=element_bytes))
            continue

        def masked_load(pointer=pointer):  # the last vector: only its valid lanes touch memory
            return _load_lanes(builder, vector_type, pointer, valid, element_bytes)

        inside = None
        if vector.overread:
            view = context.make_array(array_type)(context, builder, array)
            start = builder.ptrtoint(view.data, cgutils.intp_t)
            end = builder.add(start, builder.mul(view.nitems,
                                                 ir.Constant(cgutils.intp_t, element_bytes)))
            vector_end = builder.add(builder.ptrtoint(pointer, cgutils.intp_t),
                                     ir.Constant(cgutils.intp_t, vector.lanes * element_bytes))
            inside = builder.icmp_unsigned("<=", vector_end, end)
        loaded.append(_unless_whole(builder, vector, valid, masked_load,
                                    lambda pointer=pointer: builder.load(pointer,
                                                                         align=element_bytes),
                                    inside))
    return loaded


def _unless_whole(builder, vector, valid, masked, whole, inside=None):
    """``masked()``'s value, or where every lane is valid and masking is not native to the CPU
    (there ``masked()`` is ``_load_lanes`` / ``_store_lanes``' switch on the lane count),
    ``whole()``'s, behind a branch on ``valid`` that
    stays predicted in a kernel's loops (bench/kernel_parts.py: the branch per entry, against
    kernels compiled for a whole tail). ``inside`` (an i1, overread loads): the whole vector
    may be read although not all its lanes are valid."""
    if VECTOR_BYTES == 64:  # AVX-512 masks are free
        return masked()
    is_whole = builder.icmp_signed("==", valid, ir.Constant(valid.type, vector.lanes))
    if inside is not None:
        is_whole = builder.or_(is_whole, inside)
    with builder.if_else(is_whole, likely=True) as (then, otherwise):
        with then:
            whole_value = whole()
            whole_block = builder.block
        with otherwise:
            masked_value = masked()
            masked_block = builder.block
    if whole_value is None:
        return None
    merged = builder.phi(whole_value.type)
    merged.add_incoming(whole_value, whole_block)
    merged.add_incoming(masked_value, masked_block)
    return merged


def _is_span_call(accumulator, x, row, column, tail) -> bool:
    return (_is_vector_tuple(accumulator) and _is_row_major(x)
            and x.dtype == accumulator.dtype.dtype
            and all(isinstance(t, types.Integer) for t in (row, column, tail)))


@intrinsic
def _vector_halves(typingctx, like, low, high):
    if not (isinstance(like, types.Array) and isinstance(like.dtype, types.Float)
            and all(isinstance(t, (types.Float, types.Integer)) for t in (low, high))):
        return None
    vector = Vector(like.dtype, vector_lanes(like.dtype.bitwidth // 8), masked=False)
    result = types.UniTuple(vector, 1)

    def codegen(context, builder, signature, args):
        _, low_type, high_type = signature.args
        vector_type = context.get_value_type(vector)
        i32 = ir.IntType(32)
        pair = builder.insert_element(
            ir.Constant(vector_type, None),
            context.cast(builder, args[1], low_type, vector.dtype), ir.Constant(i32, 0))
        pair = builder.insert_element(
            pair, context.cast(builder, args[2], high_type, vector.dtype), ir.Constant(i32, 1))
        half = vector.lanes // 2
        spread = builder.shuffle_vector(pair, pair, ir.Constant(ir.VectorType(i32, vector.lanes),
                                                                [0] * half + [1] * half))
        return context.make_tuple(builder, result, [spread])

    return result(like, low, high), codegen


@intrinsic
def _vector_fma_row(typingctx, accumulator, weight, x, row, column, tail):
    if not (_is_span_call(accumulator, x, row, column, tail)
            and isinstance(weight, (types.Float, types.Integer))):
        return None
    vector = accumulator.dtype

    def codegen(context, builder, signature, args):
        sums, weight_value, x_value, row_value, column_value, tail_value = args
        _, weight_type, x_type, row_type, column_type, tail_type = signature.args
        loaded = _load_span(context, builder, vector, accumulator.count, x_type, x_value,
                            row_type, row_value, column_type, column_value, tail_type,
                            tail_value)
        splat = _splat(context, builder, vector, weight_value, weight_type)
        return context.make_tuple(builder, signature.return_type, [
            builder.fadd(builder.extract_value(sums, i),
                         builder.fmul(splat, value, flags=_FAST_MATH), flags=_FAST_MATH)
            for i, value in enumerate(loaded)])

    return accumulator(accumulator, weight, x, row, column, tail), codegen


@intrinsic
def _vector_fma_codes(typingctx, accumulator, weight, codes, row, column):
    if not (_is_vector_tuple(accumulator) and _is_row_major(codes) and codes.dtype == types.int8
            and isinstance(weight, (types.Float, types.Integer))
            and all(isinstance(t, types.Integer) for t in (row, column))):
        return None
    vector = accumulator.dtype

    def codegen(context, builder, signature, args):
        sums, weight_value, codes_value, row_value, column_value = args
        _, weight_type, codes_type, row_type, column_type = signature.args
        base = _row_address(context, builder, codes_type, codes_value, row_type, row_value,
                            column_type, column_value)
        byte_vector = ir.VectorType(ir.IntType(8), vector.lanes)
        float_vector = context.get_value_type(vector)
        splat = _splat(context, builder, vector, weight_value, weight_type)
        out = []
        for i in range(accumulator.count):
            pointer = builder.inttoptr(builder.add(base, ir.Constant(base.type, i * vector.lanes)),
                                       byte_vector.as_pointer())
            loaded = builder.sitofp(builder.load(pointer, align=1), float_vector)
            out.append(builder.fadd(builder.extract_value(sums, i),
                                    builder.fmul(splat, loaded, flags=_FAST_MATH), flags=_FAST_MATH))
        return context.make_tuple(builder, signature.return_type, out)

    return accumulator(accumulator, weight, codes, row, column), codegen


@intrinsic
def _vector_dot_bytes(typingctx, accumulator, packed, codes, row, column):
    if not (_is_vector_tuple(accumulator) and accumulator.dtype.dtype == types.int32
            and accumulator.dtype.lanes == 16 and _is_row_major(codes)
            and codes.dtype == types.int8 and isinstance(packed, types.Integer)
            and all(isinstance(t, types.Integer) for t in (row, column))):
        return None
    vector = accumulator.dtype

    def codegen(context, builder, signature, args):
        sums, packed_value, codes_value, row_value, column_value = args
        _, packed_type, codes_type, row_type, column_type = signature.args
        base = _row_address(context, builder, codes_type, codes_value, row_type, row_value,
                            column_type, column_value)
        lanes = ir.VectorType(ir.IntType(32), 16)
        dot = cgutils.get_or_insert_function(builder.module,
                                             ir.FunctionType(lanes, [lanes, lanes, lanes]),
                                             "llvm.x86.avx512.vpdpbusd.512")
        splat = _splat(context, builder, vector, packed_value, packed_type)
        out = []
        for i in range(accumulator.count):
            pointer = builder.inttoptr(builder.add(base, ir.Constant(base.type, i * 64)),
                                       lanes.as_pointer())
            out.append(builder.call(dot, [builder.extract_value(sums, i), splat,
                                          builder.load(pointer, align=1)]))
        return context.make_tuple(builder, signature.return_type, out)

    return accumulator(accumulator, packed, codes, row, column), codegen


@intrinsic
def _vector_max(typingctx, accumulator):
    if not (_is_vector_tuple(accumulator) and isinstance(accumulator.dtype.dtype, types.Float)):
        return None
    vector = accumulator.dtype

    def codegen(context, builder, signature, args):
        (sums,) = args
        vector_type = context.get_value_type(vector)
        best = builder.extract_value(sums, 0)
        for i in range(1, accumulator.count):  # lane-wise first, then one reduction
            value = builder.extract_value(sums, i)
            best = builder.select(builder.fcmp_ordered(">", value, best), value, best)
        element = "f32" if vector.dtype == types.float32 else "f64"
        reduce = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(vector_type.element, [vector_type]),
            f"llvm.vector.reduce.fmax.v{vector.lanes}{element}")
        return builder.call(reduce, [best])

    return vector.dtype(accumulator), codegen


@intrinsic
def _vector_byte_scores(typingctx, accumulator, offsets, scales, row, factor):
    if not (_is_vector_tuple(accumulator) and accumulator.dtype.dtype == types.int32
            and _is_row_major(offsets) and offsets.dtype == types.int32
            and _is_row_major(scales) and scales.dtype == types.float32
            and isinstance(row, types.Integer)
            and isinstance(factor, (types.Float, types.Integer))):
        return None
    lanes = accumulator.dtype.lanes
    floats = Vector(types.float32, lanes, masked=False)
    result = types.UniTuple(floats, accumulator.count)

    def codegen(context, builder, signature, args):
        sums, offsets_value, scales_value, row_value, factor_value = args
        _, offsets_type, scales_type, row_type, factor_type = signature.args
        zero = ir.Constant(ir.IntType(64), 0)
        offset_base = _row_address(context, builder, offsets_type, offsets_value, row_type,
                                   row_value, types.int64, zero)
        scale_base = _row_address(context, builder, scales_type, scales_value, row_type,
                                  row_value, types.int64, zero)
        int_vector = ir.VectorType(ir.IntType(32), lanes)
        float_vector = ir.VectorType(ir.FloatType(), lanes)
        splat = _splat(context, builder, floats, factor_value, factor_type)
        out = []
        for i in range(accumulator.count):
            step = ir.Constant(offset_base.type, i * lanes * 4)
            offset = builder.load(builder.inttoptr(builder.add(offset_base, step),
                                                   int_vector.as_pointer()), align=4)
            scale = builder.load(builder.inttoptr(builder.add(scale_base, step),
                                                  float_vector.as_pointer()), align=4)
            exact = builder.sitofp(builder.sub(builder.extract_value(sums, i), offset),
                                   float_vector)
            out.append(builder.fmul(builder.fmul(exact, scale, flags=_FAST_MATH), splat,
                                    flags=_FAST_MATH))
        return context.make_tuple(builder, result, out)

    return result(accumulator, offsets, scales, row, factor), codegen


@intrinsic
def _vector_mul_row(typingctx, accumulator, x, row, column, tail):
    if not _is_span_call(accumulator, x, row, column, tail):
        return None
    vector = accumulator.dtype

    def codegen(context, builder, signature, args):
        sums, x_value, row_value, column_value, tail_value = args
        _, x_type, row_type, column_type, tail_type = signature.args
        loaded = _load_span(context, builder, vector, accumulator.count, x_type, x_value,
                            row_type, row_value, column_type, column_value, tail_type,
                            tail_value)
        return context.make_tuple(builder, signature.return_type, [
            builder.fmul(builder.extract_value(sums, i), value, flags=_FAST_MATH)
            for i, value in enumerate(loaded)])

    return accumulator(accumulator, x, row, column, tail), codegen


@intrinsic
def _vector_store_row(typingctx, accumulator, out, row, column, tail):
    if not (_is_vector_tuple(accumulator) and _is_row_major(out)
            and out.dtype == accumulator.dtype.dtype
            and all(isinstance(t, types.Integer) for t in (row, column, tail))):
        return None
    vector = accumulator.dtype

    def codegen(context, builder, signature, args):
        sums, out_value, row_value, column_value, tail_value = args
        _, out_type, row_type, column_type, tail_type = signature.args
        vector_type, pointers = _vector_addresses(context, builder, vector, accumulator.count,
                                                  out_type, out_value, row_type, row_value,
                                                  column_type, column_value)
        element_bytes = _element_bytes(context, vector)
        valid = context.cast(builder, tail_value, tail_type, types.int32)
        for i, pointer in enumerate(pointers):
            value = builder.extract_value(sums, i)
            if i < len(pointers) - 1 or not vector.masked:
                builder.store(value, pointer, align=element_bytes)
            else:
                _unless_whole(
                    builder, vector, valid,
                    lambda value=value, pointer=pointer: _store_lanes(
                        builder, value, pointer, valid, element_bytes),
                    lambda value=value, pointer=pointer: builder.store(
                        value, pointer, align=element_bytes) and None)
        return context.get_dummy_value()

    return types.none(accumulator, out, row, column, tail), codegen


def _splat(context, builder, vector, value, value_type):
    """``value`` cast to the vector's dtype, in every lane."""
    vector_type = context.get_value_type(vector)
    scalar = context.cast(builder, value, value_type, vector.dtype)
    i32 = ir.IntType(32)
    single = builder.insert_element(ir.Constant(vector_type, None), scalar, ir.Constant(i32, 0))
    return builder.shuffle_vector(single, single,
                                  ir.Constant(ir.VectorType(i32, vector.lanes), [0] * vector.lanes))


@intrinsic
def _full_vectors(typingctx, accumulator):
    if not _is_vector_tuple(accumulator):
        return None
    vector = accumulator.dtype
    whole = types.UniTuple(Vector(vector.dtype, vector.lanes, masked=False), accumulator.count)

    def codegen(context, builder, signature, args):
        return args[0]  # the same LLVM vectors: only the Numba type changes

    return whole(accumulator), codegen


@intrinsic
def _vector_scale(typingctx, accumulator, factor):
    if not (_is_vector_tuple(accumulator) and isinstance(factor, (types.Float, types.Integer))):
        return None
    vector = accumulator.dtype

    def codegen(context, builder, signature, args):
        sums, factor_value = args
        splat = _splat(context, builder, vector, factor_value, signature.args[1])
        return context.make_tuple(builder, signature.return_type, [
            builder.fmul(builder.extract_value(sums, i), splat, flags=_FAST_MATH)
            for i in range(accumulator.count)])

    return accumulator(accumulator, factor), codegen


@intrinsic
def _vector_activate(typingctx, accumulator, code, slope):
    if not (_is_vector_tuple(accumulator) and isinstance(code, types.Integer)
            and isinstance(slope, (types.Float, types.Integer))):
        return None
    vector = accumulator.dtype

    def codegen(context, builder, signature, args):
        sums, code_value, slope_value = args
        vector_type = context.get_value_type(vector)
        zero = ir.Constant(vector_type, None)
        code_is = lambda code: builder.icmp_signed("==", code_value,  # noqa: E731
                                                   ir.Constant(code_value.type, code))
        values = [builder.extract_value(sums, i) for i in range(accumulator.count)]
        # GELU's arithmetic is float32's (float64 rows get libm's erf in finish_row)
        gelu_here = vector.dtype == types.float32
        with builder.if_else(code_is(6) if gelu_here else ir.Constant(ir.IntType(1), 0)) \
                as (gelu_branch, other_branch):
            with gelu_branch:
                gelu_values = [_gelu_lanes(builder, vector_type, value) for value in values]
                gelu_block = builder.basic_block
            with other_branch:
                negative_scale = builder.select(
                    code_is(3), _splat(context, builder, vector, slope_value, signature.args[2]),
                    zero)
                clamp = builder.or_(code_is(1), code_is(3))
                other_values = []
                for value in values:
                    # v > 0 ? v : v * s (s = 0 for ReLU: NaN * 0 keeps NaN, as torch)
                    activated = builder.select(builder.fcmp_ordered(">", value, zero), value,
                                               builder.fmul(value, negative_scale))
                    other_values.append(builder.select(clamp, activated, value))
                other_block = builder.basic_block
        results = []
        for gelu_value, other_value in zip(gelu_values, other_values):
            joined = builder.phi(vector_type)
            joined.add_incoming(gelu_value, gelu_block)
            joined.add_incoming(other_value, other_block)
            results.append(joined)
        return context.make_tuple(builder, signature.return_type, results)

    return accumulator(accumulator, code, slope), codegen


def _gelu_lanes(builder, vector_type, value):
    """GELU of every lane: ``_epilogue.gelu``'s arithmetic as vector instructions."""
    def constant(number):
        return ir.Constant(vector_type, [number] * vector_type.count)

    def arithmetic(operation, first, second):
        return getattr(builder, operation)(first, second, flags=_FAST_MATH)

    x = arithmetic("fmul", value, constant(0.7071067811865476))
    upper, lower = constant(ERF_LIMIT), constant(-ERF_LIMIT)
    x = builder.select(builder.fcmp_ordered("<", x, upper), x, upper)
    x = builder.select(builder.fcmp_ordered(">", x, lower), x, lower)
    square = arithmetic("fmul", x, x)
    polynomials = []
    for coefficients in (ERF_NUMERATOR, ERF_DENOMINATOR):  # Horner, highest power first
        total = constant(coefficients[0])
        for coefficient in coefficients[1:]:
            total = arithmetic("fadd", arithmetic("fmul", total, square), constant(coefficient))
        polynomials.append(total)
    erf = arithmetic("fdiv", arithmetic("fmul", x, polynomials[0]), polynomials[1])
    return arithmetic("fmul", arithmetic("fmul", value, constant(0.5)),
                      arithmetic("fadd", constant(1.0), erf))


def _prefetch(typingctx, accumulator, x, row, column, write: bool):
    if not (_is_vector_tuple(accumulator) and _is_row_major(x)
            and isinstance(row, types.Integer) and isinstance(column, types.Integer)):
        return None
    span = accumulator.count * VECTOR_BYTES

    def codegen(context, builder, signature, args):
        _, x_value, row_value, column_value = args
        _, x_type, row_type, column_type = signature.args
        base = _row_address(context, builder, x_type, x_value, row_type, row_value, column_type,
                            column_value)
        byte_pointer = ir.PointerType(ir.IntType(8))
        i32 = ir.IntType(32)
        prefetch = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(ir.VoidType(), [byte_pointer, i32, i32, i32]),
            "llvm.prefetch.p0")
        # Every 64-byte line the span may touch: its start, each line on, and its last byte.
        for offset in sorted(set(range(0, span, 64)) | {span - 1}):
            address = builder.inttoptr(builder.add(base, ir.Constant(base.type, offset)),
                                       byte_pointer)
            # read or write, highest temporal locality, data cache
            builder.call(prefetch, [address, ir.Constant(i32, int(write)), ir.Constant(i32, 3),
                                    ir.Constant(i32, 1)])
        return context.get_dummy_value()

    return types.none(accumulator, x, row, column), codegen


@intrinsic
def _prefetch_row(typingctx, accumulator, x, row, column):
    return _prefetch(typingctx, accumulator, x, row, column, write=False)


@intrinsic
def _prefetch_row_for_write(typingctx, accumulator, x, row, column):
    return _prefetch(typingctx, accumulator, x, row, column, write=True)


def _lane_wise(operation: str):
    """An intrinsic combining two tuples of one vector type lane by lane."""

    def typer(typingctx, first, second):
        if not (_is_vector_tuple(first) and first == second):
            return None

        def codegen(context, builder, signature, args):
            combine = getattr(builder, operation)
            return context.make_tuple(builder, signature.return_type, [
                combine(builder.extract_value(args[0], i), builder.extract_value(args[1], i),
                        flags=_FAST_MATH) for i in range(first.count)])

        return first(first, second), codegen

    return intrinsic(typer)


_vector_add = _lane_wise("fadd")
_vector_mul = _lane_wise("fmul")


@intrinsic
def _vector_add_scalar(typingctx, accumulator, value):
    if not (_is_vector_tuple(accumulator) and isinstance(value, (types.Float, types.Integer))):
        return None
    vector = accumulator.dtype

    def codegen(context, builder, signature, args):
        splat = _splat(context, builder, vector, args[1], signature.args[1])
        return context.make_tuple(builder, signature.return_type, [
            builder.fadd(builder.extract_value(args[0], i), splat, flags=_FAST_MATH)
            for i in range(accumulator.count)])

    return accumulator(accumulator, value), codegen


def _tile_pointers(context, builder, array_type, array, first_row, row_type, column,
                   column_type, vector_type):
    """``pointer(i)``: emits the pointer to the vector at ``array[first_row + i, column]``,
    one byte offset from the first row's address, where it is used (emitting all of a tile's
    pointers first kept 32 addresses live and spilled them)."""
    base = builder.inttoptr(_row_address(context, builder, array_type, array, row_type, first_row,
                                         column_type, column), ir.IntType(8).as_pointer())
    row_stride = cgutils.unpack_tuple(builder, context.make_array(array_type)(
        context, builder, array).strides, 2)[0]

    def pointer(i: int):
        offset = builder.mul(row_stride, ir.Constant(row_stride.type, i))
        return builder.bitcast(builder.gep(base, [offset]), vector_type.as_pointer())

    return pointer


BLOCK_BYTES = 16  # the 128-bit blocks that x86's cheap shuffles stay inside


def transpose_network(lanes: int, block: int) -> tuple[list, list]:
    """The shuffles that turn ``lanes`` vectors (a tile's rows) into the tile's columns, for
    vectors of ``lanes`` elements in 128-bit blocks of ``block`` elements: ``(rounds,
    columns)``, where each round lists ``(first, second, order)`` (a two-source shuffle of the
    previous round's vectors, as LLVM's ``shufflevector`` takes it) and the last round's
    vector ``i`` holds column ``columns[i]``.

    First ``log2(block)`` rounds of interleaving within each block (``unpcklps``/``unpcklpd``
    on x86), then ``log2(lanes / block)`` rounds that pick whole blocks (``vshuff32x4``,
    ``vperm2f128``). Every shuffle stays in-lane or moves 128-bit blocks: cheaper than the
    two-source element permutes of the plain perfect shuffle (the copy-bound transposes of
    ``bench/sparsity_speedup.py``'s layers run as fast as a plain copy with these)."""
    blocks = lanes // block
    rounds = []
    width = 1  # elements per interleaved group
    while width < block:
        half = block // 2
        step = []
        for low in (True, False):
            order = []
            for b in range(blocks):
                base = b * block + (0 if low else half)
                for g in range(0, half, width):
                    order += [base + g + i for i in range(width)]
                    order += [lanes + base + g + i for i in range(width)]
            step.append(order)
        rounds.append([(2 * i, 2 * i + 1, order)
                       for order in step for i in range(lanes // 2)])
        width *= 2
    tile = np.arange(lanes * lanes).reshape(lanes, lanes)  # labels: row * lanes + column
    vectors = list(tile)
    for step in rounds:
        vectors = [np.concatenate([vectors[a], vectors[b]])[order] for a, b, order in step]
    # Each vector now holds, in every block b, the rows of one group of ``block`` rows at the
    # same position c of block b's columns: for each c, its ``blocks`` vectors in row-group
    # order make a blocks x blocks matrix of blocks to transpose, by rounds that pair
    # neighbours and keep their even blocks, then their odd ones.
    groups: dict = {}
    for index, vector in enumerate(vectors):
        groups.setdefault(int(vector[0] % block), []).append((int(vector[0] // lanes), index))
    members = [[index for _, index in sorted(group)] for _, group in sorted(groups.items())]
    picks = [[source + b * block + e for source in (0, lanes)
              for b in range(parity, blocks, 2) for e in range(block)] for parity in (0, 1)]
    for _ in range(blocks.bit_length() - 1):
        step, regrouped = [], []
        for group in members:
            regrouped.append(list(range(len(step), len(step) + len(group))))
            step += [(group[2 * i], group[2 * i + 1], order)
                     for order in picks for i in range(len(group) // 2)]
        rounds.append(step)
        members = regrouped
        vectors = [np.concatenate([vectors[a], vectors[b]])[order] for a, b, order in step]
    columns = []
    for vector in vectors:
        column = int(vector[0] % lanes)
        if not np.array_equal(vector, tile[:, column]):
            raise AssertionError(f"transpose network for {lanes} lanes is wrong")
        columns.append(column)
    return rounds, columns


def _transpose_vectors(builder, rows: list, lanes: int, element_bytes: int) -> list:
    """``lanes`` vectors (rows of a tile) -> the tile's columns, in column order
    (``transpose_network``)."""
    i32 = ir.IntType(32)
    rounds, columns = transpose_network(lanes, max(1, min(lanes, BLOCK_BYTES // element_bytes)))
    for step in rounds:
        rows = [builder.shuffle_vector(rows[a], rows[b],
                                       ir.Constant(ir.VectorType(i32, lanes), order))
                for a, b, order in step]
    ordered = [None] * lanes
    for vector, column in zip(rows, columns):
        ordered[column] = vector
    return ordered


@intrinsic
def _transpose_tile(typingctx, src, src_row, src_col, dst, dst_row, dst_col, rows, cols):
    if not (_is_row_major(src) and _is_row_major(dst) and src.dtype == dst.dtype
            and isinstance(src.dtype, types.Float)
            and all(isinstance(t, types.Integer)
                    for t in (src_row, src_col, dst_row, dst_col, rows, cols))):
        return None
    vector = Vector(src.dtype, vector_lanes(src.dtype.bitwidth // 8), masked=False)

    def codegen(context, builder, signature, args):
        _transpose_codegen(context, builder, signature, args, vector)
        return context.get_dummy_value()

    return types.none(src, src_row, src_col, dst, dst_row, dst_col, rows, cols), codegen


def _transpose_codegen(context, builder, signature, args, vector) -> None:
    """Whole tiles: plain loads, shuffles, plain stores. (Non-temporal stores were tried for
    the sparse products' outputs: slower at 10k and 100k rows, and the consumer then reads
    from memory.) Edge tiles: masked loads and stores."""
    src_value, src_row_value, src_col_value, dst_value, dst_row_value, dst_col_value, \
        rows_value, cols_value = args
    src_type, src_row_type, src_col_type, dst_type, dst_row_type, dst_col_type, \
        rows_type, cols_type = signature.args
    lanes = vector.lanes
    element_bytes = _element_bytes(context, vector)
    vector_type = context.get_value_type(vector)
    i32 = ir.IntType(32)
    source = _tile_pointers(context, builder, src_type, src_value, src_row_value, src_row_type,
                            src_col_value, src_col_type, vector_type)
    target = _tile_pointers(context, builder, dst_type, dst_value, dst_row_value, dst_row_type,
                            dst_col_value, dst_col_type, vector_type)
    valid_rows = context.cast(builder, rows_value, rows_type, types.int32)
    valid_cols = context.cast(builder, cols_value, cols_type, types.int32)
    full = builder.and_(builder.icmp_signed("==", valid_rows, ir.Constant(i32, lanes)),
                        builder.icmp_signed("==", valid_cols, ir.Constant(i32, lanes)))
    with builder.if_else(full, likely=True) as (whole, partial):
        with whole:
            loaded = [builder.load(source(i), align=element_bytes) for i in range(lanes)]
            for j, value in enumerate(_transpose_vectors(builder, loaded, lanes, element_bytes)):
                builder.store(value, target(j), align=element_bytes)
        with partial:  # an edge tile: masked rows in, masked rows out
            zero = ir.Constant(i32, 0)
            loaded = []
            for i in range(lanes):
                valid = builder.select(builder.icmp_signed("<", ir.Constant(i32, i), valid_rows),
                                       valid_cols, zero)
                loaded.append(_load_lanes(builder, vector_type, source(i), valid, element_bytes))
            for j, value in enumerate(_transpose_vectors(builder, loaded, lanes, element_bytes)):
                valid = builder.select(builder.icmp_signed("<", ir.Constant(i32, j), valid_cols),
                                       valid_rows, zero)
                _store_lanes(builder, value, target(j), valid, element_bytes)



@intrinsic
def _load_acquire(typingctx, flag):
    if not (isinstance(flag, types.Array) and flag.dtype == types.int64 and flag.ndim == 1):
        return None

    def codegen(context, builder, signature, args):
        view = context.make_array(signature.args[0])(context, builder, args[0])
        return builder.load_atomic(view.data, "acquire", 8)

    return types.int64(flag), codegen


# the polling hint of the host's architecture (none elsewhere: the atomic load alone is correct)
_PAUSE = {"x86_64": ("llvm.x86.sse2.pause", ()), "amd64": ("llvm.x86.sse2.pause", ()),
          "aarch64": ("llvm.aarch64.hint", (1,)), "arm64": ("llvm.aarch64.hint", (1,))}.get(
    platform.machine().lower())


@intrinsic
def _spin_pause(typingctx):
    def codegen(context, builder, signature, args):
        if _PAUSE is not None:
            name, operands = _PAUSE
            i32 = ir.IntType(32)
            hint = cgutils.get_or_insert_function(
                builder.module, ir.FunctionType(ir.VoidType(), [i32] * len(operands)), name)
            builder.call(hint, [ir.Constant(i32, value) for value in operands])
        return context.get_dummy_value()

    return types.none(), codegen


@intrinsic
def _data_address(typingctx, array):
    if not isinstance(array, types.Array):
        return None

    def codegen(context, builder, signature, args):
        view = context.make_array(signature.args[0])(context, builder, args[0])
        return builder.ptrtoint(view.data, context.get_value_type(types.intp))

    return types.intp(array), codegen





# In compiled code, each public name is its intrinsic itself. (Wrapped as an inlined
# ``@overload`` instead, every call site compiled a Numba function of its own and was inlined
# again: a quarter of a model's compile time, for the same machine code.) Without the JIT, the
# names keep their pure-Python bodies above.
if not numba_config.DISABLE_JIT:
    vector_zeros, full_vector_zeros = _vector_zeros, _full_vector_zeros
    overread_vector_zeros = _overread_vector_zeros
    vector_fma_row, vector_fma_codes = _vector_fma_row, _vector_fma_codes
    vector_dot_bytes, vector_byte_scores = _vector_dot_bytes, _vector_byte_scores
    vector_max, vector_store_row, vector_mul_row = _vector_max, _vector_store_row, _vector_mul_row
    vector_scale, vector_activate, full_vectors = _vector_scale, _vector_activate, _full_vectors
    vector_add, vector_mul, vector_add_scalar = _vector_add, _vector_mul, _vector_add_scalar
    vector_halves = _vector_halves
    transpose_tile, data_address, prefetch_row = _transpose_tile, _data_address, _prefetch_row
    prefetch_row_for_write = _prefetch_row_for_write
    load_acquire, spin_pause = _load_acquire, _spin_pause
