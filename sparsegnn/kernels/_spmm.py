"""Sparse x dense products: graph aggregation (``A @ X``) and sparse inputs times dense weights.

The core walks CSR rows (destinations); each row is reduced into its own output row, so row
ranges run in parallel without write conflicts.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ._checks import (
    KernelArgumentError,
    activation_code,
    check_dense,
    check_graph_csr,
    check_values,
    check_vector,
)
from ._config import ACTIVATIONS, FASTMATH
from ._epilogue import finish_row
from ._intrinsics import BLOCK, prefetch_block, stack_block
from ._parallel import run_row_chunks

__all__ = ["spmm_csr", "csr_dense_matmul", "REDUCTIONS"]

REDUCTIONS = {"sum": 0, "mean": 1, "max": 2}

# Internal reduction: a weighted sum divided by the row's sum of weights. Row-normalised sparse
# features times a weight matrix in one pass, without a normalised copy of the features (that
# pass took ~0.13 ms of a 0.8 ms pruned Cora GCN).
VALUE_MEAN = 3

# The blocked kernel asks for the source row this many edges ahead (see _intrinsics): 8 and 16
# both took SpMM on a 100k-row random graph (F=64) from 30 to 22 ms on the development machine.
PREFETCH_DISTANCE = 8
PREFETCH_MIN_BYTES = 1 << 20


@njit(cache=True, nogil=True, fastmath=FASTMATH, inline="always")
def _finish(indptr, values, out, row, reduce, epilogue):
    """Mean division (by the entry count, or for ``VALUE_MEAN`` by the sum of the row's
    values; a zero sum gives a zero row), bias and activation of one row, while it is still in
    cache."""
    bias, has_bias, code, slope = epilogue
    first, last = indptr[row], indptr[row + 1]
    scale = 1.0
    if reduce == VALUE_MEAN and values.shape[0] > 0:
        total = values.dtype.type(0)  # of the values' own type: the sum vectorises
        for e in range(first, last):
            total += values[e]
        scale = 1.0 / total if total != 0 else 0.0
    elif (reduce == 1 or reduce == VALUE_MEAN) and last > first:  # unweighted: by the count
        scale = 1.0 / (last - first)
    if scale != 1.0:
        for f in range(out.shape[1]):
            out[row, f] *= scale
    finish_row(out, row, bias, has_bias, code, slope)


@njit(cache=True, nogil=True, fastmath=FASTMATH, inline="always")
def _sum_block(indptr, indices, values, weighted, prefetch, x, out, row, column, accumulator):
    """Columns ``column .. column + BLOCK`` of one output row, accumulated in registers.

    Per edge this is 8 vector loads and FMAs; the plain loop below also loads and stores the
    output row, a store-to-load chain that cost ~1.7x on Amazon Computers (F=64, 505k edges)."""
    for k in range(BLOCK):
        accumulator[k] = 0
    last = indptr[row + 1]
    if weighted:  # two loops: choosing the weight per edge cost ~30 % on sparse features
        for e in range(indptr[row], last):
            if prefetch and e + PREFETCH_DISTANCE < indices.shape[0]:  # rows ahead too
                prefetch_block(x, indices[e + PREFETCH_DISTANCE], column)
            source = x[indices[e], column:]  # a contiguous slice: source[k] needs no wraparound
            weight = values[e]
            for k in range(BLOCK):
                accumulator[k] += weight * source[k]
    else:
        for e in range(indptr[row], last):
            if prefetch and e + PREFETCH_DISTANCE < indices.shape[0]:  # rows ahead too
                prefetch_block(x, indices[e + PREFETCH_DISTANCE], column)
            source = x[indices[e], column:]
            for k in range(BLOCK):
                accumulator[k] += source[k]
    target = out[row, column:]
    for k in range(BLOCK):
        target[k] = accumulator[k]


@njit(cache=True, nogil=True, fastmath=FASTMATH)
def _plain_sum_rows(indptr, indices, values, x, out, reduce, epilogue, start, end):
    """Unweighted sums (``values`` is empty; ``_finish`` reads its length)."""
    for row in range(start, end):
        target = out[row]  # 1-D row views: simpler addressing, the inner loop vectorises better
        for e in range(indptr[row], indptr[row + 1]):
            source = x[indices[e]]
            for f in range(source.shape[0]):
                target[f] += source[f]
        _finish(indptr, values, out, row, reduce, epilogue)


@njit(cache=True, nogil=True, fastmath=FASTMATH)
def _weighted_sum_rows(indptr, indices, values, x, out, reduce, epilogue, start, end):
    for row in range(start, end):
        target = out[row]
        for e in range(indptr[row], indptr[row + 1]):
            source, weight = x[indices[e]], values[e]
            for f in range(source.shape[0]):
                target[f] += weight * source[f]
        _finish(indptr, values, out, row, reduce, epilogue)


@njit(cache=True, nogil=True, fastmath=FASTMATH)
def _blocked_sum_rows(indptr, indices, values, x, out, reduce, epilogue, start, end):
    """Sums over rows at least ``BLOCK`` wide: full blocks in registers, then the remaining
    columns accumulated in the output row."""
    weighted = values.shape[0] > 0
    # Prefetching pays for sources beyond L2 only (graph aggregation over many nodes); for a
    # weight matrix (sparse features x W) its extra instructions cost ~20 %.
    prefetch = x.shape[0] * x.shape[1] * x.itemsize > PREFETCH_MIN_BYTES
    accumulator = stack_block(x)
    width = x.shape[1]
    blocked = width - width % BLOCK
    for row in range(start, end):
        for column in range(0, blocked, BLOCK):
            _sum_block(indptr, indices, values, weighted, prefetch, x, out, row, column,
                       accumulator)
        if blocked < width:
            target = out[row, blocked:]
            for e in range(indptr[row], indptr[row + 1]):
                source = x[indices[e], blocked:]
                weight = values[e] if weighted else x.dtype.type(1)
                for f in range(source.shape[0]):
                    target[f] += weight * source[f]
        _finish(indptr, values, out, row, reduce, epilogue)


@njit(cache=True, nogil=True, fastmath=FASTMATH)
def _max_rows(indptr, indices, values, x, out, epilogue, start, end):
    has_values = values.shape[0] > 0
    for row in range(start, end):
        first, last = indptr[row], indptr[row + 1]
        if last > first:  # a row without entries stays 0
            for f in range(x.shape[1]):
                out[row, f] = -np.inf
            for e in range(first, last):
                source = indices[e]
                weight = values[e] if has_values else out.dtype.type(1)
                for f in range(x.shape[1]):
                    out[row, f] = max(out[row, f], weight * x[source, f])
        _finish(indptr, values, out, row, 2, epilogue)


@njit(cache=True, nogil=True, fastmath=FASTMATH)
def _spmm_rows(indptr, indices, values, x, out, reduce, epilogue, start, end):
    """Rows ``start..end`` of ``reduce_{e in row} values[e] * x[indices[e]]`` (+ bias, act).

    ``values`` empty means all ones; ``epilogue`` is ``(bias, has_bias, act_code, slope)``.
    Each case runs its own plain loop (branching per edge inside one loop cost ~40 % here), and
    finishes each row right after reducing it (a second pass over the rows cost up to 2x).
    """
    if reduce == 2:
        _max_rows(indptr, indices, values, x, out, epilogue, start, end)
    elif x.shape[1] >= BLOCK:
        _blocked_sum_rows(indptr, indices, values, x, out, reduce, epilogue, start, end)
    elif values.shape[0] > 0:
        _weighted_sum_rows(indptr, indices, values, x, out, reduce, epilogue, start, end)
    else:
        _plain_sum_rows(indptr, indices, values, x, out, reduce, epilogue, start, end)


def spmm_csr(indptr, indices, values, x, *, num_rows: int, reduce: str = "sum", bias=None,
             activation: str | None = None, negative_slope: float = 0.01,
             threads: int | None = None) -> np.ndarray:
    """``out[v] = reduce_{e in row v} values[e] * x[indices[e]]``, then ``act(out + bias)``.

    Rows without entries give zeros (also for ``max``), as PyG does.

    Parameters
    ----------
    indptr, indices : int32/int64 arrays
        CSR structure. Shapes: ``(num_rows + 1,)``, ``(nnz,)``; indices index rows of ``x``.
    values : float array or None
        Per-entry weights (None: all ones). Shape: ``(nnz,)``.
    x : float32/float64 array
        Shape: ``(num_cols, F)``. Returns ``(num_rows, F)`` of ``x``'s dtype.
    reduce : "sum", "mean" or "max"
    bias, activation, negative_slope :
        Optional fused epilogue. Shape of ``bias``: ``(F,)``.
    """
    if reduce not in REDUCTIONS:
        raise KernelArgumentError(f"reduce must be one of {sorted(REDUCTIONS)}, got {reduce!r}")
    x = check_dense(x, "x")
    indptr, indices = check_graph_csr(indptr, indices, num_rows, x.shape[0], "spmm_csr")
    values = check_values(values, indices.shape[0], x.dtype)
    bias_array = check_vector(bias, x.shape[1], x.dtype, "bias")
    epilogue = (bias_array, bias is not None, activation_code(activation, ACTIVATIONS),
                float(negative_slope))
    return spmm_csr_unchecked(indptr, indices, values, x, num_rows, REDUCTIONS[reduce], epilogue,
                              threads)


def spmm_csr_unchecked(indptr, indices, values, x, num_rows: int, reduce_code: int, epilogue,
                       threads: int | None) -> np.ndarray:
    """``spmm_csr`` without argument checks, for callers that validated everything already
    (the runtime checks a graph once per run, not once per layer). ``values`` is an array of
    ``x``'s dtype (empty: all ones); ``epilogue`` is ``(bias, has_bias, act_code, slope)``."""
    out = np.zeros((num_rows, x.shape[1]), dtype=x.dtype)
    run_row_chunks(lambda s, e: _spmm_rows(indptr, indices, values, x, out, reduce_code, epilogue,
                                           s, e),
                   indptr, indices.shape[0] * x.shape[1], threads)
    return out


def csr_dense_matmul(indptr, indices, values, weight, *, num_rows: int, bias=None,
                     activation: str | None = None, threads: int | None = None) -> np.ndarray:
    """Sparse input rows times a dense matrix: ``X_csr @ weight`` (bag-of-words features).

    Shapes: ``indptr (num_rows + 1,)``, ``values (nnz,)``, ``weight (in, out)`` ->
    ``(num_rows, out)``.
    """
    return spmm_csr(indptr, indices, values, weight, num_rows=num_rows, reduce="sum", bias=bias,
                    activation=activation, threads=threads)
