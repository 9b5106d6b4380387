"""Activations times a pruned weight matrix: ``act(scale * (x @ M) + bias)``, with the work
following the stored weights rather than the dense size.

Two kernels (``bench/sparsity_speedup.py`` measures both against BLAS; ``runtime.planner``
prices them per matrix):

**Node panels** (unstructured weights, runs along the inputs, blocks of 4 or 8 outputs): the
technique of Elsen et al. ("Fast Sparse ConvNets", CVPR 2020) behind XNNPACK's sparse
inference. A panel of ``PANEL_VECTORS`` vectors' worth of nodes (64 float32 nodes with
AVX-512, 32 with AVX2) is held node-major in registers and each stored weight is broadcast
into it with one multiply-add per vector; with blocks of outputs, each load of the panel feeds
the block's multiply-adds. The activations arrive row-major (a node's features contiguous, as
the graph aggregations need them), so each panel is transposed into a buffer ``xt`` (inputs x
panel nodes) with vector shuffles (CSR features are first expanded row-major, a panel at a
time); each output's sums go to ``ot`` (outputs x panel nodes), which is transposed back into
the row-major output. The weight is the CSR of ``M.T`` (one row per output, or per block of
outputs) whose entries may be runs of ``R`` consecutive inputs, cut into chunks of inputs so
that a chunk of ``xt`` stays in L1. Between two such layers (an MLP's) the activations can
stay in the panels' own layout, ``PanelMajor`` (panel by panel, feature-major inside each
panel, so that a panel is one contiguous block): the first layer writes its panels there and
the second reads them in place, without either transpose.

**Output vectors** (blocks along the outputs one vector wide, and dense matrices): the weight
is cut into groups of one vector of consecutive outputs (16 float32 with AVX-512), and each
group keeps the inputs ``k`` whose row ``M[k, group]`` holds a nonzero, as one vector of
values. Eight node rows hold their sums in registers while a group's stored vectors stream
past, each multiplied by a broadcast activation: a dense register micro-kernel with the shared
dimension cut to the stored rows, on row-major activations (no transposes).

Both fuse a per-row scale (``input_norm``), the bias and ReLU / leaky ReLU, and can split the
outputs into two arrays (two weights on one input).
"""

from __future__ import annotations

import threading
from typing import NamedTuple

import numpy as np
from numba import njit

from ._checks import (
    KernelArgumentError,
    activation_code,
    check_csr,
    check_dense,
    check_values,
    check_vector,
)
from ._config import ACTIVATIONS, FASTMATH
from ._epilogue import activation_in_registers, finish_row
from ._intrinsics import (
    VECTOR_BYTES,
    full_vector_zeros,
    full_vectors,
    overread_vector_zeros,
    prefetch_row,
    prefetch_row_for_write,
    transpose_tile,
    vector_activate,
    vector_add,
    vector_add_scalar,
    vector_fma_row,
    vector_mul,
    vector_mul_row,
    vector_scale,
    vector_store_row,
    vector_zeros,
)
from ._memory import aligned_empty, aligned_empty_compiled, aligned_zeros
from ._parallel import run_row_chunks, runs_serially

__all__ = ["NodePanelWeight", "OutputVectorWeight", "PanelMajor", "sparse_linear",
           "sparse_linear_unchecked",
           "pack_weight", "pack_node_panels", "pack_output_vectors", "vector_width",
           "panel_width",
           "SPARSE_KERNELS"]

SPARSE_KERNELS = ("panels", "vectors")

PANEL_VECTORS = 4  # nodes per panel: 4 vectors, with two partial sums 8 multiply-adds in flight
ROW_BLOCK = 8  # node rows per register block of the output-vector kernel
ROW_PANEL = 64  # rows an output-vector sweep keeps in L2 (767 float32 inputs: 196 KB)
INPUT_CHUNK = 256  # inputs per chunk of a group's vectors: 16 KB of AVX-512 vectors stay in L1
PANEL_CHUNK = 128  # inputs per chunk of a node panel: 32 KB of xt stays in L1
# Chunks pay only while each output has enough entries per chunk to amortise reloading its
# partial sums; sparser weights take all their inputs in one chunk (bench/sparsity_speedup.py)
PANEL_CHUNK_MIN_ENTRIES = 16
PANEL_BLOCKS = (1, 4, 8)  # outputs per entry the node panels have loops for
PANEL_MAJOR_ACTIVATIONS = (0, 1, 3)  # identity, ReLU, leaky ReLU: applied before panel-major out


def vector_width(itemsize: int) -> int:
    """Floats of ``itemsize`` bytes per SIMD vector of this machine."""
    return VECTOR_BYTES // itemsize


def panel_width(dtype) -> int:
    """Node rows per node panel for activations of ``dtype``."""
    return PANEL_VECTORS * vector_width(np.dtype(dtype).itemsize)


