"""SIMD vectors and software prefetch for the SpMM and dense kernels: LLVM features Numba does
not expose.

Numba has no vector type, and it runs LLVM without the SLP vectoriser. A loop that adds a
neighbour's feature row into an output row therefore either loads and stores that row on every
edge (a store-to-load chain per edge), or, written over a fixed-size block, is fully unrolled
before the loop vectoriser runs and comes out scalar. Here an accumulator is a tuple of LLVM
``<8 x float>`` (``<4 x double>``) vectors: tuples live in registers, each ``vector_fma_row``
is one vector multiply-add per register, and the last vector loads and stores only its valid
lanes (masked, so it never touches memory past the row). On Amazon Computers' GCN graph (505k
entries, one thread, ad-hoc A/B against the previous kernels) this took SpMM from 4.1 to
1.0-1.3 ms at 10 feature columns and from 5.2 to 3.9-4.1 ms at 64 (bench/kernel_parts.py
measures the kernels as they ship).

Every function here has a pure-Python body that runs without the JIT (``NUMBA_DISABLE_JIT``),
so the kernel tests can also check the compiled kernels' Python logic.
"""

import numpy as np
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic, models, overload, register_model

# The kernels' FASTMATH as LLVM flags (contraction into FMA, reassociation), without nnan/ninf.
_FAST_MATH = ("contract", "reassoc", "nsz", "arcp", "afn")
VECTOR_BYTES = 32  # one AVX2 register; LLVM splits it into two on 128-bit SIMD (NEON, SSE)
CHUNK_VECTORS = 8  # vectors per accumulator chunk: 8 of the 16 AVX2 registers


def vector_lanes(itemsize: int) -> int:
    """Elements per vector of an ``itemsize``-byte float."""
    return VECTOR_BYTES // itemsize


class Vector(types.Type):
    """An LLVM SIMD vector of ``lanes`` floats of ``dtype`` (a Numba value in registers).

    ``masked``: in a tuple, the last vector loads and stores only its valid lanes; tuples of
    unmasked vectors always move whole vectors (masked stores are slow on AMD Zen: a 42 x 3 x 64
    dense product took 2.4 against 2.0 us)."""

    def __init__(self, dtype, lanes: int, masked: bool = True):
        self.dtype, self.lanes, self.masked = dtype, lanes, masked
        super().__init__(name=f"Vector({dtype} x {lanes}{'' if masked else ', full'})")


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


def vector_store_row(accumulator, out, row, column, tail):
    """Write the tuple to ``out[row, column:]`` (the last vector's first ``tail`` lanes)."""
    lanes = accumulator[0].shape[0]
    for i, vector in enumerate(accumulator):
        valid = tail if i == len(accumulator) - 1 else lanes
        start = column + i * lanes
        out[row, start:start + valid] = vector[:valid]


def vector_scale(accumulator, factor):
    """Every vector times ``factor``."""
    return tuple(vector * vector.dtype.type(factor) for vector in accumulator)


def vector_activate(accumulator, code, slope):
    """ReLU (``code`` 1) or leaky ReLU (3, negative ``slope``) per lane, as ``finish_row``
    computes them (NaN stays NaN); any other code leaves the vectors unchanged."""
    if code == 1:
        return tuple(np.where(v > 0, v, v * 0) for v in accumulator)
    if code == 3:
        return tuple(np.where(v > 0, v, v * v.dtype.type(slope)) for v in accumulator)
    return accumulator


def prefetch_row(accumulator, x, row, column):
    """Hint the CPU to fetch the span of ``x[row, column:]`` that ``accumulator`` covers; the
    hint never faults, whatever the address. Without the JIT it does nothing.

    Rows gathered through an index array defeat the hardware prefetcher; asking for a row a few
    edges ahead overlaps its memory latency with the current edge's arithmetic."""


# ------------------------------------------------------------------------- compiled versions
def _with_literal_count(make):
    """An overload body for ``f(like, count)`` whose ``count`` is typed as a literal, so the
    tuple length is known when compiling."""
    def implementation(like, count):
        if not isinstance(count, types.IntegerLiteral):
            return None
        constant = count.literal_value
        return lambda like, count: make(like, constant)

    return implementation


@overload(vector_fma_row)
def _vector_fma_row_overload(accumulator, weight, x, row, column, tail):
    return lambda accumulator, weight, x, row, column, tail: _vector_fma_row(
        accumulator, weight, x, row, column, tail)


@overload(vector_store_row)
def _vector_store_row_overload(accumulator, out, row, column, tail):
    return lambda accumulator, out, row, column, tail: _vector_store_row(
        accumulator, out, row, column, tail)


@overload(vector_scale)
def _vector_scale_overload(accumulator, factor):
    return lambda accumulator, factor: _vector_scale(accumulator, factor)


@overload(vector_activate)
def _vector_activate_overload(accumulator, code, slope):
    return lambda accumulator, code, slope: _vector_activate(accumulator, code, slope)


