"""Every kernel against an obviously correct reference (scipy / dense numpy), driven by
hypothesis over empty graphs, empty rows, duplicates, self loops, int32/int64 ids,
float32/float64 and non-contiguous inputs; plus the wrappers' argument checks."""


import math
import os
import subprocess
import sys

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given
from hypothesis import strategies as st
from numba import njit

from sparsegnn.graph import Graph
from sparsegnn.kernels import (
    KernelArgumentError,
    PanelMajor,
    coo_to_csr,
    csr_dense_matmul,
    edge_softmax,
    gat_aggregate,
    gcn_norm_csr,
    layer_norm,
    pack_weight,
    segment_pool,
    set_num_threads,
    sparse_linear,
    spmm_csr,
)
from sparsegnn.kernels._attention import attention_scores
from sparsegnn.kernels._checks import all_finite, valid_csr_structure
from sparsegnn.kernels._config import (
    ACTIVATIONS,
    FASTMATH,
    PARALLEL_MIN_ELEMENTS,
    PARALLEL_MIN_WORK,
)
from sparsegnn.kernels._convert import csr_to_dense, gcn_degree_scales, with_self_loops
from sparsegnn.kernels._elementary import erf32, exp32, expm1_32
from sparsegnn.kernels._epilogue import finish_row, gelu
from sparsegnn.kernels._intrinsics import transpose_network, transpose_tile, vector_lanes
from sparsegnn.kernels._memory import aligned_empty
from sparsegnn.kernels._sparse_linear import INPUT_CHUNK, PANEL_CHUNK, PANEL_VECTORS, vector_width
from sparsegnn.kernels._spmm import (
    GCN_SYMMETRIC,
    VALUE_MEAN,
    live_csr_products,
    spmm_csr_unchecked,
)
from sparsegnn.sparse import CSRMatrix, SparseFormatError, check_csr

from ..reference import ACTIVATION_REFERENCES, assert_matches, gat_reference, run_in_threads, spmm_reference
from ..strategies import csr_graphs, dense, edge_lists, float_dtypes, patterned_matrices

TOL = {np.float32: 1e-4, np.float64: 1e-10}


# Every register tuple length (1-8 vectors of 8 float32 or 4 float64 lanes, a masked last one)
# and rows wider than one 64-column chunk.
spmm_widths = st.one_of(st.integers(1, 66), st.sampled_from([128, 131]))


@given(g=csr_graphs(), width=spmm_widths, dtype=float_dtypes, weighted=st.booleans(),
       reduce=st.sampled_from(["sum", "mean", "max"]), contiguous=st.booleans(),
       seed=st.integers(0, 1000))
def test_spmm_matches_reference(g, width, dtype, weighted, reduce, contiguous, seed):
    indptr, indices, num_rows, num_cols = g
    x = dense(seed, (num_cols, width), dtype, contiguous)
    values = dense(seed + 1, (indices.shape[0],), dtype) if weighted else None
    out = spmm_csr(indptr, indices, values, x, num_rows=num_rows, reduce=reduce)
    assert out.dtype == dtype
    assert_matches(out, spmm_reference(indptr, indices, values, x, num_rows, reduce).astype(dtype),
                   atol=TOL[dtype])


@given(g=csr_graphs(), width=spmm_widths, dtype=float_dtypes, seed=st.integers(0, 1000))
def test_spmm_sum_matches_scipy(g, width, dtype, seed):
    indptr, indices, num_rows, num_cols = g
    x = dense(seed, (num_cols, width), dtype)
    values = dense(seed + 1, (indices.shape[0],), dtype)
    matrix = sp.csr_matrix((values, indices, indptr), shape=(num_rows, num_cols))
    assert_matches(spmm_csr(indptr, indices, values, x, num_rows=num_rows), matrix @ x,
                   atol=TOL[dtype])
    assert_matches(csr_dense_matmul(indptr, indices, values, x, num_rows=num_rows), matrix @ x,
                   atol=TOL[dtype])


_GUARD_PAGE_SCRIPT = """
import ctypes, mmap, sys
import numpy as np
from sparsegnn.kernels import spmm_csr
from sparsegnn.kernels._intrinsics import vector_lanes
from sparsegnn.kernels._spmm import GCN_SYMMETRIC, spmm_csr_unchecked

page = mmap.PAGESIZE
libc = ctypes.CDLL(None, use_errno=True)
libc.mprotect.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
maps = []

def guarded(shape, dtype):
    # an array whose last element is followed by an inaccessible page
    memory = mmap.mmap(-1, 2 * page)
    maps.append(memory)
    start = ctypes.addressof(ctypes.c_char.from_buffer(memory))
    assert libc.mprotect(start + page, page, 0) == 0, ctypes.get_errno()  # PROT_NONE
    size = int(np.prod(shape))
    return np.frombuffer(memory, dtype, size, page - size * np.dtype(dtype).itemsize).reshape(shape)

for dtype in (np.float32, np.float64):
    lanes = vector_lanes(np.dtype(dtype).itemsize)
    for width in range(1, 2 * lanes + 2):
        rows = 3
        x, bias, residual = guarded((rows, width), dtype), guarded((width,), dtype), \
            guarded((rows, width), dtype)
        x[:] = np.arange(x.size).reshape(x.shape) + 1
        bias[:] = -np.arange(width) - 0.5
        # every row gathers the last row of x, which ends at the guard page
        indptr, indices = np.array([0, 2, 3, 5]), np.array([2, 2, 2, 1, 2])
        out = spmm_csr(indptr, indices, None, x, num_rows=3)
        np.testing.assert_allclose(out, [2 * x[2], x[2], x[1] + x[2]])
        scales = np.ones(rows, dtype)
        sums = np.array([2 * x[2] + x[0], x[2] + x[1], x[1] + 2 * x[2]])
        fused = spmm_csr_unchecked(indptr, indices, scales, x, 3, GCN_SYMMETRIC,
                                   (np.empty(0, dtype), False, 0, 0.0), 1)
        np.testing.assert_allclose(fused, sums)
        # the bias and an output written in place (a residual) end at guard pages too
        residual[:] = np.arange(residual.size).reshape(residual.shape) * 0.25
        expected = sums + bias + residual
        spmm_csr_unchecked(indptr, indices, scales, x, 3, GCN_SYMMETRIC, (bias, True, 0, 0.0),
                           1, residual)
        np.testing.assert_allclose(residual, expected)
print("ok")
"""


