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
from ._convert import live_rows
from ._epilogue import activation_in_registers, applied_in_registers, finish_row
from ._intrinsics import (
    CHUNK_VECTORS,
    VECTOR_BYTES,
    full_vector_zeros,
    overread_vector_zeros,
    prefetch_row,
    vector_activate,
    vector_add,
    vector_fma_row,
    vector_scale,
    vector_store_row,
)
from ._memory import aligned_empty
from ._parallel import run_row_chunks

__all__ = ["spmm_csr", "csr_dense_matmul", "live_csr_products", "REDUCTIONS"]

REDUCTIONS = {"sum": 0, "mean": 1, "max": 2}

# Internal reductions of the runtime (``spmm_csr`` does not take them):
# - ``VALUE_MEAN``: a weighted sum divided by the row's sum of weights. Row-normalised sparse
#   features times a weight matrix in one pass, without a normalised copy of the features
#   (a pass of its own over the features, a large share of a small pruned model).
# - ``GCN_SYMMETRIC``: ``D^-1/2 (A + I) D^-1/2 x`` on a graph without self loops, ``values``
#   holding ``D^-1/2`` per node (N,): the weight of entry (v, u) is computed as it is used, so no
#   normalised copy of the graph is built per run (bench/kernel_parts.py).
VALUE_MEAN = 3
GCN_SYMMETRIC = 4

# Where each entry's weight comes from.
_UNWEIGHTED, _EDGE_WEIGHTS, _NODE_WEIGHTS = 0, 1, 2

# Rows are fetched this many entries ahead (see _intrinsics.prefetch_row) when the source is
# beyond L2, where the gathers wait on memory (8 and 16 did equally well on a large random
# graph, bench/spmm_vs_stream.py); for a source that fits (a weight matrix times sparse
# features) the extra instructions only cost time, so smaller sources go without.
PREFETCH_DISTANCE = 8
PREFETCH_MIN_BYTES = 1 << 20
PAIRED_MAX_VECTORS = 4  # spans summed with two partial sums (see _sum_span)