@overload(prefetch_row)
def _prefetch_row_overload(accumulator, x, row, column):
    return lambda accumulator, x, row, column: _prefetch_row(accumulator, x, row, column)


def _is_vector_tuple(value) -> bool:
    return isinstance(value, types.UniTuple) and isinstance(value.dtype, Vector)


def _is_row_major(array) -> bool:
    return isinstance(array, types.Array) and array.ndim == 2 and array.layout == "C"


def _zeros(like, count, masked: bool):
    """Signature and codegen of a tuple of ``count`` zero vectors, or None."""
    if not (isinstance(like, types.Array) and isinstance(like.dtype, types.Float)
            and isinstance(count, types.IntegerLiteral) and count.literal_value > 0):
        return None
    vector = Vector(like.dtype, vector_lanes(like.dtype.bitwidth // 8), masked)
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


def _vector_addresses(context, builder, vector, count, array_type, array, row_type, row,
                      column_type, column):
    vector_type = context.get_value_type(vector)
    base = _row_address(context, builder, array_type, array, row_type, row, column_type, column)
    step = vector.lanes * _element_bytes(context, vector)
    return vector_type, [builder.inttoptr(builder.add(base, ir.Constant(base.type, i * step)),
                                          vector_type.as_pointer()) for i in range(count)]


@intrinsic
def _vector_fma_row(typingctx, accumulator, weight, x, row, column, tail):
    if not (_is_vector_tuple(accumulator) and _is_row_major(x)
            and x.dtype == accumulator.dtype.dtype and isinstance(weight, (types.Float,
                                                                           types.Integer))
            and all(isinstance(t, types.Integer) for t in (row, column, tail))):
        return None
    vector = accumulator.dtype

    def codegen(context, builder, signature, args):
        sums, weight_value, x_value, row_value, column_value, tail_value = args
        _, weight_type, x_type, row_type, column_type, tail_type = signature.args
        vector_type, pointers = _vector_addresses(context, builder, vector, accumulator.count,
                                                  x_type, x_value, row_type, row_value,
                                                  column_type, column_value)
        element_bytes = _element_bytes(context, vector)
        splat = _splat(context, builder, vector, weight_value, weight_type)
        i32 = ir.IntType(32)
        valid = context.cast(builder, tail_value, tail_type, types.int32)
        results = []
        for i, pointer in enumerate(pointers):
            if i < len(pointers) - 1 or not vector.masked:
                loaded = builder.load(pointer, align=element_bytes)
            else:  # the last vector: only its valid lanes touch memory
                loaded = builder.call(_masked_intrinsic(builder, "load", vector_type),
                                      [pointer, ir.Constant(i32, element_bytes),
                                       _lane_mask(builder, vector.lanes, valid),
                                       ir.Constant(vector_type, None)])
            product = builder.fmul(splat, loaded, flags=_FAST_MATH)
            results.append(builder.fadd(builder.extract_value(sums, i), product, flags=_FAST_MATH))
        return context.make_tuple(builder, signature.return_type, results)

    return accumulator(accumulator, weight, x, row, column, tail), codegen


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
        i32 = ir.IntType(32)
        valid = context.cast(builder, tail_value, tail_type, types.int32)
        for i, pointer in enumerate(pointers):
            value = builder.extract_value(sums, i)
            if i < len(pointers) - 1 or not vector.masked:
                builder.store(value, pointer, align=element_bytes)
            else:
                builder.call(_masked_intrinsic(builder, "store", vector_type),
                             [value, pointer, ir.Constant(i32, element_bytes),
                              _lane_mask(builder, vector.lanes, valid)])
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
        zero = ir.Constant(context.get_value_type(vector), None)
        negative_scale = builder.select(
            builder.icmp_signed("==", code_value, ir.Constant(code_value.type, 3)),
            _splat(context, builder, vector, slope_value, signature.args[2]), zero)
        clamp = builder.or_(builder.icmp_signed("==", code_value, ir.Constant(code_value.type, 1)),
                            builder.icmp_signed("==", code_value, ir.Constant(code_value.type, 3)))
        results = []
        for i in range(accumulator.count):
            value = builder.extract_value(sums, i)
            # v > 0 ? v : v * s (s = 0 for ReLU: NaN * 0 keeps NaN, as torch)
            activated = builder.select(builder.fcmp_ordered(">", value, zero), value,
                                       builder.fmul(value, negative_scale))
            results.append(builder.select(clamp, activated, value))
        return context.make_tuple(builder, signature.return_type, results)

    return accumulator(accumulator, code, slope), codegen


@intrinsic
def _prefetch_row(typingctx, accumulator, x, row, column):
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
            # read, highest temporal locality, data cache
            builder.call(prefetch, [address, ir.Constant(i32, 0), ir.Constant(i32, 3),
                                    ir.Constant(i32, 1)])
        return context.get_dummy_value()

    return types.none(accumulator, x, row, column), codegen


overload(vector_zeros, prefer_literal=True)(_with_literal_count(_vector_zeros))
overload(full_vector_zeros, prefer_literal=True)(_with_literal_count(_full_vector_zeros))