def test_spmm_touches_nothing_past_its_arrays():
    """Partial last vectors may load whole where the array goes on (``overread`` tuples), and
    without AVX-512 load and store in pieces: a source, bias and in-place output that each end
    at an inaccessible page, for every width with a partial vector, must neither fault nor
    differ from numpy (a subprocess: a fault would kill pytest)."""
    result = subprocess.run([sys.executable, "-c", _GUARD_PAGE_SCRIPT], capture_output=True,
                            text=True, timeout=900)
    assert result.returncode == 0 and result.stdout.strip() == "ok", \
        (result.returncode, result.stdout[-2000:], result.stderr[-3000:])


@given(g=csr_graphs(), width=spmm_widths, dtype=float_dtypes, weighted=st.booleans(),
       seed=st.integers(0, 1000))
def test_value_mean_equals_row_normalised_values_times_x(g, width, dtype, weighted, seed):
    """The runtime's fused input normalisation: each row divided by the sum of its values
    (a row whose values sum to zero is divided by 1, as ``input_norm``); without values, by
    the entry count."""
    indptr, indices, num_rows, num_cols = g
    x = dense(seed, (num_cols, width), dtype)
    values = np.abs(dense(seed + 1, (indices.shape[0],), dtype)) if weighted else None
    if weighted and indices.shape[0]:  # a signed row summing to exactly zero
        row = values[indptr[min(1, num_rows)]:indptr[min(2, num_rows)]]
        row[:] = 0
        pairs = row.shape[0] // 2 * 2
        row[:pairs:2], row[1:pairs:2] = 1.5, -1.5
    ones = np.ones(indices.shape[0], dtype)
    matrix = sp.csr_matrix((ones if values is None else values, indices, indptr),
                           shape=(num_rows, num_cols))
    sums = np.asarray(matrix.sum(axis=1)).ravel()
    scale = np.divide(1.0, sums, out=np.ones_like(sums, dtype=np.float64), where=sums != 0)
    expected = (sp.diags(scale) @ matrix @ x.astype(np.float64)).astype(dtype)
    epilogue = (np.empty(0, dtype), False, 0, 0.01)
    out = spmm_csr_unchecked(indptr, indices, np.empty(0, dtype) if values is None else values,
                             x, num_rows, VALUE_MEAN, epilogue, None)
    assert_matches(out, expected, atol=TOL[dtype])


def _live_product_case(g, outputs, split, normalize, activation, seed):
    """CSR features and a weight with some rows empty, run through ``live_csr_products``,
    and the float64 reference of the whole product (empty rows included)."""
    indptr, indices, num_rows, num_cols = g
    rng = np.random.default_rng(seed)
    values = np.abs(dense(seed, (indices.shape[0],), np.float32))
    values[rng.random(values.shape[0]) < 0.2] = 0  # stored zeros: some rows sum to 0
    weight = dense(seed + 1, (num_cols, outputs), np.float32)
    weight[rng.random(num_cols) < 0.5] = 0  # empty rows: their entries are dropped
    kept = np.flatnonzero(np.any(weight != 0, axis=1))
    remap = np.full(num_cols, -1, np.int32)
    remap[kept] = np.arange(kept.size)
    bias = dense(seed + 2, (outputs,), np.float32)
    cuts = [0, split, outputs] if split else [0, outputs]
    parts = [np.ascontiguousarray(weight[kept, a:b]) for a, b in zip(cuts, cuts[1:])]
    epilogues = [(bias[a:b], True, ACTIVATIONS[activation], 0.01) for a, b in zip(cuts, cuts[1:])]
    matrix = sp.csr_matrix((values.astype(np.float64), indices, indptr),
                           shape=(num_rows, num_cols))
    if normalize:
        sums = np.asarray(matrix.sum(axis=1)).ravel()
        sums[sums == 0] = 1
        matrix = sp.diags(1 / sums) @ matrix
    expected = ACTIVATION_REFERENCES[activation](matrix @ weight.astype(np.float64) + bias)
    outs = live_csr_products(indptr, indices, values, remap, parts, normalize, epilogues, 2)
    return outs, [expected[:, a:b] for a, b in zip(cuts, cuts[1:])]


@given(g=csr_graphs(max_rows=12, max_cols=12, max_nnz=60), outputs=st.integers(1, 40),
       split=st.booleans(), normalize=st.booleans(),
       activation=st.sampled_from(["identity", "relu", "tanh"]), seed=st.integers(0, 1000))
def test_live_csr_products_match_scipy(g, outputs, split, normalize, activation, seed):
    """CSR features times the live rows of a weight (the entries of its empty rows dropped
    first), optionally row-normalised over all entries and split into two column ranges,
    against scipy on the whole weight: rows without entries, rows whose every entry is
    dropped, rows summing to zero."""
    outs, expected = _live_product_case(g, outputs, outputs // 2 if split and outputs > 1
                                        else None, normalize, activation, seed)
    for out, reference in zip(outs, expected):
        assert out.dtype == np.float32
        assert_matches(out, reference.astype(np.float32), atol=1e-4)


def test_live_csr_products_split_rows_over_threads():
    """Enough work to run on two threads: each row chunk narrows its own rows."""
    rng = np.random.default_rng(5)
    rows, cols, nnz = 4000, 300, 48_000
    indices = rng.integers(0, cols, nnz).astype(np.int32)
    indptr = np.concatenate([[0], np.cumsum(np.bincount(np.sort(rng.integers(0, rows, nnz)),
                                                         minlength=rows))]).astype(np.int64)
    assert nnz * (16 + 128) > PARALLEL_MIN_WORK
    outs, expected = _live_product_case((indptr, indices, rows, cols), 128, 64, True, "relu", 3)
    for out, reference in zip(outs, expected):
        assert_matches(out, reference.astype(np.float32), atol=1e-4)


@given(g=csr_graphs(square=True), width=spmm_widths,
       activation=st.sampled_from(["identity", "relu", "gelu"]), seed=st.integers(0, 1000))
def test_gcn_symmetric_matches_the_normalised_graph(g, width, activation, seed):
    """The runtime's fused GCN aggregation (per-node ``D^-1/2``, one self loop per node) against
    scipy on ``gcn_norm_csr``'s normalised copy, on graphs without self loops."""
    indptr, indices, num_rows, _ = g
    rows = np.repeat(np.arange(num_rows), np.diff(indptr))
    keep = indices != rows
    indptr = np.concatenate([[0], np.cumsum(np.bincount(rows[keep], minlength=num_rows))])
    indices = indices[keep]
    x = dense(seed, (num_rows, width), np.float32)
    bias = dense(seed + 1, (width,), np.float32)
    scales = gcn_degree_scales(indptr, indices)
    normalised = gcn_norm_csr(indptr, indices, None, num_nodes=num_rows)
    matrix = sp.csr_matrix((normalised[2], normalised[1], normalised[0]),
                           shape=(num_rows, num_rows))
    expected = matrix @ x + bias
    epilogue = (bias, True, ACTIVATIONS[activation], 0.01)
    out = spmm_csr_unchecked(indptr, indices, scales, x, num_rows, GCN_SYMMETRIC, epilogue, None)
    assert_matches(out, ACTIVATION_REFERENCES[activation](expected).astype(np.float32), atol=1e-4)