@njit(cache=True, nogil=True, fastmath=FASTMATH)
def _sum_span(indptr, indices, values, x, out, reduce, accumulate, self_weight, epilogue, start,
              end, zeros, column, tail):
    """Sum-type reductions of rows ``start..end`` over the columns from ``column`` that the
    vector tuple ``zeros`` spans (its last vector ``tail`` lanes wide), summed in registers,
    then scaled (mean, GCN), biased and ReLU'd there before the one store (other activations
    are left to the caller). ``self_weight`` times the row's own ``x`` joins the sum (GIN's
    ``(1 + eps) x``); with ``accumulate``, what ``out`` held (a residual: GraphSAGE's root
    term) is added before the activation.

    Compiled once per tuple type. One loop per weight source: choosing the weight per entry
    inside one loop was measurably slower on sparse features. The loops are written out here
    rather than in an inlined helper: the helper's extra live values made LLVM spill registers
    in the loop and keep the prefetch test in it (slower at narrow widths)."""
    if reduce == GCN_SYMMETRIC:
        weights = _NODE_WEIGHTS
    else:
        weights = _EDGE_WEIGHTS if values.shape[0] > 0 else _UNWEIGHTED
    prefetch = x.shape[0] * x.shape[1] * x.itemsize > PREFETCH_MIN_BYTES
    # Entry positions are unsigned: Numba then indexes without its negative-index wraparound
    # (a large share of a narrow SpMM). Mixed with signed integers they would turn into floats, so
    # everything compared with or added to them is unsigned too.
    distance = np.uint64(PREFETCH_DISTANCE)
    ahead = np.uint64(max(indices.shape[0] - PREFETCH_DISTANCE, 0))
    # Unpacked once: taking an array out of a tuple updates its reference count.
    bias, has_bias, code, slope = epilogue
    bias_row = bias.reshape((1, bias.shape[0]))
    # Narrow spans load the bias once (a partial last vector costs more per row than its
    # multiply-adds on AVX2); wide ones per row, as the registers are all taken.
    hoisted = has_bias and len(zeros) <= PAIRED_MAX_VECTORS
    biases = vector_fma_row(zeros, 1, bias_row, 0, column, tail) if hoisted else zeros
    for row in range(start, end):
        first, last = np.uint64(indptr[row]), np.uint64(indptr[row + 1])
        sums = zeros
        if weights == _NODE_WEIGHTS:  # the self loop every node gets
            sums = vector_fma_row(sums, values[row], x, row, column, tail)
        if self_weight != 0:
            sums = vector_fma_row(sums, self_weight, x, row, column, tail)
        # What the row's sum is multiplied by: 1 / entry count (mean, and VALUE_MEAN without
        # values), 1 / the row's value sum (VALUE_MEAN; a zero sum divides by 1, as
        # input_norm), the destination's D^-1/2 (GCN_SYMMETRIC). Worked out in each weight
        # source's branch: a helper called per row (LLVM kept the call), or a second loop for
        # the value sum, each cost as much as the row's entries on Cora.
        scale = 1.0
        count = last - first
        # Narrow spans sum alternate entries into two partial sums: one chain of multiply-adds
        # would wait out each one's latency (a bag-of-words row of 18 entries, 16 wide, is one
        # vector per entry). Wide spans have enough independent vectors, and twice their
        # registers would spill on AVX2; they, and an odd entry, take the single-sum loops.
        paired = len(zeros) <= PAIRED_MAX_VECTORS
        other = zeros
        e, two, one = first, np.uint64(2), np.uint64(1)
        if weights == _EDGE_WEIGHTS:
            value_sum = values.dtype.type(0)  # VALUE_MEAN's divisor, in the values' own type
            other_sum = values.dtype.type(0)
            while paired and e + two <= last:
                if prefetch and e + one < ahead:  # rows a few entries ahead
                    prefetch_row(sums, x, indices[e + distance], column)
                    prefetch_row(sums, x, indices[e + distance + one], column)
                value_sum += values[e]
                other_sum += values[e + one]
                sums = vector_fma_row(sums, values[e], x, indices[e], column, tail)
                other = vector_fma_row(other, values[e + one], x, indices[e + one], column,
                                       tail)
                e += two
            for rest in range(e, last):
                if prefetch and rest < ahead:
                    prefetch_row(sums, x, indices[rest + distance], column)
                value_sum += values[rest]
                sums = vector_fma_row(sums, values[rest], x, indices[rest], column, tail)
            value_sum += other_sum
            if reduce == VALUE_MEAN and value_sum != 0:
                scale = 1.0 / value_sum
            elif reduce == 1 and count > 0:
                scale = 1.0 / count
        elif weights == _NODE_WEIGHTS:
            while paired and e + two <= last:
                if prefetch and e + one < ahead:
                    prefetch_row(sums, x, indices[e + distance], column)
                    prefetch_row(sums, x, indices[e + distance + one], column)
                source, next_source = np.uint64(indices[e]), np.uint64(indices[e + one])
                sums = vector_fma_row(sums, values[source], x, source, column, tail)
                other = vector_fma_row(other, values[next_source], x, next_source, column,
                                       tail)
                e += two
            for rest in range(e, last):
                if prefetch and rest < ahead:
                    prefetch_row(sums, x, indices[rest + distance], column)
                source = np.uint64(indices[rest])
                sums = vector_fma_row(sums, values[source], x, source, column, tail)
            scale = values[row]
        else:
            while paired and e + two <= last:
                if prefetch and e + one < ahead:
                    prefetch_row(sums, x, indices[e + distance], column)
                    prefetch_row(sums, x, indices[e + distance + one], column)
                sums = vector_fma_row(sums, 1, x, indices[e], column, tail)
                other = vector_fma_row(other, 1, x, indices[e + one], column, tail)
                e += two
            for rest in range(e, last):
                if prefetch and rest < ahead:
                    prefetch_row(sums, x, indices[rest + distance], column)
                sums = vector_fma_row(sums, 1, x, indices[rest], column, tail)
            if reduce != 0 and count > 0:
                scale = 1.0 / count
        if paired:
            sums = vector_add(sums, other)
        if reduce != 0:
            sums = vector_scale(sums, scale)
        if hoisted:
            sums = vector_add(sums, biases)
        elif has_bias:
            sums = vector_fma_row(sums, 1, bias_row, 0, column, tail)
        if accumulate:
            sums = vector_fma_row(sums, 1, out, row, column, tail)
        if code != 0:
            sums = vector_activate(sums, code, slope)
        vector_store_row(sums, out, row, column, tail)


