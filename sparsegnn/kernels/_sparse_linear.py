"""Activations times a pruned weight matrix: ``act(scale * (x @ M) + bias)``, with the work
following the stored weights rather than the dense size.

Two kernels, one per family of sparsity patterns (``bench/sparsity_speedup.py`` measures both
against BLAS):

**Node panels** (unstructured weights, and blocks along the inputs): the technique of Elsen et
al. ("Fast Sparse ConvNets", CVPR 2020) behind XNNPACK's sparse inference. A panel of
``PANEL_VECTORS`` vectors' worth of nodes (64 float32 nodes with AVX-512, 32 with AVX2) is held
node-major in registers and each stored weight is broadcast into it with one multiply-add per
vector. The activations arrive row-major (a node's features contiguous, as the graph
aggregations need them), so each panel is transposed into a buffer ``xt`` (inputs x panel
nodes) with vector shuffles, or scattered there from CSR features; each output's sums go to
``ot`` (outputs x panel nodes), which is transposed back into the row-major output. The weight
is the CSR of ``M.T`` (one row per output) whose entries may be runs of ``R`` consecutive
inputs: ``indices`` holds each run's first input, ``values`` its ``R`` weights.

**Output vectors** (blocks along the outputs): the weight is cut into groups of one vector of
consecutive outputs (16 float32 with AVX-512), and each group keeps the inputs ``k`` whose
row ``M[k, group]`` holds a nonzero, as one vector of values. Eight node rows are held in
registers while a group's stored vectors stream past, each multiplied by a broadcast
activation: the dense register micro-kernel of ``_dense`` with the shared dimension cut to the
stored rows, working directly on row-major activations (no transposes). Blocks of 4 or 8
outputs fill a group's vector partly.
"""

