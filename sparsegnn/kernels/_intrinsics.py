"""LLVM features Numba does not expose, for the register-blocked SpMM: a fixed-size scratch
array on the stack, and software prefetch.

Numba arrays live on the heap, and LLVM must assume a heap buffer may alias the kernel's inputs,
so an accumulator row kept in one is loaded and stored on every step. An ``alloca`` cannot
alias anything: once a loop over its elements has a constant trip count, LLVM keeps the whole
block in vector registers (checked in the generated assembly of ``_spmm``'s 64-wide block).
"""

import numpy as np
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic, overload

BLOCK = 64  # elements: 8 AVX2 registers of float32


def stack_block(like):
    """``BLOCK`` uninitialised elements of ``like``'s dtype on the caller's stack (1-D, C).

    The result must not outlive the function that created it (it is never returned here).
    This body runs only without the JIT (``NUMBA_DISABLE_JIT``); compiled code gets the
    ``alloca`` below."""
    return np.empty(BLOCK, like.dtype)


def prefetch_block(array, row, column):
    """Hint the CPU to fetch ``array[row, column:column + BLOCK]`` (2-D, C order) into cache;
    the hint never faults, whatever the address. Without the JIT it does nothing.

    Rows gathered through an index array defeat the hardware prefetcher; asking for a row a few
    edges ahead overlaps its memory latency with the current edge's arithmetic."""


# Inlined at Numba IR level, so the alloca lands in the calling kernel's own frame: a separate
# function's stack block would be dead once it returned.
@overload(stack_block, inline="always")
def _stack_block_overload(like):
    return lambda like: _stack_block(like)


@overload(prefetch_block, inline="always")
def _prefetch_block_overload(array, row, column):
    return lambda array, row, column: _prefetch_block(array, row, column)


@intrinsic
def _stack_block(typingctx, like):
    if not isinstance(like, types.Array):
        return None
    block_type = types.Array(like.dtype, 1, "C")

    def codegen(context, builder, signature, args):
        element = context.get_value_type(like.dtype)
        data = cgutils.alloca_once(builder, element, size=BLOCK)
        block = context.make_array(block_type)(context, builder)
        itemsize = context.get_constant(types.intp, context.get_abi_sizeof(element))
        context.populate_array(block, data=data, shape=[context.get_constant(types.intp, BLOCK)],
                               strides=[itemsize], itemsize=itemsize, meminfo=None)
        return block._getvalue()

    return block_type(like), codegen


@intrinsic
def _prefetch_block(typingctx, array, row, column):
    if not (isinstance(array, types.Array) and array.ndim == 2 and array.layout == "C"
            and isinstance(row, types.Integer) and isinstance(column, types.Integer)):
        return None

    def codegen(context, builder, signature, args):
        array_value, row_value, column_value = args
        view = context.make_array(signature.args[0])(context, builder, array_value)
        row_stride, item_stride = cgutils.unpack_tuple(builder, view.strides, 2)
        offset = builder.add(
            builder.mul(context.cast(builder, row_value, signature.args[1], types.intp), row_stride),
            builder.mul(context.cast(builder, column_value, signature.args[2], types.intp),
                        item_stride))
        base = builder.add(builder.ptrtoint(view.data, offset.type), offset)
        byte_pointer = ir.PointerType(ir.IntType(8))
        i32 = ir.IntType(32)
        prefetch = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(ir.VoidType(), [byte_pointer, i32, i32, i32]),
            "llvm.prefetch.p0")
        item_bytes = context.get_abi_sizeof(context.get_value_type(array.dtype))
        for line in range(BLOCK * item_bytes // 64):
            address = builder.inttoptr(builder.add(base, ir.Constant(base.type, 64 * line)),
                                       byte_pointer)
            # read, highest temporal locality, data cache
            builder.call(prefetch, [address, ir.Constant(i32, 0), ir.Constant(i32, 3),
                                    ir.Constant(i32, 1)])
        return context.get_dummy_value()

    return types.none(array, row, column), codegen
