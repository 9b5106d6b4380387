"""Graph attention: per-edge scores (SDDMM), softmax over each destination's incoming edges,
and the attention-weighted aggregation, multi-head. The fused kernel never stores the
attention matrix."""

from __future__ import annotations

import numpy as np
from numba import njit

from ._checks import KernelArgumentError, check_dense, check_graph_csr
from ._config import ACTIVATIONS, FASTMATH
from ._elementary import exp32
from ._intrinsics import (
    VECTOR_BYTES,
    full_vector_zeros,
    vector_activate,
    vector_add,
    vector_fma_row,
    vector_halves,
    vector_mul_row,
    vector_scale,
    vector_store_row,
    vector_zeros,
)
from ._memory import aligned_zeros
from ._parallel import run_row_chunks

__all__ = ["attention_scores", "edge_softmax", "gat_aggregate", "gat_aggregate_unchecked"]

# An edge's score, exp and share of the sum, per head, in the pool's unit of work (one
# gathered multiply-add; bench/kernel_parts.py times the attention).
EDGE_HEAD_WORK = 32
LEAKY_RELU = ACTIVATIONS["leaky_relu"]
# Edge-heads whose softmax weights the fused aggregation works out per block of rows: 32 KB
# of float32 weights, which stay in L1 / L2 until the block's sums read them.
BLOCK_ENTRIES = 8192
# A head whose weights sum below this (their exps shifted by a bound far above the row's own
# peak) is worked out again from that peak, keeping the weights the bound pushed towards 0.
UNDERFLOW_SUM = 2.0 ** -40


@njit(cache=True, nogil=True, fastmath=FASTMATH, inline="always")
def _row_weights(indptr, indices, score_src, score_dst, heads, slope, row, weights, offset,
                 peaks, totals):
    """The unnormalised softmax weights of ``row``'s in-edges, every head at once, into
    ``weights[offset + k, h]`` for its ``k``-th edge, and their sums into ``totals (heads,)``
    (``peaks (heads,)`` is scratch). Each edge's scores are computed once: a pass for the
    scores and each head's peak, one for the weights (exp, vectorised over heads, or over
    the edges when ``heads`` is a literal 1: see ``_gat_rows``)."""
    first, last = indptr[row], indptr[row + 1]
    for h in range(heads):
        peaks[h] = -np.inf
    for k in range(last - first):
        source = np.uint64(indices[first + k])  # unsigned: no negative-index wraparound
        for h in range(heads):
            value = score_src[source, h] + score_dst[row, h]
            value = value if value > 0 else slope * value
            weights[offset + k, h] = value
            peaks[h] = max(peaks[h], value)
    for h in range(heads):
        totals[h] = 0.0
    for k in range(last - first):
        for h in range(heads):
            weight = exp32(weights[offset + k, h] - peaks[h])  # minus the peak: stays finite
            weights[offset + k, h] = weight
            totals[h] += weight


@njit(cache=True, nogil=True, fastmath=FASTMATH, inline="always")
def _softmax_span(indptr, indices, score_src, score_dst, heads, slope, alpha, start, end, peaks,
                  totals):
    for row in range(start, end):
        first = indptr[row]
        _row_weights(indptr, indices, score_src, score_dst, heads, slope, row, alpha, first,
                     peaks, totals)
        for e in range(first, indptr[row + 1]):
            for h in range(heads):
                alpha[e, h] /= totals[h]


@njit(cache=True, nogil=True, fastmath=FASTMATH)
def _softmax_rows(indptr, indices, score_src, score_dst, slope, alpha, start, end):
    heads = score_src.shape[1]
    peaks = np.empty(heads, dtype=score_src.dtype)
    totals = np.empty(heads, dtype=score_src.dtype)
    slope = score_src.dtype.type(slope)  # a float64 slope would widen every score
    if heads == 1:  # see _gat_rows
        _softmax_span(indptr, indices, score_src, score_dst, 1, slope, alpha, start, end, peaks,
                      totals)
    else:
        _softmax_span(indptr, indices, score_src, score_dst, heads, slope, alpha, start, end,
                      peaks, totals)