@njit(cache=True, nogil=True, fastmath=FASTMATH)
def _sum_rows(indptr, indices, values, x, out, reduce, accumulate, self_weight, epilogue, start,
              end):
    """Sum-type reductions of rows ``start..end``: spans of ``CHUNK_VECTORS`` whole vectors (64
    float32 columns), then the columns left with as many vectors as they need, the last one
    masked (rows wider than one span are swept once per span), then activations other than
    (leaky) ReLU."""
    lanes = VECTOR_BYTES // x.itemsize
    width = x.shape[1]
    last_column = _sum_whole_chunks(indptr, indices, values, x, out, reduce, accumulate,
                                    self_weight, epilogue, start, end)
    vectors = (width - last_column + lanes - 1) // lanes
    tail = width - last_column - (vectors - 1) * lanes
    # A literal tuple length per branch: each compiles its own specialisation of _sum_span.
    if vectors == 1:
        _sum_span(indptr, indices, values, x, out, reduce, accumulate, self_weight, epilogue,
                  start, end,
                  overread_vector_zeros(x, 1), last_column, tail)
    elif vectors == 2:
        _sum_span(indptr, indices, values, x, out, reduce, accumulate, self_weight, epilogue,
                  start, end,
                  overread_vector_zeros(x, 2), last_column, tail)
    elif vectors == 3:
        _sum_span(indptr, indices, values, x, out, reduce, accumulate, self_weight, epilogue,
                  start, end,
                  overread_vector_zeros(x, 3), last_column, tail)
    elif vectors == 4:
        _sum_span(indptr, indices, values, x, out, reduce, accumulate, self_weight, epilogue,
                  start, end,
                  overread_vector_zeros(x, 4), last_column, tail)
    elif vectors == 5:
        _sum_span(indptr, indices, values, x, out, reduce, accumulate, self_weight, epilogue,
                  start, end,
                  overread_vector_zeros(x, 5), last_column, tail)
    elif vectors == 6:
        _sum_span(indptr, indices, values, x, out, reduce, accumulate, self_weight, epilogue,
                  start, end,
                  overread_vector_zeros(x, 6), last_column, tail)
    elif vectors == 7:
        _sum_span(indptr, indices, values, x, out, reduce, accumulate, self_weight, epilogue,
                  start, end,
                  overread_vector_zeros(x, 7), last_column, tail)
    elif vectors == CHUNK_VECTORS:
        _sum_span(indptr, indices, values, x, out, reduce, accumulate, self_weight, epilogue,
                  start, end,
                  overread_vector_zeros(x, CHUNK_VECTORS), last_column, tail)
    _finish_other_activations(out, epilogue, start, end)


@njit(cache=True, nogil=True, fastmath=FASTMATH)
def _sum_whole_chunks(indptr, indices, values, x, out, reduce, accumulate, self_weight, epilogue,
                      start, end):
    """Sum-type reductions over the columns that fill whole spans of ``CHUNK_VECTORS`` vectors
    (no masked loads or stores); returns the first column left."""
    lanes = VECTOR_BYTES // x.itemsize
    chunk = CHUNK_VECTORS * lanes
    last_column = x.shape[1] // chunk * chunk
    for column in range(0, last_column, chunk):
        _sum_span(indptr, indices, values, x, out, reduce, accumulate, self_weight, epilogue,
                  start, end, full_vector_zeros(x, CHUNK_VECTORS), column, lanes)
    return last_column


@njit(cache=True, nogil=True, fastmath=FASTMATH)
def _finish_other_activations(out, epilogue, start, end):
    """The activations that the sums' registers do not apply."""
    if not applied_in_registers(epilogue[2], out.itemsize):
        _finish_rows(out, epilogue, start, end)


@njit(cache=True, nogil=True, fastmath=FASTMATH)
def _finish_rows(out, epilogue, start, end):
    """Activation ``epilogue[2]`` over rows ``start..end`` (the bias is applied already)."""
    bias, _, code, slope = epilogue
    for row in range(start, end):
        finish_row(out, row, bias, np.bool_(False), code, slope)  # not a literal False