@given(g=csr_graphs(square=True), data=st.data())
def test_gcn_degree_scales_against_numpy(g, data):
    """``D^-1/2`` of ``A + I`` from the row sizes on the graph without its self loops, and None
    once a loop is put back in any row (empty rows around it included), against numpy."""
    indptr, indices, num_rows, _ = g
    if num_rows == 0:
        return
    rows = np.repeat(np.arange(num_rows), np.diff(indptr))
    keep = indices != rows
    indptr = np.concatenate([[0], np.cumsum(np.bincount(rows[keep], minlength=num_rows))])
    indices = indices[keep]
    assert_matches(gcn_degree_scales(indptr, indices),
                   (1 / np.sqrt(np.diff(indptr) + 1.0)).astype(np.float32), atol=1e-6)
    row = data.draw(st.integers(0, num_rows - 1))
    at = data.draw(st.integers(int(indptr[row]), int(indptr[row + 1])))
    looped = np.insert(indices, at, row).astype(indices.dtype)
    assert gcn_degree_scales(indptr + (np.arange(num_rows + 1) > row), looped) is None


def test_gcn_degree_scales_refuse_graphs_with_self_loops():
    """An existing self loop replaces the added one, so the fused path must not be taken."""
    indptr, indices = np.array([0, 1, 3]), np.array([1, 0, 1])
    assert gcn_degree_scales(indptr, indices) is None
    assert_matches(gcn_degree_scales(np.array([0, 1, 2]), np.array([1, 0])),
                   np.full(2, 1 / np.sqrt(2), np.float32), atol=1e-7)


@pytest.mark.parametrize("lanes,block", [(2, 2), (4, 2), (4, 4), (8, 2), (8, 4), (16, 4),
                                         (16, 16), (32, 4)])
def test_transpose_network_turns_rows_into_columns(lanes, block):
    """The shuffle rounds, replayed on numpy vectors, leave each tile column in one vector,
    and every shuffle keeps elements inside their 128-bit block or moves whole blocks."""
    rounds, columns = transpose_network(lanes, block)
    tile = np.random.default_rng(lanes).standard_normal((lanes, lanes))
    vectors = list(tile)
    for step in rounds:
        assert len(step) == lanes
        vectors = [np.concatenate([vectors[a], vectors[b]])[order] for a, b, order in step]
        for _, _, order in step:
            order = np.asarray(order)
            in_block = order % lanes // block == np.arange(lanes) // block
            whole_blocks = (order % block == np.arange(lanes) % block)
            assert in_block.all() or whole_blocks.all()
    assert sorted(columns) == list(range(lanes))
    for vector, column in zip(vectors, columns):
        np.testing.assert_array_equal(vector, tile[:, column])


@njit
def _transpose_tiles(src, dst, rows, cols):
    transpose_tile(src, 1, 2, dst, 3, 1, rows, cols)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_transpose_tile_whole_and_edge_tiles(dtype):
    """Compiled ``transpose_tile`` against numpy's ``.T`` for whole and edge tiles at an
    offset, writing nothing outside the tile."""
    lanes = vector_lanes(np.dtype(dtype).itemsize)
    rng = np.random.default_rng(1)
    src = rng.standard_normal((lanes + 3, lanes + 4)).astype(dtype)
    for rows, cols in [(lanes, lanes), (lanes - 1, lanes), (lanes, 1), (3, lanes - 2), (1, 1)]:
        dst = np.full((lanes + 5, lanes + 3), -7.0, dtype)
        _transpose_tiles(src, dst, rows, cols)
        expected = np.full_like(dst, -7.0)
        expected[3:3 + cols, 1:1 + rows] = src[1:1 + rows, 2:2 + cols].T
        np.testing.assert_array_equal(dst, expected)


@given(weight=patterned_matrices(), rows=st.sampled_from([0, 1, 7, 8, 9, 63, 64, 65, 150]),
       kernel=st.sampled_from(["panels", "vectors"]), sparse_input=st.booleans(),
       contiguous=st.booleans(), with_bias=st.booleans(), with_scale=st.booleans(),
       activation=st.sampled_from(["identity", "relu", "leaky_relu", "tanh"]),
       seed=st.integers(0, 1000))
def test_sparse_linear_matches_numpy(weight, rows, kernel, sparse_input, contiguous, with_bias,
                                     with_scale, activation, seed):
    """Both sparse-weight kernels on every pattern (and empty input rows / output columns),
    against float64 numpy: dense activations (whole and partial node panels and row blocks,
    non-contiguous) and CSR ones with empty rows; bias, row scale and each fused activation."""
    matrix, pattern = weight
    dtype = matrix.dtype
    inputs, outputs = matrix.shape
    blocks = {"1x4": 4, "1x8": 8}
    packed = pack_weight(matrix, kernel, run=4 if pattern == "4x1" else 1,
                         block=blocks.get(pattern, 1) if kernel == "panels" else 1)
    x = dense(seed, (rows, inputs), dtype, contiguous)
    x[dense(seed + 1, (rows, inputs), np.float64) < 0] = 0  # half zeros, some rows empty
    bias = dense(seed + 2, (outputs,), dtype) if with_bias else None
    scale = np.abs(dense(seed + 3, (rows,), dtype)) if with_scale else None
    operand = CSRMatrix.from_dense(np.ascontiguousarray(x)) if sparse_input else x
    out = sparse_linear(operand, packed, bias=bias, activation=activation, row_scale=scale)
    expected = x.astype(np.float64) @ matrix.astype(np.float64)
    if with_scale:
        expected *= scale[:, None]
    if with_bias:
        expected += bias
    assert out.dtype == dtype and out.shape == (rows, outputs)
    assert_matches(out, ACTIVATION_REFERENCES[activation](expected).astype(dtype),
                   atol=TOL[dtype.type] * 10)


@pytest.mark.parametrize("density", [0.01, 0.5])
@pytest.mark.parametrize("kernel,options", [("panels", {}), ("panels", {"run": 4}),
                                            ("panels", {"block": 4}), ("panels", {"block": 8}),
                                            ("vectors", {})])