@njit(cache=True, nogil=True, fastmath=FASTMATH, inline="always")
def _shifted_scores(indptr, indices, score_src, score_dst, source_peaks, slope, first_row,
                    end_row, weights):
    """Each edge's scores of rows ``first_row..end_row`` minus a bound on its row's scores,
    ``leaky(source_peaks[0, h] + score_dst[row, h])`` (``source_peaks (1, heads)``: each
    head's largest source score), into ``weights[k, h]`` for the block's ``k``-th edge: all
    at most 0, so the exps that follow cannot overflow, and softmax does not change with the
    shift. Vectors over the heads, a vector's worth of heads at a time."""
    heads = score_src.shape[1]
    lanes = VECTOR_BYTES // score_src.itemsize
    base = indptr[first_row]
    for row in range(first_row, end_row):
        for column in range(0, heads, lanes):
            tail = min(lanes, heads - column)
            target = vector_fma_row(vector_zeros(score_src, 1), 1, score_dst, row, column, tail)
            bound = vector_activate(vector_fma_row(target, 1, source_peaks, 0, column, tail),
                                    LEAKY_RELU, slope)
            shift = vector_scale(bound, -1)
            for e in range(indptr[row], indptr[row + 1]):
                score = vector_activate(vector_fma_row(target, 1, score_src,
                                                       np.uint64(indices[e]), column, tail),
                                        LEAKY_RELU, slope)
                vector_store_row(vector_add(score, shift), weights, e - base, column, tail)


@njit(cache=True, nogil=True, fastmath=FASTMATH, inline="always")
def _weight_sums(weights, offset, count, totals):
    """``totals[0, h]``: the sum of ``weights[offset:offset + count, h]``, a vector of heads at
    a time."""
    heads = weights.shape[1]
    lanes = VECTOR_BYTES // weights.itemsize
    for column in range(0, heads, lanes):
        tail = min(lanes, heads - column)
        sums = vector_zeros(weights, 1)
        for k in range(offset, offset + count):
            sums = vector_fma_row(sums, 1, weights, k, column, tail)
        vector_store_row(sums, totals, 0, column, tail)


@njit(cache=True, nogil=True, fastmath=FASTMATH, inline="always")
def _add_head_pair(sums, weights, k, head, low, high, flat, source, column):
    """``sums`` plus the whole vector ``flat[source, column:]`` (heads ``head`` and ``head + 1``,
    half a vector each), its halves weighted by edge ``k``'s weights of either head times
    ``low`` / ``high`` (the heads' 1 / sum)."""
    lanes = VECTOR_BYTES // flat.itemsize
    pair = vector_halves(flat, weights[k, head] * low, weights[k, head + 1] * high)
    return vector_add(sums, vector_mul_row(pair, flat, np.uint64(source), column, lanes))