@njit(cache=True, nogil=True, fastmath=FASTMATH)
def _max_rows(indptr, indices, values, x, out, epilogue, start, end):
    has_values = values.shape[0] > 0
    bias, has_bias, code, slope = epilogue
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
        finish_row(out, row, bias, has_bias, code, slope)


@njit(cache=True, nogil=True, fastmath=FASTMATH)
def _spmm_rows(indptr, indices, values, x, out, reduce, epilogue, start, end, accumulate,
               self_weight):
    """Rows ``start..end`` of ``reduce_{e in row} values[e] * x[indices[e]]`` (+ bias, act).

    ``values`` empty means all ones (for ``GCN_SYMMETRIC``: one per node); ``epilogue`` is
    ``(bias, has_bias, act_code, slope)``; ``accumulate`` adds what ``out`` held and
    ``self_weight`` the row's own ``x`` (sums only). Each row is finished right after it is reduced (a
    second pass over the rows cost up to 2x), in registers for sums.
    """
    if reduce == 2:
        _max_rows(indptr, indices, values, x, out, epilogue, start, end)
        return
    if x.shape[1] == 0:
        return
    _sum_rows(indptr, indices, values, x, out, reduce, accumulate, self_weight, epilogue, start,
              end)


def _width_kernel(full_chunks: bool, has_tail: bool, tail_vectors: int, whole_tail: bool):
    """``_sum_rows`` for one row layout, fixed when it compiles: whether rows span whole chunks
    of ``CHUNK_VECTORS`` vectors (``full_chunks``), and whether columns are left after them
    (``has_tail``), in ``tail_vectors`` vectors, the last one whole or not (``whole_tail``: a
    whole one loads without the mask check of ``_intrinsics._unless_whole`` per entry,
    bench/kernel_parts.py). The four are the closure's constants, so
    Numba drops the branches a layout does not take before typing them, and each kernel
    compiles only the ``_sum_span`` specialisations its width uses, not all nine that
    ``_sum_rows`` compiles. (Constants, not literal arguments: a dispatcher given literal
    arguments from Python re-resolves them on every call, in milliseconds.) The per-op path
    calls these; the compiled small-graph path, whose widths vary per layer inside one
    compiled interpreter, keeps ``_sum_rows``. Activations the registers do not apply are left
    to the caller (``_finish_rows``), so that a model without them never compiles them."""

    @njit(cache=True, nogil=True, fastmath=FASTMATH)
    def _sum_rows_of_width(indptr, indices, values, x, out, reduce, epilogue, start, end,
                           accumulate, self_weight):
        if full_chunks:
            last_column = _sum_whole_chunks(indptr, indices, values, x, out, reduce, accumulate,
                                            self_weight, epilogue, start, end)
        else:
            last_column = np.int64(0)  # not a literal: _sum_span would compile for it alone
        if has_tail:
            lanes = VECTOR_BYTES // x.itemsize
            tail = x.shape[1] - last_column - (tail_vectors - 1) * lanes
            if whole_tail:
                _sum_span(indptr, indices, values, x, out, reduce, accumulate, self_weight,
                          epilogue, start, end, full_vector_zeros(x, tail_vectors), last_column,
                          tail)
            else:
                _sum_span(indptr, indices, values, x, out, reduce, accumulate, self_weight,
                          epilogue, start, end, overread_vector_zeros(x, tail_vectors),
                          last_column, tail)

    return _sum_rows_of_width


# One kernel per row layout met so far: (full_chunks, has_tail, tail_vectors) -> dispatcher.
WIDTH_KERNELS: dict[tuple[bool, bool, int, bool], object] = {}