def panel_rows_computed(rows: int, dtype) -> int:
    """Node rows the node panels compute for ``rows`` input rows: whole panels, but an input
    of at most two vectors' worth of rows sweeps two vectors (``_panel_outputs``)."""
    pair = 2 * vector_width(np.dtype(dtype).itemsize)
    if rows <= pair:
        return pair
    panel = panel_width(dtype)
    return -(-rows // panel) * panel


# ----------------------------------------------------------------------------- node panels
@njit(cache=True, nogil=True)
def _fill_dense(x, first, rows, xt):
    """``xt[k, p] = x[first + p, k]`` for ``p < rows``, by vector tiles (masked at the edges),
    16 rows at a time. Rows of ``xt`` past ``x``'s width are never written, so they keep their
    zeros. (The sweep before prefetches the rows: a tile reads one line from each of
    ``lanes`` rows, a pattern the hardware prefetcher does not follow.)"""
    lanes = VECTOR_BYTES // x.itemsize
    width = x.shape[1]
    for p in range(0, rows, lanes):
        tile_rows = min(lanes, rows - p)
        for k in range(0, width, lanes):
            transpose_tile(x, first + p, k, xt, k, p, tile_rows, min(lanes, width - k))


@njit(cache=True, nogil=True)
def _expand_rows(indptr, indices, data, first, rows, buffer, inverse_sums):
    """Rows ``first..first + rows`` of CSR ``X`` into the zeroed ``buffer (rows, K)``
    (duplicates summed), and ``inverse_sums[r] = 1 / sum(row)`` (1 for a zero sum: the
    ``input_norm`` scale, for free); ``_clear_rows`` zeroes the buffer again."""
    for r in range(rows):
        target = buffer[r]
        total = 0.0
        for e in range(np.uint64(indptr[first + r]), np.uint64(indptr[first + r + 1])):
            target[np.uint64(indices[e])] += data[e]
            total += data[e]
        inverse_sums[r] = 1.0 / total if total != 0 else 1.0


@njit(cache=True, nogil=True)
def _clear_rows(indptr, indices, first, rows, buffer):
    """Zero what ``_expand_rows`` wrote: the whole rows when they were dense enough for that
    to be cheaper (one vector store per 16 values), else entry by entry."""
    if (indptr[first + rows] - indptr[first]) * 16 > rows * buffer.shape[1]:
        buffer[:rows] = 0
        return
    for r in range(rows):
        target = buffer[r]
        for e in range(np.uint64(indptr[first + r]), np.uint64(indptr[first + r + 1])):
            target[np.uint64(indices[e])] = 0


@njit(cache=True, nogil=True, inline="always")
def _share_size(fetch_at, fetch_stop, width, shares):
    """Spans of ``width`` elements per output when ``shares`` outputs split the prefetch of
    elements ``fetch_at..fetch_stop`` (see ``_sweep_outputs``)."""
    spans = -(-max(fetch_stop - fetch_at, 0) // width)
    return -(-spans // max(shares, 1))


@njit(cache=True, nogil=True, fastmath=FASTMATH, inline="always")
def _finish(sums, scale, has_scale, bias, code, slope):
    """Row scale (a vector tuple over the panel's nodes), bias, then the activations that
    ``vector_activate`` applies, in registers. Only tuples and scalars come in: passing arrays
    to a helper costs reference counting calls per output (it took three quarters of a very
    sparse layer's outputs loop)."""
    if has_scale:
        sums = vector_mul(sums, scale)
    return vector_activate(vector_add_scalar(sums, bias), code, slope)


@njit(cache=True, nogil=True, fastmath=FASTMATH)
def _panel_outputs(bounds, indices, values, run, xt, x_row, ot, o_row, epilogue, scale,
                   has_scale, fetch, fetch_at, fetch_stop, rows):
    """``ot[o_row + m] = finish(sum over output m's stored weights of w * xt[x_row + k])``
    for every output, over the panel's first ``rows`` nodes: a panel of at most two vectors'
    worth (a molecule's, or a chunk's last) sweeps two vectors, not the panel's four."""
    lanes = VECTOR_BYTES // xt.itemsize
    if rows <= 2 * lanes:
        _sweep_outputs(full_vector_zeros(xt, 2), bounds, indices, values, run, xt, x_row, ot,
                       o_row, epilogue, scale, has_scale, fetch, fetch_at, fetch_stop)
    else:
        _sweep_outputs(full_vector_zeros(xt, PANEL_VECTORS), bounds, indices, values, run, xt,
                       x_row, ot, o_row, epilogue, scale, has_scale, fetch, fetch_at,
                       fetch_stop)


@njit(cache=True, nogil=True, fastmath=FASTMATH)
def _sweep_outputs(zeros, bounds, indices, values, run, xt, x_row, ot, o_row, epilogue, scale,
                   has_scale, fetch, fetch_at, fetch_stop):
    """``_panel_outputs`` over the nodes that ``zeros`` (a tuple of zero vectors) spans.

    ``bounds (outputs, chunks + 1)`` cuts each output's stored runs into chunks of
    ``PANEL_CHUNK`` inputs (one chunk for very sparse weights). Chunk by chunk, so that the
    chunk's rows of ``xt`` stay in L1 (for 767 inputs all of ``xt`` is 200 KB); partial sums
    wait in ``ot`` between chunks.
    Two independent partial sums per output (a multiply-add's latency would otherwise
    serialise the loop). Positions are unsigned, so Numba indexes without its negative-index
    wraparound (a third of the loop's instructions).

    The first chunk's outputs also prefetch elements ``fetch_at..fetch_stop`` of ``fetch``
    (one row: a flat view of the activations), a few spans per output: the next panel's
    activations, which lie together in memory whichever the layout. The sweep reads a
    panel-major panel's rows in the weight's order and the transpose of a row-major one reads
    a line of each row, neither of which the hardware prefetcher guesses. (The prefetch loop
    is written out in the sweep: a helper taking ``fetch`` counted references with atomic
    instructions on every output, most of a very sparse layer's sweep.)"""
    bias, has_bias, code, slope = epilogue
    lanes = VECTOR_BYTES // xt.itemsize
    row_span = full_vector_zeros(xt, PANEL_VECTORS)
    fetch_width = PANEL_VECTORS * lanes
    fetch_step = _share_size(fetch_at, fetch_stop, fetch_width, bounds.shape[0])
    factors = vector_mul_row(vector_add_scalar(zeros, 1), scale, 0, 0, lanes)
    one, two = np.uint64(1), np.uint64(2)
    size = np.uint64(run)
    chunks = bounds.shape[1] - 1
    for c in range(chunks):
        for m in range(bounds.shape[0]):
            first, last = np.uint64(bounds[m, c]), np.uint64(bounds[m, c + 1])
            for _ in range(fetch_step if c == 0 else 0):
                if fetch_at < fetch_stop:
                    prefetch_row(row_span, fetch, 0, fetch_at)
                fetch_at += fetch_width
            s0 = zeros if c == 0 else vector_fma_row(zeros, 1, ot, o_row + m, 0, lanes)
            s1 = zeros
            if run == 1:
                e = first
                while e + two <= last:
                    s0 = vector_fma_row(s0, values[e], xt, x_row + indices[e], 0, lanes)
                    s1 = vector_fma_row(s1, values[e + one], xt, x_row + indices[e + one], 0,
                                        lanes)
                    e += two
                if e < last:
                    s0 = vector_fma_row(s0, values[e], xt, x_row + indices[e], 0, lanes)
            else:
                for e in range(first, last):
                    k, base = np.uint64(x_row + indices[e]), e * size
                    r = np.uint64(0)
                    while r + two <= size:
                        s0 = vector_fma_row(s0, values[base + r], xt, k + r, 0, lanes)
                        s1 = vector_fma_row(s1, values[base + r + one], xt, k + r + one, 0,
                                            lanes)
                        r += two
                    if r < size:
                        s0 = vector_fma_row(s0, values[base + r], xt, k + r, 0, lanes)
            sums = vector_add(s0, s1)
            if c == chunks - 1:
                sums = _finish(sums, factors, has_scale, bias[m] if has_bias else 0.0, code,
                               slope)
            vector_store_row(sums, ot, o_row + m, 0, lanes)


@njit(cache=True, nogil=True, fastmath=FASTMATH)
def _panel_output_blocks(bounds, indices, values, block, xt, x_row, ot, o_row, epilogue, scale,
                         has_scale, fetch, fetch_at, fetch_stop, rows):
    """``_panel_outputs`` for blocks of ``block`` (4 or 8) consecutive outputs per stored
    input: each load of ``xt[k]`` feeds ``block`` multiply-adds (one per output), so the loop
    is bound by the multiply-adds rather than by the loads. ``bounds (groups, chunks + 1)``
    cuts each group's entries into input chunks; ``values`` holds ``block`` weights per entry.
    Two vectors of nodes at a time (8 outputs x 2 vectors fill 16 registers), as many times
    as the panel's first ``rows`` nodes need; the first sweep prefetches as ``_sweep_outputs``
    does."""
    bias, has_bias, code, slope = epilogue
    lanes = VECTOR_BYTES // xt.itemsize
    zeros = full_vector_zeros(xt, 2)
    row_span = full_vector_zeros(xt, PANEL_VECTORS)
    fetch_width = PANEL_VECTORS * lanes
    fetch_step = _share_size(fetch_at, fetch_stop, fetch_width, bounds.shape[0])
    ones = vector_add_scalar(zeros, 1)
    size = np.uint64(block)
    chunks = bounds.shape[1] - 1
    for half in range(0, min(rows, PANEL_VECTORS * lanes), 2 * lanes):
        factors = vector_mul_row(ones, scale, 0, half, lanes)
        for c in range(chunks):
            for j in range(bounds.shape[0]):
                first, last = np.uint64(bounds[j, c]), np.uint64(bounds[j, c + 1])
                m = j * block
                row = o_row + m
                for _ in range(fetch_step if half == 0 and c == 0 else 0):
                    if fetch_at < fetch_stop:
                        prefetch_row(row_span, fetch, 0, fetch_at)
                    fetch_at += fetch_width
                if c == 0:
                    s0 = s1 = s2 = s3 = s4 = s5 = s6 = s7 = zeros
                else:
                    s0 = vector_fma_row(zeros, 1, ot, row, half, lanes)
                    s1 = vector_fma_row(zeros, 1, ot, row + 1, half, lanes)
                    s2 = vector_fma_row(zeros, 1, ot, row + 2, half, lanes)
                    s3 = vector_fma_row(zeros, 1, ot, row + 3, half, lanes)
                    s4 = s5 = s6 = s7 = zeros
                    if block == 8:
                        s4 = vector_fma_row(zeros, 1, ot, row + 4, half, lanes)
                        s5 = vector_fma_row(zeros, 1, ot, row + 5, half, lanes)
                        s6 = vector_fma_row(zeros, 1, ot, row + 6, half, lanes)
                        s7 = vector_fma_row(zeros, 1, ot, row + 7, half, lanes)
                for e in range(first, last):
                    k, at = np.uint64(x_row + indices[e]), e * size
                    s0 = vector_fma_row(s0, values[at], xt, k, half, lanes)
                    s1 = vector_fma_row(s1, values[at + np.uint64(1)], xt, k, half, lanes)
                    s2 = vector_fma_row(s2, values[at + np.uint64(2)], xt, k, half, lanes)
                    s3 = vector_fma_row(s3, values[at + np.uint64(3)], xt, k, half, lanes)
                    if block == 8:
                        s4 = vector_fma_row(s4, values[at + np.uint64(4)], xt, k, half, lanes)
                        s5 = vector_fma_row(s5, values[at + np.uint64(5)], xt, k, half, lanes)
                        s6 = vector_fma_row(s6, values[at + np.uint64(6)], xt, k, half, lanes)
                        s7 = vector_fma_row(s7, values[at + np.uint64(7)], xt, k, half, lanes)
                if c == chunks - 1:
                    s0 = _finish(s0, factors, has_scale, bias[m] if has_bias else 0.0, code,
                                 slope)
                    s1 = _finish(s1, factors, has_scale, bias[m + 1] if has_bias else 0.0,
                                 code, slope)
                    s2 = _finish(s2, factors, has_scale, bias[m + 2] if has_bias else 0.0,
                                 code, slope)
                    s3 = _finish(s3, factors, has_scale, bias[m + 3] if has_bias else 0.0,
                                 code, slope)
                    if block == 8:
                        s4 = _finish(s4, factors, has_scale, bias[m + 4] if has_bias else 0.0,
                                     code, slope)
                        s5 = _finish(s5, factors, has_scale, bias[m + 5] if has_bias else 0.0,
                                     code, slope)
                        s6 = _finish(s6, factors, has_scale, bias[m + 6] if has_bias else 0.0,
                                     code, slope)
                        s7 = _finish(s7, factors, has_scale, bias[m + 7] if has_bias else 0.0,
                                     code, slope)
                vector_store_row(s0, ot, row, half, lanes)
                vector_store_row(s1, ot, row + 1, half, lanes)
                vector_store_row(s2, ot, row + 2, half, lanes)
                vector_store_row(s3, ot, row + 3, half, lanes)
                if block == 8:
                    vector_store_row(s4, ot, row + 4, half, lanes)
                    vector_store_row(s5, ot, row + 5, half, lanes)
                    vector_store_row(s6, ot, row + 6, half, lanes)
                    vector_store_row(s7, ot, row + 7, half, lanes)


@njit(cache=True, nogil=True)
def _store_panel(ot, first_output, out, first, rows, ahead):
    """``out[first + p, c] = ot[first_output + c, p]`` for ``p < rows``, every column of
    ``out``: ``lanes`` whole rows at a time, so the writes run along memory. Each tile
    prefetches for writing the same tile of the next ``ahead`` rows, whose lines are then
    owned by the time the next panel is stored."""
    lanes = VECTOR_BYTES // ot.itemsize
    line = full_vector_zeros(ot, 1)
    width = out.shape[1]
    for p in range(0, rows, lanes):
        tile_rows = min(lanes, rows - p)
        for c in range(0, width, lanes):
            for i in range(min(lanes, ahead - p)):
                prefetch_row_for_write(line, out, first + rows + p + i, c)
            transpose_tile(ot, first_output + c, p, out, first + p, c, min(lanes, width - c),
                           tile_rows)


@njit(cache=True, nogil=True, fastmath=FASTMATH)
def _node_panels(x, x_indptr, x_indices, x_data, bounds, w_indices, w_values, run, block,
                 epilogue, row_scale, normalize, x_panel_rows, out_panel_rows, out, out_second,
                 start, end):
    """Rows ``start..end`` (whole panels but maybe the last) of the node-panel product.

    ``x`` is dense ``(N, K)``, or, when ``x_indptr`` is not empty, only a ``(0, K)`` shape
    holder for the CSR rows ``(x_indptr, x_indices, x_data)``; ``normalize`` divides each CSR
    row by its sum (``input_norm``). ``block`` > 1: the weight's entries are blocks of that
    many outputs (``run`` is then 1). Outputs ``[0, out.shape[1])`` go to ``out``, the rest to
    ``out_second`` (two weights on one input, such as GraphSAGE's, in one pass).

    Panel-major layouts (``PanelMajor``) skip the transposes: with ``x_panel_rows`` > 0,
    ``x`` holds each panel as ``x_panel_rows`` rows (feature ``k`` of the panel's node ``p``
    at ``x[panel * x_panel_rows + k, p]``), read in place; with ``out_panel_rows`` > 0 the
    outputs go to ``out`` the same way (``out_second`` unused)."""
    lanes = VECTOR_BYTES // out.itemsize
    panel = PANEL_VECTORS * lanes
    # Padded so whole runs and whole tiles stay inside; rows past the inputs are zero and stay
    # zero (a stored zero times them must not make NaN). The rest is written panel by panel
    # (zeroing all of it took a small input's share of the time).
    x_major, out_major = x_panel_rows > 0, out_panel_rows > 0
    xt_rows = 0 if x_major else (x.shape[1] + run + lanes) // lanes * lanes
    xt = aligned_empty_compiled(xt_rows, panel, out)
    for k in range(min(x.shape[1], xt_rows), xt_rows):
        for p in range(panel):
            xt[k, p] = 0
    # CSR rows are expanded row-major first (writes along rows), then transposed by tiles:
    # scattering them straight into xt wrote one cache line per entry (several times slower
    # on wide sparse features)
    rows_buffer = aligned_zeros(panel if x_indptr.shape[0] > 0 else 0, x.shape[1], out)
    ot = aligned_empty_compiled(0 if out_major else bounds.shape[0] * block + lanes, panel, out)
    scale = np.ones((1, panel), out.dtype)
    inverse_sums = np.zeros(panel, np.float64)
    has_scale = row_scale.shape[0] > 0 or normalize
    sparse_input = x_indptr.shape[0] > 0
    if block > 1:  # the last block's padding outputs read a bias too: give them zeros
        bias, has_bias, code, slope = epilogue
        padded_bias = np.zeros(bounds.shape[0] * block if has_bias else 0, bias.dtype)
        for f in range(bias.shape[0] if has_bias else 0):  # (loops, not slice assignments
            padded_bias[f] = bias[f]  # from arrays: those compile Numba's error formatting)
        epilogue = (padded_bias, has_bias, code, slope)
    # a literal 0 passed to a jitted function compiles it again for Literal[int](0)
    origin = np.int64(0)
    flat_x = x.reshape((1, x.size))  # what the sweeps prefetch, by element
    blank = full_vector_zeros(xt, 1)
    for first in range(start, end, panel):
        rows = min(panel, end - first)
        source, x_row = x, first // panel * x_panel_rows
        if not x_major:
            source, x_row = xt, 0
            # the lanes a partial panel sweeps past its rows (computed, then dropped) read
            # zeros, not stale memory (NaN or subnormal garbage slows some CPUs down): whole
            # vectors of zeros, which the transpose then overwrites with the rows' lanes
            # (element by element, the zeros cost a molecule's layer more than its transposes)
            swept = 2 * lanes if rows <= 2 * lanes else panel
            for p in range(rows // lanes * lanes, swept if rows < swept else 0, lanes):
                for k in range(x.shape[1]):
                    vector_store_row(blank, xt, k, p, lanes)
            if sparse_input:
                _expand_rows(x_indptr, x_indices, x_data, first, rows, rows_buffer,
                             inverse_sums)
                _fill_dense(rows_buffer, origin, rows, xt)
                _clear_rows(x_indptr, x_indices, first, rows, rows_buffer)
            else:  # (prefetched during the previous panel's sweep)
                _fill_dense(x, first, rows, xt)
        if normalize:
            for r in range(rows):
                scale[0, r] = inverse_sums[r]
        elif has_scale:
            for r in range(rows):
                scale[0, r] = row_scale[first + r]
        target, o_row = (out, first // panel * out_panel_rows) if out_major else (ot, 0)
        # the next panel's activations (its rows of ``x``, whichever the layout: they lie
        # together), fetched during this one's sweep: the multiply-adds then hide their wait
        next_rows = min(panel, end - first - rows)
        if x_major:
            fetch_row = x_row + x_panel_rows
            fetch_end = fetch_row + (x_panel_rows if next_rows else 0)
        else:
            fetch_row = first + rows
            fetch_end = fetch_row + (0 if sparse_input else next_rows)
        fetch_at, fetch_stop = fetch_row * x.shape[1], fetch_end * x.shape[1]
        if block == 1:
            _panel_outputs(bounds, w_indices, w_values, run, source, x_row, target, o_row,
                           epilogue, scale, has_scale, flat_x, fetch_at, fetch_stop, rows)
        else:
            _panel_output_blocks(bounds, w_indices, w_values, block, source, x_row, target,
                                 o_row, epilogue, scale, has_scale, flat_x, fetch_at,
                                 fetch_stop, rows)
        if not out_major:
            ahead = min(panel, end - first - rows)
            _store_panel(ot, origin, out, first, rows, ahead)
            _store_panel(ot, out.shape[1], out_second, first, rows, ahead)


# ----------------------------------------------------------------------------- output vectors
@njit(cache=True, nogil=True, fastmath=FASTMATH)
def _finish_row(sums, scale, bias, code, slope):
    """``act(scale * sums + bias)``: tuples and scalars only (see ``_finish``)."""
    return vector_activate(vector_add(vector_scale(sums, scale), bias), code, slope)


@njit(cache=True, nogil=True, fastmath=FASTMATH)
def _vector_group(x, row, rows, w_indices, w_values, bounds, zeros, tail, scales, bias, code,
                  slope, out, out_row, column):
    """``out[out_row:out_row + rows, column:]`` (one whole vector: ``zeros`` and ``bias`` are
    unmasked, ``tail`` is the lane count) from ``rows`` rows of ``x`` for one output group,
    whose stored vectors ``bounds`` cuts into input chunks.
    Chunk by chunk (its vectors stay in L1), eight rows at a time hold their sums in
    registers while the chunk streams past; partial sums wait in ``out`` between chunks."""
    blocked = rows // ROW_BLOCK * ROW_BLOCK
    chunks = bounds.shape[0] - 1
    one = np.uint64(1)
    for c in range(chunks):
        first, last = np.uint64(bounds[c]), np.uint64(bounds[c + 1])
        if first == last and 0 < c < chunks - 1:
            continue  # nothing stored in this chunk, and nothing to start or finish
        for block in range(0, blocked, ROW_BLOCK):
            base, target = np.uint64(row + block), np.uint64(out_row + block)
            if c == 0:
                s0 = s1 = s2 = s3 = s4 = s5 = s6 = s7 = zeros
            else:
                s0 = vector_fma_row(zeros, 1, out, target, column, tail)
                s1 = vector_fma_row(zeros, 1, out, target + one, column, tail)
                s2 = vector_fma_row(zeros, 1, out, target + np.uint64(2), column, tail)
                s3 = vector_fma_row(zeros, 1, out, target + np.uint64(3), column, tail)
                s4 = vector_fma_row(zeros, 1, out, target + np.uint64(4), column, tail)
                s5 = vector_fma_row(zeros, 1, out, target + np.uint64(5), column, tail)
                s6 = vector_fma_row(zeros, 1, out, target + np.uint64(6), column, tail)
                s7 = vector_fma_row(zeros, 1, out, target + np.uint64(7), column, tail)
            for e in range(first, last):
                k = np.uint64(w_indices[e])
                s0 = vector_fma_row(s0, x[base, k], w_values, e, 0, tail)
                s1 = vector_fma_row(s1, x[base + one, k], w_values, e, 0, tail)
                s2 = vector_fma_row(s2, x[base + np.uint64(2), k], w_values, e, 0, tail)
                s3 = vector_fma_row(s3, x[base + np.uint64(3), k], w_values, e, 0, tail)
                s4 = vector_fma_row(s4, x[base + np.uint64(4), k], w_values, e, 0, tail)
                s5 = vector_fma_row(s5, x[base + np.uint64(5), k], w_values, e, 0, tail)
                s6 = vector_fma_row(s6, x[base + np.uint64(6), k], w_values, e, 0, tail)
                s7 = vector_fma_row(s7, x[base + np.uint64(7), k], w_values, e, 0, tail)
            if c == chunks - 1:
                s0 = _finish_row(s0, scales[block], bias, code, slope)
                s1 = _finish_row(s1, scales[block + 1], bias, code, slope)
                s2 = _finish_row(s2, scales[block + 2], bias, code, slope)
                s3 = _finish_row(s3, scales[block + 3], bias, code, slope)
                s4 = _finish_row(s4, scales[block + 4], bias, code, slope)
                s5 = _finish_row(s5, scales[block + 5], bias, code, slope)
                s6 = _finish_row(s6, scales[block + 6], bias, code, slope)
                s7 = _finish_row(s7, scales[block + 7], bias, code, slope)
            vector_store_row(s0, out, target, column, tail)
            vector_store_row(s1, out, target + one, column, tail)
            vector_store_row(s2, out, target + np.uint64(2), column, tail)
            vector_store_row(s3, out, target + np.uint64(3), column, tail)
            vector_store_row(s4, out, target + np.uint64(4), column, tail)
            vector_store_row(s5, out, target + np.uint64(5), column, tail)
            vector_store_row(s6, out, target + np.uint64(6), column, tail)
            vector_store_row(s7, out, target + np.uint64(7), column, tail)
        for r in range(blocked, rows):
            target = out_row + r
            sums = zeros if c == 0 else vector_fma_row(zeros, 1, out, target, column, tail)
            for e in range(first, last):
                sums = vector_fma_row(sums, x[row + r, np.uint64(w_indices[e])], w_values, e, 0,
                                      tail)
            if c == chunks - 1:
                sums = _finish_row(sums, scales[r], bias, code, slope)
            vector_store_row(sums, out, target, column, tail)


@njit(cache=True, nogil=True)
def _copy_lanes(buffer, rows, lane, count, target, first, column):
    """``target[first + r, column:column + count] = buffer[r, lane:lane + count]`` for
    ``r < rows`` (at most one vector): a masked load and a partial store per row."""
    for r in range(rows):
        vector_store_row(vector_fma_row(overread_vector_zeros(buffer, 1), 1, buffer, r, lane,
                                        count), target, first + r, column, count)


@njit(cache=True, nogil=True, fastmath=FASTMATH)
def _output_vectors(x, x_indptr, x_indices, x_data, bounds, w_indices, w_values, epilogue,
                    row_scale, normalize, rows_buffer, scales, inverse_sums, tail_buffer, out,
                    out_second, start, end):
    """Rows ``start..end`` of the output-vector product (arguments as ``_node_panels``;
    ``w_values`` is ``(stored, lanes)``; its groups cut the columns of ``out`` and then
    ``out_second`` as one row). Panels of ``ROW_PANEL`` rows (their inputs stay in L2; CSR
    rows are expanded into a buffer a panel at a time), each swept by every output group.
    Scratch from the caller (``output_vector_scratch``): ``rows_buffer`` zeros ``(ROW_PANEL,
    K)`` (CSR inputs; else ``(0, K)``), ``scales`` and ``inverse_sums`` ``(ROW_PANEL,)``
    float64, ``tail_buffer`` ``(ROW_PANEL, lanes)`` 64-byte aligned, of ``out``'s dtype.

    Every group moves whole vectors (its stored vectors are zero-padded): a partial group, or
    one across the split, is computed into ``tail_buffer`` and its valid columns copied out.
    So ``_vector_group`` compiles once, not also with masked vectors, and the group's inner
    loop has no masked loads."""
    bias, has_bias, code, slope = epilogue
    lanes = VECTOR_BYTES // out.itemsize
    bias_row = bias.reshape((1, bias.shape[0]))
    has_scale = row_scale.shape[0] > 0
    sparse_input = x_indptr.shape[0] > 0
    # The groups cut the outputs of both targets as one row: columns below ``split`` go to
    # ``out``, the rest to ``out_second``. A group that fills a whole vector of one target is
    # stored there; one that is partial or straddles the split (masked stores are slow on
    # AMD Zen) goes through tail_buffer, whose valid lanes are copied to each target.
    split = out.shape[1]
    outputs = split + out_second.shape[1]
    for first in range(start, end, ROW_PANEL):
        rows = min(ROW_PANEL, end - first)
        source, source_row = x, first
        if sparse_input:
            _expand_rows(x_indptr, x_indices, x_data, first, rows, rows_buffer, inverse_sums)
            source, source_row = rows_buffer, 0
        for r in range(rows):
            if normalize:
                scales[r] = inverse_sums[r]
            else:
                scales[r] = row_scale[first + r] if has_scale else 1.0
        for group in range(bounds.shape[0]):
            begin = group * lanes
            valid = min(lanes, outputs - begin)
            zeros = full_vector_zeros(out, 1)
            # the bias's valid lanes (a masked load), the others zero
            bias_vector = full_vectors(vector_fma_row(
                vector_zeros(out, 1), 1, bias_row, 0, begin, valid)) if has_bias else zeros
            # (np.int64 rows and columns: a literal 0 would compile _vector_group again)
            buffered = False
            if begin + lanes <= split:
                destination, row, place = out, first, np.int64(begin)
            elif begin >= split and valid == lanes:
                destination, row, place = out_second, first, np.int64(begin - split)
            else:
                destination, row, place = tail_buffer, np.int64(0), np.int64(0)
                buffered = True
            _vector_group(source, source_row, rows, w_indices, w_values, bounds[group], zeros,
                          lanes, scales, bias_vector, code, slope, destination, row, place)
            if buffered:  # the lanes before the split to out, the rest to out_second
                before = max(min(split - begin, valid), 0)
                if before > 0:
                    _copy_lanes(tail_buffer, rows, np.int64(0), before, out, first, begin)
                if valid > before:
                    _copy_lanes(tail_buffer, rows, before, valid - before, out_second, first,
                                begin + before - split)
        if sparse_input:
            _clear_rows(x_indptr, x_indices, first, rows, rows_buffer)


_thread_scratch = threading.local()


def output_vector_scratch(sparse_input: bool, width: int, dtype):
    """``_output_vectors``' scratch, allocated in Python: an allocation in compiled code
    compiles Numba's numpy constructors in every fresh process, a sizeable share of a small
    model's first compile. ``(rows_buffer, scales, inverse_sums, tail_buffer)``. The small
    buffers are kept per thread and dtype (written before they are read; allocating them
    took a small layer's share of the call), ``rows_buffer`` is allocated per call."""
    dtype = np.dtype(dtype)
    kept = getattr(_thread_scratch, "buffers", None)
    if kept is None or kept[0] != dtype:
        tail_buffer = aligned_empty((ROW_PANEL, vector_width(dtype.itemsize)), dtype)
        kept = _thread_scratch.buffers = (dtype, np.empty(ROW_PANEL), np.empty(ROW_PANEL),
                                          tail_buffer)
    if sparse_input:
        rows_buffer = aligned_empty((ROW_PANEL, width), dtype)
        rows_buffer.fill(0)
    else:  # unused by dense inputs
        rows_buffer = np.empty((0, width), dtype)
    return rows_buffer, kept[1], kept[2], kept[3]


# ----------------------------------------------------------------------------- entry point
class NodePanelWeight(NamedTuple):
    """The CSR of ``M.T`` with one row per group of ``block`` consecutive outputs, whose
    entries are runs of ``run`` consecutive inputs (``indices``: each run's first input);
    ``block`` > 1 only with ``run`` = 1: an entry holds one input's weights for the
    ``block`` outputs. ``bounds[g, c]`` is the first entry of group ``g`` whose input is at
    least ``c * PANEL_CHUNK`` (``bounds[g, -1]``: the group's end): the row pointers, cut
    into the chunks the kernel sweeps (one chunk where too few entries fall in each)."""

    bounds: np.ndarray  # (ceil(outputs / block), chunks + 1) int64
    indices: np.ndarray  # (entries,) int32
    values: np.ndarray  # (entries * run * block,) float
    run: int
    block: int
    inputs: int
    outputs: int

    def reads_panel_major(self) -> bool:
        """Whether panel-major activations (no padding rows past the inputs) can feed these
        panels: every input run ends inside the inputs."""
        return self.run == 1 or not self.indices.shape[0] \
            or int(self.indices.max()) + self.run <= self.inputs


class OutputVectorWeight(NamedTuple):
    """Per group of ``lanes`` consecutive outputs, the inputs whose row of ``M`` holds a
    nonzero there, with that row's ``lanes`` values (zero-padded past the last output);
    ``bounds`` as in ``NodePanelWeight``, in chunks of ``INPUT_CHUNK`` inputs."""

    bounds: np.ndarray  # (groups, chunks + 1) int64
    indices: np.ndarray  # (stored,) int32
    values: np.ndarray  # (stored, lanes) float
    inputs: int
    outputs: int


class PanelMajor(NamedTuple):
    """Activations in the node panels' own layout: panel by panel (``PANEL_VECTORS`` vectors
    of nodes), feature-major inside a panel, so that a panel is one contiguous block, read in
    place. ``values`` is ``(panels * rows, panel)``: feature ``k`` of node ``n`` sits at
    ``values[(n // panel) * rows + k, n % panel]``, ``rows >= features``; nodes past
    ``nodes`` and rows past ``features`` are padding whose values mean nothing."""

    values: np.ndarray
    nodes: int
    features: int
    rows: int

    def to_rows(self) -> np.ndarray:
        """The ``(nodes, features)`` row-major array."""
        panel = self.values.shape[1]
        blocks = self.values.reshape(-1, self.rows, panel)[:, :self.features, :]
        return np.ascontiguousarray(blocks.transpose(0, 2, 1).reshape(
            blocks.shape[0] * panel, self.features)[:self.nodes])

    @classmethod
    def from_rows(cls, x: np.ndarray) -> PanelMajor:
        """``x (N, K)`` in panels (a copy)."""
        nodes, features = x.shape
        major = cls.empty(features, nodes, features, x.dtype)
        panel, rows = major.values.shape[1], major.rows
        padded = np.zeros((major.values.shape[0] // rows * panel, rows), x.dtype)
        padded[:nodes, :features] = x
        major.values[:] = padded.reshape(-1, panel, rows).transpose(0, 2, 1) \
            .reshape(major.values.shape)
        return major

    @classmethod
    def empty(cls, rows: int, nodes: int, features: int, dtype) -> PanelMajor:
        """Uninitialised, ``rows >= features`` rows per panel (at least one)."""
        panel = panel_width(dtype)
        panels, rows = max(-(-nodes // panel), 1), max(rows, 1)
        return cls(aligned_empty((panels * rows, panel), dtype), nodes, features, rows)


def sparse_linear_unchecked(x, weight, epilogue, *, row_scale=None, normalize_rows: bool = False,
                            split: int | None = None, threads: int | None = None,
                            panel_major_out: bool = False):
    """``act(row_scale * (x @ M) + bias)`` on checked arrays, by the weight's kernel.

    Parameters
    ----------
    x : ndarray (N, K), PanelMajor or tuple
        Dense C-contiguous activations of the weight's dtype, the same panel-major (node
        panels only; a weight whose input runs end inside ``K``), or CSR rows as
        ``(indptr, indices, data, K)``.
    weight : NodePanelWeight or OutputVectorWeight
        From ``pack_node_panels`` / ``pack_output_vectors``.
    epilogue : tuple
        ``(bias (M,) or empty, has_bias, act_code, slope)``; activations other than identity,
        ReLU and leaky ReLU get a pass over the rows afterwards.
    row_scale : ndarray (N,), optional
        Multiplies each output row before the bias (row-normalised inputs).
    normalize_rows : bool
        CSR ``x`` only: divide each row by its sum (rows summing to 0 give 0), as the rows
        are expanded (``input_norm`` without a pass of its own).
    split : int, optional
        Return ``(out[:, :split], out[:, split:])`` as two C-contiguous arrays.

    panel_major_out : bool
        Node panels only, identity / ReLU / leaky ReLU: return a ``PanelMajor`` (the split
        halves as two), skipping the transposes back.

    Returns ``(N, M)`` (64-byte aligned), or the pair when ``split`` is given.
    """
    panels = isinstance(weight, NodePanelWeight)
    w_values = weight.values
    width_out = weight.outputs
    dtype = w_values.dtype
    x_major = isinstance(x, PanelMajor)
    x_panel_rows = x.rows if x_major else 0
    if x_major:
        rows = x.nodes
        # empty CSR arrays of the canonical index types: CSR and dense inputs share one
        # specialisation of each kernel
        x, x_indptr, x_indices, x_data = x.values, np.empty(0, np.int64), \
            np.empty(0, np.int32), np.empty(0, dtype)
    elif isinstance(x, tuple):
        x_indptr, x_indices, x_data, width_in = x
        rows = x_indptr.shape[0] - 1
        x = np.empty((0, width_in), dtype)
        x_data = x_data.astype(dtype, copy=False)
    else:
        rows = x.shape[0]
        x_indptr, x_indices = np.empty(0, np.int64), np.empty(0, np.int32)
        x_data = np.empty(0, dtype)
    bias, _, code, slope = epilogue
    if (x_major or panel_major_out) and not panels:
        raise KernelArgumentError("panel-major activations need a node-panel weight")
    if panel_major_out and (code not in PANEL_MAJOR_ACTIVATIONS or split is not None):
        raise KernelArgumentError("panel-major outputs take identity, ReLU or leaky ReLU, "
                                  "unsplit")
    first_width = width_out if split is None else split
    out_panel_rows = max(weight.bounds.shape[0] * weight.block, 1) if panel_major_out else 0
    if panel_major_out:
        major = PanelMajor.empty(out_panel_rows, rows, width_out, dtype)
        out = major.values
        out_second = out[:0]
    else:
        out = aligned_empty((rows, first_width), dtype)
        out_second = aligned_empty((rows, width_out - first_width), dtype)
    scale = np.empty(0, dtype) if row_scale is None else row_scale.astype(dtype, copy=False)
    normalize = bool(normalize_rows) and x_indptr.shape[0] > 0
    if rows:
        def run(start, end):  # rows start..end: whole panels or row blocks, but maybe the last
            if panels:
                _node_panels(x, x_indptr, x_indices, x_data, weight.bounds, weight.indices,
                             w_values, weight.run, weight.block, epilogue, scale, normalize,
                             x_panel_rows, out_panel_rows, out, out_second, start, end)
            else:
                _output_vectors(x, x_indptr, x_indices, x_data, weight.bounds, weight.indices,
                                w_values, epilogue, scale, normalize,
                                *output_vector_scratch(x_indptr.shape[0] > 0, x.shape[1], dtype),
                                out, out_second, start, end)
            if not activation_in_registers(code, out.itemsize):  # the vectors did not apply it
                _finish_rows(out, out_second, bias[:0], code, slope, start, end)

        # work in the aggregations' units (gathered multiply-adds), as the pool splits on:
        # a stored weight counts a sixth of one, a transposed element four. (Counted at half
        # that, a GIN-128 layer on a batch of 64 molecules at 50 % stayed on one thread while
        # its dense self split, and the pruned model ran slower on two threads:
        # bench/sparsity_speedup.py.)
        work = rows * (w_values.size // 6 + 4 * (weight.inputs + width_out))
        if runs_serially(work, threads):  # no split to plan: a small input's share of the call
            run(0, rows)
        else:
            step = panel_width(dtype) if panels else ROW_BLOCK
            bounds = np.minimum(np.arange(0, rows + step, step, dtype=np.int64), rows)
            run_row_chunks(lambda first, last: run(int(bounds[first]), int(bounds[last])),
                           np.arange(bounds.shape[0], dtype=np.int64), work, threads)
    if panel_major_out:
        return major
    return out if split is None else (out, out_second)


@njit(cache=True, nogil=True, fastmath=FASTMATH)
def _finish_rows(out, out_second, empty, code, slope, start, end):
    for row in range(start, end):
        finish_row(out, row, empty, np.bool_(False), code, slope)  # not a literal False
        finish_row(out_second, row, empty, np.bool_(False), code, slope)


# ----------------------------------------------------------------------------- packing
def chunk_bounds(group_of_entry: np.ndarray, inputs: np.ndarray, groups: int, width: int,
                 chunk: int) -> np.ndarray:
    """``bounds[g, c]``: the first entry of group ``g`` whose input is at least ``c * chunk``
    (``bounds[g, -1]``: the group's end), for entries sorted by group, then input. Shape
    ``(groups, ceil(width / chunk) + 1)``, int64."""
    chunks = max(-(-width // chunk), 1)
    keys = group_of_entry.astype(np.int64) * chunks + inputs.astype(np.int64) // chunk
    starts = np.arange(groups, dtype=np.int64)[:, None] * chunks + np.arange(chunks + 1)
    return np.searchsorted(keys, starts, side="left").astype(np.int64)


def pack_node_panels(matrix: np.ndarray, run: int = 1, block: int = 1) -> NodePanelWeight:
    """The node-panel weight of a dense ``matrix (K, M)`` (``x @ M`` orientation): per output
    (or group of ``block`` consecutive outputs: 1, 4 or 8), every run of ``run`` consecutive
    inputs (aligned to multiples of ``run``) that holds a nonzero. ``run`` > 1 needs
    ``block`` = 1."""
    if block not in PANEL_BLOCKS or (block > 1 and run != 1):
        raise KernelArgumentError(f"output blocks of node panels are one of {PANEL_BLOCKS} "
                                  f"outputs, with runs of 1 input; got {block} and {run}")
    width_in, width_out = matrix.shape
    groups_in, groups_out = -(-width_in // run), -(-width_out // block)
    padded = np.zeros((groups_in * run, groups_out * block), matrix.dtype)
    padded[:width_in, :width_out] = matrix
    # (group of outputs, input run, R, C): an entry's R x C weights, laid out [r][c]
    entries = padded.reshape(groups_in, run, groups_out, block).transpose(2, 0, 1, 3)
    kept = entries.any(axis=(2, 3))
    group, start = np.nonzero(kept)
    values = np.ascontiguousarray(entries[group, start]).reshape(-1)
    chunked = group.shape[0] * PANEL_CHUNK >= \
        PANEL_CHUNK_MIN_ENTRIES * groups_out * max(width_in, 1)
    bounds = chunk_bounds(group, start * run, groups_out, width_in,
                          PANEL_CHUNK if chunked else max(width_in, 1))
    return NodePanelWeight(bounds, (start * run).astype(np.int32), values, run, block, width_in,
                           width_out)


def pack_output_vectors(matrix: np.ndarray) -> OutputVectorWeight:
    """The output-vector weight of a dense ``matrix (K, M)``: per group of ``vector_width``
    consecutive outputs, the rows ``k`` that hold a nonzero in the group, zero-padded."""
    width_in, width_out = matrix.shape
    lanes = vector_width(matrix.dtype.itemsize)
    groups = -(-width_out // lanes)
    padded = np.zeros((width_in, groups * lanes), matrix.dtype)
    padded[:, :width_out] = matrix
    blocks = padded.reshape(width_in, groups, lanes).transpose(1, 0, 2)  # (groups, K, lanes)
    kept = blocks.any(axis=2)
    group, row = np.nonzero(kept)
    values = np.ascontiguousarray(blocks[group, row]).reshape(-1, lanes)
    return OutputVectorWeight(chunk_bounds(group, row, groups, width_in, INPUT_CHUNK),
                              row.astype(np.int32), values, width_in, width_out)


def pack_weight(matrix, kernel: str, *, run: int = 1,
                block: int = 1) -> NodePanelWeight | OutputVectorWeight:
    """``matrix (K, M)`` (``x @ M`` orientation, float32 or float64) packed for ``kernel``:
    ``"panels"`` (unstructured; runs of ``run`` consecutive inputs kept together; or blocks
    of ``block`` consecutive outputs, 4 or 8) or ``"vectors"`` (blocks along the outputs,
    one vector wide)."""
    matrix = check_dense(matrix, "matrix")
    if kernel == "panels":
        for name, value in (("run", run), ("block", block)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise KernelArgumentError(f"{name} must be a positive integer, got {value!r}")
        return pack_node_panels(matrix, int(run), int(block))
    if kernel == "vectors":
        return pack_output_vectors(matrix)
    raise KernelArgumentError(f"kernel must be one of {SPARSE_KERNELS}, got {kernel!r}")


def _check_weight(weight) -> None:
    """The packed weight's arrays hold together (it may have been built by hand)."""
    if isinstance(weight, NodePanelWeight):
        run, block, name = weight.run, weight.block, "panels weight"
        if isinstance(run, bool) or not isinstance(run, (int, np.integer)) or run < 1 or \
                block not in PANEL_BLOCKS or (block > 1 and run != 1):
            raise KernelArgumentError(f"{name}: run must be a positive integer and block one "
                                      f"of {PANEL_BLOCKS} (with run 1), got {run!r}, {block!r}")
        groups, per_entry = -(-weight.outputs // block), run * block
    elif isinstance(weight, OutputVectorWeight):
        name = "vectors weight"
        lanes = vector_width(np.asarray(weight.values).dtype.itemsize)
        groups, per_entry = -(-weight.outputs // lanes), lanes
    else:
        raise KernelArgumentError(f"weight must come from pack_weight, got {type(weight).__name__}")
    if weight.inputs < 0 or weight.outputs < 0:
        raise KernelArgumentError(f"{name}: inputs and outputs must be non-negative")
    values = np.asarray(weight.values)
    if values.dtype not in (np.float32, np.float64) or not values.flags.c_contiguous:
        raise KernelArgumentError(f"{name}: values must be C-contiguous float32 or float64")
    bounds = np.asarray(weight.bounds)
    if bounds.dtype != np.int64 or bounds.ndim != 2 or bounds.shape[0] != groups \
            or bounds.shape[1] < 2 or not bounds.flags.c_contiguous:
        raise KernelArgumentError(f"{name}: bounds must be C-contiguous int64 of shape "
                                  f"({groups}, chunks + 1), got {bounds.dtype} {bounds.shape}")
    if np.any(np.diff(bounds, axis=1) < 0):
        raise KernelArgumentError(f"{name}: bounds must be non-decreasing along each group")
    if groups and np.any(bounds[1:, 0] != bounds[:-1, -1]):
        raise KernelArgumentError(f"{name}: each group's bounds must start where the last ended")
    # The row pointers are the chunk bounds without the cuts. A run may overhang the last
    # input: the node panels are padded by a run's length.
    indptr = np.append(bounds[:, 0], bounds[-1, -1]) if groups else np.zeros(1, np.int64)
    _, indices, _ = check_csr(indptr, weight.indices, groups, weight.inputs, name=name,
                              error=KernelArgumentError)
    if indices.dtype != np.int32:
        raise KernelArgumentError(f"{name}: indices must be int32")
    if values.size != indices.shape[0] * per_entry:
        raise KernelArgumentError(f"{name}: {indices.shape[0]} entries need "
                                  f"{indices.shape[0] * per_entry} values, got {values.size}")


def sparse_linear(x, weight, *, bias=None, activation: str | None = None,
                  negative_slope: float = 0.01, row_scale=None, split: int | None = None,
                  threads: int | None = None, panel_major_out: bool = False):
    """``act(row_scale * (x @ M) + bias)`` with ``M`` packed by :func:`pack_weight`.

    Parameters
    ----------
    x : ndarray (N, K), PanelMajor or CSRMatrix
        Activations, dense (float of the weight's dtype), panel-major (node panels only) or
        CSR (a validated :class:`~sparsegnn.sparse.CSRMatrix`).
    weight : NodePanelWeight or OutputVectorWeight
        From :func:`pack_weight`.
    bias : array (M,), optional
    activation : str, optional
        One of ``_config.ACTIVATIONS``.
    row_scale : array (N,), optional
        Multiplies each row of ``x @ M`` before the bias.
    split : int, optional
        Return the outputs ``[:, :split]`` and ``[:, split:]`` as two arrays.
    panel_major_out : bool
        Return :class:`PanelMajor` activations (node panels only).

    Returns ``(N, M)``, or the pair. Raises :class:`KernelArgumentError` on bad arguments.
    """
    _check_weight(weight)
    dtype = np.asarray(weight.values).dtype
    if isinstance(x, PanelMajor):
        rows, operand = x.nodes, _check_panel_major(x, weight, dtype)
    elif hasattr(x, "indptr") and hasattr(x, "shape"):  # CSRMatrix
        if x.shape[1] != weight.inputs:
            raise KernelArgumentError(f"x has {x.shape[1]} columns, the weight {weight.inputs} "
                                      f"inputs")
        indptr, indices, data = check_csr(x.indptr, x.indices, x.shape[0], x.shape[1], x.data,
                                          name="x", error=KernelArgumentError)
        rows = x.shape[0]
        operand = (indptr, indices, data.astype(dtype), weight.inputs)
    else:
        x = check_dense(x, "x")
        if x.dtype != dtype or x.shape[1] != weight.inputs:
            raise KernelArgumentError(f"x must be {dtype} with {weight.inputs} columns, got "
                                      f"{x.dtype} {x.shape}")
        rows, operand = x.shape[0], x
    scale = None if row_scale is None else check_values(row_scale, rows, dtype, "row_scale")
    if split is not None and not 0 <= split <= weight.outputs:
        raise KernelArgumentError(f"split must lie in [0, {weight.outputs}], got {split}")
    epilogue = (check_vector(bias, weight.outputs, dtype, "bias"), bias is not None,
                activation_code(activation, ACTIVATIONS), float(negative_slope))
    return sparse_linear_unchecked(operand, weight, epilogue, row_scale=scale, split=split,
                                   threads=threads, panel_major_out=bool(panel_major_out))


def _check_panel_major(x: PanelMajor, weight, dtype) -> PanelMajor:
    """``x`` holds whole panels that ``weight``'s node panels can read in place."""
    if not isinstance(weight, NodePanelWeight):
        raise KernelArgumentError("panel-major activations need a node-panel weight")
    values = x.values
    panel = panel_width(dtype)
    if not isinstance(values, np.ndarray) or values.dtype != dtype or values.ndim != 2 \
            or not values.flags.c_contiguous or values.shape[1] != panel:
        raise KernelArgumentError(f"panel-major values must be a C-contiguous {dtype} array "
                                  f"of {panel} columns")
    nodes, features, rows = int(x.nodes), int(x.features), int(x.rows)
    if rows < max(features, 1) or values.shape[0] % rows or nodes < 0 \
            or values.shape[0] // rows * panel < nodes:
        raise KernelArgumentError(f"panel-major values of {values.shape[0]} rows do not hold "
                                  f"{nodes} nodes in panels of {rows} rows for {features} "
                                  f"features")
    if features != weight.inputs:
        raise KernelArgumentError(f"x has {features} features, the weight {weight.inputs} "
                                  f"inputs")
    if weight.run > 1 and weight.indices.shape[0] and \
            int(weight.indices.max()) + weight.run > rows:
        raise KernelArgumentError("the weight's last input run overhangs the panel's rows")
    return PanelMajor(values, nodes, features, rows)