@njit(cache=True, nogil=True, fastmath=FASTMATH, inline="always")
def _gat_span(indptr, indices, score_src, score_dst, source_peaks, flat, heads, slope, out,
              start, end, weights, peaks, totals, head_sums):
    """``_gat_rows`` over its rows, with its scratch: ``heads`` may be a literal. Rows go in
    blocks of about ``BLOCK_ENTRIES`` edge-heads: their shifted scores in one pass
    (``_shifted_scores``), their exps in one flat loop over the block, then per row each
    head's sum and weighted sum. A head whose weights sum below ``UNDERFLOW_SUM`` (the bound
    sat far above the row's own peak) is worked out again from the exact peak
    (``_row_weights``). (Row by row, with a max pass and exps in short loops over a row's
    edges, the weights were slower: bench/kernel_parts.py times the attention.)"""
    channels = flat.shape[1] // heads
    lanes = VECTOR_BYTES // flat.itemsize
    in_register = channels <= lanes
    pair_heads = 2 * channels == lanes
    one, two = np.uint64(1), np.uint64(2)
    block_edges = max(BLOCK_ENTRIES // heads, 1)
    first_row = start
    while first_row < end:
        base = indptr[first_row]
        end_row = first_row + 1  # at least one row, however many edges it has
        while end_row < end and indptr[end_row + 1] - base <= block_edges:
            end_row += 1
        _shifted_scores(indptr, indices, score_src, score_dst, source_peaks, slope, first_row,
                        end_row, weights)
        flat_weights = weights.reshape(-1)
        for i in range((indptr[end_row] - base) * heads):
            flat_weights[i] = exp32(flat_weights[i])
        for row in range(first_row, end_row):
            first, last = indptr[row], indptr[row + 1]
            if last == first:
                continue
            offset = np.uint64(first - base)
            count = np.uint64(last - first)
            _weight_sums(weights, offset, count, head_sums)  # totals is its row
            underflow = False
            for h in range(heads):
                underflow |= totals[h] < UNDERFLOW_SUM
            if underflow:
                _row_weights(indptr, indices, score_src, score_dst, heads, slope, row,
                             weights, offset, peaks, totals)
            start_entry = np.uint64(first)
            paired = 0
            while pair_heads and paired + 1 < heads:
                # two heads of half a vector each: one whole vector per edge, its lanes
                # weighted by either head (twice the lanes of a pass per head)
                low, high = 1.0 / totals[paired], 1.0 / totals[paired + 1]
                column = paired * channels
                even = full_vector_zeros(flat, 1)
                odd = even
                k = np.uint64(0)
                while k + two <= count:
                    even = _add_head_pair(even, weights, offset + k, paired, low, high, flat,
                                          indices[start_entry + k], column)
                    odd = _add_head_pair(odd, weights, offset + k + one, paired, low, high,
                                         flat, indices[start_entry + k + one], column)
                    k += two
                if k < count:
                    even = _add_head_pair(even, weights, offset + k, paired, low, high, flat,
                                          indices[start_entry + k], column)
                vector_store_row(vector_add(even, odd), out, row, column, lanes)
                paired += 2
            for h in range(paired, heads):
                scale = 1.0 / totals[h]
                column = h * channels
                if in_register:
                    # two partial sums: one would wait a multiply-add's latency per edge
                    even = vector_zeros(flat, 1)
                    odd = even
                    k = np.uint64(0)
                    while k + two <= count:
                        even = vector_fma_row(even, weights[offset + k, h] * scale, flat,
                                              np.uint64(indices[start_entry + k]), column,
                                              channels)
                        odd = vector_fma_row(odd, weights[offset + k + one, h] * scale, flat,
                                             np.uint64(indices[start_entry + k + one]),
                                             column, channels)
                        k += two
                    if k < count:
                        even = vector_fma_row(even, weights[offset + k, h] * scale, flat,
                                              np.uint64(indices[start_entry + k]), column,
                                              channels)
                    vector_store_row(vector_add(even, odd), out, row, column, channels)
                else:
                    for k in range(count):
                        source = np.uint64(indices[start_entry + k])
                        weight = weights[offset + k, h] * scale
                        for c in range(column, column + channels):
                            out[row, c] += weight * flat[source, c]
        first_row = end_row


@njit(cache=True, nogil=True, fastmath=FASTMATH)
def _gat_rows(indptr, indices, score_src, score_dst, source_peaks, flat, heads, slope, out,
              start, end):
    """Rows ``start..end`` of the fused GAT aggregation over ``flat (N, heads * channels)``
    into ``out (rows, heads * channels)``: the softmax weights of a block of rows into a
    scratch block (``_gat_span``), then one walk over each row's edges per head for the
    weighted sum, which runs in a vector register where a head's channels fit one (masked to
    them). ``source_peaks (1, heads)``: each head's largest ``score_src``.

    One head (a GAT's output layer, usually) runs with ``heads`` a literal 1: the loops over
    heads then vanish (bench/kernel_parts.py times both kinds of layer)."""
    widest = 0
    for row in range(start, end):
        widest = max(widest, indptr[row + 1] - indptr[row])
    weights = np.empty((max(widest, BLOCK_ENTRIES // heads, 1), heads), dtype=score_src.dtype)
    peaks = np.empty(heads, dtype=score_src.dtype)
    head_sums = np.empty((1, heads), dtype=score_src.dtype)  # the vector sums' store
    totals = head_sums[0]
    slope = score_src.dtype.type(slope)  # a float64 slope would widen every score
    if heads == 1:
        _gat_span(indptr, indices, score_src, score_dst, source_peaks, flat, 1, slope, out,
                  start, end, weights, peaks, totals, head_sums)
    else:
        _gat_span(indptr, indices, score_src, score_dst, source_peaks, flat, heads, slope, out,
                  start, end, weights, peaks, totals, head_sums)


@njit(cache=True, nogil=True, fastmath=FASTMATH)
def _score_rows(flat, att_src, att_dst, score_src, score_dst, start, end):
    """``score_src[n, h] = flat[n, h*C:(h+1)*C] . att_src[h]`` (and ``score_dst`` with
    ``att_dst``) for rows ``start..end``, both in one pass over each row."""
    heads, channels = att_src.shape
    for row in range(start, end):
        for h in range(heads):
            source = target = flat.dtype.type(0)
            base = h * channels
            for c in range(channels):
                value = flat[row, base + c]
                source += value * att_src[h, c]
                target += value * att_dst[h, c]
            score_src[row, h] = source
            score_dst[row, h] = target


def attention_scores(projected, att_src, att_dst, threads: int | None = None):
    """GAT's per-node scores, ``(projected * att).sum(-1)`` for both attention vectors, in one
    compiled pass (two numpy einsums, a pass each, were slower).

    Shapes: ``projected (N, H, C)`` C-contiguous, ``att_src, att_dst (H, C)`` of its dtype ->
    ``(score_src (N, H), score_dst (N, H))``. Arguments are the runtime's own: not checked."""
    rows, heads, channels = projected.shape
    flat = projected.reshape(rows, heads * channels)
    score_src = np.empty((rows, heads), projected.dtype)
    score_dst = np.empty((rows, heads), projected.dtype)
    run_row_chunks(lambda start, end: _score_rows(flat, att_src, att_dst, score_src, score_dst,
                                                  start, end),
                   np.arange(rows + 1), 2 * rows * heads * channels, threads)
    return score_src, score_dst


def _source_peaks(score_src: np.ndarray) -> np.ndarray:
    """The largest source score of each head, ``(1, H)``: with each row's destination score, a
    bound on the row's scores (``_shifted_scores``). Zeros without sources (nor edges)."""
    if score_src.shape[0] == 0:
        return np.zeros((1, score_src.shape[1]), score_src.dtype)
    return score_src.max(axis=0).reshape(1, -1)


def _check_scores(indptr, indices, score_src, score_dst, num_rows):
    score_src = check_dense(score_src, "score_src")
    score_dst = check_dense(score_dst, "score_dst", rows=num_rows)
    if score_dst.shape[1] != score_src.shape[1] or score_dst.dtype != score_src.dtype:
        raise KernelArgumentError(
            f"score_src and score_dst must agree on heads and dtype, got {score_src.shape} "
            f"{score_src.dtype} and {score_dst.shape} {score_dst.dtype}")
    indptr, indices = check_graph_csr(indptr, indices, num_rows, score_src.shape[0], "attention")
    return indptr, indices, score_src, score_dst


def edge_softmax(indptr, indices, score_src, score_dst, *, negative_slope: float = 0.2,
                 threads: int | None = None) -> np.ndarray:
    """``alpha[e, h] = softmax over row v of leaky_relu(score_src[src_e, h] + score_dst[v, h])``.

    Shapes: ``score_src (N_src, H)``, ``score_dst (num_rows, H)`` -> ``(nnz, H)``.
    """
    num_rows = np.asarray(score_dst).shape[0] if np.ndim(score_dst) == 2 else -1
    indptr, indices, score_src, score_dst = _check_scores(indptr, indices, score_src, score_dst,
                                                          num_rows)
    alpha = np.zeros((indices.shape[0], score_src.shape[1]), dtype=score_src.dtype)
    run_row_chunks(lambda s, e: _softmax_rows(indptr, indices, score_src, score_dst,
                                              negative_slope, alpha, s, e),
                   indptr, indices.shape[0] * score_src.shape[1] * EDGE_HEAD_WORK, threads)
    return alpha


def gat_aggregate(indptr, indices, score_src, score_dst, x, *, negative_slope: float = 0.2,
                  threads: int | None = None) -> np.ndarray:
    """``out[v, h] = sum_e alpha[e, h] * x[src_e, h]`` with ``alpha`` from :func:`edge_softmax`,
    fused (the attention matrix is never stored). Rows without entries give zeros.

    Shapes: ``x (N_src, H, C)``, ``score_src (N_src, H)``, ``score_dst (num_rows, H)`` ->
    ``(num_rows, H, C)``.
    """
    num_rows = np.asarray(score_dst).shape[0] if np.ndim(score_dst) == 2 else -1
    indptr, indices, score_src, score_dst = _check_scores(indptr, indices, score_src, score_dst,
                                                          num_rows)
    x = check_dense(x, "x", ndim=3, rows=score_src.shape[0])
    if x.shape[1] != score_src.shape[1] or x.dtype != score_src.dtype:
        raise KernelArgumentError(f"x must have shape (N, {score_src.shape[1]}, C) and dtype "
                                  f"{score_src.dtype}, got {x.shape} {x.dtype}")
    return gat_aggregate_unchecked(indptr, indices, score_src, score_dst, x, negative_slope,
                                   threads)


def gat_aggregate_unchecked(indptr, indices, score_src, score_dst, x, negative_slope: float,
                            threads: int | None) -> np.ndarray:
    """``gat_aggregate`` without argument checks, for the runtime, which checked the graph once
    per run and made the other arrays itself (float32, C-contiguous, matching shapes)."""
    heads, channels = x.shape[1], x.shape[2]
    # 2-D views, rows of heads x channels: the vector kernels index rows and column spans
    flat = x.reshape(x.shape[0], heads * channels)
    num_rows = indptr.shape[0] - 1
    out = aligned_zeros(num_rows, heads * channels, flat)
    peaks = _source_peaks(score_src)
    run_row_chunks(lambda s, e: _gat_rows(indptr, indices, score_src, score_dst, peaks, flat,
                                          heads, negative_slope, out, s, e),
                   indptr, indices.shape[0] * heads * (channels + EDGE_HEAD_WORK), threads)
    return out.reshape(num_rows, heads, channels)
