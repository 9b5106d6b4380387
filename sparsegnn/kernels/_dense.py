"""Dense x dense products on the kernel threads: ``act(x @ W + bias)`` for a layer's inputs.

numpy's BLAS is about as fast on these shapes (13,752 x 767 x 64 on Amazon Computers, 2-core
development machine, bench/kernel_parts.py: OpenBLAS 13.3 ms on 2 threads, this kernel 11.5 ms
on 2 and 22 ms on 1), but its worker threads keep spinning after a call and compete with the
SpMM that follows: BLAS then the GCN aggregation took 18.7 ms where they took 13.3 and 2.8 ms
alone (16.8 ms with this kernel; an ad-hoc A/B measured 22.8 against 16.9 ms). Here the product
runs on the same thread pool as the sparse kernels, so nothing competes with them afterwards.

The micro-kernel holds a 6-row x 16-column block of the output in 12 AVX2 registers (vector
tuples, see ``_intrinsics``) while it walks the shared dimension: per step 6 broadcasts and 2
loads of ``W`` feed 12 multiply-adds.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ._checks import activation_code, check_dense, check_vector
from ._config import ACTIVATIONS, FASTMATH
from ._epilogue import finish_row
from ._intrinsics import (
    VECTOR_BYTES,
    full_vector_zeros,
    vector_activate,
    vector_fma_row,
    vector_store_row,
    vector_zeros,
)
from ._parallel import run_row_chunks

__all__ = ["dense_matmul", "dense_matmul_unchecked"]

BLOCK_ROWS = 6  # 6 x 2 accumulator vectors + 2 of W + 1 broadcast: 15 of 16 AVX2 registers


@njit(cache=True, nogil=True, fastmath=FASTMATH)
def _finish_span(sums, bias_row, has_bias, code, slope, column, tail):
    if has_bias:
        sums = vector_fma_row(sums, 1, bias_row, 0, column, tail)
    return vector_activate(sums, code, slope)


@njit(cache=True, nogil=True, fastmath=FASTMATH)
def _block(x, weight, out, row, column, zeros, tail, bias_row, has_bias, code, slope):
    """``out[row:row + 6, column:]`` over the span of ``zeros`` (last vector ``tail`` lanes)."""
    s0 = s1 = s2 = s3 = s4 = s5 = zeros
    for k in range(x.shape[1]):
        s0 = vector_fma_row(s0, x[row, k], weight, k, column, tail)
        s1 = vector_fma_row(s1, x[row + 1, k], weight, k, column, tail)
        s2 = vector_fma_row(s2, x[row + 2, k], weight, k, column, tail)
        s3 = vector_fma_row(s3, x[row + 3, k], weight, k, column, tail)
        s4 = vector_fma_row(s4, x[row + 4, k], weight, k, column, tail)
        s5 = vector_fma_row(s5, x[row + 5, k], weight, k, column, tail)
    vector_store_row(_finish_span(s0, bias_row, has_bias, code, slope, column, tail), out, row,
                     column, tail)
    vector_store_row(_finish_span(s1, bias_row, has_bias, code, slope, column, tail), out,
                     row + 1, column, tail)
    vector_store_row(_finish_span(s2, bias_row, has_bias, code, slope, column, tail), out,
                     row + 2, column, tail)
    vector_store_row(_finish_span(s3, bias_row, has_bias, code, slope, column, tail), out,
                     row + 3, column, tail)
    vector_store_row(_finish_span(s4, bias_row, has_bias, code, slope, column, tail), out,
                     row + 4, column, tail)
    vector_store_row(_finish_span(s5, bias_row, has_bias, code, slope, column, tail), out,
                     row + 5, column, tail)


@njit(cache=True, nogil=True, fastmath=FASTMATH)
def _single_row(x, weight, out, row, column, zeros, tail, bias_row, has_bias, code, slope):
    sums = zeros
    for k in range(x.shape[1]):
        sums = vector_fma_row(sums, x[row, k], weight, k, column, tail)
    vector_store_row(_finish_span(sums, bias_row, has_bias, code, slope, column, tail), out, row,
                     column, tail)


@njit(cache=True, nogil=True, fastmath=FASTMATH)
def _dense_rows(x, weight, out, epilogue, start, end):
    """Rows ``start..end`` of ``act(x @ weight + bias)``: panels of two vectors (16 float32
    columns), the last one with one or two; blocks of 6 rows, then single rows."""
    bias, has_bias, code, slope = epilogue
    bias_row = bias.reshape((1, bias.shape[0]))
    lanes = VECTOR_BYTES // x.itemsize
    panel = 2 * lanes
    width = weight.shape[1]
    blocked_end = start + (end - start) // BLOCK_ROWS * BLOCK_ROWS
    # Row blocks outside, panels inside: the block's rows of x (18 KB for 767 inputs) stay in
    # L1 across its panels; the other order read all of x once per panel (~40 % slower). The
    # panel choice is written out for blocks and single rows: a shared helper taking the kernel
    # as a flag cost ~1 us per call (42 x 3 x 64: 2.1 -> 3.1 us, ad-hoc A/B).
    for row in range(start, blocked_end, BLOCK_ROWS):
        for column in range(0, width, panel):
            remaining = width - column
            if remaining >= panel:  # whole vectors: masked stores are slow on AMD Zen
                _block(x, weight, out, row, column, full_vector_zeros(x, 2), lanes, bias_row,
                       has_bias, code, slope)
            elif remaining > lanes:
                _block(x, weight, out, row, column, vector_zeros(x, 2),
                       remaining - lanes, bias_row, has_bias, code, slope)
            else:
                _block(x, weight, out, row, column, vector_zeros(x, 1), remaining, bias_row,
                       has_bias, code, slope)
    for row in range(blocked_end, end):
        for column in range(0, width, panel):
            remaining = width - column
            if remaining >= panel:  # whole vectors: masked stores are slow on AMD Zen
                _single_row(x, weight, out, row, column, full_vector_zeros(x, 2), lanes, bias_row,
                            has_bias, code, slope)
            elif remaining > lanes:
                _single_row(x, weight, out, row, column, vector_zeros(x, 2),
                            remaining - lanes, bias_row, has_bias, code, slope)
            else:
                _single_row(x, weight, out, row, column, vector_zeros(x, 1), remaining, bias_row,
                            has_bias, code, slope)
    if code != 0 and code != 1 and code != 3:  # activations the vectors do not apply
        for row in range(start, end):
            finish_row(out, row, bias, False, code, slope)


def dense_matmul(x, weight, *, bias=None, activation: str | None = None,
                 negative_slope: float = 0.01, threads: int | None = None) -> np.ndarray:
    """``act(x @ weight + bias)``. Shapes: ``x (N, K)``, ``weight (K, M)``, ``bias (M,)`` ->
    ``(N, M)`` of ``x``'s dtype (float32 or float64; ``weight`` is converted to it)."""
    x = check_dense(x, "x")
    weight = check_dense(np.asarray(weight, dtype=x.dtype), "weight", rows=x.shape[1])
    epilogue = (check_vector(bias, weight.shape[1], x.dtype, "bias"), bias is not None,
                activation_code(activation, ACTIVATIONS), float(negative_slope))
    return dense_matmul_unchecked(x, weight, epilogue, threads)


def dense_matmul_unchecked(x: np.ndarray, weight: np.ndarray, epilogue, threads: int | None
                           ) -> np.ndarray:
    """``dense_matmul`` on checked arrays: C-contiguous ``x (N, K)`` and ``weight (K, M)`` of
    one float dtype; ``epilogue`` is ``(bias, has_bias, act_code, slope)``."""
    out = np.empty((x.shape[0], weight.shape[1]), dtype=x.dtype)
    if x.shape[0] == 0 or weight.shape[1] == 0:
        return out
    row_cost = np.arange(x.shape[0] + 1, dtype=np.int64) * x.shape[1]  # balances the chunks
    run_row_chunks(lambda start, end: _dense_rows(x, weight, out, epilogue, start, end), row_cost,
                   x.shape[0] * x.shape[1] * weight.shape[1], threads)
    return out