def _kernel_for_width(x: np.ndarray):
    """The ``_width_kernel`` of ``x``'s row layout (made at its first use)."""
    lanes = VECTOR_BYTES // x.itemsize
    chunk = CHUNK_VECTORS * lanes
    tail_vectors = -(-(x.shape[1] % chunk) // lanes)
    # without a tail, one kernel whatever the count (it is not used)
    layout = (x.shape[1] >= chunk, tail_vectors > 0, max(tail_vectors, 1),
              x.shape[1] % lanes == 0)
    kernel = WIDTH_KERNELS.get(layout)
    if kernel is None:
        kernel = WIDTH_KERNELS.setdefault(layout, _width_kernel(*layout))
    return kernel


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
                       threads: int | None, residual: np.ndarray | None = None,
                       self_weight: float = 0.0) -> np.ndarray:
    """``spmm_csr`` without argument checks, for callers that validated everything already
    (the runtime checks a graph once per run, not once per layer). ``values`` is an array of
    ``x``'s dtype (empty: all ones); ``epilogue`` is ``(bias, has_bias, act_code, slope)``.
    A ``residual`` (C-contiguous ``(num_rows, F)`` of ``x``'s dtype, sum-type reductions only)
    is added before the activation, in place: it becomes the output. ``self_weight`` times
    each row's own ``x`` (a square graph) joins its sum."""
    if residual is not None:
        out = residual
    elif reduce_code == REDUCTIONS["max"]:  # max leaves rows without entries as they are
        out = np.zeros((num_rows, x.shape[1]), dtype=x.dtype)
    else:  # sums store every element
        out = aligned_empty((num_rows, x.shape[1]), x.dtype)
    accumulate = residual is not None
    self_weight = float(self_weight)
    work = indices.shape[0] * x.shape[1]
    if reduce_code == REDUCTIONS["max"]:
        run_row_chunks(lambda s, e: _max_rows(indptr, indices, values, x, out, epilogue, s, e),
                       indptr, work, threads)
    elif x.shape[1] > 0:
        kernel = _kernel_for_width(x)
        finish = not activation_in_registers(epilogue[2], x.itemsize)

        def rows(start, end):
            kernel(indptr, indices, values, x, out, reduce_code, epilogue, start, end,
                   accumulate, self_weight)
            if finish:
                _finish_rows(out, epilogue, start, end)

        run_row_chunks(rows, indptr, work, threads)
    return out


def live_csr_products(indptr, indices, data, remap, weights, normalize: bool, epilogues,
                      threads: int | None) -> list[np.ndarray]:
    """``act(X @ M + bias)`` for checked CSR features ``X (N, K)`` (float32 ``data``) and the
    live rows of one matrix ``M (K, outputs)``, or of each of its column parts: ``weights``
    holds the rows of each part that ``remap (K,)`` int32 numbers (-1: a row of zeros, whose
    entries are dropped), ``epilogues`` one fused epilogue per part. With ``normalize``, each
    row of ``X`` is divided by its sum first (``input_norm``).

    Each row chunk narrows its rows to the live entries (``live_rows``) and sums them while
    they are in cache: one read of the entries of dead rows instead of a multiply-add of the
    whole output row per entry. Returns one ``(N, outputs)`` array per part."""
    rows = indptr.shape[0] - 1
    outs = [aligned_empty((rows, weight.shape[1]), weight.dtype) for weight in weights]
    kernels = [_kernel_for_width(weight) for weight in weights]

    def run(start, end):
        stored = int(indptr[end] - indptr[start]) + 1
        live_indptr = np.empty(end - start + 1, np.int64)
        live_indices, live_data = np.empty(stored, np.int32), np.empty(stored, data.dtype)
        live_rows(indptr, indices, data, remap, normalize, start, end, live_indptr,
                  live_indices, live_data)
        for weight, out, kernel, epilogue in zip(weights, outs, kernels, epilogues):
            view = out[start:end]
            kernel(live_indptr, live_indices, live_data, weight, view, 0, epilogue, 0,
                   end - start, False, 0.0)
            if not activation_in_registers(epilogue[2], weight.itemsize):
                _finish_rows(view, epilogue, 0, end - start)

    # an entry costs about a 16-wide multiply-add to narrow (the pool's unit)
    work = indices.shape[0] * (16 + sum(weight.shape[1] for weight in weights))
    run_row_chunks(run, indptr, work, threads)
    return outs


def csr_dense_matmul(indptr, indices, values, weight, *, num_rows: int, bias=None,
                     activation: str | None = None, threads: int | None = None) -> np.ndarray:
    """Sparse input rows times a dense matrix: ``X_csr @ weight`` (bag-of-words features).

    Shapes: ``indptr (num_rows + 1,)``, ``values (nnz,)``, ``weight (in, out)`` ->
    ``(num_rows, out)``.
    """
    return spmm_csr(indptr, indices, values, weight, num_rows=num_rows, reduce="sum", bias=bias,
                    activation=activation, threads=threads)