from __future__ import annotations

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
from ._epilogue import finish_row
from ._intrinsics import (
    VECTOR_BYTES,
    full_vector_zeros,
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
from ._memory import aligned_empty
from ._parallel import run_row_chunks

__all__ = ["NodePanelWeight", "OutputVectorWeight", "sparse_linear", "sparse_linear_unchecked",
           "pack_weight", "pack_node_panels", "pack_output_vectors", "vector_width",
           "SPARSE_KERNELS"]

SPARSE_KERNELS = ("panels", "vectors")

PANEL_VECTORS = 4  # nodes per panel: 4 vectors, with two partial sums 8 multiply-adds in flight
ROW_BLOCK = 8  # node rows per register block of the output-vector kernel


def vector_width(itemsize: int) -> int:
    """Floats of ``itemsize`` bytes per SIMD vector of this machine."""
    return VECTOR_BYTES // itemsize


# ----------------------------------------------------------------------------- node panels
@njit(cache=True, nogil=True)
def _fill_dense(x, first, rows, xt):
    """``xt[k, p] = x[first + p, k]`` for ``p < rows``, by vector tiles (masked at the edges).
    Rows of ``xt`` past ``x``'s width are never written, so they keep their zeros."""
    lanes = VECTOR_BYTES // x.itemsize
    width = x.shape[1]
    for p in range(0, rows, lanes):
        tile_rows = min(lanes, rows - p)
        for k in range(0, width, lanes):
            transpose_tile(x, first + p, k, xt, k, p, tile_rows, min(lanes, width - k))


@njit(cache=True, nogil=True)
def _fill_csr(indptr, indices, data, first, rows, xt):
    """``xt[k, p] = X[first + p, k]`` for CSR ``X``: zeros, then each row's entries
    (duplicates summed)."""
    xt[:, :] = 0
    for p in range(rows):
        for e in range(indptr[first + p], indptr[first + p + 1]):
            xt[indices[e], p] += data[e]


@njit(cache=True, nogil=True, fastmath=FASTMATH)
def _finish(sums, scale, has_scale, bias, code, slope):
    """Row scale (a vector tuple over the panel's nodes), bias, then ReLU / leaky ReLU, in
    registers. Only tuples and scalars come in: passing arrays to a helper costs reference
    counting calls per output (it took three quarters of a very sparse layer's outputs loop)."""
    if has_scale:
        sums = vector_mul(sums, scale)
    return vector_activate(vector_add_scalar(sums, bias), code, slope)


@njit(cache=True, nogil=True, fastmath=FASTMATH)
def _panel_outputs(indptr, indices, values, run, xt, ot, epilogue, scale, has_scale):
    """``ot[m] = finish(sum over output m's stored weights of w * xt[k])`` for every output.

    Two independent partial sums per output (a multiply-add's latency would otherwise
    serialise the loop). Positions are unsigned, so Numba indexes without its negative-index
    wraparound (a third of the loop's instructions)."""
    bias, has_bias, code, slope = epilogue
    lanes = VECTOR_BYTES // xt.itemsize
    zeros = full_vector_zeros(xt, PANEL_VECTORS)
    factors = vector_mul_row(vector_add_scalar(zeros, 1), scale, 0, 0, lanes)
    one, two = np.uint64(1), np.uint64(2)
    size = np.uint64(run)
    for m in range(indptr.shape[0] - 1):
        first, last = np.uint64(indptr[m]), np.uint64(indptr[m + 1])
        s0 = s1 = zeros
        if run == 1:
            e = first
            while e + two <= last:
                s0 = vector_fma_row(s0, values[e], xt, indices[e], 0, lanes)
                s1 = vector_fma_row(s1, values[e + one], xt, indices[e + one], 0, lanes)
                e += two
            if e < last:
                s0 = vector_fma_row(s0, values[e], xt, indices[e], 0, lanes)
        else:
            for e in range(first, last):
                k, base = np.uint64(indices[e]), e * size
                r = np.uint64(0)
                while r + two <= size:
                    s0 = vector_fma_row(s0, values[base + r], xt, k + r, 0, lanes)
                    s1 = vector_fma_row(s1, values[base + r + one], xt, k + r + one, 0, lanes)
                    r += two
                if r < size:
                    s0 = vector_fma_row(s0, values[base + r], xt, k + r, 0, lanes)
        vector_store_row(_finish(vector_add(s0, s1), factors, has_scale,
                                 bias[m] if has_bias else 0.0, code, slope), ot, m, 0, lanes)


@njit(cache=True, nogil=True)
def _store_panel(ot, first_output, out, first, rows):
    """``out[first + p, c] = ot[first_output + c, p]`` for ``p < rows``, every column of
    ``out``."""
    lanes = VECTOR_BYTES // ot.itemsize
    width = out.shape[1]
    for c in range(0, width, lanes):
        columns = min(lanes, width - c)
        for p in range(0, rows, lanes):
            transpose_tile(ot, first_output + c, p, out, first + p, c, columns,
                           min(lanes, rows - p))


@njit(cache=True, nogil=True, fastmath=FASTMATH)
def _node_panels(x, x_indptr, x_indices, x_data, w_indptr, w_indices, w_values, run, epilogue,
                 row_scale, out, out_second, start, end):
    """Rows ``start..end`` (whole panels but maybe the last) of the node-panel product.

    ``x`` is dense ``(N, K)``, or, when ``x_indptr`` is not empty, only a ``(0, K)`` shape
    holder for the CSR rows ``(x_indptr, x_indices, x_data)``. Outputs ``[0, out.shape[1])``
    go to ``out``, the rest to ``out_second`` (two weights on one input, such as GraphSAGE's,
    in one pass)."""
    lanes = VECTOR_BYTES // out.itemsize
    panel = PANEL_VECTORS * lanes
    # Padded so whole runs and whole tiles stay inside; rows past the inputs are zero and stay
    # zero (a stored zero times them must not make NaN).
    xt = np.zeros(((x.shape[1] + run + lanes) // lanes * lanes, panel), out.dtype)
    ot = np.empty((w_indptr.shape[0] - 1 + lanes, panel), out.dtype)
    scale = np.ones((1, panel), out.dtype)
    has_scale = row_scale.shape[0] > 0
    sparse_input = x_indptr.shape[0] > 0
    for first in range(start, end, panel):
        rows = min(panel, end - first)
        if sparse_input:
            _fill_csr(x_indptr, x_indices, x_data, first, rows, xt)
        else:
            _fill_dense(x, first, rows, xt)
        if has_scale:
            scale[0, :rows] = row_scale[first:first + rows]
        _panel_outputs(w_indptr, w_indices, w_values, run, xt, ot, epilogue, scale, has_scale)
        _store_panel(ot, 0, out, first, rows)
        _store_panel(ot, out.shape[1], out_second, first, rows)


# ----------------------------------------------------------------------------- output vectors
@njit(cache=True, nogil=True, fastmath=FASTMATH)
def _finish_row(sums, scale, bias, code, slope):
    """``act(scale * sums + bias)``: tuples and scalars only (see ``_finish``)."""
    return vector_activate(vector_add(vector_scale(sums, scale), bias), code, slope)


@njit(cache=True, nogil=True, fastmath=FASTMATH)
def _vector_blocks(x, row, w_indptr, w_indices, w_values, groups, zeros, tail, scales, bias_row,
                   has_bias, code, slope, out, out_row, first_column):
    """``out[out_row:out_row + 8]`` from rows ``row:row + 8`` of ``x``, for the output groups
    ``groups[0]..groups[1]`` (their columns from ``first_column`` in ``out``; the vectors of
    ``zeros`` are ``tail`` lanes wide). Eight rows of sums stay in registers while a group's
    stored vectors stream past. One call covers many groups: a call per group cost more in
    reference counting than a very sparse group's arithmetic."""
    base = np.uint64(row)
    r1, r2, r3, r4 = base + np.uint64(1), base + np.uint64(2), base + np.uint64(3), \
        base + np.uint64(4)
    r5, r6, r7 = base + np.uint64(5), base + np.uint64(6), base + np.uint64(7)
    lanes = VECTOR_BYTES // out.itemsize
    target = np.uint64(out_row)
    for group in range(groups[0], groups[1]):
        s0 = s1 = s2 = s3 = s4 = s5 = s6 = s7 = zeros
        for e in range(np.uint64(w_indptr[group]), np.uint64(w_indptr[group + 1])):
            k = np.uint64(w_indices[e])
            s0 = vector_fma_row(s0, x[base, k], w_values, e, 0, tail)
            s1 = vector_fma_row(s1, x[r1, k], w_values, e, 0, tail)
            s2 = vector_fma_row(s2, x[r2, k], w_values, e, 0, tail)
            s3 = vector_fma_row(s3, x[r3, k], w_values, e, 0, tail)
            s4 = vector_fma_row(s4, x[r4, k], w_values, e, 0, tail)
            s5 = vector_fma_row(s5, x[r5, k], w_values, e, 0, tail)
            s6 = vector_fma_row(s6, x[r6, k], w_values, e, 0, tail)
            s7 = vector_fma_row(s7, x[r7, k], w_values, e, 0, tail)
        column = first_column + (group - groups[0]) * lanes
        bias = vector_fma_row(zeros, 1, bias_row, 0, group * lanes, tail) if has_bias else zeros
        s0 = _finish_row(s0, scales[0], bias, code, slope)
        s1 = _finish_row(s1, scales[1], bias, code, slope)
        s2 = _finish_row(s2, scales[2], bias, code, slope)
        s3 = _finish_row(s3, scales[3], bias, code, slope)
        s4 = _finish_row(s4, scales[4], bias, code, slope)
        s5 = _finish_row(s5, scales[5], bias, code, slope)
        s6 = _finish_row(s6, scales[6], bias, code, slope)
        s7 = _finish_row(s7, scales[7], bias, code, slope)
        vector_store_row(s0, out, target, column, tail)
        vector_store_row(s1, out, target + np.uint64(1), column, tail)
        vector_store_row(s2, out, target + np.uint64(2), column, tail)
        vector_store_row(s3, out, target + np.uint64(3), column, tail)
        vector_store_row(s4, out, target + np.uint64(4), column, tail)
        vector_store_row(s5, out, target + np.uint64(5), column, tail)
        vector_store_row(s6, out, target + np.uint64(6), column, tail)
        vector_store_row(s7, out, target + np.uint64(7), column, tail)


@njit(cache=True, nogil=True, fastmath=FASTMATH)
def _vector_rows(x, row, rows, w_indptr, w_indices, w_values, groups, zeros, tail, scales,
                 bias_row, has_bias, code, slope, out, out_row, first_column):
    """As ``_vector_blocks`` for ``rows`` (< 8) single rows."""
    lanes = VECTOR_BYTES // out.itemsize
    for r in range(rows):
        for group in range(groups[0], groups[1]):
            sums = zeros
            for e in range(np.uint64(w_indptr[group]), np.uint64(w_indptr[group + 1])):
                sums = vector_fma_row(sums, x[row + r, np.uint64(w_indices[e])], w_values, e, 0,
                                      tail)
            bias = vector_fma_row(zeros, 1, bias_row, 0, group * lanes, tail) if has_bias \
                else zeros
            sums = _finish_row(sums, scales[r], bias, code, slope)
            vector_store_row(sums, out, out_row + r,
                             first_column + (group - groups[0]) * lanes, tail)


@njit(cache=True, nogil=True, fastmath=FASTMATH)
def _output_vectors(x, x_indptr, x_indices, x_data, w_indptr, w_indices, w_values, epilogue,
                    row_scale, out, out_second, start, end):
    """Rows ``start..end`` of the output-vector product (arguments as ``_node_panels``;
    ``w_values`` is ``(stored, lanes)``; ``out``'s width is a multiple of ``lanes`` when
    ``out_second`` has columns). Blocks of eight rows, then single rows; a CSR ``x`` is
    expanded eight rows at a time into a small buffer."""
    bias, has_bias, code, slope = epilogue
    lanes = VECTOR_BYTES // out.itemsize
    bias_row = bias.reshape((1, bias.shape[0]))
    has_scale = row_scale.shape[0] > 0
    sparse_input = x_indptr.shape[0] > 0
    rows_buffer = np.zeros((ROW_BLOCK, x.shape[1]), out.dtype)
    scales = np.ones(ROW_BLOCK, np.float64)
    # (target, first group, groups with whole vectors, groups in all): the tail group of each
    # target is masked, the others move whole vectors (masked stores are slow on AMD Zen).
    split_group = -(-out.shape[1] // lanes)
    parts = ((out, 0, out.shape[1] // lanes, split_group),
             (out_second, split_group, split_group + out_second.shape[1] // lanes,
              w_indptr.shape[0] - 1))
    for first in range(start, end, ROW_BLOCK):
        rows = min(ROW_BLOCK, end - first)
        source, source_row = x, first
        if sparse_input:
            rows_buffer[:, :] = 0
            for r in range(rows):
                for e in range(x_indptr[first + r], x_indptr[first + r + 1]):
                    rows_buffer[r, x_indices[e]] += x_data[e]
            source, source_row = rows_buffer, 0
        for r in range(rows):
            scales[r] = row_scale[first + r] if has_scale else 1.0
        for target, first_group, whole_end, group_end in parts:
            tail = target.shape[1] - (whole_end - first_group) * lanes
            if rows == ROW_BLOCK:
                _vector_blocks(source, source_row, w_indptr, w_indices, w_values,
                               (first_group, whole_end), full_vector_zeros(out, 1), lanes, scales,
                               bias_row, has_bias, code, slope, target, first, 0)
                if group_end > whole_end:
                    _vector_blocks(source, source_row, w_indptr, w_indices, w_values,
                                   (whole_end, group_end), vector_zeros(out, 1), tail, scales,
                                   bias_row, has_bias, code, slope, target, first,
                                   target.shape[1] - tail)
            else:
                _vector_rows(source, source_row, rows, w_indptr, w_indices, w_values,
                             (first_group, whole_end), full_vector_zeros(out, 1), lanes, scales,
                             bias_row, has_bias, code, slope, target, first, 0)
                if group_end > whole_end:
                    _vector_rows(source, source_row, rows, w_indptr, w_indices, w_values,
                                 (whole_end, group_end), vector_zeros(out, 1), tail, scales,
                                 bias_row, has_bias, code, slope, target, first,
                                 target.shape[1] - tail)


# ----------------------------------------------------------------------------- entry point
class NodePanelWeight(NamedTuple):
    """The CSR of ``M.T`` (one row per output) whose entries are runs of ``run`` consecutive
    inputs, ``indices`` holding each run's first input."""

    indptr: np.ndarray  # (outputs + 1,) int64
    indices: np.ndarray  # (runs,) int32
    values: np.ndarray  # (runs * run,) float
    run: int
    inputs: int
    outputs: int


class OutputVectorWeight(NamedTuple):
    """Per group of ``lanes`` consecutive outputs, the inputs whose row of ``M`` holds a
    nonzero there, with that row's ``lanes`` values (zero-padded past the last output)."""

    indptr: np.ndarray  # (groups + 1,) int64
    indices: np.ndarray  # (stored,) int32
    values: np.ndarray  # (stored, lanes) float
    inputs: int
    outputs: int


def sparse_linear_unchecked(x, weight, epilogue, *, row_scale=None, split: int | None = None,
                            threads: int | None = None):
    """``act(row_scale * (x @ M) + bias)`` on checked arrays, by the weight's kernel.

    Parameters
    ----------
    x : ndarray (N, K) or tuple
        Dense C-contiguous activations of the weight's dtype, or CSR rows as
        ``(indptr, indices, data, K)``.
    weight : NodePanelWeight or OutputVectorWeight
        From ``pack_node_panels`` / ``pack_output_vectors``.
    epilogue : tuple
        ``(bias (M,) or empty, has_bias, act_code, slope)``; activations other than identity,
        ReLU and leaky ReLU get a pass over the rows afterwards.
    row_scale : ndarray (N,), optional
        Multiplies each output row before the bias (row-normalised inputs).
    split : int, optional
        Return ``(out[:, :split], out[:, split:])`` as two C-contiguous arrays (for output
        vectors, ``split`` must be a multiple of ``vector_width``).

    Returns ``(N, M)`` (64-byte aligned), or the pair when ``split`` is given.
    """
    panels = isinstance(weight, NodePanelWeight)
    w_values = weight.values
    width_out = weight.outputs
    dtype = w_values.dtype
    if isinstance(x, tuple):
        x_indptr, x_indices, x_data, width_in = x
        rows = x_indptr.shape[0] - 1
        x = np.empty((0, width_in), dtype)
        x_data = x_data.astype(dtype, copy=False)
    else:
        rows = x.shape[0]
        x_indptr = x_indices = np.empty(0, np.int64)
        x_data = np.empty(0, dtype)
    first_width = width_out if split is None else split
    out = aligned_empty((rows, first_width), dtype)
    out_second = aligned_empty((rows, width_out - first_width), dtype)
    scale = np.empty(0, dtype) if row_scale is None else row_scale.astype(dtype, copy=False)
    bias, _, code, slope = epilogue
    if rows:
        step = PANEL_VECTORS * vector_width(np.dtype(dtype).itemsize) if panels else ROW_BLOCK
        bounds = np.minimum(np.arange(0, rows + step, step, dtype=np.int64), rows)

        def run(first_step, last_step):
            start, end = int(bounds[first_step]), int(bounds[last_step])
            if panels:
                _node_panels(x, x_indptr, x_indices, x_data, weight.indptr, weight.indices,
                             w_values, weight.run, epilogue, scale, out, out_second, start, end)
            else:
                _output_vectors(x, x_indptr, x_indices, x_data, weight.indptr, weight.indices,
                                w_values,
                                epilogue, scale, out, out_second, start, end)
            if code != 0 and code != 1 and code != 3:  # activations the vectors do not apply
                _finish_rows(out, out_second, bias[:0], code, slope, start, end)

        run_row_chunks(run, np.arange(bounds.shape[0], dtype=np.int64),
                       rows * max(w_values.size, 1), threads)
    return out if split is None else (out, out_second)


@njit(cache=True, nogil=True, fastmath=FASTMATH)
def _finish_rows(out, out_second, empty, code, slope, start, end):
    for row in range(start, end):
        finish_row(out, row, empty, False, code, slope)
        finish_row(out_second, row, empty, False, code, slope)


# ----------------------------------------------------------------------------- packing
def pack_node_panels(matrix: np.ndarray, run: int = 1) -> NodePanelWeight:
    """The node-panel weight of a dense ``matrix (K, M)`` (``x @ M`` orientation): per output,
    every run of ``run`` consecutive inputs (aligned to multiples of ``run``) that holds a
    nonzero."""
    width_in, width_out = matrix.shape
    groups = -(-width_in // run)
    padded = np.zeros((groups * run, width_out), matrix.dtype)
    padded[:width_in] = matrix
    runs = padded.T.reshape(width_out, groups, run)  # (M, groups, R)
    kept = runs.any(axis=2)
    indptr = np.zeros(width_out + 1, np.int64)
    np.cumsum(kept.sum(axis=1), out=indptr[1:])
    output, group = np.nonzero(kept)
    values = np.ascontiguousarray(runs[output, group]).reshape(-1)
    return NodePanelWeight(indptr, (group * run).astype(np.int32), values, run, width_in,
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
    indptr = np.zeros(groups + 1, np.int64)
    np.cumsum(kept.sum(axis=1), out=indptr[1:])
    group, row = np.nonzero(kept)
    values = np.ascontiguousarray(blocks[group, row]).reshape(-1, lanes)
    return OutputVectorWeight(indptr, row.astype(np.int32), values, width_in, width_out)


def pack_weight(matrix, kernel: str, *, run: int = 1) -> NodePanelWeight | OutputVectorWeight:
    """``matrix (K, M)`` (``x @ M`` orientation, float32 or float64) packed for ``kernel``:
    ``"panels"`` (unstructured, or runs of ``run`` consecutive inputs kept together) or
    ``"vectors"`` (blocks along the outputs)."""
    matrix = check_dense(matrix, "matrix")
    if kernel == "panels":
        if isinstance(run, bool) or not isinstance(run, (int, np.integer)) or run < 1:
            raise KernelArgumentError(f"run must be a positive integer, got {run!r}")
        return pack_node_panels(matrix, int(run))
    if kernel == "vectors":
        return pack_output_vectors(matrix)
    raise KernelArgumentError(f"kernel must be one of {SPARSE_KERNELS}, got {kernel!r}")


def _check_weight(weight) -> None:
    """The packed weight's arrays hold together (it may have been built by hand)."""
    if isinstance(weight, NodePanelWeight):
        run, name = weight.run, "panels weight"
        if isinstance(run, bool) or not isinstance(run, (int, np.integer)) or run < 1:
            raise KernelArgumentError(f"{name}: run must be a positive integer, got {run!r}")
        groups, per_entry = weight.outputs, run
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
    # A run may overhang the last input: the node panels are padded by a run's length.
    indptr, indices, _ = check_csr(weight.indptr, weight.indices, groups, weight.inputs,
                                   name=name, error=KernelArgumentError)
    if indptr.dtype != np.int64 or indices.dtype != np.int32:
        raise KernelArgumentError(f"{name}: indptr must be int64 and indices int32")
    if values.size != indices.shape[0] * per_entry:
        raise KernelArgumentError(f"{name}: {indices.shape[0]} entries need "
                                  f"{indices.shape[0] * per_entry} values, got {values.size}")


def sparse_linear(x, weight, *, bias=None, activation: str | None = None,
                  negative_slope: float = 0.01, row_scale=None, split: int | None = None,
                  threads: int | None = None):
    """``act(row_scale * (x @ M) + bias)`` with ``M`` packed by :func:`pack_weight`.

    Parameters
    ----------
    x : ndarray (N, K) or CSRMatrix
        Activations, dense (float of the weight's dtype) or CSR (a validated
        :class:`~sparsegnn.sparse.CSRMatrix`).
    weight : NodePanelWeight or OutputVectorWeight
        From :func:`pack_weight`.
    bias : array (M,), optional
    activation : str, optional
        One of ``_config.ACTIVATIONS``.
    row_scale : array (N,), optional
        Multiplies each row of ``x @ M`` before the bias.
    split : int, optional
        Return the outputs ``[:, :split]`` and ``[:, split:]`` as two arrays.

    Returns ``(N, M)``, or the pair. Raises :class:`KernelArgumentError` on bad arguments.
    """
    _check_weight(weight)
    dtype = np.asarray(weight.values).dtype
    if hasattr(x, "indptr") and hasattr(x, "shape"):  # CSRMatrix
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
    if split is not None:
        lanes = vector_width(dtype.itemsize)
        if not 0 <= split <= weight.outputs or (
                isinstance(weight, OutputVectorWeight) and split % lanes):
            raise KernelArgumentError(f"split must lie in [0, {weight.outputs}] (a multiple of "
                                      f"{lanes} for output vectors), got {split}")
    epilogue = (check_vector(bias, weight.outputs, dtype, "bias"), bias is not None,
                activation_code(activation, ACTIVATIONS), float(negative_slope))
    return sparse_linear_unchecked(operand, weight, epilogue, row_scale=scale, split=split,
                                   threads=threads)
