"""Graph attention: per-edge scores (SDDMM), softmax over each destination's incoming edges,
and the attention-weighted aggregation, multi-head. The fused kernel never stores the
attention matrix."""

from __future__ import annotations

import numpy as np
from numba import njit

from ._checks import KernelArgumentError, check_dense, check_graph_csr
from ._config import FASTMATH
from ._elementary import exp32
from ._intrinsics import VECTOR_BYTES, vector_add, vector_fma_row, vector_store_row, vector_zeros
from ._memory import aligned_zeros
from ._parallel import run_row_chunks

__all__ = ["attention_scores", "edge_softmax", "gat_aggregate", "gat_aggregate_unchecked"]

# An edge's score, exp and share of the sum, per head, in the pool's unit of work (one
# gathered multiply-add; bench/kernel_parts.py times the attention).
EDGE_HEAD_WORK = 32


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
def _gat_span(indptr, indices, score_src, score_dst, flat, heads, slope, out, start, end,
              weights, peaks, totals):
    """``_gat_rows`` over its rows, with its scratch: ``heads`` may be a literal."""
    channels = flat.shape[1] // heads
    in_register = channels <= VECTOR_BYTES // flat.itemsize
    one, two = np.uint64(1), np.uint64(2)
    for row in range(start, end):
        first, last = indptr[row], indptr[row + 1]
        if last == first:
            continue
        _row_weights(indptr, indices, score_src, score_dst, heads, slope, row, weights, 0,
                     peaks, totals)
        count = np.uint64(last - first)
        start_entry = np.uint64(first)
        for h in range(heads):
            scale = 1.0 / totals[h]
            column = h * channels
            if in_register:
                # two partial sums: one would wait a multiply-add's latency per edge
                even = vector_zeros(flat, 1)
                odd = even
                k = np.uint64(0)
                while k + two <= count:
                    even = vector_fma_row(even, weights[k, h] * scale, flat,
                                          np.uint64(indices[start_entry + k]), column, channels)
                    odd = vector_fma_row(odd, weights[k + one, h] * scale, flat,
                                         np.uint64(indices[start_entry + k + one]), column,
                                         channels)
                    k += two
                if k < count:
                    even = vector_fma_row(even, weights[k, h] * scale, flat,
                                          np.uint64(indices[start_entry + k]), column, channels)
                vector_store_row(vector_add(even, odd), out, row, column, channels)
            else:
                for k in range(count):
                    source = np.uint64(indices[start_entry + k])
                    weight = weights[k, h] * scale
                    for c in range(column, column + channels):
                        out[row, c] += weight * flat[source, c]


@njit(cache=True, nogil=True, fastmath=FASTMATH)
def _gat_rows(indptr, indices, score_src, score_dst, flat, heads, slope, out, start, end):
    """Rows ``start..end`` of the fused GAT aggregation over ``flat (N, heads * channels)``
    into ``out (rows, heads * channels)``: each row's softmax weights into a scratch row
    (``_row_weights``), then one walk over its edges per head for the weighted sum, which runs
    in a vector register where a head's channels fit one (masked to them).

    One head (a GAT's output layer, usually) runs with ``heads`` a literal 1: the loops over
    heads then vanish and the exps vectorise over the row's edges instead
    (bench/kernel_parts.py times both kinds of layer)."""
    widest = 0
    for row in range(start, end):
        widest = max(widest, indptr[row + 1] - indptr[row])
    weights = np.empty((widest, heads), dtype=score_src.dtype)
    peaks = np.empty(heads, dtype=score_src.dtype)
    totals = np.empty(heads, dtype=score_src.dtype)
    slope = score_src.dtype.type(slope)  # a float64 slope would widen every score
    if heads == 1:
        _gat_span(indptr, indices, score_src, score_dst, flat, 1, slope, out, start, end,
                  weights, peaks, totals)
    else:
        _gat_span(indptr, indices, score_src, score_dst, flat, heads, slope, out, start, end,
                  weights, peaks, totals)


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
    run_row_chunks(lambda s, e: _gat_rows(indptr, indices, score_src, score_dst, flat, heads,
                                          negative_slope, out, s, e),
                   indptr, indices.shape[0] * heads * (channels + EDGE_HEAD_WORK), threads)
    return out.reshape(num_rows, heads, channels)