def test_sparse_linear_sweeps_inputs_in_chunks(density, kernel, options):
    """Inputs wider than a chunk: partial sums carried from chunk to chunk match numpy. Node
    panels cut a dense enough weight into chunks and keep a very sparse one whole."""
    rng = np.random.default_rng(7)
    inputs = 2 * max(PANEL_CHUNK, INPUT_CHUNK) + 45
    matrix = (rng.standard_normal((inputs, 40)) * (rng.random((inputs, 40)) < density)) \
        .astype(np.float32)
    packed = pack_weight(matrix, kernel, **options)
    chunk = PANEL_CHUNK if kernel == "panels" else INPUT_CHUNK
    chunked = density > 0.1 or kernel == "vectors"
    assert packed.bounds.shape[1] - 1 == (-(-inputs // chunk) if chunked else 1)
    x = dense(3, (70, inputs), np.float32)
    bias = dense(4, (40,), np.float32)
    out = sparse_linear(x, packed, bias=bias, activation="relu")
    expected = np.maximum(x.astype(np.float64) @ matrix + bias, 0)
    assert_matches(out, expected.astype(np.float32), atol=1e-3)


@given(weight=patterned_matrices(), rows=st.sampled_from([0, 5, 70]),
       kernel=st.sampled_from(["panels", "vectors"]), cut=st.floats(0, 1),
       seed=st.integers(0, 1000))
def test_sparse_linear_split_outputs(weight, rows, kernel, cut, seed):
    """Two weights on one input (GraphSAGE's, GAT's projection and residual) run as one product
    whose columns are returned as two arrays, cut anywhere: inside a vector too, where the
    output vectors route a group across the cut through their buffer (bias and ReLU
    included)."""
    matrix, pattern = weight
    split = round(cut * matrix.shape[1])
    x = dense(seed, (rows, matrix.shape[0]), matrix.dtype)
    bias = dense(seed + 1, (matrix.shape[1],), matrix.dtype)
    block = {"1x4": 4, "1x8": 8}.get(pattern, 1) if kernel == "panels" else 1
    first, second = sparse_linear(x, pack_weight(matrix, kernel, block=block), bias=bias,
                                  activation="relu", split=split)
    expected = np.maximum(x.astype(np.float64) @ matrix.astype(np.float64) + bias, 0)
    assert first.flags.c_contiguous and second.flags.c_contiguous
    assert_matches(first, expected[:, :split].astype(matrix.dtype), atol=TOL[matrix.dtype.type] * 10)
    assert_matches(second, expected[:, split:].astype(matrix.dtype), atol=TOL[matrix.dtype.type] * 10)


@given(weight=patterned_matrices(), rows=st.sampled_from([0, 1, 63, 64, 65, 200]),
       major_in=st.booleans(), major_out=st.booleans(), with_scale=st.booleans(),
       activation=st.sampled_from(["identity", "relu", "leaky_relu"]),
       threads=st.sampled_from([1, 2]), seed=st.integers(0, 1000))
def test_node_panels_read_and_write_panel_major(weight, rows, major_in, major_out, with_scale,
                                                activation, threads, seed):
    """Node panels on panel-major activations (each panel read in place) and to them (no
    transposes back), as two layers of an MLP pass them, against float64 numpy; input runs
    only where none overhangs the last input."""
    matrix, pattern = weight
    dtype = matrix.dtype
    inputs, outputs = matrix.shape
    run = 4 if pattern == "4x1" and inputs % 4 == 0 else 1
    packed = pack_weight(matrix, "panels", run=run, block={"1x4": 4, "1x8": 8}.get(pattern, 1))
    x = dense(seed, (rows, inputs), dtype)
    bias = dense(seed + 2, (outputs,), dtype)
    scale = np.abs(dense(seed + 3, (rows,), dtype)) if with_scale else None
    operand = PanelMajor.from_rows(x) if major_in else x
    assert_matches(PanelMajor.from_rows(x).to_rows(), x, atol=0)
    out = sparse_linear(operand, packed, bias=bias, activation=activation, row_scale=scale,
                        panel_major_out=major_out, threads=threads)
    expected = x.astype(np.float64) @ matrix.astype(np.float64)
    if with_scale:
        expected *= scale[:, None]
    expected = ACTIVATION_REFERENCES[activation](expected + bias).astype(dtype)
    if major_out:
        panel = PANEL_VECTORS * vector_width(dtype.itemsize)
        assert isinstance(out, PanelMajor) and out.features == outputs
        assert out.values.shape == (max(-(-rows // panel), 1) * out.rows, panel)
        out = out.to_rows()
    assert_matches(out, expected, atol=TOL[dtype.type] * 10)


def test_panel_major_activations_are_checked():
    """Panel-major inputs must suit the node panels that read them."""
    matrix = np.eye(6, 5, dtype=np.float32)
    x = PanelMajor.from_rows(np.ones((3, 6), np.float32))
    panels = pack_weight(matrix, "panels")
    with pytest.raises(KernelArgumentError, match="node-panel"):
        sparse_linear(x, pack_weight(matrix, "vectors"))
    with pytest.raises(KernelArgumentError, match="node-panel"):
        sparse_linear(np.ones((3, 6), np.float32), pack_weight(matrix, "vectors"),
                      panel_major_out=True)
    with pytest.raises(KernelArgumentError, match="features"):
        sparse_linear(PanelMajor(x.values, 3, 5, 6), panels)
    with pytest.raises(KernelArgumentError, match="do not hold"):
        sparse_linear(PanelMajor(x.values, 3, 6, 4), panels)  # rows per panel
    with pytest.raises(KernelArgumentError, match="do not hold"):
        sparse_linear(PanelMajor(x.values, 65, 6, 6), panels)  # more nodes than one panel
    with pytest.raises(KernelArgumentError, match="C-contiguous"):
        sparse_linear(PanelMajor(x.values[:, :8].copy(), 3, 6, 6), panels)
    with pytest.raises(KernelArgumentError, match="C-contiguous"):
        sparse_linear(PanelMajor(x.values.astype(np.float64), 3, 6, 6), panels)
    with pytest.raises(KernelArgumentError, match="overhangs"):
        sparse_linear(x, pack_weight(np.ones((6, 5), np.float32), "panels", run=4))
    with pytest.raises(KernelArgumentError, match="identity, ReLU"):
        sparse_linear(x, panels, activation="tanh", panel_major_out=True)
    with pytest.raises(KernelArgumentError, match="unsplit"):
        sparse_linear(x, panels, split=2, panel_major_out=True)


def test_sparse_linear_never_turns_stored_zeros_into_nan():
    """Padding of the node panels and output vectors is zero: a stored zero times it must not
    make NaN, and a row of inputs that no weight reads may hold anything finite."""
    matrix = np.zeros((5, 3), np.float32)
    matrix[4, 1] = 2.0
    x = np.full((3, 5), 3e38, np.float32)
    x[:, 4] = 1.0
    for kernel in ("panels", "vectors"):
        assert_matches(sparse_linear(x, pack_weight(matrix, kernel)), x @ matrix, atol=0)


@given(g=csr_graphs(), dtype=float_dtypes, seed=st.integers(0, 1000))
def test_csr_to_dense_matches_scipy(g, dtype, seed):
    indptr, indices, num_rows, num_cols = g
    values = dense(seed, (indices.shape[0],), np.float64)
    matrix = CSRMatrix(indptr, indices, values, (num_rows, num_cols))
    expected = sp.csr_matrix((values, indices, indptr), shape=(num_rows, num_cols)).toarray()
    out = csr_to_dense(matrix, dtype)  # duplicates summed, as scipy does
    assert out.dtype == dtype and out.shape == (num_rows, num_cols)
    assert_matches(out, expected.astype(dtype), atol=TOL[dtype])


@pytest.mark.parametrize("activation", sorted(ACTIVATION_REFERENCES))
def test_fused_bias_and_activation(activation, rng):
    indptr, indices = np.array([0, 2, 2, 5]), np.array([0, 1, 1, 2, 0])
    x = rng.standard_normal((3, 6)).astype(np.float32)
    bias = rng.standard_normal(6).astype(np.float32)
    out = spmm_csr(indptr, indices, None, x, num_rows=3, bias=bias, activation=activation)
    plain = spmm_reference(indptr, indices, None, x, 3) + bias
    assert_matches(out, ACTIVATION_REFERENCES[activation](plain).astype(np.float32), atol=1e-5)


@njit(fastmath=FASTMATH, error_model="numpy")
def _apply_elementary(values, out, which):
    for i in range(values.shape[0]):
        if which == 0:
            out[i] = exp32(values[i])
        elif which == 1:
            out[i] = expm1_32(values[i])
        else:
            out[i] = erf32(values[i])


# function: (libm reference, error kind, bound, float32 domain)
ELEMENTARY = {0: (np.exp, "rel", 4e-7, (-110, 100)), 1: (np.expm1, "rel", 2e-7, (-110, 0)),
              2: (np.vectorize(math.erf, otypes=[float]), "abs", 5e-7, (-100, 100))}
SPECIALS = [0.0, -0.0, 1e-30, -1e-30, 1e-8, -1e-8, 0.3465, -0.3466, 0.5, -0.5, -87.3, -87.4,
            88.7, 88.8, 3e38, -3e38, np.inf, -np.inf, np.nan]


@pytest.mark.parametrize("which", sorted(ELEMENTARY))
def test_elementary_functions_against_libm(which):
    """exp / expm1 / erf of float32 (the vectorisable arithmetic) within a few float32 ulp of
    libm in float64 over each one's domain (a dense grid, tiny values and the edge cases:
    overflow to inf, underflow to 0, NaN); float64 values take libm itself."""
    reference, kind, bound, (low, high) = ELEMENTARY[which]
    x = np.concatenate([np.linspace(low, high, 400_001), SPECIALS,
                        -np.geomspace(1e-30, 1, 1000), np.geomspace(1e-30, 1, 1000)])
    x = x.astype(np.float32)
    x = x[np.isnan(x) | ((x >= low) & (x <= high))]
    out = np.empty_like(x)
    _apply_elementary(x, out, which)
    with np.errstate(over="ignore"):
        expected = reference(x.astype(np.float64))
    # where float32 holds the exact value as a normal number, compare; elsewhere it must agree
    # with float32's own rounding of it (0, inf, NaN)
    float32 = np.finfo(np.float32)
    normal = np.isfinite(expected) & (np.abs(expected) <= float32.max) & \
        ((np.abs(expected) >= float32.smallest_normal) | (expected == 0))
    error = np.abs(out[normal] - expected[normal])
    if kind == "rel":
        error = error / np.maximum(np.abs(expected[normal]), 1e-38)
    assert error.max() < bound
    with np.errstate(over="ignore"):
        rounded = expected[~normal].astype(np.float32)
    tiny = np.abs(rounded) < float32.smallest_normal  # underflow: 0 there, or a denormal
    np.testing.assert_array_equal(out[~normal][~tiny], rounded[~tiny])
    assert np.all(np.abs(out[~normal][tiny] - rounded[tiny]) < float32.smallest_normal)
    wide = np.linspace(-50, 50, 1001)
    libm = np.empty_like(wide)
    _apply_elementary(wide, libm, which)
    np.testing.assert_allclose(libm, reference(wide), rtol=1e-15, atol=0)


def test_elementary_functions_on_a_cpu_without_fma(tmp_path):
    """The same bounds compiled for generic x86-64 (no FMA), in a child process: there,
    fast-math reassociation folded exp's two-constant range reduction into one rounded ln 2
    (4e-6 of relative error) until the reduction moved to float64 on such targets."""
    environment = {**os.environ, "NUMBA_CPU_NAME": "generic", "NUMBA_CPU_FEATURES": "",
                   "NUMBA_CACHE_DIR": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist",
         f"{__file__}::test_elementary_functions_against_libm"],
        capture_output=True, text=True, timeout=600, env=environment)
    assert result.returncode == 0, result.stdout[-3000:]
    assert "3 passed" in result.stdout


def test_float32_expm1_is_for_elu_negative_side():
    """Above 0 the float32 expm1 gives 0: it serves ELU's negative side only."""
    x = np.array([1e-8, 0.5, 3.0, np.inf], np.float32)
    out = np.empty_like(x)
    _apply_elementary(x, out, 1)
    assert not out.any()


def test_gelu_against_exact_gelu():
    """GELU on the float32 erf within 2e-6 of the exact (float64 erf) GELU, NaN kept; the array
    loop equals the scalar."""
    x = np.linspace(-12, 12, 200_001).astype(np.float32)
    values = x.copy().reshape(1, -1)
    finish_row(values, 0, values[0, :0], False, ACTIVATIONS["gelu"], 0.0)
    expected = ACTIVATION_REFERENCES["gelu"](x.astype(np.float64))
    assert np.abs(values[0] - expected).max() < 2e-6
    assert values[0, ::97].tolist() == [gelu(v) for v in x[::97]]
    nan = np.array([[np.nan]], np.float32)
    finish_row(nan, 0, nan[0, :0], False, ACTIVATIONS["gelu"], 0.0)
    assert np.isnan(nan[0, 0])


@given(g=csr_graphs(), heads=st.integers(1, 3),
       channels=st.sampled_from([1, 3, 4, 8, 9, 17, 33]),
       dtype=float_dtypes,
       seed=st.integers(0, 1000))
def test_gat_softmax_and_aggregation_match_reference(g, heads, channels, dtype, seed):
    """Against the reference for channel counts that fill part of a vector register, half of
    one (two heads share a register: 8 float32 or 4 float64 channels with AVX-512), all of
    one, or more than one (the register path and the plain loop)."""
    indptr, indices, num_rows, num_cols = g
    score_src = dense(seed, (num_cols, heads), dtype) * 3
    score_dst = dense(seed + 1, (num_rows, heads), dtype) * 3
    x = dense(seed + 2, (num_cols, heads * channels), dtype).reshape(num_cols, heads, channels)
    alpha, expected = gat_reference(indptr, indices, score_src, score_dst, x, 0.2)
    assert_matches(edge_softmax(indptr, indices, score_src, score_dst),
                   alpha.astype(dtype), atol=TOL[dtype])
    assert_matches(gat_aggregate(indptr, indices, score_src, score_dst, x),
                   expected.astype(dtype), atol=TOL[dtype])


@pytest.mark.parametrize("heads, channels", [(1, 15), (3, 8), (8, 8), (20, 2)])
def test_gat_aggregation_across_blocks_and_far_below_the_bound(rng, heads, channels):
    """Rows spread over many of the fused kernel's blocks of ``BLOCK_ENTRIES`` edge-heads, and
    rows whose scores all sit far below the bound the one-pass exps are shifted by (one source
    scores 300 in every head: the rows without it underflow and are worked out again from
    their own peak), with more heads than a vector holds: against the float64 reference."""
    from sparsegnn.kernels._attention import BLOCK_ENTRIES

    nodes = 3000
    graph = Graph.from_edge_index(rng.integers(0, nodes, (2, 4 * BLOCK_ENTRIES // heads + 500)),
                                  nodes).add_self_loops(remaining=True)
    score_src = (rng.standard_normal((nodes, heads)) * 3).astype(np.float32)
    score_src[7] = 300.0
    score_dst = (rng.standard_normal((nodes, heads)) * 3).astype(np.float32)
    x = rng.standard_normal((nodes, heads, channels)).astype(np.float32)
    _, expected = gat_reference(graph.indptr, graph.indices, score_src, score_dst, x, 0.2)
    for threads in (1, 2):
        out = gat_aggregate(graph.indptr, graph.indices, score_src, score_dst, x,
                            threads=threads)
        assert_matches(out, expected.astype(np.float32), atol=1e-5)


@given(rows=st.integers(0, 40), heads=st.integers(1, 4), channels=st.integers(1, 17),
       seed=st.integers(0, 1000))
def test_attention_scores_match_einsum(rows, heads, channels, seed):
    projected = dense(seed, (rows, heads, channels), np.float32)
    att_src, att_dst = dense(seed + 1, (2, heads, channels), np.float32)
    score_src, score_dst = attention_scores(projected, att_src, att_dst, 2)
    assert_matches(score_src, np.einsum("nhc,hc->nh", projected, att_src), atol=1e-5)
    assert_matches(score_dst, np.einsum("nhc,hc->nh", projected, att_dst), atol=1e-5)


def test_gat_matches_torch_layer(rng):
    """The fused kernel computes what the torch GATConv computes (self loops included)."""
    import torch

    from sparsegnn.nn import TorchGraph
    from sparsegnn.nn.layers import GATConv

    graph = Graph.from_edge_index(rng.integers(0, 30, (2, 120)), 30)
    looped = graph.add_self_loops(remaining=True)
    torch.manual_seed(0)
    layer = GATConv(8, 4, heads=3).eval()
    x = torch.randn(30, 8)
    with torch.no_grad():
        expected = layer(x, TorchGraph.from_graph(graph)).numpy()
        projected = layer.lin(x).view(30, 3, 4)
        score_src = (projected * layer.att_src).sum(-1).numpy()
        score_dst = (projected * layer.att_dst).sum(-1).numpy()
    out = gat_aggregate(looped.indptr, looped.indices, score_src, score_dst, projected.numpy())
    assert_matches(out.reshape(30, 12) + layer.bias.detach().numpy(), expected, atol=1e-5)


@given(sizes=st.lists(st.integers(0, 5), max_size=6), width=st.integers(1, 4),
       reduce=st.sampled_from(["sum", "mean", "max"]), dtype=float_dtypes,
       seed=st.integers(0, 1000))
def test_segment_pool_matches_reference(sizes, width, reduce, dtype, seed):
    x = dense(seed, (sum(sizes), width), dtype)
    batch = np.repeat(np.arange(len(sizes)), sizes)
    out = segment_pool(x, batch, reduce=reduce, num_segments=len(sizes))
    expected = np.zeros((len(sizes), width))
    start = 0
    for i, size in enumerate(sizes):
        if size:
            block = x[start:start + size]
            expected[i] = {"sum": block.sum(0), "mean": block.mean(0), "max": block.max(0)}[reduce]
        start += size
    assert_matches(out, expected.astype(dtype), atol=TOL[dtype])


@given(edges=edge_lists())
def test_coo_to_csr_matches_graph(edges):
    edge_index, num_nodes = edges
    values = np.arange(edge_index.shape[1], dtype=np.float32)
    indptr, indices, permuted = coo_to_csr(edge_index[0], edge_index[1], num_nodes, values)
    graph = Graph.from_edge_index(edge_index, num_nodes, values)
    np.testing.assert_array_equal(indptr, graph.indptr)
    np.testing.assert_array_equal(indices, graph.indices)
    np.testing.assert_array_equal(permuted, graph.edge_weight)  # stable within equal edges


@given(edges=edge_lists())
def test_with_self_loops_is_add_remaining_self_loops(edges):
    """GAT's looped graph: exactly one self loop per node (existing ones collapsed), rows kept
    sorted, the other edges (duplicates included) as they were: ``Graph.add_self_loops``."""
    edge_index, num_nodes = edges
    graph = Graph.from_edge_index(edge_index, num_nodes)
    expected = graph.add_self_loops(remaining=True)
    indptr, indices = with_self_loops(graph.indptr, graph.indices)
    np.testing.assert_array_equal(indptr, expected.indptr)
    np.testing.assert_array_equal(indices, expected.indices)
    assert indices.dtype == graph.indices.dtype


@given(edges=edge_lists(), weighted=st.booleans(), improved=st.booleans())
def test_gcn_norm_matches_graph_gcn_norm(edges, weighted, improved):
    edge_index, num_nodes = edges
    weights = (np.arange(edge_index.shape[1]) % 3 + 1).astype(np.float64) if weighted else None
    graph = Graph.from_edge_index(edge_index, num_nodes, weights)
    expected = graph.gcn_norm(improved=improved)
    indptr, indices, values = gcn_norm_csr(graph.indptr, graph.indices, graph.edge_weight,
                                           num_nodes=num_nodes, improved=improved)
    dense_expected = sp.csr_matrix((expected.weights(np.float64), expected.indices,
                                    expected.indptr), shape=(num_nodes,) * 2).toarray()
    dense_actual = sp.csr_matrix((values, indices, indptr), shape=(num_nodes,) * 2).toarray()
    assert_matches(dense_actual, dense_expected, atol=1e-6)
    assert np.all([np.all(np.diff(indices[indptr[r]:indptr[r + 1]]) >= 0)
                   for r in range(num_nodes)])


def test_parallel_and_serial_results_agree(rng):
    num_rows = 3000
    graph = Graph.from_edge_index(rng.integers(0, num_rows, (2, 100000)), num_rows)
    x = rng.standard_normal((num_rows, 64)).astype(np.float32)
    assert graph.num_edges * x.shape[1] > PARALLEL_MIN_WORK  # large enough to be split
    set_num_threads(1)
    try:
        serial = spmm_csr(graph.indptr, graph.indices, None, x, num_rows=num_rows)
    finally:
        set_num_threads(None)
    parallel = spmm_csr(graph.indptr, graph.indices, None, x, num_rows=num_rows, threads=4)
    np.testing.assert_array_equal(parallel, serial)


@given(rows=st.integers(0, 3000), cols=st.integers(0, 70), dtype=float_dtypes)
def test_aligned_empty_is_a_writable_c_array_on_a_64_byte_boundary(rows, cols, dtype):
    """Large enough to leave numpy's small-array cache, it starts on a cache line; either way
    it has the shape and dtype asked for, is C-contiguous, writable and owns its rows alone."""
    out = aligned_empty((rows, cols), dtype)
    assert out.shape == (rows, cols) and out.dtype == dtype and out.flags.c_contiguous
    if out.nbytes >= 4096:
        assert out.__array_interface__["data"][0] % 64 == 0
    out[...] = 1
    other = aligned_empty((rows, cols), dtype)
    other[...] = 2
    assert np.all(out == 1)


@given(shape=st.sampled_from([(0, 3), (1, 1), (7, 5), (PARALLEL_MIN_ELEMENTS // 64 + 3, 64)]),
       dtype=float_dtypes, bad=st.sampled_from([None, np.nan, np.inf, -np.inf]),
       position=st.floats(0, 1), seed=st.integers(0, 1000))
def test_all_finite_matches_numpy(shape, dtype, bad, position, seed):
    values = dense(seed, shape, dtype) * dtype(1e30)  # large but finite values stay finite
    if bad is not None and values.size:
        values.reshape(-1)[int(position * (values.size - 1))] = bad
    assert all_finite(values) == bool(np.isfinite(values).all())
    assert all_finite(values, threads=1) == all_finite(values, threads=2)


@given(g=csr_graphs(), fault=st.sampled_from(
    [None, "negative index", "index past the end", "decreasing indptr", "indptr[0]", "indptr[-1]",
     "int16 indices", "float indptr", "strided indices", "short indptr", "list"]),
    position=st.floats(0, 1))
def test_valid_csr_structure_agrees_with_check_csr(g, fault, position):
    """The runtime's one-pass check accepts exactly what ``check_csr`` accepts unchanged:
    int32 / int64 C-contiguous arrays that form a CSR structure."""
    indptr, indices, num_rows, num_cols = (a.copy() if isinstance(a, np.ndarray) else a for a in g)
    where = int(position * max(indices.shape[0] - 1, 0))
    if fault == "negative index" and indices.size:
        indices[where] = -1
    elif fault == "index past the end" and indices.size:
        indices[where] = num_cols
    elif fault == "decreasing indptr" and num_rows >= 2 and indptr[-1] > 0:
        row = 1 + int(position * (num_rows - 2))
        indptr[row] = indptr[-1] + 1  # rises past the end, then falls back to it
    elif fault == "indptr[0]":
        indptr[0] = 1
    elif fault == "indptr[-1]":
        indptr[-1] += 1
    elif fault == "int16 indices":
        indices = indices.astype(np.int16)
    elif fault == "float indptr":
        indptr = indptr.astype(np.float64)
    elif fault == "strided indices":
        indices = np.repeat(indices, 2)[::2]
    elif fault == "short indptr":
        indptr = indptr[:-1]
    elif fault == "list":
        indptr = indptr.tolist()
    try:
        checked_indptr, checked_indices, _ = check_csr(indptr, indices, num_rows, num_cols)
        accepted_unchanged = checked_indptr is indptr and checked_indices is indices
    except SparseFormatError:
        accepted_unchanged = False
    assert valid_csr_structure(indptr, indices, num_rows, num_cols) == accepted_unchanged


def test_valid_csr_structure_sees_indices_that_wrap_as_unsigned():
    """An index of -1 or 2**40 must fail the range check, not wrap into it."""
    for indices in (np.array([-1], np.int32), np.array([-1], np.int64),
                    np.array([2**40], np.int64), np.array([-(2**62)], np.int64)):
        assert not valid_csr_structure(np.array([0, 1], indices.dtype), indices, 1, 3)
    assert valid_csr_structure(np.array([0, 1], np.int32), np.array([2], np.int32), 1, 3)


@given(rows=st.sampled_from([0, 1, 5, 70]), width=st.integers(0, 70), dtype=float_dtypes,
       activation=st.sampled_from(["identity", "relu", "gelu", "tanh"]),
       eps=st.sampled_from([1e-5, 0.5]), offset=st.sampled_from([0.0, 1e4]),
       contiguous=st.booleans(), seed=st.integers(0, 1000))
def test_layer_norm_matches_numpy(rows, width, dtype, activation, eps, offset, contiguous, seed):
    """The fused layer norm against numpy in float64 (torch's definition: biased variance),
    including constant rows, a large common offset, zero-width rows and strided input."""
    x = dense(seed, (rows, width + 1), dtype) + dtype(offset)
    if rows:
        x[0] = 3  # a constant row: normalised to exactly 0, then shifted
    x = x[:, :width] if not contiguous else np.ascontiguousarray(x[:, :width])
    scale, shift = dense(seed + 1, (width,), dtype), dense(seed + 2, (width,), dtype)
    plain = x.astype(np.float64)
    centred = plain - plain.mean(axis=1, keepdims=True) if width else plain
    normalised = centred / np.sqrt((centred ** 2).mean(axis=1, keepdims=True) + eps) \
        if width else plain
    expected = ACTIVATION_REFERENCES[activation](normalised * scale + shift)
    out = layer_norm(x, scale, shift, eps=eps, activation=activation)
    # float32's rounding of x - mean grows with the offset; GELU's erf is float32-accurate
    atol = {np.float32: 1e-4 if offset else 1e-5, np.float64: 1e-8}[dtype]
    if activation == "gelu":
        atol = max(atol, 3e-6)
    assert_matches(out, expected.astype(dtype), atol=atol)
    assert np.array_equal(layer_norm(x, scale, shift, eps=eps, activation=activation, threads=2),
                          out)


def test_layer_norm_splits_rows_across_threads(rng):
    x = rng.standard_normal((PARALLEL_MIN_WORK // 64 + 7, 64)).astype(np.float32)
    scale, shift = rng.standard_normal(64).astype(np.float32), np.zeros(64, np.float32)
    np.testing.assert_array_equal(layer_norm(x, scale, shift, threads=2),
                                  layer_norm(x, scale, shift, threads=1))


def test_concurrent_calls_from_python_threads(rng):
    graph = Graph.from_edge_index(rng.integers(0, 2000, (2, 100000)), 2000)
    x = rng.standard_normal((2000, 64)).astype(np.float32)
    assert graph.num_edges * x.shape[1] > PARALLEL_MIN_WORK
    expected = spmm_csr(graph.indptr, graph.indices, None, x, num_rows=2000)
    results = run_in_threads(lambda: spmm_csr(graph.indptr, graph.indices, None, x,
                                              num_rows=2000, threads=2), threads=4, repeats=5)
    assert len(results) == 20
    for result in results:
        np.testing.assert_array_equal(result, expected)


@pytest.mark.parametrize("call, message", [
    (lambda: spmm_csr([0, 1], [5], None, np.ones((2, 2), np.float32), num_rows=1), "must be < 2"),
    (lambda: spmm_csr([0, 1], [-1], None, np.ones((2, 2), np.float32), num_rows=1), "non-negative"),
    (lambda: spmm_csr([0, 1, 3], [0], None, np.ones((2, 2), np.float32), num_rows=2),
     "indptr\\[-1\\]"),
    (lambda: spmm_csr([0, 1], [0], None, np.ones((2, 2), np.int64), num_rows=1), "float32 or"),
    (lambda: spmm_csr([0, 1], [0], None, np.ones(2, np.float32), num_rows=1), "2-D"),
    (lambda: spmm_csr([0, 1], [0], [1.0, 2.0], np.ones((2, 2), np.float32), num_rows=1),
     "values must have shape"),
    (lambda: spmm_csr([0, 1], [0], None, np.ones((2, 2), np.float32), num_rows=1, reduce="min"),
     "reduce must be"),
    (lambda: spmm_csr([0, 1], [0], None, np.ones((2, 2), np.float32), num_rows=1,
                      activation="swish"), "activation must be"),
    (lambda: spmm_csr([0, 1], [0], None, np.ones((2, 2), np.float32), num_rows=1,
                      bias=np.ones(3)), "bias must have shape"),
    (lambda: sparse_linear(np.ones((2, 3), np.float32), pack_weight(np.ones((4, 2)), "panels")),
     "must be float64 with 4 columns"),
    (lambda: sparse_linear(np.ones((2, 4)), pack_weight(np.ones((4, 2)), "vectors")._replace(
        indices=np.array([0, 1, 2, 9], np.int32))), "must be < 4"),
    (lambda: sparse_linear(np.ones((2, 4)), pack_weight(np.ones((4, 2)), "panels"), split=3),
     "split must lie"),
    (lambda: pack_weight(np.ones((4, 2)), "blocks"), "kernel must be one of"),
    (lambda: layer_norm(np.ones((2, 3)), np.ones(2), np.ones(3)), "scale must have shape"),
    (lambda: layer_norm(np.ones((2, 3)), np.ones(3), np.ones(3), eps=0.0), "eps must be"),
    (lambda: layer_norm(np.ones((2, 3)), np.ones(3), np.ones(3), eps=float("nan")), "eps must"),
    (lambda: layer_norm(np.ones(3), np.ones(3), np.ones(3)), "2-D"),
    (lambda: layer_norm(np.ones((2, 3)), np.ones(3), np.ones(3), activation="swish"),
     "activation must be"),
    (lambda: gat_aggregate([0, 1], [0], np.ones((1, 2), np.float32), np.ones((1, 2), np.float64),
                           np.ones((1, 2, 3), np.float32)), "agree on heads and dtype"),
    (lambda: segment_pool(np.ones((3, 2), np.float32), np.array([1, 0, 1])), "sorted"),
    (lambda: coo_to_csr(np.array([0, 4]), np.array([1, 0]), 3), "node ids must lie"),
])
def test_bad_arguments_raise_before_native_code(call, message):
    with pytest.raises(KernelArgumentError, match=message):
        call()


@given(g=csr_graphs(square=True), width=spmm_widths, dtype=float_dtypes,
       self_weight=st.sampled_from([0.0, 1.0, 1.3]), with_residual=st.booleans(),
       seed=st.integers(0, 1000))
def test_spmm_self_term_and_residual_join_the_sum(g, width, dtype, self_weight, with_residual,
                                                  seed):
    """GIN's ``(1 + eps) x`` and GraphSAGE's root term, fused into the aggregation, against
    scipy: ``A x + w x + residual``, then ReLU."""
    indptr, indices, num_rows, _ = g
    x = dense(seed, (num_rows, width), dtype)
    residual = dense(seed + 1, (num_rows, width), dtype) if with_residual else None
    expected = sp.csr_matrix((np.ones(indices.shape[0]), indices, indptr),
                             shape=(num_rows, num_rows)) @ x.astype(np.float64)
    expected = expected + self_weight * x + (residual if with_residual else 0)
    epilogue = (np.empty(0, dtype), False, ACTIVATIONS["relu"], 0.01)
    out = spmm_csr_unchecked(np.asarray(indptr, np.int64), np.asarray(indices, np.int64),
                             np.empty(0, dtype), x, num_rows, 0, epilogue, None,
                             None if residual is None else residual.copy(), self_weight)
    assert_matches(out, np.maximum(expected, 0).astype(dtype), atol=TOL[dtype] * 10)
