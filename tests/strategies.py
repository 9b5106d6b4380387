"""Hypothesis strategies for graphs and features (edge cases included: no edges, isolated
nodes, self loops, duplicate edges, int32/int64 ids, float32/float64)."""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

index_dtypes = st.sampled_from([np.int32, np.int64])
float_dtypes = st.sampled_from([np.float32, np.float64])


@st.composite
def edge_lists(draw, max_nodes: int = 12, max_edges: int = 40, allow_empty_graph: bool = True):
    """``(edge_index (2, E), num_nodes)`` with duplicates and self loops allowed."""
    num_nodes = draw(st.integers(0 if allow_empty_graph else 1, max_nodes))
    if num_nodes == 0:
        return np.zeros((2, 0), dtype=draw(index_dtypes)), 0
    num_edges = draw(st.integers(0, max_edges))
    ids = st.integers(0, num_nodes - 1)
    pairs = draw(st.lists(st.tuples(ids, ids), min_size=num_edges, max_size=num_edges))
    edge_index = np.array(pairs, dtype=draw(index_dtypes)).reshape(-1, 2).T
    return np.ascontiguousarray(edge_index), num_nodes


@st.composite
def weighted_edge_lists(draw, **kwargs):
    edge_index, num_nodes = draw(edge_lists(**kwargs))
    weights = draw(st.lists(st.floats(0.1, 4.0), min_size=edge_index.shape[1],
                            max_size=edge_index.shape[1]))
    return edge_index, num_nodes, np.array(weights, dtype=draw(float_dtypes))


@st.composite
def csr_graphs(draw, max_rows: int = 10, max_cols: int = 10, max_nnz: int = 40, square=False):
    """``(indptr, indices, num_rows, num_cols)``: empty rows, duplicates and int32/int64 ids."""
    num_rows = draw(st.integers(0, max_rows))
    num_cols = num_rows if square else draw(st.integers(1, max_cols))
    if square and num_cols == 0:
        num_cols = 0
    dtype = draw(index_dtypes)
    if num_rows == 0 or num_cols == 0:
        return np.zeros(num_rows + 1, dtype), np.zeros(0, dtype), num_rows, num_cols
    nnz = draw(st.integers(0, max_nnz))
    rows = np.sort(np.array(draw(st.lists(st.integers(0, num_rows - 1), min_size=nnz,
                                          max_size=nnz)), dtype=np.int64))
    cols = np.array(draw(st.lists(st.integers(0, num_cols - 1), min_size=nnz, max_size=nnz)),
                    dtype=dtype)
    indptr = np.zeros(num_rows + 1, dtype=dtype)
    np.cumsum(np.bincount(rows, minlength=num_rows), out=indptr[1:])
    return indptr, cols, num_rows, num_cols


def dense(rng_seed: int, shape, dtype, contiguous: bool = True):
    """Reproducible random values; non-contiguous (a strided view) when asked."""
    rng = np.random.default_rng(rng_seed)
    if contiguous:
        return rng.standard_normal(shape).astype(dtype)
    wide = rng.standard_normal((shape[0], shape[1] * 2) if len(shape) == 2 else shape).astype(dtype)
    return wide[:, ::2] if len(shape) == 2 else wide


PATTERNS = ("unstructured", "1x4", "1x8", "4x1", "2:4")


def pattern_mask(rng, shape, pattern: str, density: float) -> np.ndarray:
    """A keep-mask of ``shape (inputs, outputs)`` (``x @ M`` orientation) with ``pattern``:
    ``RxC`` blocks aligned to multiples of ``R`` inputs and ``C`` outputs (kept with
    probability ``density``), ``N:M`` keeping at most N of every M consecutive inputs per
    output, or unstructured."""
    inputs, outputs = shape
    if ":" in pattern:
        keep, group = (int(part) for part in pattern.split(":"))
        scores = rng.random((-(-inputs // group) * group, outputs))
        ranks = np.argsort(np.argsort(-scores.reshape(-1, group, outputs), axis=1), axis=1)
        return (ranks < keep).reshape(-1, outputs)[:inputs] & (rng.random(shape) < density * 2)
    rows, cols = (1, 1) if pattern == "unstructured" else (int(p) for p in pattern.split("x"))
    blocks = rng.random((-(-inputs // rows), -(-outputs // cols))) < density
    return np.repeat(np.repeat(blocks, rows, axis=0), cols, axis=1)[:inputs, :outputs]


@st.composite
def patterned_matrices(draw, max_inputs: int = 70, max_outputs: int = 70):
    """``(matrix (inputs, outputs), pattern)``: a sparse weight with one of ``PATTERNS``, some
    whole rows (inputs) and columns (outputs) zero, float32 or float64."""
    inputs = draw(st.integers(0, max_inputs))
    outputs = draw(st.integers(1, max_outputs))
    pattern = draw(st.sampled_from(PATTERNS))
    density = draw(st.sampled_from([0.0, 0.05, 0.3, 0.7, 1.0]))
    rng = np.random.default_rng(draw(st.integers(0, 10_000)))
    mask = pattern_mask(rng, (inputs, outputs), pattern, density)
    mask[rng.random(inputs) < 0.2] = False  # empty input rows
    mask[:, rng.random(outputs) < 0.2] = False  # empty output columns
    matrix = (rng.standard_normal((inputs, outputs)) * mask).astype(draw(float_dtypes))
    return matrix, pattern
